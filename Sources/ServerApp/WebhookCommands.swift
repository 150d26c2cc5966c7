import Administration
import Diagnostics
import Foundation
import Storage
import Webhooks

/// `portcullis webhook …`: outgoing webhooks of namespaces, their delivery log, and redelivery.
///
/// The secret is printed once, by `create`; nothing else ever shows it. Changes are audited.
enum WebhookCommands {
    /// `webhook create NAMESPACE URL [--format json|cloudevents] [--events push,delete] [--header 'Name: value']…`
    static func create(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let namespace = try parsed.positional(0, "namespace")
        let url = try parsed.positional(1, "URL")
        let formatName = parsed.option("format") ?? WebhookFormat.json.rawValue
        let eventList = parsed.option("events") ?? WebhookEvent.allCases.map(\.rawValue).joined(separator: ",")
        let headerTexts = parsed.repeatedOption("header")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 2)
        let created = try await withWebhookErrors {
            let format = try WebhookRules.parseFormat(formatName)
            let events = try WebhookRules.parseEvents(eventList)
            let headers = try headerTexts.map { text throws(WebhookError) in try WebhookRules.parseHeader(text) }
            let sealer = try WebhooksAssembly.sealer(context.configuration.webhooks, createKeyIfMissing: true) {
                printError($0)
            }
            return try await context.withStore { store in
                try await administration(store, sealer: sealer).create(
                    namespace: namespace, url: url, format: format, events: events, headers: headers)
            }
        }
        printError(
            "created webhook \(created.summary.id) for namespace \(namespace) (\(created.summary.format.rawValue); "
                + "\(created.summary.events.map(\.rawValue).joined(separator: ","))). The secret is shown only now: "
                + "give it to the receiver, which checks X-Portcullis-Signature with it.")
        print("id: \(created.summary.id)")
        print("secret: \(created.secret)")
    }

    /// `webhook list [NAMESPACE]`: every webhook, or a namespace's; secrets are never shown, header values as `***`.
    static func list(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let namespace = parsed.positionals.first
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let webhooks = try await withWebhookErrors {
            try await context.withStore { try await administration($0).list(namespace: namespace) }
        }
        let rows = webhooks.map { webhook in
            [
                webhook.id.description, webhook.namespace, printable(webhook.url), webhook.format.rawValue,
                webhook.events.map(\.rawValue).joined(separator: ","),
                webhook.headerNames.isEmpty
                    ? "-" : webhook.headerNames.map { "\(printable($0)): ***" }.joined(separator: ", "),
                webhook.isEnabled ? "yes" : "no", webhook.createdAt.formatted(.iso8601),
            ]
        }
        print(
            table(
                header: ["ID", "NAMESPACE", "URL", "FORMAT", "EVENTS", "HEADERS", "ENABLED", "CREATED"], rows: rows),
            terminator: "")
    }

    /// `webhook deliveries WEBHOOK_ID [--limit N]`: the newest deliveries with their latest attempt.
    static func deliveries(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let webhookID = try recordID(try parsed.positional(0, "webhook id"), "webhook id", as: Webhook.self)
        let limitText = parsed.option("limit")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        var limit = 20
        if let limitText {
            guard let value = Int(limitText), (1...10_000).contains(value) else {
                throw CommandFailure(.usage, "--limit must be a number from 1 to 10000")
            }
            limit = value
        }
        let deliveries = try await withWebhookErrors {
            try await context.withStore { try await administration($0).deliveries(of: webhookID, limit: limit) }
        }
        let rows = deliveries.map { entry in deliveryRow(entry.delivery) }
        print(
            table(
                header: [
                    "ID", "QUEUED", "EVENT", "STATE", "ATTEMPTS", "STATUS", "LATENCY", "NEXT ATTEMPT", "ORIGIN",
                    "ERROR / RESPONSE",
                ], rows: rows),
            terminator: "")
    }

    private static func deliveryRow(_ delivery: WebhookDelivery) -> [String] {
        let status: String = delivery.lastStatus.map { String($0) } ?? "-"
        let latency: String = delivery.lastLatencyMilliseconds.map { "\($0)ms" } ?? "-"
        let next: String = delivery.nextAttemptAt.map { $0.formatted(.iso8601) } ?? "-"
        let origin: String = delivery.redeliveryOf.map { "redelivers \($0)" } ?? "-"
        let detail: String = printable(delivery.lastError ?? delivery.responseExcerpt ?? "", limit: 80)
        return [
            delivery.id.description, delivery.createdAt.formatted(.iso8601), delivery.event.rawValue,
            delivery.state.rawValue, String(delivery.attempts), status, latency, next, origin, detail,
        ]
    }

    /// `webhook redeliver DELIVERY_ID`: queues the same body again (the running server sends it at its next poll).
    static func redeliver(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let deliveryID = try recordID(try parsed.positional(0, "delivery id"), "delivery id", as: WebhookDelivery.self)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let copy = try await withWebhookErrors {
            try await context.withStore { try await administration($0).redeliver(deliveryID) }
        }
        print("queued delivery \(copy.id) (a redelivery of \(deliveryID)) for webhook \(copy.webhookID)")
    }

    /// `webhook delete WEBHOOK_ID`.
    static func delete(_ arguments: [String]) async throws {
        let (webhookID, context) = try webhookArguments(arguments)
        try await withWebhookErrors { try await context.withStore { try await administration($0).delete(webhookID) } }
        print("deleted webhook \(webhookID) and its deliveries")
    }

    /// `webhook disable WEBHOOK_ID`: stops queueing and sending; queued deliveries wait.
    static func disable(_ arguments: [String]) async throws {
        let (webhookID, context) = try webhookArguments(arguments)
        try await withWebhookErrors {
            try await context.withStore { try await administration($0).setEnabled(false, for: webhookID) }
        }
        print("disabled webhook \(webhookID)")
    }

    /// `webhook enable WEBHOOK_ID`.
    static func enable(_ arguments: [String]) async throws {
        let (webhookID, context) = try webhookArguments(arguments)
        try await withWebhookErrors {
            try await context.withStore { try await administration($0).setEnabled(true, for: webhookID) }
        }
        print("enabled webhook \(webhookID)")
    }

    private static func webhookArguments(_ arguments: [String]) throws -> (Webhook.ID, AppContext) {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let webhookID = try recordID(try parsed.positional(0, "webhook id"), "webhook id", as: Webhook.self)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        return (webhookID, context)
    }

    private static func administration(_ store: any Store, sealer: WebhookSecretSealer? = nil) -> WebhookAdministration
    {
        WebhookAdministration(store: store, caller: .operator(login: NSUserName()), sealer: sealer)
    }

    private static func recordID<Record>(_ text: String, _ what: String, as: Record.Type) throws(CommandFailure)
        -> RecordID<Record>
    {
        guard let value = Int64(text), value > 0 else {
            throw CommandFailure(.usage, "\(what) must be a positive number")
        }
        return RecordID(value)
    }

    /// Maps webhook input errors to exit statuses: unknown records are data errors, bad input is usage.
    private static func withWebhookErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as WebhookError {
            switch error.code {
            case .unknownNamespace, .webhookNotFound, .deliveryNotFound:
                throw CommandFailure(.dataError, error.reason)
            default:
                throw CommandFailure(.usage, error.reason)
            }
        }
    }

    /// Text from a receiver or an operator, safe for a terminal (``InertText``) and cut to `limit`
    /// characters.
    static func printable(_ text: String, limit: Int = 200) -> String { InertText.escaped(text, limit: limit) }
}
