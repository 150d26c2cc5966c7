import Authorization
import Diagnostics
import Foundation
import Storage
import Webhooks

/// A webhook as listed: everything but the secret, with header values hidden.
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
    /// The custom header names (values may be credentials and are never shown back).
    public var headerNames: [String]
    /// Whether it is enabled.
    public var isEnabled: Bool
    /// When it was created.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
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

/// What an update changes; nil members stay as they are.
public struct WebhookChange: Sendable, Hashable {
    /// The new URL.
    public var url: String?
    /// The new events (at least one).
    public var events: [WebhookEvent]?
    /// Enabled or not.
    public var isEnabled: Bool?
    /// The new headers, replacing all the old ones (values are sealed like at creation).
    public var headers: [WebhookHeader]?

    /// Describes a change.
    public init(
        url: String? = nil, events: [WebhookEvent]? = nil, isEnabled: Bool? = nil, headers: [WebhookHeader]? = nil
    ) {
        self.url = url
        self.events = events
        self.isEnabled = isEnabled
        self.headers = headers
    }
}

/// The webhook operations of the CLI (`portcullis webhook …`) and the REST API. Each resolves the caller in
/// its transaction and asks `ResourcePolicy` (Portus §3.2: administrators, or owners of the namespace's team
/// while `policy.userPermission.createWebhook`/`manageWebhook` allow it; members may look), checks its
/// input, and audits changes in the same transaction.
///
/// When a namespace name is passed with a webhook or delivery id, the record must belong to that namespace
/// (else `webhook.not_found`), so a path like `namespaces/a/webhooks/7` cannot reach namespace b's webhook 7.
/// A namespace the caller may not see is `namespace.not_found`, as everywhere.
///
/// Throws `WebhookError` for input or missing records, `AdministrationError` for refusals, `StoreError`
/// when the database fails.
public struct WebhookAdministration: Sendable {
    private let store: any Store
    private let caller: Caller
    private let settings: ResourcePolicySettings
    private let now: @Sendable () -> Date
    private let queued: @Sendable () -> Void
    private let sealer: WebhookSecretSealer?

    /// The operations as `caller`, under `settings`; `queued` wakes a local worker (if any). `sealer`
    /// encrypts the secret and header values; creating a webhook or replacing its headers needs it.
    public init(
        store: any Store, caller: Caller, settings: ResourcePolicySettings = .init(),
        now: @escaping @Sendable () -> Date = { Date() }, queued: @escaping @Sendable () -> Void = {},
        sealer: WebhookSecretSealer? = nil
    ) {
        self.store = store
        self.caller = caller
        self.settings = settings
        self.now = now
        self.queued = queued
        self.sealer = sealer
    }

    /// Creates a webhook (disabled when `isEnabled` is false) for the namespace named `namespace` with a fresh
    /// secret, returned once. The secret and
    /// the header values are stored sealed (the row is inserted first with empty values, because its id is part
    /// of what they are sealed to, and filled in within the same transaction).
    public func create(
        namespace: String, url: String, format: WebhookFormat = .json, events: [WebhookEvent] = WebhookEvent.allCases,
        headers: [WebhookHeader] = [], isEnabled: Bool = true
    ) async throws -> CreatedWebhook {
        try WebhookRules.validateURL(url)
        try WebhookRules.validateHeaders(headers)
        guard !events.isEmpty else { throw WebhookError(.invalidEvents, "name at least one event") }
        let (caller, settings, sealer) = (caller, settings, sealer)
        let secret = WebhookSecret.generate()
        return try await store.write { writer in
            let (owner, acting) = try Self.namespace(namespace, caller, settings, writer, for: { .createWebhook($0) })
            guard let sealer else {
                throw WebhookError(
                    .secretsKeyMissing, "creating a webhook needs webhooks.secretsKey to seal its secret")
            }
            let webhook = try Self.createSealed(
                NewWebhook(
                    namespaceID: owner.id, url: url, format: format, events: events, headers: headers,
                    isEnabled: isEnabled, secret: secret),
                sealer: sealer, in: writer)
            _ = try writer.appendAuditEvent(
                Self.audit(
                    "webhook.create", acting, target: "\(owner.name)/webhook/\(webhook.id)",
                    detail: [
                        ("url", JSONText.quoted(url)), ("format", JSONText.quoted(format.rawValue)),
                        ("events", JSONText.array(webhook.events.map(\.rawValue))),
                        ("headers", JSONText.array(headers.map(\.name))),
                    ]))
            return CreatedWebhook(summary: Self.summary(webhook, namespace: owner.name), secret: secret)
        }
    }

    /// Stores `webhook` with its secret and header values sealed by `sealer`, in the caller's transaction (no
    /// checks, no audit: the caller's). The row is inserted first with empty values, because its id is part of
    /// what they are sealed to, and filled in at once.
    public static func createSealed(
        _ webhook: NewWebhook, sealer: WebhookSecretSealer, in writer: any StoreWriting
    ) throws -> Webhook {
        var placeholder = webhook
        // "-" holds the place of the sealed secret (the column refuses empty text); it is no secret.
        placeholder.secret = "-"
        placeholder.headers = webhook.headers.map { WebhookHeader(name: $0.name, value: "") }
        let unsealed = try writer.createWebhook(placeholder)
        let stored = try sealer.sealed(secret: webhook.secret, headers: webhook.headers, for: unsealed.id)
        try writer.setWebhookSecrets(unsealed.id, secret: stored.secret, headers: stored.headers)
        return try writer.webhook(id: unsealed.id) ?? unsealed
    }

    /// The webhooks of the namespace named `namespace` (members and administrators), or every webhook
    /// (administrators); never a secret or a header value.
    public func list(namespace: String? = nil) async throws -> [WebhookSummary] {
        let (caller, settings) = (caller, settings)
        return try await store.read { reader in
            if let namespace {
                let (owner, _) = try Self.namespace(namespace, caller, settings, reader, for: { .showWebhook($0) })
                return try reader.webhooks(in: owner.id).map { Self.summary($0, namespace: owner.name) }
            }
            try ResolvedCaller(caller, in: reader).require(.administer, settings)
            var names: [Namespace.ID: String] = [:]
            return try reader.allWebhooks().map { webhook in
                if names[webhook.namespaceID] == nil {
                    names[webhook.namespaceID] = try reader.namespace(id: webhook.namespaceID)?.name ?? "?"
                }
                return Self.summary(webhook, namespace: names[webhook.namespaceID]!)
            }
        }
    }

    /// One webhook (of the namespace named `namespace`, when given).
    public func show(_ webhookID: Webhook.ID, in namespace: String? = nil) async throws -> WebhookSummary {
        let (caller, settings) = (caller, settings)
        return try await store.read { reader in
            let (webhook, owner, _) = try Self.webhook(
                webhookID, in: namespace, caller, settings, reader, for: { .showWebhook($0) })
            return Self.summary(webhook, namespace: owner.name)
        }
    }

    /// Changes a webhook's URL, events, enabled state or headers (new header values are sealed as at creation).
    public func update(_ webhookID: Webhook.ID, in namespace: String? = nil, _ change: WebhookChange) async throws
        -> WebhookSummary
    {
        if let url = change.url { try WebhookRules.validateURL(url) }
        if let headers = change.headers { try WebhookRules.validateHeaders(headers) }
        if let events = change.events, events.isEmpty { throw WebhookError(.invalidEvents, "name at least one event") }
        if change.headers != nil && sealer == nil {
            throw WebhookError(
                .secretsKeyMissing, "changing a webhook's headers needs webhooks.secretsKey to seal them")
        }
        let (caller, settings, sealer) = (caller, settings, sealer)
        let summary = try await store.write { writer in
            let (webhook, owner, acting) = try Self.webhook(
                webhookID, in: namespace, caller, settings, writer, for: { .updateWebhook($0) })
            if change.url != nil || change.events != nil || change.headers != nil {
                try writer.updateWebhook(
                    webhookID, url: change.url ?? webhook.url, events: change.events ?? webhook.events,
                    headers: change.headers.map { $0.map { WebhookHeader(name: $0.name, value: "") } })
            }
            if let headers = change.headers, let sealer {
                // The secret stays; only its sealing is redone with the new header values beside it.
                let secret = try sealer.open(webhook.secret, webhookID: webhookID, field: .secret)
                let stored = try sealer.sealed(secret: secret, headers: headers, for: webhookID)
                try writer.setWebhookSecrets(webhookID, secret: stored.secret, headers: stored.headers)
            }
            if let isEnabled = change.isEnabled, isEnabled != webhook.isEnabled {
                try writer.setEnabled(isEnabled, forWebhook: webhookID)
            }
            var detail: [(String, String)] = []
            if let url = change.url { detail.append(("url", JSONText.quoted(url))) }
            if let events = change.events { detail.append(("events", JSONText.array(events.map(\.rawValue)))) }
            if let isEnabled = change.isEnabled { detail.append(("enabled", isEnabled ? "true" : "false")) }
            if let headers = change.headers { detail.append(("headers", JSONText.array(headers.map(\.name)))) }
            _ = try writer.appendAuditEvent(
                Self.audit("webhook.update", acting, target: "\(owner.name)/webhook/\(webhookID)", detail: detail))
            return Self.summary(try writer.webhook(id: webhookID) ?? webhook, namespace: owner.name)
        }
        if change.isEnabled == true { queued() }
        return summary
    }

    /// Up to `limit` deliveries of a webhook, newest first, each with its attempt log.
    public func deliveries(of webhookID: Webhook.ID, limit: Int = 20) async throws
        -> [(delivery: WebhookDelivery, attempts: [WebhookAttempt])]
    {
        let page = try await deliveries(of: webhookID, offset: 0, limit: limit)
        return page.items.map { ($0.delivery, $0.attempts) }
    }

    /// One page of a webhook's deliveries (of the namespace named `namespace`, when given), newest first, each
    /// with its attempt log, and how many there are.
    public func deliveries(of webhookID: Webhook.ID, in namespace: String? = nil, offset: Int, limit: Int)
        async throws -> Page<WebhookDeliveryRecord>
    {
        guard offset >= 0, (1...PageRequest<NameSortField>.maximumLimit).contains(limit) else {
            throw AdministrationError(.invalidPaging, "the offset must not be negative and the limit 1 to 1000")
        }
        let (caller, settings) = (caller, settings)
        return try await store.read { reader in
            _ = try Self.webhook(webhookID, in: namespace, caller, settings, reader, for: { .showWebhook($0) })
            let page = try reader.webhookDeliveries(of: webhookID, offset: offset, limit: limit)
            let items = try page.deliveries.map {
                WebhookDeliveryRecord(delivery: $0, attempts: try reader.webhookAttempts(of: $0.id))
            }
            return Page(items: items, total: page.total, offset: offset, limit: limit)
        }
    }

    /// Queues a new delivery with exactly the body of `deliveryID` (same change id, same bytes), due now. With
    /// `webhookID` (and `namespace`), the delivery must be one of that webhook's.
    public func redeliver(
        _ deliveryID: WebhookDelivery.ID, of webhookID: Webhook.ID? = nil, in namespace: String? = nil
    ) async throws -> WebhookDelivery {
        let (caller, settings, due) = (caller, settings, now())
        let delivery = try await store.write { writer in
            guard let original = try writer.webhookDelivery(id: deliveryID),
                webhookID == nil || original.webhookID == webhookID
            else { throw WebhookError(.deliveryNotFound, "no webhook delivery with id \(deliveryID)") }
            let (_, _, acting) = try Self.webhook(
                original.webhookID, in: namespace, caller, settings, writer, for: { .updateWebhook($0) })
            let copy = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: original.webhookID, changeID: original.changeID, event: original.event,
                    contentType: original.contentType, body: original.body, notBefore: due,
                    redeliveryOf: original.id))
            _ = try writer.appendAuditEvent(
                Self.audit(
                    "webhook.redeliver", acting, target: "webhook/\(original.webhookID)/delivery/\(original.id)",
                    detail: [("delivery", JSONText.quoted(copy.id.description))]))
            return copy
        }
        queued()
        return delivery
    }

    /// Deletes a webhook with its deliveries.
    public func delete(_ webhookID: Webhook.ID, in namespace: String? = nil) async throws {
        let (caller, settings) = (caller, settings)
        try await store.write { writer in
            let (webhook, owner, acting) = try Self.webhook(
                webhookID, in: namespace, caller, settings, writer, for: { .createWebhook($0) })
            try writer.deleteWebhook(webhookID)
            _ = try writer.appendAuditEvent(
                Self.audit(
                    "webhook.delete", acting, target: "\(owner.name)/webhook/\(webhookID)",
                    detail: [("url", JSONText.quoted(webhook.url))]))
        }
    }

    /// Enables or disables a webhook (a disabled one queues nothing and keeps what is queued for later).
    public func setEnabled(_ isEnabled: Bool, for webhookID: Webhook.ID) async throws {
        let (caller, settings) = (caller, settings)
        try await store.write { writer in
            let (_, owner, acting) = try Self.webhook(
                webhookID, in: nil, caller, settings, writer, for: { .updateWebhook($0) })
            try writer.setEnabled(isEnabled, forWebhook: webhookID)
            _ = try writer.appendAuditEvent(
                Self.audit(
                    isEnabled ? "webhook.enable" : "webhook.disable", acting,
                    target: "\(owner.name)/webhook/\(webhookID)"))
        }
        if isEnabled { queued() }
    }

    // MARK: - Rules shared by the operations

    /// The namespace named `name`, if the caller may see it and the policy allows `action` in it.
    private static func namespace(
        _ name: String, _ caller: Caller, _ settings: ResourcePolicySettings, _ reader: any StoreReading,
        for action: (NamespaceStanding) -> ResourceAction
    ) throws -> (Namespace, ResolvedCaller) {
        let acting = try ResolvedCaller(caller, in: reader)
        let namespace: Namespace, standing: NamespaceStanding
        do {
            (namespace, standing) = try NamespaceAdministration.visible(name, acting, settings, reader)
        } catch let error as AdministrationError where error.code == .namespaceNotFound {
            throw WebhookError(.unknownNamespace, "no namespace named '\(name)'")
        }
        try acting.require(action(standing), settings)
        return (namespace, acting)
    }

    /// The webhook `id` with its namespace, when it exists (in `namespace`, when given) and the policy allows
    /// `action` on it; a webhook of a namespace the caller may not see does not exist for them.
    private static func webhook(
        _ id: Webhook.ID, in namespace: String?, _ caller: Caller, _ settings: ResourcePolicySettings,
        _ reader: any StoreReading, for action: (NamespaceStanding) -> ResourceAction
    ) throws -> (Webhook, Namespace, ResolvedCaller) {
        guard let webhook = try reader.webhook(id: id),
            let owner = try reader.namespace(id: webhook.namespaceID), namespace == nil || owner.name == namespace
        else {
            if let namespace { _ = try Self.namespace(namespace, caller, settings, reader, for: { .showWebhook($0) }) }
            throw WebhookError(.webhookNotFound, "no webhook with id \(id)")
        }
        let acting = try ResolvedCaller(caller, in: reader)
        let standing: NamespaceStanding
        do {
            (_, standing) = try NamespaceAdministration.visible(owner.name, acting, settings, reader)
        } catch let error as AdministrationError where error.code == .namespaceNotFound {
            throw WebhookError(.webhookNotFound, "no webhook with id \(id)")
        }
        try acting.require(action(standing), settings)
        return (webhook, owner, acting)
    }

    private static func audit(
        _ action: String, _ acting: ResolvedCaller, target: String, detail: [(String, String)] = []
    )
        -> NewAuditEvent
    {
        NewAuditEvent(
            action: action, outcome: .success, actorID: acting.actor.userID, actorName: acting.actor.name,
            target: target, detail: detail.isEmpty ? nil : JSONText.object(detail))
    }

    private static func summary(_ webhook: Webhook, namespace: String) -> WebhookSummary {
        WebhookSummary(
            id: webhook.id, namespace: namespace, url: webhook.url, format: webhook.format, events: webhook.events,
            headerNames: webhook.headers.map(\.name), isEnabled: webhook.isEnabled, createdAt: webhook.createdAt,
            updatedAt: webhook.updatedAt)
    }
}

/// A delivery and its attempt log.
public struct WebhookDeliveryRecord: Sendable, Hashable {
    /// The delivery.
    public var delivery: WebhookDelivery
    /// Its attempts, first first.
    public var attempts: [WebhookAttempt]

    /// Pairs a delivery with its attempts.
    public init(delivery: WebhookDelivery, attempts: [WebhookAttempt]) {
        self.delivery = delivery
        self.attempts = attempts
    }
}
