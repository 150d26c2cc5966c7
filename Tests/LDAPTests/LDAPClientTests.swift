import Foundation
import LDAPClient
import TestSupport
import Testing
import Threading

/// Threads for the LDAP tests' blocking calls (created once, never shut down).
let ldapTestPool = BlockingPool(name: "ldap-test", threads: 16)

/// A client with short timeouts.
func makeClient(
    _ url: String, startTLS: Bool = false, caFile: String? = nil, verify: Bool = true,
    connectTimeout: Duration = .seconds(2), operationTimeout: Duration = .seconds(2)
) throws -> LDAPClient {
    try LDAPClient(
        options: LDAPConnectionOptions(
            url: url, startTLS: startTLS, caFile: caFile, verifiesCertificates: verify,
            connectTimeout: connectTimeout, operationTimeout: operationTimeout),
        pool: ldapTestPool)
}

/// The error an async call threw, or nil.
func thrownError(_ body: () async throws -> Void) async -> (any Error)? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// The libldap wrapper against a real slapd.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("client"))
struct LDAPClientTests {
    var slapd: Slapd { get throws { try SlapdFixture.require() } }

    @Test func serviceAccountFindsAUserButNotItsPassword() async throws {
        let entries = try await makeClient(slapd.ldapURL).withSession { session in
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

    @Test func aPasswordWithAColonSpacesAndUTF8Binds() async throws {
        try await makeClient(slapd.ldapURL).withSession { session in
            try session.bind(dn: Slapd.bob.dn, password: Slapd.bob.password)
        }
    }

    @Test func aWrongPasswordIsInvalidCredentials() async throws {
        let error = await thrownError {
            try await makeClient(slapd.ldapURL).withSession { try $0.bind(dn: Slapd.alice.dn, password: "nope") }
        }
        #expect(error as? LDAPError == LDAPError(.invalidCredentials, message: ""))
    }

    @Test func anEmptyPasswordIsRefusedWithoutAnUnauthenticatedBind() async throws {
        let error = await thrownError {
            try await makeClient(slapd.ldapURL).withSession { try $0.bind(dn: Slapd.alice.dn, password: "") }
        }
        let failure = try #require(error as? LDAPError)
        #expect(failure.code == .invalidCredentials)
        #expect(failure.message == "empty password")
    }

    @Test func anonymousSearchIsInsufficientAccessWhereTheServerForbidsIt() async throws {
        let error = await thrownError {
            _ = try await makeClient(slapd.ldapURL).withSession { session in
                try session.bindAnonymously()
                return try session.search(base: Slapd.peopleDN, scope: .sub, filter: "(uid=*)", attributes: ["uid"])
            }
        }
        #expect((error as? LDAPError)?.code == .insufficientAccess)
    }

    @Test func startTLSWithTheRightCAWorks() async throws {
        try await makeClient(slapd.ldapURL, startTLS: true, caFile: slapd.caFile).withSession { session in
            try session.bind(dn: Slapd.alice.dn, password: Slapd.alice.password)
        }
    }

    @Test func ldapsWithTheRightCAWorks() async throws {
        try await makeClient(slapd.ldapsURL, caFile: slapd.caFile).withSession { session in
            try session.bind(dn: Slapd.alice.dn, password: Slapd.alice.password)
        }
    }

    @Test(arguments: [false, true])
    func anUntrustedCertificateIsATLSFailure(startTLS: Bool) async throws {
        let url = startTLS ? try slapd.ldapURL : try slapd.ldapsURL
        let error = await thrownError {
            try await makeClient(url, startTLS: startTLS, caFile: slapd.otherCAFile).withSession { session in
                try session.bind(dn: Slapd.alice.dn, password: Slapd.alice.password)
            }
        }
        #expect((error as? LDAPError)?.code == .tlsFailure, "\(String(describing: error))")
    }

    @Test func aHostNameTheCertificateDoesNotNameIsATLSFailure() async throws {
        let error = await thrownError {
            try await makeClient(slapd.ldapsURLWithWrongName, caFile: slapd.caFile).withSession { session in
                try session.bind(dn: Slapd.alice.dn, password: Slapd.alice.password)
            }
        }
        #expect((error as? LDAPError)?.code == .tlsFailure, "\(String(describing: error))")
    }

    @Test func skippingVerificationAcceptsAnUntrustedCertificate() async throws {
        try await makeClient(slapd.ldapsURLWithWrongName, caFile: slapd.otherCAFile, verify: false).withSession {
            try $0.bind(dn: Slapd.alice.dn, password: Slapd.alice.password)
        }
    }

    @Test func twoClientsWithDifferentTLSSettingsDoNotAffectEachOther() async throws {
        let trusting = try makeClient(slapd.ldapsURL, caFile: slapd.caFile)
        let distrusting = try makeClient(slapd.ldapsURL, caFile: slapd.otherCAFile)
        for _ in 0..<3 {
            try await trusting.withSession { try $0.bind(dn: Slapd.alice.dn, password: Slapd.alice.password) }
            let error = await thrownError {
                try await distrusting.withSession { try $0.bind(dn: Slapd.alice.dn, password: Slapd.alice.password) }
            }
            #expect((error as? LDAPError)?.code == .tlsFailure)
        }
    }

    @Test(arguments: ["*", "alice)(uid=*", "alice\0", "*)(|(uid=*", "\\2a"])
    func escapedHostileValuesMatchNothing(value: String) async throws {
        let entries = try await makeClient(slapd.ldapURL).withSession { session in
            try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
            return try session.search(
                base: Slapd.peopleDN, scope: .sub, filter: "(uid=\(LDAPEscape.filterValue(value)))",
                attributes: ["uid"])
        }
        #expect(entries.isEmpty)
    }

    @Test func aSizeLimitReturnsTheEntriesReceivedSoFar() async throws {
        let entries = try await makeClient(slapd.ldapURL).withSession { session in
            try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
            return try session.search(
                base: Slapd.peopleDN, scope: .sub, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"],
                sizeLimit: 2)
        }
        #expect(entries.count == 2)
    }

    @Test func aMissingBaseIsNoSuchObjectAndABadFilterIsInvalidFilter() async throws {
        let client = try makeClient(slapd.ldapURL)
        let missing = await thrownError {
            _ = try await client.withSession { session in
                try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
                return try session.search(
                    base: "ou=nowhere,dc=example,dc=org", scope: .sub, filter: "(uid=a)", attributes: [])
            }
        }
        #expect((missing as? LDAPError)?.code == .noSuchObject)
        let malformed = await thrownError {
            _ = try await client.withSession { session in
                try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
                return try session.search(base: Slapd.peopleDN, scope: .sub, filter: "(uid=a", attributes: [])
            }
        }
        #expect((malformed as? LDAPError)?.code == .invalidFilter)
    }

    @Test func aHungServerHoldsAtMostItsConnectionLimitOfASharedPool() async throws {
        // Never shut down: queued conversations of the hung client still start (and return at once)
        // after the callers gave up.
        let pool = BlockingPool(name: "ldap-shared-test", threads: 4)
        let listener = try SilentListener()
        let hung = try LDAPClient(
            options: LDAPConnectionOptions(
                url: "ldap://127.0.0.1:\(listener.port)", connectTimeout: .seconds(1), operationTimeout: .seconds(1),
                maximumConcurrentSessions: 2),
            pool: pool)
        let healthy = try LDAPClient(options: LDAPConnectionOptions(url: slapd.ldapURL), pool: pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let error = await thrownError { try await hung.withSession { try $0.bindAnonymously() } }
                    #expect((error as? LDAPError)?.code == .timeout, "\(String(describing: error))")
                }
            }
            // Meanwhile another directory on the same pool still answers, and the hung one never
            // holds more than its two threads.
            try await Task.sleep(for: .milliseconds(200))
            #expect(pool.activeJobs <= 2)
            try await healthy.withSession { try $0.bind(dn: Slapd.alice.dn, password: Slapd.alice.password) }
            try await group.waitForAll()
        }
        withExtendedLifetime(listener) {}
    }

    @Test func binaryValuesAreKeptAsBytes() async throws {
        let entries = try await makeClient(slapd.ldapURL).withSession { session in
            try session.bind(dn: Slapd.serviceDN, password: Slapd.servicePassword)
            return try session.search(
                base: Slapd.alice.dn, scope: .base, filter: "(objectClass=*)", attributes: ["entryUUID", "cn"])
        }
        let alice = try #require(entries.first)
        #expect(
            alice.firstValueHex("cn") == Array(Slapd.alice.displayName.utf8).map { String(format: "%02x", $0) }.joined()
        )
        #expect(alice.attributes.keys.contains("entryUUID"))
    }
}

/// Unreachable and hung servers: the client gives up within its limits.
@Suite struct LDAPClientFaultTests {
    @Test func aRefusedConnectionIsServerDown() async throws {
        let client = try makeClient("ldap://127.0.0.1:\(try closedPort())")
        let error = await thrownError { try await client.withSession { try $0.bind(dn: "cn=x", password: "y") } }
        #expect((error as? LDAPError)?.code == .serverDown, "\(String(describing: error))")
    }

    // The timeout error proves the deadline fired; the time limit only tells a hang from a late timer (no
    // bound on how late: CI shares two cores between the build, the tests and the peers).
    @Test(.timeLimit(.minutes(10)), arguments: [false, true])
    func aServerThatNeverAnswersTimesOutAtItsDeadline(ldaps: Bool) async throws {
        let listener = try SilentListener()
        let url = "\(ldaps ? "ldaps" : "ldap")://127.0.0.1:\(listener.port)"
        let client = try makeClient(url, connectTimeout: .seconds(1), operationTimeout: .seconds(1))
        let error = await thrownError { try await client.withSession { try $0.bind(dn: "cn=x", password: "y") } }
        #expect((error as? LDAPError)?.code == .timeout, "\(String(describing: error))")
        withExtendedLifetime(listener) {}
    }

    @Test(arguments: [false, true])
    func aHungServerDoesNotKeepAPoolThreadPastTheDeadline(ldaps: Bool) async throws {
        // Debian's libldap does the ldaps handshake with blocking reads its timeouts do not cover.
        let pool = BlockingPool(name: "ldap-hung-test", threads: 2)
        let listener = try SilentListener()
        let client = try LDAPClient(
            options: LDAPConnectionOptions(
                url: "\(ldaps ? "ldaps" : "ldap")://127.0.0.1:\(listener.port)", connectTimeout: .seconds(1),
                operationTimeout: .seconds(1)),
            pool: pool)
        let error = await thrownError { try await client.withSession { try $0.bindAnonymously() } }
        #expect((error as? LDAPError)?.code == .timeout)
        let released = try await waitUntil(seconds: 120) { pool.activeJobs == 0 }
        #expect(released, "a pool thread is still blocked on the hung server")
        withExtendedLifetime(listener) {}
    }

    @Test(arguments: ["http://example.org", "ldap://host name", "ldaps://x:1"])
    func invalidOptionsAreRefusedWithoutIO(url: String) throws {
        let startTLS = url.hasPrefix("ldaps")
        #expect(throws: LDAPError.self) {
            try LDAPClient(options: LDAPConnectionOptions(url: url, startTLS: startTLS), pool: ldapTestPool)
        }
    }
}
