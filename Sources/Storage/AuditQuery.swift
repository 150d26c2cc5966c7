import Foundation

/// Which audit events a query returns: every condition given must hold.
public struct AuditEventFilter: Sendable, Hashable {
    /// The actor's recorded name, exactly.
    public var actor: String?
    /// The action exactly (`team.add_member`), or a family with a trailing `.*` (`team.*`).
    public var action: String?
    /// The target exactly (`team:backend`), or its beginning with a trailing `*` (`namespace:*`).
    public var target: String?
    /// Only events at or after this time.
    public var since: Date?
    /// Only events before this time.
    public var until: Date?
    /// Only events with this outcome.
    public var outcome: AuditOutcome?

    /// Describes a filter; nil conditions match everything.
    public init(
        actor: String? = nil, action: String? = nil, target: String? = nil, since: Date? = nil, until: Date? = nil,
        outcome: AuditOutcome? = nil
    ) {
        self.outcome = outcome
        self.actor = actor
        self.action = action
        self.target = target
        self.since = since
        self.until = until
        self.outcome = outcome
    }
}

/// One page of audit events, newest first, with how many match in all.
public struct AuditEventPage: Sendable, Hashable {
    /// The events of the page, newest (highest id) first.
    public var events: [AuditEvent]
    /// How many events match the filter.
    public var total: Int

    /// Creates a page.
    public init(events: [AuditEvent], total: Int) {
        self.events = events
        self.total = total
    }
}
