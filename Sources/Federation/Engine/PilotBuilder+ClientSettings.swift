import Foundation
import Llama

extension PilotBuilder {
    /// The settings a client process receives from its coordinator to build its trainer:
    /// everything of the scenario that concerns one client, without any other client's data.
    public struct ClientSettings: Sendable, Equatable {
        public var spec: ClientSpec
        public var lora: LoRAConfig
        /// The training configuration with this client's own seed.
        public var training: LocalTrainingConfig
        public var evaluation: EvaluationConfig
        public var payload: PayloadEncoding
        /// Seed of the train/validation split.
        public var splitSeed: UInt64
        public var faults: [FaultSpec]
        /// What training learns from a labelled text example (`[training] train_on`).
        public var trainOn: TrainingTarget = .text
        /// How training keeps the activations for the backward pass (`[model] saved_activations`);
        /// nil: the default of the model's compute mode.
        public var savedActivations: SavedActivations?

        public init(spec: ClientSpec, lora: LoRAConfig, training: LocalTrainingConfig, evaluation: EvaluationConfig,
                    payload: PayloadEncoding, splitSeed: UInt64, faults: [FaultSpec]) {
            self.spec = spec; self.lora = lora; self.training = training; self.evaluation = evaluation
            self.payload = payload; self.splitSeed = splitSeed; self.faults = faults
        }

        /// What the scenario gives client `id`, with the same seeds as an in-process pilot, so a
        /// deployed client trains exactly as its in-process twin would on the same data.
        public init?(scenario: Scenario, client id: String) {
            guard let index = scenario.clients.firstIndex(where: { $0.id == id }) else { return nil }
            var training = scenario.training
            training.seed = Seeds.derive(scenario.seed, purpose: .clientTraining, index: index)
            self.init(spec: scenario.clients[index], lora: scenario.lora, training: training, evaluation: scenario.evaluation,
                      payload: scenario.payload, splitSeed: Seeds.derive(scenario.seed, purpose: .dataSplit, index: index),
                      faults: scenario.faults.filter { $0.client == id })
            trainOn = scenario.trainOn
            savedActivations = scenario.savedActivations
        }
    }

    /// One client's endpoint for a client process of a network deployment: its own examples,
    /// split into train and validation as `settings` says, and a trainer on `model`.
    public static func buildClient(_ settings: ClientSettings, examples: [TextExample], model: EngineModel) throws -> ClientWorker {
        // The settings came from a coordinator: check them against this client's own model.
        let source = "the coordinator's setup"
        if let problem = settings.lora.validationProblem(for: model.model.config) {
            throw ScenarioError(kind: .invalidValue, file: source, keyPath: "lora", problem: problem)
        }
        if let (field, problem) = settings.training.validationProblem(for: model.model.config) {
            throw ScenarioError(kind: .invalidValue, file: source, keyPath: "training.\(field)", problem: problem)
        }
        let trainingModel = try LoRATrainingModel(base: model.model, config: settings.lora, savedActivations: settings.savedActivations)
        let tensorSizes = try LoRAAdapter(zerosFor: model.model.config, config: settings.lora).slots.flatMap { [$0.aCount, $0.bCount] }
        let data = ClientDataset.split(examples, validationFraction: settings.evaluation.validationFraction, seed: settings.splitSeed)
        return ClientWorker(
            spec: settings.spec, data: data, encoding: model.encoding,
            trainer: LocalTrainer(model: trainingModel, config: settings.training, padID: model.encoding.paddingID),
            loraConfig: settings.lora, modelConfig: model.model.config, tensorSizes: tensorSizes,
            payload: settings.payload, evaluation: settings.evaluation, seed: settings.training.seed, faults: settings.faults,
            trainOn: settings.trainOn)
    }
}
