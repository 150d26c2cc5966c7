import Foundation
import IdentityCore
import Synchronization
import Testing

/// A provider that answers from a script and counts how often it was asked.
final class StubProvider: PasswordAuthenticating {
    enum Answer: Sendable {
        case outcome(PasswordOutcome)
        case failure(any Error)
    }

    let id: ProviderID
    let displayName: String
    private let answer: Answer
    private let calls = Atomic<Int>(0)

    init(_ id: ProviderID, _ answer: Answer) {
        self.id = id
        self.displayName = id.rawValue
        self.answer = answer
    }

    var callCount: Int { calls.load(ordering: .relaxed) }

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        calls.add(1, ordering: .relaxed)
        switch answer {
        case .outcome(let outcome): return outcome
        case .failure(let error): throw error
        }
    }

    static func accepting(_ id: ProviderID) -> StubProvider {
        StubProvider(id, .outcome(.authenticated(ExternalIdentity(provider: id, subject: "s-\(id)", username: "u"))))
    }
}

struct SomeOtherError: Error {}

@Suite struct PasswordChainTests {
    let credentials = PasswordCredentials(username: "alice", password: "secret", clientAddress: "192.0.2.1")

    @Test func theFirstProviderThatAuthenticatesWins() async {
        let first = StubProvider("ldap", .outcome(.notMine))
        let second = StubProvider.accepting("local")
        let third = StubProvider.accepting("other")
        let outcome = await PasswordChain([first, second, third]).authenticate(credentials)
        guard case .authenticated(let identity) = outcome else {
            Issue.record("expected authenticated, got \(outcome)")
            return
        }
        #expect(identity.provider == "local")
        #expect(first.callCount == 1 && second.callCount == 1 && third.callCount == 0)
    }

    @Test func aRejectionStopsTheChain() async {
        let first = StubProvider("local", .outcome(.rejected(.invalidCredentials)))
        let second = StubProvider.accepting("ldap")
        let outcome = await PasswordChain([first, second]).authenticate(credentials)
        guard case .rejected(by: let provider, let reason) = outcome else {
            Issue.record("expected rejected, got \(outcome)")
            return
        }
        #expect(provider == "local")
        #expect(reason == .invalidCredentials)
        #expect(second.callCount == 0)
    }

    @Test func runningOffTheEndIsAnUnknownUser() async {
        let providers = [StubProvider("a", .outcome(.notMine)), StubProvider("b", .outcome(.notMine))]
        let outcome = await PasswordChain(providers).authenticate(credentials)
        guard case .unknownUser = outcome else {
            Issue.record("expected unknownUser, got \(outcome)")
            return
        }
        #expect(providers.allSatisfy { $0.callCount == 1 })
    }

    @Test func anEmptyChainDeniesEveryone() async {
        guard case .unknownUser = await PasswordChain([]).authenticate(credentials) else {
            Issue.record("an empty chain did not deny")
            return
        }
    }

    @Test func anEmptyPasswordIsDeniedBeforeAnyProviderIsAsked() async {
        let provider = StubProvider.accepting("ldap")
        for (username, password) in [("alice", ""), ("", "secret")] {
            let outcome = await PasswordChain([provider]).authenticate(
                PasswordCredentials(username: username, password: password, clientAddress: "192.0.2.1"))
            guard case .unknownUser = outcome else {
                Issue.record("expected unknownUser, got \(outcome)")
                return
            }
        }
        #expect(provider.callCount == 0)
    }

    @Test func aProviderThatCannotDecideStopsTheChainInsteadOfFallingThrough() async {
        let outage = ProviderError(.unavailable, provider: "corp-ldap", reason: "connection refused")
        let ldap = StubProvider("corp-ldap", .failure(outage))
        let local = StubProvider.accepting("local")
        let outcome = await PasswordChain([ldap, local]).authenticate(credentials)
        guard case .unavailable(let error) = outcome else {
            Issue.record("expected unavailable, got \(outcome)")
            return
        }
        #expect(error == outage)
        #expect(local.callCount == 0)
    }

    @Test func anErrorOutsideTheContractIsAnInternalFailureOfThatProvider() async {
        let broken = StubProvider("broken", .failure(SomeOtherError()))
        let outcome = await PasswordChain([broken, StubProvider.accepting("local")]).authenticate(credentials)
        guard case .unavailable(let error) = outcome else {
            Issue.record("expected unavailable, got \(outcome)")
            return
        }
        #expect(error.code == .internalFailure)
        #expect(error.provider == "broken")
    }
}
