import TensorMath
import XCTest
@testable import Llama

/// Central finite differences of the training loss (step 1e-2) against the analytic LoRA
/// gradient at `samples` random coordinates drawn from `rng`. Fails where they differ by more
/// than 2% (or 2e-4 absolute near zero); returns the worst relative error.
@discardableResult
func checkLoRAFiniteDifferences(_ trainer: LoRATrainingModel, _ adapter: LoRAAdapter, gradient: LoRAAdapter, batch: TrainingBatch,
                                samples: Int, rng: inout SeededRandom,
                                file: StaticString = #filePath, line: UInt = #line) -> Double {
    var worst = 0.0
    for _ in 0..<samples {
        let i = Int(rng.next() % UInt64(adapter.values.count))
        let h: Float = 1e-2
        var plus = adapter, minus = adapter
        plus.values[i] += h
        minus.values[i] -= h
        let numeric = (trainer.lossAndGradient(plus, batch: batch).loss - trainer.lossAndGradient(minus, batch: batch).loss) / Double(2 * h)
        let analytic = Double(gradient.values[i])
        worst = max(worst, abs(numeric - analytic) / max(abs(numeric), 1e-2))
        XCTAssertTrue(abs(numeric - analytic) <= max(0.02 * abs(numeric), 2e-4),
                      "param \(i): analytic \(analytic), numeric \(numeric)", file: file, line: line)
    }
    return worst
}

/// An adapter of `model` holding the A/B values of `make_golden.py`'s `lora_init_values`, which the
/// PEFT gradient fixtures were computed with (a smooth pattern per target and layer, B non-zero).
func goldenLoRAAdapter(for model: LlamaConfig, config lora: LoRAConfig) throws -> LoRAAdapter {
    var adapter = try LoRAAdapter(zerosFor: model, config: lora)
    for s in adapter.slots {
        let t = Double(LoRATarget.allCases.firstIndex(of: s.target)!), l = Double(s.layer)
        for i in 0..<s.aCount { adapter.values[s.aOffset + i] = Float(0.02 * sin(0.1 * Double(i) + l + 0.5 * t)) }
        for i in 0..<s.bCount { adapter.values[s.bOffset + i] = Float(0.01 * cos(0.07 * Double(i) + l + 0.3 * t)) }
    }
    return adapter
}

/// ‖got − reference‖ / ‖reference‖ in double precision: how the PEFT gradient checks compare a
/// LoRA gradient tensor with PEFT's.
func relativeL2Error(_ got: ArraySlice<Float>, _ reference: [Float]) -> Double {
    precondition(got.count == reference.count, "\(got.count) values against \(reference.count)")
    var diff = 0.0, norm = 0.0
    for (g, r) in zip(got, reference) {
        let (g, r) = (Double(g), Double(r))
        diff += (g - r) * (g - r)
        norm += r * r
    }
    return (diff / max(norm, 1e-30)).squareRoot()
}
