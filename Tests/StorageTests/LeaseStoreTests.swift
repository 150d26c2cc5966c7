import Foundation
import Storage
import TestSupport
import Testing

/// Leases and shared guessing windows (migration 19), with two store handles on one database standing for two
/// instances, on both backends; every time is given, so nothing here waits.
@Suite(.storeBackends("LeaseStoreTests")) struct LeaseStoreTests {
    static let start = Date(timeIntervalSince1970: 2_000_000_000)

    private func acquire(
        _ store: any Store, _ holder: String, at offset: TimeInterval, for duration: TimeInterval = 30
    )
        async throws -> Lease?
    {
        try await store.write {
            try $0.acquireLease("catalog-sync:local", holder: holder, for: duration, at: Self.start + offset)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aFreeLeaseGoesToTheFirstInstanceAndTheOtherSeesItHeld(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            let taken = try #require(try await acquire(a, "a", at: 0))
            #expect(taken.epoch == 1 && taken.holder == "a" && taken.expiresAt == Self.start + 30)
            #expect(try await acquire(b, "b", at: 1) == nil, "live and another's")
            let seen = try await b.read { try $0.lease(named: "catalog-sync:local") }
            #expect(seen == taken, "the refused attempt changed nothing")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aRenewalKeepsTheEpochAndTheTimeItWasTaken(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, _ in
            _ = try await acquire(a, "a", at: 0)
            let renewed = try #require(try await acquire(a, "a", at: 10))
            #expect(renewed.epoch == 1)
            #expect(renewed.acquiredAt == Self.start && renewed.expiresAt == Self.start + 40)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func anExpiredLeaseIsTakenOverWithTheNextEpochAndTheOldHolderCannotRenewIt(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            _ = try await acquire(a, "a", at: 0)
            #expect(try await acquire(b, "b", at: 29.999) == nil)
            let takenOver = try #require(try await acquire(b, "b", at: 30))
            #expect(takenOver.epoch == 2 && takenOver.holder == "b" && takenOver.acquiredAt == Self.start + 30)
            #expect(try await acquire(a, "a", at: 31) == nil, "the old holder, back from a pause, is refused")
            let back = try #require(try await acquire(a, "a", at: 61), "once b's lease lapsed")
            #expect(back.epoch == 3, "every change of holder grows the fence")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aReleasedLeaseIsFreeAtOnceButOnlyItsHolderUnderItsEpochMayReleaseIt(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            let taken = try #require(try await acquire(a, "a", at: 0))
            let name = taken.name
            #expect(try await b.write { try $0.releaseLease(name, holder: "b", epoch: 1, at: Self.start + 1) } == false)
            #expect(try await a.write { try $0.releaseLease(name, holder: "a", epoch: 7, at: Self.start + 1) } == false)
            #expect(try await a.write { try $0.releaseLease(name, holder: "a", epoch: 1, at: Self.start + 1) })
            let next = try #require(try await acquire(b, "b", at: 1))
            #expect(next.epoch == 2)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aRunIsClaimedOncePerSpacingAndOnlyUnderTheCurrentEpoch(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            _ = try await acquire(a, "a", at: 0)
            func claim(_ store: any Store, _ holder: String, epoch: Int64, at offset: TimeInterval) async throws
                -> Bool
            {
                try await store.write {
                    try $0.claimLeasedRun(
                        "catalog-sync:local", holder: holder, epoch: epoch, spacing: 8, at: Self.start + offset)
                }
            }
            #expect(try await claim(a, "a", epoch: 1, at: 1))
            #expect(try await claim(a, "a", epoch: 1, at: 5) == false, "the same tick")
            #expect(try await claim(b, "b", epoch: 1, at: 9) == false, "not the holder")
            #expect(try await claim(a, "a", epoch: 1, at: 9))
            // a pauses past its lease; b takes over and must not run the tick a ran just before.
            _ = try #require(try await acquire(b, "b", at: 40))
            #expect(try await claim(a, "a", epoch: 1, at: 41) == false, "fenced: a's epoch is gone")
            #expect(try await claim(b, "b", epoch: 2, at: 41))
            let lease = try await a.read { try $0.lease(named: "catalog-sync:local") }
            #expect(lease?.lastRunAt == Self.start + 41)
        }
    }

    @Test(arguments: StoreBackend.allCases, [("", "a"), (String(repeating: "n", count: 201), "a"), ("job", "")])
    func anUnusableNameOrHolderIsRefusedWithoutAWrite(_ backend: StoreBackend, name: (String, String)) async throws {
        let (name, holder) = name
        try await backend.withTwoStores { a, _ in
            await #expect(throws: StoreError.self) {
                try await a.write { try $0.acquireLease(name, holder: holder, for: 30, at: Self.start) }
            }
            let leases = try await a.read { try $0.allLeases() }
            #expect(leases.isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aLeaseOfNoTimeIsRefused(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, _ in
            await #expect(throws: StoreError.self) {
                try await a.write { try $0.acquireLease("job", holder: "a", for: 0, at: Self.start) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func twoInstancesCountTheSameAddressesFailuresInOneWindow(_ backend: StoreBackend) async throws {
        try await backend.withTwoStores { a, b in
            func count(_ store: any Store, _ address: String, at offset: TimeInterval) async throws -> GuessingWindow {
                try await store.write {
                    try $0.countGuessingFailure(from: address, window: 60, at: Self.start + offset)
                }
            }
            #expect(try await count(a, "203.0.113.9", at: 0).failures == 1)
            #expect(try await count(b, "203.0.113.9", at: 1).failures == 2)
            let third = try await count(a, "203.0.113.9", at: 2)
            #expect(third.failures == 3 && third.start == Self.start, "the window began with the first failure")
            #expect(try await count(b, "198.51.100.7", at: 3).failures == 1, "another address counts alone")
            let fresh = try await count(b, "203.0.113.9", at: 60)
            #expect(fresh.failures == 1 && fresh.start == Self.start + 60, "a window ends after its length")
        }
    }
}
