import Foundation

/// The anomaly scores at which `AlertDetector` raises a warning and a critical alert (for the
/// benchmark's report and the dashboard).
public enum AlertThresholds {
    public static var warning: Double { AlertDetector.warningScore }
    public static var critical: Double { AlertDetector.criticalScore }
}

/// Flags clients that look degraded from relative evidence, never from fixed ratios: every
/// signal is compared with the client's own recent history and with the round's other clients,
/// both on robust scales (median and MAD), and the evidence is combined into one score per
/// client per round. Severity comes from the score; the reason names the strongest signals.
///
/// Signals (each oriented so that larger means worse):
/// - start-of-training loss: the received global model's loss on a fixed sample of the client's
///   own training data, measured by the client before it trains (self-reported, so seen under
///   secure aggregation too); a fixed sample has no batch-to-batch noise, so it rises clearly
///   when the client's data changes (degradation, backdoors, label noise where labels are trained);
/// - cosine of its update to the others': falls when it trains toward something else;
/// - log of its update norm: moves either way under corrupted or scaled updates;
/// - its evaluation gain this round (`qualityDeltaLast`): stalls when the shared model stops
///   helping it;
/// - its task accuracy, when the data has labels;
/// - its update's check on a fixed held-out sample of its own data (`UpdateCheck.textLoss`,
///   self-reported): the loss its update adds to its own clean held-out text; healthy updates
///   lower it, an update trained on corrupted text does not. (The check's end-of-example and
///   label-token changes are recorded but not read: on the real-model matrix they did not
///   separate backdoors or label noise from healthy rounds, see the README.)
/// - the start-of-training loss at the tails of the same fixed sample (`ProbeLosses.tail`, the
///   last 16 learned tokens of each example and its end): rises where text appended to the
///   examples is foreign to them (a backdoor's trigger in clinical notes). The loss on the label's
///   tokens is recorded but not read: the pilot's model never learns the labels (README).
/// - the client's checks of its training text against its held-out examples (`DataProfile`,
///   self-reported shares, no text): labels its held-out neighbours vote against, in excess of
///   how often they vote against its held-out labels themselves (label noise), and examples
///   carrying a recurring phrase its held-out text never shows (a backdoor's trigger). Both are
///   measured against the client's own clean reference, so their levels compare across clients
///   (a fault present from a client's first round is seen too) as well as their changes.
/// A signal the coordinator cannot see (cosines under secure aggregation) is left out.
struct AlertDetector {
    /// Score at or above which a client gets a warning, and a critical alert. Chosen from the
    /// fault matrix of `fedpilot bench alerts` (see the README), not from one scenario.
    static let warningScore = 4.0
    static let criticalScore = 8.0
    /// Rounds scoring below this become the client's baseline; others (suspicious or flagged)
    /// do not, so a lasting fault keeps being flagged.
    static let quietScore = 2.0
    /// How the task-accuracy rule's alerts begin.
    static let accuracyReason = "task accuracy fell"
    /// Rounds of a client's own history the comparison uses.
    static let historyLength = 4

    /// Kept for the journal's server-state format: consecutive eval-loss falls and best local loss.
    var qualityFalls: [String: Int] = [:]
    var bestLocalLoss: [String: Double] = [:]
    /// Each client's signals, relative to their round's median, in its recent unflagged rounds
    /// (flagged rounds do not become the baseline, so a lasting fault keeps being flagged).
    var history: [String: [SignalSample]] = [:]
    /// Each client's task accuracy at its last evaluation, its consecutive falls, and its
    /// accuracy before them.
    var lastAccuracy: [String: Double] = [:]
    var accuracyFalls: [String: Int] = [:]
    var accuracyBeforeFalls: [String: Double] = [:]

    /// Alerts for one completed round's client metrics; also writes each participant's
    /// `anomalyScore` and `anomalyEvidence` into `metrics`.
    mutating func inspect(_ metrics: inout [ClientRoundMetrics], round: Int) -> [Alert] {
        let judged = metrics.indices.filter { [.done, .rejected].contains(metrics[$0].status) }
        let samples = judged.map { SignalSample(metrics[$0]) }
        // Each value relative to the round's median: a shift every client shares (the global
        // model improving) cancels, and what stays is the client's own position.
        let residuals = samples.map { $0.residual(among: samples) }
        var assessments: [String: Assessment] = [:]
        for (k, i) in judged.enumerated() {
            assessments[metrics[i].client] = assess(samples[k], residual: residuals[k], client: metrics[i].client,
                                                    among: samples, residuals: residuals)
        }
        var alerts: [Alert] = []
        for (k, i) in judged.enumerated() {
            let client = metrics[i].client
            let a = assessments[client]!
            metrics[i].anomalyScore = a.score
            metrics[i].anomalyEvidence = a.reason
            if a.score >= Self.warningScore {
                alerts.append(Alert(round: round, client: client, severity: a.score >= Self.criticalScore ? .critical : .warning,
                                    reason: String(format: "anomaly score %.1f: ", a.score) + a.reason))
            }
            if a.score < Self.quietScore {
                history[client, default: []].append(residuals[k])
                history[client] = Array(history[client]!.suffix(Self.historyLength))
            }
            if let d = metrics[i].qualityDeltaLast { qualityFalls[client] = d < 0 ? (qualityFalls[client] ?? 0) + 1 : 0 }
            if let l = metrics[i].localLossEnd, l.isFinite { bestLocalLoss[client] = min(bestLocalLoss[client] ?? l, l) }
        }
        for m in metrics { if let alert = accuracyAlert(m, round: round) { alerts.append(alert) } }
        return alerts
    }

    /// A warning when a client's task accuracy fell, at once or over consecutive evaluations, by
    /// at least 0.2 and two binomial standard errors of its sample (the loss alert's counterpart
    /// for the task people decide on). Consecutive small falls alone are not enough: on 8
    /// examples, 0.875 → 0.75 → 0.625 is one example at a time, sampling noise (a healthy
    /// hospital in `degrading-client.toml` was warned for it before).
    mutating func accuracyAlert(_ m: ClientRoundMetrics, round: Int) -> Alert? {
        guard let accuracy = m.taskAccuracy else { return nil }
        defer { lastAccuracy[m.client] = accuracy }
        guard let last = lastAccuracy[m.client] else { return nil }
        guard accuracy < last else {
            accuracyFalls[m.client] = 0; accuracyBeforeFalls[m.client] = nil
            return nil
        }
        let falls = (accuracyFalls[m.client] ?? 0) + 1
        accuracyFalls[m.client] = falls
        let before = falls == 1 ? last : (accuracyBeforeFalls[m.client] ?? last)
        accuracyBeforeFalls[m.client] = before
        // A fall of at least 0.2, and of two binomial standard errors of an accuracy on this
        // many examples (on 2 examples, 1.0 to 0.5 is sampling noise).
        let n = SignalSample(m).accuracyExamples
        let drop = max(0.2, n.map { 2 * 0.5 / Double($0).squareRoot() } ?? 0)
        guard before - accuracy >= drop - 1e-9 else { return nil }
        var reason = Self.accuracyReason + String(format: " to %.2f from %.2f", accuracy, before)
        if falls >= 2 { reason += " (over \(falls) evaluations in a row)" }
        return Alert(round: round, client: m.client, severity: .warning, reason: reason)
    }

    /// One client's evidence.
    struct Assessment {
        var score: Double
        var evidence: [Evidence]
        var reason: String { evidence.prefix(2).map(\.text).joined(separator: "; ") }
    }

    struct Evidence {
        var signal: Signal
        var z: Double
        var text: String
    }

    func assess(_ sample: SignalSample, residual: SignalSample, client: String, among round: [SignalSample],
                residuals: [SignalSample]) -> Assessment {
        let past = history[client] ?? []
        var evidence: [Evidence] = []
        for signal in Signal.allCases {
            guard let value = sample[signal] else { continue }
            let others = round.compactMap { $0[signal] }
            let floor = signal.floor(for: sample)
            var best: Evidence?
            func consider(_ z: Double, _ text: String) {
                if z > (best?.z ?? 0) { best = Evidence(signal: signal, z: z, text: text) }
            }
            // Against the round's other clients, on the level itself, where levels compare
            // across clients (cosines and norms; losses differ by domain).
            if signal.levelsCompare, others.count >= 3 {
                let z = signal.oriented(Robust.z(value, among: others, floor: floor))
                consider(z, signal.describeLevel(value: value, z: z))
            }
            // Against its own history (positions relative to the round's median), on its own
            // scale, and that change against the other clients' changes: both must agree.
            let own = past.compactMap { $0[signal] }
            if let position = residual[signal], !own.isEmpty {
                let change = position - Robust.median(own)
                let selfScale = own.count >= 3 ? max(Robust.mad(own), floor) : floor
                let selfZ = signal.oriented(change / selfScale)
                let changes = residuals.compactMap { r -> Double? in
                    guard let v = r[signal], let c = r.client.flatMap({ history[$0] })?.compactMap({ $0[signal] }), !c.isEmpty else { return nil }
                    return v - Robust.median(c)
                }
                let crossZ = changes.count >= 3 ? signal.oriented(Robust.z(change, among: changes, floor: floor)) : selfZ
                let z = min(selfZ, crossZ)
                consider(z, signal.describeChange(change: change, rounds: own.count, z: z))
            }
            if let best, best.z > 0 { evidence.append(best) }
        }
        evidence.sort { $0.z > $1.z }
        // Root of the sum of squares of the positive evidence: one strong signal or several
        // moderate ones.
        let score = evidence.reduce(0) { $0 + $1.z * $1.z }.squareRoot()
        return Assessment(score: score, evidence: evidence)
    }
}

/// The signals the detector reads, each oriented so that larger is worse.
enum Signal: String, CaseIterable, Codable, Sendable {
    case lossStart = "loss_start", cosine, logNorm = "log_norm", evalGain = "eval_gain", accuracy
    case checkText = "check_text"
    case lossTail = "loss_tail"
    case labelDisagreement = "label_disagreement", unexplainedPhrases = "unexplained_phrases"

    /// The smallest scale a robust z uses: below it, differences are noise whatever the MAD says.
    var floor: Double {
        switch self {
        case .lossStart: return 0.05
        case .cosine: return 0.1
        case .logNorm: return 0.2
        case .evalGain: return 0.02
        case .accuracy: return 0.1
        case .checkText: return 0.05
        case .lossTail: return Self.tailFloor
        case .labelDisagreement, .unexplainedPhrases: return Self.shareFloor
        }
    }

    /// The floor of the probe's tail loss, chosen from the real-model matrix (README).
    static let tailFloor = 0.15

    /// The floor of the data checks' shares: five examples in a hundred. A share measured on n
    /// examples moves by up to 0.5/√n from which examples a round holds (README: measured on
    /// resampled halves of the pilot's data), which is the floor when larger.
    static let shareFloor = 0.05

    /// The floor for one client's sample: a task accuracy measured on n labelled examples moves
    /// by up to 0.5/√n (the binomial standard error at p = 0.5) from sampling alone, so on the
    /// pilot's 2 examples a fall from 1.0 to 0.5 is one standard error, not evidence.
    func floor(for sample: SignalSample) -> Double {
        let n: Int?
        switch self {
        case .accuracy: n = sample.accuracyExamples
        case .labelDisagreement: n = sample.labelledExamples
        case .unexplainedPhrases: n = sample.checkedExamples
        default: n = nil
        }
        guard let n, n > 0 else { return floor }
        return max(floor, 0.5 / Double(n).squareRoot())
    }

    /// A z-score as evidence: the update norm is suspicious both ways, the rest one way.
    func oriented(_ z: Double) -> Double { self == .logNorm ? abs(z) : z }

    /// Whether the signal moves when the shared model does (losses, gains, geometry), so that a
    /// client's position is read against the round's median; the data checks measure the text
    /// alone, and another client's fault must not move a healthy client's reading.
    var movesWithTheModel: Bool { self != .labelDisagreement && self != .unexplainedPhrases }

    /// Whether clients' raw levels are comparable (otherwise only changes are compared).
    var levelsCompare: Bool {
        [.cosine, .logNorm, .checkText, .labelDisagreement, .unexplainedPhrases].contains(self)
    }

    func describeLevel(value: Double, z: Double) -> String {
        switch self {
        case .cosine: return String(format: "cosine to the others %.2f, %.1f MADs below the round's", -value, z)
        case .logNorm: return String(format: "update norm %.3g, %.1f MADs from the round's", exp(value), z)
        case .checkText: return String(format: "its update moves the loss on its held-out text by %+.2f, %.1f MADs above the round's", value, z)
        case .labelDisagreement:
            return String(format: "training labels its held-out neighbours vote against %+.2f over its held-out labels', %.1f MADs above the round's",
                          value, z)
        case .unexplainedPhrases:
            return String(format: "%.0f%% of its training examples carry a recurring phrase its held-out text never shows, %.1f MADs above the round's",
                          100 * value, z)
        default: return String(format: "%@ %.1f MADs from the round's", rawValue, z)
        }
    }

    func describeChange(change: Double, rounds: Int, z: Double) -> String {
        let over = "over its last \(rounds) round\(rounds == 1 ? "" : "s")"
        switch self {
        case .lossStart: return String(format: "start-of-training loss %+.2f %@ (%.1f MADs)", change, over, z)
        case .checkText: return String(format: "its update's loss on held-out text %+.2f %@ (%.1f MADs)", change, over, z)
        case .lossTail: return String(format: "start-of-training loss at its examples' ends %+.2f %@ (%.1f MADs)", change, over, z)
        case .cosine: return String(format: "cosine %+.2f %@ (%.1f MADs)", -change, over, z)
        case .logNorm: return String(format: "update norm ×%.2g %@ (%.1f MADs)", exp(change), over, z)
        case .evalGain: return String(format: "eval gain %+.3f %@ (%.1f MADs)", -change, over, z)
        case .accuracy: return String(format: "task accuracy %+.2f %@ (%.1f MADs)", -change, over, z)
        case .labelDisagreement:
            return String(format: "training labels its held-out neighbours vote against %+.2f %@ (%.1f MADs)", change, over, z)
        case .unexplainedPhrases:
            return String(format: "training examples with a recurring phrase its held-out text never shows %+.2f %@ (%.1f MADs)",
                          change, over, z)
        }
    }
}

/// One client's signals in one round, oriented so that larger is worse (nil: not seen).
public struct SignalSample: Codable, Sendable, Equatable {
    var client: String?
    var lossStart: Double?
    /// −cosine to the others.
    var cosine: Double?
    /// log of the update norm (two-sided: see `Signal.oriented`).
    var logNorm: Double?
    /// −(eval gain this round).
    var evalGain: Double?
    /// −task accuracy.
    var accuracy: Double?
    /// Labelled examples behind `accuracy` (from its confusion counts), when known.
    var accuracyExamples: Int?
    /// The client's check of its own update on its held-out sample (`UpdateCheck.textLoss`): the
    /// loss change its update makes there (positive: the update predicts its own text worse).
    var checkText: Double?
    /// The start-of-training loss at the tails of its probe examples (`ProbeLosses.tail`).
    var lossTail: Double?
    /// The data checks' shares (`DataProfile`) and the examples each was measured on; the label
    /// disagreement in excess of the held-out examples' own.
    var labelDisagreement: Double?
    var labelledExamples: Int?
    var unexplainedPhrases: Double?
    var checkedExamples: Int?

    init(client: String? = nil, lossStart: Double? = nil, cosine: Double? = nil, logNorm: Double? = nil,
         evalGain: Double? = nil, accuracy: Double? = nil, checkText: Double? = nil, lossTail: Double? = nil,
         labelDisagreement: Double? = nil, unexplainedPhrases: Double? = nil) {
        self.client = client; self.lossStart = lossStart; self.cosine = cosine; self.logNorm = logNorm
        self.evalGain = evalGain; self.accuracy = accuracy; self.checkText = checkText
        self.lossTail = lossTail
        self.labelDisagreement = labelDisagreement; self.unexplainedPhrases = unexplainedPhrases
    }

    init(_ m: ClientRoundMetrics) {
        client = m.client
        lossStart = m.localLossStart.flatMap { $0.isFinite ? $0 : nil }
        cosine = m.cosineToOthers.map { -$0 }
        logNorm = m.updateNorm.flatMap { $0 > 0 && $0.isFinite ? log($0) : nil }
        evalGain = m.qualityDeltaLast.map { -$0 }
        accuracy = m.taskAccuracy.map { -$0 }
        checkText = m.checkTextLoss.flatMap { $0.isFinite ? $0 : nil }
        lossTail = m.localLossStartTail.flatMap { $0.isFinite ? $0 : nil }
        if let d = m.dataLabelDisagreement, let r = m.dataReferenceDisagreement, (d - r).isFinite { labelDisagreement = d - r }
        labelledExamples = m.dataLabelledExamples
        unexplainedPhrases = m.dataUnexplainedPhrases.flatMap { $0.isFinite ? $0 : nil }
        checkedExamples = m.dataCheckedExamples
        accuracyExamples = m.confusion.map { $0.values.reduce(0) { $0 + $1.values.reduce(0, +) } }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// This sample minus the median of the round's other clients for every signal (nil where
    /// missing); leaving itself out keeps a faulty client from dragging its own reference.
    func residual(among round: [SignalSample]) -> SignalSample {
        func r(_ signal: Signal) -> Double? {
            guard let v = self[signal] else { return nil }
            guard signal.movesWithTheModel else { return v }
            // With fewer than three others, their median is not robust to one outlier among
            // them: use the whole round's.
            let others = round.filter { $0.client != client }.compactMap { $0[signal] }
            return others.count >= 3 ? v - Robust.median(others) : v - Robust.median(others + [v])
        }
        return SignalSample(client: client, lossStart: r(.lossStart), cosine: r(.cosine), logNorm: r(.logNorm),
                            evalGain: r(.evalGain), accuracy: r(.accuracy), checkText: r(.checkText),
                            lossTail: r(.lossTail), labelDisagreement: r(.labelDisagreement),
                            unexplainedPhrases: r(.unexplainedPhrases))
    }

    subscript(signal: Signal) -> Double? {
        switch signal {
        case .lossStart: return lossStart
        case .cosine: return cosine
        case .logNorm: return logNorm
        case .evalGain: return evalGain
        case .accuracy: return accuracy
        case .checkText: return checkText
        case .lossTail: return lossTail
        case .labelDisagreement: return labelDisagreement
        case .unexplainedPhrases: return unexplainedPhrases
        }
    }
}

/// Median, MAD and robust z-scores.
enum Robust {
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// 1.4826 · median absolute deviation: the standard deviation for normal data.
    static func mad(_ values: [Double]) -> Double {
        let m = median(values)
        return 1.4826 * median(values.map { abs($0 - m) })
    }

    /// (value − median) / max(MAD, floor) over `values` (which include `value`). Norm-like
    /// signals (log norm) are two-sided; the rest one-sided, larger is worse.
    static func z(_ value: Double, among values: [Double], floor: Double) -> Double {
        (value - median(values)) / max(mad(values), floor)
    }
}
