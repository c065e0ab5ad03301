/// One training example as token ids; the first `promptLength` tokens are context
/// only (instruction data trains on the response), so they are never predicted.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int]
    public var promptLength: Int
    /// Leading tokens of the prompt that start the sequence (BOS where the model asks for
    /// one): kept when the prompt is cut to fit.
    public var startLength: Int

    public init(tokens: [Int], promptLength: Int = 0, startLength: Int = 0) {
        self.tokens = tokens
        self.promptLength = min(promptLength, tokens.count)
        self.startLength = min(startLength, self.promptLength)
    }
}

/// Turns variable-length examples into fixed-shape batches, by padding or by packing.
public enum Batcher {
    /// One row per example, truncated to `length` and right-padded with `padID`.
    /// Padding and prompt positions get no target.
    public static func padded(_ examples: [TokenizedExample], length: Int, padID: Int) -> TrainingBatch {
        var tokens: [[Int]] = [], targets: [[Int]] = []
        for e in examples {
            // Too long: drop the start of the prompt first (after its sequence start), so that
            // the part that is learned survives.
            let cut = min(e.promptLength - e.startLength, max(0, e.tokens.count - length))
            let e = TokenizedExample(tokens: Array(e.tokens.prefix(e.startLength) + e.tokens.dropFirst(e.startLength + cut)),
                                     promptLength: e.promptLength - cut)
            let kept = Array(e.tokens.prefix(length))
            var row = kept + [Int](repeating: padID, count: length - kept.count)
            var target = [Int](repeating: -1, count: length)
            for t in 0..<max(0, kept.count - 1) where t + 1 >= e.promptLength { target[t] = kept[t + 1] }
            if row.isEmpty { row = [padID] }
            tokens.append(row)
            targets.append(target)
        }
        return TrainingBatch(tokens: tokens, targets: targets)
    }

    /// Concatenates examples, each followed by `separatorID`, and cuts the stream into
    /// rows of `length`: no padding is wasted. No position predicts across a row boundary,
    /// and prompt tokens get no target. The last row is padded with `separatorID` (no target).
    public static func packed(_ examples: [TokenizedExample], length: Int, separatorID: Int) -> [(tokens: [Int], targets: [Int])] {
        var stream: [Int] = [], trainable: [Bool] = []
        for e in examples {
            stream += e.tokens + [separatorID]
            trainable += e.tokens.indices.map { $0 >= e.promptLength } + [true]
        }
        var rows: [(tokens: [Int], targets: [Int])] = []
        var start = 0
        while start < stream.count {
            let end = min(start + length, stream.count)
            var tokens = Array(stream[start..<end])
            var targets = [Int](repeating: -1, count: length)
            for t in 0..<(tokens.count - 1) where trainable[start + t + 1] { targets[t] = tokens[t + 1] }
            tokens += [Int](repeating: separatorID, count: length - tokens.count)
            rows.append((tokens, targets))
            start = end
        }
        return rows
    }
}
