import Foundation
import SecureAggregation
import TensorMath

/// What one secure-aggregation round gave the coordinator: a mean, never an individual update.
struct SecureMean {
    /// Σ wᵢ (clip(Δᵢ) + noise) / Σ wᵢ over the clients whose masked input is in the sum.
    var mean: [Float]
    /// Clients in the sum.
    var included: [String]
    /// Adaptive clipping: the noised fraction of updates within the clip norm.
    var clippedFraction: Double?
    var summary: SecureAggregationSummary
}

/// How each participant prepares its update before masking: its weight, clipping and noise
/// share. With DP every client weighs 1/m and adds its share N(0, (σ_Δ C)²/m) before weighting,
/// so the sum carries N(0, (σ_Δ C)²)/m like central DP.
struct SecureWeighting {
    let dp: Bool
    let totalExamples: Int
    let m: Int
    let clip: Float
    let noiseStd: Float
    let counting: Bool
    let countWeight: Float
    let countNoise: Float
    /// The fixed-point range per coordinate: the largest weighted, clipped value plus 6σ of noise.
    let bound: Float

    init(participants: [ClientUpdate], privacy settings: PrivacyConfig, clipNorm: Double, updateNoiseMultiplier: Double,
         countNoiseStd: Double) {
        m = participants.count
        dp = settings.differentialPrivacy && settings.noiseMultiplier > 0
        totalExamples = participants.reduce(0) { $0 + max(1, $1.exampleCount) }
        clip = settings.differentialPrivacy ? Float(clipNorm) : 0
        noiseStd = dp ? Float(updateNoiseMultiplier * clipNorm / (Double(m) * Double(m).squareRoot())) : 0
        counting = settings.differentialPrivacy && settings.adaptiveClipping
        countWeight = counting ? 1 / Float(m) : 0
        countNoise = counting ? Float(countNoiseStd / (Double(m) * Double(m).squareRoot())) : 0
        let (dp, m, total) = (dp, m, totalExamples)
        let maxWeight = participants.map { Self.weight($0, dp: dp, m: m, totalExamples: total) }.max() ?? 1
        bound = max(maxWeight * (clip > 0 ? clip : Float(settings.quantizationBound)) + 6 * noiseStd,
                    maxWeight, countWeight + 6 * countNoise)
    }

    static func weight(_ u: ClientUpdate, dp: Bool, m: Int, totalExamples: Int) -> Float {
        dp ? 1 / Float(m) : Float(max(1, u.exampleCount)) / Float(totalExamples)
    }

    func preparation(_ u: ClientUpdate) -> UpdatePreparation {
        UpdatePreparation(weight: Self.weight(u, dp: dp, m: m, totalExamples: totalExamples), clipNorm: clip, noiseStd: noiseStd,
                          countWeight: countWeight, countNoiseStd: countNoise)
    }
}

/// One run of SecAgg+ over the clients that finished local training (each holds its update
/// back), every message relayed through the coordinator's transport.
struct SecureAggregationRound {
    let coordinator: Coordinator
    let round: Int
    let participants: [ClientUpdate]

    /// The protocol's k and t for `m` clients: fixed by the scenario or chosen for its failure
    /// target; a warning when no choice reaches the target.
    func parameters(clientCount m: Int) throws -> SecAggParameters {
        let settings = coordinator.privacy
        let parameters: SecAggParameters
        if let k = settings.secureAggregationDegree, let t = settings.secureAggregationThreshold {
            parameters = try SecAggParameters.fixed(clientCount: m, degree: k, threshold: t, dropoutRate: settings.expectedDropout,
                                                    target: settings.failureTarget)
        } else {
            parameters = try SecAggParameters.choose(clientCount: m, dropoutRate: settings.expectedDropout, target: settings.failureTarget)
        }
        if !parameters.meetsTarget {
            coordinator.sink(.alert(Alert(round: round, client: nil, severity: .warning, reason: String(
                format: "secure aggregation: no k, t for %d clients at %.0f%% expected dropout reaches the %.0e failure target; using k=%d t=%d (P[round fails] ≤ %.3g)",
                m, settings.expectedDropout * 100, settings.failureTarget, parameters.degree, parameters.threshold,
                parameters.failureProbability))))
        }
        return parameters
    }

    /// Runs the four phases. Returns the weighted mean of the included clients' prepared
    /// updates, or throws (the round then fails and the global adapter stays). Clients that
    /// drop at any phase get `.dropped` in `metrics`.
    func run(metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom) throws -> SecureMean {
        let began = Date()
        let round = self.round
        let names = participants.map(\.client)
        let m = names.count
        let d = coordinator.global.values.count
        guard m >= 2 else { throw SecureAggregationRoundError.tooFewClients(m) }
        let parameters = try parameters(clientCount: m)
        let c = coordinator
        let weighting = SecureWeighting(participants: participants, privacy: c.privacy, clipNorm: c.clipNorm,
                                        updateNoiseMultiplier: c.updateNoiseMultiplier, countNoiseStd: c.countNoiseStd)
        let length = weighting.preparation(participants[0]).vectorLength(dimension: d)
        let config = try SecAggConfig(round: UInt64(round), clientCount: m, dimension: length, degree: parameters.degree,
                                      threshold: parameters.threshold, graphSeed: rng.next(), clipBound: weighting.bound)
        let server = SecAggServer(config: config, threads: ComputeThreads.numeric) { [sink = c.sink] event in
            sink(.keyAudit(round: round, actor: "coordinator", event: event.name, fields: event.fields))
        }
        let relay = SecureRelay(coordinator: c, round: round, names: names, summary: SecureAggregationSummary(
            round: round, clients: names, degree: config.degree, threshold: config.threshold,
            chosenAutomatically: parameters.chosenAutomatically, failureProbability: parameters.failureProbability,
            quantizationBound: Double(weighting.bound), quantizationStep: config.quantization.step))
        do {
            relay.phase("advertise_keys", metrics: &metrics, rng: &rng, { i in
                SecureAggregationRequest(round: round, step: .begin, clientIndex: UInt32(i), preparation: weighting.preparation(participants[i]),
                                         body: config.encoded())
            }) { _, bytes in try relay.timed { try server.receive(AdvertiseKeysMessage(encoded: bytes)) } }
            let directories: [Int: KeyDirectory] = Dictionary(uniqueKeysWithValues: try relay.timed { try server.closeAdvertiseKeys() }.map { (Int($0.recipient), $0) })
            relay.phase("share_keys", metrics: &metrics, rng: &rng, { i in
                directories[i].map { SecureAggregationRequest(round: round, step: .keyDirectory, body: $0.encoded()) }
            }) { _, bytes in try relay.timed { try server.receive(ShareKeysMessage(encoded: bytes)) } }
            let relays: [Int: ShareRelay] = Dictionary(uniqueKeysWithValues: try relay.timed { try server.closeShareKeys() }.map { (Int($0.recipient), $0) })
            relay.phase("masked_input", metrics: &metrics, rng: &rng, { i in
                relays[i].map { SecureAggregationRequest(round: round, step: .shareRelay, body: $0.encoded()) }
            }) { _, bytes in try relay.timed { try server.receive(MaskedInputMessage(encoded: bytes)) } }
            let unmask = try relay.timed { try server.closeMaskedInput() }
            let survivors = Set(unmask.survivors.map(Int.init))
            relay.active = relay.active.filter { survivors.contains($0) }
            relay.phase("unmask", metrics: &metrics, rng: &rng, { _ in
                SecureAggregationRequest(round: round, step: .unmaskRequest, body: unmask.encoded())
            }) { _, bytes in try relay.timed { try server.receive(UnmaskResponse(encoded: bytes)) } }
            let sum = try relay.timed { try server.finish() }
            let values = sum.doubleValues
            let included = sum.survivors.map { names[Int($0)] }
            for client in names where !included.contains(client) { metrics[client]?.status = .dropped }
            let totalWeight = values[d]
            guard totalWeight > 0 else { throw SecureAggregationRoundError.emptySum }
            relay.summary.included = included
            relay.summary.wallSeconds = Date().timeIntervalSince(began)
            c.sink(.secureAggregation(relay.summary))
            var mean = [Float](repeating: 0, count: d)
            for j in 0..<d { mean[j] = Float(values[j] / totalWeight) }
            return SecureMean(mean: mean, included: included, clippedFraction: weighting.counting ? values[d + 1] : nil,
                              summary: relay.summary)
        } catch {
            for clients in relay.summary.dropped.values { for client in clients { metrics[client]?.status = .dropped } }
            relay.summary.aborted = "\(error)"
            relay.summary.wallSeconds = Date().timeIntervalSince(began)
            c.sink(.secureAggregation(relay.summary))
            throw error
        }
    }
}

/// Relays one protocol phase at a time between the server and the still-active clients,
/// counting bytes and drops in the round's summary.
final class SecureRelay {
    let coordinator: Coordinator
    let round: Int
    let names: [String]
    var summary: SecureAggregationSummary
    /// Indices of the clients still in the protocol.
    var active: [Int]

    init(coordinator: Coordinator, round: Int, names: [String], summary: SecureAggregationSummary) {
        self.coordinator = coordinator; self.round = round; self.names = names; self.summary = summary
        active = Array(names.indices)
    }

    /// Relays a request to each active client and hands its answer to the server; a client
    /// that drops (simulated phase drop, no request for it, an error) leaves the protocol.
    func phase(_ name: String, metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom,
                        _ request: (Int) -> SecureAggregationRequest?, _ deliver: (Int, [UInt8]) throws -> Void) {
        let settings = coordinator.privacy
        coordinator.sink(.phase(round: round, .secureAggregation))
        var still: [Int] = []
        for i in active {
            let client = names[i]
            if settings.phaseDropProbability > 0, Double(rng.uniform()) < settings.phaseDropProbability {
                summary.dropped[name, default: []].append(client)
                continue
            }
            guard let req = request(i) else { summary.dropped[name, default: []].append(client); continue }
            let encoded = req.encoded()
            do {
                let answer = try coordinator.transport.secureAggregation(client: client, message: encoded)
                metrics[client]?.bytesDown += encoded.count
                metrics[client]?.bytesUp += answer.count
                summary.bytesDown += encoded.count
                summary.bytesUp += answer.count
                try deliver(i, Array(answer))
                still.append(i)
            } catch {
                summary.dropped[name, default: []].append(client)
                coordinator.sink(.alert(Alert(round: round, client: client, severity: .warning,
                                              reason: "dropped out of secure aggregation (\(name)): \(error)")))
            }
        }
        active = still
    }

    /// Runs `body`, adding its time to the server's seconds.
    func timed<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = Date()
        defer { summary.serverSeconds += Date().timeIntervalSince(t0) }
        return try body()
    }
}

enum SecureAggregationRoundError: Error, CustomStringConvertible {
    case tooFewClients(Int)
    case emptySum
    var description: String {
        switch self {
        case .tooFewClients(let n): return "secure aggregation needs at least 2 clients with updates, got \(n)"
        case .emptySum: return "secure aggregation produced a sum with zero total weight"
        }
    }
}
