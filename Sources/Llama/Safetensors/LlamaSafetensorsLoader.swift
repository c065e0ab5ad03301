import Foundation
import TensorMath

/// Loads a Hugging Face checkpoint directory of a family in `ModelArchitecture.all`:
/// `config.json`, one or more `model*.safetensors` (with `model.safetensors.index.json` when
/// sharded), and `tokenizer.json` (+ `tokenizer_config.json`). Weights are already in
/// rotate-half order. Names, norm storage and the config reader come from the family's
/// `HuggingFaceLayout`.
public enum LlamaSafetensorsLoader {
    /// `config.json` `model_type`s this loader reads (a config without `model_type` is taken as Llama).
    public static var safetensorsModelTypes: [String] { ModelArchitecture.all.flatMap(\.huggingFace.modelTypes) }

    /// The family whose `HuggingFaceLayout` lists `modelType`; the error lists the supported ones.
    static func family(modelType: String, path: String) throws -> ModelArchitecture {
        if let family = ModelArchitecture.all.first(where: { $0.huggingFace.modelTypes.contains(modelType) }) { return family }
        let note = modelType == "gemma3"
            ? " (a multimodal Gemma 3 checkpoint, its text config nested under text_config; its 4B-27B text models also scale RoPE, which the block does not. Text-only Gemma 3, model_type gemma3_text, loads)"
            : ""
        throw ModelFileError.invalidMetadata(file: path, key: "model_type",
            reason: "\"\(modelType)\" is not supported from safetensors\(note) (supported: \(safetensorsModelTypes.joined(separator: ", ")))")
    }

    public static func config(directory: String) throws -> LlamaConfig {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelFileError.notFound(file: path) }
        return try config(data: data, path: path)
    }

    /// Reads a `config.json`: the Llama keys through `LlamaConfig`'s decoder, then the family's switches.
    static func config(data: Data, path: String) throws -> LlamaConfig {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelFileError.malformed(file: path, offset: 0, reason: "not a JSON object")
        }
        let family = try family(modelType: json["model_type"] as? String ?? "llama", path: path)
        do {
            var config = try JSONDecoder().decode(LlamaConfig.self, from: data)
            config = try family.huggingFace.readConfig(json, config, path)
            config.architecture = family.name
            if let problem = config.validationProblem {
                throw ModelFileError.invalidMetadata(file: path, key: "config", reason: problem)
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
        let hf = try ModelArchitecture.named(c.architecture, file: directory).huggingFace
        typealias Name = HuggingFaceLayout.TensorName
        let shards = try shards(directory: directory)
        func tensor(_ name: String) throws -> Tensor {
            guard let file = shards[name] else { throw ModelFileError.missingTensor(file: directory, tensor: name) }
            return try file.tensor(name)
        }
        /// A norm scale as the block multiplies by it (Gemma's `1 + w`, added once, here).
        func norm(_ name: String) throws -> [Float] {
            let stored = try tensor(name).data
            return hf.normOffset == 0 ? stored : stored.map { $0 + hf.normOffset }
        }
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layerCount {
            let p = Name.layerPrefix + "\(i)."
            let empty: [Float] = []
            var layer = LlamaLayerWeights(
                attentionNorm: empty,
                wq: try tensor(p + Name.q), wk: try tensor(p + Name.k), wv: try tensor(p + Name.v), wo: try tensor(p + Name.o),
                mlpNorm: empty, gate: try tensor(p + Name.gate), up: try tensor(p + Name.up), down: try tensor(p + Name.down))
            for (path, name, isNorm) in hf.layerVectors {
                layer[keyPath: path] = isNorm ? try norm(p + name) : try tensor(p + name).data
            }
            layers.append(layer)
        }
        let head: Tensor? = c.tieWordEmbeddings ? nil : try tensor(Name.lmHead)
        let weights = LlamaWeights(embedding: try tensor(Name.embedding), layers: layers,
                                   finalNorm: try norm(Name.finalNorm), lmHead: head)
        return try LlamaModel(config: c, weights: weights, source: directory)
    }

    /// Writes a checkpoint directory (`config.json` + `model.safetensors`) in Hugging Face's
    /// layout for the model's family (`Llama`, `Qwen2` with its q/k/v biases, `Gemma3` with its
    /// norms stored as `w`). The config is read back through `config` before anything is
    /// written: a model whose block the family's `config.json` cannot describe is refused.
    public static func save(_ model: LlamaModel, directory: String) throws {
        let c = model.config
        let family = try ModelArchitecture.named(c.architecture, file: directory)
        let hf = family.huggingFace
        typealias Name = HuggingFaceLayout.TensorName
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var config = try JSONSerialization.jsonObject(with: encoder.encode(c)) as! [String: Any]
        config["architectures"] = [hf.className]
        config["model_type"] = hf.modelTypes[0]
        for (key, value) in try hf.writeConfig(c) { config[key] = value }
        let configData = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        let readBack = try Self.config(data: configData, path: "config.json")
        guard readBack == c else {
            throw ModelFileError.invalidMetadata(file: directory, key: "model_type",
                reason: "this \(c.architecture) model's block cannot be written as a \(hf.modelTypes[0]) config.json (it would load as \(readBack.variant), not \(c.variant))")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try configData.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json")))
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        func addNorm(_ name: String, _ v: [Float]) {
            w.add(name, shape: [v.count], hf.normOffset == 0 ? v : v.map { $0 - hf.normOffset })
        }
        let weights = model.weights
        w.add(Name.embedding, weights.embedding)
        for (i, l) in weights.layers.enumerated() {
            let p = Name.layerPrefix + "\(i)."
            w.add(p + Name.q, l.wq); w.add(p + Name.k, l.wk); w.add(p + Name.v, l.wv); w.add(p + Name.o, l.wo)
            w.add(p + Name.gate, l.gate); w.add(p + Name.up, l.up); w.add(p + Name.down, l.down)
            for (path, name, isNorm) in hf.layerVectors {
                let v = l[keyPath: path]
                if isNorm { addNorm(p + name, v) } else { w.add(p + name, shape: [v.count], v) }
            }
        }
        addNorm(Name.finalNorm, weights.finalNorm)
        if let head = weights.lmHead { w.add(Name.lmHead, head) }
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
