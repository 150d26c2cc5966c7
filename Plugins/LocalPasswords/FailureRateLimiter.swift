import Foundation
import Synchronization

/// Counts wrong passwords per client address in fixed windows and says when an address must wait.
///
/// Memory is bounded: past `capacity` addresses, finished windows are dropped, and if every window is
/// still running the table is emptied (an attacker with that many addresses is not slowed by a
/// per-address limit anyway; lockout still protects each account).
///
/// Threading: safe from any task; each call holds a lock for one dictionary access.
final class FailureRateLimiter: Sendable {
    private struct Window {
        var start: Date
        var failures: Int
        var refusalAnnounced = false
    }

    /// Why an address must wait.
    struct Refusal: Equatable {
        /// Seconds until the window ends.
        var retryAfterSeconds: Int
        /// Whether this is the first refusal of the window (only that one is audited, so a flood
        /// of refused attempts cannot flood the audit log).
        var isFirst: Bool
    }

    private let limit: Int
    private let window: TimeInterval
    private let capacity: Int
    private let windows = Mutex<[String: Window]>([:])

    /// A limiter allowing `limit` failures per `window` seconds (0 turns it off).
    init(limit: Int, window: TimeInterval, capacity: Int = 100_000) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
    }

    /// Why `address` must wait before trying again, or nil when it may try now.
    func refusal(for address: String, now: Date) -> Refusal? {
        guard limit > 0 else { return nil }
        return windows.withLock { table in
            guard var current = table[address] else { return nil }
            let end = current.start.addingTimeInterval(window)
            guard end > now else {
                table[address] = nil
                return nil
            }
            guard current.failures >= limit else { return nil }
            let isFirst = !current.refusalAnnounced
            if isFirst {
                current.refusalAnnounced = true
                table[address] = current
            }
            return Refusal(retryAfterSeconds: max(1, Int(end.timeIntervalSince(now).rounded(.up))), isFirst: isFirst)
        }
    }

    /// Whether `refusal(for:now:)` would refuse `address` now, without noting a refusal (so the one audited
    /// refusal of a window stays `refusal`'s to announce).
    func isRefusing(_ address: String, now: Date) -> Bool {
        guard limit > 0 else { return false }
        return windows.withLock { table in
            guard let current = table[address] else { return false }
            return current.start.addingTimeInterval(window) > now && current.failures >= limit
        }
    }

    /// Counts one failure from `address`.
    func recordFailure(from address: String, now: Date) {
        guard limit > 0 else { return }
        windows.withLock { table in
            if var current = table[address], current.start.addingTimeInterval(window) > now {
                current.failures += 1
                table[address] = current
                return
            }
            if table[address] == nil && table.count >= capacity {
                table = table.filter { $0.value.start.addingTimeInterval(window) > now }
                if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            }
            table[address] = Window(start: now, failures: 1)
        }
    }
}
