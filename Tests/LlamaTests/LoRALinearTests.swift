import Foundation
import TensorMath
import XCTest
@testable import Llama

/// `LoRALinear` at training batch sizes: the adapter's share of the forward output, of the
/// input gradient and its parameter gradients against a double-precision reference, on both
/// frozen paths (F32 and int8, whose adapter term runs inside the int8 product's work items),
/// with rows that give the backward two items, several 64-row chunks and a partial one.
final class LoRALinearTests: XCTestCase {
    static let config = LlamaConfig(vocabSize: 67, hiddenSize: 64, intermediateSize: 96, layerCount: 1, headCount: 4,
                                    kvHeadCount: 2, rmsNormEps: 1e-5, ropeTheta: 10_000, maxPositions: 64)

    func testAdapterTermsMatchADoubleReference() throws {
        let c = Self.config
        let int8 = try LlamaModel(config: c, weights: .random(c, seed: 3)).quantizedToQ8_0()
        let f32 = try LlamaModel(config: c, weights: int8.weights, gemm: .packed)
        let adapter = try LoRAAdapter(zerosFor: c, config: LoRAConfig(rank: 4, alpha: 8, targets: [.gate, .down]))
        var rng = SeededRandom(seed: 11)
        let params = adapter.values.map { _ in rng.normal() * 0.3 }
        for (model, name) in [(f32, "f32"), (int8, "int8")] {
            for target in [LoRATarget.gate, .down] {
                let slot = try XCTUnwrap(adapter.slot(layer: 0, target: target))
                for (n, masked) in [(300, false), (300, true), (37, false)] {
                    check(model, slot: slot, params: params, rows: n, masked: masked, rng: &rng,
                          label: "\(name) \(target.rawValue) n=\(n)\(masked ? " masked" : "")")
                }
            }
        }
    }

    private func check(_ model: LlamaModel, slot s: LoRASlot, params: [Float], rows n: Int, masked: Bool,
                       rng: inout SeededRandom, label: String) {
        let (inF, outF, r) = (s.input, s.output, s.rank)
        let scale: Float = 2
        let x = (0..<(n * inF)).map { _ in rng.normal() }
        let mask: [Float]? = masked ? (0..<(n * inF)).map { _ in rng.uniform() < 0.25 ? 0 : 4 / 3 } : nil
        let loraX = mask.map { m in zip(x, m).map { $0 * $1 } } ?? x
        let dOut = (0..<(n * outF)).map { _ in rng.normal() }
        let a = Array(params[s.aOffset..<(s.aOffset + r * inF)]), b = Array(params[s.bOffset..<(s.bOffset + outF * r)])

        // Double reference: u = x'·Aᵀ, term = scale·u·Bᵀ, t = dOut·B, dB = scale·dOutᵀ·u,
        // dA = scale·tᵀ·x', dX term = scale·(t·A) ⊙ mask.
        func dot(_ count: Int, _ f: (Int) -> Double) -> Double { (0..<count).reduce(0) { $0 + f($1) } }
        let u = (0..<(n * r)).map { e in dot(inF) { Double(loraX[e / r * inF + $0]) * Double(a[e % r * inF + $0]) } }
        let t = (0..<(n * r)).map { e in dot(outF) { Double(dOut[e / r * outF + $0]) * Double(b[$0 * r + e % r]) } }
        let term = (0..<(n * outF)).map { e in Double(scale) * dot(r) { u[e / outF * r + $0] * Double(b[e % outF * r + $0]) } }
        let dB = (0..<(outF * r)).map { e in Double(scale) * dot(n) { Double(dOut[$0 * outF + e / r]) * u[$0 * r + e % r] } }
        let dA = (0..<(r * inF)).map { e in Double(scale) * dot(n) { t[$0 * r + e / inF] * Double(loraX[$0 * inF + e % inF]) } }
        let dXTerm = (0..<(n * inF)).map { e in
            Double(scale) * dot(r) { t[e / inF * r + $0] * Double(a[$0 * inF + e % inF]) } * Double(mask?[e] ?? 1)
        }

        var out = [Float](repeating: 0, count: n * outF), frozenOut = out
        var uBuf = [Float](repeating: 0, count: n * r), tBuf = uBuf
        var dX = [Float](repeating: 0, count: n * inF), frozenDX = dX, scratch = dX
        var grads = [Float](repeating: 0, count: params.count)
        let id = FrozenWeightID.layer(0, s.target)
        x.withUnsafeBufferPointer { xp in
            loraX.withUnsafeBufferPointer { lp in
                params.withUnsafeBufferPointer { pp in
                    LoRALinear.forward(input: xp.baseAddress!, loraInput: lp.baseAddress!, n: n, base: model, weight: id,
                                       slot: s, scale: scale, params: pp.baseAddress!, u: &uBuf, out: &out)
                    model.frozenForward(id, xp.baseAddress!, rows: n, out: &frozenOut)
                    dOut.withUnsafeBufferPointer { dp in
                        let m = UnsafeMutablePointer<Float>.allocate(capacity: n * inF)
                        defer { m.deallocate() }
                        if let mask { m.initialize(from: mask, count: n * inF) }
                        uBuf.withUnsafeBufferPointer { up in
                            LoRALinear.backward(dOut: dp.baseAddress!, loraInput: lp.baseAddress!, n: n, base: model,
                                                weight: id, slot: s, scale: scale, params: pp.baseAddress!, grads: &grads,
                                                u: up.baseAddress!, dInput: &dX, accumulate: false, t: &tBuf,
                                                dropoutMask: mask == nil ? nil : UnsafePointer(m), loraScratch: &scratch)
                        }
                        model.frozenBackward(id, dp.baseAddress!, rows: n, dInput: &frozenDX)
                    }
                }
            }
        }
        func worst(_ got: [Float], _ want: [Double]) -> Double {
            let norm = want.map(abs).max()!
            return zip(got, want).map { abs(Double($0) - $1) }.max()! / norm
        }
        let errors = [
            ("forward term", worst(zip(out, frozenOut).map { $0 - $1 }, term)),
            ("dInput term", worst(zip(dX, frozenDX).map { $0 - $1 }, dXTerm)),
            ("dA", worst(Array(grads[s.aOffset..<(s.aOffset + r * inF)]), dA)),
            ("dB", worst(Array(grads[s.bOffset..<(s.bOffset + outF * r)]), dB)),
            ("u", worst(uBuf, u)),
        ]
        for (what, e) in errors { XCTAssertLessThan(e, 1e-5, "\(label): \(what), worst error \(e) of the largest") }
    }
}
