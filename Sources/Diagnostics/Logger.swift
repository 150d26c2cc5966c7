import Foundation

/// How important a log line is; lines below the configured level are dropped.
public enum LogLevel: String, Sendable, Comparable, CaseIterable, Codable {
    case debug, info, notice, warning, error

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// Orders levels from `debug` (least) to `error` (most important).
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// The line format of structured logs.
public enum LogFormat: String, Sendable, CaseIterable, Codable {
    /// One JSON object a line.
    case json
    /// `key=value` pairs, values quoted when needed (Heroku/Go logfmt).
    case logfmt
}

/// Where finished log lines go.
///
/// Contract: `write` is called concurrently from any thread and must not block for long.
public protocol LogSink: Sendable {
    /// Writes one complete line (without a trailing newline).
    func write(line: String)
    /// Writes one complete line given as UTF-8 bytes (without a trailing newline); by default as a `String`.
    func write(utf8 line: [UInt8])
}

extension LogSink {
    /// Converts the bytes and calls `write(line:)`.
    public func write(utf8 line: [UInt8]) { write(line: String(decoding: line, as: UTF8.self)) }
}

/// Writes each line to a file descriptor with one `write(2)`, so lines never interleave (stdout is
/// fully buffered when it is a pipe) and, outside a `LogBatch`, survive a crash.
///
/// On a thread inside `LogBatch.collect` (an event loop's iteration), lines are gathered and written
/// together when the batch ends: one system call for a whole iteration's access-log lines instead of
/// one per request.
public struct FileDescriptorLogSink: LogSink {
    /// The descriptor written to (2 is standard error).
    public let descriptor: Int32

    /// Creates a sink writing to `descriptor`.
    public init(descriptor: Int32 = 2) { self.descriptor = descriptor }

    /// Writes `line` and a newline in one system call, or adds them to the thread's open batch.
    public func write(line: String) { write(utf8: Array(line.utf8)) }

    /// Writes the line's bytes and a newline in one system call, or adds them to the thread's open batch.
    public func write(utf8 line: [UInt8]) {
        if let batch = LogBatch.current {
            batch.append(line, to: descriptor)
            return
        }
        var bytes = line
        bytes.append(UInt8(ascii: "\n"))
        LogBatch.writeAll(bytes, to: descriptor)
    }
}

/// Log lines a thread collects while it runs a burst of short jobs, written with one `write(2)` per
/// descriptor when the burst ends.
///
/// An event loop calls `collect` around each iteration: lines are written before it next waits for
/// events, so they are late by at most one iteration, and a crash loses at most that iteration's lines.
/// Threads that never collect write each line at once.
public final class LogBatch {
    /// Write out early when a batch grows past this many bytes, so a long iteration cannot hoard lines.
    static let flushThreshold = 64 * 1024

    private var buffers: [(descriptor: Int32, bytes: [UInt8])] = []

    private init() {}

    /// Runs `body` with this thread's lines collected, then writes them (also when `body` throws).
    public static func collect<T>(_ body: () throws -> T) rethrows -> T {
        if current != nil { return try body() }  // already collecting further up this thread's stack
        let batch = LogBatch()
        let key = threadKey
        pthread_setspecific(key, Unmanaged.passUnretained(batch).toOpaque())
        defer {
            pthread_setspecific(key, nil)
            batch.flush()
        }
        return try body()
    }

    /// The batch open on the calling thread, if any.
    static var current: LogBatch? {
        guard let pointer = pthread_getspecific(threadKey) else { return nil }
        return Unmanaged<LogBatch>.fromOpaque(pointer).takeUnretainedValue()
    }

    func append(_ line: [UInt8], to descriptor: Int32) {
        let index: Int
        if let found = buffers.firstIndex(where: { $0.descriptor == descriptor }) {
            index = found
        } else {
            buffers.append((descriptor, []))
            index = buffers.count - 1
        }
        buffers[index].bytes.append(contentsOf: line)
        buffers[index].bytes.append(UInt8(ascii: "\n"))
        if buffers[index].bytes.count >= Self.flushThreshold {
            Self.writeAll(buffers[index].bytes, to: descriptor)
            buffers[index].bytes.removeAll(keepingCapacity: true)
        }
    }

    private func flush() {
        for buffer in buffers where !buffer.bytes.isEmpty { Self.writeAll(buffer.bytes, to: buffer.descriptor) }
        buffers.removeAll()
    }

    /// Writes every byte, retrying short writes and EINTR; gives up silently on other errors (a log
    /// line must never take a request down).
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// The thread-local slot holding a thread's open batch; created once per process.
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// A structured logger: a label, a level, a format and metadata carried on every line.
///
/// Never pass a secret as a message or metadata value; configuration secrets are `Secret` values
/// whose description is masked.
public struct Logger: Sendable {
    /// The component name written as `logger`.
    public let label: String
    /// The lowest level written.
    public var level: LogLevel
    /// The line format.
    public var format: LogFormat
    /// Key/value pairs added to every line (for example `request_id`).
    public var metadata: [String: String]
    private let sink: any LogSink

    /// Creates a logger; by default it writes logfmt at `info` to standard error.
    public init(
        label: String, level: LogLevel = .info, format: LogFormat = .logfmt,
        metadata: [String: String] = [:], sink: any LogSink = FileDescriptorLogSink()
    ) {
        self.label = label
        self.level = level
        self.format = format
        self.metadata = metadata
        self.sink = sink
    }

    /// A copy of this logger that adds `extra` to every line.
    public func with(_ extra: [String: String]) -> Logger {
        var copy = self
        copy.metadata.merge(extra) { _, new in new }
        return copy
    }

    /// A copy of this logger under another label, sharing level, format, sink and metadata.
    public func named(_ label: String) -> Logger {
        Logger(label: label, level: level, format: format, metadata: metadata, sink: sink)
    }

    /// Writes `message` at `level` with `extra` metadata, if `level` is enabled; metadata keys are
    /// written in sorted order, `extra` winning over the logger's own metadata.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        guard level >= self.level else { return }
        let merged = metadata.isEmpty ? extra : metadata.merging(extra) { _, new in new }
        write(level, message(), merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Writes `message` at `level` with `fields` in the given order (after the logger's own metadata),
    /// if `level` is enabled: for hot paths such as the access log, which know their fields' order and
    /// need no dictionary.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, fields: [(String, String)]) {
        guard level >= self.level else { return }
        let own = metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        write(level, message(), own + fields)
    }

    private func write(_ level: LogLevel, _ message: String, _ rest: [(String, String)]) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()), ("level", level.rawValue), ("logger", label), ("msg", message),
        ]
        fields.append(contentsOf: rest)
        switch format {
        case .json: sink.write(line: Self.json(fields))
        case .logfmt: sink.write(utf8: Self.logfmtBytes(fields))
        }
    }

    /// Writes at `debug`.
    public func debug(_ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        log(.debug, message(), extra)
    }
    /// Writes at `info`.
    public func info(_ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        log(.info, message(), extra)
    }
    /// Writes at `notice`.
    public func notice(_ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        log(.notice, message(), extra)
    }
    /// Writes at `warning`.
    public func warning(_ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        log(.warning, message(), extra)
    }
    /// Writes at `error`.
    public func error(_ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        log(.error, message(), extra)
    }

    /// The current UTC time as `2026-11-22T13:01:04.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RFC3339.format(seconds: Int64(now.tv_sec), milliseconds: Int(now.tv_nsec) / 1_000_000)
    }

    static func json(_ fields: [(String, String)]) -> String {
        JSONText.object(fields.map { ($0.0, JSONText.quoted($0.1)) })
    }

    /// The logfmt line as UTF-8, built in one buffer: string concatenation cost more than the rest of an
    /// access-log line.
    static func logfmtBytes(_ fields: [(String, String)]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: " ")) }
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            if needsQuotes(value) {
                line.append(contentsOf: JSONText.quoted(value).utf8)
            } else {
                line.append(contentsOf: value.utf8)
            }
        }
        return line
    }

    /// Whether a logfmt value must be quoted: empty, or holding a space, `=`, `"` or a line break.
    /// ASCII is decided byte by byte; other text falls back to `Character.isNewline` (U+2028 and kin).
    private static func needsQuotes(_ value: String) -> Bool {
        if value.isEmpty { return true }
        var ascii = true
        let found = value.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"")
                    || (0x0A...0x0D).contains(byte)
                {
                    return true
                }
                if byte >= 0x80 { ascii = false }
            }
            return false
        }
        if let found, found || ascii { return found }
        return value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
    }
}
