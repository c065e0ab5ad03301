import Foundation
import Privacy

// The saved form of a `ServerState`, versioned:
//
//     "FPSS"                      4 bytes, magic
//     version                     UInt32 little-endian (1)
//     header length               UInt32 little-endian
//     header                      JSON (sorted keys): every scalar field, and the list of vectors that follow
//     vectors                     Float32 little-endian, in the header's order, back to back
//
// Vectors are raw floats so that a restored state is bit-for-bit the saved one.

extension ServerState {
    /// The format version this build writes (and the newest it reads).
    public static let formatVersion: UInt32 = 1
    static let magic = Data("FPSS".utf8)

    struct VectorEntry: Codable, Equatable {
        /// A server vector's name, or `client_control` for a per-client one.
        var name: String
        var client: String?
        var count: Int
    }

    struct Header: Codable {
        var round: Int
        var strategy: String
        var accountant: RDPAccountant
        var roundsWithoutDP: [Int]
        var privacy: OperatorPrivacy
        var excluded: [String]
        var baseEval: [String: Double]
        var baseGlobalEval: Double?
        var qualityFalls: [String: Int]
        var bestLocalLoss: [String: Double]
        /// Absent in journals written before the relative detector.
        var alertHistory: [String: [SignalSample]]?
        /// Absent in states saved before task accuracy existed.
        var lastTaskAccuracy: [String: Double]?
        var taskAccuracyFalls: [String: Int]?
        /// Absent in states saved before the accuracy rule read the whole run of falls.
        var taskAccuracyBeforeFalls: [String: Double]?
        var strategyClients: [String]
        var vectors: [VectorEntry]
    }

    /// The saved bytes.
    public func encoded() throws -> Data {
        var entries: [VectorEntry] = []
        var floats: [[Float]] = []
        for name in strategyState.vectors.keys.sorted() {
            entries.append(VectorEntry(name: name, client: nil, count: strategyState.vectors[name]!.count))
            floats.append(strategyState.vectors[name]!)
        }
        for client in strategyState.clientVectors.keys.sorted() {
            entries.append(VectorEntry(name: "client_control", client: client, count: strategyState.clientVectors[client]!.count))
            floats.append(strategyState.clientVectors[client]!)
        }
        let header = Header(round: round, strategy: strategy.rawValue, accountant: accountant,
                            roundsWithoutDP: roundsWithoutDP, privacy: privacy, excluded: excluded,
                            baseEval: baseEval, baseGlobalEval: baseGlobalEval, qualityFalls: qualityFalls,
                            bestLocalLoss: bestLocalLoss, alertHistory: alertHistory, lastTaskAccuracy: lastTaskAccuracy,
                            taskAccuracyFalls: taskAccuracyFalls, taskAccuracyBeforeFalls: taskAccuracyBeforeFalls,
                            strategyClients: strategyState.clients, vectors: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = try encoder.encode(header)
        var out = Self.magic
        Self.append(Self.formatVersion, to: &out)
        Self.append(UInt32(json.count), to: &out)
        out.append(json)
        for v in floats {
            v.withUnsafeBufferPointer { p in
                for x in p { Self.append(x.bitPattern, to: &out) }
            }
        }
        return out
    }

    /// Reads saved bytes; a `ServerStateError` names the field that is wrong.
    public init(encoded data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 12, Data(bytes[0..<4]) == Self.magic else {
            throw ServerStateError(field: "magic", reason: "not a FedPilot server state (\(bytes.count) bytes, no FPSS header)")
        }
        let version = Self.uint32(bytes, at: 4)
        guard version >= 1, version <= Self.formatVersion else {
            throw ServerStateError(field: "version", reason: "format version \(version); this build reads 1...\(Self.formatVersion)")
        }
        let length = Int(Self.uint32(bytes, at: 8))
        guard 12 + length <= bytes.count else {
            throw ServerStateError(field: "header", reason: "claims \(length) bytes, only \(bytes.count - 12) follow")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let header: Header
        do { header = try decoder.decode(Header.self, from: Data(bytes[12..<(12 + length)])) } catch let e as DecodingError {
            throw Self.describe(e)
        } catch {
            throw ServerStateError(field: "header", reason: "\(error)")
        }
        guard let kind = StrategyKind(rawValue: header.strategy) else {
            throw ServerStateError(field: "strategy", reason: "unknown strategy \"\(header.strategy)\"")
        }
        if let r = header.roundsWithoutDP.first(where: { $0 < 1 || $0 > header.round }) {
            throw ServerStateError(field: "roundsWithoutDP", reason: "round \(r) is outside 1...\(header.round)")
        }
        var offset = 12 + length
        var state = StrategyState(clients: header.strategyClients)
        for (i, entry) in header.vectors.enumerated() {
            let field = entry.client.map { "client_control[\($0)]" } ?? entry.name
            guard entry.count >= 0, entry.count <= (bytes.count - offset) / 4 else {
                throw ServerStateError(field: "vectors[\(i)] (\(field))",
                                       reason: "needs \(entry.count) floats, only \((bytes.count - offset) / 4) remain")
            }
            var v = [Float](repeating: 0, count: entry.count)
            for j in 0..<entry.count { v[j] = Float(bitPattern: Self.uint32(bytes, at: offset + 4 * j)) }
            offset += 4 * entry.count
            if let client = entry.client {
                guard entry.name == "client_control" else {
                    throw ServerStateError(field: "vectors[\(i)]", reason: "a per-client vector must be named client_control, not \(entry.name)")
                }
                guard state.clientVectors.updateValue(v, forKey: client) == nil else {
                    throw ServerStateError(field: "vectors[\(i)] (\(field))", reason: "appears twice")
                }
            } else {
                guard state.vectors.updateValue(v, forKey: entry.name) == nil else {
                    throw ServerStateError(field: "vectors[\(i)] (\(field))", reason: "appears twice")
                }
            }
        }
        guard offset == bytes.count else {
            throw ServerStateError(field: "vectors", reason: "\(bytes.count - offset) bytes left over after the last vector")
        }
        self.init(round: header.round, strategy: kind, strategyState: state, accountant: header.accountant,
                  roundsWithoutDP: header.roundsWithoutDP, privacy: header.privacy, excluded: header.excluded,
                  baseEval: header.baseEval, baseGlobalEval: header.baseGlobalEval, qualityFalls: header.qualityFalls,
                  bestLocalLoss: header.bestLocalLoss, alertHistory: header.alertHistory ?? [:])
        lastTaskAccuracy = header.lastTaskAccuracy ?? [:]
        taskAccuracyFalls = header.taskAccuracyFalls ?? [:]
        taskAccuracyBeforeFalls = header.taskAccuracyBeforeFalls ?? [:]
    }

    static func append(_ x: UInt32, to out: inout Data) {
        withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
    }

    static func uint32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// A decoding error as the dotted path of the field and what is wrong with it.
    static func describe(_ error: DecodingError) -> ServerStateError {
        func path(_ keys: [any CodingKey]) -> String {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : (p.isEmpty ? "header" : p)
        }
        switch error {
        case .keyNotFound(let key, let context):
            return ServerStateError(field: path(context.codingPath + [key]), reason: "missing")
        case .typeMismatch(let type, let context):
            return ServerStateError(field: path(context.codingPath), reason: "expected \(type)")
        case .valueNotFound(let type, let context):
            return ServerStateError(field: path(context.codingPath), reason: "expected \(type), found null")
        case .dataCorrupted(let context):
            return ServerStateError(field: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return ServerStateError(field: "header", reason: "\(error)")
        }
    }
}
