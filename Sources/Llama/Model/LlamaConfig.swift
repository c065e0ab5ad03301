import Foundation

/// Architecture of a Llama-family model.
///
/// Property names are Swift's; `CodingKeys` map them to Hugging Face's
/// `config.json`, so the same type reads a checkpoint's config directly.
public struct LlamaConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    /// The family's switches on the decoder block (`.llama` for plain Llama). Not part of
    /// `config.json`'s Llama keys: a Hugging Face config decodes to `.llama`.
    public var variant: BlockVariant = .llama
    /// `general.architecture` / `model_type` of the family (see `ModelArchitecture`).
    public var architecture = "llama"

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers", headCount = "num_attention_heads"
        case kvHeadCount = "num_key_value_heads", headDim = "head_dim", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", maxPositions = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
    }

    /// Newer checkpoints (transformers 5) nest RoPE settings under `rope_parameters`;
    /// older ones use `rope_scaling` for anything but plain RoPE.
    private enum RoPEKeys: String, CodingKey { case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling" }
    private struct RoPEParameters: Decodable {
        var ropeTheta: Float?
        var ropeType: String?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta", ropeType = "rope_type" }
    }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int? = nil, rmsNormEps: Float = 1e-5,
                ropeTheta: Float = 10_000, maxPositions: Int = 2048, tieWordEmbeddings: Bool = true,
                bosTokenID: Int? = nil, eosTokenID: Int? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / max(headCount, 1)
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositions = maxPositions
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let heads = try c.decode(Int.self, forKey: .headCount)
        let hidden = try c.decode(Int.self, forKey: .hiddenSize)
        if try c.decodeIfPresent(Int.self, forKey: .headDim) == nil, heads > 0, hidden % heads != 0 {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.hiddenSize],
                debugDescription: "hidden_size \(hidden) is not divisible by num_attention_heads \(heads) and head_dim is not given"))
        }
        let ropeContainer = try decoder.container(keyedBy: RoPEKeys.self)
        let rope = try ropeContainer.decodeIfPresent(RoPEParameters.self, forKey: .ropeParameters)
        let scaling = try? ropeContainer.decodeIfPresent(RoPEParameters.self, forKey: .ropeScaling)
        for (key, p) in [("rope_parameters", rope), ("rope_scaling", scaling)] {
            if let type = p?.ropeType, type != "default" {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(key).rope_type \"\(type)\" is not supported (only default RoPE is)"))
            }
        }
        // eos_token_id may be a number or a list of numbers; the first one is the stop token.
        var eos = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID)
        if eos == nil, let list = try? c.decodeIfPresent([Int].self, forKey: .eosTokenID) { eos = list.first }
        self.init(
            vocabSize: try c.decode(Int.self, forKey: .vocabSize),
            hiddenSize: hidden,
            intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
            layerCount: try c.decode(Int.self, forKey: .layerCount),
            headCount: heads,
            kvHeadCount: try c.decodeIfPresent(Int.self, forKey: .kvHeadCount) ?? heads,
            headDim: try c.decodeIfPresent(Int.self, forKey: .headDim),
            rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6,
            ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? rope?.ropeTheta ?? 10_000,
            maxPositions: try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048,
            tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false,
            bosTokenID: try? c.decodeIfPresent(Int.self, forKey: .bosTokenID),
            eosTokenID: eos)
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: problem))
        }
    }

    /// Upper bounds checked by `validationProblem`.
    public static let maximumWidth = 1 << 24
    public static let maximumLayers = 1 << 10
    public static let maximumHeads = 1 << 12
    public static let maximumHeadDim = 1 << 12
    public static let maximumPositions = 1 << 20
    public static let maximumRoPETable = 1 << 28

    /// Width of the query projection, `headCount * headDim`.
    public var queryWidth: Int { headCount * headDim }
    /// Width of each key/value projection, `kvHeadCount * headDim`.
    public var kvWidth: Int { kvHeadCount * headDim }

    /// A description of the first inconsistency, or nil when the config is usable.
    public var validationProblem: String? {
        for (name, v) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                          ("num_key_value_heads", kvHeadCount), ("head_dim", headDim), ("max_position_embeddings", maxPositions)]
        where v <= 0 {
            return "\(name) must be positive, got \(v)"
        }
        // Upper bounds far above any Llama-family model, so that a hostile file cannot make the
        // loader overflow a size or allocate without limit (the RoPE table alone holds
        // max_position_embeddings x head_dim values).
        for (name, v, limit) in [("vocab_size", vocabSize, Self.maximumWidth), ("hidden_size", hiddenSize, Self.maximumWidth),
                                 ("intermediate_size", intermediateSize, Self.maximumWidth),
                                 ("num_hidden_layers", layerCount, Self.maximumLayers),
                                 ("num_attention_heads", headCount, Self.maximumHeads),
                                 ("num_key_value_heads", kvHeadCount, Self.maximumHeads), ("head_dim", headDim, Self.maximumHeadDim),
                                 ("max_position_embeddings", maxPositions, Self.maximumPositions)]
        where v > limit {
            return "\(name) must be at most \(limit), got \(v)"
        }
        if maxPositions * headDim > Self.maximumRoPETable {
            return "max_position_embeddings \(maxPositions) x head_dim \(headDim) exceeds the \(Self.maximumRoPETable)-value RoPE table limit"
        }
        if headCount % kvHeadCount != 0 { return "num_attention_heads \(headCount) is not a multiple of num_key_value_heads \(kvHeadCount)" }
        if headDim % 2 != 0 { return "head_dim \(headDim) must be even for RoPE" }
        if !(rmsNormEps > 0) { return "rms_norm_eps must be positive, got \(rmsNormEps)" }
        if !(ropeTheta > 0) { return "rope_theta must be positive, got \(ropeTheta)" }
        return variant.validationProblem
    }

    /// A tiny configuration for fast unit tests (random weights, 2 layers, GQA 4:2).
    public static let tiny = LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, layerCount: 2,
                                         headCount: 4, kvHeadCount: 2, rmsNormEps: 1e-5, ropeTheta: 10_000,
                                         maxPositions: 128, tieWordEmbeddings: true)
}
