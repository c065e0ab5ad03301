import Foundation

/// The switches that turn the Llama decoder block into another family's block. `.llama`
/// (every switch off) is the plain Llama block; `ModelArchitecture` sets them per family.
public struct BlockVariant: Sendable, Equatable {
    /// The gated MLP's activation.
    public enum Activation: String, Sendable {
        /// `silu(gate) * up` (SwiGLU: Llama, Qwen2).
        case silu
        /// `gelu_tanh(gate) * up` (GeGLU: Gemma).
        case geluTanh
    }

    /// Biases on the q, k and v projections (Qwen2's `attention_bias`), frozen.
    public var attentionBias = false
    /// Multiply the token embeddings by `√hidden` (Gemma's `embed_scale`, in float32).
    public var scalesEmbedding = false
    /// RMSNorm on the output of attention and of the MLP before each joins the residual
    /// stream (Gemma 2/3's `post_attention_layernorm` / `post_feedforward_layernorm`).
    public var postNorms = false
    /// A per-head RMSNorm of width `headDim` on the queries and keys, before RoPE (Gemma 3's
    /// `q_norm` / `k_norm`).
    public var queryKeyNorm = false
    public var activation = Activation.silu
    /// Attention score scale; nil for `1/√headDim` (Gemma: `query_pre_attn_scalar^-0.5`).
    public var attentionScale: Float?
    /// Keys visible to a local layer's query, itself included (Gemma's `sliding_window`); nil:
    /// every layer is global.
    public var slidingWindow: Int?
    /// With a window: layer `i` is global when `(i + 1) % globalLayerPeriod == 0`, local
    /// otherwise (Gemma 3: 5 local layers, then 1 global).
    public var globalLayerPeriod = 1
    /// RoPE base of the local layers (Gemma 3: 10 000; the global layers use `ropeTheta`).
    public var localRoPETheta: Float?

    public init() {}

    /// The plain Llama block.
    public static let llama = BlockVariant()

    /// Whether layer `i` attends through the sliding window with the local RoPE base.
    public func isLocal(layer i: Int) -> Bool {
        slidingWindow != nil && (i + 1) % globalLayerPeriod != 0
    }

    /// A description of the first inconsistency, or nil.
    var validationProblem: String? {
        if let w = slidingWindow, w <= 0 { return "sliding_window must be positive, got \(w)" }
        if globalLayerPeriod <= 0 { return "sliding_window_pattern must be positive, got \(globalLayerPeriod)" }
        if let s = attentionScale, !(s > 0 && s.isFinite) { return "attention scale must be positive, got \(s)" }
        if let t = localRoPETheta, !(t > 0) { return "local rope_theta must be positive, got \(t)" }
        return nil
    }
}
