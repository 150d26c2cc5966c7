import Administration
import Foundation
import IdentityCore
import Storage

/// The application-token service as the provider tests use it: as the operator, with no practical cap,
/// answering with the stored record (hash included) so tests can compare it with what the provider sees.
/// (The service's own rules are tested in AdministrationTests.)
struct TestTokenIssuer: Sendable {
    let store: any Store
    let service: ApplicationTokenService
    static let caller = Caller.commandLine(osUser: "test")

    init(store: any Store, now: @escaping @Sendable () -> Date) {
        self.store = store
        service = ApplicationTokenService(store: store, maxPerUser: 1_000, now: now)
    }

    func create(owner: User.ID, name: String, expiresAt: Date?, restriction: AccessRestriction?) async throws
        -> (plaintext: String, token: ApplicationToken)
    {
        let created = try await service.create(
            owner: owner, name: name, expiresAt: expiresAt, restriction: restriction, by: Self.caller)
        let id = created.token.id
        let token = try await store.read { reader in
            try reader.applicationTokens(ownedBy: owner).first { $0.id == id }
        }
        guard let token else { throw ApplicationTokenError(.notFound, "the created token is gone") }
        return (created.plaintext, token)
    }

    func list(owner: User.ID) async throws -> [ApplicationToken] {
        try await store.read { try $0.applicationTokens(ownedBy: owner) }
    }

    func revoke(owner: User.ID, name: String) async throws {
        try await service.revoke(owner: owner, name: name, by: Self.caller)
    }
}
