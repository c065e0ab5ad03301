import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The real model against transformers (`scripts/make_golden.py`): for every
/// fixture prompt, top-5 ids identical with logits within 2e-2, loss within 1e-3.
final class GoldenForwardTests: XCTestCase {
    func testLogitsAndLossMatchTransformers() throws {
        let model = try RealModel.model()
        let golden = try RealModel.golden()
        let prompts = golden["prompts"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(prompts.count, 5)
        var worstLogit = 0.0, worstLoss = 0.0
        for p in prompts {
            let name = p["name"] as! String
            let ids = p["token_ids"] as! [Int]
            let logits = model.logits([ids])
            let v = model.config.vocabSize
            let last = Array(logits.data[((ids.count - 1) * v)..<(ids.count * v)])
            let top = p["top"] as! [[String: Any]]
            let expectedIDs = top.map { $0["id"] as! Int }
            var order = Array(last.indices)
            order.sort { last[$0] > last[$1] }
            XCTAssertEqual(Array(order.prefix(expectedIDs.count)), expectedIDs, "\(name): top-5 ids")
            for t in top {
                let diff = abs(Double(last[t["id"] as! Int]) - (t["logit"] as! Double))
                worstLogit = max(worstLogit, diff)
                XCTAssertLessThanOrEqual(diff, 2e-2, "\(name): logit of \(t["id"]!)")
            }
            let loss = model.loss(ids)!
            let lossDiff = abs(loss - (p["loss"] as! Double))
            worstLoss = max(worstLoss, lossDiff)
            XCTAssertLessThanOrEqual(lossDiff, 1e-3, "\(name): loss \(loss) vs \(p["loss"]!)")
        }
        print("golden forward: \(prompts.count) prompts, worst top-5 logit difference \(worstLogit), worst loss difference \(worstLoss)")
    }

    func testRealModelConfigMatchesTransformers() throws {
        let config = try LlamaGGUFLoader.config(RealModel.file())
        let reference = try RealModel.golden()["config"] as! [String: Any]
        XCTAssertEqual(config.hiddenSize, reference["hidden_size"] as? Int)
        XCTAssertEqual(config.layerCount, reference["num_hidden_layers"] as? Int)
        XCTAssertEqual(config.headCount, reference["num_attention_heads"] as? Int)
        XCTAssertEqual(config.kvHeadCount, reference["num_key_value_heads"] as? Int)
        XCTAssertEqual(config.intermediateSize, reference["intermediate_size"] as? Int)
        XCTAssertEqual(config.vocabSize, reference["vocab_size"] as? Int)
        XCTAssertEqual(Double(config.ropeTheta), reference["rope_theta"] as! Double, accuracy: 1e-3)
        XCTAssertTrue(config.tieWordEmbeddings)
    }
}
