import Foundation
import Llama

extension Coordinator {
    /// Applies `.sample(client:)`: publishes a `sample` event with the greedy continuation of
    /// the client's probe prompt by the base model with the current global adapter (unmerged).
    /// Runs at a step boundary like every command. Returns false (the command had no effect)
    /// when the client is unknown, has no probe prompt, or generation fails.
    func generateSample(client: String) -> Bool {
        guard let spec = clientSpecs.first(where: { $0.id == client }), let prompt = spec.probePrompt,
              let encoding = probeEncoding else { return false }
        let began = Date()
        do {
            let text = try ProbeGeneration.greedy(model: base, adapter: global, encoding: encoding, prompt: prompt)
            sink(.sample(round: completedRounds, client: client, prompt: prompt, text: text,
                         seconds: Date().timeIntervalSince(began)))
            return true
        } catch {
            sink(.alert(Alert(round: completedRounds, client: nil, severity: .info,
                              reason: "no sample for \(client): \(error)")))
            return false
        }
    }
}
