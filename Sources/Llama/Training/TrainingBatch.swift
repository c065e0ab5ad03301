/// A batch for training or evaluation: `B` rows of `T` token ids, and for each
/// position the id it should predict next (-1 where no loss is taken: padding,
/// prompt tokens of instruction data, and the last position).
public struct TrainingBatch: Sendable, Equatable {
    public let rows: Int
    public let length: Int
    /// `[B * T]` input ids.
    public let tokens: [Int]
    /// `[B * T]` next-token targets, or -1.
    public let targets: [Int]

    public init(tokens: [[Int]], targets: [[Int]]) {
        precondition(!tokens.isEmpty && tokens.count == targets.count, "batch needs rows of tokens and targets")
        let t = tokens[0].count
        precondition(tokens.allSatisfy { $0.count == t } && targets.allSatisfy { $0.count == t },
                     "batch rows must have equal length")
        rows = tokens.count
        length = t
        self.tokens = tokens.flatMap { $0 }
        self.targets = targets.flatMap { $0 }
    }

    /// Language-modelling targets for full sequences: every token predicts the next,
    /// as Hugging Face does with `labels = input_ids`.
    public init(sequences: [[Int]]) {
        self.init(tokens: sequences, targets: sequences.map { Array($0.dropFirst()) + [-1] })
    }

    /// Number of positions that carry a loss.
    public var targetCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}
