import Foundation
import Storage

// The webhook part of `StoreReading`/`StoreWriting` on both SQL backends (tables of schema migration 5). Secrets and
// header values arrive sealed (see `WebhookSecretSealer` in Webhooks) and are stored as given.
extension SQLTransaction {
    // MARK: Webhooks

    private static var webhookColumns: String {
        """
        id, namespace_id, url, format, events, is_enabled, secret, created_at, updated_at
        """
    }

    private static func decodeWebhook(_ row: Connection.Row) -> Webhook {
        Webhook(
            id: row.id(0), namespaceID: row.id(1), url: row.text(2),
            format: WebhookFormat(rawValue: row.text(3)) ?? .json,
            events: decodeEvents(row.text(4)), headers: [], isEnabled: row.bool(5), secret: row.text(6),
            createdAt: row.date(7), updatedAt: row.date(8))
    }

    /// Events are stored as a comma-separated list, so a later event kind needs no schema change;
    /// names this binary does not know are skipped.
    private static func decodeEvents(_ text: String) -> [WebhookEvent] {
        Set(text.split(separator: ",").compactMap { WebhookEvent(rawValue: String($0)) }).sorted()
    }

    private static func encodeEvents(_ events: [WebhookEvent]) -> String {
        Set(events).sorted().map(\.rawValue).joined(separator: ",")
    }

    /// Fills in the header fields of `webhooks` with one query.
    private func withHeaders(_ webhooks: [Webhook]) throws -> [Webhook] {
        guard !webhooks.isEmpty else { return webhooks }
        let placeholders = Array(repeating: "?", count: webhooks.count).joined(separator: ", ")
        var headers: [Webhook.ID: [WebhookHeader]] = [:]
        for (webhookID, header) in try rows(
            """
            SELECT webhook_id, name, value FROM webhook_headers WHERE webhook_id IN (\(placeholders))
            ORDER BY webhook_id, position
            """, webhooks.map(\.id.sqlValue),
            { row -> (Webhook.ID, WebhookHeader) in (row.id(0), WebhookHeader(name: row.text(1), value: row.text(2))) }
        ) {
            headers[webhookID, default: []].append(header)
        }
        return webhooks.map { webhook in
            var copy = webhook
            copy.headers = headers[webhook.id] ?? []
            return copy
        }
    }

    package func webhook(id: Webhook.ID) throws -> Webhook? {
        try withHeaders(
            rows("SELECT \(Self.webhookColumns) FROM webhooks WHERE id = ?", [id.sqlValue], Self.decodeWebhook)
        ).first
    }

    package func webhooks(in namespaceID: Namespace.ID) throws -> [Webhook] {
        try withHeaders(
            rows(
                "SELECT \(Self.webhookColumns) FROM webhooks WHERE namespace_id = ? ORDER BY id",
                [namespaceID.sqlValue], Self.decodeWebhook))
    }

    package func allWebhooks() throws -> [Webhook] {
        try withHeaders(
            rows("SELECT \(Self.webhookColumns) FROM webhooks ORDER BY namespace_id, id", [], Self.decodeWebhook))
    }

    package func createWebhook(_ new: NewWebhook) throws -> Webhook {
        guard !new.events.isEmpty else {
            throw StoreError(.invalidInput, "a webhook needs at least one event", subject: "events")
        }
        try requireName(new.secret, "secret")
        let time = now()
        let id = try insert(
            """
            INSERT INTO webhooks (namespace_id, url, format, events, is_enabled, secret, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                new.namespaceID.sqlValue, new.url.sqlValue, new.format.rawValue.sqlValue,
                Self.encodeEvents(new.events).sqlValue, new.isEnabled.sqlValue, new.secret.sqlValue,
                time.sqlValue, time.sqlValue,
            ])
        for (position, header) in new.headers.enumerated() {
            try execute(
                "INSERT INTO webhook_headers (webhook_id, position, name, value) VALUES (?, ?, ?, ?)",
                [id.sqlValue, position.sqlValue, header.name.sqlValue, header.value.sqlValue])
        }
        return try requireFound(try webhook(id: Webhook.ID(id)), "webhook")
    }

    package func setWebhookSecrets(_ webhookID: Webhook.ID, secret: String, headers: [WebhookHeader]) throws {
        try requireName(secret, "secret")
        let stored = try requireFound(try webhook(id: webhookID), "webhook")
        guard stored.headers.map(\.name) == headers.map(\.name) else {
            throw StoreError(.invalidInput, "the headers differ from the stored ones", subject: "headers")
        }
        try change(
            "webhook", "UPDATE webhooks SET secret = ?, updated_at = ? WHERE id = ?",
            [secret.sqlValue, now().sqlValue, webhookID.sqlValue])
        for (position, header) in headers.enumerated() {
            try change(
                "webhook header", "UPDATE webhook_headers SET value = ? WHERE webhook_id = ? AND position = ?",
                [header.value.sqlValue, webhookID.sqlValue, position.sqlValue])
        }
    }

    package func setEnabled(_ isEnabled: Bool, forWebhook webhookID: Webhook.ID) throws {
        try change(
            "webhook", "UPDATE webhooks SET is_enabled = ?, updated_at = ? WHERE id = ?",
            [isEnabled.sqlValue, now().sqlValue, webhookID.sqlValue])
    }

    package func updateWebhook(_ webhookID: Webhook.ID, url: String, events: [WebhookEvent], headers: [WebhookHeader]?)
        throws
    {
        guard !events.isEmpty else {
            throw StoreError(.invalidInput, "a webhook needs at least one event", subject: "events")
        }
        try change(
            "webhook", "UPDATE webhooks SET url = ?, events = ?, updated_at = ? WHERE id = ?",
            [url.sqlValue, Self.encodeEvents(events).sqlValue, now().sqlValue, webhookID.sqlValue])
        guard let headers else { return }
        _ = try affected("DELETE FROM webhook_headers WHERE webhook_id = ?", [webhookID.sqlValue])
        for (position, header) in headers.enumerated() {
            try execute(
                "INSERT INTO webhook_headers (webhook_id, position, name, value) VALUES (?, ?, ?, ?)",
                [webhookID.sqlValue, position.sqlValue, header.name.sqlValue, header.value.sqlValue])
        }
    }

    package func deleteWebhook(_ webhookID: Webhook.ID) throws {
        try change("webhook", "DELETE FROM webhooks WHERE id = ?", [webhookID.sqlValue])
    }

    // MARK: Deliveries

    /// The columns `decodeDelivery` reads, in its order, unqualified (for a RETURNING clause).
    static var deliveryColumnNames: [String] {
        [
            "id", "webhook_id", "change_id", "event", "content_type", "body", "state", "attempts", "next_attempt_at",
            "last_status", "last_latency_ms", "response_excerpt", "last_error", "redelivery_of", "created_at",
            "updated_at", "delivered_at",
        ]
    }

    /// The columns `decodeDelivery` reads, of the table aliased `d`.
    private static var deliveryColumns: String { deliveryColumnNames.map { "d." + $0 }.joined(separator: ", ") }

    static func decodeDelivery(_ row: Connection.Row) -> WebhookDelivery {
        WebhookDelivery(
            id: row.id(0), webhookID: row.id(1), changeID: row.text(2),
            event: WebhookEvent(rawValue: row.text(3)) ?? .push, contentType: row.text(4), body: row.text(5),
            state: WebhookDeliveryState(rawValue: row.text(6)) ?? .failed, attempts: Int(row.int(7)),
            nextAttemptAt: row.optionalDate(8), lastStatus: row.optionalInt(9).map { Int($0) },
            lastLatencyMilliseconds: row.optionalInt(10).map { Int($0) }, responseExcerpt: row.optionalText(11),
            lastError: row.optionalText(12), redeliveryOf: row.optionalID(13), createdAt: row.date(14),
            updatedAt: row.date(15), deliveredAt: row.optionalDate(16))
    }

    package func webhookDelivery(id: WebhookDelivery.ID) throws -> WebhookDelivery? {
        try first(
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.id = ?", [id.sqlValue],
            Self.decodeDelivery)
    }

    package func webhookDeliveries(of webhookID: Webhook.ID, limit: Int) throws -> [WebhookDelivery] {
        try rows(
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ?",
            [webhookID.sqlValue, max(0, limit).sqlValue], Self.decodeDelivery)
    }

    package func webhookDeliveries(of webhookID: Webhook.ID, offset: Int, limit: Int) throws -> WebhookDeliveryPage {
        let deliveries = try rows(
            """
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.webhook_id = ?
            ORDER BY d.id DESC LIMIT ? OFFSET ?
            """, [webhookID.sqlValue, max(0, limit).sqlValue, max(0, offset).sqlValue], Self.decodeDelivery)
        let total = try count("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", [webhookID.sqlValue])
        return WebhookDeliveryPage(deliveries: deliveries, total: total)
    }

    package func webhookAttempts(of deliveryID: WebhookDelivery.ID) throws -> [WebhookAttempt] {
        try rows(
            """
            SELECT id, delivery_id, number, attempted_at, status, latency_ms, response_excerpt, error
            FROM webhook_attempts WHERE delivery_id = ? ORDER BY number
            """, [deliveryID.sqlValue]
        ) { row in
            WebhookAttempt(
                id: row.id(0), deliveryID: row.id(1), number: Int(row.int(2)), attemptedAt: row.date(3),
                status: row.optionalInt(4).map { Int($0) }, latencyMilliseconds: Int(row.int(5)),
                responseExcerpt: row.optionalText(6), error: row.optionalText(7))
        }
    }

    package func nextWebhookDeliveryTime() throws -> Date? {
        try first(
            """
            SELECT min(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            WHERE d.state IN ('pending', 'retrying') AND w.is_enabled = \(dialect.true)
            """
        ) { $0.optionalDate(0) } ?? nil
    }

    package func enqueueWebhookDelivery(_ new: NewWebhookDelivery) throws -> WebhookDelivery {
        let time = now()
        let id = try insert(
            """
            INSERT INTO webhook_deliveries
                (webhook_id, change_id, event, content_type, body, state, next_attempt_at, redelivery_of,
                 created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
            """,
            [
                new.webhookID.sqlValue, new.changeID.sqlValue, new.event.rawValue.sqlValue, new.contentType.sqlValue,
                new.body.sqlValue, new.notBefore.sqlValue, new.redeliveryOf.sqlValue, time.sqlValue, time.sqlValue,
            ])
        return try requireFound(try webhookDelivery(id: WebhookDelivery.ID(id)), "webhook delivery")
    }

    package func pruneWebhookDeliveries(finishedBefore date: Date) throws -> Int {
        try affected(
            "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND updated_at < ?",
            [date.sqlValue])
    }
}
