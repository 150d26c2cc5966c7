import Diagnostics
import Foundation
import Storage

/// Deletes audit events older than their class's retention (`audit.retention`), in small batches.
///
/// Each batch is its own short transaction of at most `batchSize` rows, and the pruner yields between
/// batches, so token requests (whose audit events need the same write lock) wait for one batch at most,
/// never for the whole backlog of a first run over a large database.
public struct AuditPruner: Sendable {
    /// How long each class is kept; a class missing here, or with a zero duration, is kept for ever.
    public var retention: [AuditEventClass: Duration]
    /// Rows deleted per transaction.
    public var batchSize: Int
    private let store: any Store
    private let now: @Sendable () -> Date

    /// A pruner for `store` keeping each class for its `retention`.
    public init(
        store: any Store, retention: [AuditEventClass: Duration], batchSize: Int = 1_000,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.retention = retention
        self.batchSize = max(1, batchSize)
        self.now = now
    }

    /// Deletes every event past its class's retention; returns how many went per class, and how many
    /// transactions that took.
    @discardableResult public func run() async throws -> (deleted: [AuditEventClass: Int], batches: Int) {
        let time = now()
        var deleted: [AuditEventClass: Int] = [:]
        var batches = 0
        for eventClass in AuditEventClass.allCases {
            guard let kept = retention[eventClass], kept > .zero else { continue }
            let cutoff = time.addingTimeInterval(-kept.inSeconds)
            let limit = batchSize
            while true {
                try Task.checkCancellation()
                let count = try await store.write { writer in
                    try writer.pruneAuditEvents(of: eventClass, before: cutoff, limit: limit)
                }
                batches += 1
                deleted[eventClass, default: 0] += count
                if count < limit { break }
                // Lets queued audit batches and other writers take the lock between two deletions.
                await Task.yield()
            }
        }
        return (deleted, batches)
    }
}
