import Foundation
import SecureAggregation

/// A client's side of secure aggregation in one round: the update it kept back from its reply,
/// then the SecAgg+ session that masks it. Only this type ever holds the plain update.
final class SecureAggregationClientState: @unchecked Sendable {
    let lock = NSLock()
    var kept: (round: Int, delta: [Float])?
    var session: (round: Int, client: SecAggClient, vector: [Float])?
}

public enum SecureAggregationClientError: Error, CustomStringConvertible, Equatable {
    case noUpdate(client: String, round: Int)
    case noSession(client: String, round: Int, step: String)
    case mismatch(client: String, String)
    public var description: String {
        switch self {
        case let .noUpdate(c, r): return "client \(c) holds no update for round \(r) to aggregate securely"
        case let .noSession(c, r, step): return "client \(c) got \(step) for round \(r) without a secure-aggregation session"
        case let .mismatch(c, what): return "client \(c): \(what)"
        }
    }
}

extension ClientWorker {
    /// Keeps this round's delta for secure aggregation (called instead of sending it).
    func keepForSecureAggregation(round: Int, delta: [Float]) {
        secure.lock.lock()
        defer { secure.lock.unlock() }
        secure.kept = (round, delta)
        secure.session = nil
    }

    public func handle(secureAggregation message: Data) throws -> Data {
        let request = try SecureAggregationRequest(decoding: message)
        secure.lock.lock()
        defer { secure.lock.unlock() }
        let round = request.round
        if request.step == .begin {
            guard let kept = secure.kept, kept.round == round else { throw SecureAggregationClientError.noUpdate(client: spec.id, round: round) }
            let config = try SecAggConfig(encoded: request.body)
            let length = request.preparation.vectorLength(dimension: kept.delta.count)
            guard config.round == UInt64(round), config.dimension == length else {
                throw SecureAggregationClientError.mismatch(
                    client: spec.id, "the round's settings (round \(config.round), \(config.dimension) values) do not fit its update (round \(round), \(length) values)")
            }
            let client = try SecAggClient(id: request.clientIndex, config: config, threads: 1, audit: secureAudit)
            secure.session = (round, client, Self.prepare(kept.delta, request.preparation))
            return Data(try client.advertiseKeys().encoded())
        }
        guard let session = secure.session, session.round == round else {
            throw SecureAggregationClientError.noSession(client: spec.id, round: round, step: "\(request.step)")
        }
        switch request.step {
        case .begin:
            preconditionFailure("handled above")
        case .keyDirectory:
            return Data(try session.client.shareKeys(KeyDirectory(encoded: request.body)).encoded())
        case .shareRelay:
            let seed = UInt64.random(in: .min ... .max)
            let masked = try session.client.maskedInput(ShareRelay(encoded: request.body), update: PlainUpdate(session.vector),
                                                        roundingSeed: seed)
            secure.kept = nil   // submitted: nothing plain is kept past this point but the session's vector
            secure.session = (round, session.client, [])
            return Data(masked.encoded())
        case .unmaskRequest:
            let response = try session.client.unmask(UnmaskRequest(encoded: request.body))
            secure.session = nil
            return Data(response.encoded())
        }
    }

    /// `[w·clip(Δ) + noise, w, (w_c·1[‖Δ‖ ≤ C] + noise)]`; noise from `SecureNoise`.
    static func prepare(_ delta: [Float], _ p: UpdatePreparation) -> [Float] {
        let norm = UpdateGeometry.norm(delta)
        let clip = Double(p.clipNorm)
        let factor = Float(clip > 0 && norm > clip ? clip / norm : 1) * p.weight
        var out = [Float](repeating: 0, count: p.vectorLength(dimension: delta.count))
        if p.noiseStd > 0 {
            let noise = SecureNoise.gaussian(count: delta.count, std: Double(p.noiseStd))
            for i in delta.indices { out[i] = delta[i] * factor + Float(noise[i]) }
        } else {
            for i in delta.indices { out[i] = delta[i] * factor }
        }
        out[delta.count] = p.weight
        if p.countWeight > 0 {
            let below: Float = clip > 0 && norm > clip ? 0 : 1
            let noise = p.countNoiseStd > 0 ? Float(SecureNoise.gaussian(count: 1, std: Double(p.countNoiseStd))[0]) : 0
            out[delta.count + 1] = p.countWeight * below + noise
        }
        return out
    }
}
