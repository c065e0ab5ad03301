// SCAFFOLD (Karimireddy et al. 2020, "Stochastic Controlled Averaging", Algorithm 1, option II).

/// SCAFFOLD's server: control variates c (server) and c_i (one per client) correct client drift.
///
/// Each round a participant trains with gradient g + (c − c_i) (from `instructions`) and reports
/// Δ_i and Δc_i = c_i⁺ − c_i (see `ScaffoldClient.updatedControl`); a nil Δc_i (e.g. a client that
/// ran no local step) counts as 0, i.e. c_i unchanged. The server then does, as in the paper:
///
///     global += η_g · (1/|S|) Σ_{i∈S} Δ_i        (unweighted mean over participants, not by examples)
///     c      += (1/N) Σ_{i∈S} Δc_i  = (|S|/N) · mean Δc_i
///     c_i    += Δc_i                            (the server's copy of each participant's c_i)
///
/// N is `totalClients` when given, otherwise the number of distinct clients seen so far (this
/// round included); it is never smaller than the clients seen. c and every c_i start at 0.
/// Memory: the server keeps one d-vector per client ever seen (N · d floats).
public struct ScaffoldStrategy: AggregationStrategy {
    /// Always `.scaffold`.
    public var kind: StrategyKind { .scaffold }
    /// Global (server) learning rate η_g.
    public var globalLearningRate: Float
    /// N in the control update; nil = number of distinct clients seen so far.
    public var totalClients: Int?
    /// The server control variate c (empty before the first round, meaning 0).
    public internal(set) var serverControl: [Float] = []
    /// The server's copy of each client's control variate c_i (absent = 0).
    public internal(set) var clientControls: [String: [Float]] = [:]
    /// Every client that has taken part in a round (N when `totalClients` is nil).
    public internal(set) var seenClients: Set<String> = []

    /// A SCAFFOLD server with global learning rate η_g and N = `totalClients`.
    public init(globalLearningRate: Float = 1, totalClients: Int? = nil) {
        self.globalLearningRate = globalLearningRate; self.totalClients = totalClients
    }

    /// Its state: the server control, every client's control and the clients seen so far.
    public var savedState: StrategyState {
        StrategyState(vectors: serverControl.isEmpty ? [:] : ["server_control": serverControl], clientVectors: clientControls,
                      clients: seenClients.sorted())
    }

    public mutating func restore(_ state: StrategyState, dimension: Int) throws {
        try state.check(only: ["server_control"], clients: true, strategy: kind)
        if !state.vectors.isEmpty { serverControl = try state.vector("server_control", dimension: dimension, strategy: kind) }
        for (client, c) in state.clientVectors where c.count != dimension {
            throw StrategyStateError(field: "client_control[\(client)]", reason: "has \(c.count) values, the global adapter has \(dimension)")
        }
        clientControls = state.clientVectors
        seenClients = Set(state.clients)
    }

    /// The client's correction c − c_i and the server control c (zeros before the first round).
    public func instructions(for client: String, dimension: Int) -> ClientInstructions {
        guard !serverControl.isEmpty else {
            let zeros = [Float](repeating: 0, count: dimension)
            return ClientInstructions(gradientCorrection: zeros, serverControl: zeros)
        }
        guard let ci = clientControls[client], ci.count == serverControl.count else {
            return ClientInstructions(gradientCorrection: serverControl, serverControl: serverControl)
        }
        var correction = serverControl
        let d = correction.count
        correction.withUnsafeMutableBufferPointer { cb in
            ci.withUnsafeBufferPointer { ib in
                let c = cb.baseAddress!, i = ib.baseAddress!
                for j in 0..<d { c[j] -= i[j] }
            }
        }
        return ClientInstructions(gradientCorrection: correction, serverControl: serverControl)
    }

    /// The N used for the control update after this round's participants are counted.
    public var effectiveTotalClients: Int { max(totalClients ?? 0, seenClients.count) }

    /// global += η_g · mean Δ_i; c += (1/N) Σ Δc_i; c_i += Δc_i.
    public mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome {
        try StrategyKernels.validate(global: global, updates: updates, strategy: kind)
        let d = global.count
        for u in updates {
            guard let dc = u.controlDelta else { continue }
            guard dc.count == d else {
                throw AggregationError.controlDimensionMismatch(client: u.client, expected: d, actual: dc.count)
            }
        }
        if serverControl.isEmpty {
            serverControl = [Float](repeating: 0, count: d)
        } else if serverControl.count != d {
            throw AggregationError.stateDimensionMismatch(strategy: kind, expected: serverControl.count, actual: d)
        }
        let n = updates.count
        let weights = [Double](repeating: 1 / Double(n), count: n)
        let meanDelta = StrategyKernels.weightedDelta(updates, weights: weights, dimension: d)
        let newGlobal = StrategyKernels.step(global, by: meanDelta, scale: globalLearningRate)

        // Per-client copies first, so that N counts this round's newcomers.
        for u in updates {
            seenClients.insert(u.client)
            guard let dc = u.controlDelta else { continue }
            if var ci = clientControls.removeValue(forKey: u.client), ci.count == d {
                ci.withUnsafeMutableBufferPointer { cb in
                    dc.withUnsafeBufferPointer { db in
                        let c = cb.baseAddress!, x = db.baseAddress!
                        for j in 0..<d { c[j] += x[j] }
                    }
                }
                clientControls[u.client] = ci
            } else {
                clientControls[u.client] = dc
            }
        }
        let withControl = updates.compactMap(\.controlDelta)
        if !withControl.isEmpty {
            let scale = 1 / Double(effectiveTotalClients)
            let controlStep = StrategyKernels.weightedSum(count: withControl.count, dimension: d,
                                                           weights: [Double](repeating: scale, count: withControl.count)) {
                withControl[$0]
            }
            serverControl = StrategyKernels.step(serverControl, by: controlStep, scale: 1)
        }
        return AggregationOutcome(global: newGlobal, rejected: [], weights: weightMap(updates, weights))
    }
}

/// The client side of SCAFFOLD: computing a new control variate after local training.
public enum ScaffoldClient {
    /// Option II: c_i⁺ = c_i − c + (x − y_i)/(K·η_l) = c_i − c − Δ/(K·η_l); returns (c_i⁺, c_i⁺ − c_i).
    ///
    /// `old` (c_i) and `serverControl` (c) may be empty, meaning 0; `delta` is Δ = y_i − x, the
    /// local parameters after K local steps of learning rate η_l minus the starting global x.
    public static func updatedControl(old clientControl: [Float], serverControl: [Float], delta: [Float],
                                      localSteps: Int, learningRate: Float) throws -> (control: [Float], controlDelta: [Float]) {
        let d = delta.count
        guard clientControl.isEmpty || clientControl.count == d else {
            throw AggregationError.invalidArgument("SCAFFOLD: client control has dimension \(clientControl.count), delta has \(d)")
        }
        guard serverControl.isEmpty || serverControl.count == d else {
            throw AggregationError.invalidArgument("SCAFFOLD: server control has dimension \(serverControl.count), delta has \(d)")
        }
        guard localSteps > 0 else {
            throw AggregationError.invalidArgument("SCAFFOLD: localSteps must be positive (got \(localSteps))")
        }
        guard learningRate > 0 else {
            throw AggregationError.invalidArgument("SCAFFOLD: learningRate must be positive (got \(learningRate))")
        }
        let inv = 1 / (Float(localSteps) * learningRate)
        // controlDelta = c_i⁺ − c_i = −c − Δ/(K·η_l)
        var controlDelta = [Float](repeating: 0, count: d)
        if d > 0 {
            controlDelta.withUnsafeMutableBufferPointer { ob in
                delta.withUnsafeBufferPointer { db in
                    let o = ob.baseAddress!, x = db.baseAddress!
                    for j in 0..<d { o[j] = -x[j] * inv }
                    if !serverControl.isEmpty {
                        serverControl.withUnsafeBufferPointer { sb in
                            let c = sb.baseAddress!
                            for j in 0..<d { o[j] -= c[j] }
                        }
                    }
                }
            }
        }
        let control = clientControl.isEmpty ? controlDelta : StrategyKernels.step(clientControl, by: controlDelta, scale: 1)
        return (control, controlDelta)
    }
}
