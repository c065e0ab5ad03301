import Foundation
import SecureAggregation
import TensorMath

/// What one secure-aggregation round gave the coordinator: a mean, never an individual update.
struct SecureMean {
    /// Σ wᵢ (clip(Δᵢ) + noise) / Σ wᵢ over the clients whose masked input is in the sum.
    var mean: [Float]
    /// Clients in the sum.
    var included: [String]
    /// Adaptive clipping: the noised fraction of updates within the clip norm.
    var clippedFraction: Double?
    var summary: SecureAggregationSummary
}

extension Coordinator {
    /// Runs SecAgg+ over the clients that finished local training (each holds its update back),
    /// relaying every message through the transport. Returns the weighted mean of the included
    /// clients' prepared updates, or throws (the round then fails and the global adapter stays).
    /// Clients that drop at any phase get `.dropped` in `metrics`.
    func secureAggregate(round: Int, participants: [ClientUpdate], metrics: inout [String: ClientRoundMetrics],
                         rng: inout SeededRandom) throws -> SecureMean {
        let began = Date()
        let names = participants.map(\.client)
        let m = names.count
        let settings = privacy
        let d = global.values.count
        guard m >= 2 else { throw SecureAggregationRoundError.tooFewClients(m) }

        let parameters: SecAggParameters
        if let k = settings.secureAggregationDegree, let t = settings.secureAggregationThreshold {
            parameters = try SecAggParameters.fixed(clientCount: m, degree: k, threshold: t, dropoutRate: settings.expectedDropout,
                                                    target: settings.failureTarget)
        } else {
            parameters = try SecAggParameters.choose(clientCount: m, dropoutRate: settings.expectedDropout, target: settings.failureTarget)
        }

        // Weights, clipping and noise shares: with DP every client weighs 1/m and adds its share
        // N(0, (σ_Δ C)²/m) before weighting, so the sum carries N(0, (σ_Δ C)²)/m like central DP.
        let dp = settings.differentialPrivacy && settings.noiseMultiplier > 0
        let totalExamples = participants.reduce(0) { $0 + max(1, $1.exampleCount) }
        func weight(_ u: ClientUpdate) -> Float { dp ? 1 / Float(m) : Float(max(1, u.exampleCount)) / Float(totalExamples) }
        let clip = settings.differentialPrivacy ? Float(clipNorm) : 0
        let noiseStd = dp ? Float(updateNoiseMultiplier * clipNorm / (Double(m) * Double(m).squareRoot())) : 0
        let counting = settings.differentialPrivacy && settings.adaptiveClipping
        let countWeight: Float = counting ? 1 / Float(m) : 0
        let countNoise: Float = counting ? Float(countNoiseStd / (Double(m) * Double(m).squareRoot())) : 0
        // Fixed-point range per coordinate: the largest weighted, clipped value plus 6σ of noise.
        let maxWeight = participants.map(weight).max() ?? 1
        let bound = max(maxWeight * (clip > 0 ? clip : Float(settings.quantizationBound)) + 6 * noiseStd,
                        maxWeight, countWeight + 6 * countNoise)
        let preparation = { (u: ClientUpdate) in
            UpdatePreparation(weight: weight(u), clipNorm: clip, noiseStd: noiseStd, countWeight: countWeight, countNoiseStd: countNoise)
        }
        let length = preparation(participants[0]).vectorLength(dimension: d)
        let config = try SecAggConfig(round: UInt64(round), clientCount: m, dimension: length, degree: parameters.degree,
                                      threshold: parameters.threshold, graphSeed: rng.next(), clipBound: bound)
        let server = SecAggServer(config: config, threads: ComputeThreads.blas) { [sink] event in
            sink(.keyAudit(round: round, actor: "coordinator", event: event.name, fields: event.fields))
        }

        var summary = SecureAggregationSummary(
            round: round, clients: names, degree: config.degree, threshold: config.threshold,
            chosenAutomatically: parameters.chosenAutomatically, failureProbability: parameters.failureProbability,
            quantizationBound: Double(bound), quantizationStep: config.quantization.step)
        var active = Array(0..<m)
        /// One phase: relay a request to each active client, hand its answer to the server.
        func phase(_ name: String, _ request: (Int) -> SecureAggregationRequest?, _ deliver: (Int, [UInt8]) throws -> Void) {
            sink(.phase(round: round, .secureAggregation))
            var still: [Int] = []
            for i in active {
                let client = names[i]
                if settings.phaseDropProbability > 0, Double(rng.uniform()) < settings.phaseDropProbability {
                    summary.dropped[name, default: []].append(client)
                    continue
                }
                guard let req = request(i) else { summary.dropped[name, default: []].append(client); continue }
                let encoded = req.encoded()
                do {
                    let answer = try transport.secureAggregation(client: client, message: encoded)
                    metrics[client]?.bytesDown += encoded.count
                    metrics[client]?.bytesUp += answer.count
                    summary.bytesDown += encoded.count
                    summary.bytesUp += answer.count
                    try deliver(i, Array(answer))
                    still.append(i)
                } catch {
                    summary.dropped[name, default: []].append(client)
                    sink(.alert(Alert(round: round, client: client, severity: .warning,
                                      reason: "dropped out of secure aggregation (\(name)): \(error)")))
                }
            }
            active = still
        }
        func timed<T>(_ body: () throws -> T) rethrows -> T {
            let t0 = Date()
            defer { summary.serverSeconds += Date().timeIntervalSince(t0) }
            return try body()
        }

        do {
            phase("advertise_keys", { i in
                SecureAggregationRequest(round: round, step: .begin, clientIndex: UInt32(i), preparation: preparation(participants[i]),
                                         body: config.encoded())
            }) { _, bytes in try timed { try server.receive(AdvertiseKeysMessage(encoded: bytes)) } }
            let directories: [Int: KeyDirectory] = Dictionary(uniqueKeysWithValues: try timed { try server.closeAdvertiseKeys() }.map { (Int($0.recipient), $0) })
            phase("share_keys", { i in
                directories[i].map { SecureAggregationRequest(round: round, step: .keyDirectory, body: $0.encoded()) }
            }) { _, bytes in try timed { try server.receive(ShareKeysMessage(encoded: bytes)) } }
            let relays: [Int: ShareRelay] = Dictionary(uniqueKeysWithValues: try timed { try server.closeShareKeys() }.map { (Int($0.recipient), $0) })
            phase("masked_input", { i in
                relays[i].map { SecureAggregationRequest(round: round, step: .shareRelay, body: $0.encoded()) }
            }) { _, bytes in try timed { try server.receive(MaskedInputMessage(encoded: bytes)) } }
            let unmask = try timed { try server.closeMaskedInput() }
            let survivors = Set(unmask.survivors.map(Int.init))
            active = active.filter { survivors.contains($0) }
            phase("unmask", { _ in SecureAggregationRequest(round: round, step: .unmaskRequest, body: unmask.encoded()) }) { _, bytes in
                try timed { try server.receive(UnmaskResponse(encoded: bytes)) }
            }
            let sum = try timed { try server.finish() }
            let values = sum.doubleValues
            let included = sum.survivors.map { names[Int($0)] }
            for c in names where !included.contains(c) { metrics[c]?.status = .dropped }
            let totalWeight = values[d]
            guard totalWeight > 0 else { throw SecureAggregationRoundError.emptySum }
            summary.included = included
            summary.wallSeconds = Date().timeIntervalSince(began)
            sink(.secureAggregation(summary))
            var mean = [Float](repeating: 0, count: d)
            for j in 0..<d { mean[j] = Float(values[j] / totalWeight) }
            return SecureMean(mean: mean, included: included, clippedFraction: counting ? values[d + 1] : nil, summary: summary)
        } catch {
            for clients in summary.dropped.values { for c in clients { metrics[c]?.status = .dropped } }
            summary.aborted = "\(error)"
            summary.wallSeconds = Date().timeIntervalSince(began)
            sink(.secureAggregation(summary))
            throw error
        }
    }
}

enum SecureAggregationRoundError: Error, CustomStringConvertible {
    case tooFewClients(Int)
    case emptySum
    var description: String {
        switch self {
        case .tooFewClients(let n): return "secure aggregation needs at least 2 clients with updates, got \(n)"
        case .emptySum: return "secure aggregation produced a sum with zero total weight"
        }
    }
}
