import Foundation
import Storage

@testable import SQLiteStorage

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Opens a migrated store on a database file in a fresh temp dir, runs `body`, then closes and cleans up.
@discardableResult
func withFileStore<T>(
    readers: Int = 2, busyTimeout: Duration = .seconds(5), _ body: (SQLiteStore, String) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.path("portcullis.sqlite")
    let store = try await SQLiteStore.open(
        SQLiteConfiguration(location: .file(path), busyTimeout: busyTimeout, readerCount: readers))
    do {
        _ = try await store.migrate()
        let result = try await body(store, path)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// A user, their hidden personal team (as owner) and their private personal namespace, the way the
/// CLI composes them in one transaction.
@discardableResult
func createUserWithPersonalNamespace(
    _ writer: any StoreWriting, username: String, isAdmin: Bool = false
) throws -> (User, Team, Namespace) {
    let user = try writer.createUser(NewUser(username: username, email: "\(username)@example.test", isAdmin: isAdmin))
    let team = try writer.createTeam(name: "\(username)-personal", description: nil, isHidden: true)
    _ = try writer.addTeamMember(team: team.id, user: user.id, role: .owner)
    let namespace = try writer.createNamespace(
        name: username, team: team.id, visibility: .private, kind: .personal, personalOwner: user.id,
        description: "This personal namespace belongs to \(username).")
    return (user, team, namespace)
}

/// An error a test closure throws on purpose.
struct DeliberateFailure: Error, Equatable {}

/// A private in-memory database on one connection, migrated through the first `steps` migrations (for tests
/// of what a migration does to rows stored before it); close it when done.
func migratedConnection(through steps: Int) throws -> SQLiteConnection {
    let connection = try SQLiteConnection(
        SQLiteOpenOptions(
            path: ":memory:", readOnlyQueries: false, busyTimeoutMilliseconds: 1000, createIfMissing: true))
    _ = try SQLiteMigrator(
        connection: connection, migrations: Array(SQLiteSchema.migrations.prefix(steps)), now: { Date() }
    ).migrate()
    return connection
}
