import Foundation
import RegistryCore
import Storage

/// Queues one delivery per enabled webhook of a change's namespace that subscribes to the change, inside the
/// transaction that records the change, with the body rendered then (so a retry or redelivery sends the
/// same bytes, and a change that rolls back queues nothing).
///
/// `queued` is called (still inside the transaction) when something was queued; pass
/// `WebhookWorker.wake`. The worker claims deliveries with a write transaction, which the store serializes
/// after this one, so the wake-up never finds the new rows uncommitted.
public struct WebhookDispatcher: RepositoryChangeObserver {
    private let now: @Sendable () -> Date
    private let queued: @Sendable () -> Void

    /// Creates a dispatcher; `now` stamps when deliveries become due, `queued` wakes the worker.
    public init(now: @escaping @Sendable () -> Date = { Date() }, queued: @escaping @Sendable () -> Void = {}) {
        self.now = now
        self.queued = queued
    }

    /// Queues the deliveries of `change` in `writer`'s transaction; throws only when the database fails.
    public func record(_ change: RepositoryChange, in writer: any StoreWriting) throws {
        let event = WebhookPayload.event(of: change.action)
        let webhooks = try writer.webhooks(in: change.namespaceID).filter { $0.isEnabled && $0.subscribes(to: event) }
        guard !webhooks.isEmpty else { return }
        let namespace =
            try writer.namespace(id: change.namespaceID)?.name
            ?? String(change.repository.split(separator: "/", maxSplits: 1).first ?? "")
        let due = now()
        var rendered: [WebhookFormat: RenderedWebhookBody] = [:]
        for webhook in webhooks {
            let body =
                rendered[webhook.format] ?? WebhookPayload.render(change, namespace: namespace, format: webhook.format)
            rendered[webhook.format] = body
            _ = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: webhook.id, changeID: change.id, event: event, contentType: body.contentType,
                    body: body.body, notBefore: due))
        }
        queued()
    }
}
