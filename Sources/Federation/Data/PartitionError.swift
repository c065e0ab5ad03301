/// Why a pooled dataset could not be split among clients.
public enum PartitionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `clients` is not allowed for this partitioner (must be ≥ 1; `natural` also takes 0).
    case invalidClientCount(partitioner: String, clients: Int)
    /// A partitioner parameter is out of range (alpha ≤ 0, labelsPerClient < 1, ...).
    case invalidParameter(partitioner: String, message: String)
    /// Fewer examples than the partitioner needs to give each client its minimum.
    case tooFewExamples(partitioner: String, examples: Int, clients: Int, minimumPerClient: Int)
    /// Some examples lack the field the partitioner splits on.
    case missingField(partitioner: String, field: String, missing: Int, total: Int, firstIndex: Int)
    /// `natural`: the client count does not match the number of distinct values of the field.
    case clientCountMismatch(field: String, values: [String], clients: Int)
    /// `pathological`: clients × labelsPerClient cannot cover every label, so examples would be lost.
    case labelsNotCovered(field: String, labels: Int, clients: Int, labelsPerClient: Int)
    /// `pathological`: a client ended up with fewer than 2 examples.
    case clientTooSmall(partitioner: String, client: Int, examples: Int)

    public var description: String {
        switch self {
        case let .invalidClientCount(p, clients):
            return "partitioner \(p): invalid client count \(clients) (need at least 1\(p == "natural" ? ", or 0 for one client per value" : ""))"
        case let .invalidParameter(p, message):
            return "partitioner \(p): \(message)"
        case let .tooFewExamples(p, examples, clients, minimum):
            return "partitioner \(p): too few examples: \(examples) examples for \(clients) clients (each client needs at least \(minimum), so at least \(clients * minimum))"
        case let .missingField(p, field, missing, total, first):
            return "partitioner \(p): \(missing) of \(total) examples have no field \"\(field)\" (first is example \(first + 1))"
        case let .clientCountMismatch(field, values, clients):
            return "partitioner natural: field \"\(field)\" has \(values.count) distinct values (\(values.joined(separator: ", "))) but the scenario asks for \(clients) clients; use \(values.count) or 0"
        case let .labelsNotCovered(field, labels, clients, perClient):
            return "partitioner pathological: \(clients) clients × \(perClient) labels each cover at most \(clients * perClient) of the \(labels) values of field \"\(field)\"; examples would be left out"
        case let .clientTooSmall(p, client, examples):
            return "partitioner \(p): client \(client) would get only \(examples) example(s) (at least 2 needed); add examples or use fewer clients"
        }
    }
}
