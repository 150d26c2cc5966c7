import Foundation
import Testing

@testable import HTTPCore

// The parser's verdict (the requests it reads and the error it stops at) must not depend on how the
// bytes were split into reads: a parser that answers differently for the same bytes is a request
// smuggling and a flaky-CI bug. These tests feed the same bytes at every split point.

/// What one parse produced: each event, described, then the error code it stopped at.
private struct Verdict: Equatable, CustomStringConvertible {
    var events: [String] = []
    var error: HTTPParseError.Code? = nil
    var description: String { "\(events) \(error.map(\.rawValue) ?? "no error")" }
}

/// Parses `bytes` handed over as pieces ending at each of `cuts` (then the rest).
private func verdict(
    _ bytes: ArraySlice<UInt8>, cuts: [Int], maxHeaderBytes: Int, bodyLimit: Int
) -> Verdict {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, defaultBodyLimit: bodyLimit)
    var result = Verdict()
    var offset = bytes.startIndex
    for cut in cuts.map({ bytes.startIndex + $0 }) + [bytes.endIndex] where cut > offset {
        parser.append(bytes[offset..<cut])
        offset = cut
        do {
            while let event = try parser.next() {
                switch event {
                case .head(let head):
                    result.events.append(
                        "\(head.method) \(head.target) \(head.version) \(head.headers.fields.map { "\($0.name)=\($0.value)" })"
                    )
                    try parser.beginBody(limit: bodyLimit)
                case .complete(let body):
                    result.events.append("body \(body)")
                }
            }
        } catch {
            result.error = error.code
            return result
        }
    }
    return result
}

/// The verdicts of `bytes` read whole, byte by byte and split once at every point; the test asks
/// that they are all the same.
private func verdictsAtEverySplit(
    _ bytes: ArraySlice<UInt8>, maxHeaderBytes: Int, bodyLimit: Int
) -> (whole: Verdict, differing: [(split: String, verdict: Verdict)]) {
    let whole = verdict(bytes, cuts: [], maxHeaderBytes: maxHeaderBytes, bodyLimit: bodyLimit)
    var differing: [(String, Verdict)] = []
    let byteByByte = verdict(
        bytes, cuts: Array(1..<max(1, bytes.count)), maxHeaderBytes: maxHeaderBytes, bodyLimit: bodyLimit)
    if byteByByte != whole { differing.append(("byte by byte", byteByByte)) }
    for cut in 1..<max(1, bytes.count) {
        let split = verdict(bytes, cuts: [cut], maxHeaderBytes: maxHeaderBytes, bodyLimit: bodyLimit)
        if split != whole { differing.append(("split at \(cut)", split)) }
    }
    return (whole, differing)
}

/// A file of the HTTP parser's checked-in fuzz corpus, without its first byte (the fuzzer's control
/// byte, which picks the body limit as `byte * 8`).
private struct CorpusFile: CustomTestStringConvertible, Sendable {
    var name: String
    var bodyLimit: Int
    var bytes: [UInt8]
    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/HTTPParserFuzzer/corpus")

    static func named(_ name: String) throws -> CorpusFile {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return CorpusFile(name: name, bodyLimit: Int(data.first ?? 0) * 8, bytes: Array(data.dropFirst()))
    }

    static var all: [CorpusFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { try? named($0) }
    }
}

@Suite struct HTTPRequestParserSplitTests {
    /// libFuzzer found it on a clean clone: a request head with a bare LF just past the 2048-byte
    /// limit was `invalid_character` when read whole (the scan ran past the limit to the LF) but
    /// `header_too_large` byte by byte (the limit tripped first).
    @Test func theFuzzerFoundHeadPastTheLimitGetsOneVerdictAtEverySplit() throws {
        let file = try CorpusFile.named("regression-split-dependent-error")
        #expect(file.bytes.count > 2048)
        let (whole, differing) = verdictsAtEverySplit(file.bytes[...], maxHeaderBytes: 2048, bodyLimit: file.bodyLimit)
        #expect(whole.error == .headerTooLarge)
        #expect(differing.count == 0, "whole: \(whole); differing: \(differing.prefix(3))")
    }

    @Test func theCheckedInCorpusIsFound() {
        #expect(CorpusFile.all.count >= 10, "no corpus in \(CorpusFile.directory.path)")
    }

    /// The checked-in seeds, under the fuzzer's limits and under limits small enough that every
    /// limit (head, trailer section, body) falls inside them somewhere.
    @Test(arguments: CorpusFile.all, [16 * 1024, 2048, 40, 24])
    fileprivate func everySeedGetsOneVerdictAtEverySplit(file: CorpusFile, maxHeaderBytes: Int) {
        for bodyLimit in [file.bodyLimit, 0, 4] {
            let (whole, differing) = verdictsAtEverySplit(
                file.bytes[...], maxHeaderBytes: maxHeaderBytes, bodyLimit: bodyLimit)
            #expect(
                differing.count == 0,
                "limits \(maxHeaderBytes)/\(bodyLimit): whole \(whole); differing: \(differing.prefix(3))")
        }
    }

    struct LimitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var maxHeaderBytes: Int
        var code: HTTPParseError.Code?
        var testDescription: String { name }
    }

    /// Each limit is checked at a different moment from the characters it covers; wherever a limit
    /// and a bad character could both decide, the first in byte order decides, at every split.
    @Test(arguments: [
        LimitCase(
            name: "bare LF past the head limit",
            text: "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 40) + "\n",
            maxHeaderBytes: 32, code: .headerTooLarge),
        LimitCase(
            name: "bare LF inside the head limit",
            text: "GET / HTTP/1.1\nHost: x\r\nX: " + String(repeating: "a", count: 40),
            maxHeaderBytes: 32, code: .invalidCharacter),
        LimitCase(
            name: "head end exactly at the limit", text: "GET / HTTP/1.1\r\nHost: xy\r\n\r\n", maxHeaderBytes: 28,
            code: nil),
        LimitCase(
            name: "head end one byte past the limit", text: "GET / HTTP/1.1\r\nHost: xyz\r\n\r\n", maxHeaderBytes: 28,
            code: .headerTooLarge),
        LimitCase(
            name: "bare LF past the trailer limit",
            text: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: "
                + String(repeating: "b", count: 80) + "\n",
            maxHeaderBytes: 64, code: .headerTooLarge),
        LimitCase(
            name: "bare LF inside the trailer limit",
            text: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\n"
                + String(repeating: "b", count: 80),
            maxHeaderBytes: 64, code: .invalidCharacter),
        LimitCase(
            name: "bare LF past the chunk-size line limit",
            text: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;"
                + String(repeating: "e", count: 4100) + "\n",
            maxHeaderBytes: 1024, code: .invalidChunk),
    ])
    func aLimitAndABadCharacterAreDecidedInByteOrder(_ limitCase: LimitCase) {
        let bytes = Array(limitCase.text.utf8)[...]
        let (whole, differing) = verdictsAtEverySplit(bytes, maxHeaderBytes: limitCase.maxHeaderBytes, bodyLimit: 1024)
        #expect(whole.error == limitCase.code)
        #expect(differing.count == 0, "whole \(whole); differing: \(differing.prefix(3))")
    }
}
