import Foundation
import Storage

// Claiming and finishing queued work (`QueueClaiming`, `QueueFinishing`) on both SQL backends: registry events
// and webhook deliveries (columns of schema migration 20). One query text per step: PostgreSQL's claims lock
// the rows they take with `FOR UPDATE … SKIP LOCKED` (`SQLDialect.lockingSkippingLocked`), which SQLite, whose
// single writer holds the whole database for the transaction, does without.
//
// The rows to take are chosen in a MATERIALIZED common table expression, not in `WHERE id IN (SELECT … LIMIT n
// FOR UPDATE SKIP LOCKED)`: a plain subquery may be run more than once by the plan PostgreSQL picks, and with
// SKIP LOCKED a second run can choose other rows than the first; the CTE is run exactly once.
extension SQLTransaction {
    // MARK: Registry events

    package func claimRegistryEvents(limit: Int, holder: String, leaseUntil: Date, at now: Date) throws
        -> [ClaimedRegistryEvent]
    {
        try checkWritable()
        try requireName(holder, "claim holder")
        guard limit > 0 else { return [] }
        // Only the oldest pending event of its repository is taken (NOT EXISTS): while it is pending (claimed
        // or not) no later event of that repository can be, so two workers never apply one repository's events
        // out of order. This holds under concurrency because an event stays pending until the write
        // transaction that applied it commits, and ids grow in commit order (events are inserted by serialized
        // writes). The check reads the statement's snapshot, which can only make it stricter: an event finished
        // after the snapshot merely waits for the next claim.
        let claimed = try rows(
            """
            WITH picked AS MATERIALIZED (
                SELECT e.id FROM registry_events e
                WHERE e.state = 'pending' AND (e.claimed_by IS NULL OR e.claim_expires_at <= ? OR e.claimed_by = ?)
                  AND NOT EXISTS (
                      SELECT 1 FROM registry_events p
                      WHERE p.registry = e.registry AND p.repository = e.repository AND p.state = 'pending'
                        AND p.id < e.id)
                ORDER BY e.id LIMIT ?\(dialect.lockingSkippingLocked("e")))
            UPDATE registry_events SET claimed_by = ?, claim_expires_at = ?, claims = claims + 1
            WHERE id IN (SELECT id FROM picked)
            RETURNING \(Self.registryEventColumns), claims
            """,
            [
                now.sqlValue, holder.sqlValue, limit.sqlValue, holder.sqlValue, leaseUntil.sqlValue,
            ]
        ) { row in
            ClaimedRegistryEvent(
                event: Self.decodeRegistryEvent(row), claim: QueueClaim(holder: holder, number: row.int(9)))
        }
        // RETURNING promises no order.
        return claimed.sorted { $0.event.id.rawValue < $1.event.id.rawValue }
    }

    package func finishRegistryEvent(
        _ eventID: RegistryEvent.ID, under claim: QueueClaim, state: RegistryEventState, error: String?
    ) throws -> Bool {
        guard state != .pending else {
            throw StoreError(.invalidInput, "finishing leaves a registry event pending", subject: "state")
        }
        // In PostgreSQL this UPDATE waits for a claim in progress on the row and then re-reads it, so it never
        // finishes an event another worker has just taken; a claim that comes later passes the row over while
        // this transaction holds it, and finds it finished.
        return try affected(
            """
            UPDATE registry_events SET state = ?, processed_at = ?, attempts = attempts + 1, last_error = ?,
                claimed_by = NULL, claim_expires_at = NULL
            WHERE id = ? AND state = 'pending' AND claimed_by = ? AND claims = ?
            """,
            [
                state.rawValue.sqlValue, now().sqlValue, error.sqlValue, eventID.sqlValue, claim.holder.sqlValue,
                claim.number.sqlValue,
            ]) == 1
    }

    // MARK: Webhook deliveries

    package func claimDueWebhookDeliveries(at date: Date, limit: Int, holder: String, leaseUntil: Date) throws
        -> [ClaimedWebhookDelivery]
    {
        try checkWritable()
        try requireName(holder, "claim holder")
        guard limit > 0 else { return [] }
        // The next attempt moved to the lease is what keeps other workers off the delivery until then; the
        // holder and count are the fence its attempt is recorded under. Only the deliveries' rows are locked
        // (OF d): a webhook being edited does not hold its deliveries back.
        let due = try rows(
            """
            WITH picked AS MATERIALIZED (
                SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.state IN ('pending', 'retrying') AND w.is_enabled = \(dialect.true) AND d.next_attempt_at <= ?
                ORDER BY d.next_attempt_at, d.id LIMIT ?\(dialect.lockingSkippingLocked("d")))
            UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_by = ?, claims = claims + 1, updated_at = ?
            WHERE id IN (SELECT id FROM picked)
            RETURNING \(Self.deliveryColumnNames.joined(separator: ", ")), claims
            """,
            [date.sqlValue, limit.sqlValue, leaseUntil.sqlValue, holder.sqlValue, now().sqlValue]
        ) { row in (Self.decodeDelivery(row), QueueClaim(holder: holder, number: row.int(17))) }
        var webhooks: [Webhook.ID: Webhook] = [:]
        var claimed: [ClaimedWebhookDelivery] = []
        for (delivery, claim) in due {
            if webhooks[delivery.webhookID] == nil {
                webhooks[delivery.webhookID] = try webhook(id: delivery.webhookID)
            }
            guard let webhook = webhooks[delivery.webhookID] else { continue }
            claimed.append(ClaimedWebhookDelivery(delivery: delivery, webhook: webhook, claim: claim))
        }
        // RETURNING promises no order; the batch is sent at once, so any stable one does.
        return claimed.sorted { $0.delivery.id.rawValue < $1.delivery.id.rawValue }
    }

    package func recordWebhookAttempt(_ result: WebhookAttemptResult, under claim: QueueClaim) throws
        -> WebhookDelivery?
    {
        guard result.newState != .pending else {
            throw StoreError(.invalidInput, "an attempt cannot leave a delivery pending", subject: "state")
        }
        // The fenced UPDATE first: it locks the row (or finds it claimed again, or gone) before the log grows.
        let updated = try affected(
            """
            UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_status = ?,
                last_latency_ms = ?, response_excerpt = ?, last_error = ?, updated_at = ?, claimed_by = NULL,
                delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
            WHERE id = ? AND state IN ('pending', 'retrying') AND claimed_by = ? AND claims = ?
            """,
            [
                result.newState.rawValue.sqlValue,
                (result.newState == .retrying ? result.nextAttemptAt ?? result.attemptedAt : nil).sqlValue,
                result.status.sqlValue, max(0, result.latencyMilliseconds).sqlValue, result.responseExcerpt.sqlValue,
                result.error.sqlValue, now().sqlValue, result.newState.rawValue.sqlValue,
                result.attemptedAt.sqlValue, result.deliveryID.sqlValue, claim.holder.sqlValue, claim.number.sqlValue,
            ])
        guard updated == 1 else { return nil }
        let delivery = try requireFound(try webhookDelivery(id: result.deliveryID), "webhook delivery")
        try execute(
            """
            INSERT INTO webhook_attempts
                (delivery_id, number, attempted_at, status, latency_ms, response_excerpt, error)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                result.deliveryID.sqlValue, delivery.attempts.sqlValue, result.attemptedAt.sqlValue,
                result.status.sqlValue, max(0, result.latencyMilliseconds).sqlValue, result.responseExcerpt.sqlValue,
                result.error.sqlValue,
            ])
        return delivery
    }
}
