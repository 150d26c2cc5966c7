// libFuzzer target for HTTPRequestParser: arbitrary bytes, fed whole and in several splits, must
// never crash, hang or disagree with themselves. Built only with PORTCULLIS_FUZZ=1 (see .ci/fuzz).

import FuzzDriver
import HTTPCore

/// What a parse produced, compared across splits.
struct Outcome: Equatable {
    var requests: [String] = []
    var error: HTTPParseError.Code? = nil
}

/// Parses `bytes` handed over in pieces of the lengths in `splits` (repeated cyclically).
func parse(_ bytes: ArraySlice<UInt8>, splits: [Int], bodyLimit: Int) -> Outcome {
    var parser = HTTPRequestParser(maxHeaderBytes: 2048, defaultBodyLimit: bodyLimit)
    var outcome = Outcome()
    var offset = bytes.startIndex
    var splitIndex = 0
    while offset < bytes.endIndex {
        let step = max(1, splits[splitIndex % splits.count])
        splitIndex += 1
        let end = bytes.endIndex - offset > step ? offset + step : bytes.endIndex
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
    fuzz(argc, argv) { input in
        // The first byte controls the run: it picks the body limit (so 413 paths are reached too) and
        // one cut point; the rest is the byte stream.
        guard let control = input.first else { return }
        let bytes = input.dropFirst()
        let bodyLimit = Int(control) * 8
        let whole = parse(bytes, splits: [Int.max], bodyLimit: bodyLimit)
        let single = parse(bytes, splits: [1], bodyLimit: bodyLimit)
        let mixed = parse(bytes, splits: [3, 1, 7, 2, 64], bodyLimit: bodyLimit)
        let cut = 1 + Int(control) * bytes.count / 256
        let halves = parse(bytes, splits: [cut, Int.max], bodyLimit: bodyLimit)
        // Splitting must not change the result: an incremental parser that depends on packet
        // boundaries is a request-smuggling bug.
        precondition(
            whole == single && whole == mixed && whole == halves,
            "split-dependent parse: \(whole) / \(single) / \(mixed) / \(halves)")
    }
}
