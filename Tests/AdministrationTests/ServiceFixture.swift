import Administration
import Foundation
import SQLiteStorage
import Storage

/// A migrated in-memory store with people and a team, and a clock the test moves.
///
/// People: `root` (admin), `alice`, `bob`, `carol`. Team `oss`: bob owner, carol contributor; it owns the
/// namespaces `opensource` and `internal`. Team `other` (alice owner) owns `elsewhere`.
struct ServiceFixture {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    let store: SQLiteStore
    let users: [String: User]
    let clock: Clock

    /// A clock a test can move; read by the services and the store.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var current = ServiceFixture.start
        var now: Date { lock.withLock { current } }
        func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
    }

    @discardableResult
    static func with<T>(_ body: (ServiceFixture) async throws -> T) async throws -> T {
        let clock = Clock()
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, now: { clock.now }))
        do {
            _ = try await store.migrate()
            let users = try await store.write { writer -> [String: User] in
                var users: [String: User] = [:]
                for name in ["root", "alice", "bob", "carol"] {
                    users[name] = try writer.createUser(NewUser(username: name, isAdmin: name == "root"))
                }
                let oss = try writer.createTeam(name: "oss")
                _ = try writer.addTeamMember(team: oss.id, user: users["bob"]!.id, role: .owner)
                _ = try writer.addTeamMember(team: oss.id, user: users["carol"]!.id, role: .contributor)
                _ = try writer.createNamespace(name: "opensource", team: oss.id, visibility: .public)
                _ = try writer.createNamespace(name: "internal", team: oss.id, visibility: .protected)
                let other = try writer.createTeam(name: "other")
                _ = try writer.addTeamMember(team: other.id, user: users["alice"]!.id, role: .owner)
                _ = try writer.createNamespace(name: "elsewhere", team: other.id, visibility: .public)
                let hidden = try writer.createTeam(name: "alice-personal", description: nil, isHidden: true)
                _ = try writer.addTeamMember(team: hidden.id, user: users["alice"]!.id, role: .owner)
                return users
            }
            let result = try await body(ServiceFixture(store: store, users: users, clock: clock))
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The caller `name` signed in.
    func caller(_ name: String) -> Caller {
        let user = users[name]!
        return .user(user)
    }

    func tokens(maxPerUser: Int = 5) -> ApplicationTokenService {
        ApplicationTokenService(store: store, maxPerUser: maxPerUser, now: { [clock] in clock.now })
    }

    func robots(maxLifetime: TimeInterval = 30 * 86_400) -> RobotAccountService {
        RobotAccountService(store: store, maxLifetime: maxLifetime, now: { [clock] in clock.now })
    }

    /// The audit events with `action`, oldest first.
    func audit(_ action: String) async throws -> [AuditEvent] {
        try await store.read { try $0.auditEvents(limit: 1_000, before: nil) }.filter { $0.action == action }
            .reversed()
    }
}
