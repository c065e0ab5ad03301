import Foundation

/// Reads and writes adapters in the layout Hugging Face PEFT saves and loads:
/// a directory with `adapter_model.safetensors` and `adapter_config.json`.
public enum PEFTFormat {
    /// Writes `adapter` into `directory` (created if needed).
    /// - Parameter baseModel: `base_model_name_or_path`, the base model's Hugging Face id when known.
    public static func write(_ adapter: LoRAAdapter, to directory: String, baseModel: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try adapter.safetensorsData().write(to: URL(fileURLWithPath: directory).appendingPathComponent("adapter_model.safetensors"))
        let config: [String: Any] = [
            "base_model_name_or_path": baseModel, "peft_type": "LORA", "task_type": "CAUSAL_LM",
            "r": adapter.config.rank, "lora_alpha": Double(adapter.config.alpha), "lora_dropout": Double(adapter.config.dropout),
            "target_modules": adapter.config.targets.map(\.moduleName), "bias": "none", "fan_in_fan_out": false,
            "inference_mode": true, "init_lora_weights": true, "use_rslora": false, "use_dora": false,
            "modules_to_save": NSNull(), "layers_to_transform": NSNull(), "revision": NSNull(),
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: directory).appendingPathComponent("adapter_config.json"))
    }

    /// Reads a PEFT adapter directory for a model with configuration `model`.
    public static func read(directory: String, model: ModelConfig) throws -> LoRAAdapter {
        let configPath = (directory as NSString).appendingPathComponent("adapter_config.json")
        guard let data = FileManager.default.contents(atPath: configPath) else { throw ModelFileError.notFound(file: configPath) }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelFileError.malformed(file: configPath, offset: 0, reason: "not a JSON object")
        }
        guard let rank = json["r"] as? Int else { throw ModelFileError.missingMetadata(file: configPath, key: "r") }
        let alpha = (json["lora_alpha"] as? Double) ?? Double(rank)
        let modules: [String]
        if let list = json["target_modules"] as? [String] { modules = list } else if let one = json["target_modules"] as? String {
            modules = [one]
        } else { throw ModelFileError.missingMetadata(file: configPath, key: "target_modules") }
        if let type = json["peft_type"] as? String, type != "LORA" {
            throw ModelFileError.invalidMetadata(file: configPath, key: "peft_type", reason: "\"\(type)\" adapters are not supported (LORA is)")
        }
        for flag in ["use_dora", "use_rslora", "fan_in_fan_out"] where (json[flag] as? Bool) == true {
            throw ModelFileError.invalidMetadata(file: configPath, key: flag, reason: "true is not supported")
        }
        let targets: [LoRATarget]
        do { targets = try LoRATarget.parseList(modules.joined(separator: ",")) } catch {
            throw ModelFileError.invalidMetadata(file: configPath, key: "target_modules", reason: "\(error)")
        }
        let config = LoRAConfig(rank: rank, alpha: Float(alpha), dropout: 0, targets: targets)
        let weights = (directory as NSString).appendingPathComponent("adapter_model.safetensors")
        guard let bytes = FileManager.default.contents(atPath: weights) else { throw ModelFileError.notFound(file: weights) }
        return try LoRAAdapter(safetensors: bytes, path: weights, model: model, config: config)
    }

    /// The Hugging Face id of a base model, when the file says so or is the known default.
    public static func baseModelID(path: String, gguf: GGUFFile?) -> String {
        for key in ["general.source.huggingface.repository", "general.base_model.0.repo_url"] {
            if let v = gguf?.metadata[key]?.string, !v.isEmpty {
                return v.replacingOccurrences(of: "https://huggingface.co/", with: "")
            }
        }
        if (path as NSString).lastPathComponent.hasPrefix("SmolLM2-135M-Instruct") { return "HuggingFaceTB/SmolLM2-135M-Instruct" }
        return path
    }
}
