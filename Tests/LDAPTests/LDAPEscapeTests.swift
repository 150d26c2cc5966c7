import LDAPClient
import Testing

/// RFC 4515 filter values, RFC 4514 DN values, and reading the first RDN of a DN.
@Suite struct LDAPEscapeTests {
    @Test(arguments: [
        ("alice", "alice"),
        ("*", "\\2a"),
        ("alice)(uid=*", "alice\\29\\28uid=\\2a"),
        ("a\\b", "a\\5cb"),
        ("nul\0byte", "nul\\00byte"),
        ("Bob (Builder)*", "Bob \\28Builder\\29\\2a"),
        ("wörd ✓", "wörd ✓"),
        ("", ""),
    ])
    func filterValuesEscapeTheFiveSpecialCharacters(input: String, escaped: String) {
        #expect(LDAPEscape.filterValue(input) == escaped)
    }

    @Test func binaryFilterValuesEscapeEveryByte() {
        #expect(LDAPEscape.filterValue(bytes: [0x00, 0xab, 0x2a]) == "\\00\\ab\\2a")
    }

    @Test(arguments: [
        ("Smith, John", "Smith\\, John"),
        ("#hash", "\\#hash"),
        (" lead", "\\ lead"),
        ("trail ", "trail\\ "),
        ("a+b=c", "a\\+b\\=c"),
        ("q\"<>;", "q\\\"\\<\\>\\;"),
        ("back\\slash", "back\\\\slash"),
        ("nul\0", "nul\\00"),
        ("mid#dle space", "mid#dle space"),
    ])
    func distinguishedNameValuesEscapePerRFC4514(input: String, escaped: String) {
        #expect(LDAPEscape.distinguishedNameValue(input) == escaped)
    }

    @Test(arguments: [
        ("cn=developers,ou=groups,dc=example,dc=org", "cn", "developers"),
        ("cn=QA\\2C Europe,ou=groups", "cn", "QA, Europe"),
        ("cn=QA\\, Europe,ou=groups", "cn", "QA, Europe"),
        ("CN=Domain Admins,CN=Users,DC=corp", "CN", "Domain Admins"),
        ("cn=a+uid=b,dc=x", "cn", "a"),
        ("uid=caf\\C3\\A9,dc=x", "uid", "café"),
    ])
    func theFirstRDNIsReadWithItsEscapesUndone(dn: String, type: String, value: String) throws {
        let rdn = try #require(LDAPDistinguishedName.firstRDN(of: dn))
        #expect(rdn.type == type)
        #expect(rdn.value == value)
    }

    @Test(arguments: ["", "no-equals-sign", ",=x", "cn=trailing\\"])
    func malformedDNsHaveNoFirstRDN(dn: String) {
        #expect(LDAPDistinguishedName.firstRDN(of: dn) == nil)
    }

    @Test func escapedDNValuesRoundTripThroughTheRDNReader() throws {
        for value in ["Smith, John", "#1 fan", "a+b", " spaced ", "q\"<>;\\"] {
            let rdn = try #require(
                LDAPDistinguishedName.firstRDN(of: "cn=\(LDAPEscape.distinguishedNameValue(value)),dc=x"))
            #expect(rdn.value == value)
        }
    }
}
