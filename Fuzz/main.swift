import Foundation

// fedpilot-fuzz: libFuzzer targets for FedPilot's parsers (see scripts/fuzz.sh).
//
// Built with `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING`, it is a libFuzzer binary for the
// target named by FEDPILOT_FUZZ_TARGET; every argument goes to libFuzzer. Built normally, it
// replays files instead: `fedpilot-fuzz TARGET FILE_OR_DIR...` runs each input once (a crash
// stops it, as in fuzzing), and `fedpilot-fuzz --write-seeds DIR` writes the seed corpus.

func selectedTarget(_ name: String?) -> FuzzTarget {
    guard let name, let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("fedpilot-fuzz: name a target (\(names))\n".utf8))
        exit(64)
    }
    return target
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) var fuzzTarget = FuzzTarget.gguf

/// libFuzzer's archive defines `main` in terms of this symbol; SwiftPM's entry point runs the
/// driver itself (below), so this is only there to satisfy the linker.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzTarget.run(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

fuzzTarget = selectedTarget(ProcessInfo.processInfo.environment["FEDPILOT_FUZZ_TARGET"])
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
#else
let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "--write-seeds", arguments.count == 2 {
    do { try Seeds.write(to: arguments.last!) } catch {
        FileHandle.standardError.write(Data("fedpilot-fuzz: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
let target = selectedTarget(arguments.first)
var files: [String] = []
for path in arguments.dropFirst() {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("fedpilot-fuzz: \(path): no such file or directory\n".utf8))
        exit(66)
    }
    if isDirectory.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        files += names.sorted().map { (path as NSString).appendingPathComponent($0) }
    } else {
        files.append(path)
    }
}
for file in files {
    guard let data = FileManager.default.contents(atPath: file) else { continue }
    target.run([UInt8](data))
}
print("\(target.rawValue): replayed \(files.count) input\(files.count == 1 ? "" : "s") without a crash")
#endif
