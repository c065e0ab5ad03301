/// How text is split into pre-tokens before byte-level BPE runs on each piece.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// The GPT-2 pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (Hugging Face `ByteLevel(add_prefix_space: false, use_regex: true)`).
    case gpt2
    /// Every `\p{N}` scalar on its own, then the GPT-2 pattern on the text between them
    /// (SmolLM2's `Sequence[Digits(individual_digits: true), ByteLevel]`; llama.cpp pre type "smollm").
    case smollm
    /// The Llama 3 pattern: case-insensitive contractions, a letter run with one leading non-letter,
    /// digit runs of at most three, punctuation runs that take trailing newlines, newline runs
    /// (llama.cpp pre type "llama-bpe"; ``PreTokenizer/scanLlama3``).
    case llama3
    /// The Llama 3 pattern with single digits (Qwen2; llama.cpp pre type "qwen2").
    case qwen2

    /// The GGUF `tokenizer.ggml.pre` names accepted, for error messages.
    public static let ggufNames = ["gpt2", "gpt-2", "mpt", "olmo", "smollm", "starcoder", "refact", "command-r",
                                   "codeshell", "llama-bpe", "llama3", "llama-v3", "qwen2", "deepseek-r1-qwen"]

    /// Whether a pre-token that is itself a vocabulary token is emitted whole, without merging
    /// (Hugging Face `BPE.ignore_merges`, set by Llama 3's tokenizer).
    var ignoresMerges: Bool { self == .llama3 }

    /// The kind for a GGUF `tokenizer.ggml.pre` value, or nil when that pre-tokenizer is not provided here.
    public init?(ggufPre: String) {
        switch ggufPre {
        case "gpt2", "gpt-2", "mpt", "olmo":
            self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell":
            self = .smollm  // llama.cpp uses the same regex list ("\p{N}", GPT-2) for all of these.
        case "llama-bpe", "llama3", "llama-v3":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen":
            self = .qwen2
        default:
            return nil
        }
    }
}

/// Scalar classes used by the pre-tokenizer: `\p{L}`, `\p{N}`, `\s` (Unicode White_Space), anything else.
enum ScalarClass {
    static let letter: UInt8 = 0
    static let number: UInt8 = 1
    static let space: UInt8 = 2
    static let other: UInt8 = 3

    /// Class of an arbitrary scalar from its Unicode properties.
    static func compute(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return other }
        let props = scalar.properties
        switch props.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return space  // every Zs/Zl/Zp scalar is White_Space; the other White_Space scalars are Cc
        case .control:
            return props.isWhitespace ? space : other
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }

    /// Precomputed classes of the Basic Multilingual Plane (64 KiB, built once on first use).
    static let bmp: [UInt8] = (0..<UInt32(0x10000)).map { compute($0) }

    /// Class of any scalar: table lookup in the BMP, computed above it.
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        value < 0x10000 ? bmp[Int(value)] : compute(value)
    }
}

/// Reusable per-call buffers of the pre-tokenizer (scalar start offsets and classes of one segment).
struct PreTokenizerScratch {
    var starts: [Int] = []
    var classes: [UInt8] = []
    /// Output of ``PreTokenizer/split(_:_:scratch:)``: end offsets of the pre-tokens.
    var ends: [Int] = []
}

/// Splits UTF-8 text into pre-token byte ranges, by hand over Unicode scalars (no regex engine).
struct PreTokenizer: Sendable {
    let kind: PreTokenizerKind

    /// Splits `bytes[range]` into pre-tokens and stores the byte offset where each one ends in
    /// `scratch.ends` (in order; the last equals `range.upperBound`). `bytes` must be valid UTF-8 and
    /// `range` must start and end on scalar boundaries.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: inout PreTokenizerScratch) {
        scratch.ends.removeAll(keepingCapacity: true)
        guard !range.isEmpty else { return }
        decodeScalars(bytes, range, into: &scratch)
        let count = scratch.classes.count
        let kind = self.kind
        var ends = scratch.ends  // moved out so the closures below touch one scratch array each
        scratch.ends = []
        scratch.starts.withUnsafeBufferPointer { starts in
            scratch.classes.withUnsafeBufferPointer { classes in
                switch kind {
                case .gpt2:
                    Self.scanGPT2(bytes, starts, classes, 0, count, &ends)
                case .smollm:
                    var segment = 0
                    for i in 0..<count where classes[i] == ScalarClass.number {
                        Self.scanGPT2(bytes, starts, classes, segment, i, &ends)
                        ends.append(i + 1)
                        segment = i + 1
                    }
                    Self.scanGPT2(bytes, starts, classes, segment, count, &ends)
                case .llama3:
                    Self.scanLlama3(bytes, starts, classes, 0, count, maxDigits: 3, &ends)
                case .qwen2:
                    Self.scanLlama3(bytes, starts, classes, 0, count, maxDigits: 1, &ends)
                }
            }
        }
        // Scalar indices -> byte offsets.
        for k in ends.indices { ends[k] = scratch.starts[ends[k]] }
        scratch.ends = ends
    }

    /// Fills `scratch` with the byte offset and class of every scalar of `bytes[range]`,
    /// plus a sentinel start offset equal to `range.upperBound`.
    private func decodeScalars(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into scratch: inout PreTokenizerScratch
    ) {
        scratch.starts.removeAll(keepingCapacity: true)
        scratch.classes.removeAll(keepingCapacity: true)
        scratch.starts.reserveCapacity(range.count + 1)
        scratch.classes.reserveCapacity(range.count)
        var p = range.lowerBound
        let end = range.upperBound
        while p < end {
            let b0 = UInt32(bytes[p])
            scratch.starts.append(p)
            if b0 < 0x80 {
                scratch.classes.append(asciiClass[Int(b0)])
                p += 1
                continue
            }
            var value: UInt32
            var length: Int
            if b0 < 0xE0 {
                value = b0 & 0x1F; length = 2
            } else if b0 < 0xF0 {
                value = b0 & 0x0F; length = 3
            } else {
                value = b0 & 0x07; length = 4
            }
            var q = p + 1
            let stop = min(p + length, end)
            while q < stop {
                value = (value << 6) | (UInt32(bytes[q]) & 0x3F)
                q += 1
            }
            scratch.classes.append(ScalarClass.of(value))
            p = stop
        }
        scratch.starts.append(end)
    }

    /// Appends the scalar end index of each GPT-2 pattern match over scalars `lo..<hi`
    /// (the end of the range counts as end of text for `(?!\S)`).
    private static func scanGPT2(
        _ bytes: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<Int>,
        _ classes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ ends: inout [Int]
    ) {
        var i = lo
        while i < hi {
            let first = bytes[starts[i]]
            // 's 't 're 've 'm 'll 'd (case-sensitive, ASCII only).
            if first == 0x27, i + 1 < hi {
                let c1 = bytes[starts[i + 1]]
                if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 {  // s t m d
                    ends.append(i + 2); i += 2; continue
                }
                if i + 2 < hi {
                    let c2 = bytes[starts[i + 2]]
                    if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {  // re ve ll
                        ends.append(i + 3); i += 3; continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020 then a run of one class.
            var j = i
            if first == 0x20, i + 1 < hi, classes[i + 1] != ScalarClass.space { j = i + 1 }
            let cls = classes[j]
            if cls != ScalarClass.space {
                var k = j + 1
                while k < hi && classes[k] == cls { k += 1 }
                ends.append(k); i = k; continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run keeps its last scalar for the next token,
            // unless the run ends the text or is a single scalar.
            var e = i + 1
            while e < hi && classes[e] == ScalarClass.space { e += 1 }
            let stop = (e == hi || e - i == 1) ? e : e - 1
            ends.append(stop); i = stop
        }
    }
}

/// Classes of the 128 ASCII scalars.
private let asciiClass: [UInt8] = (0..<UInt32(128)).map { ScalarClass.compute($0) }
