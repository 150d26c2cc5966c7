import IdentityCore
import Testing

/// The one username rule every account-creating path applies (`Username`).
@Suite struct UsernameTests {
    @Test(
        arguments: [
            // Portus's own examples of names it accepts (its namespace alphabet), and its `-` (#2143).
            "portus", "john", "john_doe", "john.doe", "john-doe", "user1", "1user", "a1b2c3",
            // Case is kept; directories that log in by email or userPrincipalName.
            "Alice", "Alice-Smith", "JOHN.DOE", "john.doe@example.org", "jdoe@corp",
            // Boundary lengths: 2 and 64 characters.
            "ab", "a1", String(repeating: "a", count: 64), String(repeating: "a1", count: 32),
        ])
    func theseUsernamesAreValid(name: String) throws {
        #expect(Username.isValid(name))
        #expect(try Username(validating: name).text == name)
    }

    @Test(
        arguments: [
            ("", UsernameError.Code.empty),
            ("a", .tooShort),
            (String(repeating: "a", count: 65), .tooLong),
            (String(repeating: "a", count: 300), .tooLong),
            // `:` cannot travel in HTTP Basic credentials.
            ("alice:root", .forbiddenCharacter),
            ("alice:", .forbiddenCharacter),
            // Nothing that becomes a path.
            (".", .badEdge),
            ("..", .badEdge),
            (".alice", .badEdge),
            ("alice.", .badEdge),
            ("a..b", .repeatedSeparator),
            ("a/b", .forbiddenCharacter),
            ("../etc", .forbiddenCharacter),
            ("a\\b", .forbiddenCharacter),
            ("a\u{0}b", .forbiddenCharacter),
            ("a\u{7}b", .forbiddenCharacter),
            ("a\u{1B}[31mb", .forbiddenCharacter),
            ("a\nb", .forbiddenCharacter),
            ("a\r\nb", .forbiddenCharacter),
            ("a\tb", .forbiddenCharacter),
            ("john doe", .forbiddenCharacter),
            (" alice", .forbiddenCharacter),
            // Separators: not at the edges, never two in a row.
            ("-alice", .badEdge),
            ("_alice", .badEdge),
            ("@alice", .badEdge),
            ("alice@", .badEdge),
            ("a.-b", .repeatedSeparator),
            ("a__b", .repeatedSeparator),
            // Other punctuation.
            ("a+b", .forbiddenCharacter),
            ("a'b", .forbiddenCharacter),
            ("a%2fb", .forbiddenCharacter),
            ("a*", .forbiddenCharacter),
            // Unicode confusables and other non-ASCII: Cyrillic а, fullwidth letters, a zero-width space,
            // a combining accent, an accented letter, a dotless ı, the Kelvin sign K.
            ("\u{430}lice", .forbiddenCharacter),
            ("\u{FF41}lice", .forbiddenCharacter),
            ("al\u{200B}ice", .forbiddenCharacter),
            ("alice\u{301}", .forbiddenCharacter),
            ("jos\u{E9}", .forbiddenCharacter),
            ("\u{131}van", .forbiddenCharacter),
            ("\u{212A}elvin", .forbiddenCharacter),
        ] as [(String, UsernameError.Code)])
    func theseUsernamesAreRefusedWithTheReason(name: String, code: UsernameError.Code) {
        let problem = Username.problem(with: name)
        #expect(problem?.code == code, "\(Username.quoted(name))")
        #expect(throws: UsernameError(code, "")) { try Username(validating: name) }
    }

    @Test func theMessagesSayWhatIsWrongAndNeverEchoControlCharacters() throws {
        let colon = try #require(Username.problem(with: "alice:root"))
        #expect(colon.message.contains("':' is not allowed"))
        let nul = try #require(Username.problem(with: "a\u{0}b"))
        #expect(nul.message.contains("U+0000"))
        let escape = try #require(Username.problem(with: "a\u{1B}b"))
        #expect(escape.message.contains("U+001B"))
        #expect(!escape.message.unicodeScalars.contains { $0.value < 0x20 })
        let long = try #require(Username.problem(with: String(repeating: "a", count: 65)))
        #expect(long.message == "the username has 65 characters; at most 64 are allowed")
        #expect(Username.problem(with: "a")?.message == "the username has 1 character; at least 2 are needed")
        #expect(Username.quoted("a\u{1B}[2Jb\n") == #"'a\u{1B}[2Jb\u{A}'"#)
    }

    @Test(
        arguments: [
            ("alice", "Alice", true), ("ALICE", "alice", true), ("John.Doe", "john.doe", true),
            ("alice", "alicia", false), ("alice", "alice ", false),
            // Only ASCII letters fold: a Kelvin sign is not a K, a dotless ı not an i.
            ("kelvin", "\u{212A}elvin", false), ("ivan", "\u{131}van", false),
        ])
    func namesDifferingOnlyInCaseNameOneAccount(a: String, b: String, same: Bool) {
        #expect(Username.namesSameAccount(a, b) == same)
        #expect(Username.namesSameAccount(b, a) == same)
        #expect((Username.comparisonKey(a) == Username.comparisonKey(b)) == same)
    }
}
