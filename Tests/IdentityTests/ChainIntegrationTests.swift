import ApplicationTokens
import Foundation
import IdentityCore
import LocalPasswords
import ProviderTesting
import Storage
import Testing

@Suite struct ChainIntegrationTests {
    @Test func tokensAndPasswordsShareOneChain() async throws {
        let environment = try await TestEnvironment.make()
        let alice = try await environment.createUser("alice", password: "pw-alice")
        let issuer = TestTokenIssuer(store: environment.store, now: environment.clock.function)
        let (token, _) = try await issuer.create(
            owner: alice.id, name: "ci", expiresAt: nil, restriction: AccessRestriction(actions: ["pull"]))
        let chain = PasswordChain([
            ApplicationTokenProvider(id: "tokens", displayName: "Tokens", context: environment.context),
            try LocalPasswordProvider(
                id: "local", displayName: "Local", context: environment.context,
                unknownUserHashMethod: .bcrypt(cost: 4)),
        ])
        guard case .authenticated(let viaToken) = await chain.authenticate(environment.credentials("alice", token)),
            case .authenticated(let viaPassword) = await chain.authenticate(
                environment.credentials("alice", "pw-alice"))
        else {
            Issue.record("the chain refused good credentials")
            return
        }
        #expect(viaToken.provider == "tokens" && viaToken.restriction == AccessRestriction(actions: ["pull"]))
        #expect(viaPassword.provider == "local" && viaPassword.restriction == nil)
        #expect(viaToken.origin == viaPassword.origin)

        guard
            case .rejected(by: "local", .invalidCredentials) = await chain.authenticate(
                environment.credentials("alice", "wrong"))
        else {
            Issue.record("a wrong password was not rejected by local")
            return
        }
        guard case .unknownUser = await chain.authenticate(environment.credentials("nobody", "pw")) else {
            Issue.record("an unknown user was not unknown")
            return
        }
        // crypt(3) would compare only "pw-alice": a password or name cut at a NUL is asked of no provider.
        for (name, password) in [("alice", "pw-alice\u{0}suffix"), ("alice\u{0}other", "pw-alice")] {
            guard case .unknownUser = await chain.authenticate(environment.credentials(name, password)) else {
                Issue.record("credentials with a NUL reached a provider: \(name.debugDescription)")
                return
            }
        }
    }

    @Test func theConformanceSuiteNoticesABrokenProvider() async {
        let everyone = StubProvider.accepting("lax")
        await withKnownIssue {
            await PasswordProviderConformance.emptyPasswordNeverAuthenticates(
                PasswordProviderFixture(
                    provider: everyone, username: "alice", password: "pw", wrongPassword: "nope",
                    unknownUsername: "nobody"))
        }
        await withKnownIssue {
            await PasswordProviderConformance.unknownUserIsNotMine(
                PasswordProviderFixture(
                    provider: everyone, username: "alice", password: "pw", wrongPassword: "nope",
                    unknownUsername: "nobody"))
        }
    }
}
