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
}

/// Writes each line to a file descriptor with one `write(2)`, so lines survive a crash and never
/// interleave (stdout is fully buffered when it is a pipe).
public struct FileDescriptorLogSink: LogSink {
    /// The descriptor written to (2 is standard error).
    public let descriptor: Int32

    /// Creates a sink writing to `descriptor`.
    public init(descriptor: Int32 = 2) { self.descriptor = descriptor }

    /// Writes `line` and a newline in one system call.
    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
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

    /// Writes `message` at `level` with `extra` metadata, if `level` is enabled.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ extra: [String: String] = [:]) {
        guard level >= self.level else { return }
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()), ("level", level.rawValue), ("logger", label), ("msg", message()),
        ]
        let merged = metadata.merging(extra) { _, new in new }
        for key in merged.keys.sorted() { fields.append((key, merged[key]!)) }
        sink.write(line: format == .json ? Self.json(fields) : Self.logfmt(fields))
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

    /// The current UTC time as `2026-11-22T13:01:04.123Z`, formatted by hand: Foundation's formatter
    /// cost more than the rest of an access-log line together.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, 4, at: 0)
        put(Int(parts.tm_mon) + 1, 2, at: 5)
        put(Int(parts.tm_mday), 2, at: 8)
        put(Int(parts.tm_hour), 2, at: 11)
        put(Int(parts.tm_min), 2, at: 14)
        put(Int(parts.tm_sec), 2, at: 17)
        put(Int(now.tv_nsec) / 1_000_000, 3, at: 20)
        for (offset, character) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] {
            bytes[offset] = UInt8(ascii: Unicode.Scalar(character)!)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func json(_ fields: [(String, String)]) -> String {
        JSONText.object(fields.map { ($0.0, JSONText.quoted($0.1)) })
    }

    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
            return needsQuotes ? "\(key)=\(JSONText.quoted(value))" : "\(key)=\(value)"
        }.joined(separator: " ")
    }
}
