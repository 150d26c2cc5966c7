import CryptoCore
import Foundation
import IdentityCore
import LocalPasswords
import ProviderTesting
import Storage
import Testing

@testable import ApplicationTokens

/// `cachedOutcome(for:)`, the synchronous answer the token endpoint's event-loop fast path asks for: it
/// vouches only for what `authenticate` would accept without writing or recording anything, and stops
/// vouching the moment the store changes.
@Suite struct CachedApplicationTokenOutcomeTests {
    private typealias Fixture = ApplicationTokenCacheTests.Fixture

    private static func identity(_ outcome: PasswordOutcome?) -> ExternalIdentity? {
        guard case .authenticated(let identity)? = outcome else { return nil }
        return identity
    }

    @Test func aTokenIsVouchedForOnlyAfterALoginAndThenAsAuthenticateDecides() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        let credentials = fixture.environment.credentials("alice", plaintext)
        #expect(fixture.provider.cachedOutcome(for: credentials) == nil)
        let authenticated = try #require(Self.identity(try await fixture.login(plaintext)))
        #expect(Self.identity(fixture.provider.cachedOutcome(for: credentials)) == authenticated)
    }

    @Test func passwordsThatAreNotTokensAreNotMineAtOnce() async throws {
        let fixture = try await Fixture.make()
        let outcome = fixture.provider.cachedOutcome(for: fixture.environment.credentials("alice", "pw-alice"))
        guard case .notMine? = outcome else {
            Issue.record("expected notMine, got \(String(describing: outcome))")
            return
        }
    }

    @Test func aTokenRevokedAfterUseIsNoLongerVouchedForAndIsRefusedByAuthenticate() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, token) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        let credentials = fixture.environment.credentials("alice", plaintext)
        ApplicationTokenCacheTests.expectAuthenticated(try await fixture.login(plaintext))
        #expect(Self.identity(fixture.provider.cachedOutcome(for: credentials)) != nil)
        let when = fixture.environment.clock.now()
        try await fixture.environment.store.write { try $0.revokeApplicationToken(token.id, at: when) }
        #expect(fixture.provider.cachedOutcome(for: credentials) == nil)
        ApplicationTokenCacheTests.expectRejected(try await fixture.login(plaintext), .expired)
    }

    @Test func aTokenOfADisabledOwnerOrUnderAnotherNameIsNotVouchedFor() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        ApplicationTokenCacheTests.expectAuthenticated(try await fixture.login(plaintext))
        #expect(fixture.provider.cachedOutcome(for: fixture.environment.credentials("bob", plaintext)) == nil)
        let ownerID = fixture.owner.id
        try await fixture.environment.store.write { try $0.setEnabled(false, for: ownerID) }
        #expect(fixture.provider.cachedOutcome(for: fixture.environment.credentials("alice", plaintext)) == nil)
    }

    @Test func aDueLastUsedWriteIsLeftToAuthenticate() async throws {
        let fixture = try await Fixture.make(touchInterval: .minutes(1))
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        let credentials = fixture.environment.credentials("alice", plaintext)
        ApplicationTokenCacheTests.expectAuthenticated(try await fixture.login(plaintext))
        #expect(fixture.provider.cachedOutcome(for: credentials) != nil)
        fixture.environment.clock.advance(by: 61)
        #expect(fixture.provider.cachedOutcome(for: credentials) == nil)
        ApplicationTokenCacheTests.expectAuthenticated(try await fixture.login(plaintext))
        #expect(try await fixture.lastUsed("ci") == fixture.environment.clock.now())
        #expect(fixture.provider.cachedOutcome(for: credentials) != nil)
    }
}

@Suite struct CachedLocalPasswordOutcomeTests {
    private static func provider(_ environment: TestEnvironment) throws -> LocalPasswordProvider {
        try LocalPasswordProvider(
            id: "local", displayName: "Local accounts", context: environment.context,
            unknownUserHashMethod: .bcrypt(cost: 4))
    }

    @Test func aVerifiedPasswordIsVouchedForAndCountsAsACacheHitOnly() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("hank", password: "pw-hank")
        let provider = try Self.provider(environment)
        let credentials = environment.credentials("hank", "pw-hank")
        #expect(provider.cachedOutcome(for: credentials) == nil)
        ApplicationTokenCacheTests.expectAuthenticated(try await provider.authenticate(credentials))
        let outcome = provider.cachedOutcome(for: credentials)
        guard case .authenticated(let identity)? = outcome else {
            Issue.record("expected authenticated, got \(String(describing: outcome))")
            return
        }
        #expect(identity.username == "hank")
        #expect(provider.statistics.cacheHits == 1)
        #expect(provider.statistics.passwordVerifications == 1)
    }

    @Test func aWrongPasswordIsNeverVouchedForNorCountedAsAFailureHere() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("hank", password: "pw-hank")
        let provider = try Self.provider(environment)
        ApplicationTokenCacheTests.expectAuthenticated(
            try await provider.authenticate(environment.credentials("hank", "pw-hank")))
        #expect(provider.cachedOutcome(for: environment.credentials("hank", "wrong")) == nil)
        #expect(provider.cachedOutcome(for: environment.credentials("hank", "")) == nil)
        #expect(try await environment.user("hank")?.failedLoginCount == 0)
    }

    @Test func aUserDisabledAfterALoginIsNoLongerVouchedFor() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("jo", password: "pw-jo")
        let provider = try Self.provider(environment)
        let credentials = environment.credentials("jo", "pw-jo")
        ApplicationTokenCacheTests.expectAuthenticated(try await provider.authenticate(credentials))
        #expect(provider.cachedOutcome(for: credentials) != nil)
        try await environment.store.write { try $0.setEnabled(false, for: user.id) }
        #expect(provider.cachedOutcome(for: credentials) == nil)
        ApplicationTokenCacheTests.expectRejected(try await provider.authenticate(credentials), .disabled)
    }

    @Test func aThrottledAddressIsLeftToTheChainsAuthenticateWhichSaysWhetherToAudit() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("kim", password: "pw-kim")
        let provider = try Self.provider(environment)
        let chain = PasswordChain(
            [provider], throttle: GuessingThrottle(limits: GuessingLimits(failures: 2, window: 60)),
            now: environment.clock.function)
        let good = environment.credentials("kim", "pw-kim", from: "198.51.100.9")
        guard case .authenticated = await chain.authenticate(good) else {
            Issue.record("the first login failed")
            return
        }
        #expect(chain.cachedAuthentication(good) != nil)
        for attempt in 1...2 {
            _ = await chain.authenticate(environment.credentials("kim", "wrong \(attempt)", from: "198.51.100.9"))
        }
        #expect(chain.cachedAuthentication(good) == nil)
        guard case .throttled(let first) = await chain.authenticate(good),
            case .throttled(let second) = await chain.authenticate(good)
        else {
            Issue.record("expected throttling")
            return
        }
        #expect(first.cause == .failures && first.isFirstInWindow && first.retryAfterSeconds == 60)
        #expect(!second.isFirstInWindow)
    }
}
