import Foundation
import TensorMath

/// PEFT's on-disk form of an adapter: `adapter_model.safetensors` with tensors named
/// `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`, and `adapter_config.json`.
extension LoRAAdapter {
    /// The adapter's tensors under PEFT's names.
    public func safetensorsData() throws -> Data {
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        for s in slots {
            w.add(s.peftName("A"), shape: [s.rank, s.input], Array(values[s.aOffset..<(s.aOffset + s.aCount)]))
            w.add(s.peftName("B"), shape: [s.output, s.rank], Array(values[s.bOffset..<(s.bOffset + s.bCount)]))
        }
        return try w.data()
    }

    /// Reads an adapter's tensors from safetensors bytes into this layout; every slot must be present.
    public init(safetensors data: Data, path: String, model: ModelConfig, config: LoRAConfig) throws {
        try self.init(zerosFor: model, config: config)
        let file = try SafetensorsFile(data: data, path: path)
        for s in slots {
            for (matrix, offset, shape) in [("A", s.aOffset, [s.rank, s.input]), ("B", s.bOffset, [s.output, s.rank])] {
                let name = s.peftName(matrix)
                guard file.tensors[name] != nil else { throw LoRAError.missingTensor(file: path, name: name) }
                let t = try file.tensor(name)
                guard t.shape == shape else { throw LoRAError.badTensorShape(file: path, name: name, expected: shape, found: t.shape) }
                values.replaceSubrange(offset..<(offset + t.count), with: t.data)
            }
        }
    }
}
