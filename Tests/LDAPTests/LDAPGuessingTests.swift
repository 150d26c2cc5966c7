import CryptoCore
import Foundation
import IdentityCore
import LDAP
import LocalPasswords
import Storage
import TestSupport
import Testing

/// Password guessing against a real slapd, alone and behind or before local accounts: failures count
/// towards the chain's per-address limit, and every name costs the same work (one hash verification, one
/// bind with the typed password), which is what keeps response times from telling names apart.
@Suite(.enabled(if: SlapdPeer.shouldRun), .slapd("guessing"))
struct LDAPGuessingTests {
    var slapd: Slapd { get throws { try SlapdFixture.require() } }

    /// Which name a mixed-chain login uses, and how it is refused.
    enum Case: String, CaseIterable, Sendable {
        /// Known to neither provider.
        case unknown
        /// A directory user, wrong password.
        case directoryWrong
        /// A local account, wrong password.
        case localWrong
        /// A locked local account, wrong password.
        case localLocked
        /// A disabled local account, wrong password.
        case localDisabled

        var username: String {
            switch self {
            case .unknown: "nobody-anywhere"
            case .directoryWrong: Slapd.alice.uid
            case .localWrong: "lena"
            case .localLocked: "lockie"
            case .localDisabled: "dina"
            }
        }
    }

    @Test func anUnknownNameCostsOneBindAsAWrongPasswordDoes() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        #expect(try await provider.authenticate(environment.credentials("nobody", "guess")).isNotMine)
        #expect(provider.statistics == .init(userBinds: 0, dummyBinds: 1))
        #expect(try await provider.authenticate(environment.credentials("alice", "guess")).isInvalidCredentials)
        #expect(provider.statistics == .init(userBinds: 1, dummyBinds: 1))
        // The right password still logs in after both.
        #expect(try await provider.authenticate(environment.credentials("alice", Slapd.alice.password)).identity != nil)
    }

    @Test func wrongDirectoryPasswordsAndUnknownNamesCountTowardsTheAddressLimit() async throws {
        let environment = try await LDAPTestEnvironment.make()
        let provider = try environment.provider(slapd: slapd)
        let chain = PasswordChain(
            [provider], throttle: GuessingThrottle(limits: GuessingLimits(failures: 4, window: 60)))
        for attempt in 0..<2 {
            guard
                case .rejected(_, .invalidCredentials) = await chain.authenticate(
                    environment.credentials("alice", "wrong \(attempt)"))
            else {
                Issue.record("attempt \(attempt) was not refused")
                return
            }
            guard case .unknownUser = await chain.authenticate(environment.credentials("ghost\(attempt)", "guess"))
            else {
                Issue.record("unknown attempt \(attempt) was not an unknown user")
                return
            }
        }
        guard
            case .throttled(let refusal) = await chain.authenticate(
                environment.credentials("alice", Slapd.alice.password))
        else {
            Issue.record("the fifth attempt was not throttled")
            return
        }
        #expect(refusal.cause == .failures && refusal.isFirstInWindow)
        // The throttled attempt never reached the directory.
        #expect(provider.statistics.passwordBinds == 4)
    }

    @Test(arguments: Case.allCases, [true, false])
    func everyRefusedNameCostsOneHashAndOneBindInAMixedChain(case name: Case, localFirst: Bool) async throws {
        let environment = try await LDAPTestEnvironment.make()
        let store = environment.context.store
        let hash = try PasswordHash.make(password: "local-secret", method: .bcrypt(cost: 4))
        try await store.write { writer in
            _ = try writer.createUser(NewUser(username: "lena", passwordHash: hash))
            _ = try writer.createUser(NewUser(username: "dina", passwordHash: hash, isEnabled: false))
            let locked = try writer.createUser(NewUser(username: "lockie", passwordHash: hash))
            _ = try writer.recordFailedLogin(of: locked.id, lockedUntil: Date().addingTimeInterval(3600))
        }
        let local = try LocalPasswordProvider(
            id: "local", displayName: "Local", context: environment.context, unknownUserHashMethod: .bcrypt(cost: 4))
        let ldap = try environment.provider(slapd: slapd)
        let chain = PasswordChain(localFirst ? [local, ldap] : [ldap, local])
        let outcome = await chain.authenticate(environment.credentials(name.username, "wrong-password"))
        switch outcome {
        case .unknownUser, .rejected(_, .invalidCredentials): break
        default: Issue.record("\(name): \(outcome)")
        }
        #expect(local.statistics.hashVerifications == 1, "\(name), local first: \(localFirst)")
        #expect(ldap.statistics.passwordBinds == 1, "\(name), local first: \(localFirst)")
    }
}
