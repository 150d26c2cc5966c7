import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import SQLiteStorage
import Storage

/// Creates accounts as the server does (hidden personal team, private personal namespace named after
/// the username), refusing usernames that cannot name a namespace.
struct TestProvisioner: AccountProvisioning {
    struct BadUsername: Error, CustomStringConvertible {
        var description: String
    }

    func createAccount(_ user: NewUser, in writer: any StoreWriting) throws -> User {
        let name = user.username.lowercased()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw BadUsername(description: "'\(user.username)' cannot name a namespace")
        }
        let created = try writer.createUser(user)
        let team = try writer.createTeam(name: name, description: nil, isHidden: true)
        _ = try writer.addTeamMember(team: team.id, user: created.id, role: .owner)
        _ = try writer.createNamespace(
            name: name, team: team.id, visibility: .private, kind: .personal, personalOwner: created.id,
            description: nil)
        return created
    }
}

/// A migrated in-memory store.
func makeStore() async throws -> SQLiteStore {
    let store = try await SQLiteStore.open(.init(location: .inMemory))
    _ = try await store.migrate()
    return store
}

/// A mapper over `store` with `rules` for `corp-ldap`.
func makeMapper(_ store: any Store, _ rules: MappingRules) -> IdentityMapper {
    IdentityMapper(
        store: store, rules: ["corp-ldap": rules], provisioner: TestProvisioner(),
        logger: Logger(label: "mapping-test", level: .warning))
}

/// An LDAP-like federated identity of `corp-ldap`.
func ldapIdentity(_ username: String, subject: String? = nil, groups: [String] = [], email: String? = nil)
    -> ExternalIdentity
{
    ExternalIdentity(
        provider: "corp-ldap", subject: subject ?? "uuid-\(username)", username: username, email: email,
        displayName: username.capitalized, groups: groups, origin: .federated)
}

extension MappingOutcome {
    /// The user id, when mapped.
    var userID: User.ID? {
        if case .mapped(let id) = self { return id }
        return nil
    }

    /// The refusal, when refused.
    var refusal: MappingRefusal? {
        if case .refused(let refusal) = self { return refusal }
        return nil
    }
}

/// The team memberships of `username` as `team:role[:synced]` strings.
func membershipSummary(_ store: any Store, _ username: String) async throws -> [String] {
    try await store.read { reader in
        guard let user = try reader.user(named: username) else { return [] }
        return try reader.memberships(of: user.id).filter { !$0.team.isHidden }.map {
            "\($0.team.name):\($0.role.rawValue)" + ($0.syncedFrom.map { ":\($0)" } ?? "")
        }
    }
}
