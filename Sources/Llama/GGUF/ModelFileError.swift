/// Errors from reading model files (GGUF, safetensors, config). Each message names
/// the file and the offset, tensor or field at fault, and says what to check.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    case notFound(file: String)
    case badMagic(file: String, found: String)
    case unsupportedVersion(file: String, version: UInt32)
    case truncated(file: String, offset: Int, needed: Int, what: String)
    case malformed(file: String, offset: Int, reason: String)
    case unknownTensorType(file: String, tensor: String, type: UInt32)
    case unsupportedTensorType(file: String, tensor: String, type: String)
    case tensorOutOfRange(file: String, tensor: String, offset: Int, size: Int, fileSize: Int)
    case missingTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case missingMetadata(file: String, key: String)
    case invalidMetadata(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let f):
            return "\(f): no such file (run scripts/fetch-model.sh for the default model)"
        case .badMagic(let f, let m):
            return "\(f): not a GGUF file (magic at offset 0 is \(m), expected \"GGUF\")"
        case .unsupportedVersion(let f, let v):
            return "\(f): GGUF version \(v) at offset 4 is not supported (versions 2 and 3 are)"
        case .truncated(let f, let o, let n, let w):
            return "\(f): truncated at offset \(o): needed \(n) more bytes for \(w)"
        case .malformed(let f, let o, let r):
            return "\(f): malformed at offset \(o): \(r)"
        case .unknownTensorType(let f, let t, let ty):
            return "\(f): tensor '\(t)' has unknown ggml type \(ty)"
        case .unsupportedTensorType(let f, let t, let ty):
            return "\(f): tensor '\(t)' has type \(ty), which FedPilot cannot dequantize (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case .tensorOutOfRange(let f, let t, let o, let s, let fs):
            let end = o.addingReportingOverflow(s)
            return "\(f): tensor '\(t)' data [\(o), \(end.overflow ? "beyond Int.max" : String(end.partialValue))) lies outside the file (\(fs) bytes)"
        case .missingTensor(let f, let t):
            return "\(f): required tensor '\(t)' is missing"
        case .shapeMismatch(let f, let t, let e, let found):
            return "\(f): tensor '\(t)' has shape \(found), expected \(e)"
        case .missingMetadata(let f, let k):
            return "\(f): required metadata key '\(k)' is missing"
        case .invalidMetadata(let f, let k, let r):
            return "\(f): metadata '\(k)' is invalid: \(r)"
        }
    }
}
