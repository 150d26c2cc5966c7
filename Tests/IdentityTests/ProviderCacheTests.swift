import CryptoCore
import Foundation
import IdentityCore
import LocalPasswords
import ProviderTesting
import Storage
import Testing

@testable import ApplicationTokens

/// The providers cache tokens and accounts while the store's authorization generation holds; these
/// tests change the store behind a warm cache and expect the next login to see the change.
@Suite struct ApplicationTokenCacheTests {
    struct Fixture {
        let environment: TestEnvironment
        let owner: User
        let issuer: TestTokenIssuer
        let provider: ApplicationTokenProvider

        static func make(touchInterval: ConfigDuration = .minutes(1)) async throws -> Fixture {
            let environment = try await TestEnvironment.make()
            let owner = try await environment.createUser("alice", password: "pw-alice")
            return Fixture(
                environment: environment, owner: owner,
                issuer: TestTokenIssuer(store: environment.store, now: environment.clock.function),
                provider: ApplicationTokenProvider(
                    id: "tokens", displayName: "Tokens",
                    configuration: .init(touchInterval: touchInterval), context: environment.context))
        }

        func login(_ secret: String) async throws -> PasswordOutcome {
            try await provider.authenticate(environment.credentials("alice", secret))
        }

        func lastUsed(_ name: String) async throws -> Date? {
            try await issuer.list(owner: owner.id).first { $0.name == name }?.lastUsedAt
        }
    }

    static func expectAuthenticated(_ outcome: PasswordOutcome, sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .authenticated = outcome else {
            Issue.record("expected authenticated, got \(outcome)", sourceLocation: sourceLocation)
            return
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

    @Test func aTokenRevokedAfterUseIsRejectedOnTheNextUse() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        Self.expectAuthenticated(try await fixture.login(plaintext))
        try await fixture.issuer.revoke(owner: fixture.owner.id, name: "ci")
        Self.expectRejected(try await fixture.login(plaintext), .expired)
    }

    @Test func aTokenRevokedDirectlyInTheStoreIsRejectedOnTheNextUse() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, token) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        let when = fixture.environment.clock.now()
        try await fixture.environment.store.write { try $0.revokeApplicationToken(token.id, at: when) }
        Self.expectRejected(try await fixture.login(plaintext), .expired)
    }

    @Test func aTokenWhoseOwnerIsDisabledAfterUseIsRejectedOnTheNextUse() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        let ownerID = fixture.owner.id
        try await fixture.environment.store.write { try $0.setEnabled(false, for: ownerID) }
        Self.expectRejected(try await fixture.login(plaintext), .disabled)
    }

    @Test func aTokenWhoseOwnerIsDeletedAfterUseIsRejectedOnTheNextUse() async throws {
        let fixture = try await Fixture.make()
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        let ownerID = fixture.owner.id
        try await fixture.environment.store.write { try $0.deleteUser(ownerID) }
        Self.expectRejected(try await fixture.login(plaintext), .invalidCredentials)
    }

    @Test func theLastUsedTimeIsWrittenAtMostOncePerTouchInterval() async throws {
        let fixture = try await Fixture.make(touchInterval: .minutes(1))
        let (plaintext, _) = try await fixture.issuer.create(
            owner: fixture.owner.id, name: "ci", expiresAt: nil, restriction: nil)
        let clock = fixture.environment.clock
        let start = clock.now()
        #expect(try await fixture.lastUsed("ci") == nil)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        #expect(try await fixture.lastUsed("ci") == start)

        // Many uses within the interval, some of them concurrent: the stored time stays the first one.
        for _ in 0..<20 {
            clock.advance(by: 2)
            Self.expectAuthenticated(try await fixture.login(plaintext))
        }
        try await withThrowingTaskGroup(of: PasswordOutcome.self) { group in
            for _ in 0..<20 { group.addTask { try await fixture.login(plaintext) } }
            for try await outcome in group { Self.expectAuthenticated(outcome) }
        }
        #expect(try await fixture.lastUsed("ci") == start)

        // A change that advances the generation empties nothing that matters: the store copy is still fresh.
        _ = try await fixture.issuer.create(owner: fixture.owner.id, name: "other", expiresAt: nil, restriction: nil)
        clock.advance(by: 10)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        #expect(try await fixture.lastUsed("ci") == start)

        // Once the interval has passed, the next use writes again, once.
        clock.advance(by: 20)
        let due = clock.now()
        #expect(due.timeIntervalSince(start) >= 60)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        #expect(try await fixture.lastUsed("ci") == due)
        clock.advance(by: 5)
        Self.expectAuthenticated(try await fixture.login(plaintext))
        #expect(try await fixture.lastUsed("ci") == due)
    }
}

@Suite struct LocalPasswordCacheTests {
    static func provider(_ environment: TestEnvironment, attempts: Int = 10) throws -> LocalPasswordProvider {
        try LocalPasswordProvider(
            id: "local", displayName: "Local accounts",
            configuration: .init(lockout: .init(attempts: attempts, duration: .minutes(10))),
            context: environment.context, unknownUserHashMethod: .bcrypt(cost: 4))
    }

    @Test func aPasswordChangedInTheStoreAfterALoginMakesTheOldPasswordFail() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("hank", password: "old pw")
        let provider = try Self.provider(environment)
        for _ in 0..<2 {
            ApplicationTokenCacheTests.expectAuthenticated(
                try await provider.authenticate(environment.credentials("hank", "old pw")))
        }
        #expect(provider.statistics.cacheHits == 1)
        let newHash = try PasswordHash.make(password: "new pw", method: .bcrypt(cost: 4))
        try await environment.store.write { try $0.setPasswordHash(newHash, for: user.id) }
        ApplicationTokenCacheTests.expectRejected(
            try await provider.authenticate(environment.credentials("hank", "old pw")), .invalidCredentials)
        ApplicationTokenCacheTests.expectAuthenticated(
            try await provider.authenticate(environment.credentials("hank", "new pw")))
    }

    @Test func failuresAfterACachedSuccessStillLockTheAccountAtTheConfiguredAttempts() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("carol", password: "pw-carol")
        let provider = try Self.provider(environment, attempts: 3)
        for _ in 0..<3 {
            ApplicationTokenCacheTests.expectAuthenticated(
                try await provider.authenticate(environment.credentials("carol", "pw-carol")))
        }
        #expect(provider.statistics.cacheHits == 2)
        let lockTime = environment.clock.now()
        for attempt in 1...3 {
            ApplicationTokenCacheTests.expectRejected(
                try await provider.authenticate(environment.credentials("carol", "wrong \(attempt)")),
                .invalidCredentials)
        }
        let stored = try #require(try await environment.user("carol"))
        #expect(stored.failedLoginCount == 3)
        let record = try await environment.store.read {
            try $0.addressLoginState(of: stored.id, from: "192.0.2.1")
        }
        #expect(record?.lockedUntil == lockTime.addingTimeInterval(600))
        // The right password, which the credential cache still holds, is refused while locked.
        for _ in 0..<2 {
            ApplicationTokenCacheTests.expectRejected(
                try await provider.authenticate(environment.credentials("carol", "pw-carol")),
                .locked(until: lockTime.addingTimeInterval(600)))
        }
    }

    @Test func aLockSetInTheStoreAfterALoginRefusesTheNextLogin() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("ivy", password: "pw-ivy")
        let provider = try Self.provider(environment)
        ApplicationTokenCacheTests.expectAuthenticated(
            try await provider.authenticate(environment.credentials("ivy", "pw-ivy")))
        let until = environment.clock.now().addingTimeInterval(60)
        let known = try #require(
            try await environment.store.read { try $0.addressLoginState(of: user.id, from: "192.0.2.1") })
        try await environment.store.write {
            var locked = known
            locked.lockedUntil = until
            try $0.saveAddressLoginState(locked)
        }
        ApplicationTokenCacheTests.expectRejected(
            try await provider.authenticate(environment.credentials("ivy", "pw-ivy")), .locked(until: until))
        // An account-wide lock set elsewhere shuts out addresses the account never logged in from.
        _ = try await environment.store.write { try $0.recordFailedLogin(of: user.id, lockedUntil: until) }
        ApplicationTokenCacheTests.expectRejected(
            try await provider.authenticate(environment.credentials("ivy", "pw-ivy", from: "198.51.100.3")),
            .invalidCredentials)
    }

    @Test func aUserDisabledInTheStoreAfterALoginIsRefusedOnTheNextLogin() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("jo", password: "pw-jo")
        let provider = try Self.provider(environment)
        ApplicationTokenCacheTests.expectAuthenticated(
            try await provider.authenticate(environment.credentials("jo", "pw-jo")))
        try await environment.store.write { try $0.setEnabled(false, for: user.id) }
        ApplicationTokenCacheTests.expectRejected(
            try await provider.authenticate(environment.credentials("jo", "pw-jo")), .disabled)
    }
}
