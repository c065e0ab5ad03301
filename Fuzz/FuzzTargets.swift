import Deployment
import Federation
import Foundation
import Llama
import SecureAggregation

/// The parsers under fuzzing. Each target takes arbitrary bytes and must either succeed or
/// throw; a trap, a hang or an unbounded allocation is a finding.
enum FuzzTarget: String, CaseIterable {
    case gguf, safetensors, scenario, jsonl, secagg, payload, setup, chunks

    /// Runs one input through the target. Errors are the expected outcome for most inputs.
    func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        switch self {
        case .gguf: Self.gguf(data)
        case .safetensors: Self.safetensors(data)
        case .scenario:
            _ = try? ScenarioLoader.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.toml")
        case .jsonl:
            // The first byte picks the format, the rest is the file.
            let format = DataFormat.allCases[Int(bytes.first ?? 0) % DataFormat.allCases.count]
            _ = try? DataLoader.parse(String(decoding: bytes.dropFirst(), as: UTF8.self), path: "fuzz.jsonl", format: format)
        case .secagg: Self.secagg(bytes)
        case .payload: Self.payload(data)
        case .setup: _ = try? FuzzEntryPoints.setup(data)
        case .chunks: _ = try? FuzzEntryPoints.chunks(data)
        }
    }

    /// Largest tensor the GGUF and safetensors targets dequantize (bigger ones are only parsed).
    static let dequantizeLimit = 1 << 16

    private static func gguf(_ data: Data) {
        guard let file = try? GGUFFile(data: data, path: "fuzz.gguf") else { return }
        for t in file.tensors where t.elementCount <= dequantizeLimit { _ = try? file.tensor(t.name) }
        _ = try? LlamaGGUFLoader.config(file)
        _ = try? BPETokenizer(gguf: file)
    }

    private static func safetensors(_ data: Data) {
        guard let file = try? SafetensorsFile(data: data, path: "fuzz.safetensors") else { return }
        for t in file.tensors.values where t.range.count <= 8 * dequantizeLimit { _ = try? file.tensor(t.name) }
    }

    /// The first byte picks the SecAgg+ message; the rest is its encoding.
    private static func secagg(_ bytes: [UInt8]) {
        let body = Array(bytes.dropFirst())
        switch (bytes.first ?? 0) % 7 {
        case 0: _ = try? SecAggConfig(encoded: body)
        case 1: _ = try? AdvertiseKeysMessage(encoded: body)
        case 2: _ = try? KeyDirectory(encoded: body)
        case 3: _ = try? ShareKeysMessage(encoded: body)
        case 4: _ = try? ShareRelay(encoded: body)
        case 5: _ = try? MaskedInputMessage(encoded: body)
        default:
            _ = try? UnmaskRequest(encoded: body)
            _ = try? UnmaskResponse(encoded: body)
        }
    }

    /// The coordinator/client payloads carried inside chunks; the first byte picks one.
    private static func payload(_ data: Data) {
        let body = data.dropFirst()
        switch (data.first ?? 0) % 8 {
        case 0: _ = try? RoundTask(decoding: Data(body))
        case 1: _ = try? RoundReply(decoding: Data(body))
        case 2: _ = try? EvaluationRequest(decoding: Data(body))
        case 3: _ = try? SecureAggregationRequest(decoding: Data(body))
        case 5: _ = try? LabelScoreRequest(decoding: Data(body))
        case 6: _ = try? TaskScore(decoding: Data(body), labels: ["a", "b", "c"], examples: 16)
        case 7: _ = try? GenerationScore(decoding: Data(body), examples: 16)
        default: _ = try? ServerState(encoded: Data(body))
        }
    }
}
