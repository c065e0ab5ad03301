import Foundation
import TensorMath

/// Builds a `LlamaModel` from a GGUF file of a family in `ModelArchitecture.all`.
public enum LlamaGGUFLoader {
    /// Reads the architecture from GGUF metadata; errors name the missing or bad key.
    public static func config(_ file: GGUFFile) throws -> LlamaConfig {
        let family = try ModelArchitecture.named(try file.string("general.architecture"), file: file.path)
        let p = family.name + "."
        let heads = try file.int(p + "attention.head_count")
        let hidden = try file.int(p + "embedding_length")
        let vocab: Int
        if let v = file.metadata[p + "vocab_size"]?.int { vocab = v } else if let tokens = file.metadata["tokenizer.ggml.tokens"]?.array {
            vocab = tokens.count
        } else if let e = file.tensorInfo("token_embd.weight") { vocab = e.shape[0] } else {
            throw ModelFileError.missingMetadata(file: file.path, key: p + "vocab_size")
        }
        let headDim = file.metadata[p + "attention.key_length"]?.int ?? hidden / max(heads, 1)
        if let ropeDims = file.metadata[p + "rope.dimension_count"]?.int, ropeDims != headDim {
            throw ModelFileError.invalidMetadata(file: file.path, key: p + "rope.dimension_count",
                                                 reason: "partial rotary embedding (\(ropeDims) of \(headDim)) is not supported")
        }
        var config = LlamaConfig(
            vocabSize: vocab, hiddenSize: hidden,
            intermediateSize: try file.int(p + "feed_forward_length"),
            layerCount: try file.int(p + "block_count"),
            headCount: heads,
            kvHeadCount: file.metadata[p + "attention.head_count_kv"]?.int ?? heads,
            headDim: headDim,
            rmsNormEps: Float(try file.double(p + "attention.layer_norm_rms_epsilon")),
            ropeTheta: Float(file.metadata[p + "rope.freq_base"]?.double ?? 10_000),
            maxPositions: file.metadata[p + "context_length"]?.int ?? 2048,
            tieWordEmbeddings: file.tensorInfo("output.weight") == nil,
            bosTokenID: file.metadata["tokenizer.ggml.bos_token_id"]?.int,
            eosTokenID: file.metadata["tokenizer.ggml.eos_token_id"]?.int)
        config.architecture = family.name
        config.variant = try family.readVariant(file, config)
        if let problem = config.validationProblem {
            throw ModelFileError.invalidMetadata(file: file.path, key: p + "*", reason: problem)
        }
        return config
    }

    /// Reads the family's optional per-block vectors (norms, biases) into `l`.
    static func readExtras(_ file: GGUFFile, layer i: Int, family: ModelArchitecture, into l: inout LlamaLayerWeights) throws {
        let b = "blk.\(i).", names = family.extraLayerTensors
        func vector(_ name: String?) throws -> [Float] { try name.map { try file.tensor(b + $0).data } ?? [] }
        l.queryNorm = try vector(names.queryNorm)
        l.keyNorm = try vector(names.keyNorm)
        l.postAttentionNorm = try vector(names.postAttentionNorm)
        l.postMLPNorm = try vector(names.postMLPNorm)
        l.queryBias = try vector(names.queryBias)
        l.keyBias = try vector(names.keyBias)
        l.valueBias = try vector(names.valueBias)
    }

    /// The Hugging Face-order query or key projection of a family.
    static func queryKey(_ file: GGUFFile, _ name: String, heads: Int, family: ModelArchitecture) throws -> Tensor {
        let w = try file.tensor(name)
        return family.ggufPermutesQueryKey ? unpermuteRoPERows(w, heads: heads) : w
    }

    /// Loads and dequantizes every weight, un-permuting `attn_q`/`attn_k` rows from
    /// llama.cpp's adjacent-pair RoPE order into Hugging Face's rotate-half order.
    public static func load(_ file: GGUFFile, compute: ComputeMode = .f32) throws -> LlamaModel {
        let c = try config(file)
        if compute == .int8 { return try loadQuantized(file, config: c) }
        let family = try ModelArchitecture.named(c.architecture, file: file.path)
        func vector(_ name: String) throws -> [Float] { try file.tensor(name).data }
        var layers: [LlamaLayerWeights] = []
        typealias Names = ModelArchitecture.LayerTensor
        for i in 0..<c.layerCount {
            let b = "blk.\(i)."
            var layer = LlamaLayerWeights(
                attentionNorm: try vector(b + Names.attentionNorm),
                wq: try queryKey(file, b + Names.q, heads: c.headCount, family: family),
                wk: try queryKey(file, b + Names.k, heads: c.kvHeadCount, family: family),
                wv: try file.tensor(b + Names.v),
                wo: try file.tensor(b + Names.o),
                mlpNorm: try vector(b + Names.mlpNorm),
                gate: try file.tensor(b + Names.gate),
                up: try file.tensor(b + Names.up),
                down: try file.tensor(b + Names.down))
            try readExtras(file, layer: i, family: family, into: &layer)
            layers.append(layer)
        }
        let weights = LlamaWeights(
            embedding: try file.tensor("token_embd.weight"), layers: layers,
            finalNorm: try vector("output_norm.weight"),
            lmHead: file.tensorInfo("output.weight") == nil ? nil : try file.tensor("output.weight"))
        return try LlamaModel(config: c, weights: weights, source: file.path)
    }

    /// Loads the model for `ComputeMode.int8`: each projection matrix, the embedding and an
    /// untied head are copied block for block from the file (the query and key rows moved to
    /// Hugging Face order as whole rows of blocks), never dequantized (Q4_0, Q4_1, Q4_K, Q5_0,
    /// Q5_K, Q6_K, Q8_0). A matrix of another type (F32, F16, Q5_1, ...) is dequantized and requantized to
    /// Q8_0, one matrix at a time.
    static func loadQuantized(_ file: GGUFFile, config c: LlamaConfig) throws -> LlamaModel {
        func matrix(_ name: String, ropeHeads: Int? = nil) throws -> QuantizedMatrix {
            let direct: QuantizedMatrix? = try file.withRawTensor(name) { info, raw in
                guard let type = QuantBlockType(info.type), info.shape.count == 2, info.shape[1] % type.blockElements == 0 else { return nil }
                let rows = info.shape[0], cols = info.shape[1]
                let order = ropeHeads.map { ggufRowOrder(rows: rows, heads: $0) }
                return QuantizedMatrix(type: type, rows: rows, cols: cols, source: raw, rowOrder: order)
            }
            if let direct { return direct }
            var w = try file.tensor(name)
            if let heads = ropeHeads { w = unpermuteRoPERows(w, heads: heads) }
            guard w.shape.count == 2, w.shape[1] % 32 == 0 else {
                throw ModelFileError.invalidMetadata(file: file.path, key: name,
                                                     reason: "int8 compute needs a 2-D tensor with a multiple of 32 columns, found \(w.shape)")
            }
            return QuantizedMatrix(quantizingToQ8_0: w)
        }
        func vector(_ name: String) throws -> [Float] { try file.tensor(name).data }
        let family = try ModelArchitecture.named(c.architecture, file: file.path)
        var norms: [LlamaLayerWeights] = []
        var layers: [[QuantizedMatrix]] = []
        let empty = Tensor(zeros: [0, 0])
        for i in 0..<c.layerCount {
            let b = "blk.\(i)."
            var kept = LlamaLayerWeights(
                attentionNorm: try vector(b + "attn_norm.weight"), wq: empty, wk: empty, wv: empty, wo: empty,
                mlpNorm: try vector(b + "ffn_norm.weight"), gate: empty, up: empty, down: empty)
            try readExtras(file, layer: i, family: family, into: &kept)
            norms.append(kept)
            let permuted = family.ggufPermutesQueryKey
            layers.append([
                try matrix(b + "attn_q.weight", ropeHeads: permuted ? c.headCount : nil),
                try matrix(b + "attn_k.weight", ropeHeads: permuted ? c.kvHeadCount : nil),
                try matrix(b + "attn_v.weight"), try matrix(b + "attn_output.weight"),
                try matrix(b + "ffn_gate.weight"), try matrix(b + "ffn_up.weight"), try matrix(b + "ffn_down.weight"),
            ])
        }
        let quantized = QuantizedWeights(
            layers: layers, embedding: try matrix("token_embd.weight"),
            lmHead: file.tensorInfo("output.weight") == nil ? nil : try matrix("output.weight"))
        let kept = LlamaWeights(embedding: empty, layers: norms, finalNorm: try vector("output_norm.weight"), lmHead: nil)
        return try LlamaModel(config: c, norms: kept, quantized: quantized, source: file.path)
    }

    /// For each Hugging Face row, the GGUF row it comes from (see `unpermuteRoPERows`).
    static func ggufRowOrder(rows: Int, heads: Int) -> [Int] {
        let hd = rows / heads, half = hd / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for i in 0..<half {
                for s in 0..<2 { order[h * hd + s * half + i] = h * hd + 2 * i + s }
            }
        }
        return order
    }

    /// GGUF row `h*hd + 2i + s` holds Hugging Face row `h*hd + s*hd/2 + i`
    /// (llama.cpp's converter interleaves the two rotate-half halves). This undoes it.
    public static func unpermuteRoPERows(_ w: Tensor, heads: Int) -> Tensor {
        moveRoPERows(w, heads: heads, toGGUF: false)
    }

    /// The inverse of `unpermuteRoPERows`, used when writing GGUF files.
    public static func permuteRoPERows(_ w: Tensor, heads: Int) -> Tensor {
        moveRoPERows(w, heads: heads, toGGUF: true)
    }

    private static func moveRoPERows(_ w: Tensor, heads: Int, toGGUF: Bool) -> Tensor {
        let rows = w.shape[0], cols = w.shape[1]
        let hd = rows / heads, half = hd / 2
        var out = Tensor(zeros: w.shape)
        for h in 0..<heads {
            for i in 0..<half {
                for s in 0..<2 {
                    let gguf = (h * hd + 2 * i + s) * cols, hf = (h * hd + s * half + i) * cols
                    let (src, dst) = toGGUF ? (hf, gguf) : (gguf, hf)
                    for j in 0..<cols { out.data[dst + j] = w.data[src + j] }
                }
            }
        }
        return out
    }
}
