import Diagnostics
import Foundation
import Storage

// Portus's activity log → audit events marked as imported: the action is `portus.<key>` (a family of its own,
// `portcullis audit search --action 'portus.*'`), the time, actor and subject are Portus's, and the detail
// keeps the Portus activity id (how a second run knows it is there), its key, recipient and parameters.
extension ImportRun {
    /// The longest `parameters` text kept in an event's detail (Portus's serialized hashes are short).
    static let parametersLimit = 2000

    mutating func importActivities() throws {
        let imported = try importedActivityIDs()
        var events: [NewAuditEvent] = []
        for activity in snapshot.activities {
            if imported.contains(activity.id) {
                report.note(.activity, "#\(activity.id)", .present, listed: false)
                continue
            }
            let key = activity.key.flatMap { Self.isPlainKey($0) ? $0 : nil } ?? "unknown"
            let owner = activity.ownerType == "User" ? activity.ownerID.flatMap { portusUsers[$0] } : nil
            var detail = [
                "imported_from": "portus", "portus_activity": String(activity.id), "portus_key": activity.key ?? "",
            ]
            if let recipient = subject(activity.recipientType, activity.recipientID) { detail["recipient"] = recipient }
            if let parameters = activity.parameters, !parameters.isEmpty {
                detail["parameters"] = String(parameters.prefix(Self.parametersLimit))
            }
            events.append(
                NewAuditEvent(
                    action: "portus.\(key)", outcome: .success, actorID: owner.flatMap { userIDs[$0.id] },
                    actorName: owner?.username, target: subject(activity.trackableType, activity.trackableID),
                    detail: JSONText.object(sortingKeys: detail), time: activity.createdAt))
            report.note(.activity, "#\(activity.id)", .created, listed: false)
        }
        try writer.appendAuditEvents(events)
    }

    /// The ids of Portus activities imported by earlier runs, read back from their audit events.
    private func importedActivityIDs() throws -> Set<Int> {
        var ids = Set<Int>()
        let marker = "\"portus_activity\":\""
        var offset = 0
        while true {
            let page = try writer.auditEvents(
                matching: AuditEventFilter(action: "portus.*"), offset: offset, limit: 1000)
            for event in page.events {
                guard let detail = event.detail, let start = detail.range(of: marker) else { continue }
                if let id = Int(detail[start.upperBound...].prefix(while: \.isNumber)) { ids.insert(id) }
            }
            offset += page.events.count
            if page.events.isEmpty || offset >= page.total { return ids }
        }
    }

    /// Whether a Portus key can name an action (`repository.push`): lower-case words and dots only.
    private static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty && key.count <= 64
            && key.unicodeScalars.allSatisfy { (97...122).contains($0.value) || $0 == "." || $0 == "_" }
    }

    /// An audit target for a Portus record (`repository:ns/app`), or `portus:Type#id` when the record is gone
    /// (Portus kept its names in the activity's parameters, which the detail carries).
    private func subject(_ type: String?, _ id: Int?) -> String? {
        guard let type, let id else { return nil }
        let found: String? =
            switch type {
            case "User": portusUsers[id].map { "user:\($0.username)" }
            case "Team": portusTeams[id].map { "team:\($0.name)" }
            case "Namespace": portusNamespaces[id].map { "namespace:\($0.name)" }
            case "Repository": portusRepositories[id].map { "repository:\(fullName(of: $0))" }
            case "Tag":
                portusTags[id].flatMap { tag in
                    portusRepositories[tag.repositoryID].map { "tag:\(fullName(of: $0)):\(tag.name)" }
                }
            case "Webhook": portusWebhooks[id].map { "webhook:\($0.name)" }
            default: nil
            }
        return found ?? "portus:\(type)#\(id)"
    }
}
