import Foundation

/// How one family's Hugging Face checkpoint (`config.json` + `*.safetensors`) is laid out: the
/// `model_type`s that name it, what its per-block tensors are called, how its norm scales are
/// stored, and how its `config.json` sets the block's switches. `LlamaSafetensorsLoader` reads
/// and writes every family through this one table (`ModelArchitecture.huggingFace`).
public struct HuggingFaceLayout: Sendable {
    /// `config.json` `model_type`s read as this family; `save` writes the first.
    public let modelTypes: [String]
    /// The transformers class `save` names in `architectures`.
    public let className: String
    /// Per-block name (after `model.layers.N.`) of the norm before the MLP.
    public let mlpNorm: String
    /// Per-block names (after `model.layers.N.`) of the family's optional tensors.
    public let extraLayerTensors: ModelArchitecture.ExtraLayerTensors
    /// The checkpoint stores a norm scale `s` (what the block multiplies by, as
    /// `LlamaLayerWeights` holds it) as `s - normOffset`: 1 for Gemma, whose RMSNorm computes
    /// `x̂ * (1 + w)` from the stored `w`; 0 elsewhere.
    public let normOffset: Float
    /// Sets the family's switches and defaults on the Llama keys decoded from `config.json`
    /// (`json` is the whole file, `path` its path for errors).
    let readConfig: @Sendable (_ json: [String: Any], _ base: LlamaConfig, _ path: String) throws -> LlamaConfig
    /// The family's keys that `save` writes beside the Llama ones (`NSNull()` for JSON null).
    let writeConfig: @Sendable (LlamaConfig) throws -> [String: Any]

    /// Tensor names every family shares.
    public enum TensorName {
        public static let embedding = "model.embed_tokens.weight"
        public static let finalNorm = "model.norm.weight"
        public static let lmHead = "lm_head.weight"
        public static let layerPrefix = "model.layers."
        public static let attentionNorm = "input_layernorm.weight"
        public static let q = "self_attn.q_proj.weight", k = "self_attn.k_proj.weight"
        public static let v = "self_attn.v_proj.weight", o = "self_attn.o_proj.weight"
        public static let gate = "mlp.gate_proj.weight", up = "mlp.up_proj.weight", down = "mlp.down_proj.weight"
    }

    /// Every per-block vector of the family: where `LlamaLayerWeights` keeps it, its name after
    /// `model.layers.N.`, and whether it is a norm scale (stored less `normOffset`).
    var layerVectors: [(path: WritableKeyPath<LlamaLayerWeights, [Float]>, name: String, isNorm: Bool)] {
        let x = extraLayerTensors
        var list: [(WritableKeyPath<LlamaLayerWeights, [Float]>, String, Bool)] = [
            (\.attentionNorm, TensorName.attentionNorm, true), (\.mlpNorm, mlpNorm, true),
        ]
        let optional: [(WritableKeyPath<LlamaLayerWeights, [Float]>, String?, Bool)] = [
            (\.queryNorm, x.queryNorm, true), (\.keyNorm, x.keyNorm, true),
            (\.postAttentionNorm, x.postAttentionNorm, true), (\.postMLPNorm, x.postMLPNorm, true),
            (\.queryBias, x.queryBias, false), (\.keyBias, x.keyBias, false), (\.valueBias, x.valueBias, false),
        ]
        for (path, name, isNorm) in optional { if let name { list.append((path, name, isNorm)) } }
        return list.map { (path: $0.0, name: $0.1, isNorm: $0.2) }
    }

    /// Llama (and Mistral-style checkpoints without a sliding window).
    static let llama = HuggingFaceLayout(
        modelTypes: ["llama", "mistral"], className: "LlamaForCausalLM", mlpNorm: "post_attention_layernorm.weight",
        extraLayerTensors: .init(), normOffset: 0,
        readConfig: { json, base, path in
            try refuseSlidingWindow(json, path: path)
            return base
        }, writeConfig: { _ in [:] })

    /// Qwen2: Llama's names plus the q/k/v biases.
    static let qwen2 = HuggingFaceLayout(
        modelTypes: ["qwen2"], className: "Qwen2ForCausalLM", mlpNorm: "post_attention_layernorm.weight",
        extraLayerTensors: .init(queryBias: "self_attn.q_proj.bias", keyBias: "self_attn.k_proj.bias",
                                 valueBias: "self_attn.v_proj.bias"),
        normOffset: 0,
        readConfig: { json, base, path in
            try refuseSlidingWindow(json, path: path)
            var c = base
            c.variant = ModelArchitecture.qwen2Variant
            return c
        }, writeConfig: { _ in [:] })

    /// Gemma 3 text checkpoints (`Gemma3ForCausalLM`, `model_type` `gemma3_text`: 270M, 1B). Norms
    /// are stored as `w` (the model multiplies by `1 + w`); the pre-MLP norm is
    /// `pre_feedforward_layernorm`, and `post_attention_layernorm` is the norm on the attention
    /// output. The switches are read by `gemma3Config`.
    static let gemma3 = HuggingFaceLayout(
        modelTypes: ["gemma3_text"], className: "Gemma3ForCausalLM", mlpNorm: "pre_feedforward_layernorm.weight",
        extraLayerTensors: .init(queryNorm: "self_attn.q_norm.weight", keyNorm: "self_attn.k_norm.weight",
                                 postAttentionNorm: "post_attention_layernorm.weight",
                                 postMLPNorm: "post_feedforward_layernorm.weight"),
        normOffset: 1, readConfig: { try gemma3Config($0, base: $1, path: $2) }, writeConfig: gemma3ConfigKeys)

    /// Llama and Qwen2 have no sliding-window attention here.
    static func refuseSlidingWindow(_ json: [String: Any], path: String) throws {
        if json["use_sliding_window"] as? Bool == true {
            throw ModelFileError.invalidMetadata(file: path, key: "use_sliding_window",
                reason: "sliding-window attention is not supported for \(json["model_type"] as? String ?? "llama") checkpoints")
        }
    }
}
