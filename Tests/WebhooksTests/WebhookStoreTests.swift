import Administration
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

@Suite(.storeBackends("WebhookStoreTests")) struct WebhookStoreTests {
    private func newWebhook(_ fixture: Fixture, namespace: Namespace? = nil, events: [WebhookEvent] = [.push])
        -> NewWebhook
    {
        NewWebhook(
            namespaceID: (namespace ?? fixture.alpha).id, url: "https://hooks.example/in", format: .json,
            events: events,
            headers: [WebhookHeader(name: "Authorization", value: "Bearer x"), WebhookHeader(name: "X-B", value: "2")],
            secret: "s3cret")
    }

    @Test(arguments: StoreBackend.allCases) func aCreatedWebhookKeepsItsHeadersInOrderEventsAndSecret(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let created = try await fixture.store.write { [fixture] in
                try $0.createWebhook(self.newWebhook(fixture, events: [.delete, .push, .delete]))
            }
            let read = try #require(try await fixture.store.read { try $0.webhook(id: created.id) })
            #expect(read == created)
            #expect(read.headers.map(\.name) == ["Authorization", "X-B"])
            #expect(read.events == [.push, .delete])
            #expect(read.secret == "s3cret")
            #expect(read.isEnabled)
            #expect(!read.description.contains("s3cret"))
            #expect(!read.description.contains("Bearer"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func webhooksAreListedPerNamespaceAndCanBeDisabledAndDeleted(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let (first, _) = try await fixture.store.write { [fixture] writer in
                (
                    try writer.createWebhook(self.newWebhook(fixture)),
                    try writer.createWebhook(self.newWebhook(fixture, namespace: fixture.beta))
                )
            }
            let alphaID = fixture.alpha.id
            let inAlpha = try await fixture.store.read { try $0.webhooks(in: alphaID) }
            #expect(inAlpha.map(\.id) == [first.id])
            #expect(try await fixture.store.read { try $0.allWebhooks() }.count == 2)
            try await fixture.store.write { try $0.setEnabled(false, forWebhook: first.id) }
            #expect(try await fixture.store.read { try $0.webhook(id: first.id) }?.isEnabled == false)
            try await fixture.store.write { try $0.deleteWebhook(first.id) }
            #expect(try await fixture.store.read { try $0.webhook(id: first.id) } == nil)
            await #expect(throws: StoreError(.notFound, "")) {
                try await fixture.store.write { try $0.deleteWebhook(first.id) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aWebhookNeedsAnExistingNamespaceAndAnEvent(_ backend: StoreBackend)
        async throws
    {
        try await Fixture.with(backend) { fixture in
            var orphan = newWebhook(fixture)
            orphan.namespaceID = Namespace.ID(999)
            await #expect(throws: StoreError(.constraintViolated, "")) {
                try await fixture.store.write { [orphan] in _ = try $0.createWebhook(orphan) }
            }
            var silent = newWebhook(fixture)
            silent.events = []
            await #expect(throws: StoreError(.invalidInput, "")) {
                try await fixture.store.write { [silent] in _ = try $0.createWebhook(silent) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func claimingTakesOnlyDueDeliveriesOfEnabledWebhooksAndLeasesThem(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let now = fixture.clock.now
            let (enabled, disabled) = try await fixture.store.write { [fixture] writer in
                let enabled = try writer.createWebhook(self.newWebhook(fixture))
                let disabled = try writer.createWebhook(self.newWebhook(fixture))
                try writer.setEnabled(false, forWebhook: disabled.id)
                return (enabled, disabled)
            }
            func queue(_ webhookID: Webhook.ID, at date: Date) async throws -> WebhookDelivery {
                try await fixture.store.write {
                    try $0.enqueueWebhookDelivery(
                        NewWebhookDelivery(
                            webhookID: webhookID, changeID: "c", event: .push, contentType: "application/json",
                            body: "{\"a\":1}", notBefore: date))
                }
            }
            let due = try await queue(enabled.id, at: now)
            _ = try await queue(enabled.id, at: now.addingTimeInterval(60))
            _ = try await queue(disabled.id, at: now)
            #expect(due.state == .pending && due.attempts == 0)
            #expect(try await fixture.store.read { try $0.nextWebhookDeliveryTime() } == now)

            let lease = now.addingTimeInterval(30)
            let claimed = try await fixture.store.claim {
                try $0.claimDueWebhookDeliveries(at: now, limit: 10, holder: "a", leaseUntil: lease)
            }
            #expect(claimed.map(\.delivery.id) == [due.id])
            #expect(claimed.first?.webhook.id == enabled.id)
            #expect(claimed.first?.claim == QueueClaim(holder: "a", number: 1))
            #expect(try await fixture.delivery(due.id)?.nextAttemptAt == lease)
            let again = try await fixture.store.claim {
                try $0.claimDueWebhookDeliveries(at: now, limit: 10, holder: "b", leaseUntil: lease)
            }
            #expect(again.isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func attemptsAreLoggedInOrderAndTheLatestIsOnTheDelivery(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let now = fixture.clock.now
            let delivery = try await fixture.store.write { [fixture] writer in
                let webhook = try writer.createWebhook(self.newWebhook(fixture))
                return try writer.enqueueWebhookDelivery(
                    NewWebhookDelivery(
                        webhookID: webhook.id, changeID: "c", event: .delete, contentType: "application/json",
                        body: "{}", notBefore: now))
            }
            let retry = now.addingTimeInterval(10)
            func claim(at date: Date) async throws -> QueueClaim {
                let claimed = try await fixture.store.claim {
                    try $0.claimDueWebhookDeliveries(
                        at: date, limit: 1, holder: "worker", leaseUntil: date.addingTimeInterval(5))
                }
                return try #require(claimed.first?.claim)
            }
            let first = try await claim(at: now)
            let afterFirst = try #require(
                try await fixture.store.write {
                    try $0.recordWebhookAttempt(
                        WebhookAttemptResult(
                            deliveryID: delivery.id, attemptedAt: now, status: 503, latencyMilliseconds: 12,
                            responseExcerpt: "busy", error: "the receiver answered 503", newState: .retrying,
                            nextAttemptAt: retry),
                        under: first)
                })
            #expect(afterFirst.state == .retrying && afterFirst.attempts == 1 && afterFirst.nextAttemptAt == retry)
            #expect(afterFirst.lastStatus == 503 && afterFirst.responseExcerpt == "busy")
            let second = try await claim(at: retry)
            let afterSecond = try #require(
                try await fixture.store.write {
                    try $0.recordWebhookAttempt(
                        WebhookAttemptResult(
                            deliveryID: delivery.id, attemptedAt: retry, status: 204, latencyMilliseconds: 3,
                            responseExcerpt: nil, error: nil, newState: .delivered, nextAttemptAt: nil),
                        under: second)
                })
            #expect(afterSecond.state == .delivered && afterSecond.attempts == 2)
            #expect(
                afterSecond.deliveredAt == retry && afterSecond.nextAttemptAt == nil && afterSecond.lastError == nil)
            let log = try await fixture.store.read { try $0.webhookAttempts(of: delivery.id) }
            #expect(log.map(\.number) == [1, 2])
            #expect(log.map(\.status) == [503, 204])
            #expect(log.first?.error == "the receiver answered 503")
        }
    }

    @Test(arguments: StoreBackend.allCases) func deletingANamespaceTakesItsWebhooksAndDeliveriesAlong(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let delivery = try await fixture.store.write { [fixture] writer in
                let webhook = try writer.createWebhook(self.newWebhook(fixture))
                return try writer.enqueueWebhookDelivery(
                    NewWebhookDelivery(
                        webhookID: webhook.id, changeID: "c", event: .push, contentType: "application/json", body: "{}",
                        notBefore: fixture.clock.now))
            }
            try await fixture.store.write { [fixture] in try $0.deleteNamespace(fixture.alpha.id) }
            #expect(try await fixture.store.read { try $0.allWebhooks() }.isEmpty)
            #expect(try await fixture.delivery(delivery.id) == nil)
        }
    }
}

@Suite(.storeBackends("WebhookRetentionTests")) struct WebhookRetentionTests {
    @Test(arguments: StoreBackend.allCases) func pruningRemovesOnlyFinishedDeliveriesOlderThanTheCutoff(
        _ backend: StoreBackend
    ) async throws {
        try await Fixture.with(backend) { fixture in
            let admin = fixture.administration()
            let receiver = try WebhookReceiver(answers: [(500, "no")])
            let created = try await admin.create(namespace: "alpha", url: receiver.url)
            try await fixture.dispatch(fixture.change(id: "old-failed"))
            try await fixture.dispatch(fixture.change(id: "old-delivered"))
            let worker = fixture.worker(maxAttempts: 1)
            try await worker.deliverDue()
            try await fixture.dispatch(fixture.change(id: "pending"))
            fixture.clock.advance(by: 31 * 86400)
            try await fixture.dispatch(fixture.change(id: "recent"))
            #expect(await worker.prune() == 2)
            await receiver.stop()
            let left = try await fixture.deliveries(of: created.summary.id).map(\.changeID).sorted()
            #expect(left == ["pending", "recent"])
        }
    }
}
