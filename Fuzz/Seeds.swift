import Deployment
import Federation
import Foundation
import Llama
import SecureAggregation
import TensorMath

/// Writes the small seed inputs of every target (scripts/fuzz.sh adds the shipped scenarios
/// and data files). Each seed is a valid input, so fuzzing starts past the format's header.
enum Seeds {
    static func write(to directory: String) throws {
        for (target, files) in try all() {
            let folder = (directory as NSString).appendingPathComponent(target.rawValue)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, data) in files {
                try data.write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
            }
        }
    }

    static func all() throws -> [FuzzTarget: [(String, Data)]] {
        [
            .gguf: [("tiny-llama.gguf", gguf())],
            .safetensors: [("adapter.safetensors", try adapter())],
            .jsonl: [
                ("text.jsonl", Data([0]) + Data("{\"text\": \"a note\", \"label\": \"x\"}\n\n{\"text\": \"b\"}\n".utf8)),
                ("instruction.jsonl", Data([1]) + Data("{\"instruction\": \"sum\", \"input\": \"1 2\", \"output\": \"3\"}\n".utf8)),
                ("paragraphs.txt", Data([2]) + Data("first\nparagraph\n\nsecond\n".utf8)),
            ],
            .secagg: try secagg(),
            .payload: payload(),
            .setup: [("setup.pb", try setup())],
            .chunks: [
                ("small.bin", try FuzzEntryPoints.chunkStream([Data((0..<40).map { UInt8($0) }), Data()], small: true)),
                ("real.bin", try FuzzEntryPoints.chunkStream([Data("payload".utf8)], small: false)),
            ],
        ]
    }

    /// A two-layer Llama with a byte-level tokenizer: metadata of every kind the loader reads.
    static func gguf() -> Data {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        for (key, value) in [("embedding_length", 8), ("feed_forward_length", 16), ("block_count", 1),
                             ("attention.head_count", 2), ("attention.head_count_kv", 1), ("context_length", 64)] {
            w.set("llama." + key, .uint32(UInt32(value)))
        }
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.rope.freq_base", .float32(10_000))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .array(["a", "b", "ab", "Ġ", "<|endoftext|>"].map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array([1, 1, 1, 1, 3].map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array([.string("a b")]))
        w.set("tokenizer.ggml.eos_token_id", .uint32(4))
        w.addF32("token_embd.weight", shape: [5, 8], (0..<40).map { Float($0) / 40 })
        w.addF16("blk.0.attn_norm.weight", shape: [8], [Float](repeating: 1, count: 8))
        w.addRaw("blk.0.ffn_norm.weight", shape: [32], type: .q8_0, bytes: Data(count: 34))
        return w.data()
    }

    static func adapter() throws -> Data {
        let config = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v])
        return try LoRAAdapter(model: .tiny, config: config, seed: 1).safetensorsData()
    }

    static func secagg() throws -> [(String, Data)] {
        let key = [UInt8](repeating: 7, count: 32)
        let share = ShamirShare(x: 3, y: [1, 2, 3, 4, 5])
        let sealed = EncryptedShare(sender: 1, recipient: 2, sealed: [UInt8](repeating: 9, count: 60))
        let messages: [(String, UInt8, [UInt8])] = [
            ("config", 0, try SecAggConfig(round: 1, clientCount: 5, dimension: 10, degree: 4, threshold: 3, graphSeed: 9,
                                           clipBound: 1).encoded()),
            ("advertise-keys", 1, AdvertiseKeysMessage(round: 1, sender: 2, encryptionPublicKey: key, maskingPublicKey: key).encoded()),
            ("key-directory", 2, KeyDirectory(round: 1, recipient: 2, entries: [.init(client: 1, encryptionPublicKey: key,
                                                                                      maskingPublicKey: key)]).encoded()),
            ("share-keys", 3, ShareKeysMessage(round: 1, sender: 1, selfMaskCommitment: key, shares: [sealed]).encoded()),
            ("share-relay", 4, ShareRelay(round: 1, recipient: 2, participants: [1, 2, 3], shares: [sealed]).encoded()),
            ("masked-input", 5, MaskedInputMessage(round: 1, sender: 2, vector: MaskedVector(words: [1, 2, 3])).encoded()),
            ("unmask-request", 6, UnmaskRequest(round: 1, survivors: [1, 2], dropped: [3]).encoded()),
            ("unmask-response", 6, UnmaskResponse(round: 1, sender: 1, shares: [RevealedShare(owner: 2, kind: .selfMaskSeed,
                                                                                            share: share)]).encoded()),
        ]
        return messages.map { ($0.0 + ".bin", Data([$0.1] + $0.2)) }
    }

    static func payload() -> [(String, Data)] {
        let sizes = [3, 2]
        let values: [Float] = [0.5, -1, 2, 0, 0.25]
        return [
            ("task.bin", Data([0]) + RoundTask(round: 2, global: values, localSteps: 3, proximalMu: 0.1,
                                               gradientCorrection: values).encoded(tensorSizes: sizes, as: .int8)),
            ("reply.bin", Data([1]) + RoundReply(client: "a", round: 2, delta: values, updateNorm: 1, exampleCount: 4, steps: 3,
                                                 tokens: 90, lossStart: 2, lossEnd: 1, computeSeconds: 0.5)
                .encoded(tensorSizes: sizes, as: .fp16)),
            ("evaluation.bin", Data([2]) + EvaluationRequest(round: 2, global: values).encoded(tensorSizes: sizes, as: .fp32)),
            ("secagg-request.bin", Data([3]) + SecureAggregationRequest(round: 2, step: .begin, clientIndex: 1,
                                                                        preparation: .init(weight: 0.5), body: [1, 2, 3]).encoded()),
            ("label-request.bin", Data([5]) + LabelScoreRequest(evaluation: EvaluationRequest(round: 2, global: values)
                .encoded(tensorSizes: sizes, as: .fp32), labels: ["a", "b", "c"]).encoded()),
            ("task-score.bin", Data([6]) + TaskScore(counts: ["a": ["a": 3, "b": 1], "c": ["b": 2]]).encoded()),
            ("generation-score.bin", Data([7]) + GenerationScore(rougeL: 0.4, examples: 2).encoded()),
        ]
    }

    static func setup() throws -> Data {
        let scenario = try ScenarioLoader.parse("""
            name = "seed"
            rounds = 2
            [model]
            path = "tiny"
            [[clients]]
            id = "a"
            domain = "d"
            data = "a.jsonl"
            [[clients]]
            id = "b"
            domain = "d"
            data = "b.jsonl"
            """, path: "seed.toml")
        let identity = WireModelIdentity(path: "tiny", config: .tiny, fingerprint: "00")
        guard let setup = SetupCoding.setup(for: "a", scenario: scenario, model: identity, heartbeat: 5, completedRounds: 0) else {
            throw CocoaError(.coderInvalidValue)
        }
        return try setup.serializedBytes()
    }
}
