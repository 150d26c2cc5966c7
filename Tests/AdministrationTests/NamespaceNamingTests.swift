import Administration
import Testing

@Suite struct NamespaceNamingTests {
    @Test(arguments: [
        ("alice", "alice"),
        ("John-Doe", "john-doe"),
        ("john.doe", "john.doe"),
        ("  Bob (Builder)  ", "bob_builder"),
        ("__x__", "x"),
        ("a--b", "a_b"),
        ("a.-_b", "a_b"),
        ("émile", "mile"),
        ("user@example.com", "user_example.com"),
    ])
    func usernamesBecomeValidNamespaceNamesKeepingDashes(username: String, expected: String) {
        #expect(NamespaceNaming.namespaceName(forUsername: username) == expected)
    }

    @Test(arguments: ["", "---", "@@@", "   "])
    func usernamesWithoutLettersOrDigitsHaveNoNamespaceName(username: String) {
        #expect(NamespaceNaming.namespaceName(forUsername: username) == nil)
    }

    @Test(arguments: [
        ("library", true), ("a-b.c_d", true), ("-a", false), ("a-", false), ("a..b", false),
        ("A", false), ("a/b", false), ("", false), (String(repeating: "a", count: 256), false),
    ])
    func validityFollowsThePortusPatternWithDashes(name: String, valid: Bool) {
        #expect(NamespaceNaming.isValid(name) == valid)
    }

    @Test func takenNamesGetTheFirstFreeNumericSuffix() {
        let taken: Set = ["bob", "bob0", "bob1"]
        #expect(NamespaceNaming.firstFreeName(base: "bob") { taken.contains($0) } == "bob2")
        #expect(NamespaceNaming.firstFreeName(base: "eve") { taken.contains($0) } == "eve")
    }
}
