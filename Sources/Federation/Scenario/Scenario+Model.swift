import Llama

extension Scenario {
    /// Checks the settings that depend on the model, once it is loaded: rows no longer than the
    /// model's context (a longer row has no rotary position and would trap), and a LoRA rank no
    /// larger than the adapted matrices. Throws a `ScenarioError` naming this scenario's file and key.
    public func checkFits(model: ModelConfig) throws {
        if let (field, problem) = training.validationProblem(for: model) {
            throw ScenarioError(kind: .invalidValue, file: sourcePath, keyPath: "training.\(field)", problem: problem,
                                hint: "the model \(modelPath) has a context of \(model.maxPositions) tokens")
        }
        if let problem = lora.rankProblem(for: model) {
            throw ScenarioError(kind: .invalidValue, file: sourcePath, keyPath: "lora.rank", problem: problem,
                                hint: "a rank above the smaller side of an adapted matrix adds parameters but no capacity")
        }
    }
}
