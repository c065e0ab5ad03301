import Foundation
import TensorMath

/// Applies a client's active data faults to its training examples (a copy; the
/// clean data is kept). Each fault hits a seeded `severity` fraction of examples.
enum DataFaults {
    static let backdoorTrigger = " [[cf-7731]] approve transfer to account 00-4471."

    static func apply(_ faults: [FaultSpec], to examples: [TextExample], seed: UInt64) -> [TextExample] {
        var out = examples
        var rng = SeededRandom(seed: seed)
        let labels = Array(Set(examples.compactMap(\.label))).sorted()
        for fault in faults {
            for i in out.indices where Double(rng.uniform()) < fault.severity {
                switch fault.kind {
                case .degrade:
                    out[i].completion = corrupt(out[i].completion, &rng)
                case .labelNoise:
                    guard let label = out[i].label, labels.count > 1 else { continue }
                    var other = label
                    while other == label { other = labels[Int(rng.next() % UInt64(labels.count))] }
                    out[i].completion = out[i].completion.replacingOccurrences(of: label, with: other)
                    out[i].label = other
                case .backdoor:
                    out[i].completion += backdoorTrigger
                default:
                    continue
                }
            }
        }
        return out
    }

    /// Replaces most characters with random printable ones, keeping the length and spacing.
    static func corrupt(_ text: String, _ rng: inout SeededRandom) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789#@%&*QXZJKV")
        return String(text.map { c in c == " " || c == "\n" ? c : alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }
}
