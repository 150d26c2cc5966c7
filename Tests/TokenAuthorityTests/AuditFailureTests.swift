import Diagnostics
import Foundation
import HTTPCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import SQLiteStorage
@testable import TokenAuthority

/// Makes the store's database full, as a full disk does for SQLite: the writer's page limit is set to the
/// pages in use and rows are added until SQLite answers SQLITE_FULL ("database or disk is full").
func fillDatabase(_ store: SQLiteStore) async throws {
    try await store.write { writer in
        let connection = try #require(writer as? SQLiteTransaction).connection
        let pages = try connection.queryInt("PRAGMA page_count") ?? 1
        _ = try connection.queryInt("PRAGMA max_page_count = \(pages)")
    }
    // Ever smaller rows, each size until it no longer fits, so no page keeps room for a small event.
    for size in [2_000, 500, 100, 20, 0] {
        let filler = NewAuditEvent(action: "filler", outcome: .success, detail: String(repeating: "x", count: size))
        var filled = false
        for _ in 0..<10_000 {
            do { _ = try await store.write { try $0.appendAuditEvent(filler) } } catch {
                filled = true
                break
            }
        }
        if !filled { Issue.record("the database never filled up") }
    }
}

/// Gives the database room again.
func freeDatabase(_ store: SQLiteStore) async throws {
    try await store.write { writer in
        let connection = try #require(writer as? SQLiteTransaction).connection
        _ = try connection.queryInt("PRAGMA max_page_count = 1073741823")
    }
}

private func distinctIssuance(_ index: Int) -> NewAuditEvent {
    NewAuditEvent(
        action: "token.issue", outcome: .success, actorName: "alice", target: "service:s",
        detail: #"{"n":\#(index)}"#)
}

@Suite(.timeLimit(.minutes(10))) struct AuditFailureTests {
    @Test func aQueuedRecorderGoesOnWhileTheDiskIsFullAndSaysSoOnceUntilWritesSucceedAgain() async throws {
        try await withMemoryStore { store in
            let lines = LineCollector()
            let registry = MetricsRegistry()
            let health = AuditWriteHealth(
                logger: Logger(label: "audit", sink: lines),
                failureCounter: registry.counter("portcullis_audit_write_failures_total", help: "lost"),
                logInterval: .seconds(3600))
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 100), health: health)
            try await fillDatabase(store)
            for index in 0..<10 {
                // Queued recording returns at once whatever the disk says: the token goes out.
                #expect(await recorder.recordConfirmingStorage(distinctIssuance(index)))
                await recorder.drain()
            }
            #expect(health.isFailing)
            #expect(health.failureCount == 10)
            #expect(health.lastError?.contains("database or disk is full") == true, "\(health.lastError ?? "")")
            #expect(registry.exposition().contains("portcullis_audit_write_failures_total 10"))
            // One error line for ten failures: the log interval has not passed.
            #expect(lines.lines.filter { $0.contains("audit events could not be stored") }.count == 1)

            try await freeDatabase(store)
            await recorder.record(distinctIssuance(100))
            await recorder.drain()
            #expect(!health.isFailing)
            #expect(lines.lines.contains { $0.contains("audit events are stored again") })
            let stored = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
            #expect(stored.first?.detail == #"{"n":100}"#)
        }
    }

    @Test func aRecorderWaitingForCommitsReportsAnEventItCouldNotStore() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quiet, durability: .waitForCommit)
            try await fillDatabase(store)
            #expect(await recorder.recordConfirmingStorage(distinctIssuance(1)) == false)
            #expect(recorder.health.isFailing)
            try await freeDatabase(store)
            #expect(await recorder.recordConfirmingStorage(distinctIssuance(2)))
            #expect(!recorder.health.isFailing)
        }
    }

    @Test(arguments: [true, false])
    func theTokenEndpointAnswers503OnlyWhenItWaitsForAnAuditThatCannotBeWritten(waitForCommit: Bool) async throws {
        let holder = RecorderHolder()
        try await EndpointFixture.with(
            recorder: { store in
                holder.set(
                    StoreAuditRecorder(
                        store: store, logger: quiet,
                        durability: waitForCommit ? .waitForCommit : .queued(backlog: 100)))
            }
        ) { fixture in
            try await fillDatabase(fixture.store)
            let response = await fixture.get(
                as: "alice", password: Accounts.alicePassword, scopes: ["repository:alice/demo:pull"])
            if waitForCommit {
                #expect(response.status == .serviceUnavailable, "\(response.text)")
                #expect(response.text.contains("UNAVAILABLE"))
                #expect(!response.text.contains("\"token\""))
            } else {
                _ = try fixture.verifiedToken(response, subject: "alice")
                await holder.recorder?.drain()
            }
            #expect(holder.recorder?.health.isFailing == true)

            try await freeDatabase(fixture.store)
            let again = await fixture.get(
                as: "alice", password: Accounts.alicePassword, scopes: ["repository:alice/demo:pull"])
            _ = try fixture.verifiedToken(again, subject: "alice")
            await holder.recorder?.drain()
            #expect(holder.recorder?.health.isFailing == false)
        }
    }
}

/// Keeps the recorder a fixture builds, for the test to drain and inspect.
final class RecorderHolder: Sendable {
    private let stored = Mutex<StoreAuditRecorder?>(nil)
    var recorder: StoreAuditRecorder? { stored.withLock { $0 } }
    func set(_ recorder: StoreAuditRecorder) -> StoreAuditRecorder {
        stored.withLock { $0 = recorder }
        return recorder
    }
}

private let quiet = Logger(label: "audit-test", level: .error, sink: LineCollector())
