import Foundation
import IdentityCore
import SQLiteStorage
import Storage
import TestSupport
import Testing

@testable import ServerApp

/// The password-guessing limit across instances: two throttles, each with its own memory, counting their
/// failures through `StoreGuessingLedger` into one database file, as two `serve` processes do.
@Suite struct SharedGuessingTests {
    static let address = "203.0.113.50"
    static let now = Date(timeIntervalSince1970: 2_000_000_000)

    @Test func failuresSplitBetweenTwoInstancesAddUpToOneAllowance() async throws {
        try await StoreBackend.sqlite.withTwoStores { first, second in
            let limits = GuessingLimits(failures: 6, window: 60, concurrentChecks: 0)
            let a = GuessingThrottle(limits: limits, ledger: StoreGuessingLedger(store: first))
            let b = GuessingThrottle(limits: limits, ledger: StoreGuessingLedger(store: second))

            // Alternating, as a round-robin load balancer sends them: three failures on each instance.
            for index in 0..<6 {
                let instance = index.isMultiple(of: 2) ? a : b
                await instance.recordSharedFailure(from: Self.address, now: Self.now + Double(index))
            }
            #expect(b.isRefusing(Self.address, now: Self.now + 6), "b recorded the sixth failure: it knows all six")
            #expect(a.isRefusing(Self.address, now: Self.now + 6) == false, "a has seen five so far")
            await a.recordSharedFailure(from: Self.address, now: Self.now + 7)
            #expect(a.isRefusing(Self.address, now: Self.now + 7), "one more failure on a, and a knows the total")
            let refusal = try #require(a.beginCheck(from: Self.address, now: Self.now + 7))
            #expect(refusal.cause == .failures && refusal.retryAfterSeconds == 53, "the shared window's end")
            #expect(a.isRefusing(Self.address, now: Self.now + 60) == false, "the window ends for both alike")
        }
    }

    @Test func withoutALedgerEachInstanceCountsOnlyItsOwn() async throws {
        let limits = GuessingLimits(failures: 6, window: 60, concurrentChecks: 0)
        let alone = GuessingThrottle(limits: limits)
        for index in 0..<5 { await alone.recordSharedFailure(from: Self.address, now: Self.now + Double(index)) }
        #expect(alone.isRefusing(Self.address, now: Self.now + 5) == false)
        await alone.recordSharedFailure(from: Self.address, now: Self.now + 5)
        #expect(alone.isRefusing(Self.address, now: Self.now + 5))
    }
}
