import ArgumentParser
import Foundation
import Llama
import TensorMath

/// `fedpilot model ...`: inspect a model file and run it.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Inspect and run a model file.",
        subcommands: [ModelInfo.self, ModelTokenize.self, ModelLogits.self, ModelGenerate.self])
}

struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print the architecture and tensor types.")
    @Argument(help: "A GGUF file.") var model: String = defaultModelPath
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let file = try GGUFFile(path: model)
            let config = try LlamaGGUFLoader.config(file)
            var types: [String: Int] = [:]
            for t in file.tensors { types[t.type.name, default: 0] += 1 }
            let parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
            let configJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config))
            if json {
                try printJSON([
                    "path": model, "gguf_version": Int(file.version), "architecture": config.architecture,
                    "name": file.metadata["general.name"]?.string ?? "",
                    "config": configJSON, "parameters": parameters, "tensor_types": types,
                    "tensors": file.tensors.map { ["name": $0.name, "shape": $0.shape, "type": $0.type.name] },
                    "metadata": Dictionary(uniqueKeysWithValues: file.metadataKeys.map { ($0, file.metadata[$0]!.summary) }),
                ] as [String: Any])
            } else {
                print("\(model): GGUF v\(file.version), \(config.architecture), \(file.metadata["general.name"]?.string ?? "unnamed")")
                print("  layers \(config.layerCount), hidden \(config.hiddenSize), heads \(config.headCount)/\(config.kvHeadCount) (q/kv), head dim \(config.headDim)")
                print("  mlp \(config.intermediateSize), vocab \(config.vocabSize), rope theta \(config.ropeTheta), tied head \(config.tieWordEmbeddings)")
                print("  \(parameters) parameters in \(file.tensors.count) tensors: " +
                      types.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            }
        }
    }
}
