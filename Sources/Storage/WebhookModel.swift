import Foundation

// MARK: - Webhooks

/// The body format a webhook receives.
public enum WebhookFormat: String, Sendable, Hashable, CaseIterable {
    /// Portcullis's own JSON object (see `WebhookPayload` in the Webhooks target).
    case json
    /// A CloudEvents 1.0 event in structured mode (`application/cloudevents+json`).
    case cloudevents
}

/// A repository change a webhook can subscribe to.
public enum WebhookEvent: String, Sendable, Hashable, CaseIterable, Comparable {
    /// A manifest was pushed under a tag.
    case push
    /// A manifest was deleted with its tags.
    case delete

    /// Orders events by declaration, so stored and printed lists are stable.
    public static func < (lhs: WebhookEvent, rhs: WebhookEvent) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One extra header field a webhook sends with every delivery (an `Authorization` for the receiver, say).
public struct WebhookHeader: Sendable, Hashable {
    /// The field name as the operator wrote it.
    public var name: String
    /// The field value (may be a credential: show it to nobody but the receiver); sealed text in a stored
    /// webhook, like `Webhook.secret`.
    public var value: String

    /// Describes a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An outgoing webhook of a namespace: where to POST, in which format, for which changes.
public struct Webhook: Sendable, Hashable, Identifiable, CustomStringConvertible {
    /// The identifier of a stored webhook.
    public typealias ID = RecordID<Webhook>

    /// The database identifier.
    public var id: ID
    /// The namespace whose repository changes are sent.
    public var namespaceID: Namespace.ID
    /// The absolute `http` or `https` URL deliveries are POSTed to.
    public var url: String
    /// The body format.
    public var format: WebhookFormat
    /// The changes that are sent, in declaration order.
    public var events: [WebhookEvent]
    /// Extra header fields, in order.
    public var headers: [WebhookHeader]
    /// Whether changes are queued and delivered; a disabled webhook keeps its pending deliveries.
    public var isEnabled: Bool
    /// The HMAC-SHA256 key of the signature header, as stored: sealed text (`sealed:v1:…`, see
    /// `WebhookSecretSealer` in Webhooks), which the delivery worker opens with `webhooks.secretsKey`.
    ///
    /// Encrypted rather than hashed: unlike a password, it is not checked but *used* to sign each body, so a
    /// one-way hash could not sign. Rows written before encryption hold plain text until `serve` seals them.
    public var secret: String
    /// When the webhook was created.
    public var createdAt: Date
    /// When the webhook row last changed.
    public var updatedAt: Date

    /// Creates a webhook value (normally only a store does this).
    public init(
        id: ID, namespaceID: Namespace.ID, url: String, format: WebhookFormat, events: [WebhookEvent],
        headers: [WebhookHeader], isEnabled: Bool, secret: String, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.namespaceID = namespaceID
        self.url = url
        self.format = format
        self.events = events
        self.headers = headers
        self.isEnabled = isEnabled
        self.secret = secret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether changes of this kind are sent.
    public func subscribes(to event: WebhookEvent) -> Bool { events.contains(event) }

    /// A log-safe summary: neither the secret nor header values are part of it.
    public var description: String {
        "Webhook(id: \(id), namespace: \(namespaceID), url: \(url), format: \(format.rawValue), "
            + "events: \(events.map(\.rawValue).joined(separator: ",")), enabled: \(isEnabled))"
    }
}

/// The fields of a webhook to create; the store assigns the id and times.
public struct NewWebhook: Sendable, Hashable, CustomStringConvertible {
    /// The namespace whose repository changes are sent.
    public var namespaceID: Namespace.ID
    /// The absolute `http` or `https` URL.
    public var url: String
    /// The body format.
    public var format: WebhookFormat
    /// The changes to send (at least one).
    public var events: [WebhookEvent]
    /// Extra header fields, in order.
    public var headers: [WebhookHeader]
    /// Whether the webhook starts enabled.
    public var isEnabled: Bool
    /// The signing secret as it is to be stored (see `Webhook.secret`).
    public var secret: String

    /// Describes a webhook to create.
    public init(
        namespaceID: Namespace.ID, url: String, format: WebhookFormat, events: [WebhookEvent],
        headers: [WebhookHeader] = [], isEnabled: Bool = true, secret: String
    ) {
        self.namespaceID = namespaceID
        self.url = url
        self.format = format
        self.events = events
        self.headers = headers
        self.isEnabled = isEnabled
        self.secret = secret
    }

    /// A log-safe summary without the secret or header values.
    public var description: String {
        "NewWebhook(namespace: \(namespaceID), url: \(url), format: \(format.rawValue))"
    }
}

// MARK: - Deliveries

/// Where a delivery stands.
public enum WebhookDeliveryState: String, Sendable, Hashable, CaseIterable {
    /// Queued, not tried yet.
    case pending
    /// A receiver answered 2xx.
    case delivered
    /// Every allowed attempt failed; only a manual redelivery sends it again.
    case failed
    /// At least one attempt failed; the next one is scheduled.
    case retrying

    /// Whether the worker still has to send it.
    public var isOutstanding: Bool { self == .pending || self == .retrying }
}

/// One change queued for one webhook: the exact bytes to sign and send, and how sending went.
public struct WebhookDelivery: Sendable, Hashable, Identifiable {
    /// The identifier of a stored delivery.
    public typealias ID = RecordID<WebhookDelivery>

    /// The database identifier (sent as `X-Portcullis-Delivery`).
    public var id: ID
    /// The webhook it goes to.
    public var webhookID: Webhook.ID
    /// The id of the repository change (the payload's `id`), shared by a redelivery.
    public var changeID: String
    /// What happened.
    public var event: WebhookEvent
    /// The `Content-Type` the body is sent with.
    public var contentType: String
    /// The body, rendered when the change was recorded, so every attempt and redelivery sends the same bytes.
    public var body: String
    /// Where it stands.
    public var state: WebhookDeliveryState
    /// How many attempts were made.
    public var attempts: Int
    /// When the worker may try next (`nil` once delivered or failed).
    public var nextAttemptAt: Date?
    /// The HTTP status of the latest attempt, if a response arrived.
    public var lastStatus: Int?
    /// How long the latest attempt took, in milliseconds.
    public var lastLatencyMilliseconds: Int?
    /// The start of the latest response body, bounded by the configured excerpt length.
    public var responseExcerpt: String?
    /// Why the latest attempt failed, if it did.
    public var lastError: String?
    /// The delivery this one re-sends, for manual redeliveries.
    public var redeliveryOf: ID?
    /// When it was queued.
    public var createdAt: Date
    /// When the row last changed.
    public var updatedAt: Date
    /// When a receiver accepted it.
    public var deliveredAt: Date?

    /// Creates a delivery value (normally only a store does this).
    public init(
        id: ID, webhookID: Webhook.ID, changeID: String, event: WebhookEvent, contentType: String, body: String,
        state: WebhookDeliveryState, attempts: Int, nextAttemptAt: Date?, lastStatus: Int?,
        lastLatencyMilliseconds: Int?, responseExcerpt: String?, lastError: String?, redeliveryOf: ID?,
        createdAt: Date, updatedAt: Date, deliveredAt: Date?
    ) {
        self.id = id
        self.webhookID = webhookID
        self.changeID = changeID
        self.event = event
        self.contentType = contentType
        self.body = body
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastLatencyMilliseconds = lastLatencyMilliseconds
        self.responseExcerpt = responseExcerpt
        self.lastError = lastError
        self.redeliveryOf = redeliveryOf
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deliveredAt = deliveredAt
    }
}

/// The fields of a delivery to queue; it starts `pending` with no attempts.
public struct NewWebhookDelivery: Sendable, Hashable {
    /// The webhook it goes to.
    public var webhookID: Webhook.ID
    /// The id of the repository change.
    public var changeID: String
    /// What happened.
    public var event: WebhookEvent
    /// The `Content-Type` of the body.
    public var contentType: String
    /// The exact body to sign and send.
    public var body: String
    /// The earliest time to send it.
    public var notBefore: Date
    /// The delivery this one re-sends, if it is a manual redelivery.
    public var redeliveryOf: WebhookDelivery.ID?

    /// Describes a delivery to queue.
    public init(
        webhookID: Webhook.ID, changeID: String, event: WebhookEvent, contentType: String, body: String,
        notBefore: Date, redeliveryOf: WebhookDelivery.ID? = nil
    ) {
        self.webhookID = webhookID
        self.changeID = changeID
        self.event = event
        self.contentType = contentType
        self.body = body
        self.notBefore = notBefore
        self.redeliveryOf = redeliveryOf
    }
}

/// One attempt at sending a delivery, as kept in its log.
public struct WebhookAttempt: Sendable, Hashable, Identifiable {
    /// The identifier of a stored attempt.
    public typealias ID = RecordID<WebhookAttempt>

    /// The database identifier.
    public var id: ID
    /// The delivery attempted.
    public var deliveryID: WebhookDelivery.ID
    /// 1 for the first attempt, and so on.
    public var number: Int
    /// When the attempt started.
    public var attemptedAt: Date
    /// The HTTP status, if a response arrived.
    public var status: Int?
    /// How long it took, in milliseconds.
    public var latencyMilliseconds: Int
    /// The start of the response body (bounded).
    public var responseExcerpt: String?
    /// Why it failed (transport error or unexpected status), if it did.
    public var error: String?

    /// Creates an attempt value (normally only a store does this).
    public init(
        id: ID, deliveryID: WebhookDelivery.ID, number: Int, attemptedAt: Date, status: Int?,
        latencyMilliseconds: Int, responseExcerpt: String?, error: String?
    ) {
        self.id = id
        self.deliveryID = deliveryID
        self.number = number
        self.attemptedAt = attemptedAt
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.responseExcerpt = responseExcerpt
        self.error = error
    }
}

/// The result of one attempt and what follows from it, recorded in one step.
public struct WebhookAttemptResult: Sendable, Hashable {
    /// The delivery attempted.
    public var deliveryID: WebhookDelivery.ID
    /// When the attempt started.
    public var attemptedAt: Date
    /// The HTTP status, if a response arrived.
    public var status: Int?
    /// How long it took, in milliseconds.
    public var latencyMilliseconds: Int
    /// The start of the response body (already bounded by the caller).
    public var responseExcerpt: String?
    /// Why it failed, if it did.
    public var error: String?
    /// The delivery's state after this attempt (`delivered`, `retrying` or `failed`).
    public var newState: WebhookDeliveryState
    /// When to try again (only for `retrying`).
    public var nextAttemptAt: Date?

    /// Describes an attempt's result.
    public init(
        deliveryID: WebhookDelivery.ID, attemptedAt: Date, status: Int?, latencyMilliseconds: Int,
        responseExcerpt: String?, error: String?, newState: WebhookDeliveryState, nextAttemptAt: Date?
    ) {
        self.deliveryID = deliveryID
        self.attemptedAt = attemptedAt
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.responseExcerpt = responseExcerpt
        self.error = error
        self.newState = newState
        self.nextAttemptAt = nextAttemptAt
    }
}

/// A delivery the worker claimed, with the webhook it goes to.
public struct ClaimedWebhookDelivery: Sendable, Hashable {
    /// The delivery to send (its `attempts` counts the attempts before this one).
    public var delivery: WebhookDelivery
    /// Its webhook, enabled at claim time.
    public var webhook: Webhook
    /// The claim's fencing token, under which the attempt is recorded.
    public var claim: QueueClaim

    /// Pairs a delivery with its webhook and claim.
    public init(delivery: WebhookDelivery, webhook: Webhook, claim: QueueClaim) {
        self.delivery = delivery
        self.webhook = webhook
        self.claim = claim
    }
}

/// One page of a webhook's deliveries, newest first, with how many it has in all.
public struct WebhookDeliveryPage: Sendable, Hashable {
    /// The deliveries of the page.
    public var deliveries: [WebhookDelivery]
    /// How many deliveries the webhook has.
    public var total: Int

    /// Creates a page.
    public init(deliveries: [WebhookDelivery], total: Int) {
        self.deliveries = deliveries
        self.total = total
    }
}
