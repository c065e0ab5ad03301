import TensorMath

/// How products with the frozen base weights are computed.
public enum ComputeMode: String, Sendable, CaseIterable {
    /// The weights dequantized to F32 at load; F32 products (`FrozenGemm.packed` or `.blas`).
    case f32
    /// The weights kept in their file's quantized blocks (Q4_0, Q4_1, Q4_K, Q5_0, Q5_K, Q6_K, Q8_0; other types are
    /// requantized to Q8_0 at load), repacked into 8-row groups; forward products in int8
    /// (`QuantGemm`: AVX512-VNNI or AVX2), input gradients in int8 through a transposed Q8_0
    /// copy built on the first backward pass (`QuantGemm.BackwardPath`; or through small F32
    /// panels, `FEDPILOT_INT8_BACKWARD=panels`). The LoRA path stays F32.
    case int8

    /// Parses `f32` / `int8`; nil otherwise.
    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    /// The accepted spellings, for error messages.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: " | ") }
}

extension QuantBlockType {
    /// The block type for a GGUF tensor type, when the int8 kernels read it directly.
    init?(_ type: GGMLType) {
        switch type {
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .q8_0: self = .q8_0
        case .q4_K: self = .q4_K
        case .q5_0: self = .q5_0
        case .q5_K: self = .q5_K
        case .q6_K: self = .q6_K
        default: return nil
        }
    }
}
