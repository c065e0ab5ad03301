import Foundation
import TensorMath

/// Loads a Hugging Face Llama checkpoint directory: `config.json`, one or more
/// `model*.safetensors` (with `model.safetensors.index.json` when sharded), and
/// `tokenizer.json` (+ `tokenizer_config.json`). Weights are already in rotate-half order.
public enum LlamaSafetensorsLoader {
    /// `config.json` `model_type`s this loader reads (the plain Llama block; a config without
    /// `model_type` is taken as Llama).
    public static let safetensorsModelTypes = ["llama", "mistral", "qwen2"]

    public static func config(directory: String) throws -> LlamaConfig {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelFileError.notFound(file: path) }
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let type = json?["model_type"] as? String
        if let type, !safetensorsModelTypes.contains(type) {
            throw ModelFileError.invalidMetadata(file: path, key: "model_type",
                reason: "\"\(type)\" is not supported from safetensors (supported: \(safetensorsModelTypes.joined(separator: ", ")); gemma3 loads from GGUF)")
        }
        if json?["use_sliding_window"] as? Bool == true {
            throw ModelFileError.invalidMetadata(file: path, key: "use_sliding_window",
                                                 reason: "sliding-window attention is not supported for \(type ?? "llama") checkpoints")
        }
        do {
            var config = try JSONDecoder().decode(LlamaConfig.self, from: data)
            if type == "qwen2" {
                config.architecture = "qwen2"
                config.variant = ModelArchitecture.qwen2Variant
            }
            return config
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelFileError.missingMetadata(file: path, key: key.stringValue)
        } catch let DecodingError.dataCorrupted(context) {
            throw ModelFileError.invalidMetadata(file: path, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                                                 reason: context.debugDescription)
        } catch let DecodingError.typeMismatch(_, context) {
            throw ModelFileError.invalidMetadata(file: path, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                                                 reason: context.debugDescription)
        }
    }

    /// Opens every shard and maps tensor names to the file that holds them.
    static func shards(directory: String) throws -> [String: SafetensorsFile] {
        let fm = FileManager.default
        let index = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        var files: [String] = []
        if let data = fm.contents(atPath: index) {
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw ModelFileError.malformed(file: index, offset: 0, reason: "no weight_map object")
            }
            files = Array(Set(map.values)).sorted()
        } else {
            files = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !files.isEmpty else {
            throw ModelFileError.notFound(file: (directory as NSString).appendingPathComponent("model.safetensors"))
        }
        var byTensor: [String: SafetensorsFile] = [:]
        for f in files {
            let file = try SafetensorsFile(path: (directory as NSString).appendingPathComponent(f))
            for name in file.tensors.keys { byTensor[name] = file }
        }
        return byTensor
    }

    public static func load(directory: String) throws -> LlamaModel {
        let c = try config(directory: directory)
        let shards = try shards(directory: directory)
        func tensor(_ name: String) throws -> Tensor {
            guard let file = shards[name] else { throw ModelFileError.missingTensor(file: directory, tensor: name) }
            return try file.tensor(name)
        }
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            layers.append(LlamaLayerWeights(
                attentionNorm: try tensor(p + "input_layernorm.weight").data,
                wq: try tensor(p + "self_attn.q_proj.weight"), wk: try tensor(p + "self_attn.k_proj.weight"),
                wv: try tensor(p + "self_attn.v_proj.weight"), wo: try tensor(p + "self_attn.o_proj.weight"),
                mlpNorm: try tensor(p + "post_attention_layernorm.weight").data,
                gate: try tensor(p + "mlp.gate_proj.weight"), up: try tensor(p + "mlp.up_proj.weight"),
                down: try tensor(p + "mlp.down_proj.weight")))
            if c.variant.attentionBias {
                layers[i].queryBias = try tensor(p + "self_attn.q_proj.bias").data
                layers[i].keyBias = try tensor(p + "self_attn.k_proj.bias").data
                layers[i].valueBias = try tensor(p + "self_attn.v_proj.bias").data
            }
        }
        let head: Tensor? = c.tieWordEmbeddings ? nil : try tensor("lm_head.weight")
        let weights = LlamaWeights(embedding: try tensor("model.embed_tokens.weight"), layers: layers,
                                   finalNorm: try tensor("model.norm.weight").data, lmHead: head)
        return try LlamaModel(config: c, weights: weights, source: directory)
    }

    /// The families `save` writes: `model_type`, its transformers class, and the block it must have.
    static let savedFamilies: [(modelType: String, className: String, variant: BlockVariant)] = [
        ("llama", "LlamaForCausalLM", .llama), ("qwen2", "Qwen2ForCausalLM", ModelArchitecture.qwen2Variant),
    ]

    /// Writes a checkpoint directory (`config.json` + `model.safetensors`) in Hugging Face's
    /// layout, for the families `load` reads back (llama, qwen2 with its q/k/v biases).
    public static func save(_ model: LlamaModel, directory: String) throws {
        let c = model.config
        guard let family = savedFamilies.first(where: { $0.modelType == c.architecture }), family.variant == c.variant else {
            throw ModelFileError.invalidMetadata(file: directory, key: "model_type",
                reason: "writing a \(c.architecture) checkpoint is not supported (supported: \(savedFamilies.map(\.modelType).joined(separator: ", ")))")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var config = try JSONSerialization.jsonObject(with: encoder.encode(model.config)) as! [String: Any]
        config["architectures"] = [family.className]
        config["model_type"] = family.modelType
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json")))
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        let weights = model.weights
        w.add("model.embed_tokens.weight", weights.embedding)
        for (i, l) in weights.layers.enumerated() {
            let p = "model.layers.\(i)."
            w.add(p + "input_layernorm.weight", shape: [l.attentionNorm.count], l.attentionNorm)
            w.add(p + "self_attn.q_proj.weight", l.wq); w.add(p + "self_attn.k_proj.weight", l.wk)
            w.add(p + "self_attn.v_proj.weight", l.wv); w.add(p + "self_attn.o_proj.weight", l.wo)
            w.add(p + "post_attention_layernorm.weight", shape: [l.mlpNorm.count], l.mlpNorm)
            w.add(p + "mlp.gate_proj.weight", l.gate); w.add(p + "mlp.up_proj.weight", l.up); w.add(p + "mlp.down_proj.weight", l.down)
            if c.variant.attentionBias {
                w.add(p + "self_attn.q_proj.bias", shape: [l.queryBias.count], l.queryBias)
                w.add(p + "self_attn.k_proj.bias", shape: [l.keyBias.count], l.keyBias)
                w.add(p + "self_attn.v_proj.bias", shape: [l.valueBias.count], l.valueBias)
            }
        }
        w.add("model.norm.weight", shape: [weights.finalNorm.count], weights.finalNorm)
        if let head = weights.lmHead { w.add("lm_head.weight", head) }
        try w.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
    }
}

extension LlamaSafetensorsLoader {
    /// The checkpoint's `tokenizer.json` (with `tokenizer_config.json` when present), or nil if it has none.
    public static func tokenizer(directory: String) throws -> BPETokenizer? {
        let path = (directory as NSString).appendingPathComponent("tokenizer.json")
        guard let json = FileManager.default.contents(atPath: path) else { return nil }
        let config = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("tokenizer_config.json"))
        do { return try BPETokenizer(huggingFaceJSON: json, configJSON: config) } catch {
            throw ModelFileError.invalidMetadata(file: path, key: "model", reason: "\(error)")
        }
    }
}
