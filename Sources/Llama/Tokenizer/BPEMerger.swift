/// Applies BPE merges to one pre-token, in token-id space: repeatedly merges the adjacent pair with
/// the lowest rank (leftmost on ties), exactly as Hugging Face's `Word::merge_all` does.
struct BPEMerger {
    /// Pre-tokens longer than this use the heap-based merge loop; shorter ones a linear scan.
    static let linearScanLimit = 48

    private var symbols: [Int32] = []
    private var ranks: [Int32] = []
    private var mergedIDs: [Int32] = []
    // Heap path: doubly linked list over `symbols` plus a min-heap of (rank << 32 | position).
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var heap: [UInt64] = []

    /// Merges the byte tokens of `bytes[start..<end]` and appends the resulting ids to `out`.
    /// Bytes without a vocabulary entry are dropped (as Hugging Face BPE does without an unk token).
    mutating func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
        byteTokens: UnsafeBufferPointer<Int32>, merges: MergeTable,
        linearScanLimit: Int = BPEMerger.linearScanLimit, into out: inout [Int]
    ) {
        if end - start == 1 {
            let id = byteTokens[Int(bytes[start])]
            if id >= 0 { out.append(Int(id)) }
            return
        }
        symbols.removeAll(keepingCapacity: true)
        for p in start..<end {
            let id = byteTokens[Int(bytes[p])]
            if id >= 0 { symbols.append(id) }
        }
        mergeSymbols(merges, linearScanLimit: linearScanLimit, into: &out)
    }

    /// Merges the given initial symbols (token ids, e.g. characters of SentencePiece-style text) and
    /// appends the resulting ids to `out`.
    mutating func merge(
        _ initial: [Int32], merges: MergeTable, linearScanLimit: Int = BPEMerger.linearScanLimit,
        into out: inout [Int]
    ) {
        symbols.removeAll(keepingCapacity: true)
        symbols.append(contentsOf: initial)
        mergeSymbols(merges, linearScanLimit: linearScanLimit, into: &out)
    }

    private mutating func mergeSymbols(_ merges: MergeTable, linearScanLimit: Int, into out: inout [Int]) {
        if symbols.count <= linearScanLimit {
            mergeLinear(merges)
            for s in symbols { out.append(Int(s)) }
        } else {
            mergeHeap(merges, into: &out)
        }
    }

    /// O(n²) merge loop for short pre-tokens: rank array scan, then shift left.
    private mutating func mergeLinear(_ merges: MergeTable) {
        var n = symbols.count
        guard n > 1 else { return }
        ranks.removeAll(keepingCapacity: true)
        mergedIDs.removeAll(keepingCapacity: true)
        for i in 0..<(n - 1) {
            let m = merges.lookup(symbols[i], symbols[i + 1])
            ranks.append(m.rank)
            mergedIDs.append(m.merged)
        }
        while n > 1 {
            var best = 0
            var bestRank = ranks[0]
            var i = 1
            while i < n - 1 {
                if ranks[i] < bestRank { bestRank = ranks[i]; best = i }
                i += 1
            }
            if bestRank == MergeTable.noMerge { break }
            symbols[best] = mergedIDs[best]
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            mergedIDs.remove(at: best)
            n -= 1
            if best > 0 {
                let m = merges.lookup(symbols[best - 1], symbols[best])
                ranks[best - 1] = m.rank
                mergedIDs[best - 1] = m.merged
            }
            if best < n - 1 {
                let m = merges.lookup(symbols[best], symbols[best + 1])
                ranks[best] = m.rank
                mergedIDs[best] = m.merged
            }
        }
    }

    /// O(n log n) merge loop for long pre-tokens, with lazily invalidated heap entries.
    private mutating func mergeHeap(_ merges: MergeTable, into out: inout [Int]) {
        let n = symbols.count
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            prev.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 0..<(n - 1) {
            let rank = merges.lookup(symbols[i], symbols[i + 1]).rank
            if rank != MergeTable.noMerge { heapPush(UInt64(rank) << 32 | UInt64(i)) }
        }
        while let top = heapPop() {
            let rank = Int32(truncatingIfNeeded: top >> 32)
            let pos = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
            // Skip stale entries: the left symbol was absorbed, or the pair changed since the push.
            if symbols[pos] < 0 { continue }
            let right = Int(next[pos])
            if right < 0 { continue }
            let m = merges.lookup(symbols[pos], symbols[right])
            if m.rank != rank { continue }
            symbols[pos] = m.merged
            symbols[right] = -1
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = Int(prev[pos])
            if before >= 0 {
                let r = merges.lookup(symbols[before], symbols[pos]).rank
                if r != MergeTable.noMerge { heapPush(UInt64(r) << 32 | UInt64(before)) }
            }
            if after >= 0 {
                let r = merges.lookup(symbols[pos], symbols[Int(after)]).rank
                if r != MergeTable.noMerge { heapPush(UInt64(r) << 32 | UInt64(pos)) }
            }
        }
        for s in symbols where s >= 0 { out.append(Int(s)) }
    }

    private mutating func heapPush(_ value: UInt64) {
        heap.append(value)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent] <= value { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = value
    }

    private mutating func heapPop() -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        let n = heap.count
        var i = 0
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && heap[child + 1] < heap[child] { child += 1 }
            if last <= heap[child] { break }
            heap[i] = heap[child]
            i = child
        }
        heap[i] = last
        return top
    }
}
