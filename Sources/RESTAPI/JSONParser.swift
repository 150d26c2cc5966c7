import JSONScanning

/// Why a request body is not JSON, with the byte offset where reading stopped.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where reading stopped, counted in bytes from the start of the body.
    public var offset: Int
    /// What was wrong there.
    public var problem: String

    /// `malformed JSON at byte 12: expected ':'`.
    public var description: String { "malformed JSON at byte \(offset): \(problem)" }
}

/// A strict RFC 8259 reader for request bodies: one value, UTF-8 only, no trailing bytes, no repeated
/// member names (which would let two parsers disagree about what was sent), nesting at most
/// `maximumDepth` deep (so a hostile body cannot exhaust the stack).
///
/// Written here rather than over `JSONSerialization` because that one folds `true` into `1` on Linux,
/// accepts repeated names silently and loses the difference between `1` and `1.0`.
public enum JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// Parses `bytes` as exactly one JSON value.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.failure("unexpected data after the value") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func failure(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, problem: problem) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
            for byte in literal.utf8 {
                guard current == byte else { throw failure("expected '\(literal)'") }
                index += 1
            }
            return value
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard let byte = current else { throw failure("unexpected end of input") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw failure("nested too deeply") }
            index += 1
            var members: [(String, JSONValue)] = []
            var names = Set<String>()
            skipSpace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                let nameStart = index
                let name = try string()
                guard names.insert(name).inserted else {
                    throw JSONSyntaxError(offset: nameStart, problem: "member \"\(name.prefix(64))\" appears twice")
                }
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipSpace()
                members.append((name, try value(depth: depth)))
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return .object(members)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw failure("nested too deeply") }
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try value(depth: depth))
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return .array(items)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        mutating func number() throws(JSONSyntaxError) -> JSONValue {
            let start = index
            var isInteger = true
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, first >= 0x30, first <= 0x39 else { throw failure("expected a digit") }
            index += 1
            if first != 0x30 { while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 } }
            if current == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard let byte = current, byte >= 0x30, byte <= 0x39 else { throw failure("expected a digit") }
                while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let byte = current, byte >= 0x30, byte <= 0x39 else { throw failure("expected a digit") }
                while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let value = Int64(text) { return .integer(value) }
            guard let value = Double(text), value.isFinite else {
                throw JSONSyntaxError(offset: start, problem: "number out of range")
            }
            return .number(value)
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            index += 1
            var output: [UInt8] = []
            while true {
                guard let byte = current else { throw failure("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let text = String(validating: output, as: UTF8.self) else {
                        throw failure("string is not valid UTF-8")
                    }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    try escape(into: &output)
                case 0..<0x20: throw failure("control character in string")
                default:
                    output.append(byte)
                    index += 1
                }
            }
        }

        mutating func escape(into output: inout [UInt8]) throws(JSONSyntaxError) {
            guard let byte = current else { throw failure("unterminated escape") }
            index += 1
            if let decoded = JSONEscape.byte(for: byte) {
                output.append(decoded)
                return
            }
            switch byte {
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    else { throw failure("unpaired surrogate") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("unpaired surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid escape") }
                output += Array(String(Character(unicode)).utf8)
            default: throw failure("invalid escape")
            }
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current else { throw failure("unterminated escape") }
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw failure("invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
