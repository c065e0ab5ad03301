import Foundation
import XCTest
@testable import Federation
import Llama

/// Scenario files: every shipped scenario parses, defaults are the Swift structs' defaults, and each
/// class of mistake produces a message that names the file, the TOML key path and the problem.
final class ScenarioTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let file = "scenarios/x.toml"

    /// The required top-level keys and [model], without clients.
    static let header = "name = \"x\"\nrounds = 3\n[model]\npath = \"tiny\"\n"

    /// The smallest valid scenario; tests append to it.
    static let minimal = """
        name = "x"
        rounds = 3
        [model]
        path = "tiny"
        [[clients]]
        id = "a"
        domain = "d"
        data = "a.jsonl"

        """

    func parse(_ text: String, overrides: ScenarioOverrides = .init()) throws -> Scenario {
        try ScenarioLoader.parse(text, path: Self.file, overrides: overrides)
    }

    /// Asserts that parsing fails with an error of `kind` at `keyPath` whose message contains every fragment.
    func assertError(_ text: String, kind: ScenarioError.Kind, at keyPath: String, _ fragments: String...,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let s = try parse(text)
            XCTFail("expected an error at \(keyPath), parsed \(s.name)", file: file, line: line)
        } catch let e as ScenarioError {
            let message = e.description
            XCTAssertEqual(e.kind, kind, message, file: file, line: line)
            XCTAssertEqual(e.keyPath, keyPath, message, file: file, line: line)
            XCTAssertTrue(message.hasPrefix("\(Self.file): \(keyPath.isEmpty ? "" : keyPath + ": ")"), message, file: file, line: line)
            for f in fragments { XCTAssertTrue(message.contains(f), "'\(f)' is not in: \(message)", file: file, line: line) }
        } catch {
            XCTFail("expected a ScenarioError, got \(error)", file: file, line: line)
        }
    }

    // MARK: Shipped scenarios

    func testEveryShippedScenarioParses() throws {
        let dir = Self.repositoryRoot.appendingPathComponent("scenarios")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }.sorted()
        XCTAssertTrue(names.contains("clinical-pilot.toml"), "\(names)")
        XCTAssertGreaterThanOrEqual(names.count, 8)
        for name in names {
            let path = dir.appendingPathComponent(name).path
            do {
                let s = try ScenarioLoader.load(path: path)
                XCTAssertEqual(s.name + ".toml", name, "a scenario's name matches its file name")
                XCTAssertEqual(s.sourcePath, path)
                XCTAssertFalse(s.description.isEmpty, name)
                XCTAssertFalse(s.clients.isEmpty, name)
                XCTAssertEqual(Set(s.clients.map(\.id)).count, s.clients.count, name)
                XCTAssertNil(s.lora.validationProblem, name)
                for c in s.clients { XCTAssertNotNil(c.probePrompt, "\(name): \(c.id) has a probe prompt for the dashboard's sample") }
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    /// The data files the shipped scenarios name exist (when the repository's data/ is present).
    func testShippedScenariosNameExistingDataFiles() throws {
        let root = Self.repositoryRoot
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("data").path) else {
            throw XCTSkip("data/ is absent")
        }
        let dir = root.appendingPathComponent("scenarios")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".toml") {
            let s = try ScenarioLoader.load(path: dir.appendingPathComponent(name).path)
            var paths = s.clients.compactMap { c -> String? in
                if case .file(let path, _) = c.data { return path } else { return nil }
            }
            if let pooled = s.pooledData { paths.append(pooled.path) }
            for p in paths {
                XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(p).path), "\(name): \(p)")
            }
            if s.modelPath != "tiny" {
                XCTAssertTrue(["models/SmolLM2-135M-Instruct.Q4_1.gguf", "models/gemma-3-270m-q4_k_m.gguf"].contains(s.modelPath), name)
            }
        }
    }

    func scenario(_ name: String) throws -> Scenario {
        try ScenarioLoader.load(path: Self.repositoryRoot.appendingPathComponent("scenarios/\(name).toml").path)
    }

    func testDefaultPilot() throws {
        let s = try scenario("clinical-pilot")
        XCTAssertEqual(s.rounds, 8)
        XCTAssertEqual(s.seed, 42)
        XCTAssertEqual(s.training.seed, 42)
        XCTAssertEqual(s.modelPath, "models/SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(s.compute, .int8, "the default pilot runs the frozen base in int8 (README, int8 compute)")
        XCTAssertEqual(s.lora, LoRAConfig(rank: 8, alpha: 16, dropout: 0, targets: [.q, .v]))
        XCTAssertEqual(s.training.budget, .steps(3))
        XCTAssertEqual(s.training.batchSize, 2)
        XCTAssertEqual(s.training.sequenceLength, 64)
        XCTAssertEqual(s.training.learningRate, 2e-3)
        XCTAssertEqual(s.training.warmupSteps, 0)
        XCTAssertEqual(s.strategy.kind, .fedavg)
        XCTAssertEqual(s.evaluation.maxExamplesPerClient, 4)
        XCTAssertEqual(s.clients.map(\.id), ["hospital-a", "hospital-b", "bank", "support"])
        XCTAssertEqual(s.clients.map(\.domain), ["clinical", "clinical", "aml", "support"])
        XCTAssertEqual(s.clients[2].data, .file(path: "data/aml-alerts.jsonl", format: .jsonlText))
        XCTAssertEqual(Set(s.clients.map(\.link.upMbps)).count, 4, "every client has its own link")
        XCTAssertEqual(s.clients[1].link, LinkSpec(upMbps: 2, downMbps: 8, latencyMs: 80))
        XCTAssertNil(s.pooledData)
        XCTAssertEqual(s.faults, [])
        XCTAssertEqual(s.privacy, PrivacyConfig())
    }

    func testShippedScenarioSpecifics() throws {
        let dirichlet = try scenario("noniid-dirichlet")
        XCTAssertEqual(dirichlet.clients.map(\.id), (1...6).map { "client-0\($0)" })
        XCTAssertEqual(dirichlet.clients.map(\.data), (0..<6).map { .partition(index: $0) })
        XCTAssertEqual(dirichlet.pooledData?.partitioner, .dirichlet(field: "label", alpha: 0.3))
        XCTAssertEqual(dirichlet.strategy.kind, .fedprox)
        XCTAssertEqual(dirichlet.strategy.proximalMu, 0.01)

        let degrading = try scenario("degrading-client")
        XCTAssertEqual(degrading.faults, [FaultSpec(client: "hospital-b", kind: .degrade, fromRound: 3, severity: 0.9)])
        XCTAssertEqual(degrading.strategy.kind, .trimmedMean)
        XCTAssertEqual(degrading.strategy.trimFraction, 0.25)

        let flaky = try scenario("stragglers-dropouts")
        XCTAssertEqual(flaky.clients.map(\.link.computeFactor), [1, 1, 2, 4, 1, 8])
        XCTAssertEqual(flaky.clients.map(\.link.dropProbability), [0, 0.1, 0, 0.2, 0.3, 0])
        XCTAssertEqual(flaky.selection, SelectionConfig(fraction: 1, minimumClients: 2, availability: 0.9))
        XCTAssertEqual(flaky.faults.map(\.kind), [.dropout, .straggler])
        XCTAssertEqual(flaky.faults[0].toRound, 3)
        XCTAssertEqual(flaky.pooledData?.partitioner, .iid)

        let many = try scenario("many-clients")
        XCTAssertEqual(many.clients.count, 120)
        XCTAssertEqual(many.clients.first?.id, "client-001")
        XCTAssertEqual(many.clients.last?.id, "client-120")
        XCTAssertEqual(many.pooledData?.partitioner, .quantitySkew(power: 1.2))
        XCTAssertEqual(many.selection.fraction * Double(many.clients.count), 6, accuracy: 1e-9)

        let flower = try scenario("flower-parity")
        XCTAssertEqual(flower.lora.targets, LoRATarget.allCases)
        XCTAssertEqual(flower.training.budget, .steps(5))
        XCTAssertEqual(flower.training.learningRate, 2e-4)

        let private_ = try scenario("dp-secagg")
        XCTAssertTrue(private_.privacy.differentialPrivacy)
        XCTAssertTrue(private_.privacy.secureAggregation)
        XCTAssertEqual(private_.privacy.noiseMultiplier, 0.8)
        XCTAssertEqual(private_.privacy.clipNorm, 0.01)
        XCTAssertEqual(private_.privacy.noise, .distributed)
        XCTAssertGreaterThan(private_.privacy.phaseDropProbability, 0)

        let tiny = try scenario("tiny-test")
        XCTAssertEqual(tiny.modelPath, "tiny")
        XCTAssertEqual(tiny.clients.map(\.domain), ["clinical", "support", "legal"])
        XCTAssertEqual(tiny.clients[1].data, .file(path: "data/support-instructions.jsonl", format: .jsonlInstruction))
        XCTAssertEqual(tiny.rounds, 2)
    }

    // MARK: Defaults and forms

    func testDefaultsAreTheStructDefaults() throws {
        let s = try parse(Self.minimal)
        XCTAssertEqual(s.name, "x")
        XCTAssertEqual(s.description, "")
        XCTAssertEqual(s.sourcePath, Self.file)
        XCTAssertEqual(s.seed, 0)
        XCTAssertEqual(s.lora, LoRAConfig())
        XCTAssertEqual(s.training, LocalTrainingConfig(budget: .steps(10)))
        XCTAssertEqual(s.selection, SelectionConfig())
        XCTAssertEqual(s.strategy, StrategyConfig())
        XCTAssertEqual(s.evaluation, EvaluationConfig())
        XCTAssertEqual(s.privacy, PrivacyConfig())
        XCTAssertEqual(s.clients, [ClientSpec(id: "a", domain: "d", data: .file(path: "a.jsonl", format: .jsonlText))])
        XCTAssertEqual(s.faults, [])
        XCTAssertNil(s.pooledData)
        XCTAssertEqual(s.payload, .int8)
        XCTAssertFalse(s.realTimePacing)
        XCTAssertNil(s.selection.deadlineSeconds)
    }

    func testPayloadPacingDeadlineAndEveryFaultKind() throws {
        var text = Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = 3\npayload = \"fp16\"\nreal_time_pacing = true")
        text += "[selection]\ndeadline_seconds = 45\n"
        for kind in FaultKind.allCases where kind != .dropout {
            text += "[[faults]]\nclient = \"a\"\nkind = \"\(kind.rawValue)\"\nfrom_round = 2\nseverity = 0.5\n"
        }
        text += "[[faults]]\nclient = \"a\"\nkind = \"dropout\"\nto_round = 1\n"
        let s = try parse(text)
        XCTAssertEqual(s.payload, .fp16)
        XCTAssertTrue(s.realTimePacing)
        XCTAssertEqual(s.selection.deadlineSeconds, 45)
        XCTAssertEqual(Set(s.faults.map(\.kind)), Set(FaultKind.allCases))
        XCTAssertEqual(s.faults.last, FaultSpec(client: "a", kind: .dropout, fromRound: 1, toRound: 1))
        assertError(Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = 3\npayload = \"int4\""), kind: .invalidValue,
                    at: "payload", "unknown payload encoding \"int4\"", "use one of: fp32, fp16, int8")
        assertError(Self.minimal + "[selection]\ndeadline_seconds = 0\n", kind: .invalidValue, at: "selection.deadline_seconds",
                    "must be positive, got 0")
        assertError(Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"label_noise\"\nseverity = 1.5\n", kind: .invalidValue,
                    at: "faults[0].severity", "must be in (0, 1], got 1.5")
    }

    func testLoRATargetForms() throws {
        let forms: [(String, [LoRATarget])] = [
            ("\"all\"", LoRATarget.allCases), ("\"qv\"", [.q, .v]), ("\"q, v\"", [.q, .v]),
            ("[\"v\", \"q\"]", [.q, .v]), ("[\"q_proj\", \"down_proj\", \"gate\"]", [.q, .gate, .down]),
            ("[\"all\"]", LoRATarget.allCases),
        ]
        for (toml, expected) in forms {
            let s = try parse(Self.minimal + "[lora]\ntargets = \(toml)\n")
            XCTAssertEqual(s.lora.targets, expected, toml)
        }
    }

    func testEpochsBudgetIntegersAsFloatsAndClientLinkOverrides() throws {
        let s = try parse("""
            name = "x"
            rounds = 2
            [model]
            path = "m.gguf"
            [training]
            epochs = 2
            learning_rate = 1
            [link]
            up_mbps = 7
            latency_ms = 50.0
            [[clients]]
            id = "a"
            domain = "d"
            data = "a.txt"
            format = "text"
            local_steps = 4
            [clients.link]
            up_mbps = 3.5
            """)
        XCTAssertEqual(s.training.budget, .epochs(2))
        XCTAssertEqual(s.training.learningRate, 1)
        XCTAssertEqual(s.clients[0].link, LinkSpec(upMbps: 3.5, downMbps: 100, latencyMs: 50))
        XCTAssertEqual(s.clients[0].data, .file(path: "a.txt", format: .text))
        XCTAssertEqual(s.clients[0].localSteps, 4)
    }

    func testPartitionClientsAndNaturalPartitioner() throws {
        let s = try parse("""
            name = "x"
            rounds = 2
            [model]
            path = "m.gguf"
            [data]
            path = "pool.jsonl"
            partitioner = "natural"
            field = "site"
            [[clients]]
            id = "p"
            domain = "d"
            partition = 1
            [[clients]]
            id = "q"
            domain = "d"
            partition = 0
            [[clients]]
            id = "own"
            domain = "d"
            data = "own.jsonl"
            format = "jsonl_instruction"
            """)
        XCTAssertEqual(s.pooledData, PooledDataSpec(path: "pool.jsonl", format: .jsonlText, partitioner: .natural(field: "site")))
        XCTAssertEqual(s.clients.map(\.data), [.partition(index: 1), .partition(index: 0), .file(path: "own.jsonl", format: .jsonlInstruction)])
    }

    func testOverridesApply() throws {
        let s = try parse(Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = 3\nseed = 5"), overrides: .init(rounds: 9, seed: 77))
        XCTAssertEqual(s.rounds, 9)
        XCTAssertEqual(s.seed, 77)
        XCTAssertEqual(s.training.seed, 77)
        let plain = try parse(Self.minimal, overrides: .init())
        XCTAssertEqual(plain.rounds, 3)
        // A fault beyond an overridden (shorter) run is fine: fault rounds are checked against the file's rounds.
        let faulty = Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"dropout\"\nfrom_round = 3\n"
        XCTAssertEqual(try parse(faulty, overrides: .init(rounds: 1)).rounds, 1)
        XCTAssertThrowsError(try parse(Self.minimal, overrides: .init(rounds: 0))) {
            XCTAssertEqual("\($0)", "scenarios/x.toml: rounds: must be in 1...10000, got 0 (from the rounds override)")
        }
    }

    func testLoadNamesAMissingFile() {
        XCTAssertThrowsError(try ScenarioLoader.load(path: "scenarios/does-not-exist.toml")) {
            XCTAssertTrue("\($0)".hasPrefix("scenarios/does-not-exist.toml: no such scenario file"), "\($0)")
        }
    }

    // MARK: Errors

    func testExactMessageFormat() {
        let text = Self.minimal + "[clients.link]\nup_mbps = -3\n"
        XCTAssertThrowsError(try parse(text)) {
            XCTAssertEqual("\($0)", "scenarios/x.toml: clients[0].link.up_mbps: must be positive, got -3")
        }
    }

    func testUnknownKeysNameTheAllowedKeys() {
        assertError(Self.minimal + "[training]\nstpes = 5\n", kind: .unknownKey, at: "training.stpes",
                    "unknown key", "did you mean 'steps'?",
                    "[training] allows: steps, epochs, batch_size, sequence_length, learning_rate, warmup_steps, min_lr_ratio, weight_decay, max_grad_norm, packing, train_on")
        assertError("colour = 1\n" + Self.minimal, kind: .unknownKey, at: "colour", "unknown key", "the top level allows: name, description, seed, rounds")
        assertError("steps = 1\n" + Self.minimal, kind: .unknownKey, at: "steps", "'steps' belongs in [training]")
        assertError(Self.minimal + "[clients.link]\nupload_mbps = 3\n", kind: .unknownKey, at: "clients[0].link.upload_mbps",
                    "[clients.link] allows: up_mbps, down_mbps")
        assertError(Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"dropout\"\nfrom = 2\n", kind: .unknownKey,
                    at: "faults[0].from", "[[faults]] allows: client, kind, from_round, to_round, severity")
        assertError(Self.minimal + "[strategy]\n\"odd key\" = 1\n", kind: .unknownKey, at: "strategy.\"odd key\"", "unknown key")
    }

    func testWrongTypesNameExpectedAndFound() {
        assertError(Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = \"3\""), kind: .wrongType, at: "rounds",
                    "expected integer, found string \"3\"")
        assertError(Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = 3.0"), kind: .wrongType, at: "rounds",
                    "expected integer, found float 3", "write 3 without a decimal point")
        assertError(Self.minimal + "[training]\npacking = \"yes\"\n", kind: .wrongType, at: "training.packing", "expected boolean, found string \"yes\"")
        assertError(Self.minimal + "[link]\nup_mbps = \"fast\"\n", kind: .wrongType, at: "link.up_mbps", "expected number, found string \"fast\"")
        assertError("lora = 8\n" + Self.minimal, kind: .wrongType, at: "lora", "expected table, found integer 8")
        assertError(Self.minimal + "[lora]\ntargets = [\"q\", 3]\n", kind: .wrongType, at: "lora.targets[1]", "expected string, found integer 3")
        assertError("""
            name = "x"
            rounds = 3
            [model]
            path = "tiny"
            [clients]
            id = "a"
            """, kind: .wrongType, at: "clients", "expected array of tables, found table", "[[clients]]")
        assertError("clients = 8\n" + Self.header, kind: .wrongType, at: "clients", "expected array of tables, found integer 8",
                    "write clients = 8 inside [data]")
    }

    func testOutOfRangeValues() {
        assertError(Self.minimal.replacingOccurrences(of: "rounds = 3", with: "rounds = 10001"), kind: .invalidValue, at: "rounds",
                    "must be in 1...10000, got 10001")
        assertError(Self.minimal + "[selection]\nfraction = 1.5\n", kind: .invalidValue, at: "selection.fraction", "must be in (0, 1], got 1.5")
        assertError(Self.minimal + "[selection]\nmin_clients = 2\n", kind: .invalidValue, at: "selection.min_clients",
                    "is 2, but the scenario has only 1 client")
        assertError(Self.minimal + "[strategy]\nname = \"trimmed_mean\"\ntrim_fraction = 0.5\n", kind: .invalidValue,
                    at: "strategy.trim_fraction", "must be in [0, 0.5), got 0.5")
        assertError(Self.minimal + "[evaluation]\nvalidation_fraction = 1\n", kind: .invalidValue, at: "evaluation.validation_fraction",
                    "must be in (0, 1), got 1")
        assertError(Self.minimal + "[training]\nbatch_size = 0\n", kind: .invalidValue, at: "training.batch_size", "must be in 1...4096, got 0")
        assertError(Self.minimal + "[training]\nlearning_rate = nan\n", kind: .invalidValue, at: "training.learning_rate", "must be a finite number")
        assertError(Self.minimal + "[lora]\nrank = 0\n", kind: .invalidValue, at: "lora.rank", "must be in 1...1024, got 0")
        assertError(Self.minimal.replacingOccurrences(of: "name = \"x\"", with: "name = \"x\"\nseed = -1"), kind: .invalidValue,
                    at: "seed", "must not be negative, got -1")
        assertError(Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"degrade\"\nfrom_round = 2\nto_round = 1\n", kind: .invalidValue,
                    at: "faults[0].to_round", "must be in 2...3, got 1")
        assertError(Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"lossy_link\"\nseverity = 2\n", kind: .invalidValue,
                    at: "faults[0].severity", "must be in (0, 1], got 2")
    }

    func testStrategyParametersAndKrumBounds() throws {
        let s = try parse(Self.minimal + "[strategy]\nname = \"fedadam\"\nserver_learning_rate = 0.5\nbeta1 = 0\ntau = 1e-4\n")
        XCTAssertEqual(s.strategy.kind, .fedadam)
        XCTAssertEqual(s.strategy.serverLearningRate, 0.5)
        XCTAssertEqual(s.strategy.beta1, 0)
        XCTAssertEqual(s.strategy.tau, 1e-4)
        XCTAssertEqual(try parse(Self.minimal + "[strategy]\nserver_learning_rate = 0.8\n").strategy.serverLearningRate, 0.8)
        let two = Self.minimal + "[[clients]]\nid = \"b\"\ndomain = \"d\"\ndata = \"b.jsonl\"\n"
        XCTAssertEqual(try parse(two + "[strategy]\nname = \"multi_krum\"\nbyzantine = 1\nmulti_krum_select = 2\n").strategy.multiKrumSelect, 2)
        assertError(two + "[strategy]\nname = \"krum\"\nbyzantine = 2\n", kind: .invalidValue, at: "strategy.byzantine",
                    "must be less than the number of clients (2), got 2")
        assertError(two + "[strategy]\nname = \"multi_krum\"\nmulti_krum_select = 3\n", kind: .invalidValue,
                    at: "strategy.multi_krum_select", "must be at most the number of clients (2), got 3")
        assertError(Self.minimal + "[strategy]\nname = \"fedadagrad\"\nbeta2 = 0.9\n", kind: .conflict, at: "strategy.beta2",
                    "has no effect with strategy \"fedadagrad\"", "it is read by fedadam, fedyogi")
    }

    func testUnknownNamesSuggestTheClosest() {
        assertError(Self.minimal + "[strategy]\nname = \"FedAvg\"\n", kind: .invalidValue, at: "strategy.name",
                    "unknown strategy \"FedAvg\"", "did you mean 'fedavg'?", "use one of: fedavg, fedprox")
        assertError(Self.minimal + "[lora]\ntargets = [\"q\", \"qq\"]\n", kind: .invalidValue, at: "lora.targets[1]", "unknown LoRA target 'qq'")
        assertError(Self.minimal + "[lora]\ntargets = \"q,x\"\n", kind: .invalidValue, at: "lora.targets", "unknown LoRA target 'x'")
        assertError(Self.minimal + "[[faults]]\nclient = \"a\"\nkind = \"crash\"\n", kind: .invalidValue, at: "faults[0].kind",
                    "unknown fault kind \"crash\"", "degrade, dropout, straggler, lossy_link, corrupt_update")
    }

    func testModelComputeModeParsesAndUnknownValuesNameTheKey() throws {
        func with(_ line: String) -> String { Self.minimal.replacingOccurrences(of: "path = \"tiny\"\n", with: "path = \"tiny\"\n" + line + "\n") }
        XCTAssertEqual(try parse(Self.minimal).compute, .f32)
        XCTAssertEqual(try parse(with("compute = \"int8\"")).compute, .int8)
        XCTAssertEqual(try parse(with("compute = \"f32\"")).compute, .f32)
        assertError(with("compute = \"fp16\""), kind: .invalidValue, at: "model.compute", "unknown compute mode \"fp16\"", "f32, int8")
        assertError(with("compute = 8"), kind: .wrongType, at: "model.compute", "expected string")
    }

    /// `[model] saved_activations`: absent, the compute mode's default (nil here, resolved by
    /// `LoRATrainingModel`); either value read; anything else named by file and key; and the key
    /// is part of the resume fingerprint, so a resumed run cannot change it silently.
    func testSavedActivationsParsesAndUnknownValuesNameTheKey() throws {
        func with(_ lines: String...) -> String {
            Self.minimal.replacingOccurrences(of: "path = \"tiny\"\n", with: "path = \"tiny\"\n" + lines.joined(separator: "\n") + "\n")
        }
        XCTAssertNil(try parse(Self.minimal).savedActivations)
        XCTAssertNil(try parse(with("compute = \"int8\"")).savedActivations)
        XCTAssertEqual(try parse(with("saved_activations = \"f32\"")).savedActivations, .f32)
        XCTAssertEqual(try parse(with("compute = \"int8\"", "saved_activations = \"f32\"")).savedActivations, .f32)
        XCTAssertEqual(try parse(with("saved_activations = \"bf16\"")).savedActivations, .bf16)
        assertError(with("saved_activations = \"fp16\""), kind: .invalidValue, at: "model.saved_activations",
                    "unknown saved activations precision \"fp16\"", "f32, bf16")
        assertError(with("saved_activations = 16"), kind: .wrongType, at: "model.saved_activations", "expected string")
        let fingerprints = try ["", "saved_activations = \"f32\"", "saved_activations = \"bf16\""].map {
            try ScenarioFingerprint(text: with($0), path: Self.file).hash
        }
        XCTAssertEqual(Set(fingerprints).count, 3, "each setting of the key is a different scenario for --resume")
    }

    func testLoRAValidationIsReportedUnderLora() {
        assertError(Self.minimal + "[lora]\ntargets = [\"q\", \"q_proj\"]\n", kind: .invalidValue, at: "lora", "targets lists a module twice")
        assertError(Self.minimal + "[lora]\ntargets = []\n", kind: .invalidValue, at: "lora", "targets must name at least one")
    }

    func testMissingRequiredKeys() {
        assertError("rounds = 1\n[model]\npath = \"m\"\n", kind: .missingKey, at: "name", "missing required key")
        assertError("name = \"x\"\n[model]\npath = \"m\"\n", kind: .missingKey, at: "rounds", "missing required key")
        assertError("name = \"x\"\nrounds = 1\n", kind: .missingKey, at: "model.path", "missing required key")
        assertError("name = \"x\"\nrounds = 1\n[model]\npath = \"m\"\n", kind: .missingKey, at: "clients", "the scenario has no clients")
        assertError(Self.minimal + "[[clients]]\ndomain = \"d\"\ndata = \"b\"\n", kind: .missingKey, at: "clients[1].id", "missing required key")
        assertError(Self.minimal + "[[clients]]\nid = \"b\"\ndomain = \"d\"\n", kind: .missingKey, at: "clients[1]",
                    "needs either data or partition")
        assertError(Self.minimal.replacingOccurrences(of: "data = \"a.jsonl\"", with: "data = \"\""), kind: .invalidValue,
                    at: "clients[0].data", "must not be empty")
    }

    func testDuplicateClientIDs() {
        assertError(Self.minimal + "[[clients]]\nid = \"a\"\ndomain = \"e\"\ndata = \"b.jsonl\"\n", kind: .duplicate, at: "clients[1].id",
                    "duplicate client id \"a\"", "clients[0] already has it")
        assertError(Self.minimal.replacingOccurrences(of: "id = \"a\"", with: "id = \"Hospital A\""), kind: .invalidValue,
                    at: "clients[0].id", "invalid client id \"Hospital A\"")
    }

    func testFaultClientMustExist() {
        assertError(Self.minimal + "[[faults]]\nclient = \"b\"\nkind = \"degrade\"\n", kind: .unknownReference, at: "faults[0].client",
                    "no client has id \"b\"", "clients: a")
    }

    func testDataAndPartitionConflictAndPartitionNeedsData() {
        let pooled = "[data]\npath = \"pool.jsonl\"\nclients = 2\n"
        assertError(Self.minimal.replacingOccurrences(of: "data = \"a.jsonl\"", with: "data = \"a.jsonl\"\npartition = 0"),
                    kind: .conflict, at: "clients[0]", "data and partition cannot both be given")
        assertError(Self.minimal.replacingOccurrences(of: "data = \"a.jsonl\"", with: "partition = 0"),
                    kind: .conflict, at: "clients[0].partition", "needs a [data] table to take shard 0 from")
        let twoPartitions = Self.minimal.replacingOccurrences(of: "data = \"a.jsonl\"", with: "partition = 2")
            + "[[clients]]\nid = \"b\"\ndomain = \"d\"\npartition = 0\n"
        assertError(twoPartitions + pooled, kind: .unknownReference, at: "clients[0].partition",
                    "shard 2 does not exist: 2 clients use partitions, so [data] is cut into 2 shards", "shards are numbered 0...1")
        assertError(twoPartitions.replacingOccurrences(of: "partition = 2", with: "partition = 0") + pooled, kind: .duplicate,
                    at: "clients[1].partition", "shard 0 is already used by clients[0]")
        assertError(Self.minimal.replacingOccurrences(of: "data = \"a.jsonl\"", with: "partition = 0") + pooled,
                    kind: .invalidValue, at: "data.clients", "is 2, but 1 client uses a partition, so [data] is cut into 1 shard")
        assertError(Self.minimal + pooled, kind: .conflict, at: "data", "no client uses the pooled dataset")
        assertError(Self.header + "[data]\npath = \"pool.jsonl\"\n",
                    kind: .missingKey, at: "data.clients", "missing required key")
    }

    func testKeysWithoutEffectAreErrors() {
        assertError(Self.minimal + "[strategy]\nproximal_mu = 0.1\n", kind: .conflict, at: "strategy.proximal_mu",
                    "has no effect with strategy \"fedavg\"", "it is read by fedprox")
        assertError(Self.header + "[data]\npath = \"p\"\nalpha = 0.5\nclients = 2\n",
                    kind: .conflict, at: "data.alpha", "has no effect with partitioner \"iid\"")
        assertError(Self.minimal + "[privacy]\nnoise_multiplier = 1.0\n", kind: .conflict, at: "privacy.noise_multiplier",
                    "has no effect unless differential_privacy = true")
        assertError(Self.minimal + "[training]\nsteps = 2\nepochs = 1\n", kind: .conflict, at: "training", "steps and epochs cannot both be given")
        assertError(Self.minimal + "[strategy]\nname = \"median\"\n[privacy]\nsecure_aggregation = true\n", kind: .conflict,
                    at: "privacy.secure_aggregation", "cannot be used with strategy \"median\"")
    }

    func testTOMLSyntaxErrorGivesTheLine() {
        let text = "name = \"x\"\nrounds = 3\nseed = = 4\n"
        XCTAssertThrowsError(try parse(text)) { error in
            guard let e = error as? ScenarioError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .syntax)
            XCTAssertEqual(e.line, 3)
            XCTAssertTrue(e.description.hasPrefix("scenarios/x.toml: line 3, column "), e.description)
            XCTAssertTrue(e.description.contains("invalid TOML"), e.description)
        }
        assertError(Self.minimal + "id = \"b\"\n", kind: .syntax, at: "", "line 9", "invalid TOML")
    }

    func testGeneratedClientIDsAreZeroPadded() throws {
        let s = try parse("""
            name = "x"
            rounds = 1
            [model]
            path = "m"
            [data]
            path = "p.jsonl"
            partitioner = "pathological"
            labels_per_client = 1
            clients = 3
            """)
        XCTAssertEqual(s.clients.map(\.id), ["client-01", "client-02", "client-03"])
        XCTAssertEqual(s.clients.map(\.domain), ["pooled", "pooled", "pooled"])
        XCTAssertEqual(s.pooledData?.partitioner, .pathological(field: "label", labelsPerClient: 1))
    }
}
