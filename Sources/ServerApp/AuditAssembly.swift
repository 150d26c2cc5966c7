import Configuration
import Diagnostics
import Foundation
import HTTPCore
import Storage
import TokenAuthority

/// The audit log's parts for `serve`: the recorder with its health metrics (which `/readyz` reads, see
/// `Readiness`), and the retention job.
enum AuditAssembly {
    /// How often the retention job runs (its first run comes one interval after start).
    static let pruneInterval = Duration.seconds(15 * 60)

    /// The recorder `serve` uses: queued (or waiting for commits), coalescing repeats, counting lost
    /// events in `portcullis_audit_write_failures_total` and exposing `portcullis_audit_failing`.
    static func recorder(
        _ settings: AuditSettings, store: any Store, metrics: MetricsRegistry, logger: Logger
    ) -> StoreAuditRecorder {
        let health = AuditWriteHealth(
            logger: logger,
            failureCounter: metrics.counter(
                "portcullis_audit_write_failures_total",
                help: "Audit events (or repeat counts) that could not be stored since start."))
        metrics.gauge("portcullis_audit_failing", help: "1 while audit writes fail, 0 once one succeeds.") {
            health.isFailing ? 1 : 0
        }
        return StoreAuditRecorder(
            store: store, logger: logger,
            durability: settings.waitForCommit ? .waitForCommit : .queued(backlog: 10_000),
            coalesceWindow: settings.coalesceWindow, health: health)
    }

    /// The retention of each class, as `AuditPruner` takes it.
    static func retention(_ settings: AuditRetentionSettings) -> [AuditEventClass: Duration] {
        [.tokenIssued: settings.tokenIssued, .tokenDenied: settings.tokenDenied, .admin: settings.admin]
    }

    /// The job that deletes events past their retention, in batches; logs what it deleted.
    static func pruningJob(_ settings: AuditSettings, store: any Store, logger: Logger) -> BackgroundJob {
        let pruner = AuditPruner(store: store, retention: retention(settings.retention))
        return BackgroundJob(name: "audit-retention", interval: pruneInterval, logger: logger) {
            let (deleted, batches) = try await pruner.run()
            let total = deleted.values.reduce(0, +)
            guard total > 0 else { return }
            var fields = ["deleted": String(total), "batches": String(batches)]
            for (eventClass, count) in deleted where count > 0 { fields[eventClass.rawValue] = String(count) }
            logger.info("pruned audit events past their retention", fields)
        }
    }
}
