import Foundation
import IdentityCore
import LDAP
import TestSupport
import Testing

/// A password provider that knows one local user, standing in for local passwords in the chain.
struct OneLocalUser: PasswordAuthenticating {
    let id: ProviderID = "local"
    let displayName = "Local"

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        guard credentials.username == "admin" else { return .notMine }
        guard credentials.password == "local-secret" else { return .rejected(.invalidCredentials) }
        return .authenticated(
            ExternalIdentity(provider: id, subject: "1", username: "admin", origin: .localAccount(userID: 1)))
    }
}

/// The directory goes away, hangs and comes back: LDAP users get "unavailable" within the timeout,
/// never "bad password", and other providers keep working. One slapd of its own, one test at a time.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("faults"), .serialized)
struct LDAPFaultTests {
    var slapd: Slapd { get throws { try SlapdFixture.require() } }

    /// Connect 1 s + operation 1 s, plus generous slack for a loaded machine: an upper bound, not a speed.
    static let patience: Duration = .seconds(2) + .seconds(20)

    func expectUnavailableInTime(
        _ provider: LDAPProvider, _ environment: LDAPTestEnvironment, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let started = ContinuousClock.now
        do {
            let outcome = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
            Issue.record("expected unavailable, got \(outcome)", sourceLocation: sourceLocation)
        } catch let error as ProviderError {
            #expect(error.code == .unavailable, "\(error)", sourceLocation: sourceLocation)
            #expect(error.provider == provider.id, sourceLocation: sourceLocation)
            #expect(error.reason.contains("identity provider unavailable"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
        #expect(ContinuousClock.now - started < Self.patience, sourceLocation: sourceLocation)
    }

    @Test func slapdStoppedMidRunIsUnavailableAndLoginsResumeAfterRestart() async throws {
        let slapd = try slapd
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let chain = PasswordChain([OneLocalUser(), provider])
        let before = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(before.identity != nil)

        slapd.stop()
        await expectUnavailableInTime(provider, environment)
        // The local account is unaffected; the LDAP user gets a 503-style answer, not "bad password".
        guard case .authenticated = await chain.authenticate(environment.credentials("admin", "local-secret")) else {
            Issue.record("the local login failed while LDAP was down")
            return
        }
        guard case .unavailable(let error) = await chain.authenticate(environment.credentials("alice", "anything"))
        else {
            Issue.record("an LDAP login during the outage was not 'unavailable'")
            return
        }
        #expect(error.provider == "corp-ldap")

        try await slapd.restart()
        let after = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(after.identity?.subject == before.identity?.subject)
    }

    @Test func aFrozenSlapdIsUnavailableWithinTheTimeout() async throws {
        let slapd = try slapd
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        slapd.pause()
        defer { slapd.resume() }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { await expectUnavailableInTime(provider, environment) } }
        }
        slapd.resume()
        let after = try await provider.authenticate(environment.credentials("alice", Slapd.alice.password))
        #expect(after.identity != nil)
    }

    @Test(arguments: [false, true])
    func aServerThatAcceptsAndNeverAnswersIsUnavailableWithinTheTimeout(ldaps: Bool) async throws {
        let listener = try SilentListener()
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) {
            $0.url = "\(ldaps ? "ldaps" : "ldap")://127.0.0.1:\(listener.port)"
            $0.startTLS = !ldaps
        }
        await expectUnavailableInTime(provider, environment)
        withExtendedLifetime(listener) {}
    }

    @Test func aPortNobodyListensOnIsUnavailable() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd) { $0.url = "ldap://127.0.0.1:\(try! closedPort())" }
        await expectUnavailableInTime(provider, environment)
    }
}
