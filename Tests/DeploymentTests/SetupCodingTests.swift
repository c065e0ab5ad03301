import Foundation
import Llama
import SwiftProtobuf
import XCTest
@testable import Deployment
@testable import Federation

/// The Setup message carries what a deployed client needs to train and evaluate exactly as its
/// in-process twin: here, what a labelled example trains (`train_on`) and the task evaluation.
final class SetupCodingTests: XCTestCase {
    private let model = WireModelIdentity()

    private func scenario(_ name: String) throws -> Scenario {
        try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("scenarios/\(name)").path)
    }

    /// The client's settings after the Setup went over the wire (serialized and parsed).
    private func received(_ s: Scenario, client: String) throws -> PilotBuilder.ClientSettings {
        let setup = try XCTUnwrap(SetupCoding.setup(for: client, scenario: s, model: model, heartbeat: 5, completedRounds: 0))
        let wire = try WireSetup(serializedBytes: try setup.serializedBytes() as [UInt8])
        return try SetupCoding.settings(from: wire, dataPath: "data.jsonl", format: .jsonlText)
    }

    func testLabelTrainingAndTheTaskSettingsReachTheClient() throws {
        let s = try scenario("support-triage.toml")
        XCTAssertEqual(s.trainOn, .label)
        let id = try XCTUnwrap(s.clients.first?.id)
        let inProcess = try XCTUnwrap(PilotBuilder.ClientSettings(scenario: s, client: id))
        let deployed = try received(s, client: id)
        XCTAssertEqual(deployed.trainOn, .label)
        let (a, b) = (inProcess.evaluation.task, deployed.evaluation.task)
        XCTAssertEqual(b.template(forDomain: deployed.spec.domain), a.template(forDomain: inProcess.spec.domain))
        XCTAssertEqual(b.examplesPerClient, 12)
        XCTAssertEqual(b.contextTokens, 96)
        XCTAssertTrue(b.calibrate)
        XCTAssertNil(b.generationTokens)
        XCTAssertEqual(b.generationExamples, a.generationExamples)
        XCTAssertNil(b.labels, "the labels travel with each evaluation request, not in the Setup")
    }

    func testEachClientGetsItsOwnDomainsTemplateOnly() throws {
        let s = try scenario("clinical-pilot.toml")
        XCTAssertEqual(try received(s, client: "bank").evaluation.task.labelPrompt, "{text}\nTypology:")
        XCTAssertEqual(try received(s, client: "hospital-a").evaluation.task.labelPrompt, "{text}\nSpecialty:")
        XCTAssertNil(try received(s, client: "support").evaluation.task.labelPrompt)
        XCTAssertEqual(try received(s, client: "bank").evaluation.task.domainLabelPrompts, [:],
                       "no other domain's prompt reaches a client")
        XCTAssertEqual(try received(s, client: "bank").trainOn, .text)
    }

    func testASetupWithoutTheNewFieldsMeansTheDefaults() throws {
        var setup = try XCTUnwrap(SetupCoding.setup(for: "bank", scenario: try scenario("clinical-pilot.toml"), model: model,
                                                    heartbeat: 5, completedRounds: 0))
        setup.evaluation.clearTask()
        setup.training.trainOn = ""
        let settings = try SetupCoding.settings(from: setup, dataPath: "d.jsonl", format: .jsonlText)
        XCTAssertEqual(settings.trainOn, .text)
        XCTAssertEqual(settings.evaluation.task, TaskEvaluationConfig())
    }

    /// `[model] saved_activations` reaches a deployed client over the wire and its trainer uses
    /// it; absent (in the scenario or in a Setup from an older coordinator), the client keeps
    /// its compute mode's default (bf16 under int8).
    func testSavedActivationsReachTheClientsTrainer() throws {
        let engine = try EngineModel.load(path: "tiny", compute: .int8)
        let data = repositoryRoot.appendingPathComponent("data/support-tickets.jsonl").path
        let examples = try DataLoader.load(path: data, format: .jsonlText)
        func deployed(_ line: String) throws -> (setup: WireSetup, settings: PilotBuilder.ClientSettings, trainer: SavedActivations) {
            let toml = DeployedTwinTests.scenario.replacingOccurrences(of: "compute = \"int8\"\n", with: "compute = \"int8\"\n\(line)\n")
            let s = try ScenarioLoader.parse(toml, path: "twin.toml")
            let setup = try XCTUnwrap(SetupCoding.setup(for: "desk-a", scenario: s, model: model, heartbeat: 5, completedRounds: 0))
            let wire = try WireSetup(serializedBytes: try setup.serializedBytes() as [UInt8])
            let settings = try SetupCoding.settings(from: wire, dataPath: data, format: .jsonlText)
            XCTAssertEqual(settings.savedActivations, PilotBuilder.ClientSettings(scenario: s, client: "desk-a")?.savedActivations)
            let worker = try PilotBuilder.buildClient(settings, examples: examples, model: engine)
            return (wire, settings, worker.trainer.model.savedActivations)
        }
        let f32 = try deployed("saved_activations = \"f32\"")
        XCTAssertEqual(f32.setup.savedActivations, "f32")
        XCTAssertEqual(f32.settings.savedActivations, .f32)
        XCTAssertEqual(f32.trainer, .f32, "the join client trains with F32 activations under int8")
        let bf16 = try deployed("saved_activations = \"bf16\"")
        XCTAssertEqual(bf16.settings.savedActivations, .bf16)
        XCTAssertEqual(bf16.trainer, .bf16)
        let absent = try deployed("")
        XCTAssertEqual(absent.setup.savedActivations, "", "absent in the scenario: absent on the wire")
        XCTAssertNil(absent.settings.savedActivations)
        XCTAssertEqual(absent.trainer, .bf16, "int8's default")

        var old = f32.setup
        old.savedActivations = ""
        XCTAssertNil(try SetupCoding.settings(from: old, dataPath: data, format: .jsonlText).savedActivations,
                     "a Setup without the field means the compute mode's default")
    }

    func testAHostileSetupIsRefusedNamingTheField() throws {
        let good = try XCTUnwrap(SetupCoding.setup(for: "client-01", scenario: try scenario("support-triage.toml"), model: model,
                                                   heartbeat: 5, completedRounds: 0))
        let cases: [(String, (inout WireSetup) -> Void)] = [
            ("training.train_on", { $0.training.trainOn = "everything" }),
            ("compute", { $0.compute = "fp8" }),
            ("saved_activations", { $0.savedActivations = "fp16" }),
            ("evaluation.task.label_prompt", { $0.evaluation.task.labelPrompt = "no placeholder" }),
            ("evaluation.task.context_tokens", { $0.evaluation.task.contextTokens = 0 }),
            ("evaluation.task.generation_examples", { $0.evaluation.task.generationExamples = 0 }),
            ("evaluation.task.generation_tokens", { $0.evaluation.task.generationTokens = 100_000 }),
        ]
        for (field, spoil) in cases {
            var setup = good
            spoil(&setup)
            let read = {
                _ = try SetupCoding.compute(from: setup)
                _ = try SetupCoding.settings(from: setup, dataPath: "d.jsonl", format: .jsonlText)
            }
            XCTAssertThrowsError(try read(), field) { error in
                XCTAssertTrue("\(error)".contains(field), "\(error) should name \(field)")
            }
        }
    }
}
