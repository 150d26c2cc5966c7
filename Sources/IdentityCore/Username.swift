import Diagnostics

/// A username every way of making an account accepts: the command line, first-login provisioning from a
/// directory (LDAP), and later the API and OIDC. One rule, so no path can create a name another refuses.
///
/// The rule is Portus's namespace character set, widened where Portus itself was wider:
/// - ASCII letters of either case, digits, and the separators `.`, `_`, `-` and `@` (for directories that
///   log users in by email address or `userPrincipalName`);
/// - it starts and ends with a letter or digit, and two separators never follow each other, so `.`, `..`,
///   a leading dot and `a..b` are impossible, as are `/`, `\`, `:` (it cannot travel in HTTP Basic
///   credentials), whitespace, control characters, NUL and every non-ASCII character (no confusable
///   `аlice` with a Cyrillic `а`);
/// - between `lengthLimits` (2 and 64) characters.
///
/// Case is kept as typed, but two names that differ only in case name the same account: they cannot both
/// be created, and either spelling logs in (as GitLab does, and as Portus did on its default MariaDB).
/// Names stored before the rule existed keep working; `portcullis doctor` lists them.
public struct Username: Sendable, Hashable, CustomStringConvertible {
    /// The name as given (case kept).
    public let text: String

    /// How many characters a username may have.
    public static let lengthLimits = 2...64

    /// The separators allowed between letters and digits.
    public static let separators: Set<UInt8> = [
        UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@"),
    ]

    /// Checks `text` against the rule.
    /// - Throws: `UsernameError` naming the first problem.
    public init(validating text: String) throws(UsernameError) {
        if let problem = Self.problem(with: text) { throw problem }
        self.text = text
    }

    /// The first way `text` breaks the rule, or nil when it is a valid username.
    public static func problem(with text: String) -> UsernameError? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return UsernameError(.empty, "the username is empty") }
        // Every allowed character is one byte, so a byte that is not allowed is reported before the length:
        // "contains 'é'" says more than "too long" for a name of accented letters.
        for scalar in text.unicodeScalars where !isAllowed(scalar) {
            return UsernameError(
                .forbiddenCharacter,
                "\(describe(scalar)) is not allowed in a username; use letters, digits, and '.', '_', '-' or "
                    + "'@' between them")
        }
        guard isAlphanumeric(bytes[0]), isAlphanumeric(bytes[bytes.count - 1]) else {
            return UsernameError(.badEdge, "a username must start and end with a letter or digit")
        }
        for index in 1..<bytes.count where separators.contains(bytes[index]) && separators.contains(bytes[index - 1]) {
            return UsernameError(.repeatedSeparator, "a username may not have two of '.', '_', '-', '@' in a row")
        }
        guard lengthLimits.contains(bytes.count) else {
            return bytes.count < lengthLimits.lowerBound
                ? UsernameError(
                    .tooShort,
                    "the username has \(bytes.count) character; at least \(lengthLimits.lowerBound) are needed")
                : UsernameError(
                    .tooLong,
                    "the username has \(bytes.count) characters; at most \(lengthLimits.upperBound) are allowed")
        }
        return nil
    }

    /// Whether `text` follows the rule.
    public static func isValid(_ text: String) -> Bool { problem(with: text) == nil }

    /// `text` made to follow the rule, for names an identity provider chose (a claim, an email's local part):
    /// accents dropped (`José` → `Jose`), every other character outside the rule and every run of separators
    /// turned into one `-`, separators at the ends removed, cut to the length limit. Nil when fewer than two
    /// characters are left. A valid name comes back unchanged.
    public static func sanitized(_ text: String) -> String? {
        if isValid(text) { return text }
        let folded = text.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        var bytes: [UInt8] = []
        for byte in folded.utf8 {
            let isLetterOrDigit =
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            if isLetterOrDigit {
                bytes.append(byte)
            } else if let last = bytes.last, !separators.contains(last) {
                bytes.append(separators.contains(byte) ? byte : UInt8(ascii: "-"))
            }
        }
        while let last = bytes.last, separators.contains(last) { bytes.removeLast() }
        if bytes.count > lengthLimits.upperBound { bytes = Array(bytes.prefix(lengthLimits.upperBound)) }
        while let last = bytes.last, separators.contains(last) { bytes.removeLast() }
        let result = String(decoding: bytes, as: UTF8.self)
        return isValid(result) ? result : nil
    }

    /// The key two spellings of one name share: ASCII letters lower-cased, anything else untouched (so
    /// names stored before the rule compare as they always did).
    public static func comparisonKey(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return text }
        return String(
            decoding: text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 },
            as: UTF8.self)
    }

    /// Whether `a` and `b` name the same account (equal but for the case of ASCII letters).
    public static func namesSameAccount(_ a: String, _ b: String) -> Bool {
        a == b || (a.utf8.count == b.utf8.count && comparisonKey(a) == comparisonKey(b))
    }

    /// `text` quoted for a message: printable ASCII as is, anything else as `\u{…}`, at most 80 characters,
    /// so a hostile name can neither drive a terminal nor bloat an answer.
    public static func quoted(_ text: String) -> String {
        var out = "'"
        for (count, scalar) in text.unicodeScalars.enumerated() {
            if count == 80 {
                out += "…"
                break
            }
            if (0x20...0x7E).contains(scalar.value), scalar != "'", scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return out + "'"
    }

    /// The name as given.
    public var description: String { text }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.isASCII else { return false }
        let byte = UInt8(scalar.value)
        return isAlphanumeric(byte) || separators.contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// A character named so every reader sees which one it is: `':'`, `a space`, `U+0000`.
    private static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case " ": return "a space"
        case _ where (0x21...0x7E).contains(scalar.value): return "'\(scalar)'"
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex)"
        }
    }
}

/// Why a username breaks the rule, with a message that says what to change.
public struct UsernameError: CodedError, Sendable, Hashable {
    /// The ways a username can break the rule.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Nothing was given.
        case empty = "username.empty"
        /// Fewer characters than `Username.lengthLimits` allows.
        case tooShort = "username.too_short"
        /// More characters than `Username.lengthLimits` allows.
        case tooLong = "username.too_long"
        /// A character outside letters, digits and the separators (`:`, `/`, a space, NUL, `é`, …).
        case forbiddenCharacter = "username.forbidden_character"
        /// The name starts or ends with a separator (`.alice`, `alice-`).
        case badEdge = "username.bad_edge"
        /// Two separators in a row (`a..b`, `a.-b`).
        case repeatedSeparator = "username.repeated_separator"
    }

    /// The stable code.
    public var code: Code
    /// What is wrong and what is allowed instead; never quotes the name itself.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message, as `CodedError` reports it.
    public var reason: String { message }
}
