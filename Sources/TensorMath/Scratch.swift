/// A set of float buffers allocated together and freed together: the activations
/// of one forward pass, named by index at the call site. They start zeroed unless
/// `zeroed: false` is passed.
public struct Scratch {
    private let base: UnsafeMutablePointer<Float>
    private let offsets: [Int]

    /// Allocates one block holding buffers of the given element counts (each 16-float aligned).
    public init(sizes: [Int], zeroed: Bool = true) {
        var offsets: [Int] = []
        var total = 0
        for s in sizes {
            offsets.append(total)
            total += (s + 15) / 16 * 16
        }
        base = .allocate(capacity: max(total, 1))
        if zeroed { base.initialize(repeating: 0, count: max(total, 1)) }
        self.offsets = offsets
    }

    /// The `i`-th buffer.
    public subscript(i: Int) -> UnsafeMutablePointer<Float> { base + offsets[i] }

    /// Releases the block; the buffers must not be used afterwards.
    public func free() { base.deallocate() }
}
