/// Text that someone else chose (a username, a user agent, a scope, a registry's error reason), made inert
/// for a terminal, a log line or a table an operator reads.
///
/// Every character that can move the cursor, end a line, drive a terminal or reorder what is shown is
/// replaced by a visible escape, so no line can be forged and no terminal driven:
///
/// - C0 controls, DEL and C1 controls: `\n`, `\r`, `\t` for the three common ones, `\xNN` for the rest
///   (ESC is `\x1b`, NUL `\x00`, NEL `\x85`);
/// - Unicode line and paragraph separators and bidirectional controls (U+061C, U+200E, U+200F,
///   U+2028–U+202E, U+2066–U+2069): `\u{202e}`.
///
/// Everything else, non-ASCII letters included, is kept as it was. Escapes are lowercase hex. A backslash
/// is kept as it is: it cannot forge a line or drive a terminal, and paths and Windows names stay readable.
public enum InertText {
    /// What may stay as it is, for outputs that have their own way of carrying it (a quoted CSV field
    /// keeps its line breaks).
    public struct Allowance: OptionSet, Sendable, Hashable {
        /// The raw value.
        public let rawValue: Int
        /// Creates an allowance.
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// CR and LF stay.
        public static let lineBreaks = Allowance(rawValue: 1)
        /// TAB stays.
        public static let tab = Allowance(rawValue: 2)
    }

    /// `text` with every dangerous character escaped visibly, cut to `limit` characters (Unicode scalars)
    /// with `…` appended when it was longer.
    public static func escaped(_ text: String, limit: Int? = nil, allowing allowance: Allowance = []) -> String {
        // Most text (names, ids, dates) has nothing to escape: return it without building a new string.
        let fits = limit.map { text.utf8.count <= $0 } ?? true
        if fits && !text.unicodeScalars.contains(where: { needsEscape($0, allowance) }) { return text }
        var output = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if let limit, count == limit {
                output.append("…")
                break
            }
            count += 1
            if needsEscape(scalar, allowance) {
                output.append(contentsOf: escape(scalar).unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }

    /// Whether `scalar` would be escaped by ``escaped(_:limit:allowing:)`` without allowances.
    public static func isDangerous(_ scalar: Unicode.Scalar) -> Bool { needsEscape(scalar, []) }

    /// Whether `text` holds anything ``escaped(_:limit:allowing:)`` would escape.
    public static func isInert(_ text: String) -> Bool { !text.unicodeScalars.contains(where: isDangerous) }

    /// Each line of `text` made inert on its own, keeping the line breaks between them: for messages
    /// that are several lines by design (a configuration report) and quote others' text within.
    public static func escapedLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { escaped(String($0)) }
            .joined(separator: "\n")
    }

    private static func needsEscape(_ scalar: Unicode.Scalar, _ allowance: Allowance) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0D: return !allowance.contains(.lineBreaks)
        case 0x09: return !allowance.contains(.tab)
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: return true
        case 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            let hex = String(scalar.value, radix: 16)
            if scalar.value < 0x100 { return "\\x" + (hex.count < 2 ? "0" : "") + hex }
            return "\\u{\(hex)}"
        }
    }
}
