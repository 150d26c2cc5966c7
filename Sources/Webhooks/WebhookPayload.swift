import Diagnostics
import Foundation
import RegistryCore
import Storage

/// A rendered webhook body and the `Content-Type` it is sent with.
public struct RenderedWebhookBody: Sendable, Hashable {
    /// The media type of `body`.
    public var contentType: String
    /// The exact body (UTF-8 JSON) that is signed and sent.
    public var body: String

    /// Pairs a body with its media type.
    public init(contentType: String, body: String) {
        self.contentType = contentType
        self.body = body
    }
}

/// Renders a repository change as a webhook body.
///
/// **JSON** (`Content-Type: application/json`), members in this order:
/// ```json
/// {"id": "3f0c…", "type": "push", "occurredAt": "2026-11-22T18:00:00Z", "registry": "main",
///  "namespace": "team", "repository": "team/app", "tags": ["1.0"], "digest": "sha256:…",
///  "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 123456, "actor": "alice"}
/// ```
/// `id` is the change id (equal across a redelivery, so receivers can drop duplicates); `type` is `push`
/// or `delete`; `tags` are the tag pushed, or the tags removed; `mediaType`, `size` and `actor` are `null`
/// when unknown. Times are RFC 3339 UTC.
///
/// **CloudEvents 1.0**, structured mode (`Content-Type: application/cloudevents+json`):
/// ```json
/// {"specversion": "1.0", "id": "3f0c…", "source": "/registries/main", "type": "io.portcullis.repository.push",
///  "subject": "team/app", "time": "2026-11-22T18:00:00Z", "datacontenttype": "application/json",
///  "data": { …the JSON object above… }}
/// ```
public enum WebhookPayload {
    /// The media type of the JSON format.
    public static let jsonContentType = "application/json"
    /// The media type of CloudEvents structured mode.
    public static let cloudEventsContentType = "application/cloudevents+json"

    /// The webhook event a change is.
    public static func event(of action: RepositoryChange.Action) -> WebhookEvent {
        switch action {
        case .push: .push
        case .delete: .delete
        }
    }

    /// Renders `change` in `format`; `namespace` is the namespace's name.
    public static func render(_ change: RepositoryChange, namespace: String, format: WebhookFormat)
        -> RenderedWebhookBody
    {
        let data = JSONText.object(members(of: change, namespace: namespace))
        switch format {
        case .json:
            return RenderedWebhookBody(contentType: jsonContentType, body: data)
        case .cloudevents:
            let envelope = JSONText.object([
                ("specversion", JSONText.quoted("1.0")),
                ("id", JSONText.quoted(change.id)),
                ("source", JSONText.quoted("/registries/\(change.registry)")),
                ("type", JSONText.quoted("io.portcullis.repository.\(event(of: change.action).rawValue)")),
                ("subject", JSONText.quoted(change.repository)),
                ("time", JSONText.quoted(RFC3339.format(change.occurredAt))),
                ("datacontenttype", JSONText.quoted(jsonContentType)),
                ("data", data),
            ])
            return RenderedWebhookBody(contentType: cloudEventsContentType, body: envelope)
        }
    }

    private static func members(of change: RepositoryChange, namespace: String) -> [(String, String)] {
        [
            ("id", JSONText.quoted(change.id)),
            ("type", JSONText.quoted(event(of: change.action).rawValue)),
            ("occurredAt", JSONText.quoted(RFC3339.format(change.occurredAt))),
            ("registry", JSONText.quoted(change.registry)),
            ("namespace", JSONText.quoted(namespace)),
            ("repository", JSONText.quoted(change.repository)),
            ("tags", JSONText.array(change.tags)),
            ("digest", JSONText.quoted(change.digest)),
            ("mediaType", change.mediaType.map(JSONText.quoted) ?? "null"),
            ("size", change.size.map { String($0) } ?? "null"),
            ("actor", change.actor.map(JSONText.quoted) ?? "null"),
        ]
    }
}
