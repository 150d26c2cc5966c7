// The one piece every libFuzzer target shares: handing libFuzzer a Swift closure as its test
// function. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The closure `fuzz` runs; libFuzzer's callback is a C function pointer and cannot capture it, and
/// libFuzzer calls it from one thread only.
nonisolated(unsafe) private var testOneInput: ([UInt8]) -> Void = { _ in }

/// Runs libFuzzer with the process's arguments, calling `body` with every input it generates (empty
/// inputs included); returns libFuzzer's exit status.
///
/// `body` reports a bug by trapping (`precondition`), as libFuzzer expects of a crash.
public func fuzz(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: @escaping ([UInt8]) -> Void
) -> CInt {
    testOneInput = body
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        testOneInput(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}

extension Array where Element == UInt8 {
    /// The input split at every `separator` byte, at most `limit` pieces (the last one keeps the rest),
    /// so one fuzz input can stand for several values (scope parameters, JWT parts).
    public func pieces(separatedBy separator: UInt8, limit: Int) -> [ArraySlice<UInt8>] {
        split(separator: separator, maxSplits: Swift.max(0, limit - 1), omittingEmptySubsequences: false)
    }
}
