import Foundation
import IdentityCore
import ProviderTesting
import Synchronization
import Testing

/// A provider that holds every check until the test releases it: the seam that makes the concurrency bound
/// testable without sleeping.
final class GateProvider: PasswordAuthenticating {
    let id: ProviderID = "gate"
    let displayName = "gate"
    private let state = Mutex<(waiting: [CheckedContinuation<Void, Never>], entered: Int, open: Bool)>(([], 0, false))

    /// Checks that have started.
    var entered: Int { state.withLock { $0.entered } }

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                state.entered += 1
                if state.open { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return .rejected(.invalidCredentials)
    }

    /// Lets every held and later check finish.
    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// Counts decoy work, to show the chain spends it on the providers a refusal skipped.
final class DecoyCountingProvider: PasswordAuthenticating {
    let id: ProviderID
    let displayName: String
    private let outcome: PasswordOutcome
    private let decoys = Atomic<Int>(0)
    private let checks = Atomic<Int>(0)

    init(_ id: ProviderID, _ outcome: PasswordOutcome) {
        self.id = id
        self.displayName = id.rawValue
        self.outcome = outcome
    }

    var decoyCount: Int { decoys.load(ordering: .relaxed) }
    var checkCount: Int { checks.load(ordering: .relaxed) }
    /// Checks plus decoys: the work this provider did.
    var work: Int { decoyCount + checkCount }

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        checks.add(1, ordering: .relaxed)
        return outcome
    }

    func spendDecoyWork(for credentials: PasswordCredentials) async { decoys.add(1, ordering: .relaxed) }
}

@Suite struct PasswordGuessingTests {
    static func credentials(_ username: String, from address: String = "192.0.2.1") -> PasswordCredentials {
        PasswordCredentials(username: username, password: "guess", clientAddress: address)
    }

    @Test func unknownNamesCountTowardsTheAddressLimitAndThenNoProviderIsAsked() async {
        let clock = FixedClock()
        let provider = StubProvider("local", .outcome(.notMine))
        let chain = PasswordChain(
            [provider], throttle: GuessingThrottle(limits: GuessingLimits(failures: 3, window: 60)),
            now: clock.function)
        for index in 0..<3 {
            guard case .unknownUser = await chain.authenticate(Self.credentials("nobody\(index)")) else {
                Issue.record("attempt \(index) was not an unknown user")
                return
            }
        }
        clock.advance(by: 15)
        guard case .throttled(let refusal) = await chain.authenticate(Self.credentials("nobody")) else {
            Issue.record("the fourth attempt was not throttled")
            return
        }
        #expect(refusal == Throttling(cause: .failures, retryAfterSeconds: 45, isFirstInWindow: true))
        #expect(provider.callCount == 3)
        // Another address is not affected; the window's end frees the first.
        guard case .unknownUser = await chain.authenticate(Self.credentials("nobody", from: "192.0.2.2")) else {
            Issue.record("another address was throttled")
            return
        }
        clock.advance(by: 46)
        guard case .unknownUser = await chain.authenticate(Self.credentials("nobody")) else {
            Issue.record("the window's end did not free the address")
            return
        }
    }

    @Test(arguments: [
        PasswordOutcome.rejected(.invalidCredentials), .rejected(.disabled), .rejected(.expired),
        .rejected(.locked(until: Date(timeIntervalSince1970: 0))),
    ])
    func everyRefusalCountsTowardsTheAddressLimit(outcome: PasswordOutcome) async {
        let chain = PasswordChain(
            [StubProvider("any", .outcome(outcome))],
            throttle: GuessingThrottle(limits: GuessingLimits(failures: 1, window: 60)))
        _ = await chain.authenticate(Self.credentials("alice"))
        guard case .throttled = await chain.authenticate(Self.credentials("alice")) else {
            Issue.record("\(outcome) did not count")
            return
        }
    }

    @Test func successesAndOutagesDoNotCount() async {
        let throttle = GuessingThrottle(limits: GuessingLimits(failures: 1, window: 60))
        let accepting = PasswordChain([StubProvider.accepting("local")], throttle: throttle)
        let failing = PasswordChain(
            [StubProvider("ldap", .failure(ProviderError(.unavailable, provider: "ldap", reason: "down")))],
            throttle: throttle)
        for _ in 0..<3 {
            _ = await accepting.authenticate(Self.credentials("alice"))
            _ = await failing.authenticate(Self.credentials("alice"))
        }
        #expect(!throttle.isRefusing("192.0.2.1", now: Date()))
    }

    @Test func checksBeyondTheConcurrencyBoundAreRefusedAtOnceWithoutAskingAProvider() async throws {
        let gate = GateProvider()
        let chain = PasswordChain(
            [gate], throttle: GuessingThrottle(limits: GuessingLimits(failures: 0, window: 60, concurrentChecks: 2)))
        async let first = chain.authenticate(Self.credentials("a"))
        async let second = chain.authenticate(Self.credentials("b"))
        // Both held checks have reached the provider (a bounded wait for a condition, not a sleep).
        var rounds = 0
        while gate.entered < 2 && rounds < 100_000 {
            await Task.yield()
            rounds += 1
        }
        #expect(gate.entered == 2)
        #expect(chain.throttle?.runningChecks(from: "192.0.2.1") == 2)
        guard case .throttled(let refusal) = await chain.authenticate(Self.credentials("c")) else {
            Issue.record("a third concurrent check was admitted")
            gate.open()
            _ = await (first, second)
            return
        }
        #expect(refusal.cause == .concurrency && refusal.retryAfterSeconds == 1 && refusal.isFirstInWindow)
        guard case .throttled(let again) = await chain.authenticate(Self.credentials("d")) else {
            Issue.record("a fourth concurrent check was admitted")
            gate.open()
            _ = await (first, second)
            return
        }
        #expect(!again.isFirstInWindow)
        // Another address is not bounded by this one's checks.
        gate.open()
        guard case .rejected = await chain.authenticate(Self.credentials("e", from: "192.0.2.9")) else {
            Issue.record("another address was bounded")
            return
        }
        _ = await (first, second)
        #expect(gate.entered == 3)
        #expect(chain.throttle?.runningChecks(from: "192.0.2.1") == 0)
    }

    @Test func aRefusalMakesTheProvidersItSkippedSpendTheirUnknownNameWork() async {
        let tokens = DecoyCountingProvider("app-tokens", .notMine)
        let local = DecoyCountingProvider("local", .rejected(.invalidCredentials))
        let ldap = DecoyCountingProvider("ldap", .notMine)
        _ = await PasswordChain([tokens, local, ldap]).authenticate(Self.credentials("alice"))
        // Every provider did one unit of work, as for a name nobody knows.
        #expect(tokens.work == 1 && local.work == 1 && ldap.work == 1)
        #expect(ldap.decoyCount == 1 && ldap.checkCount == 0)
        let unknownTokens = DecoyCountingProvider("app-tokens", .notMine)
        let unknownLocal = DecoyCountingProvider("local", .notMine)
        let unknownLDAP = DecoyCountingProvider("ldap", .notMine)
        _ = await PasswordChain([unknownTokens, unknownLocal, unknownLDAP]).authenticate(Self.credentials("nobody"))
        #expect(unknownTokens.work == 1 && unknownLocal.work == 1 && unknownLDAP.work == 1)
    }
}
