// libFuzzer target for HTTPRequestParser: arbitrary bytes, fed whole and in several splits, must
// never crash, hang or disagree with themselves. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import HTTPCore

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// What a parse produced, compared across splits.
struct Outcome: Equatable {
    var requests: [String] = []
    var error: HTTPParseError.Code? = nil
}

func parse(_ bytes: [UInt8], splits: [Int], bodyLimit: Int) -> Outcome {
    var parser = HTTPRequestParser(maxHeaderBytes: 2048, defaultBodyLimit: bodyLimit)
    var outcome = Outcome()
    var offset = 0
    var splitIndex = 0
    while offset < bytes.count {
        let step = max(1, splits[splitIndex % splits.count])
        splitIndex += 1
        let end = min(bytes.count, offset + step)
        parser.append(bytes[offset..<end])
        offset = end
        do {
            while let event = try parser.next() {
                switch event {
                case .head(let head):
                    outcome.requests.append(
                        "\(head.method) \(head.path) \(head.query.count) \(head.headers.fields.count)")
                    try parser.beginBody(limit: bodyLimit)
                case .complete(let body):
                    outcome.requests.append("body \(body.count)")
                }
            }
        } catch {
            outcome.error = error.code
            return outcome
        }
    }
    return outcome
}

@_cdecl("HTTPParserFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data, size > 0 else { return 0 }
        let bytes = Array(UnsafeBufferPointer(start: data, count: size))
        // The first byte picks the body limit so 413 paths are reached too.
        let bodyLimit = Int(bytes[0]) * 8
        let whole = parse(bytes, splits: [Int.max], bodyLimit: bodyLimit)
        let single = parse(bytes, splits: [1], bodyLimit: bodyLimit)
        let mixed = parse(bytes, splits: [3, 1, 7, 2, 64], bodyLimit: bodyLimit)
        // Splitting must not change the result: an incremental parser that depends on packet
        // boundaries is a request-smuggling bug.
        precondition(whole == single && whole == mixed, "split-dependent parse: \(whole) / \(single) / \(mixed)")
        return 0
    }
}
