import Foundation
import IdentityCore
import Storage
import Testing

@testable import TokenAuthority

/// `docker login` with a password where passwords do not work (issue 13 §3): the refusal says where to make an
/// application token instead.
@Suite struct RegistryPasswordTests {
    static let page = "https://portcullis.example/profile/tokens"

    @Test("A password for a federated account without one names the page where application tokens are made")
    func aFederatedAccountIsToldToUseATokenAndWhere() async throws {
        try await EndpointFixture.with(passwords: RegistryPasswords(tokensPage: Self.page)) { fixture in
            try await fixture.store.write { writer in
                let sso = try writer.createUser(NewUser(username: "sso-user"))
                _ = try writer.linkIdentity(providerID: "corp-sso", subject: "sub-1", to: sso.id)
            }
            let response = await fixture.get(as: "sso-user", password: "my-idp-password", scopes: [])
            #expect(response.status == .unauthorized)
            let error = try fixture.registryError(response, status: .unauthorized)
            #expect(error.message.contains("single sign-on") && error.message.contains(Self.page))
            // Local accounts and unknown names keep the usual answer.
            let wrong = await fixture.get(as: "alice", password: "wrong", scopes: [])
            #expect(try fixture.registryError(wrong, status: .unauthorized).message == "invalid username or password")
            let unknown = await fixture.get(as: "nobody", password: "x", scopes: [])
            #expect(try fixture.registryError(unknown, status: .unauthorized).message == "invalid username or password")
        }
    }

    @Test("With passwords off at the registry a right password is refused, saying tokens only and where; tokens work")
    func passwordsOffAcceptsTokensOnly() async throws {
        try await EndpointFixture.with(
            providers: { _, users in [ScriptedProvider.applicationToken(of: users["alice"]!, secret: "pat_alice")] },
            passwords: RegistryPasswords(accepted: false, tokensPage: Self.page), storedPasswords: false
        ) { fixture in
            let password = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            let error = try fixture.registryError(password, status: .unauthorized)
            #expect(error.message.contains("passwords are not accepted") && error.message.contains(Self.page))
            let token = await fixture.get(as: "alice", password: "pat_alice", scopes: ["repository:alice/app:pull"])
            #expect(token.status == .ok)
        }
    }
}
