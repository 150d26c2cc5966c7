import Diagnostics
import Foundation
import Storage

/// A webhook as listed to operators: everything but the secret, with header values hidden.
public struct WebhookSummary: Sendable, Hashable {
    /// The webhook id.
    public var id: Webhook.ID
    /// The namespace's name.
    public var namespace: String
    /// Where deliveries go.
    public var url: String
    /// The body format.
    public var format: WebhookFormat
    /// The subscribed events.
    public var events: [WebhookEvent]
    /// The custom header names (values may be credentials and are not shown).
    public var headerNames: [String]
    /// Whether it is enabled.
    public var isEnabled: Bool
    /// When it was created.
    public var createdAt: Date
}

/// A webhook just created, with its secret: the only time the secret leaves the store.
public struct CreatedWebhook: Sendable, CustomStringConvertible {
    /// The stored webhook's summary.
    public var summary: WebhookSummary
    /// The signing secret, to hand to the receiver now.
    public var secret: String

    /// A log-safe description (without the secret).
    public var description: String { "CreatedWebhook(id: \(summary.id), url: \(summary.url))" }
}

/// The operations behind `portcullis webhook …`: each checks its input, runs in one transaction, and
/// audits creations, deletions, enabling and redeliveries in that same transaction.
///
/// Throws `WebhookError` for input or missing records, `StoreError` when the database fails.
public struct WebhookAdministration: Sendable {
    private let store: any Store
    private let actor: String?
    private let now: @Sendable () -> Date
    private let queued: @Sendable () -> Void
    private let sealer: WebhookSecretSealer?

    /// Creates the operations; `actor` is recorded in audit events, `queued` wakes a local worker (if any).
    /// `sealer` encrypts the secret and header values of created webhooks; only `create` needs it.
    public init(
        store: any Store, actor: String?, now: @escaping @Sendable () -> Date = { Date() },
        queued: @escaping @Sendable () -> Void = {}, sealer: WebhookSecretSealer? = nil
    ) {
        self.store = store
        self.actor = actor
        self.now = now
        self.queued = queued
        self.sealer = sealer
    }

    /// Creates a webhook for the namespace named `namespace` with a fresh secret, returned once. The secret and
    /// the header values are stored sealed (the row is inserted first with empty values, because its id is part
    /// of what they are sealed to, and filled in within the same transaction).
    public func create(
        namespace: String, url: String, format: WebhookFormat = .json, events: [WebhookEvent] = WebhookEvent.allCases,
        headers: [WebhookHeader] = []
    ) async throws -> CreatedWebhook {
        try WebhookRules.validateURL(url)
        try WebhookRules.validateHeaders(headers)
        guard !events.isEmpty else { throw WebhookError(.invalidEvents, "name at least one event") }
        guard let sealer else {
            throw WebhookError(.secretsKeyMissing, "creating a webhook needs webhooks.secretsKey to seal its secret")
        }
        let secret = WebhookSecret.generate()
        let actor = actor
        return try await store.write { writer in
            guard let owner = try writer.namespace(named: namespace) else {
                throw WebhookError(.unknownNamespace, "no namespace named '\(namespace)'")
            }
            // "-" holds the place of the sealed secret (the column refuses empty text); it is no secret.
            let unsealed = try writer.createWebhook(
                NewWebhook(
                    namespaceID: owner.id, url: url, format: format, events: events,
                    headers: headers.map { WebhookHeader(name: $0.name, value: "") }, secret: "-"))
            let stored = try sealer.sealed(secret: secret, headers: headers, for: unsealed.id)
            try writer.setWebhookSecrets(unsealed.id, secret: stored.secret, headers: stored.headers)
            let webhook = try writer.webhook(id: unsealed.id) ?? unsealed
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "webhook.create", outcome: .success, actorName: actor,
                    target: "\(namespace)/webhook/\(webhook.id)",
                    detail: JSONText.object([
                        ("url", JSONText.quoted(url)), ("format", JSONText.quoted(format.rawValue)),
                        ("events", JSONText.array(webhook.events.map(\.rawValue))),
                        ("headers", JSONText.array(headers.map(\.name))),
                    ])))
            return CreatedWebhook(summary: Self.summary(webhook, namespace: namespace), secret: secret)
        }
    }

    /// The webhooks of the namespace named `namespace`, or every webhook; never a secret.
    public func list(namespace: String? = nil) async throws -> [WebhookSummary] {
        try await store.read { reader in
            let webhooks: [Webhook]
            if let namespace {
                guard let owner = try reader.namespace(named: namespace) else {
                    throw WebhookError(.unknownNamespace, "no namespace named '\(namespace)'")
                }
                webhooks = try reader.webhooks(in: owner.id)
            } else {
                webhooks = try reader.allWebhooks()
            }
            var names: [Namespace.ID: String] = [:]
            return try webhooks.map { webhook in
                if names[webhook.namespaceID] == nil {
                    names[webhook.namespaceID] = try reader.namespace(id: webhook.namespaceID)?.name ?? "?"
                }
                return Self.summary(webhook, namespace: names[webhook.namespaceID]!)
            }
        }
    }

    /// Up to `limit` deliveries of a webhook, newest first, each with its attempt log.
    public func deliveries(of webhookID: Webhook.ID, limit: Int = 20) async throws
        -> [(delivery: WebhookDelivery, attempts: [WebhookAttempt])]
    {
        let found = try await store.read { reader -> [WebhookDeliveryWithAttempts]? in
            guard try reader.webhook(id: webhookID) != nil else { return nil }
            return try reader.webhookDeliveries(of: webhookID, limit: limit).map {
                WebhookDeliveryWithAttempts(delivery: $0, attempts: try reader.webhookAttempts(of: $0.id))
            }
        }
        guard let found else { throw WebhookError(.webhookNotFound, "no webhook with id \(webhookID)") }
        return found.map { ($0.delivery, $0.attempts) }
    }

    /// Queues a new delivery with exactly the body of `deliveryID` (same change id, same bytes), due now.
    public func redeliver(_ deliveryID: WebhookDelivery.ID) async throws -> WebhookDelivery {
        let actor = actor, due = now()
        let delivery = try await store.write { writer in
            guard let original = try writer.webhookDelivery(id: deliveryID) else {
                throw WebhookError(.deliveryNotFound, "no webhook delivery with id \(deliveryID)")
            }
            let copy = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: original.webhookID, changeID: original.changeID, event: original.event,
                    contentType: original.contentType, body: original.body, notBefore: due,
                    redeliveryOf: original.id))
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "webhook.redeliver", outcome: .success, actorName: actor,
                    target: "webhook/\(original.webhookID)/delivery/\(original.id)",
                    detail: JSONText.object([("delivery", JSONText.quoted(copy.id.description))])))
            return copy
        }
        queued()
        return delivery
    }

    /// Deletes a webhook with its deliveries.
    public func delete(_ webhookID: Webhook.ID) async throws {
        let actor = actor
        try await store.write { writer in
            guard let webhook = try writer.webhook(id: webhookID) else {
                throw WebhookError(.webhookNotFound, "no webhook with id \(webhookID)")
            }
            let namespace = try writer.namespace(id: webhook.namespaceID)?.name ?? "?"
            try writer.deleteWebhook(webhookID)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "webhook.delete", outcome: .success, actorName: actor,
                    target: "\(namespace)/webhook/\(webhookID)",
                    detail: JSONText.object([("url", JSONText.quoted(webhook.url))])))
        }
    }

    /// Enables or disables a webhook (a disabled one queues nothing and keeps what is queued for later).
    public func setEnabled(_ isEnabled: Bool, for webhookID: Webhook.ID) async throws {
        let actor = actor
        try await store.write { writer in
            guard let webhook = try writer.webhook(id: webhookID) else {
                throw WebhookError(.webhookNotFound, "no webhook with id \(webhookID)")
            }
            let namespace = try writer.namespace(id: webhook.namespaceID)?.name ?? "?"
            try writer.setEnabled(isEnabled, forWebhook: webhookID)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: isEnabled ? "webhook.enable" : "webhook.disable", outcome: .success, actorName: actor,
                    target: "\(namespace)/webhook/\(webhookID)"))
        }
        if isEnabled { queued() }
    }

    private static func summary(_ webhook: Webhook, namespace: String) -> WebhookSummary {
        WebhookSummary(
            id: webhook.id, namespace: namespace, url: webhook.url, format: webhook.format, events: webhook.events,
            headerNames: webhook.headers.map(\.name), isEnabled: webhook.isEnabled, createdAt: webhook.createdAt)
    }
}

/// A delivery and its attempts, carried out of a read transaction.
private struct WebhookDeliveryWithAttempts: Sendable {
    var delivery: WebhookDelivery
    var attempts: [WebhookAttempt]
}
