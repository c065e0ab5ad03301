/// The Llama 3 and Qwen2 pre-tokenizer patterns, scanned by hand like the GPT-2 one.
extension PreTokenizer {
    /// Appends the scalar end index of each match of the Llama 3 pattern over scalars `lo..<hi`:
    ///
    ///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    ///
    /// with `D = maxDigits` (3 for Llama 3, 1 for Qwen2). The contractions match ASCII letters of either case.
    static func scanLlama3(
        _ bytes: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<Int>,
        _ classes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, maxDigits: Int, _ ends: inout [Int]
    ) {
        /// The ASCII byte of scalar `k` lowercased, or 0 when it is not ASCII.
        func lowerASCII(_ k: Int) -> UInt8 {
            let b = bytes[starts[k]]
            guard b < 0x80, starts[k + 1] - starts[k] == 1 else { return 0 }
            return (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
        }
        func isNewline(_ k: Int) -> Bool {
            let b = bytes[starts[k]]
            return b == 0x0A || b == 0x0D
        }
        var i = lo
        while i < hi {
            let cls = classes[i]
            // Contractions, case-insensitive.
            if bytes[starts[i]] == 0x27, i + 1 < hi {
                let c1 = lowerASCII(i + 1)
                if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 {  // s t m d
                    ends.append(i + 2); i += 2; continue
                }
                if i + 2 < hi {
                    let c2 = lowerASCII(i + 2)
                    if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) {  // re ve ll
                        ends.append(i + 3); i += 3; continue
                    }
                }
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            var j = i
            if cls != ScalarClass.letter, cls != ScalarClass.number, !isNewline(i),
               i + 1 < hi, classes[i + 1] == ScalarClass.letter {
                j = i + 1
            }
            if classes[j] == ScalarClass.letter {
                var k = j + 1
                while k < hi && classes[k] == ScalarClass.letter { k += 1 }
                ends.append(k); i = k; continue
            }
            // `\p{N}{1,D}`
            if cls == ScalarClass.number {
                var k = i + 1
                while k < hi && k - i < maxDigits && classes[k] == ScalarClass.number { k += 1 }
                ends.append(k); i = k; continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            j = i
            if bytes[starts[i]] == 0x20, i + 1 < hi, classes[i + 1] == ScalarClass.other {
                j = i + 1
            }
            if classes[j] == ScalarClass.other {
                var k = j + 1
                while k < hi && classes[k] == ScalarClass.other { k += 1 }
                while k < hi && isNewline(k) { k += 1 }
                ends.append(k); i = k; continue
            }
            // Whitespace from here on: `\s*[\r\n]+` ends after the run's last CR or LF.
            var e = i + 1
            while e < hi && classes[e] == ScalarClass.space { e += 1 }
            var lastNewline = -1
            for k in stride(from: e - 1, through: i, by: -1) where isNewline(k) { lastNewline = k; break }
            if lastNewline >= 0 {
                ends.append(lastNewline + 1); i = lastNewline + 1; continue
            }
            // `\s+(?!\S)` then `\s+`.
            let stop = (e == hi || e - i == 1) ? e : e - 1
            ends.append(stop); i = stop
        }
    }
}
