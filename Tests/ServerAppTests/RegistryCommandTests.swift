import Foundation
import TestSupport
import Testing

@testable import ServerApp

/// Drives `portcullis registry events` and the deletion commands' argument checks on a temporary config and
/// database (the commands against a live registry are in EndToEndTests).
@Suite(.serialized) struct RegistryCommandTests {
    @Test func registryEventsListsFailedEventsWithTheirReasonsByDefault() async throws {
        let sandbox = try Sandbox()
        let database = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        let migrated = try await sandbox.portcullis(["db", "migrate"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let inserted = try await Processes.run(
            "/usr/bin/sqlite3",
            [
                database,
                """
                INSERT INTO registry_events (registry, event_id, payload, received_at, state, attempts, last_error)
                VALUES ('local', 'e-failed', '{}', 0, 'failed', 1, 'invalid_json: not JSON' || char(10) || 'x'),
                       ('local', 'e-done', '{}', 0, 'processed', 1, NULL);
                """,
            ])
        #expect(inserted.succeeded, "\(inserted)")

        let failed = try await sandbox.portcullis(["registry", "events"])
        #expect(failed.status == 0, "\(failed.stderr)")
        #expect(failed.stdout.contains("e-failed"))
        #expect(
            failed.stdout.contains(#"invalid_json: not JSON\nx"#), "a line break in the reason is shown, not obeyed")
        #expect(!failed.stdout.contains("e-done"))
        let processed = try await sandbox.portcullis(["registry", "events", "--state", "processed", "--limit", "5"])
        #expect(processed.stdout.contains("e-done"))
    }

    @Test func registrySyncRefusesWhileAnotherRunHoldsTheRegistrysSyncLeaseAndLeavesNoLockFile() async throws {
        let sandbox = try Sandbox()
        defer { try? FileManager.default.removeItem(at: sandbox.root) }
        let database = sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path
        let migrated = try await sandbox.portcullis(["db", "migrate"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        try await #require(sandbox.portcullis(["keys", "generate"]).succeeded, "the sync mints its registry tokens")
        // Another run (a server's timer, the API, another host) holds the lease for 30 s from now.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let held = try await Processes.run(
            "/usr/bin/sqlite3",
            [
                database,
                """
                INSERT INTO leases (name, holder, epoch, acquired_at, expires_at)
                VALUES ('registry-sync:local', 'run@elsewhere/1/abcd', 3, \(now), \(now + 30_000));
                """,
            ])
        #expect(held.succeeded, "\(held)")

        let refused = try await sandbox.portcullis(["registry", "sync"])
        #expect(refused.status == 69, "\(refused)")
        #expect(refused.stderr.contains("a catalog sync of local is running against this database"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: database + ".sync.lock"), "no flock file any more")
        let lease = try await Processes.run(
            "/usr/bin/sqlite3", [database, "SELECT holder, epoch FROM leases WHERE name = 'registry-sync:local'"])
        #expect(lease.stdout == "run@elsewhere/1/abcd|3\n", "the refused run changed nothing")
    }

    @Test(arguments: [
        ["registry", "events", "--state", "lost"], ["registry", "events", "--limit", "0"],
        ["tag", "delete", "alpha/app:v1"], ["repository", "delete", "alpha/app"],
    ])
    func badArgumentsAreUsageErrors(_ arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.portcullis(arguments)
        #expect(result.status == 64, "\(result.stdout)\(result.stderr)")
    }
}
