import Foundation
import Storage

/// Queries the administration services need beyond the aggregates' basics: filtered audit pages with a
/// total, repository descriptions.
extension SQLTransaction {
    package func auditEvents(matching filter: AuditEventFilter, offset: Int, limit: Int) throws -> AuditEventPage {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let actor = filter.actor {
            conditions.append("actor_name = ?")
            values.append(actor.sqlValue)
        }
        for (column, pattern, wildcard) in [("action", filter.action, ".*"), ("target", filter.target, "*")] {
            guard let pattern else { continue }
            if pattern.hasSuffix(wildcard) {
                // A prefix (for an action family, up to and including the dot), matched literally: no LIKE,
                // so `%` and `_` in a filter mean themselves.
                let prefix = String(pattern.dropLast())
                conditions.append("substr(\(column), 1, ?) = ?")
                values.append(contentsOf: [prefix.unicodeScalars.count.sqlValue, prefix.sqlValue])
            } else {
                conditions.append("\(column) = ?")
                values.append(pattern.sqlValue)
            }
        }
        if let since = filter.since {
            conditions.append("time >= ?")
            values.append(since.sqlValue)
        }
        if let until = filter.until {
            conditions.append("time < ?")
            values.append(until.sqlValue)
        }
        if let outcome = filter.outcome {
            conditions.append("outcome = ?")
            values.append(outcome.rawValue.sqlValue)
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let total = try count("SELECT count(*) FROM audit_events\(whereClause)", values)
        let events = try auditEvents(
            where: whereClause, values + [max(0, limit).sqlValue, max(0, offset).sqlValue])
        return AuditEventPage(events: events, total: total)
    }

    package func rename(team teamID: Team.ID, to name: String) throws {
        try change(
            "team", "UPDATE teams SET name = ?, updated_at = ? WHERE id = ?",
            [name.sqlValue, now().sqlValue, teamID.sqlValue])
    }

    package func setDescription(_ description: String?, forRepository repositoryID: Repository.ID) throws {
        try change(
            "repository", "UPDATE repositories SET description = ?, updated_at = ? WHERE id = ?",
            [description.sqlValue, now().sqlValue, repositoryID.sqlValue])
    }
}
