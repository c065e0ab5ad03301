import Foundation

/// What a client's own checks say about the text it is about to train on in one round, measured
/// against its held-out examples (the clean reference it is evaluated on). Two shares travel to
/// the coordinator, never text, so the detector reads them under secure aggregation too:
/// - `labelDisagreement`: the share of its labelled training examples whose label differs from
///   the vote of their `DataChecks.neighbours` nearest held-out examples (BM25 over the text with
///   every label's words removed). Label noise raises it whatever the label mix: a flipped label
///   no longer matches the text around it. `referenceDisagreement` is the same vote among the
///   held-out examples themselves (each left out of its own vote): how far the client's clean
///   labels disagree with their text anyway, so that the excess compares across clients;
/// - `unexplainedPhrases`: the share of its training examples carrying a recurring word phrase
///   that the held-out examples never show although, at its training frequency, they would be
///   expected to at least `DataChecks.expectedReference` times. A trigger string added to many
///   examples (a backdoor) raises it; a domain's own boilerplate shows up in both.
/// Both are self-reported, like the losses: a faulty client's software reports them truthfully,
/// a lying one can hide its data (README, "What the detector cannot see").
public struct DataProfile: Sendable, Equatable, Codable {
    public var labelDisagreement: Double?
    public var referenceDisagreement: Double?
    /// Labelled examples behind the two (those that got a vote; the smaller of the training and
    /// held-out counts, which bounds the excess's sampling error).
    public var labelledExamples: Int
    public var unexplainedPhrases: Double?
    /// Training examples behind `unexplainedPhrases`.
    public var examples: Int

    public init(labelDisagreement: Double?, referenceDisagreement: Double?, labelledExamples: Int,
                unexplainedPhrases: Double?, examples: Int) {
        self.labelDisagreement = labelDisagreement; self.referenceDisagreement = referenceDisagreement
        self.labelledExamples = labelledExamples
        self.unexplainedPhrases = unexplainedPhrases; self.examples = examples
    }

    /// The profile with every share outside [0, 1] (or NaN) and its count dropped: what the
    /// coordinator keeps of a reply, so a hostile client cannot push nonsense into the detector.
    public var sanitized: DataProfile {
        func share(_ v: Double?, _ n: Int) -> Double? { v.flatMap { $0 >= 0 && $0 <= 1 && n > 0 ? $0 : nil } }
        let label = share(labelDisagreement, labelledExamples), reference = share(referenceDisagreement, labelledExamples)
        let both = label != nil && reference != nil
        let phrases = share(unexplainedPhrases, examples)
        return DataProfile(labelDisagreement: both ? label : nil, referenceDisagreement: both ? reference : nil,
                           labelledExamples: both ? labelledExamples : 0,
                           unexplainedPhrases: phrases, examples: phrases == nil ? 0 : examples)
    }
}

/// A client's reference for `DataProfile`: its held-out examples, indexed once.
public struct DataChecks: Sendable {
    /// Nearest held-out examples whose labels vote on a training example's.
    static let neighbours = 5
    /// Words per phrase.
    static let phraseLength = 3
    /// A phrase counts as unexplained when the held-out examples never show it although its
    /// share of the training examples predicts at least this many of them would (the chance of
    /// none by luck is then at most e⁻¹⁰ ≈ 5·10⁻⁵ per phrase), and at least `minimumRepeats`
    /// training examples carry it. (At 5, a domain's less common boilerplate already qualified:
    /// 5-8% of the pilot's clean examples, moving by 0.04-0.06 between random halves of them.)
    static let expectedReference = 10.0
    static let minimumRepeats = 3
    /// Fewer labelled examples than this on either side: no label check.
    static let minimumLabelled = 10

    /// The held-out examples' labels, indexed for the nearest-neighbour vote.
    struct LabelVote: Sendable {
        let reference: BM25
        let referenceLabels: [String]
        let labels: [String]
        let labelWords: Set<String>
    }

    let vote: LabelVote
    let referencePhrases: Set<String>
    let referenceCount: Int
    /// The held-out examples' own leave-one-out disagreement and how many got a vote.
    let referenceVote: (share: Double, count: Int)?

    /// - Parameter validation: the client's held-out examples (never altered by a data fault).
    public init(validation: [TextExample]) {
        let labelled = validation.filter { $0.label != nil }
        let labels = Array(Set(labelled.compactMap(\.label))).sorted()
        let words = Set(labels.flatMap { BM25.terms($0) })
        vote = LabelVote(reference: BM25(documents: labelled.map { Self.withoutLabels($0.text, words) }),
                         referenceLabels: labelled.map { $0.label! }, labels: labels, labelWords: words)
        referencePhrases = Set(validation.flatMap { Self.phrases($0.text) })
        referenceCount = validation.count
        referenceVote = Self.share(labelled.indices.map { i in (labelled[i], excluding: i) }, vote: vote)
    }

    /// `text`'s words with every label's words removed, joined by spaces.
    static func withoutLabels(_ text: String, _ labelWords: Set<String>) -> String {
        BM25.terms(text).filter { !labelWords.contains($0) }.joined(separator: " ")
    }

    /// The distinct phrases (`phraseLength` consecutive words) of `text`.
    static func phrases(_ text: String) -> Set<String> {
        let words = BM25.terms(text)
        guard words.count >= phraseLength else { return [] }
        return Set((0...(words.count - phraseLength)).map { words[$0..<($0 + phraseLength)].joined(separator: " ") })
    }

    /// The profile of `train`, the text the client trains on this round.
    public func profile(_ train: [TextExample]) -> DataProfile {
        let label = referenceVote == nil ? nil : Self.share(train.map { ($0, excluding: nil) }, vote: vote)
        let phrases = unexplainedPhrases(train)
        let both = label != nil
        return DataProfile(labelDisagreement: label?.share, referenceDisagreement: both ? referenceVote?.share : nil,
                           labelledExamples: both ? min(label!.count, referenceVote!.count) : 0,
                           unexplainedPhrases: phrases, examples: phrases == nil ? 0 : train.count)
    }

    /// The share of `examples` whose label differs from their nearest held-out examples' vote
    /// (leaving out the held-out example `excluding`, when it is one of them), and how many got
    /// a vote; nil with fewer than `minimumLabelled` votes or labels.
    static func share(_ examples: [(TextExample, excluding: Int?)], vote c: LabelVote) -> (share: Double, count: Int)? {
        guard c.labels.count >= 2, c.referenceLabels.count >= minimumLabelled else { return nil }
        var voted = 0, disagreeing = 0
        for (example, excluded) in examples {
            guard let label = example.label else { continue }
            let near = c.reference.top(withoutLabels(example.text, c.labelWords), k: neighbours + (excluded == nil ? 0 : 1))
                .filter { $0.document != excluded }.prefix(neighbours)
            guard let vote = knnVote(near.map { (c.referenceLabels[$0.document], $0.score) }, labels: c.labels) else { continue }
            voted += 1
            if vote != label { disagreeing += 1 }
        }
        guard voted >= minimumLabelled else { return nil }
        return (Double(disagreeing) / Double(voted), voted)
    }

    func unexplainedPhrases(_ train: [TextExample]) -> Double? {
        // A phrase the reference should show `expectedReference` times needs a training share of
        // expectedReference / referenceCount; with too small a reference no phrase can qualify.
        guard !train.isEmpty, Double(referenceCount) >= Self.expectedReference else { return nil }
        let perExample = train.map { Self.phrases($0.text) }
        var repeats: [String: Int] = [:]
        for set in perExample { for p in set { repeats[p, default: 0] += 1 } }
        let needed = max(Self.minimumRepeats, Int((Self.expectedReference * Double(train.count) / Double(referenceCount)).rounded(.up)))
        let unexplained = Set(repeats.compactMap { p, n in n >= needed && !referencePhrases.contains(p) ? p : nil })
        guard !unexplained.isEmpty else { return 0 }
        let carrying = perExample.filter { !$0.isDisjoint(with: unexplained) }.count
        return Double(carrying) / Double(train.count)
    }
}

/// One client's data checks, indexed on first use (a pilot that never trains pays nothing), with
/// the profile of its clean training data kept: it is the same every round no fault alters.
final class ClientDataChecks: @unchecked Sendable {
    private let lock = NSLock()
    private let data: ClientDataset
    private var built: (checks: DataChecks, clean: DataProfile)?

    init(_ data: ClientDataset) { self.data = data }

    /// The profile of `texts`, this round's training text; `altered` says whether a fault changed
    /// it from the clean data.
    func profile(_ texts: [TextExample], altered: Bool) -> DataProfile {
        lock.lock(); defer { lock.unlock() }
        let b = built ?? {
            let checks = DataChecks(validation: data.validation)
            return (checks, checks.profile(data.train))
        }()
        built = b
        return altered ? b.checks.profile(texts) : b.clean
    }
}
