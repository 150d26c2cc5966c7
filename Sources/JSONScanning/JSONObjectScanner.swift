/// The one-character escapes of JSON strings (RFC 8259 §7), shared by every JSON reader here.
public enum JSONEscape {
    /// The byte a backslash followed by `escape` stands for (after `"`, `\`, `/`, `b`, `f`, `n`, `r` or `t`); nil
    /// for any other byte, `u` included (its four hex digits follow).
    @inlinable
    public static func byte(for escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escape
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }
}

/// One member of a scanned JSON object: scalars as written, arrays one level deep, objects checked and skipped.
///
/// Strings are unescaped; numbers keep their JSON text (`456789`, `1.5e3`), so a reader decides how to take them
/// (a JWT's `exp` as a number of seconds, a CI policy's `repository_id` as text).
public enum JSONMember: Sendable, Hashable {
    /// A string, unescaped.
    case string(String)
    /// A number, exactly as written.
    case number(String)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// An array: its scalar elements as members, and each nested array or object as ``object``.
    case array([JSONMember])
    /// An object (or, inside an array, any nested array or object): checked, its contents not kept.
    case object

    /// The string, or nil for any other kind.
    public var string: String? { if case .string(let text) = self { text } else { nil } }

    /// The scalar as text (a string itself, a number or boolean as its JSON text); nil for null, arrays and
    /// objects.
    public var scalarText: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool(let value): value ? "true" : "false"
        case .null, .array, .object: nil
        }
    }
}

/// A single strict pass over one JSON object (RFC 8259) that yields its members, without a general JSON
/// decoder: every CI login and every OpenID sign-in parses a JWT header and payload, and Foundation's
/// decoders cost more than the signature check (measured: about 0.7 ms for a GitHub token's 20 claims,
/// against 17 µs for an RS256 verification).
///
/// Strict where it matters: the text must be exactly one JSON object in valid UTF-8; a member name written
/// twice makes the whole object unreadable (a token whose `repository_id` or `alg` means two things must not be
/// judged by either); nesting deeper than 32 is refused.
public enum JSONObjectScanner {
    /// The deepest nesting of arrays and objects accepted inside a member.
    public static let maximumDepth = 32

    /// The members of the object in `bytes`, or nil when `bytes` is not exactly one valid JSON object with
    /// unique member names.
    public static func members(of bytes: [UInt8]) -> [String: JSONMember]? {
        var cursor = Cursor(bytes: bytes)
        guard let result = cursor.object() else { return nil }
        cursor.skipWhitespace()
        return cursor.index == bytes.count ? result : nil
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// The top-level object: names to members.
        mutating func object() -> [String: JSONMember]? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var result: [String: JSONMember] = [:]
            if consume(UInt8(ascii: "}")) { return result }
            repeat {
                skipWhitespace()
                guard let name = string(), consume(UInt8(ascii: ":")), result[name] == nil else { return nil }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: "[") {
                    guard let elements = array() else { return nil }
                    result[name] = .array(elements)
                } else {
                    guard let member = value() else { return nil }
                    result[name] = member
                }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}")) ? result : nil
        }

        /// A value other than an array at the top level: a scalar, or an object checked and skipped.
        mutating func value() -> JSONMember? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(JSONMember.string)
            case UInt8(ascii: "{"), UInt8(ascii: "["): return skipNested() ? .object : nil
            default: return literal()
            }
        }

        /// A top-level member's array: each element a scalar, or ``JSONMember/object`` for nested structure.
        mutating func array() -> [JSONMember]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var elements: [JSONMember] = []
            if consume(UInt8(ascii: "]")) { return elements }
            repeat {
                skipWhitespace()
                guard let element = value() else { return nil }
                elements.append(element)
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]")) ? elements : nil
        }

        /// A string at `index` (which holds its opening quote), unescaped.
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            // Most members hold no escape: take the run up to the first quote, backslash or control byte at once.
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"),
                bytes[end] >= 0x20
            {
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                defer { index = end + 1 }
                return String(validating: bytes[index..<end], as: UTF8.self)
            }
            var output = Array(bytes[index..<end])
            index = end
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: output, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    if let decoded = JSONEscape.byte(for: escape) {
                        output.append(decoded)
                    } else if escape == UInt8(ascii: "u"), let scalar = unicodeEscape() {
                        output.append(contentsOf: Array(String(Character(scalar)).utf8))
                    } else {
                        return nil
                    }
                case 0x00..<0x20: return nil
                default: output.append(byte)
                }
            }
            return nil
        }

        /// The scalar of `XXXX` after `\u` (a surrogate pair spans two escapes).
        mutating func unicodeEscape() -> Unicode.Scalar? {
            guard let high = hex4() else { return nil }
            if (0xD800...0xDBFF).contains(high) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { return nil }
                index += 2
                guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return Unicode.Scalar(high)
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                guard let digit = Self.hexValue(byte) else { return nil }
                value = value << 4 | digit
            }
            index += 4
            return value
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        /// `true`, `false`, `null` or a number (kept as written).
        mutating func literal() -> JSONMember? {
            if bytes[index...].starts(with: "true".utf8) {
                index += 4
                return .bool(true)
            }
            if bytes[index...].starts(with: "false".utf8) {
                index += 5
                return .bool(false)
            }
            if bytes[index...].starts(with: "null".utf8) {
                index += 4
                return .null
            }
            let start = index
            func digits() -> Bool {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index > first
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            if index < bytes.count, bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits() else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() else { return nil }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits() else { return nil }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        /// Checks and skips an array or object at `index`, nested at most `maximumDepth` deep.
        mutating func skipNested() -> Bool {
            var closers: [UInt8] = []
            while index < bytes.count {
                skipWhitespace()
                guard index < bytes.count else { return false }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard closers.count < JSONObjectScanner.maximumDepth else { return false }
                    let closer = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                    closers.append(closer)
                    index += 1
                    if consume(closer) {
                        closers.removeLast()
                        if closers.isEmpty { return true }
                        if !afterValue(&closers) { return false }
                        if closers.isEmpty { return true }
                        continue
                    }
                    if byte == UInt8(ascii: "{") {
                        skipWhitespace()
                        guard string() != nil, consume(UInt8(ascii: ":")) else { return false }
                    }
                    continue
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                default:
                    guard literal() != nil else { return false }
                }
                guard afterValue(&closers) else { return false }
                if closers.isEmpty { return true }
            }
            return false
        }

        /// After a value inside `closers`: a comma (then a member name inside an object) or closers.
        mutating func afterValue(_ closers: inout [UInt8]) -> Bool {
            while let closer = closers.last {
                if consume(UInt8(ascii: ",")) {
                    if closer == UInt8(ascii: "}") {
                        skipWhitespace()
                        guard string() != nil, consume(UInt8(ascii: ":")) else { return false }
                    }
                    return true
                }
                guard consume(closer) else { return false }
                closers.removeLast()
            }
            return true
        }
    }
}
