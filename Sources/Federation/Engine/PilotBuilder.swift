import Foundation
import Llama

/// Assembles an in-process pilot from a scenario: the model, every client's data
/// (its own file or a shard of the pooled dataset), local trainers and the coordinator.
public enum PilotBuilder {
    public struct Pilot: Sendable {
        public let coordinator: Coordinator
        public let transport: InProcessTransport
        public let model: EngineModel
    }

    /// Loads the scenario's model and data and builds the coordinator.
    ///
    /// - Parameter parallelClients: clients that train or evaluate at once, each on its share
    ///   of the cores; nil: one per core. Results do not depend on it.
    public static func build(_ scenario: Scenario, start: LoRAAdapter? = nil, startRound: Int = 0,
                             model preloaded: EngineModel? = nil, parallelClients: Int? = nil,
                             sink: @escaping EventSink) throws -> Pilot {
        let engineModel = try preloaded ?? EngineModel.load(path: scenario.modelPath, compute: scenario.compute)
        try scenario.checkFits(model: engineModel.model.config)
        let trainingModel = try LoRATrainingModel(base: engineModel.model, config: scenario.lora,
                                                  savedActivations: scenario.savedActivations)
        let datasets = try loadClientData(scenario)
        var training = scenario.training
        training.seed = scenario.seed
        let tensorSizes = try LoRAAdapter(zerosFor: engineModel.model.config, config: scenario.lora).slots.flatMap { [$0.aCount, $0.bCount] }
        let clients = scenario.clients.enumerated().map { index, spec in
            var config = training
            config.seed = Seeds.derive(scenario.seed, purpose: .clientTraining, index: index)
            let client = ClientWorker(
                spec: spec, data: datasets[spec.id]!, encoding: engineModel.encoding,
                trainer: LocalTrainer(model: trainingModel, config: config, padID: engineModel.encoding.paddingID),
                loraConfig: scenario.lora, modelConfig: engineModel.model.config, tensorSizes: tensorSizes,
                payload: scenario.payload, evaluation: scenario.evaluation, seed: config.seed, faults: scenario.faults,
                trainOn: scenario.trainOn)
            // In process, a client's own key events (fingerprints and ids only) join the run's audit trail.
            client.secureAudit = { event in
                sink(.keyAudit(round: Int(event.fields["round"] ?? "") ?? 0, actor: spec.id, event: event.name, fields: event.fields))
            }
            return client
        }
        let transport = InProcessTransport(clients: clients, parallelClients: parallelClients)
        // The scenario's links and link faults act on the replies of the in-process clients.
        let network = SimulatedNetwork(wrapping: transport, scenario: scenario)
        let coordinator = try Coordinator(scenario: scenario, base: engineModel.model, transport: network,
                                          trainCounts: datasets.mapValues { $0.train.count },
                                          start: start, startRound: startRound, encoding: engineModel.encoding, sink: sink)
        return Pilot(coordinator: coordinator, transport: transport, model: engineModel)
    }

    /// Every client's train/validation split.
    public static func loadClientData(_ scenario: Scenario) throws -> [String: ClientDataset] {
        var shards: [[TextExample]] = []
        let partitioned = scenario.clients.filter { if case .partition = $0.data { return true } else { return false } }
        if !partitioned.isEmpty {
            guard let pooled = scenario.pooledData else {
                throw ScenarioError(kind: .conflict, file: scenario.sourcePath, keyPath: "data", problem: "clients use partitions but there is no [data] table")
            }
            let examples = try DataLoader.load(path: pooled.path, format: pooled.format)
            shards = try Partitioner.split(examples, kind: pooled.partitioner, clients: partitioned.count, seed: scenario.seed)
        }
        var out: [String: ClientDataset] = [:]
        for (index, spec) in scenario.clients.enumerated() {
            let examples: [TextExample]
            switch spec.data {
            case .file(let path, let format): examples = try DataLoader.load(path: path, format: format)
            case .partition(let i):
                guard i < shards.count else {
                    throw ScenarioError(kind: .unknownReference, file: scenario.sourcePath, keyPath: "clients[\(index)].partition",
                                        problem: "shard \(i) does not exist; the partitioner made \(shards.count)")
                }
                examples = shards[i]
            }
            out[spec.id] = ClientDataset.split(examples, validationFraction: scenario.evaluation.validationFraction,
                                               seed: Seeds.derive(scenario.seed, purpose: .dataSplit, index: index))
        }
        return out
    }
}
