import Administration
import Foundation
import IdentityCore
import ProviderTesting
import Storage
import Testing

@testable import ApplicationTokens
@testable import CryptoCore

@Suite struct ApplicationTokenFormatTests {
    @Test func aGeneratedTokenIsWellFormed() {
        let token = ApplicationTokenFormat.generate()
        #expect(token.hasPrefix("pct_"))
        #expect(token.utf8.count == ApplicationTokenFormat.length)
        #expect(ApplicationTokenFormat.length == 53)
        #expect(ApplicationTokenFormat.isWellFormed(token))
        #expect(ApplicationTokenFormat.generate() != token)
        #expect(ApplicationTokenFormat.displayPrefix(of: token) == String(token.prefix(10)))
    }

    @Test func aTypoIsCaughtByTheChecksum() {
        let token = ApplicationTokenFormat.generate()
        var characters = Array(token)
        let index = 4 + 20
        characters[index] = characters[index] == "a" ? "b" : "a"
        #expect(!ApplicationTokenFormat.isWellFormed(String(characters)))
    }

    @Test(arguments: [
        "", "hunter2", "pct_", "ghp_0123456789012345678901234567890123456789012345678",
        "pct_0123456789012345678901234567890123456789012345678",
        "pct_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ])
    func textThatIsNotATokenIsNotWellFormed(text: String) {
        #expect(!ApplicationTokenFormat.isWellFormed(text))
    }

    @Test func theChecksumIsTheIEEECRC32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func base62HasAFixedWidthAndTheUsualAlphabet() {
        #expect(ApplicationTokenFormat.base62([0, 61], width: 3) == "00z")
        #expect(ApplicationTokenFormat.base62([0, 62], width: 3) == "010")
        #expect(ApplicationTokenFormat.base62([UInt8](repeating: 0xff, count: 32), width: 43).count == 43)
    }

    @Test func theStoredHashIsTheHexSHA256() {
        #expect(
            ApplicationTokenFormat.secretHash(of: "abc")
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite struct ApplicationTokenProviderTests {
    struct Fixture {
        let environment: TestEnvironment
        let owner: User
        let issuer: TestTokenIssuer
        let provider: ApplicationTokenProvider

        static func make(enabled: Bool = true) async throws -> Fixture {
            let environment = try await TestEnvironment.make()
            let owner = try await environment.createUser("alice", password: "pw-alice", enabled: enabled)
            return Fixture(
                environment: environment, owner: owner,
                issuer: TestTokenIssuer(store: environment.store, now: environment.clock.function),
                provider: ApplicationTokenProvider(id: "tokens", displayName: "Tokens", context: environment.context))
        }

        func login(_ username: String, _ secret: String) async throws -> PasswordOutcome {
            try await provider.authenticate(environment.credentials(username, secret))
        }
    }

    static func expectRejected(
        _ outcome: PasswordOutcome, _ expected: RejectionReason, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .rejected(let reason) = outcome, reason == expected else {
            Issue.record("expected rejected(\(expected)), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
    }

    @Test func passesThePasswordProviderConformanceSuite() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        await PasswordProviderConformance.runAll(
            PasswordProviderFixture(
                provider: fixture.provider, username: "alice", password: plaintext,
                wrongPassword: ApplicationTokenFormat.generate(), unknownUsername: "mallory",
                unknownUserPassword: "hunter2", audit: fixture.environment.audit))
    }

    @Test func aGoodTokenAuthenticatesItsOwnerAsTheLocalAccount() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, token) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "laptop", expiresAt: nil, restriction: nil)
        guard case .authenticated(let identity) = try await fixture.login("alice", plaintext) else {
            Issue.record("the token did not authenticate")
            return
        }
        #expect(identity.origin == .localAccount(userID: fixture.owner.id.rawValue))
        #expect(identity.subject == String(fixture.owner.id.rawValue))
        #expect(identity.provider == "tokens")
        #expect(identity.restriction == nil)
        #expect(token.secretHash == ApplicationTokenFormat.secretHash(of: plaintext))
        #expect(token.prefix == ApplicationTokenFormat.displayPrefix(of: plaintext))
        #expect(!String(describing: token).contains(plaintext))
    }

    @Test func aPasswordThatIsNotATokenIsLeftToTheNextProvider() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        var typo = Array(plaintext)
        typo[typo.count - 1] = typo.last == "0" ? "1" : "0"
        for secret in ["pw-alice", String(typo), plaintext + "x"] {
            guard case .notMine = try await fixture.login("alice", secret) else {
                Issue.record("\(secret.prefix(6))… was not left to the next provider")
                continue
            }
        }
        #expect(fixture.environment.audit.events.isEmpty)
    }

    @Test func anUnknownWellFormedTokenIsRejected() async throws {
        let fixture = try await Fixture.make()
        Self.expectRejected(try await fixture.login("alice", ApplicationTokenFormat.generate()), .invalidCredentials)
        let event = try #require(fixture.environment.audit.events.first)
        #expect(event.action == "login.application_token")
        #expect(event.detail?.contains("unknown_token") == true)
    }

    @Test(arguments: ["bob", "alice ", "alic"])
    func aGoodTokenWithAnotherUsernameIsRejected(username: String) async throws {
        let fixture = try await Fixture.make()
        try await fixture.environment.createUser("bob", password: "pw-bob")
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectRejected(try await fixture.login(username, plaintext), .invalidCredentials)
    }

    /// Names differing only in case are one account (`Username`), for tokens as for passwords.
    @Test(arguments: ["Alice", "ALICE"])
    func aGoodTokenWithTheOwnersNameInAnotherCaseIsAccepted(username: String) async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        guard case .authenticated(let identity) = try await fixture.login(username, plaintext) else {
            Issue.record("expected the token to be accepted")
            return
        }
        #expect(identity.username == "alice")
    }

    @Test func anExpiredTokenIsRejectedAsExpired() async throws {
        let fixture = try await Fixture.make()
        let expiry = fixture.environment.clock.now().addingTimeInterval(3_600)
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "short", expiresAt: expiry, restriction: nil)
        guard case .authenticated = try await fixture.login("alice", plaintext) else {
            Issue.record("the token did not work before its expiry")
            return
        }
        fixture.environment.clock.advance(by: 3_600)
        Self.expectRejected(try await fixture.login("alice", plaintext), .expired)
    }

    @Test func aRevokedTokenIsRejectedAsExpired() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "old", expiresAt: nil, restriction: nil)
        try await fixture.issuer.revoke(owner: fixture.owner.id, name: "old")
        try await fixture.issuer.revoke(owner: fixture.owner.id, name: "old")
        Self.expectRejected(try await fixture.login("alice", plaintext), .expired)
        let listed = try await fixture.issuer.list(owner: fixture.owner.id)
        #expect(listed.count == 1)
        #expect(listed.first?.revokedAt != nil)
    }

    @Test func revokingATokenOfSomeoneElseIsNotFound() async throws {
        let fixture = try await Fixture.make()
        let bob = try await fixture.environment.createUser("bob", password: "pw-bob")
        _ = try await fixture.issuer.create(owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        await #expect(throws: ApplicationTokenError(.notFound, "no token named \"ci\"")) {
            try await fixture.issuer.revoke(owner: bob.id, name: "ci")
        }
    }

    @Test func aDisabledOwnersTokenIsRejectedAsDisabled() async throws {
        let fixture = try await Fixture.make(enabled: false)
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectRejected(try await fixture.login("alice", plaintext), .disabled)
    }

    @Test func theRestrictionRoundTripsIntoTheIdentity() async throws {
        let fixture = try await Fixture.make()
        let restriction = AccessRestriction(namespaces: ["team-b", "team-a"], actions: ["pull"])
        let (plaintext, token) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "deploy", expiresAt: nil, restriction: restriction)
        #expect(token.scope == #"{"actions":["pull"],"namespaces":["team-a","team-b"]}"#)
        #expect(try token.decodedRestriction() == restriction)
        guard case .authenticated(let identity) = try await fixture.login("alice", plaintext) else {
            Issue.record("the restricted token did not authenticate")
            return
        }
        #expect(identity.restriction == restriction)
        let listed = try await fixture.issuer.list(owner: fixture.owner.id)
        #expect(try listed.first?.decodedRestriction() == restriction)
    }

    @Test func anUnrestrictedRestrictionIsStoredAsNone() async throws {
        let fixture = try await Fixture.make()
        let (_, token) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "all", expiresAt: nil, restriction: AccessRestriction())
        #expect(token.scope == nil)
    }

    @Test func theLastUsedTimeIsWrittenAtMostOnceAMinute() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        let clock = fixture.environment.clock
        let first = clock.now()
        func lastUsed() async throws -> Date? {
            try await fixture.issuer.list(owner: fixture.owner.id).first?.lastUsedAt
        }
        #expect(try await lastUsed() == nil)
        _ = try await fixture.login("alice", plaintext)
        #expect(try await lastUsed() == first)
        clock.advance(by: 30)
        _ = try await fixture.login("alice", plaintext)
        #expect(try await lastUsed() == first)
        clock.advance(by: 31)
        _ = try await fixture.login("alice", plaintext)
        #expect(try await lastUsed() == clock.now())
    }

    @Test func namesAreCheckedAndUniquePerOwner() async throws {
        let fixture = try await Fixture.make()
        _ = try await fixture.issuer.create(owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        await #expect(throws: ApplicationTokenError(.nameTaken, "a token named \"ci\" already exists")) {
            _ = try await fixture.issuer.create(owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        }
        for name in ["", "tab\there", String(repeating: "n", count: 101)] {
            do {
                _ = try await fixture.issuer.create(
                    owner: fixture.owner.id, name: name, expiresAt: nil, restriction: nil)
                Issue.record("the name \(name.debugDescription) was accepted")
            } catch let error as ApplicationTokenError {
                #expect(error.code == .invalidName)
            }
        }
        do {
            _ = try await fixture.issuer.create(
                owner: fixture.owner.id, name: "past", expiresAt: fixture.environment.clock.now(), restriction: nil)
            Issue.record("an expiry in the past was accepted")
        } catch let error as ApplicationTokenError {
            #expect(error.code == .invalidExpiry)
        }
        do {
            _ = try await fixture.issuer.create(owner: User.ID(9_999), name: "ghost", expiresAt: nil, restriction: nil)
            Issue.record("a token was made for a missing user")
        } catch let error as ApplicationTokenError {
            #expect(error.code == .notFound)
        }
    }
}
