import Foundation
import Storage

/// The audit log's queries: the hot insert path, coalesced repeats, paging, retention and archiving.
extension SQLTransaction {
    package static var auditColumns: String {
        "id, time, actor_id, actor_name, action, target, outcome, client_ip, detail, count, last_time"
    }

    package static func decodeAudit(_ row: Connection.Row) -> AuditEvent {
        AuditEvent(
            id: row.id(0), time: row.date(1), actorID: row.optionalID(2), actorName: row.optionalText(3),
            action: row.text(4), target: row.optionalText(5),
            outcome: AuditOutcome(rawValue: row.text(6)) ?? .failure, clientIP: row.optionalText(7),
            detail: row.optionalText(8), count: Int(row.int(9)), lastTime: row.optionalDate(10))
    }

    package func auditEvents(limit: Int, before beforeID: AuditEvent.ID?) throws -> [AuditEvent] {
        try rows(
            "SELECT \(Self.auditColumns) FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?",
            [(beforeID?.rawValue ?? Int64.max).sqlValue, max(0, limit).sqlValue], Self.decodeAudit)
    }

    /// The events `whereClause` selects, newest first; the last two values are the limit and the offset.
    package func auditEvents(where whereClause: String, _ values: [SQLValue]) throws -> [AuditEvent] {
        try rows(
            "SELECT \(Self.auditColumns) FROM audit_events\(whereClause) ORDER BY id DESC LIMIT ? OFFSET ?", values,
            Self.decodeAudit)
    }

    package func auditEvents(before date: Date, after afterID: AuditEvent.ID?, limit: Int) throws -> [AuditEvent] {
        try rows(
            "SELECT \(Self.auditColumns) FROM audit_events WHERE id > ? AND time < ? ORDER BY id LIMIT ?",
            [(afterID?.rawValue ?? 0).sqlValue, date.sqlValue, max(0, limit).sqlValue], Self.decodeAudit)
    }

    package func appendAuditEvent(_ event: NewAuditEvent) throws -> AuditEvent {
        try requireName(event.action, "audit action")
        let event = Self.recordable(event)
        let time = event.time ?? now()
        let id = try insert(
            """
            INSERT INTO audit_events (time, actor_id, actor_name, action, target, outcome, client_ip, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                time.sqlValue, event.actorID.sqlValue, event.actorName.sqlValue, event.action.sqlValue,
                event.target.sqlValue, event.outcome.rawValue.sqlValue, event.clientIP.sqlValue, event.detail.sqlValue,
            ])
        // Built from what was inserted rather than read back: audit events are the hot write path, and
        // the only values the database adds are the id and the millisecond rounding of the time.
        return AuditEvent(
            id: AuditEvent.ID(id),
            time: Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded() / 1000),
            actorID: event.actorID, actorName: event.actorName, action: event.action, target: event.target,
            outcome: event.outcome, clientIP: event.clientIP, detail: event.detail)
    }

    /// One multi-row INSERT per chunk of up to 64 events (chunk sizes are powers of two, so a handful of
    /// cached statements serve every batch): half the cost per event of single-row inserts, which matters
    /// because every token request writes one.
    @discardableResult package func appendAuditEvents(_ events: [NewAuditEvent]) throws -> [AuditEvent.ID] {
        try checkWritable()
        for event in events { try requireName(event.action, "audit action") }
        var ids: [AuditEvent.ID] = []
        ids.reserveCapacity(events.count)
        var start = 0
        while start < events.count {
            var size = 64
            while size > events.count - start { size /= 2 }
            let chunk = events[start..<(start + size)]
            var values: [SQLValue] = []
            values.reserveCapacity(size * 8)
            for event in chunk.lazy.map(Self.recordable) {
                values += [
                    (event.time ?? now()).sqlValue, event.actorID.sqlValue, event.actorName.sqlValue,
                    event.action.sqlValue, event.target.sqlValue, event.outcome.rawValue.sqlValue,
                    event.clientIP.sqlValue, event.detail.sqlValue,
                ]
            }
            for id in try connection.insert(Self.auditInsert(rows: size), values, rows: size) {
                ids.append(AuditEvent.ID(id))
            }
            start += size
        }
        return ids
    }

    /// Audit text as both backends can hold it: a NUL (which PostgreSQL refuses in text, and which a hostile
    /// username may carry into a failed login's record) is written as U+FFFD. The audit log records what was
    /// tried; it must never fail to because of what was tried.
    static func recordable(_ event: NewAuditEvent) -> NewAuditEvent {
        func clean(_ text: String?) -> String? {
            guard let text, text.utf8.contains(0) else { return text }
            return text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        }
        var event = event
        event.actorName = clean(event.actorName)
        event.target = clean(event.target)
        event.clientIP = clean(event.clientIP)
        event.detail = clean(event.detail)
        return event
    }

    /// `INSERT INTO audit_events … VALUES (…), (…)` for `rows` rows.
    private static func auditInsert(rows: Int) -> String {
        "INSERT INTO audit_events (time, actor_id, actor_name, action, target, outcome, client_ip, detail) VALUES "
            + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
    }

    package func addAuditRepeats(_ repeats: [AuditRepeat]) throws {
        try checkWritable()
        for item in repeats where item.count > 0 {
            // max(): a repeat flushed late never moves the last time backwards.
            try connection.run(
                """
                UPDATE audit_events SET count = count + ?, last_time = \(dialect.greatest("coalesce(last_time, time)", "?"))
                WHERE id = ?
                """,
                [item.count.sqlValue, item.lastTime.sqlValue, item.id.sqlValue])
        }
    }

    package func pruneAuditEvents(olderThan date: Date) throws -> Int {
        try affected("DELETE FROM audit_events WHERE time < ?", [date.sqlValue])
    }

    package func pruneAuditEvents(of eventClass: AuditEventClass, before date: Date, limit: Int) throws -> Int {
        let selection: String
        // The same rule as `AuditEventClass.of`, in SQL (the actions are constants of ours, not input).
        let tokenActions = "(" + AuditEventClass.tokenActions.map { "'\($0)'" }.joined(separator: ", ") + ")"
        switch eventClass {
        case .tokenIssued: selection = "action IN \(tokenActions) AND outcome = 'success'"
        case .tokenDenied:
            selection = "((action IN \(tokenActions) AND outcome != 'success') OR action LIKE 'login.%')"
        case .admin: selection = "action NOT IN \(tokenActions) AND action NOT LIKE 'login.%'"
        }
        return try affected(
            """
            DELETE FROM audit_events WHERE id IN (
                SELECT id FROM audit_events WHERE time < ? AND \(selection) ORDER BY time LIMIT ?)
            """,
            [date.sqlValue, max(0, limit).sqlValue])
    }

    package func pruneAuditEvents(before date: Date, throughID lastID: AuditEvent.ID, limit: Int) throws -> Int {
        try affected(
            """
            DELETE FROM audit_events WHERE id IN (
                SELECT id FROM audit_events WHERE id <= ? AND time < ? ORDER BY id LIMIT ?)
            """,
            [lastID.sqlValue, date.sqlValue, max(0, limit).sqlValue])
    }
}
