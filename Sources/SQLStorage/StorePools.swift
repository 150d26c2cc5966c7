import Foundation
import Storage
import Threading

/// The idle items (connections, connection slots) of a pool with as many threads as items: a job checks one out
/// for the duration of its transaction, so a running job always finds one. The wait exists only for `close()`,
/// which collects every item as jobs return them.
package final class Checkout<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var idle: [Item]

    /// Items, all idle.
    package init(_ items: [Item]) { idle = items }

    /// Takes an idle item, waiting (on a pool thread, never a task) until one is returned.
    package func checkOut() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while idle.isEmpty { condition.wait() }
        return idle.removeLast()
    }

    /// Returns an item for the next job.
    package func checkIn(_ item: Item) {
        condition.lock()
        idle.append(item)
        condition.signal()
        condition.unlock()
    }
}

/// The door between a store's callers and its blocking pools: jobs are queued only while the store is open, and
/// the check and the enqueue happen under one lock, so no job can slip in after `close()` shut the pools down
/// (which would trap).
package final class PoolGate: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false

    /// An open gate.
    package init() {}

    /// Whether `close()` was called.
    package var isClosed: Bool { lock.withLock { closed } }

    /// Closes the gate; true for the one caller that closed it (who then shuts the pools down).
    package func close() -> Bool {
        lock.withLock {
            defer { closed = true }
            return !closed
        }
    }

    /// Queues `body` on `pool` and returns its result; `StoreError.closed` once the gate is closed.
    package func submit<T: Sendable>(to pool: BlockingPool, _ body: @escaping @Sendable () throws -> T) async throws
        -> T
    {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = lock.withLock {
                guard !closed else { return false }
                pool.submit { continuation.resume(with: Result { try body() }) }
                return true
            }
            if !accepted { continuation.resume(throwing: StoreError.closed) }
        }
    }

    /// Shuts a pool down and deliberately keeps it alive: `BlockingPool`'s threads reference the pool unowned and
    /// still touch its lock while exiting after `shutdown()`, and the pool offers no join, so freeing it here
    /// could be a use-after-free. The leak is one small object per closed store; the threads themselves exit.
    package static func retire(_ pool: BlockingPool) {
        pool.shutdown()
        _ = Unmanaged.passRetained(pool)
    }
}
