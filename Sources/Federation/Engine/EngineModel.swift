import Llama

/// The model a scenario names, with its text encoding. The path `tiny` gives a small
/// random llama-family model over bytes, for fast tests of the engine.
public struct EngineModel: Sendable {
    public let model: LanguageModel
    public let encoding: any TextEncoding
    public let name: String

    /// `compute: .int8` keeps the frozen matrices quantized (the tiny model is quantized to Q8_0).
    public static func load(path: String, compute: ComputeMode = .f32) throws -> EngineModel {
        if path == "tiny" {
            let config = ModelConfig(vocabSize: 257, hiddenSize: 32, intermediateSize: 64, layerCount: 2, headCount: 4,
                                     kvHeadCount: 2, rmsNormEps: 1e-5, ropeTheta: 10_000, maxPositions: 512)
            let model = try LanguageModel(config: config, weights: .random(config, seed: 1))
            return EngineModel(model: compute == .int8 ? try model.quantizedToQ8_0() : model,
                               encoding: ByteEncoding(), name: "tiny")
        }
        let loaded = try ModelLoader.load(path: path, compute: compute)
        guard let tokenizer = loaded.tokenizer else { throw ModelFileError.notFound(file: path + "/tokenizer.json") }
        return EngineModel(model: loaded.model, encoding: tokenizer, name: path)
    }
}
