import Diagnostics
import Foundation

/// The endpoint that receives registry notifications, and the worker that processes them.
public struct NotificationSettings: Sendable, Hashable {
    /// The path registries POST their notifications to. Default `/v2/webhooks/events`.
    public var path = "/v2/webhooks/events"
    /// Larger notification bodies are refused with 413. Default 1MiB.
    public var maxBodyBytes = 1 << 20
    /// How often the worker looks for stored events when nothing woke it. Default 5s.
    public var pollInterval: Duration = .seconds(5)
    /// How long processed, ignored and failed events are kept (for de-duplication and inspection). Default 720h.
    public var retention: Duration = .seconds(30 * 86400)

    /// The defaults.
    public init() {}

    static let fields: [Field<NotificationSettings>] = [
        .value(
            "path", \.path, .urlPath,
            "Path registries POST notifications to (the URL of the registry's notifications endpoint ends with it)."),
        .value(
            "maxBodyBytes", \.maxBodyBytes, .byteSize(1024...(64 << 20)),
            "Larger notification bodies are refused with 413."),
        .value(
            "pollInterval", \.pollInterval, .duration(.milliseconds(100)...(.seconds(3600))),
            "How often the event worker looks for stored events when no notification woke it."),
        .value(
            "retention", \.retention, .duration(.seconds(3600)...(.seconds(3650 * 86400))),
            "How long processed, ignored and failed events are kept; their ids de-duplicate replays meanwhile."),
    ]
}

/// Periodic reconciliation of the stored catalog with each registry (`portcullis registry sync` on a
/// timer): heals what lost or undeliverable notifications left behind.
public struct CatalogSyncSettings: Sendable, Hashable {
    /// Whether `serve` reconciles periodically. Default true.
    public var enabled = true
    /// Time between runs (the first comes one interval after start). Default 10m.
    public var interval: Duration = .seconds(600)
    /// Tag lists and manifest HEADs in flight at once, per registry. Default 4.
    public var concurrency = 4

    /// The defaults.
    public init() {}

    static let fields: [Field<CatalogSyncSettings>] = [
        .value("enabled", \.enabled, .boolean, "Reconcile the stored catalog with each registry periodically."),
        .value(
            "interval", \.interval, .duration(.seconds(10)...(.seconds(7 * 86_400))),
            "Time between reconciliation runs; the first comes one interval after start."),
        .value(
            "concurrency", \.concurrency, .integer(1...64),
            "Tag lists and manifest HEADs in flight at once, per registry."),
    ]
}

/// Outgoing webhooks: how deliveries are sent and retried (the webhooks themselves are per namespace, in the
/// database, managed with `portcullis webhook`).
///
/// ```yaml
/// webhooks:
///   timeout: 10s
///   maxAttempts: 8
///   initialBackoff: 10s
///   maxBackoff: 1h
///   responseExcerptLength: 1KiB
///   pollInterval: 5s
///   retention: 720h
///   secretsKey: {file: var/keys/secrets.key}
/// ```
public struct WebhookSettings: Sendable, Hashable {
    /// The limit for one delivery attempt (connect, send, answer). Default 10s.
    public var timeout: Duration = .seconds(10)
    /// Attempts before a delivery is marked failed, the first one included. Default 8.
    public var maxAttempts = 8
    /// The wait after the first failed attempt; it doubles with each further failure (with jitter). Default 10s.
    public var initialBackoff: Duration = .seconds(10)
    /// The longest wait between two attempts. Default 1h.
    public var maxBackoff: Duration = .seconds(3600)
    /// How many bytes of each response body the delivery log keeps. Default 1 KiB.
    public var responseExcerptLength = 1024
    /// How often the delivery worker looks for due deliveries when nothing wakes it. Default 5s.
    public var pollInterval: Duration = .seconds(5)
    /// How long delivered and failed deliveries stay in the delivery log. Default 720h (30 days).
    public var retention: Duration = .seconds(30 * 86400)
    /// The AES-256 key that encrypts webhook secrets and header values in the database (base64 of 32 bytes),
    /// by reference. Default `{file: var/keys/secrets.key}`, generated on first start when missing.
    public var secretsKey = Secret(.file("var/keys/secrets.key"))

    /// The defaults.
    public init() {}

    static let fields: [Field<WebhookSettings>] = [
        .value(
            "timeout", \.timeout, .duration(.seconds(1)...(.seconds(300))),
            "Limit for one delivery attempt (connect, send, answer)."),
        .value(
            "maxAttempts", \.maxAttempts, .integer(1...100),
            "Attempts before a delivery is marked failed (the first one included)."),
        .value(
            "initialBackoff", \.initialBackoff, .duration(.milliseconds(1)...(.seconds(86400))),
            "Wait after the first failed attempt; doubles with each failure, with jitter."),
        .value(
            "maxBackoff", \.maxBackoff, .duration(.milliseconds(1)...(.seconds(7 * 86400))),
            "Longest wait between two attempts."),
        .value(
            "responseExcerptLength", \.responseExcerptLength, .byteSize(0...(64 << 10)),
            "Bytes of each response body kept in the delivery log."),
        .value(
            "pollInterval", \.pollInterval, .duration(.milliseconds(10)...(.seconds(3600))),
            "How often the delivery worker looks for due deliveries when nothing wakes it."),
        .value(
            "retention", \.retention, .duration(.seconds(3600)...(.seconds(3650 * 86400))),
            "How long delivered and failed deliveries stay in the delivery log."),
        .value(
            "secretsKey", \.secretsKey, .secret,
            "AES-256 key (base64 of 32 bytes) encrypting webhook secrets and header values; generated if the file is missing."
        ),
    ]
}

/// A registry this server issues tokens for and receives notifications from.
public struct RegistrySettings: Sendable, Hashable, SchemaRecord {
    /// A unique display name.
    public var name = ""
    /// The `service` parameter the registry sends (`auth.token.service`); tokens are bound to it.
    public var service = ""
    /// Where the registry's API is reached for catalog sync.
    public var url = URL(string: "http://127.0.0.1:5000")!
    /// The shared secret the registry sends with notifications; without it notifications are refused.
    public var eventsSecret: Secret?
    /// The `host[:port]` clients pull from (`docker pull <publicHost>/ns/repo`), when it differs from `url`'s.
    public var publicHost: String?

    /// `publicHost`, else the host and port of `url`.
    public var pullHost: String {
        if let publicHost, !publicHost.isEmpty { return publicHost }
        guard let host = url.host else { return url.absoluteString }
        return url.port.map { "\(host):\($0)" } ?? host
    }

    /// A registry with placeholders (`name`, `service` and `url` are required in a fragment).
    public init() {}

    static let fields: [Field<RegistrySettings>] = [
        .value("name", \.name, .string, required: true, "Unique display name."),
        .value(
            "service",
            \.service,
            .string,
            required: true,
            "The service name the registry sends (its auth.token.service)."
        ),
        .value("url", \.url, .httpURL, required: true, "The registry's API URL, for catalog sync."),
        .optional(
            "eventsSecret",
            \.eventsSecret,
            .secret,
            "Secret the registry sends in the Authorization header of notifications; without it they are refused."
        ),
        .optional(
            "publicHost", \.publicHost, .string,
            "host[:port] that docker pulls from, shown in the web UI's pull commands; default: the host of url."),
    ]
}
