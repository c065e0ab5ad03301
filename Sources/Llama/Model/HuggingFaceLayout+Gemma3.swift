import Foundation

/// Gemma 3's `config.json`, read as transformers 5.24's `Gemma3TextConfig` reads it (defaults in
/// brackets, from that class): `head_dim` [256], `query_pre_attn_scalar` [256] (scores scaled by
/// its `-1/2` power), `sliding_window` [4096], `layer_types` (else `sliding_window_pattern` [6]:
/// layer i is `full_attention` when `(i + 1) % pattern == 0`), RoPE bases from
/// `rope_parameters.full_attention` / `.sliding_attention` `rope_theta` (transformers 5), else
/// `rope_theta` [1e6] and `rope_local_base_freq` [1e4] (transformers 4), `rms_norm_eps` [1e-6],
/// `tie_word_embeddings` [true], `max_position_embeddings` [131072], `hidden_activation`
/// [`gelu_pytorch_tanh`]. The embedding scale `√hidden_size` and the `1 + w` norms are not
/// configurable in transformers either. What the block cannot run is refused by name: another
/// activation, RoPE scaling (`rope_scaling`, or a `rope_type` other than `default`: Gemma 3 4B
/// and larger scale their global layers linearly), logit soft-capping, attention biases,
/// bidirectional attention, and a pattern of layer types that is not periodic.
extension HuggingFaceLayout {
    static let gemma3LayerTypes = (local: "sliding_attention", global: "full_attention")

    @Sendable static func gemma3Config(_ json: [String: Any], base: LlamaConfig, path: String) throws -> LlamaConfig {
        func fail(_ key: String, _ reason: String) -> ModelFileError { .invalidMetadata(file: path, key: key, reason: reason) }
        func present(_ key: String) -> Any? { json[key].flatMap { $0 is NSNull ? nil : $0 } }
        func number(_ key: String, in dict: [String: Any]? = nil, default value: Double) throws -> Double {
            guard let raw = (dict ?? json)[key], !(raw is NSNull) else { return value }
            guard let n = raw as? NSNumber, n.doubleValue.isFinite else { throw fail(key, "expected a number, found \(raw)") }
            return n.doubleValue
        }
        var c = base
        if present("head_dim") == nil { c.headDim = 256 }
        if present("tie_word_embeddings") == nil { c.tieWordEmbeddings = true }
        if present("max_position_embeddings") == nil { c.maxPositions = 131_072 }

        let activation = present("hidden_activation") as? String ?? "gelu_pytorch_tanh"
        guard activation == "gelu_pytorch_tanh" else {
            throw fail("hidden_activation", "\"\(activation)\" is not supported (only gelu_pytorch_tanh, the tanh-approximated GELU)")
        }
        for key in ["attention_bias", "use_bidirectional_attention"] where present(key) as? Bool == true {
            throw fail(key, "true is not supported (Gemma 3's causal block has neither)")
        }
        for key in ["final_logit_softcapping", "attn_logit_softcapping"] {
            if let cap = present(key), (cap as? NSNumber)?.doubleValue != 0 {
                throw fail(key, "logit soft-capping (\(cap)) is not supported (Gemma 3 has none)")
            }
        }

        var v = BlockVariant()
        v.scalesEmbedding = true
        v.postNorms = true
        v.queryKeyNorm = true
        v.activation = .geluTanh
        let scalar = try number("query_pre_attn_scalar", default: 256)
        guard scalar > 0 else { throw fail("query_pre_attn_scalar", "must be positive, got \(scalar)") }
        v.attentionScale = Float(1 / scalar.squareRoot())

        // Which layers are local.
        let local: [Bool]
        if let types = present("layer_types") {
            guard let names = types as? [String], names.count == c.layerCount else {
                throw fail("layer_types", "expected \(c.layerCount) strings (num_hidden_layers), found \(types)")
            }
            local = try names.map {
                guard [gemma3LayerTypes.local, gemma3LayerTypes.global].contains($0) else {
                    throw fail("layer_types", "\"\($0)\" is not a layer type (sliding_attention, full_attention)")
                }
                return $0 == gemma3LayerTypes.local
            }
        } else {
            let pattern = Int(try number("sliding_window_pattern", default: 6))
            guard pattern > 0 else { throw fail("sliding_window_pattern", "must be positive, got \(pattern)") }
            local = (0..<c.layerCount).map { ($0 + 1) % pattern != 0 }
        }
        if local.contains(true) {
            // Absent: transformers' default; null: sliding layers without a window, which the block cannot run.
            let raw = json["sliding_window"] ?? 4096
            guard let window = raw as? Int else {
                throw fail("sliding_window", "expected a whole number for the sliding_attention layers, found \(raw is NSNull ? "null" : "\(raw)")")
            }
            v.slidingWindow = window
            // The block's switch is periodic: global when (i + 1) % period == 0.
            let period = (local.firstIndex(of: false) ?? c.layerCount) + 1
            v.globalLayerPeriod = period
            if let i = local.indices.first(where: { v.isLocal(layer: $0) != local[$0] }) {
                throw fail("layer_types", "layer \(i) breaks the pattern of \(period - 1) sliding_attention layers then 1 full_attention (only a periodic pattern is supported)")
            }
        }

        // RoPE bases, and no scaling.
        var theta = (global: try number("rope_theta", default: 1_000_000), local: try number("rope_local_base_freq", default: 10_000))
        if let params = present("rope_parameters") {
            guard let byType = params as? [String: Any],
                  Set(byType.keys).isSubset(of: [gemma3LayerTypes.local, gemma3LayerTypes.global]) else {
                throw fail("rope_parameters", "expected an object keyed by sliding_attention / full_attention, found \(params)")
            }
            for (type, isLocal) in [(gemma3LayerTypes.global, false), (gemma3LayerTypes.local, true)] {
                guard let raw = byType[type] else { continue }
                guard let p = raw as? [String: Any] else { throw fail("rope_parameters.\(type)", "expected an object, found \(raw)") }
                if let kind = p["rope_type"] as? String, kind != "default" {
                    throw fail("rope_parameters.\(type).rope_type", "\"\(kind)\" is not supported (only default RoPE is)")
                }
                let t = try number("rope_theta", in: p, default: isLocal ? theta.local : theta.global)
                if isLocal { theta.local = t } else { theta.global = t }
            }
        }
        if let scaling = present("rope_scaling") {
            let kind = (scaling as? [String: Any]).flatMap { $0["rope_type"] as? String ?? $0["type"] as? String }
            if kind != "default" {
                throw fail("rope_scaling", "RoPE scaling (\(kind ?? "\(scaling)")) is not supported (only plain RoPE is)")
            }
        }
        c.ropeTheta = Float(theta.global)
        v.localRoPETheta = Float(theta.local)
        c.variant = v
        return c
    }

    /// The keys transformers' `Gemma3TextConfig` needs beyond the Llama ones, for `save`: both
    /// transformers 5's `rope_parameters` and transformers 4's `rope_theta` / `rope_local_base_freq`.
    @Sendable static func gemma3ConfigKeys(_ c: LlamaConfig) throws -> [String: Any] {
        let v = c.variant
        // query_pre_attn_scalar is an integer in transformers; the scale must come back exactly.
        var scalar = Double(c.headDim)
        if let scale = v.attentionScale {
            scalar = (1 / (Double(scale) * Double(scale))).rounded()
            guard scalar >= 1, Float(1 / scalar.squareRoot()) == scale else {
                throw ModelFileError.invalidMetadata(file: "config.json", key: "query_pre_attn_scalar",
                                                     reason: "the attention scale \(scale) is not 1/√n for a whole n")
            }
        }
        let types = (0..<c.layerCount).map { v.isLocal(layer: $0) ? gemma3LayerTypes.local : gemma3LayerTypes.global }
        return [
            "query_pre_attn_scalar": Int(scalar),
            "sliding_window": v.slidingWindow ?? 4096,
            "layer_types": types,
            "rope_parameters": [
                gemma3LayerTypes.global: ["rope_type": "default", "rope_theta": Double(c.ropeTheta)],
                gemma3LayerTypes.local: ["rope_type": "default", "rope_theta": Double(v.localRoPETheta ?? 10_000)],
            ],
            "rope_local_base_freq": Double(v.localRoPETheta ?? 10_000),
            "hidden_activation": "gelu_pytorch_tanh",
            "final_logit_softcapping": NSNull(), "attn_logit_softcapping": NSNull(),
            "attention_bias": false, "use_bidirectional_attention": false,
        ]
    }
}
