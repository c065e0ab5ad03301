import XCTest
@testable import Federation

/// ROUGE-L against pairs worked by hand (the first two from Lin 2004, section 3.1).
final class RougeLTests: XCTestCase {
    func testKnownPairs() {
        // LCS "police the gunman" = 3 of 4 words each way: P = R = F = 0.75.
        var s = RougeL.score(candidate: "police kill the gunman", reference: "police killed the gunman")
        XCTAssertEqual(s.f1, 0.75, accuracy: 1e-12)
        // LCS "the gunman" = 2: F = 0.5, though both candidates share the same three words with the reference.
        s = RougeL.score(candidate: "the gunman kill police", reference: "police killed the gunman")
        XCTAssertEqual(s.f1, 0.5, accuracy: 1e-12)
        // LCS "the cat on the mat" = 5: P = 5/5, R = 5/6, F = 10/11.
        s = RougeL.score(candidate: "The cat, on the mat!", reference: "the cat sat on the mat")
        XCTAssertEqual(s.precision, 1, accuracy: 1e-12)
        XCTAssertEqual(s.recall, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(s.f1, 10.0 / 11, accuracy: 1e-12)
        // LCS "a b d" = 3 of "a b c d" (4) and "a x b d y" (5): P = 3/5, R = 3/4, F = 2/3.
        s = RougeL.score(candidate: "a x b d y", reference: "a b c d")
        XCTAssertEqual(s.f1, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(RougeL.score(candidate: "", reference: "a b").f1, 0)
        XCTAssertEqual(RougeL.score(candidate: "x y", reference: "a b").f1, 0)
        XCTAssertEqual(RougeL.score(candidate: "Triage: access | P2", reference: "triage access p2").f1, 1, accuracy: 1e-12)
    }

    func testWordsAndLCS() {
        XCTAssertEqual(RougeL.words("Hello, World! 42x--y"), ["hello", "world", "42x", "y"])
        XCTAssertEqual(RougeL.lcs(["a", "b", "c", "b", "d", "a", "b"], ["b", "d", "c", "a", "b", "a"]), 4)
        XCTAssertEqual(RougeL.lcs([], ["a"]), 0)
    }
}
