import Foundation
import SQLiteStorage

/// Two stores on one fresh, migrated database file, as two `serve` processes open it; both are closed and the
/// file removed after `body`, whether it throws or not.
func withTwoStoresOnOneFile(_ body: (SQLiteStore, SQLiteStore) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("instances-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("portcullis.sqlite3").path
    let first = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
    let second: SQLiteStore
    do {
        _ = try await first.migrate()
        second = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
    } catch {
        await first.close()
        throw error
    }
    do {
        try await body(first, second)
    } catch {
        await first.close()
        await second.close()
        throw error
    }
    await first.close()
    await second.close()
}
