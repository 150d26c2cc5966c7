/// A single pass over a JWT payload that yields its scalar members as policies compare them, without a
/// general JSON decoder: every CI login parses one, and Foundation's decoders cost more than the signature
/// check (measured: about 0.7 ms for a GitHub token's 20 claims, against 17 µs for an RS256 verification).
///
/// Strict where it matters: the text must be one JSON object (RFC 8259) in valid UTF-8; a member name
/// written twice makes the whole payload unreadable (a token whose `repository_id` means two things must not
/// be judged by either); nesting deeper than 32 is refused. Strings are unescaped; numbers, `true` and
/// `false` are kept as written; `null`, arrays and objects are checked and skipped.
enum ClaimScanner {
    /// The scalar members of the object in `bytes`, or nil when `bytes` is not exactly one valid JSON object
    /// with unique member names.
    static func scalars(_ bytes: [UInt8]) -> [String: String]? {
        var scanner = Cursor(bytes: bytes)
        guard let result = scanner.object() else { return nil }
        scanner.skipWhitespace()
        return scanner.index == bytes.count ? result : nil
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 32

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// The top-level object: names to scalar texts.
        mutating func object() -> [String: String]? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var result: [String: String] = [:]
            var names = Set<String>()
            if consume(UInt8(ascii: "}")) { return result }
            repeat {
                skipWhitespace()
                guard let name = string(), consume(UInt8(ascii: ":")), names.insert(name).inserted else { return nil }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let value = string() else { return nil }
                    result[name] = value
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard skipNested() else { return nil }
                default:
                    guard let literal = literal() else { return nil }
                    if literal != "null" { result[name] = literal }
                }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}")) ? result : nil
        }

        /// A string at `index` (which holds its opening quote), unescaped.
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            // Most claims hold no escape: take the run up to the first quote, backslash or control byte at once.
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
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let scalar = unicodeEscape() else { return nil }
                        output.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: return nil
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

        /// `true`, `false`, `null` or a number, as written.
        mutating func literal() -> String? {
            for word in ["true", "false", "null"] where bytes[index...].starts(with: word.utf8) {
                index += word.utf8.count
                return word
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
            return String(decoding: bytes[start..<index], as: UTF8.self)
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
                    guard closers.count < Self.maximumDepth else { return false }
                    closers.append(byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
                    index += 1
                    if consume(closers.last!) {
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
