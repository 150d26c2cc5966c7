import Foundation
import IdentityCore
import Storage

/// The password-guessing throttle's shared count, in the store (`guessing_windows`): every instance on the
/// database adds its failures to one window per client address.
struct StoreGuessingLedger: GuessingLedger {
    let store: any Store

    func countFailure(from address: String, window: TimeInterval, now: Date) async throws -> (
        start: Date, failures: Int
    ) {
        let counted = try await store.write { try $0.countGuessingFailure(from: address, window: window, at: now) }
        return (counted.start, counted.failures)
    }
}
