import Llama
import TensorMath
import XCTest
@testable import Federation

/// `[model] saved_activations` reaches the trainers of an in-process pilot: under int8 compute
/// (whose default is bf16), "f32" trains with F32 activations, and a training step's gradient
/// is then not the bf16 one (both finite, the same direction).
final class SavedActivationsPilotTests: XCTestCase {
    /// The trainer of the one client of a tiny-model int8 pilot with `modelLines` under `[model]`.
    private func pilotTrainer(_ modelLines: String) throws -> LoRATrainingModel {
        let toml = """
        name = "saved-activations"
        seed = 3
        rounds = 1
        [model]
        path = "tiny"
        compute = "int8"
        \(modelLines)
        [lora]
        rank = 4
        alpha = 8.0
        targets = "all"
        [training]
        steps = 1
        batch_size = 2
        sequence_length = 32
        [[clients]]
        id = "a"
        domain = "clinical"
        data = "\(EngineTestSupport.data("clinical-hospital-a.jsonl"))"

        """
        let scenario = try ScenarioLoader.parse(toml, path: "saved-activations.toml")
        let pilot = try PilotBuilder.build(scenario, parallelClients: 1, sink: { _ in })
        XCTAssertEqual(pilot.model.model.frozenGemm, .int8, "the pilot's base runs its products in int8")
        return try XCTUnwrap(pilot.transport.clients["a"]).trainer.model
    }

    func testF32UnderInt8ComputeTrainsWithF32Activations() throws {
        let byDefault = try pilotTrainer("")
        let bf16 = try pilotTrainer("saved_activations = \"bf16\"")
        let f32 = try pilotTrainer("saved_activations = \"f32\"")
        XCTAssertEqual(byDefault.savedActivations, .bf16, "int8 compute's default")
        XCTAssertEqual(bf16.savedActivations, .bf16)
        XCTAssertEqual(f32.savedActivations, .f32)

        // One step's loss and gradient on the same batch and adapter (A and B both non-zero,
        // so every adapter matrix receives a gradient).
        let c = f32.base.config
        var adapter = try LoRAAdapter(zerosFor: c, config: f32.config)
        var rng = SeededRandom(seed: 17)
        for i in adapter.values.indices { adapter.values[i] = rng.normal() * 0.2 }
        let rows = (0..<2).map { _ in (0..<33).map { _ in Int(rng.next() % UInt64(min(c.vocabSize, 256))) } }
        let batch = TrainingBatch(tokens: rows.map { Array($0.dropLast()) }, targets: rows.map { Array($0.dropFirst()) })

        let exact = f32.lossAndGradient(adapter, batch: batch)
        let compact = bf16.lossAndGradient(adapter, batch: batch)
        let implicit = byDefault.lossAndGradient(adapter, batch: batch)
        for (name, step) in [("f32", exact), ("bf16", compact)] {
            XCTAssertTrue(step.loss.isFinite, name)
            XCTAssertTrue(step.gradient.values.allSatisfy(\.isFinite), name)
            XCTAssertTrue(step.gradient.values.contains { $0 != 0 }, "\(name): a gradient flows")
        }
        XCTAssertEqual(compact.loss, exact.loss, accuracy: 1e-4 * abs(exact.loss), "the forward pass is the same")
        XCTAssertEqual(implicit.gradient.values, compact.gradient.values, "absent means bf16 under int8")

        let difference = zip(exact.gradient.values, compact.gradient.values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let norm = exact.gradient.values.reduce(0.0) { $0 + Double($1) * Double($1) }
        let relative = (difference / norm).squareRoot()
        print("saved activations f32 vs bf16 under int8: loss \(exact.loss) vs \(compact.loss), gradient relative L2 difference \(relative)")
        XCTAssertGreaterThan(relative, 0, "F32 activations: the gradient carries no bfloat16 rounding")
        XCTAssertLessThan(relative, 5e-2, "both are the same step's gradient")
    }
}
