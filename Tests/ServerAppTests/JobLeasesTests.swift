import Diagnostics
import Foundation
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing

@testable import ServerApp

/// `JobLeases`, the placement of `serve`'s singleton jobs, with two instances on one database file and a
/// clock the test moves (nothing here waits for time to pass).
@Suite struct JobLeasesTests {
    /// A clock that stands still until moved.
    final class TestClock: Sendable {
        private let value = Mutex(Date(timeIntervalSince1970: 2_000_000_000))
        var now: Date { value.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { value.withLock { $0 += seconds } }
    }

    private func withInstances(
        _ body: (JobLeases, JobLeases, TestClock, any Store) async throws -> Void
    ) async throws {
        try await StoreBackend.sqlite.withTwoStores { first, second in
            let clock = TestClock()
            let logger = Logger(label: "test", level: .error)
            let a = JobLeases(store: first, holder: "a", duration: .seconds(30), now: { clock.now }, logger: logger)
            let b = JobLeases(store: second, holder: "b", duration: .seconds(30), now: { clock.now }, logger: logger)
            try await body(a, b, clock, first)
        }
    }

    @Test func oneInstanceRunsAJobAndTheOtherDoesNotWhileTheHolderRenews() async throws {
        try await withInstances { a, b, clock, _ in
            #expect(await a.runsHere("catalog-sync:local"))
            #expect(await b.runsHere("catalog-sync:local") == false)
            for _ in 0..<5 {
                clock.advance(10)
                await a.renew()
                await b.renew()
                #expect(await a.runsHere("catalog-sync:local"))
                #expect(await b.runsHere("catalog-sync:local") == false, "a renews every third of the lease")
            }
            #expect(a.heldLeases().map(\.name) == ["catalog-sync:local"])
            #expect(b.heldLeases().isEmpty)
        }
    }

    @Test func whenTheHolderStopsRenewingTheOtherTakesOverWithinTheLeaseTime() async throws {
        try await withInstances { a, b, clock, _ in
            #expect(await a.runsHere("group-sync:ldap"))
            #expect(await b.runsHere("group-sync:ldap") == false)
            // a dies: nothing renews its lease any more.
            clock.advance(29)
            await b.renew()
            #expect(b.heldLeases().isEmpty, "not before the lease ran out")
            clock.advance(1)
            await b.renew()
            let taken = try #require(b.heldLeases().first)
            #expect(taken.name == "group-sync:ldap" && taken.epoch == 2)
            #expect(await a.runsHere("group-sync:ldap") == false, "a, back from a pause, sees b's lease")
        }
    }

    @Test func aTickRunsOnceAcrossInstancesAndAChangeOfHolderDoesNotRunItTwice() async throws {
        try await withInstances { a, b, clock, _ in
            let job = "catalog-sync:local"
            let interval = Duration.seconds(10)
            #expect(await a.claimsRun(of: job, every: interval))
            #expect(await b.claimsRun(of: job, every: interval) == false, "not the holder")
            clock.advance(1)
            #expect(await a.claimsRun(of: job, every: interval) == false, "the same tick")
            clock.advance(9)
            await a.renew()
            #expect(await a.claimsRun(of: job, every: interval))
            // a runs that tick and stops; b takes over at once, but the tick a ran is not run again.
            await a.stop()
            clock.advance(2)
            await b.renew()
            #expect(await b.claimsRun(of: job, every: interval) == false, "2 s after a's run: the same tick")
            #expect(b.heldLease(job)?.epoch == 2)
            clock.advance(6)
            #expect(await b.claimsRun(of: job, every: interval), "8 s after a's run: the next tick")
        }
    }

    @Test func stoppingGivesTheLeasesUpSoAnotherInstanceTakesThemAtOnce() async throws {
        try await withInstances { a, b, _, _ in
            #expect(await a.runsHere("refresh-token-prune"))
            await a.stop()
            #expect(await b.runsHere("refresh-token-prune"), "no wait for the lease to run out")
            #expect(b.heldLease("refresh-token-prune")?.epoch == 2)
        }
    }

    @Test func aSyncRunHoldsItsLeaseAgainstEveryOtherRunUntilItEnds() async throws {
        try await withInstances { _, _, _, store in
            let name = ExclusiveLease.catalogSync("local")
            let first = try #require(try await ExclusiveLease.take(name, store: store))
            #expect(try await ExclusiveLease.take(name, store: store) == nil, "a second run, even in one process")
            let inner = try await ExclusiveLease.run(holding: first, store: store) { _ in
                try await ExclusiveLease.withLease(name, store: store) { _ in "ran" }
            }
            #expect(inner == nil)
            let after = try await ExclusiveLease.withLease(name, store: store) { _ in "ran" }
            #expect(after == "ran", "free once it ended")
        }
    }

    @Test func aRunWhoseLeaseWasTakenOverWritesNothing() async throws {
        try await withInstances { _, _, _, store in
            let name = ExclusiveLease.catalogSync("local")
            let lease = try #require(try await ExclusiveLease.take(name, store: store))
            let outcome = try await ExclusiveLease.run(holding: lease, store: store) { fence in
                // The run stalls past its lease and another run takes it over (as after 30 s without renewal).
                _ = try await store.write { writer in
                    try writer.acquireLease(name, holder: "other", for: 30, at: lease.expiresAt)
                }
                do {
                    try await store.write { writer in
                        try fence(writer)
                        _ = try writer.createUser(NewUser(username: "written-after-the-lease"))
                    }
                    return "written"
                } catch let error as StoreError {
                    return error.code.rawValue
                }
            }
            #expect(outcome == "store.conflict")
            #expect(try await store.read { try $0.user(named: "written-after-the-lease") } == nil)
        }
    }
}
