/// Keys and values of past positions for incremental decoding of one sequence.
///
/// Layout per layer: `[capacity, nKV * hd]`, keys already rotated by RoPE.
/// A class, so that appending one token never copies the buffers.
public final class KVCache {
    public let capacity: Int
    public internal(set) var length = 0
    var keys: [[Float]]
    var values: [[Float]]

    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        let size = capacity * config.kvWidth
        keys = Array(repeating: [Float](repeating: 0, count: size), count: config.layerCount)
        values = keys
    }

    /// Forgets all positions (the buffers are kept).
    public func reset() { length = 0 }
}
