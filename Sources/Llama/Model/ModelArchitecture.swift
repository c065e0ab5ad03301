import Foundation

/// The model families FedPilot runs, keyed by GGUF `general.architecture` (and, through
/// `huggingFace`, by `config.json` `model_type`): for each, how to read its block's switches
/// from the file's metadata, what its tensors are called in either format, and whether
/// llama.cpp's converter permuted the query/key rows.
///
/// Every family shares `LlamaConfig`'s sizes (read from `<arch>.*` keys by
/// `LlamaGGUFLoader.config`, or from `config.json` by `LlamaSafetensorsLoader.config`) and the
/// one decoder block, `TransformerBlock`, switched by `BlockVariant`.
public struct ModelArchitecture: Sendable {
    /// `general.architecture` in GGUF.
    public let name: String
    /// Family names for messages (what the architecture covers).
    public let covers: String
    /// llama.cpp's converter stores `attn_q`/`attn_k` rows in adjacent-pair RoPE order for this
    /// family (only `llama`; the NeoX-RoPE families keep Hugging Face's rotate-half order).
    public let ggufPermutesQueryKey: Bool
    /// Per-block GGUF tensor names (after `blk.N.`) beyond the Llama ones.
    public let extraLayerTensors: ExtraLayerTensors
    /// Reads the block's switches from the file's metadata (`<arch>.*`).
    let readVariant: @Sendable (GGUFFile, LlamaConfig) throws -> BlockVariant
    /// The family's Hugging Face checkpoint: `model_type`s, tensor names, config.json reader.
    public let huggingFace: HuggingFaceLayout

    /// GGUF names of the optional per-block tensors a family has.
    public struct ExtraLayerTensors: Sendable {
        public var queryNorm: String? = nil
        public var keyNorm: String? = nil
        public var postAttentionNorm: String? = nil
        public var postMLPNorm: String? = nil
        public var queryBias: String? = nil
        public var keyBias: String? = nil
        public var valueBias: String? = nil
    }

    /// Per-block GGUF tensor names every family has (Hugging Face name in the comment).
    public enum LayerTensor {
        public static let attentionNorm = "attn_norm.weight"     // input_layernorm
        public static let q = "attn_q.weight"                    // self_attn.q_proj
        public static let k = "attn_k.weight"                    // self_attn.k_proj
        public static let v = "attn_v.weight"                    // self_attn.v_proj
        public static let o = "attn_output.weight"               // self_attn.o_proj
        public static let mlpNorm = "ffn_norm.weight"            // post_attention_layernorm (Llama) / pre_feedforward_layernorm (Gemma)
        public static let gate = "ffn_gate.weight"               // mlp.gate_proj
        public static let up = "ffn_up.weight"                   // mlp.up_proj
        public static let down = "ffn_down.weight"               // mlp.down_proj
    }

    /// Llama 1/2/3, TinyLlama, SmolLM, Mistral-style files that say `llama`.
    public static let llama = ModelArchitecture(
        name: "llama", covers: "Llama 2/3, TinyLlama, SmolLM, Mistral", ggufPermutesQueryKey: true,
        extraLayerTensors: ExtraLayerTensors(), readVariant: { _, _ in .llama }, huggingFace: .llama)

    /// Gemma 3 (text). What the GGUF does not say is taken from transformers'
    /// `Gemma3TextConfig` defaults, which are also what llama.cpp assumes for `gemma3`:
    /// 5 local layers then 1 global (`sliding_window_pattern` 6), local RoPE base 10 000,
    /// `query_pre_attn_scalar` = head_dim (256; true of 270M, not of 27B, which is untested).
    /// Keys that newer converters write (`attention.sliding_window_pattern`,
    /// `rope.freq_base_swa`, `attention.query_pre_attn_scalar`) override these defaults.
    /// Norm weights in a GGUF already hold Gemma's `1 + w` (llama.cpp's converter adds the 1), as
    /// `LlamaLayerWeights` does; a Hugging Face checkpoint holds `w` (see `HuggingFaceLayout.gemma3`).
    public static let gemma3 = ModelArchitecture(
        name: "gemma3", covers: "Gemma 3 (text)", ggufPermutesQueryKey: false,
        extraLayerTensors: ExtraLayerTensors(queryNorm: "attn_q_norm.weight", keyNorm: "attn_k_norm.weight",
                                             postAttentionNorm: "post_attention_norm.weight",
                                             postMLPNorm: "post_ffw_norm.weight"),
        readVariant: { file, config in
            let p = "gemma3."
            var v = BlockVariant()
            v.scalesEmbedding = true
            v.postNorms = true
            v.queryKeyNorm = true
            v.activation = .geluTanh
            let scalar = file.metadata[p + "attention.query_pre_attn_scalar"]?.double ?? Double(config.headDim)
            v.attentionScale = Float(1 / scalar.squareRoot())
            v.slidingWindow = try file.int(p + "attention.sliding_window")
            v.globalLayerPeriod = file.metadata[p + "attention.sliding_window_pattern"]?.int ?? 6
            v.localRoPETheta = Float(file.metadata[p + "rope.freq_base_swa"]?.double ?? 10_000)
            if let scaling = file.metadata[p + "rope.scaling.type"]?.string, scaling != "none" {
                throw ModelFileError.invalidMetadata(file: file.path, key: p + "rope.scaling.type",
                                                     reason: "RoPE scaling \"\(scaling)\" is not supported (only plain RoPE is)")
            }
            for key in ["final_logit_softcapping", "attn_logit_softcapping"] {
                if let cap = file.metadata[p + key]?.double, cap != 0 {
                    throw ModelFileError.invalidMetadata(file: file.path, key: p + key,
                                                         reason: "logit soft-capping (\(cap)) is not supported (Gemma 3 has none)")
                }
            }
            return v
        }, huggingFace: .gemma3)

    /// Qwen2 (and Qwen2.5): the Llama block with biases on q, k and v; an untied head where the
    /// file has `output.weight`. llama.cpp runs it with NeoX RoPE, so q/k rows are not permuted.
    public static let qwen2 = ModelArchitecture(
        name: "qwen2", covers: "Qwen2, Qwen2.5", ggufPermutesQueryKey: false,
        extraLayerTensors: ExtraLayerTensors(queryBias: "attn_q.bias", keyBias: "attn_k.bias", valueBias: "attn_v.bias"),
        readVariant: { _, _ in qwen2Variant }, huggingFace: .qwen2)

    /// Qwen2's block: Llama's with q/k/v biases.
    public static let qwen2Variant: BlockVariant = {
        var v = BlockVariant()
        v.attentionBias = true
        return v
    }()

    /// Every supported family, in the order messages list them.
    public static let all: [ModelArchitecture] = [.llama, .qwen2, .gemma3]

    /// "llama (Llama 2/3, ...), gemma3 (Gemma 3 (text))", for error messages.
    public static var supportedList: String { all.map { "\($0.name) (\($0.covers))" }.joined(separator: ", ") }

    /// The family of a GGUF file's `general.architecture`; the error names it and lists the supported ones.
    public static func named(_ name: String, file: String) throws -> ModelArchitecture {
        guard let a = all.first(where: { $0.name == name }) else {
            throw ModelFileError.invalidMetadata(file: file, key: "general.architecture",
                                                 reason: "architecture \"\(name)\" is not supported (supported: \(supportedList))")
        }
        return a
    }
}
