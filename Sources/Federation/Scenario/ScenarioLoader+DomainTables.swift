// Tables keyed by client domain ([label_prompts], [probe_prompts]): every key must be a domain
// that some client has, or a typo would go unnoticed.

extension ScenarioParser {
    /// The keys of `t`, sorted; throws at the first key that no client's domain matches, naming
    /// the nearest domain and listing them all.
    func domainKeys(_ t: ScenarioTableReader, clients: [ClientSpec]) throws -> [String] {
        let domains = Array(Set(clients.map(\.domain))).sorted()
        let keys = t.toml.keys.sorted()
        for domain in keys where !domains.contains(domain) {
            var hint = ""
            if let near = ScenarioTableReader.closest(to: domain, in: domains) { hint = "did you mean '\(near)'? " }
            throw t.error(domain, .unknownReference, "no client has domain \"\(domain)\"",
                          hint: hint + "the clients' domains: " + domains.joined(separator: ", "))
        }
        return keys
    }
}
