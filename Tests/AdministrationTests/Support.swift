import Administration
import Foundation
import SQLiteStorage
import Storage
import Testing
import Threading

/// A migrated SQLite database in a file of its own (real reader and writer connections), with the global
/// namespace, an operator and helpers to make accounts without paying bcrypt.
struct Fixture {
    let store: SQLiteStore
    let directory: URL
    let admin = Caller.operator(login: "test")

    static func make() async throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "portcullis-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try await SQLiteStore.open(
            SQLiteConfiguration(location: .file(directory.appendingPathComponent("db.sqlite3").path)))
        _ = try await store.migrate()
        _ = try await store.write { try $0.ensureGlobalNamespace(named: NamespaceNaming.globalNamespaceName) }
        return Fixture(store: store, directory: directory)
    }

    func close() async {
        await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Creates an account (with personal team and namespace) and returns it as an acting user.
    @discardableResult
    func user(_ name: String, admin: Bool = false) async throws -> Caller {
        let user = try await store.write { writer in
            try AccountAdministration.provision(NewUser(username: name, isAdmin: admin), in: writer).0
        }
        return .user(user)
    }

    var accounts: AccountAdministration { AccountAdministration(store: store, hashing: Fixture.pool) }
    var teams: TeamAdministration { TeamAdministration(store: store) }
    var namespaces: NamespaceAdministration { NamespaceAdministration(store: store) }
    var repositories: RepositoryAdministration { RepositoryAdministration(store: store) }
    var audit: AuditQueries { AuditQueries(store: store) }

    /// The audit actions recorded so far, oldest first.
    func auditActions() async throws -> [String] {
        try await store.read { try $0.auditEvents(limit: 1000, before: nil) }.reversed().map(\.action)
    }

    static let pool = BlockingPool(name: "admin-tests-hash", threads: 1)
}

/// Runs `body` and returns the `AdministrationError` code it throws, or nil when it does not throw one.
func code<T>(_ body: () async throws -> T) async -> AdministrationError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as AdministrationError {
        return error.code
    } catch {
        Issue.record(error, "not an AdministrationError")
        return nil
    }
}
