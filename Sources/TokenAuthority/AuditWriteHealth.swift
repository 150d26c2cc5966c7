import Diagnostics
import Foundation
import Storage
import Synchronization

/// Whether audit events are being stored, for `/readyz`, the metrics and the error log.
///
/// A recorder reports every write here. While writes fail, `isFailing` is true (readiness answers 503 and
/// names the audit log), every lost event counts in `portcullis_audit_write_failures_total`, and an error
/// line is logged at most once per `logInterval` (with how many failures it stands for), so a full disk
/// cannot flood the log it shares. The first success after failures clears the state and says so.
public final class AuditWriteHealth: Sendable {
    private struct State {
        var failing = false
        var failures = 0
        var lastError: String?
        var lastLogged: ContinuousClock.Instant?
        var unloggedFailures = 0
    }

    private let state = Mutex(State())
    private let failureCounter: Counter?
    private let logger: Logger
    /// At most one error line per this interval while writes keep failing.
    public let logInterval: Duration

    /// Creates a health record that counts lost events in `failureCounter` and logs to `logger`.
    public init(logger: Logger, failureCounter: Counter? = nil, logInterval: Duration = .seconds(10)) {
        self.logger = logger
        self.failureCounter = failureCounter
        self.logInterval = logInterval
    }

    /// Whether the last audit write failed (and none succeeded since).
    public var isFailing: Bool { state.withLock { $0.failing } }

    /// How many audit events could not be stored since start.
    public var failureCount: Int { state.withLock { $0.failures } }

    /// The error of the last failed write, if the last write failed.
    public var lastError: String? { state.withLock { $0.failing ? $0.lastError : nil } }

    /// Notes that `events` events (or repeat counts) could not be stored because of `error`.
    func recordFailure(_ error: any Error, events: Int, example: NewAuditEventSummary?) {
        failureCounter?.increment(by: Double(events))
        let now = ContinuousClock.now
        // A store error's reason is SQLite's own words ("database or disk is full"): what the operator needs.
        var description = "\(error)"
        if let storeError = error as? StoreError, !storeError.reason.isEmpty {
            description += " (\(storeError.reason))"
        }
        let suppressed = state.withLock { state -> Int? in
            state.failing = true
            state.failures += events
            state.lastError = description
            state.unloggedFailures += events
            if let last = state.lastLogged, now - last < logInterval { return nil }
            state.lastLogged = now
            defer { state.unloggedFailures = 0 }
            return state.unloggedFailures
        }
        guard let suppressed else { return }
        var fields = ["error": description, "events": String(suppressed)]
        if let example {
            fields["action"] = example.action
            fields["outcome"] = example.outcome
        }
        logger.error("audit events could not be stored; the audit log is incomplete until this clears", fields)
    }

    /// Notes a successful write; logs once when it ends a run of failures.
    func recordSuccess() {
        let recovered = state.withLock { state -> Bool in
            guard state.failing else { return false }
            state.failing = false
            state.lastLogged = nil
            state.unloggedFailures = 0
            return true
        }
        if recovered { logger.notice("audit events are stored again") }
    }
}

/// What an error line says about the kind of event that was lost (never its detail).
struct NewAuditEventSummary: Sendable {
    var action: String
    var outcome: String
}
