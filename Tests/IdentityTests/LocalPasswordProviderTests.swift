import CryptoCore
import Foundation
import IdentityCore
import LocalPasswords
import ProviderTesting
import Storage
import Testing

@Suite struct LocalPasswordProviderTests {
    /// A provider over `environment` with cost-4 dummy hashing and a counting verifier.
    static func provider(
        _ environment: TestEnvironment, _ configuration: LocalPasswordProvider.Configuration = .init(),
        verifier: CountingVerifier = CountingVerifier()
    ) throws -> LocalPasswordProvider {
        try LocalPasswordProvider(
            id: "local", displayName: "Local accounts", configuration: configuration, context: environment.context,
            unknownUserHashMethod: .bcrypt(cost: 4), verifier: verifier.function)
    }

    static func expectRejected(
        _ outcome: PasswordOutcome, _ expected: RejectionReason, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .rejected(let reason) = outcome, reason == expected else {
            Issue.record("expected rejected(\(expected)), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
    }

    static func expectAuthenticated(_ outcome: PasswordOutcome, sourceLocation: SourceLocation = #_sourceLocation)
        -> ExternalIdentity?
    {
        guard case .authenticated(let identity) = outcome else {
            Issue.record("expected authenticated, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return identity
    }

    @Test func passesThePasswordProviderConformanceSuite() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("alice", password: "correct horse")
        let provider = try Self.provider(environment)
        await PasswordProviderConformance.runAll(
            PasswordProviderFixture(
                provider: provider, username: "alice", password: "correct horse", wrongPassword: "battery staple",
                unknownUsername: "mallory", audit: environment.audit))
    }

    @Test func passesTheConformanceSuiteWithTheCacheOff() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("alice", password: "correct horse")
        let provider = try Self.provider(environment, .init(cache: .init(enabled: false)))
        await PasswordProviderConformance.runAll(
            PasswordProviderFixture(
                provider: provider, username: "alice", password: "correct horse", wrongPassword: "battery staple",
                unknownUsername: "mallory", audit: environment.audit))
    }

    @Test func theIdentityIsTheLocalAccount() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("alice", password: "pw-alice", email: "alice@example.org")
        let provider = try Self.provider(environment)
        let identity = Self.expectAuthenticated(
            try await provider.authenticate(environment.credentials("alice", "pw-alice")))
        #expect(identity?.origin == .localAccount(userID: user.id.rawValue))
        #expect(identity?.subject == String(user.id.rawValue))
        #expect(identity?.username == "alice")
        #expect(identity?.email == "alice@example.org")
        #expect(identity?.restriction == nil)
        #expect(try await environment.user("alice")?.lastLoginAt == environment.clock.now())
    }

    @Test(arguments: ["$2a$", "$2y$"])
    func bcryptHashesFromOtherImplementationsVerify(prefix: String) async throws {
        let environment = try await TestEnvironment.make()
        let made = try PasswordHash.make(password: "legacy pw", method: .bcrypt(cost: 4))
        try await environment.createUser("legacy", hash: prefix + made.dropFirst(4))
        let provider = try Self.provider(environment)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("legacy", "legacy pw")))
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("legacy", "other")), .invalidCredentials)
    }

    @Test func yescryptHashesVerify() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("modern", hash: try PasswordHash.make(password: "yes pw", method: .yescrypt))
        let provider = try Self.provider(environment)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("modern", "yes pw")))
    }

    @Test func unknownAndExternalOnlyUsersAreNotMineAfterADummyVerification() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("external")
        let verifier = CountingVerifier()
        let provider = try Self.provider(environment, verifier: verifier)
        for username in ["nobody", "external"] {
            guard case .notMine = try await provider.authenticate(environment.credentials(username, "guess")) else {
                Issue.record("\(username) was not notMine")
                continue
            }
        }
        #expect(provider.statistics.dummyVerifications == 2)
        #expect(provider.statistics.passwordVerifications == 0)
        #expect(verifier.count == 2)
        #expect(environment.audit.events.isEmpty)
    }

    @Test func anAbsurdlyLongUsernameIsNotMineWithoutALookup() async throws {
        let environment = try await TestEnvironment.make()
        let provider = try Self.provider(environment)
        let outcome = try await provider.authenticate(
            environment.credentials(String(repeating: "a", count: 100_000), "pw"))
        guard case .notMine = outcome else {
            Issue.record("expected notMine, got \(outcome)")
            return
        }
    }

    @Test func aDisabledUserIsRejectedEvenWithTheRightPassword() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("bob", password: "pw-bob", enabled: false)
        let provider = try Self.provider(environment)
        Self.expectRejected(try await provider.authenticate(environment.credentials("bob", "pw-bob")), .disabled)
        #expect(environment.audit.events(action: "login.password").count == 1)
    }

    @Test func wrongPasswordsLockTheAccountFromTheirAddressUntilTheDurationPasses() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("carol", password: "pw-carol")
        let provider = try Self.provider(environment, .init(lockout: .init(attempts: 3, duration: .minutes(10))))
        // Carol's own address: she logged in from it before.
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("carol", "pw-carol")))
        let lockTime = environment.clock.now()
        for _ in 0..<3 {
            Self.expectRejected(
                try await provider.authenticate(environment.credentials("carol", "wrong")), .invalidCredentials)
        }
        let stored = try #require(try await environment.user("carol"))
        #expect(stored.failedLoginCount == 3)
        #expect(stored.lockedUntil == nil)
        let record = try await environment.store.read { try $0.addressLoginState(of: user.id, from: "192.0.2.1") }
        #expect(record?.lockedUntil == lockTime.addingTimeInterval(600))

        // The right password is still checked (the same work as any other attempt), and only then is the
        // lock named, because this is the owner's address.
        let verificationsBefore = provider.statistics.passwordVerifications
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("carol", "pw-carol")),
            .locked(until: lockTime.addingTimeInterval(600)))
        #expect(provider.statistics.passwordVerifications == verificationsBefore + 1)
        // Another address is not locked.
        _ = Self.expectAuthenticated(
            try await provider.authenticate(environment.credentials("carol", "pw-carol", from: "192.0.2.2")))

        environment.clock.advance(by: 601)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("carol", "pw-carol")))
        let unlocked = try #require(try await environment.user("carol"))
        #expect(unlocked.failedLoginCount == 0)
        let cleared = try await environment.store.read { try $0.addressLoginState(of: user.id, from: "192.0.2.1") }
        #expect(cleared?.failedCount == 0 && cleared?.lockedUntil == nil)
    }

    @Test func aLockedAccountNeverConfirmsAGuessFromAnUnfamiliarAddress() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("carl", password: "pw-carl")
        let provider = try Self.provider(environment, .init(lockout: .init(attempts: 2, duration: .minutes(10))))
        let guesser = "198.51.100.20"
        for _ in 0..<2 {
            _ = try await provider.authenticate(environment.credentials("carl", "wrong", from: guesser))
        }
        // The right password from the locked, never-successful address is answered like a wrong one.
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("carl", "pw-carl", from: guesser)),
            .invalidCredentials)
    }

    @Test func anExpiredLockGrantsAFreshSetOfAttemptsAndTheNextLockLastsTwiceAsLong() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("dave", password: "pw-dave")
        let provider = try Self.provider(environment, .init(lockout: .init(attempts: 2, duration: .minutes(1))))
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("dave", "pw-dave")))
        for _ in 0..<2 { _ = try await provider.authenticate(environment.credentials("dave", "wrong")) }
        environment.clock.advance(by: 61)
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("dave", "wrong")), .invalidCredentials)
        let secondLock = environment.clock.now()
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("dave", "wrong")), .invalidCredentials)
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("dave", "pw-dave")),
            .locked(until: secondLock.addingTimeInterval(120)))
        let locks = environment.audit.events(action: "login.password").filter {
            $0.detail?.contains("invalid_credentials_locked") == true
        }
        #expect(locks.count == 2)
    }

    @Test func theAccountWideLockComesAtTheHigherCountAndSparesTheOwnersAddress() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("olga", password: "pw-olga")
        let provider = try Self.provider(
            environment, .init(lockout: .init(attempts: 3, duration: .minutes(10), accountAttempts: 12)))
        let owner = "192.0.2.50"
        _ = Self.expectAuthenticated(
            try await provider.authenticate(environment.credentials("olga", "pw-olga", from: owner)))
        // Two guesses each from six addresses: no address reaches its own lock, the account reaches twelve.
        for index in 0..<6 {
            for _ in 0..<2 {
                Self.expectRejected(
                    try await provider.authenticate(
                        environment.credentials("olga", "guess", from: "198.51.100.\(index + 1)")),
                    .invalidCredentials)
            }
        }
        let stored = try #require(try await environment.user("olga"))
        #expect(stored.lockedUntil == environment.clock.now().addingTimeInterval(600))
        // A new address is shut out even with the right password (and is not told why) ...
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("olga", "pw-olga", from: "203.0.113.77")),
            .invalidCredentials)
        // ... while the owner's usual address still gets in.
        _ = Self.expectAuthenticated(
            try await provider.authenticate(environment.credentials("olga", "pw-olga", from: owner)))
    }

    @Test func lockStateIsInTheStoreSoAnotherInstanceSeesIt() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("pete", password: "pw-pete")
        let configuration = LocalPasswordProvider.Configuration(lockout: .init(attempts: 2, duration: .minutes(10)))
        let first = try Self.provider(environment, configuration)
        let second = try Self.provider(environment, configuration)
        _ = Self.expectAuthenticated(try await second.authenticate(environment.credentials("pete", "pw-pete")))
        for _ in 0..<2 { _ = try await first.authenticate(environment.credentials("pete", "wrong")) }
        guard case .rejected(.locked) = try await second.authenticate(environment.credentials("pete", "pw-pete"))
        else {
            Issue.record("the second instance did not see the lock")
            return
        }
    }

    @Test func aRepeatedLoginIsServedFromTheCacheWithoutHashing() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("frank", password: "pw-frank")
        let verifier = CountingVerifier()
        let provider = try Self.provider(environment, verifier: verifier)
        for _ in 0..<3 {
            _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("frank", "pw-frank")))
        }
        #expect(verifier.count == 1)
        #expect(provider.statistics.cacheHits == 2)
        // A wrong password is never answered from the cache.
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("frank", "pw-frank!")), .invalidCredentials)
        #expect(verifier.count == 2)
    }

    @Test func theCacheExpiresAfterItsTTL() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.createUser("gina", password: "pw-gina")
        let verifier = CountingVerifier()
        let provider = try Self.provider(environment, .init(cache: .init(ttl: .minutes(5))), verifier: verifier)
        _ = try await provider.authenticate(environment.credentials("gina", "pw-gina"))
        environment.clock.advance(by: 301)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("gina", "pw-gina")))
        #expect(verifier.count == 2)
        #expect(provider.statistics.cacheHits == 0)
    }

    @Test func aPasswordChangeInvalidatesTheCachedCredential() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("hank", password: "old pw")
        let verifier = CountingVerifier()
        let provider = try Self.provider(environment, verifier: verifier)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("hank", "old pw")))
        let newHash = try PasswordHash.make(password: "new pw", method: .bcrypt(cost: 4))
        try await environment.store.write { try $0.setPasswordHash(newHash, for: user.id) }
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("hank", "old pw")), .invalidCredentials)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("hank", "new pw")))
        #expect(provider.statistics.cacheHits == 0)
        #expect(verifier.count == 3)
    }

    @Test func disablingOrLockingTheUserOverridesTheCache() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("ivy", password: "pw-ivy")
        let provider = try Self.provider(environment)
        _ = Self.expectAuthenticated(try await provider.authenticate(environment.credentials("ivy", "pw-ivy")))
        try await environment.store.write { try $0.setEnabled(false, for: user.id) }
        Self.expectRejected(try await provider.authenticate(environment.credentials("ivy", "pw-ivy")), .disabled)
        try await environment.store.write { try $0.setEnabled(true, for: user.id) }
        let until = environment.clock.now().addingTimeInterval(60)
        let address = "192.0.2.1"
        try await environment.store.write {
            try $0.saveAddressLoginState(
                AddressLoginState(
                    userID: user.id, clientAddress: address, failedCount: 10, lockCount: 1, lockedUntil: until,
                    lastSuccessAt: environment.clock.now()))
        }
        Self.expectRejected(
            try await provider.authenticate(environment.credentials("ivy", "pw-ivy", from: address)),
            .locked(until: until))
        #expect(provider.statistics.cacheHits == 0)
    }

    @Test(arguments: ["unknown", "wrong", "locked", "disabled"])
    func aWrongPasswordCostsOneVerificationAndGetsTheSameAnswerWhateverTheAccount(case name: String) async throws {
        let environment = try await TestEnvironment.make()
        let locked = try await environment.createUser("locked", password: "pw")
        try await environment.createUser("wrong", password: "pw")
        try await environment.createUser("disabled", password: "pw", enabled: false)
        let until = environment.clock.now().addingTimeInterval(3600)
        try await environment.store.write {
            _ = try $0.recordFailedLogin(of: locked.id, lockedUntil: until)
        }
        let verifier = CountingVerifier()
        let provider = try Self.provider(environment, verifier: verifier)
        let outcome = try await provider.authenticate(environment.credentials(name, "not-the-password"))
        #expect(provider.statistics.hashVerifications == 1)
        #expect(verifier.count == 1)
        switch (name, outcome) {
        case ("unknown", .notMine), (_, .rejected(.invalidCredentials)): break
        default: Issue.record("\(name): \(outcome)")
        }
    }

    @Test func failuresAreAuditedWithTheClientAddressAndNoPassword() async throws {
        let environment = try await TestEnvironment.make()
        let user = try await environment.createUser("jack", password: "pw-jack")
        let provider = try Self.provider(environment)
        _ = try await provider.authenticate(environment.credentials("jack", "s3cr3t-guess", from: "203.0.113.9"))
        let event = try #require(environment.audit.events.first)
        #expect(event.action == "login.password")
        #expect(event.outcome == .denied)
        #expect(event.actorID == user.id)
        #expect(event.clientIP == "203.0.113.9")
        #expect(event.detail == #"{"provider":"local","reason":"invalid_credentials"}"#)
        #expect(!String(reflecting: event).contains("s3cr3t-guess"))
    }

    @Test func theConfigurationDecodesWithDefaultsForMissingFields() throws {
        let empty = try JSONDecoder().decode(LocalPasswordProvider.Configuration.self, from: Data("{}".utf8))
        #expect(empty == LocalPasswordProvider.Configuration())
        #expect(empty.lockout.attempts == 10 && empty.lockout.duration.seconds == 600)
        #expect(empty.lockout.accountAttempts == 100 && empty.lockout.maxDuration.seconds == 3600)
        #expect(empty.rateLimit == nil)
        #expect(empty.cache.enabled && empty.cache.ttl.seconds == 300)
        let custom = try JSONDecoder().decode(
            LocalPasswordProvider.Configuration.self,
            from: Data(#"{"lockout": {"duration": 120}, "rateLimit": {"window": "30s"}, "cache": {"ttl": "1m"}}"#.utf8))
        #expect(custom.lockout == .init(attempts: 10, duration: ConfigDuration(seconds: 120)))
        #expect(custom.rateLimit?.window.seconds == 30)
        #expect(custom.cache.ttl.seconds == 60)
    }

    @Test func anUnusableConfigurationIsRefusedAtStart() async throws {
        let environment = try await TestEnvironment.make()
        let bad = LocalPasswordProvider.Configuration(
            lockout: .init(attempts: 3, duration: ConfigDuration(seconds: 0)), cache: .init(maxEntries: 0))
        do {
            _ = try LocalPasswordProvider.make(
                id: "local", displayName: "Local", configuration: bad, context: environment.context)
            Issue.record("a bad configuration was accepted")
        } catch let error as ProviderError {
            #expect(error.code == .misconfigured)
            #expect(error.reason.contains("lockout.duration"))
            #expect(error.reason.contains("cache.maxEntries"))
        }
    }
}
