import Diagnostics
import Foundation
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing
import TokenAuthority

/// A flag one thread raises and another reads.
private final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
}

/// Holds the store's single writer thread inside a transaction until `release()`, so nothing else can
/// commit meanwhile. The wait is bounded so a bug cannot hang the suite.
private final class WriterBlocker: Sendable {
    private let entered: AsyncStream<Void>
    private let enteredContinuation: AsyncStream<Void>.Continuation
    private let gate = DispatchSemaphore(value: 0)
    private let releasedFlag = Flag()
    private let task: Task<Void, any Error>

    /// Whether the writer thread has been let go (by `release()` or by the 20 s safety timeout).
    var released: Bool { releasedFlag.isRaised }

    init(_ store: SQLiteStore) async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        entered = stream
        enteredContinuation = continuation
        let gate = self.gate
        let releasedFlag = self.releasedFlag
        task = Task {
            try await store.write { _ in
                continuation.yield()
                // Blocks the writer's own pool thread, never a task.
                _ = gate.wait(timeout: .now() + 20)
                releasedFlag.raise()
            }
        }
        for await _ in entered { break }
    }

    func release() async throws {
        gate.signal()
        try await task.value
    }
}

private func event(_ index: Int) -> NewAuditEvent {
    NewAuditEvent(action: "token.issue", outcome: .success, target: "n\(index)")
}

private func storedTargets(_ store: SQLiteStore) async throws -> [String] {
    try await store.read { try $0.auditEvents(limit: 10_000, before: nil) }.compactMap(\.target)
}

/// Failures to store an event would be logged here; none are expected.
private let failures = LineCollector()
private let quietLogger = Logger(label: "audit-test", level: .error, sink: failures)

@Suite(.timeLimit(.minutes(10))) struct AuditDurabilityTests {
    @Test func aQueuedEventReturnsBeforeItsCommitAndDrainWaitsForIt() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .queued(backlog: 100))
            let blocker = await WriterBlocker(store)
            await recorder.record(event(1))
            await recorder.record(event(2))
            // Nothing could have committed: the only writer thread is still held.
            #expect(!blocker.released)
            try await blocker.release()
            await recorder.drain()
            let targets = try await storedTargets(store)
            #expect(targets.sorted() == ["n1", "n2"])
        }
    }

    @Test func drainReturnsOnlyAfterEveryQueuedEventIsStored() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .queued(backlog: 1_000))
            for index in 0..<250 { await recorder.record(event(index)) }
            await recorder.drain()
            let targets = try await storedTargets(store)
            #expect(targets.count == 250)
            #expect(Set(targets).count == 250)
        }
    }

    @Test func noEventIsLostWhenFarMoreThanTheBacklogAreRecordedConcurrently() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .queued(backlog: 4))
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<300 {
                    group.addTask { await recorder.record(event(index)) }
                }
            }
            await recorder.drain()
            let targets = try await storedTargets(store)
            #expect(targets.count == 300)
            #expect(Set(targets) == Set((0..<300).map { "n\($0)" }))
        }
    }

    @Test func noEventIsLostWhenTheBacklogOverflowsWhileTheWriterIsBusy() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .queued(backlog: 4))
            let blocker = await WriterBlocker(store)
            let burst = Task {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<100 {
                        group.addTask { await recorder.record(event(index)) }
                    }
                }
            }
            // Give the burst a moment to pile up behind the full backlog (coverage only, nothing is timed).
            try await Task.sleep(for: .milliseconds(100))
            #expect(!blocker.released)
            try await blocker.release()
            await burst.value
            await recorder.drain()
            let targets = try await storedTargets(store)
            #expect(targets.count == 100)
            #expect(Set(targets).count == 100)
        }
    }

    @Test func recordingWithoutWaitingQueuesWhileTheBacklogHasRoomAndRefusesOnceItIsFull() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .queued(backlog: 4))
            let blocker = await WriterBlocker(store)
            var accepted = 0
            // The held writer lets at most one batch leave the queue, so a refusal comes soon.
            for index in 0..<1_000 {
                guard recorder.recordWithoutWaiting(event(index)) else { break }
                accepted += 1
            }
            #expect(accepted >= 4 && accepted < 1_000)
            try await blocker.release()
            await recorder.drain()
            let stored = try await storedTargets(store)
            #expect(stored.count == accepted)
            // With the backlog drained there is room again.
            #expect(recorder.recordWithoutWaiting(event(5_000)))
            await recorder.drain()
            let after = try await storedTargets(store)
            #expect(after.contains("n5000"))
        }
    }

    @Test func recordingWithoutWaitingIsRefusedWhenEveryEventWaitsForItsCommit() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .waitForCommit)
            #expect(!recorder.recordWithoutWaiting(event(1)))
            await recorder.drain()
            let stored = try await storedTargets(store)
            #expect(stored.isEmpty)
        }
    }

    @Test func waitForCommitReturnsOnlyOnceTheEventIsStored() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: .waitForCommit)
            for index in 0..<5 {
                await recorder.record(event(index))
                let targets = try await storedTargets(store)
                #expect(targets.contains("n\(index)"))
            }
        }
    }

    @Test func waitForCommitIsTheDefault() async throws {
        try await withMemoryStore { store in
            let recorder = StoreAuditRecorder(store: store, logger: quietLogger)
            await recorder.record(event(7))
            let targets = try await storedTargets(store)
            #expect(targets == ["n7"])
        }
    }

    @Test func drainOnAnIdleRecorderReturnsAtOnce() async throws {
        try await withMemoryStore { store in
            for durability in [StoreAuditRecorder.Durability.waitForCommit, .queued(backlog: 8)] {
                let recorder = StoreAuditRecorder(store: store, logger: quietLogger, durability: durability)
                await recorder.drain()
                await recorder.record(event(1))
                await recorder.drain()
                // Drained twice in a row: the second finds nothing to wait for.
                await recorder.drain()
            }
            let targets = try await storedTargets(store)
            #expect(targets.count == 2)
        }
    }
}
