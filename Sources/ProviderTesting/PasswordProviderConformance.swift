import IdentityCore
import Testing

/// The credentials a password provider's tests hand the conformance suite.
public struct PasswordProviderFixture: Sendable {
    /// The provider under test, fully set up.
    public var provider: any PasswordAuthenticating
    /// A user the provider knows.
    public var username: String
    /// That user's correct secret.
    public var password: String
    /// A secret the provider considers the user's and wrong (for a token provider: a well-formed,
    /// unknown token).
    public var wrongPassword: String
    /// A username the provider does not know.
    public var unknownUsername: String
    /// The secret sent with the unknown username (for a token provider: something that is not a token).
    public var unknownUserPassword: String
    /// The client address sent with every attempt.
    public var clientAddress: String
    /// The provider's audit sink, if it has one, to check that no secret reaches the audit log.
    public var audit: RecordingAudit?

    /// Describes a fixture.
    public init(
        provider: any PasswordAuthenticating, username: String, password: String, wrongPassword: String,
        unknownUsername: String, unknownUserPassword: String = "not-a-known-user-password",
        clientAddress: String = "192.0.2.10", audit: RecordingAudit? = nil
    ) {
        self.provider = provider
        self.username = username
        self.password = password
        self.wrongPassword = wrongPassword
        self.unknownUsername = unknownUsername
        self.unknownUserPassword = unknownUserPassword
        self.clientAddress = clientAddress
        self.audit = audit
    }

    func credentials(_ username: String, _ password: String) -> PasswordCredentials {
        PasswordCredentials(username: username, password: password, clientAddress: clientAddress)
    }
}

/// The behaviour every `PasswordAuthenticating` plugin must show (style.md §2.6), as `#expect`
/// checks a plugin's own `@Test` functions call.
///
/// Every check leaves the provider as it found it as far as lockout goes: it makes at most three
/// failed attempts and ends with a successful login, which resets failure counters.
public enum PasswordProviderConformance {
    /// Runs every check in turn.
    public static func runAll(_ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation)
        async
    {
        await wrongPasswordIsRejectedWithoutThrowing(fixture, sourceLocation: sourceLocation)
        await unknownUserIsNotMine(fixture, sourceLocation: sourceLocation)
        await emptyPasswordNeverAuthenticates(fixture, sourceLocation: sourceLocation)
        await subjectIsStableAcrossLogins(fixture, sourceLocation: sourceLocation)
        await secretsNeverAppearInDescriptions(fixture, sourceLocation: sourceLocation)
        await concurrentLoginsAreSafe(fixture, sourceLocation: sourceLocation)
    }

    /// A wrong secret for a known user is `.rejected(.invalidCredentials)`, not a thrown error.
    public static func wrongPasswordIsRejectedWithoutThrowing(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let outcome = await attempt(fixture, fixture.username, fixture.wrongPassword, sourceLocation)
        guard case .rejected(.invalidCredentials)? = outcome else {
            Issue.record(
                "a wrong password gave \(describe(outcome)), expected rejected(invalidCredentials)",
                sourceLocation: sourceLocation)
            return
        }
        await loginSucceeds(fixture, sourceLocation)
    }

    /// A username the provider does not know is `.notMine`, so the chain asks the next provider.
    public static func unknownUserIsNotMine(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let outcome = await attempt(fixture, fixture.unknownUsername, fixture.unknownUserPassword, sourceLocation)
        guard case .notMine? = outcome else {
            Issue.record("an unknown user gave \(describe(outcome)), expected notMine", sourceLocation: sourceLocation)
            return
        }
    }

    /// An empty secret never authenticates, for a known or an unknown user (Dex's bind guard).
    public static func emptyPasswordNeverAuthenticates(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        for username in [fixture.username, fixture.unknownUsername, ""] {
            let outcome = await attempt(fixture, username, "", sourceLocation)
            if case .authenticated? = outcome {
                Issue.record("an empty password authenticated \(username)", sourceLocation: sourceLocation)
            }
        }
        await loginSucceeds(fixture, sourceLocation)
    }

    /// Two logins of the same user give the same non-empty subject and name the provider.
    public static func subjectIsStableAcrossLogins(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        guard let first = await loginSucceeds(fixture, sourceLocation),
            let second = await loginSucceeds(fixture, sourceLocation)
        else { return }
        #expect(!first.subject.isEmpty, "the subject is empty", sourceLocation: sourceLocation)
        #expect(first.subject == second.subject, "the subject changed between logins", sourceLocation: sourceLocation)
        #expect(first.provider == fixture.provider.id, sourceLocation: sourceLocation)
    }

    /// Neither secret appears in the description of credentials, outcomes, identities or audit events.
    public static func secretsNeverAppearInDescriptions(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        var texts: [String] = []
        for (username, password) in [
            (fixture.username, fixture.password), (fixture.username, fixture.wrongPassword),
            (fixture.unknownUsername, fixture.unknownUserPassword),
        ] {
            let credentials = fixture.credentials(username, password)
            texts += [String(describing: credentials), String(reflecting: credentials)]
            if let outcome = await attempt(fixture, username, password, sourceLocation) {
                texts += [String(describing: outcome), String(reflecting: outcome)]
                if case .authenticated(let identity) = outcome {
                    texts += [String(describing: identity), String(reflecting: identity)]
                }
            }
        }
        await loginSucceeds(fixture, sourceLocation)
        for event in fixture.audit?.events ?? [] {
            texts.append(String(reflecting: event))
        }
        for secret in [fixture.password, fixture.wrongPassword, fixture.unknownUserPassword] {
            for text in texts where text.contains(secret) {
                Issue.record("a secret appears in \(text.prefix(80))…", sourceLocation: sourceLocation)
            }
        }
    }

    /// Many logins at once, good and bad, all get the answer they would get alone.
    public static func concurrentLoginsAreSafe(
        _ fixture: PasswordProviderFixture, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let provider = fixture.provider
        let good = fixture.credentials(fixture.username, fixture.password)
        let unknown = fixture.credentials(fixture.unknownUsername, fixture.unknownUserPassword)
        let results = await withTaskGroup(of: (Bool, Result<PasswordOutcome, any Error>).self) { group in
            for index in 0..<12 {
                let isGood = index % 3 != 2
                group.addTask {
                    do {
                        return (isGood, .success(try await provider.authenticate(isGood ? good : unknown)))
                    } catch {
                        return (isGood, .failure(error))
                    }
                }
            }
            var collected: [(Bool, Result<PasswordOutcome, any Error>)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        var subjects = Set<String>()
        for (isGood, result) in results {
            switch (isGood, result) {
            case (true, .success(.authenticated(let identity))): subjects.insert(identity.subject)
            case (false, .success(.notMine)): break
            case (_, .failure(let error)):
                Issue.record("a concurrent login threw \(error)", sourceLocation: sourceLocation)
            case (_, .success(let outcome)):
                Issue.record(
                    "a concurrent \(isGood ? "good" : "unknown-user") login gave \(describe(outcome))",
                    sourceLocation: sourceLocation)
            }
        }
        #expect(subjects.count <= 1, "concurrent logins gave different subjects", sourceLocation: sourceLocation)
    }

    // MARK: - Helpers

    /// One attempt; a thrown error is recorded as an issue and gives nil.
    private static func attempt(
        _ fixture: PasswordProviderFixture, _ username: String, _ password: String, _ sourceLocation: SourceLocation
    ) async -> PasswordOutcome? {
        do {
            return try await fixture.provider.authenticate(fixture.credentials(username, password))
        } catch {
            Issue.record("authenticate threw \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// A login with the correct secret, which must succeed (and resets any failure counter).
    @discardableResult
    private static func loginSucceeds(_ fixture: PasswordProviderFixture, _ sourceLocation: SourceLocation) async
        -> ExternalIdentity?
    {
        let outcome = await attempt(fixture, fixture.username, fixture.password, sourceLocation)
        guard case .authenticated(let identity)? = outcome else {
            Issue.record("the correct password gave \(describe(outcome))", sourceLocation: sourceLocation)
            return nil
        }
        return identity
    }

    private static func describe(_ outcome: PasswordOutcome?) -> String {
        outcome.map { String(describing: $0) } ?? "an error"
    }
}
