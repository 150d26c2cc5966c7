import Foundation

/// The classes of audit events that `audit.retention` keeps for different times.
///
/// Every event belongs to exactly one class, decided by its action and outcome alone, so a store can
/// select a class in SQL without reading the detail.
public enum AuditEventClass: String, Sendable, Hashable, CaseIterable {
    /// Token requests that got a token (`token.issue` and CI workload logins and refreshes, success): the bulk
    /// of the log.
    case tokenIssued
    /// Token requests that were refused or failed (CI workload logins and refreshes included), and refused
    /// logins (`login.*`): what an incident review looks for.
    case tokenDenied
    /// Everything else: administration (users, teams, webhooks), provisioning, group sync, and the
    /// pushes and deletions the registry reported.
    case admin

    /// The actions of token requests: a registry token asked for by anyone, and a CI job's login or refresh.
    public static let tokenActions = ["token.issue", "workload.login", "workload.refresh"]

    /// The class of an event with this action and outcome.
    public static func of(action: String, outcome: AuditOutcome) -> AuditEventClass {
        if tokenActions.contains(action) { return outcome == .success ? .tokenIssued : .tokenDenied }
        return action.hasPrefix("login.") ? .tokenDenied : .admin
    }
}

/// Repeats of an identical event to fold into its stored line (see `StoreWriting.addAuditRepeats`).
public struct AuditRepeat: Sendable, Hashable {
    /// The stored event the repeats are identical to.
    public var id: AuditEvent.ID
    /// How many repeats to add to its count.
    public var count: Int
    /// When the last of them happened.
    public var lastTime: Date

    /// Describes `count` repeats of event `id`, the last at `lastTime`.
    public init(id: AuditEvent.ID, count: Int, lastTime: Date) {
        self.id = id
        self.count = count
        self.lastTime = lastTime
    }
}
