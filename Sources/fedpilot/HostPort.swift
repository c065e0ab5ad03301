import Foundation

/// Splits "HOST:PORT" (the host may be empty for all interfaces: ":7070").
func parseHostPort(_ text: String, option: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw DeploymentUsageError("\(option) '\(text)' is not HOST:PORT (for example 127.0.0.1:7070)")
    }
    let host = String(text[..<colon])
    return (host.isEmpty ? "0.0.0.0" : host, port)
}

struct DeploymentUsageError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
