import Administration
import Diagnostics
import Foundation
import HTTPCore
import Storage
import TestSupport
import Testing
import Webhooks

/// Deliveries to real receivers on loopback (our own HTTPServer), sent through libcurl.
@Suite struct WebhookDeliveryTests {
    @Test func aJSONDeliveryIsSignedAndCarriesItsHeaders() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let created = try await fixture.administration().create(
            namespace: "alpha", url: receiver.url, headers: [WebhookHeader(name: "Authorization", value: "Bearer t")])
        try await fixture.dispatch(fixture.change())
        #expect(try await fixture.worker().deliverDue() == 1)

        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(request.path == "/hook")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["Authorization"] == "Bearer t")
        #expect(request.headers["X-Portcullis-Event"] == "push")
        let delivery = try #require(try await fixture.deliveries(of: created.summary.id).first)
        #expect(request.headers["X-Portcullis-Delivery"] == delivery.id.description)
        #expect(request.body == Array(delivery.body.utf8))
        let signature = request.headers["X-Portcullis-Signature"]
        #expect(WebhookSignature.verify(header: signature, body: request.body, secret: created.secret))
        #expect(!WebhookSignature.verify(header: signature, body: request.body, secret: WebhookSecret.generate()))

        #expect(delivery.state == .delivered)
        #expect(delivery.attempts == 1)
        #expect(delivery.lastStatus == 200)
        #expect(delivery.responseExcerpt == "thanks")
        #expect(delivery.lastLatencyMilliseconds != nil)
    }

    @Test func aCloudEventsDeliveryUsesStructuredModeAndIsSigned() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let created = try await fixture.administration().create(
            namespace: "alpha", url: receiver.url, format: .cloudevents)
        try await fixture.dispatch(fixture.change(.push))
        try await fixture.worker().deliverDue()
        let request = try #require(receiver.requests.first)
        #expect(request.headers["Content-Type"] == "application/cloudevents+json")
        #expect(
            WebhookSignature.verify(
                header: request.headers["X-Portcullis-Signature"], body: request.body, secret: created.secret))
        let event = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(event["specversion"] as? String == "1.0")
        #expect(event["type"] as? String == "io.portcullis.repository.push")
    }

    @Test func aReceiverThatIsDownGetsTheDeliveryWhenItComesBack() async throws {
        let fixture = try await Fixture.make()
        let port = try await WebhookReceiver.downPort()
        let created = try await fixture.administration().create(
            namespace: "alpha", url: "http://127.0.0.1:\(port)/hook")
        try await fixture.dispatch(fixture.change())
        let worker = fixture.worker(maxAttempts: 5)

        #expect(try await worker.deliverDue() == 1)
        var delivery = try #require(try await fixture.deliveries(of: created.summary.id).first)
        #expect(delivery.state == .retrying)
        #expect(delivery.lastStatus == nil)
        #expect(delivery.lastError?.contains("connection") == true)
        // Backoff: 10 s after the first failure (jitter 0 takes the lower half: 5 s), then 10 s, capped at 60 s.
        #expect(delivery.nextAttemptAt == fixture.clock.now.addingTimeInterval(5))
        #expect(try await worker.deliverDue() == 0)  // not due yet

        fixture.clock.advance(by: 5)
        #expect(try await worker.deliverDue() == 1)
        delivery = try #require(try await fixture.delivery(delivery.id))
        #expect(delivery.state == .retrying && delivery.attempts == 2)
        #expect(delivery.nextAttemptAt == fixture.clock.now.addingTimeInterval(10))

        let receiver = try WebhookReceiver(port: port)
        defer { Task { await receiver.stop() } }
        fixture.clock.advance(by: 10)
        #expect(try await worker.deliverDue() == 1)
        delivery = try #require(try await fixture.delivery(delivery.id))
        #expect(delivery.state == .delivered && delivery.attempts == 3)
        #expect(receiver.requests.count == 1)
        let deliveryID = delivery.id
        let log = try await fixture.store.read { try $0.webhookAttempts(of: deliveryID) }
        #expect(log.map(\.status) == [nil, nil, 200])
    }

    @Test func errorStatusesAreRecordedWithAnExcerptAndTheLastAttemptFails() async throws {
        let fixture = try await Fixture.make()
        let longBody = String(repeating: "x", count: 300)
        let receiver = try WebhookReceiver(answers: [(404, "no such hook"), (500, longBody), (503, "later")])
        defer { Task { await receiver.stop() } }
        let created = try await fixture.administration().create(namespace: "alpha", url: receiver.url)
        try await fixture.dispatch(fixture.change())
        let worker = fixture.worker(maxAttempts: 3, excerptBytes: 100)
        for _ in 0..<3 {
            try await worker.deliverDue()
            fixture.clock.advance(by: 3600)
        }
        let delivery = try #require(try await fixture.deliveries(of: created.summary.id).first)
        #expect(delivery.state == .failed)
        #expect(delivery.attempts == 3)
        #expect(delivery.nextAttemptAt == nil)
        #expect(delivery.lastStatus == 503)
        #expect(delivery.responseExcerpt == "later")
        #expect(delivery.lastError == "the receiver answered 503")
        let log = try await fixture.store.read { try $0.webhookAttempts(of: delivery.id) }
        #expect(log.map(\.status) == [404, 500, 503])
        #expect(log.map(\.responseExcerpt) == ["no such hook", String(repeating: "x", count: 100), "later"])
        // Failed is final: nothing more is sent.
        #expect(try await worker.deliverDue() == 0)
        #expect(receiver.requests.count == 3)
    }

    @Test func aRedeliverySendsTheIdenticalBytes() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let admin = fixture.administration()
        let created = try await admin.create(namespace: "alpha", url: receiver.url)
        try await fixture.dispatch(fixture.change())
        let worker = fixture.worker()
        try await worker.deliverDue()
        let original = try #require(try await fixture.deliveries(of: created.summary.id).first)
        let copy = try await admin.redeliver(original.id)
        #expect(copy.redeliveryOf == original.id && copy.changeID == original.changeID)
        try await worker.deliverDue()
        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(requests[0].body == requests[1].body)
        #expect(requests[0].headers["X-Portcullis-Signature"] == requests[1].headers["X-Portcullis-Signature"])
        #expect(requests[1].headers["X-Portcullis-Delivery"] == copy.id.description)
        #expect(try await fixture.delivery(copy.id)?.state == .delivered)
        await #expect(throws: WebhookError.deliveryNotFound) { try await admin.redeliver(WebhookDelivery.ID(999)) }
    }

    @Test func theSecretNeverAppearsInListingsAuditOrLogs() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver(answers: [(500, "oops")])
        defer { Task { await receiver.stop() } }
        let sink = CapturingSink()
        let logger = Logger(label: "webhooks", level: .debug, sink: sink)
        let admin = fixture.administration()
        let created = try await admin.create(
            namespace: "alpha", url: receiver.url,
            headers: [WebhookHeader(name: "Authorization", value: "Bearer hidden")])
        try await fixture.dispatch(fixture.change())
        let worker = fixture.worker(logger: logger)
        try await worker.deliverDue()
        fixture.clock.advance(by: 3600)
        try await worker.deliverDue()

        let listed = "\(try await admin.list()) \(try await admin.list(namespace: "alpha")) \(created)"
        let audit = try await fixture.store.read { try $0.auditEvents(limit: 100, before: nil) }
        let everything = listed + "\(audit)" + sink.text + "\(try await admin.deliveries(of: created.summary.id))"
        #expect(!sink.text.isEmpty)
        #expect(!everything.contains(created.secret))
        #expect(!everything.contains("Bearer hidden"))
        #expect(audit.map(\.action).contains("webhook.create"))
    }

    @Test func theRunningWorkerIsWokenByTheDispatcherAndStopsCleanly() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let created = try await fixture.administration().create(namespace: "alpha", url: receiver.url)
        let worker = fixture.worker()
        worker.start()
        try await fixture.dispatch(fixture.change()) { worker.wake() }
        var state: WebhookDeliveryState?
        for _ in 0..<200 {
            state = try await fixture.deliveries(of: created.summary.id).first?.state
            if state == .delivered { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        await worker.stop()
        #expect(state == .delivered)
    }

    @Test func deletingAWebhookRemovesItsDeliveriesAndAuditsIt() async throws {
        let fixture = try await Fixture.make()
        let admin = fixture.administration()
        let created = try await admin.create(namespace: "alpha", url: "https://a.example/")
        try await fixture.dispatch(fixture.change())
        try await admin.delete(created.summary.id)
        #expect(try await admin.list().isEmpty)
        await #expect(throws: WebhookError.webhookNotFound) { try await admin.delete(created.summary.id) }
        await #expect(throws: WebhookError.unknownNamespace) {
            try await admin.create(namespace: "nope", url: "https://a.example/")
        }
        let actions = try await fixture.store.read { try $0.auditEvents(limit: 10, before: nil) }.map(\.action)
        #expect(actions.contains("webhook.delete"))
    }

    @Test func backoffDoublesUpToTheCapWithJitterInTheUpperHalf() {
        let policy = WebhookDeliveryPolicy(initialBackoff: .seconds(10), maxBackoff: .seconds(60))
        #expect(policy.backoff(afterFailures: 1, jitter: 1) == .seconds(10))
        #expect(policy.backoff(afterFailures: 2, jitter: 1) == .seconds(20))
        #expect(policy.backoff(afterFailures: 3, jitter: 0) == .seconds(20))
        #expect(policy.backoff(afterFailures: 10, jitter: 1) == .seconds(60))
        #expect(policy.backoff(afterFailures: 1000, jitter: 0.5) == .seconds(45))
    }
}

@Suite struct WebhookWorkerLoopTests {
    @Test func aWorkerThatDoesNotPruneHereStillSends() async throws {
        // Sending runs on every instance (deliveries are claimed); only pruning is placed on one.
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        let created = try await fixture.administration().create(namespace: "alpha", url: receiver.url)
        let worker = WebhookWorker(
            store: fixture.store, client: testClient, sealer: fixture.sealer,
            policy: WebhookDeliveryPolicy(pollInterval: .milliseconds(20)),
            logger: Logger(label: "test", level: .error), prunesHere: { false }, now: fixture.clock.function)
        worker.start()
        try await fixture.dispatch(fixture.change()) { worker.wake() }
        let sent = try await waitUntil(seconds: 30) { receiver.requests.count == 1 }
        await worker.stop()
        await receiver.stop()
        #expect(sent)
        #expect(try await fixture.deliveries(of: created.summary.id).first?.state == .delivered)
    }
}

@Suite struct WebhookDeliveryEdgeTests {
    @Test func aDisabledWebhookKeepsItsQueuedDeliveryUntilEnabledAgain() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        let admin = fixture.administration()
        let created = try await admin.create(namespace: "alpha", url: receiver.url)
        try await fixture.dispatch(fixture.change())
        try await admin.setEnabled(false, for: created.summary.id)
        let worker = fixture.worker()
        #expect(try await worker.deliverDue() == 0)
        try await fixture.dispatch(fixture.change(id: "while-disabled"))
        try await admin.setEnabled(true, for: created.summary.id)
        #expect(try await worker.deliverDue() == 1)
        await receiver.stop()
        #expect(receiver.requests.count == 1)
        let states = try await fixture.deliveries(of: created.summary.id).map(\.state)
        #expect(states == [.delivered])
    }

    @Test func anExcerptIsCutAtACharacterBoundary() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver(answers: [(200, "ééééé")])
        let created = try await fixture.administration().create(namespace: "alpha", url: receiver.url)
        try await fixture.dispatch(fixture.change())
        try await fixture.worker(excerptBytes: 5).deliverDue()
        await receiver.stop()
        #expect(try await fixture.deliveries(of: created.summary.id).first?.responseExcerpt == "éé")
    }
}
