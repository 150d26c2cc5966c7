import Foundation
import LDAPClient
import TestSupport
import Testing
import Threading

/// The libldap wrapper against a real slapd.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("client"))
struct LDAPClientTests {
    static let pool = BlockingPool(name: "ldap-client-test", threads: 8)

    func client(_ url: String? = nil, startTLS: Bool = false, caFile: String? = nil, verify: Bool = true)
        throws -> LDAPClient
    {
        let slapd = try SlapdFixture.require()
        return try LDAPClient(
            options: LDAPConnectionOptions(
                url: url ?? slapd.ldapURL, startTLS: startTLS, caFile: caFile, verifiesCertificates: verify,
                connectTimeout: .seconds(2), operationTimeout: .seconds(2)),
            pool: Self.pool)
    }

    @Test func serviceAccountFindsAUserButNotItsPassword() async throws {
        let entries = try await client().withSession { session in
            try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
            return try session.search(
                base: Slapd.peopleDN, scope: .sub, filter: "(uid=alice)",
                attributes: ["uid", "mail", "entryUUID", "memberOf", "userPassword"])
        }
        #expect(entries.count == 1)
        let alice = try #require(entries.first)
        #expect(alice.dn == Slapd.alice.dn)
        #expect(alice.firstValue("MAIL") == Slapd.alice.mail)
        #expect(alice.firstValue("entryUUID")?.count == 36)
        #expect(alice.values("memberOf").contains("cn=developers,\(Slapd.groupsDN)"))
        #expect(alice.bytes("userPassword").isEmpty)
    }
}
