/// SentencePiece BPE as llama.cpp runs it for `tokenizer.ggml.model = llama` vocabularies: the text
/// (spaces already written as ▁) starts as one symbol per UTF-8 character; the adjacent pair whose
/// concatenation is a token with the highest score merges first (the leftmost on equal scores),
/// until no adjacent pair forms a token. A final symbol that is not a token is written as its
/// bytes' `<0xXX>` tokens (byte fallback).
struct SentencePieceMerger {
    /// One symbol: a byte range of the text, linked to its neighbours; `length == 0` once merged away.
    private struct Symbol {
        var start: Int32
        var length: Int32
        var prev: Int32
        var next: Int32
    }

    /// A candidate merge of two adjacent symbols.
    private struct Bigram {
        var score: Float
        var left: Int32
        var right: Int32
        /// Byte length of the merged text; a stale candidate (a side changed since) no longer matches it.
        var length: Int32

        /// Heap order: higher score first, then the smaller left index.
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    private var symbols: [Symbol] = []
    private var heap: [Bigram] = []

    /// Encodes `bytes` (valid UTF-8) and appends the ids to `out`.
    mutating func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, ids: TokenTextIndex, scores: UnsafeBufferPointer<Float>,
        byteTokens: UnsafeBufferPointer<Int32>, into out: inout [Int]
    ) {
        guard !bytes.isEmpty else { return }
        symbols.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < bytes.count {
            let lead = bytes[offset]
            let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            let length = min(width, bytes.count - offset)
            let index = Int32(symbols.count)
            offset += length
            symbols.append(Symbol(start: Int32(offset - length), length: Int32(length), prev: index - 1,
                                  next: offset == bytes.count ? -1 : index + 1))
        }
        for i in 1..<symbols.count { addBigram(Int32(i - 1), Int32(i), bytes, ids, scores) }

        while let top = popBigram() {
            let l = Int(top.left), r = Int(top.right)
            guard symbols[l].length > 0, symbols[r].length > 0,
                  symbols[l].length + symbols[r].length == top.length else { continue }
            symbols[l].length += symbols[r].length
            symbols[r].length = 0
            symbols[l].next = symbols[r].next
            if symbols[r].next >= 0 { symbols[Int(symbols[r].next)].prev = top.left }
            addBigram(symbols[l].prev, top.left, bytes, ids, scores)
            addBigram(top.left, symbols[l].next, bytes, ids, scores)
        }

        var i = 0
        while i >= 0 {
            let s = symbols[i]
            let text = UnsafeBufferPointer(rebasing: bytes[Int(s.start)..<Int(s.start + s.length)])
            if let id = ids.id(of: text) {
                out.append(id)
            } else {
                // Only single characters can miss: a merged symbol is a token by construction.
                for b in text where byteTokens[Int(b)] >= 0 { out.append(Int(byteTokens[Int(b)])) }
            }
            i = Int(s.next)
        }
    }

    /// Queues the merge of symbols `left` and `right` when their concatenation is a token.
    private mutating func addBigram(
        _ left: Int32, _ right: Int32, _ bytes: UnsafeBufferPointer<UInt8>, _ ids: TokenTextIndex,
        _ scores: UnsafeBufferPointer<Float>
    ) {
        guard left >= 0, right >= 0 else { return }
        let start = Int(symbols[Int(left)].start)
        let length = Int(symbols[Int(left)].length + symbols[Int(right)].length)
        guard let id = ids.id(of: UnsafeBufferPointer(rebasing: bytes[start..<(start + length)])) else { return }
        pushBigram(Bigram(score: scores[id], left: left, right: right, length: Int32(length)))
    }

    private mutating func pushBigram(_ b: Bigram) {
        heap.append(b)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popBigram() -> Bigram? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let l = 2 * parent + 1, r = l + 1
            var best = parent
            if l < heap.count && heap[l].precedes(heap[best]) { best = l }
            if r < heap.count && heap[r].precedes(heap[best]) { best = r }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return top
    }
}
