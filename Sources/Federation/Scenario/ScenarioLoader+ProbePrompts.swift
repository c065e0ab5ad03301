// Probe prompts: operator-written, public prompts whose continuation by the global model the
// dashboard shows in a client's detail view. A client's `probe_prompt` wins over its domain's
// entry in `[probe_prompts]`.

extension ScenarioParser {
    /// The longest probe prompt accepted, in characters (generation needs room after it).
    static let maximumProbePromptLength = 1_000

    /// A probe prompt at `key` of `t`: a non-empty string of at most `maximumProbePromptLength` characters.
    func probePrompt(_ t: ScenarioTableReader, key: String) throws -> String? {
        guard let prompt = try t.nonEmptyString(key) else { return nil }
        if prompt.count > Self.maximumProbePromptLength {
            throw t.error(key, .invalidValue, "is \(prompt.count) characters long, at most \(Self.maximumProbePromptLength) are allowed",
                          hint: "a probe prompt is the opening of a short text from the client's domain, e.g. \"Discharge summary:\"")
        }
        return prompt
    }

    /// `[probe_prompts]`: domain = "prompt". Fills in the prompt of every client of that domain that has
    /// none of its own; a domain that no client has is an error (a typo would otherwise go unnoticed).
    func applyDomainProbePrompts(_ t: ScenarioTableReader?, to clients: inout [ClientSpec]) throws {
        guard let t else { return }
        for domain in try domainKeys(t, clients: clients) {
            guard let prompt = try probePrompt(t, key: domain) else { continue }
            for i in clients.indices where clients[i].domain == domain && clients[i].probePrompt == nil {
                clients[i].probePrompt = prompt
            }
        }
    }
}
