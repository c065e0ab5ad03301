/// A dense, row-major tensor of `Float` with an explicit shape.
///
/// Storage is a Swift array, so a `Tensor` is a value: copies are cheap until
/// one side writes. The last dimension varies fastest.
public struct Tensor: Sendable, Equatable {
    /// Sizes of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// Creates a tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Wraps existing elements; the count must match the shape.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "tensor data has \(data.count) elements, shape \(shape) needs \(shape.reduce(1, *))")
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var count: Int { data.count }

    /// Size of the last dimension (the row length of a matrix view).
    public var columns: Int { shape.last ?? 1 }

    /// Number of rows when viewed as a matrix `[count / columns, columns]`.
    public var rows: Int { columns == 0 ? 0 : count / columns }

    /// Returns the same elements under a new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Element access for 2-D tensors.
    public subscript(row: Int, column: Int) -> Float {
        get { data[row * columns + column] }
        set { data[row * columns + column] = newValue }
    }

    /// Largest absolute elementwise difference; shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var worst: Float = 0
        for i in 0..<data.count { worst = max(worst, abs(data[i] - other.data[i])) }
        return worst
    }
}
