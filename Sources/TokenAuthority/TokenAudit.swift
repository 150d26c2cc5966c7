import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization

/// Writes audit events to the store in group commits; a failed write is logged and swallowed.
///
/// Auditing never fails the request it describes (the `AuditRecording` contract). Events that arrive
/// while a transaction is being written share the next one, so a burst of token requests costs a few
/// transactions, not one each. Safe to share.
public final class StoreAuditRecorder: AuditRecording, Sendable {
    /// When `record` returns.
    public enum Durability: Sendable, Hashable {
        /// Once the event is committed: no answer goes out before its audit event is durable.
        case waitForCommit
        /// At once, while fewer than `backlog` events wait for their commit (then the caller waits, so a
        /// slow disk shows as latency, never as unbounded memory or lost events). A crash can lose the
        /// events of the last moment; `drain()` on shutdown writes the rest.
        case queued(backlog: Int)
    }

    private let store: any Store
    private let logger: Logger
    private let durability: Durability
    /// How long queued events wait for company before their transaction starts.
    static let queuedLinger = Duration.milliseconds(5)
    private let state = Mutex(GroupState())

    /// Events waiting for the next commit, with the callers waiting for it.
    private struct GroupState: ~Copyable {
        var pending: [(event: NewAuditEvent, done: CheckedContinuation<Void, Never>?)] = []
        var flushing = false
        /// Callers of `drain()` waiting for the queue to empty.
        var drainers: [CheckedContinuation<Void, Never>] = []
    }

    /// Creates a recorder writing to `store` and logging failures to `logger`.
    public init(store: any Store, logger: Logger, durability: Durability = .waitForCommit) {
        self.store = store
        self.logger = logger
        self.durability = durability
    }

    /// Appends `event`; returns once it is committed, or at once when the durability allows it.
    public func record(_ event: NewAuditEvent) async {
        if case .queued(let backlog) = durability, enqueue(event, done: nil, unlessBacklogReaches: backlog) {
            return
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            _ = enqueue(event, done: done, unlessBacklogReaches: nil)
        }
    }

    /// Queues `event` when the durability is `.queued` and its backlog has room; false (nothing queued)
    /// under `.waitForCommit` or a full backlog, where `record` would make the caller wait.
    public func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool {
        guard case .queued(let backlog) = durability else { return false }
        return enqueue(event, done: nil, unlessBacklogReaches: backlog)
    }

    /// Adds `event` to the next group commit, starting the flush loop if it is idle; returns false without
    /// adding it when `backlog` events are already waiting.
    private func enqueue(
        _ event: NewAuditEvent, done: CheckedContinuation<Void, Never>?, unlessBacklogReaches backlog: Int?
    ) -> Bool {
        let started = state.withLock { state -> Bool? in
            if let backlog, state.pending.count >= backlog { return nil }
            state.pending.append((event, done))
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        guard let started else { return false }
        if started { Task { await self.flush() } }
        return true
    }

    /// Returns once every event recorded before the call is committed (or given up on and logged).
    public func drain() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                guard state.flushing || !state.pending.isEmpty else { return true }
                state.drainers.append(done)
                return false
            }
            if idle { done.resume() }
        }
    }

    private func flush() async {
        while true {
            if case .queued = durability {
                // Nobody waits for these commits: gathering a few milliseconds' worth of events into one
                // transaction saves a store hop and a commit per request under load.
                try? await Task.sleep(for: Self.queuedLinger)
            }
            let (batch, drainers) = state.withLock { state in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                var drainers: [CheckedContinuation<Void, Never>] = []
                if batch.isEmpty {
                    state.flushing = false
                    swap(&drainers, &state.drainers)
                }
                return (batch, drainers)
            }
            if batch.isEmpty {
                for drainer in drainers { drainer.resume() }
                return
            }
            let events = batch.map(\.event)
            do {
                try await store.write { writer in try writer.appendAuditEvents(events) }
            } catch {
                // One bad event (an actor deleted meanwhile) must not cost the others: store them one by one.
                for event in events {
                    do {
                        _ = try await store.write { writer in try writer.appendAuditEvent(event) }
                    } catch {
                        logger.error(
                            "audit event could not be stored",
                            ["action": event.action, "outcome": event.outcome.rawValue, "error": "\(error)"])
                    }
                }
            }
            for entry in batch { entry.done?.resume() }
        }
    }
}

extension AccessClaim {
    /// The scope text of this entry, `type:name:action1,action2`, as in a token request.
    public var scopeText: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}

/// What the audit log keeps about one request to the token endpoint.
///
/// Every text that came from the client is cut to a bounded length and count, so a hostile
/// request cannot bloat the audit table.
public struct TokenRequestAudit: Sendable, Hashable {
    /// The action name of token-request audit events.
    public static let action = "token.issue"
    /// At most this many scopes are kept per list; the detail says how many were left out.
    public static let maximumScopes = 50
    /// Longer texts are cut to this many characters.
    public static let maximumTextLength = 256

    /// The authenticated user's id, if the request authenticated.
    public var userID: User.ID?
    /// The user name: the authenticated one, or the one that failed to authenticate; nil for anonymous.
    public var username: String?
    /// The identity provider that authenticated the user (or refused them), if any.
    public var provider: String?
    /// The client address.
    public var clientIP: String?
    /// The registry service named in the request.
    public var service: String
    /// The scopes as requested (raw texts).
    public var requestedScopes: [String]
    /// The scopes as granted.
    public var grantedScopes: [String]
    /// How the request ended.
    public var outcome: AuditOutcome
    /// Why it was denied or failed (a short code or phrase, never a secret), if it was.
    public var reason: String?

    /// Describes one token request.
    public init(
        userID: User.ID? = nil, username: String?, provider: String? = nil, clientIP: String?, service: String,
        requestedScopes: [String], grantedScopes: [String], outcome: AuditOutcome, reason: String? = nil
    ) {
        self.userID = userID
        self.username = username
        self.provider = provider
        self.clientIP = clientIP
        self.service = service
        self.requestedScopes = requestedScopes
        self.grantedScopes = grantedScopes
        self.outcome = outcome
        self.reason = reason
    }

    /// Describes one token request whose grants are the `access` claim of the minted token.
    public init(
        userID: User.ID? = nil, username: String?, provider: String? = nil, clientIP: String?, service: String,
        requestedScopes: [String], granted: [AccessClaim], outcome: AuditOutcome, reason: String? = nil
    ) {
        self.init(
            userID: userID, username: username, provider: provider, clientIP: clientIP, service: service,
            requestedScopes: requestedScopes, grantedScopes: granted.map(\.scopeText), outcome: outcome,
            reason: reason)
    }

    /// The audit event: actor, `token.issue`, target `service:<service>`, and a JSON `detail` with
    /// `provider`, `service`, `requested`, `granted` and `reason` (absent members left out).
    public func event(at time: Date? = nil) -> NewAuditEvent {
        // Appended to one string rather than assembled from member arrays: every token request builds one,
        // and the intermediate arrays and strings were most of its cost.
        var detail = "{"
        detail.reserveCapacity(64 + (requestedScopes.first?.utf8.count ?? 0) + (grantedScopes.first?.utf8.count ?? 0))
        if let provider { detail += "\"provider\":" + JSONText.quoted(Self.bounded(provider)) + "," }
        detail += "\"service\":" + JSONText.quoted(Self.bounded(service))
        Self.appendScopes("requested", requestedScopes, to: &detail)
        Self.appendScopes("granted", grantedScopes, to: &detail)
        if let reason { detail += ",\"reason\":" + JSONText.quoted(Self.bounded(reason)) }
        detail += "}"
        return NewAuditEvent(
            action: Self.action, outcome: outcome, actorID: userID, actorName: username.map(Self.bounded),
            target: "service:" + Self.bounded(service), clientIP: clientIP.map(Self.bounded),
            detail: detail, time: time)
    }

    /// Appends `,"name":[…]` with at most `maximumScopes` bounded scope texts, and `,"nameOmitted":n` when
    /// some were left out.
    private static func appendScopes(_ name: String, _ scopes: [String], to detail: inout String) {
        detail += ",\"" + name + "\":["
        for (index, scope) in scopes.prefix(maximumScopes).enumerated() {
            if index > 0 { detail += "," }
            detail += JSONText.quoted(bounded(scope))
        }
        detail += "]"
        if scopes.count > maximumScopes { detail += ",\"" + name + "Omitted\":" + String(scopes.count - maximumScopes) }
    }

    private static func bounded(_ text: String) -> String {
        // Counting UTF-8 bytes is O(1) for native strings; characters are counted only for long texts.
        if text.utf8.count <= maximumTextLength || text.count <= maximumTextLength { return text }
        return String(text.prefix(maximumTextLength)) + "…"
    }
}
