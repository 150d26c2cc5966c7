import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// The per-address lockout records of schema migration 6.
@Suite(.storeBackends("LoginLockoutStoreTests")) struct LoginLockoutStoreTests {
    static let address = "198.51.100.4"

    @Test(arguments: StoreBackend.allCases) func aRecordIsSavedReplacedAndReadBackPerAccountAndAddress(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            let lock = Date(timeIntervalSince1970: 2_000_000_000)
            let first = AddressLoginState(
                userID: user.id, clientAddress: Self.address, failedCount: 3, lockCount: 1, lockedUntil: lock,
                lastFailureAt: Date(timeIntervalSince1970: 1_999_999_000))
            try await store.write { try $0.saveAddressLoginState(first) }
            #expect(try await store.read { try $0.addressLoginState(of: user.id, from: Self.address) } == first)
            #expect(try await store.read { try $0.addressLoginState(of: user.id, from: "198.51.100.5") } == nil)
            var second = first
            second.failedCount = 0
            second.lockedUntil = nil
            second.lastSuccessAt = Date(timeIntervalSince1970: 2_000_000_100)
            try await store.write { [second] in try $0.saveAddressLoginState(second) }
            #expect(try await store.read { try $0.addressLoginState(of: user.id, from: Self.address) } == second)
        }
    }

    @Test(arguments: StoreBackend.allCases, ["", String(repeating: "a", count: 256)])
    func anUnusableAddressIsRefusedWithoutAWrite(_ backend: StoreBackend, address: String) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            await #expect(throws: StoreError.self) {
                try await store.write {
                    try $0.saveAddressLoginState(AddressLoginState(userID: user.id, clientAddress: address))
                }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func pruningKeepsLocksRecentFailuresAndKnownAddressesOnly(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            let now = Date(timeIntervalSince1970: 2_000_000_000)
            let old = now.addingTimeInterval(-200_000)
            let records = [
                AddressLoginState(userID: user.id, clientAddress: "stale", failedCount: 2, lastFailureAt: old),
                AddressLoginState(
                    userID: user.id, clientAddress: "locked", failedCount: 10, lockedUntil: now.addingTimeInterval(60),
                    lastFailureAt: old),
                AddressLoginState(userID: user.id, clientAddress: "recent", failedCount: 1, lastFailureAt: now),
                AddressLoginState(userID: user.id, clientAddress: "known", lastSuccessAt: old),
            ]
            let removed = try await store.write { writer -> Int in
                for record in records { try writer.saveAddressLoginState(record) }
                return try writer.pruneAddressLoginStates(
                    of: user.id, at: now, failuresSince: now.addingTimeInterval(-86_400),
                    successesSince: now.addingTimeInterval(-90 * 86_400))
            }
            #expect(removed == 1)
            for kept in ["locked", "recent", "known"] {
                #expect(try await store.read { try $0.addressLoginState(of: user.id, from: kept) } != nil)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func recordsGoWithTheirAccount(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            try await store.write {
                try $0.saveAddressLoginState(AddressLoginState(userID: user.id, clientAddress: Self.address))
                try $0.deleteUser(user.id)
            }
            #expect(try await store.read { try $0.addressLoginState(of: user.id, from: Self.address) } == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPerAddressLockThatStartsOrEndsAdvancesTheAuthorizationGeneration(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            var record = AddressLoginState(userID: user.id, clientAddress: Self.address, failedCount: 1)
            var before = store.authorizationGeneration
            try await store.write { [record] in try $0.saveAddressLoginState(record) }
            #expect(store.authorizationGeneration == before, "a failure without a lock changes no decision")
            record.lockedUntil = Date(timeIntervalSince1970: 2_000_000_000)
            before = store.authorizationGeneration
            try await store.write { [record] in try $0.saveAddressLoginState(record) }
            #expect(store.authorizationGeneration != before)
            record.lockedUntil = nil
            before = store.authorizationGeneration
            try await store.write { [record] in try $0.saveAddressLoginState(record) }
            #expect(store.authorizationGeneration != before)
        }
    }
}
