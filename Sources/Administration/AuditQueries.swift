import Authorization
import Foundation
import Storage

/// The audit log for administrators: filtered by actor, action, target and time, newest first, paged
/// with a total (the REST API's `audit-events`, `portcullis audit` listings).
public struct AuditQueries: Sendable {
    private let store: any Store
    private let settings: ResourcePolicySettings

    /// Creates the service.
    public init(store: any Store, settings: ResourcePolicySettings = .init()) {
        self.store = store
        self.settings = settings
    }

    /// The events `filter` matches, newest first, `limit` from `offset` (admins only).
    public func list(
        _ filter: AuditEventFilter = .init(), offset: Int = 0, limit: Int = 25, by actor: Caller
    ) async throws -> Page<AuditEvent> {
        guard offset >= 0, (1...PageRequest<AccountSortField>.maximumLimit).contains(limit) else {
            throw AdministrationError(
                .invalidPaging,
                "the offset must not be negative and the limit between 1 and \(PageRequest<AccountSortField>.maximumLimit)"
            )
        }
        if let since = filter.since, let until = filter.until, until < since {
            throw AdministrationError(.invalidPaging, "'until' is before 'since'")
        }
        let settings = settings
        return try await store.read { reader in
            try ResolvedCaller(actor, in: reader).require(.administer, settings)
            let page = try reader.auditEvents(matching: filter, offset: offset, limit: limit)
            return Page(items: page.events, total: page.total, offset: offset, limit: limit)
        }
    }
}

extension AuditQueries {
    /// The columns of the audit log as CSV (`portcullis audit export --csv`, `GET /api/v1/audit-events` with
    /// `Accept: text/csv`): one header for both, so a spreadsheet made from either reads the same.
    public static let csvColumns = [
        "id", "time", "actor", "action", "target", "outcome", "client_ip", "detail", "count", "last_time",
    ]

    /// `event`'s fields in `csvColumns` order, as text not yet made safe (``CSV/record(_:)`` does that).
    public static func csvFields(_ event: AuditEvent) -> [String] {
        [
            String(event.id.rawValue), event.time.formatted(.iso8601), event.actorName ?? "", event.action,
            event.target ?? "", event.outcome.rawValue, event.clientIP ?? "", event.detail ?? "",
            String(event.count), event.lastTime?.formatted(.iso8601) ?? "",
        ]
    }
}
