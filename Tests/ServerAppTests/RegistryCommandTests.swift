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
