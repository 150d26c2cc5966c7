import Diagnostics
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A pipe whose read end never blocks, so a test can ask "what has been written so far?".
private final class TestPipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw POSIXError(.EMFILE) }
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    var sink: FileDescriptorLogSink { FileDescriptorLogSink(descriptor: writeEnd) }

    /// Everything written since the last call, split into lines (the final newline dropped).
    func drainLines() -> [String] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard !bytes.isEmpty else { return [] }
        var text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix("\n"), "a line was written without its newline")
        if text.hasSuffix("\n") { text.removeLast() }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}

/// Runs `body` on a thread of its own and waits for it: the caller's batch is not open there.
private func onAnotherThread(_ body: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    Thread {
        body()
        done.signal()
    }.start()
    done.wait()
}

@Suite struct LogBatchTests {
    @Test func linesInsideABatchArriveTogetherInOrderWhenItEnds() throws {
        let pipe = try TestPipe()
        let sink = pipe.sink
        let seenInside = LogBatch.collect { () -> [String] in
            for index in 1...5 { sink.write(line: "line \(index)") }
            return pipe.drainLines()
        }
        #expect(seenInside.isEmpty)
        #expect(pipe.drainLines() == ["line 1", "line 2", "line 3", "line 4", "line 5"])
    }

    @Test func theBatchIsWrittenAlsoWhenItsBodyThrows() throws {
        struct Stop: Error {}
        let pipe = try TestPipe()
        let sink = pipe.sink
        #expect(throws: Stop.self) {
            try LogBatch.collect {
                sink.write(line: "before the throw")
                throw Stop()
            }
        }
        #expect(pipe.drainLines() == ["before the throw"])
    }

    @Test func outsideABatchEachLineIsWrittenAtOnce() throws {
        let pipe = try TestPipe()
        let sink = pipe.sink
        sink.write(line: "first")
        #expect(pipe.drainLines() == ["first"])
        sink.write(line: "second")
        #expect(pipe.drainLines() == ["second"])
    }

    @Test func aNestedBatchIsWrittenOnceWhenTheOutermostEnds() throws {
        let pipe = try TestPipe()
        let sink = pipe.sink
        let seen = LogBatch.collect { () -> [[String]] in
            sink.write(line: "outer 1")
            let insideInner = LogBatch.collect { () -> [String] in
                sink.write(line: "inner")
                return pipe.drainLines()
            }
            let afterInner = pipe.drainLines()
            sink.write(line: "outer 2")
            return [insideInner, afterInner]
        }
        #expect(seen == [[], []])
        #expect(pipe.drainLines() == ["outer 1", "inner", "outer 2"])
    }

    @Test func aLineFromAnotherThreadDuringABatchIsNotHeldByIt() throws {
        let pipe = try TestPipe()
        let sink = pipe.sink
        let seenInside = LogBatch.collect { () -> [String] in
            sink.write(line: "batched")
            onAnotherThread { sink.write(line: "from another thread") }
            return pipe.drainLines()
        }
        #expect(seenInside == ["from another thread"])
        #expect(pipe.drainLines() == ["batched"])
    }

    @Test func batchesForTwoDescriptorsAreEachWrittenToTheirOwn() throws {
        let first = try TestPipe()
        let second = try TestPipe()
        LogBatch.collect {
            first.sink.write(line: "a1")
            second.sink.write(line: "b1")
            first.sink.write(line: "a2")
        }
        #expect(first.drainLines() == ["a1", "a2"])
        #expect(second.drainLines() == ["b1"])
    }

    @Test func aLoggerWritingToTheDescriptorIsBatchedToo() throws {
        let pipe = try TestPipe()
        let logger = Logger(label: "loop", sink: pipe.sink)
        let seenInside = LogBatch.collect { () -> Int in
            logger.info("one")
            logger.info("two")
            return pipe.drainLines().count
        }
        #expect(seenInside == 0)
        let lines = pipe.drainLines()
        #expect(lines.count == 2)
        #expect(lines.first?.contains("msg=one") == true)
        #expect(lines.last?.contains("msg=two") == true)
    }
}

@Suite struct LogFieldsTests {
    @Test func orderedFieldsKeepTheirOrderAfterTheSortedMetadata() throws {
        let sink = CapturingSink()
        let logger = Logger(label: "access", sink: sink).with(["z_meta": "1", "a_meta": "2"])
        logger.log(.info, "request", fields: [("status", "200"), ("method", "GET"), ("bytes", "12")])
        let line = try #require(sink.captured.first)
        #expect(line.contains(" msg=request a_meta=2 z_meta=1 status=200 method=GET bytes=12"), "\(line)")
    }

    @Test func orderedFieldsBelowTheLevelAreDropped() {
        let sink = CapturingSink()
        Logger(label: "access", level: .warning, sink: sink).log(.info, "request", fields: [("a", "b")])
        #expect(sink.captured.isEmpty)
    }

    /// The logfmt value written for `value`, as it appears after `v=`.
    private func logfmtValue(_ value: String) throws -> String {
        let sink = CapturingSink()
        Logger(label: "q", sink: sink).log(.info, "m", fields: [("v", value)])
        let line = try #require(sink.captured.first)
        let start = try #require(line.range(of: " v="))
        return String(line[start.upperBound...])
    }

    @Test(arguments: ["plain", "wörd-✓", "a-b_c.d/e:f", "42"])
    func valuesWithoutSeparatorsAreWrittenBare(value: String) throws {
        #expect(try logfmtValue(value) == value)
    }

    @Test(arguments: [
        "", "two words", "a=b", "say \"hi\"", "line\nbreak", "carriage\rreturn", "vertical\u{0B}tab",
        "form\u{0C}feed", "line\u{2028}separator", "paragraph\u{2029}separator", "next\u{85}line", "wörd with space",
    ])
    func valuesWithSpacesEqualsQuotesOrLineBreaksAreQuotedAndRoundTrip(value: String) throws {
        let written = try logfmtValue(value)
        #expect(written.hasPrefix("\"") && written.hasSuffix("\""), "\(written.debugDescription)")
        #expect(!written.contains("\n") && !written.contains("\r") && !written.contains("\u{0B}"))
        let decoded = try JSONSerialization.jsonObject(with: Data(written.utf8), options: .fragmentsAllowed)
        #expect(decoded as? String == value)
    }

    @Test func aVerticalTabIsEscapedNotWrittenRaw() throws {
        #expect(try logfmtValue("a\u{0B}b") == #""a\u000bb""#)
    }
}
