import Diagnostics
import Foundation
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing
import TokenAuthority

private let start = Date(timeIntervalSince1970: 1_800_000_000)

/// A successful issuance as the token endpoint records it, `seconds` after `start`.
private func issuance(
    _ seconds: Double, scopes: [String] = ["repository:alice/demo:pull"], address: String = "203.0.113.7"
) -> NewAuditEvent {
    TokenRequestAudit(
        username: "alice", provider: "local", clientIP: address, service: "registry.local", requestedScopes: scopes,
        grantedScopes: scopes, outcome: .success
    ).event(at: start.addingTimeInterval(seconds))
}

private func denial(_ seconds: Double) -> NewAuditEvent {
    TokenRequestAudit(
        username: "alice", provider: "local", clientIP: "203.0.113.7", service: "registry.local",
        requestedScopes: ["repository:alice/demo:pull"], grantedScopes: [], outcome: .denied,
        reason: "invalid username or password"
    ).event(at: start.addingTimeInterval(seconds))
}

/// Every stored line, oldest first.
private func storedLines(_ store: some Store) async throws -> [AuditEvent] {
    try await store.read { try $0.auditEvents(limit: 10_000, before: nil) }.reversed()
}

private let quiet = Logger(label: "audit-test", level: .error, sink: LineCollector())

@Suite(.timeLimit(.minutes(10))) struct AuditCoalescingTests {
    @Test func identicalIssuancesWithinTheWindowBecomeOneLineWithTheirCountAndFirstAndLastTimes() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 100), coalesceWindow: .seconds(60))
            for second in 0..<50 { await recorder.record(issuance(Double(second))) }
            await recorder.drain()
            let lines = try await storedLines(store)
            #expect(lines.count == 1)
            #expect(lines.first?.count == 50)
            #expect(lines.first?.time == start)
            #expect(lines.first?.lastTime == start.addingTimeInterval(49))
        }
    }

    @Test func aDenialInBetweenStaysItsOwnLineAndAnotherScopeOrAddressIsANewLine() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 100), coalesceWindow: .seconds(60))
            for second in 0..<3 { await recorder.record(issuance(Double(second))) }
            await recorder.record(denial(3))
            await recorder.record(denial(4))
            for second in 5..<8 { await recorder.record(issuance(Double(second))) }
            await recorder.record(issuance(9, scopes: ["repository:alice/demo:pull,push"]))
            await recorder.record(issuance(10, address: "198.51.100.9"))
            await recorder.drain()
            let lines = try await storedLines(store)
            #expect(lines.map(\.outcome) == [.success, .denied, .denied, .success, .success])
            #expect(lines.map(\.count) == [6, 1, 1, 1, 1])
            #expect(lines[0].lastTime == start.addingTimeInterval(7))
            #expect(lines[1].lastTime == nil)
            #expect(lines[3].detail?.contains("pull,push") == true)
            #expect(lines[4].clientIP == "198.51.100.9")
        }
    }

    @Test func theFirstIssuanceIsStoredAtOnceAndRepeatsOnlyAddToItsCount() async throws {
        try await withMemoryStore { store in
            // Waiting for commits makes "at once" observable: record returns only after its write.
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .waitForCommit, coalesceWindow: .seconds(60))
            await recorder.record(issuance(0))
            var lines = try await storedLines(store)
            #expect(lines.count == 1)
            #expect(lines.first?.count == 1)
            await recorder.record(issuance(1))
            await recorder.record(issuance(2))
            lines = try await storedLines(store)
            #expect(lines.count == 1)
            #expect(lines.first?.count == 3)
            #expect(lines.first?.lastTime == start.addingTimeInterval(2))
        }
    }

    @Test func aQueuedFirstIssuanceIsWrittenWithoutWaitingForItsWindowToClose() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 100), coalesceWindow: .seconds(3600))
            await recorder.record(issuance(0))
            await recorder.record(issuance(1))
            // The first line appears with the next group commit (bounded wait for a condition, not a timing).
            var lines: [AuditEvent] = []
            for _ in 0..<1_000 {
                lines = try await storedLines(store)
                if !lines.isEmpty { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(lines.count == 1)
            #expect(lines.first?.count == 1, "the repeat count waits for the window to close")
            await recorder.drain()
            lines = try await storedLines(store)
            #expect(lines.first?.count == 2)
        }
    }

    @Test func anIssuanceAfterTheWindowClosedStartsANewLine() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 100), coalesceWindow: .seconds(60))
            for second in [0.0, 30, 59.9, 60, 61] { await recorder.record(issuance(second)) }
            await recorder.drain()
            let lines = try await storedLines(store)
            #expect(lines.map(\.count) == [3, 2])
            #expect(lines.map(\.time) == [start, start.addingTimeInterval(60)])
        }
    }

    @Test func aZeroWindowWritesEveryIssuanceAsItsOwnLine() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quiet, durability: .queued(backlog: 100))
            for second in 0..<5 { await recorder.record(issuance(Double(second))) }
            await recorder.drain()
            let lines = try await storedLines(store)
            #expect(lines.map(\.count) == [1, 1, 1, 1, 1])
        }
    }

    @Test func recordingWithoutWaitingCoalescesRepeatsEvenWhenTheBacklogIsFull() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(
                store: store, logger: quiet, durability: .queued(backlog: 1), coalesceWindow: .seconds(60))
            #expect(recorder.recordWithoutWaiting(issuance(0)))
            // A repeat adds to a count in memory: it needs no room in the backlog.
            for tenth in 1..<100 { #expect(recorder.recordWithoutWaiting(issuance(Double(tenth) / 10))) }
            await recorder.drain()
            let lines = try await storedLines(store)
            #expect(lines.map(\.count) == [100])
        }
    }

    @Test func theEventLoopFastPathCoalescesRepeatedIssuances() async throws {
        let holder = Mutex<StoreAuditRecorder?>(nil)
        try await EndpointFixture.with(
            providers: { _, users in
                [ScriptedProvider.applicationToken(of: users["alice"]!, secret: "app-secret")]
            },
            reuseWindow: .seconds(10),
            recorder: { store in
                let recorder = StoreAuditRecorder(
                    store: store, logger: quiet, durability: .queued(backlog: 100), coalesceWindow: .seconds(60))
                holder.withLock { $0 = recorder }
                return recorder
            }
        ) { fixture in
            let recorder = try #require(holder.withLock { $0 })
            let head = EndpointFixture.getHead(
                as: "alice", password: "app-secret", scopes: ["repository:alice/demo:pull"])
            // The handler answers the first request (and fills the decision cache), the fast path the rest.
            let first = await fixture.router.respond(to: EndpointFixture.request(head))
            #expect(first.status == .ok)
            var fastAnswers = 0
            for _ in 0..<20 {
                var request = EndpointFixture.request(head)
                if let answer = fixture.router.immediateResponse(preparing: &request) {
                    #expect(answer.status == .ok)
                    fastAnswers += 1
                }
            }
            #expect(fastAnswers == 20)
            await recorder.drain()
            let lines = try await storedLines(fixture.store).filter { $0.action == TokenRequestAudit.action }
            #expect(lines.map(\.count) == [21])
        }
    }
}
