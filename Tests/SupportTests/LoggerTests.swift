import Diagnostics
import Foundation
import Synchronization
import Testing

/// Collects lines instead of writing them.
final class CapturingSink: LogSink {
    let lines = Mutex<[String]>([])
    func write(line: String) { lines.withLock { $0.append(line) } }
    var captured: [String] { lines.withLock { $0 } }
}

@Suite struct LoggerTests {
    @Test func logfmtLinesCarryTimestampLevelLoggerMessageAndSortedMetadata() throws {
        let sink = CapturingSink()
        let logger = Logger(label: "test", sink: sink).with(["request_id": "abc"])
        logger.info("hello world", ["b": "2", "a": "has space"])
        let line = try #require(sink.captured.first)
        #expect(line.hasPrefix("ts="))
        #expect(line.contains(#" level=info logger=test msg="hello world" a="has space" b=2 request_id=abc"#))
        let timestamp = String(line.dropFirst(3).prefix { $0 != " " })
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
        #expect(ISO8601DateFormatter.withFractions.date(from: timestamp) != nil)
    }

    @Test func jsonLinesEscapeQuotesBackslashesAndControlCharacters() throws {
        let sink = CapturingSink()
        Logger(label: "j", format: .json, sink: sink).warning("a \"quoted\"\\ line\n\u{1}")
        let line = try #require(sink.captured.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "a \"quoted\"\\ line\n\u{1}")
        #expect(object["level"] == "warning")
        #expect(!line.contains("\n"))
    }

    @Test func linesBelowTheConfiguredLevelAreDropped() {
        let sink = CapturingSink()
        let logger = Logger(label: "l", level: .warning, sink: sink)
        logger.debug("no")
        logger.info("no")
        logger.error("yes")
        #expect(sink.captured.count == 1)
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
