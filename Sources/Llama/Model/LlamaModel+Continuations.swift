import Foundation
import TensorMath

extension LlamaModel {
    /// The log-probability of every token of every continuation of one prompt:
    /// `result[c][j] = log p(continuations[c][j] | prompt, continuations[c][..<j])`.
    ///
    /// One forward pass over the prompt fills a KV cache. Its last position predicts every
    /// continuation's first token; the other tokens of all continuations then run side by side
    /// in a single forward pass over that cache (``BranchLayout``: each continuation sees the
    /// prompt and its own tokens only). Continuations may share a prefix or be one token long.
    /// - Parameter adapter: applied unmerged over the shared frozen weights when given.
    public func continuationLogProbabilities(prompt: [Int], continuations: [[Int]],
                                             adapter: LoRAAdapter? = nil) throws -> [[Double]] {
        try checkContinuations(prompt: prompt, continuations: continuations)
        if let adapter { try checkLayout(adapter) }
        // Branch attention knows neither sliding windows nor other score scales (Gemma 3).
        if config.variant.slidingWindow != nil || config.variant.attentionScale != nil {
            return continuationLogProbabilitiesUnshared(prompt: prompt, continuations: continuations, adapter: adapter)
        }
        let cache = KVCache(config: config, capacity: prompt.count)
        let hidden = forwardHidden(prompt, batch: 1, positionsFrom: 0, cache: cache, adapter: adapter)
        let d = config.hiddenSize
        let last = Tensor(shape: [1, d], data: Array(hidden.data[((prompt.count - 1) * d)...]))
        let firstLogits = project(last, rows: 1)
        var out = firstLogits.data.withUnsafeBufferPointer { row in
            let lse = Self.logSumExp(row.baseAddress!, vocab: config.vocabSize)
            return continuations.map { [Double(row[$0[0]]) - lse] }
        }
        // Every token but the last of each continuation is fed; it predicts the next one.
        let layout = BranchLayout(lengths: continuations.map { $0.count - 1 })
        guard layout.rows > 0 else { return out }
        let fed = continuations.flatMap { $0.dropLast() }
        let branchHidden = forwardHidden(fed, batch: 1, positionsFrom: prompt.count, cache: cache, adapter: adapter, branches: layout)
        let logits = project(branchHidden, rows: layout.rows)
        logits.data.withUnsafeBufferPointer { l in
            for r in 0..<layout.rows {
                let c = layout.branchOfRow[r], j = layout.offsetOfRow[r]
                let row = l.baseAddress! + r * config.vocabSize
                out[c].append(Double(row[continuations[c][j + 1]]) - Self.logSumExp(row, vocab: config.vocabSize))
            }
        }
        return out
    }

    /// One forward pass over `prompt + continuation` per continuation, with the LM head only at
    /// the rows that predict a continuation token (with a 262k vocabulary the head dominates
    /// otherwise): the path for blocks that branch attention does not cover.
    func continuationLogProbabilitiesUnshared(prompt: [Int], continuations: [[Int]], adapter: LoRAAdapter?) -> [[Double]] {
        continuations.map { continuation in
            let tokens = prompt + continuation
            let logits = selectedLogits(tokens, at: Array((prompt.count - 1)..<(tokens.count - 1)), adapter: adapter)
            return logits.data.withUnsafeBufferPointer { l in
                continuation.indices.map { j in
                    let row = l.baseAddress! + j * config.vocabSize
                    return Double(row[continuation[j]]) - Self.logSumExp(row, vocab: config.vocabSize)
                }
            }
        }
    }

    /// Reference for ``continuationLogProbabilities(prompt:continuations:adapter:)``: one full
    /// forward pass over `prompt + continuation` per continuation, no cache shared.
    public func continuationLogProbabilitiesNaive(prompt: [Int], continuations: [[Int]],
                                                  adapter: LoRAAdapter? = nil) throws -> [[Double]] {
        try checkContinuations(prompt: prompt, continuations: continuations)
        return try continuations.map { continuation in
            let tokens = prompt + continuation
            let logits = try adapter.map { try self.logits([tokens], adapter: $0) } ?? self.logits([tokens])
            return logits.data.withUnsafeBufferPointer { l in
                continuation.indices.map { j in
                    let row = l.baseAddress! + (prompt.count - 1 + j) * config.vocabSize
                    return Double(row[continuation[j]]) - Self.logSumExp(row, vocab: config.vocabSize)
                }
            }
        }
    }

    private func checkContinuations(prompt: [Int], continuations: [[Int]]) throws {
        guard !prompt.isEmpty else { throw ContinuationError.emptyPrompt }
        if let i = continuations.firstIndex(where: \.isEmpty) { throw ContinuationError.emptyContinuation(index: i) }
        let longest = continuations.map(\.count).max() ?? 0
        guard prompt.count + longest <= config.maxPositions else {
            throw GenerationError.promptTooLong(tokens: prompt.count + longest, limit: config.maxPositions)
        }
        let ids = prompt + continuations.flatMap { $0 }
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ContinuationError.tokenOutOfRange(bad, vocabulary: config.vocabSize)
        }
    }

    /// `log Σ exp(row[i])` in double precision.
    static func logSumExp(_ row: UnsafePointer<Float>, vocab: Int) -> Double {
        var m = -Float.infinity
        for i in 0..<vocab where row[i] > m { m = row[i] }
        var s = 0.0
        for i in 0..<vocab { s += Double(expf(row[i] - m)) }
        return log(s) + Double(m)
    }
}

/// Bad input to continuation scoring.
public enum ContinuationError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    case emptyContinuation(index: Int)
    case tokenOutOfRange(Int, vocabulary: Int)
    public var description: String {
        switch self {
        case .emptyPrompt: return "continuation scoring needs a prompt of at least one token"
        case .emptyContinuation(let i): return "continuation \(i) has no tokens"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary of \(v)"
        }
    }
}
