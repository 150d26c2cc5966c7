import Administration
import Foundation
import RegistryCore
import Storage
import Synchronization
import Testing
import Webhooks

@Suite struct WebhookDispatcherTests {
    @Test func onlyEnabledWebhooksOfTheChangesNamespaceThatSubscribeGetADelivery() async throws {
        let fixture = try await Fixture.make()
        let admin = fixture.administration()
        let pushes = try await admin.create(namespace: "alpha", url: "https://a.example/", events: [.push])
        let deletes = try await admin.create(namespace: "alpha", url: "https://b.example/", events: [.delete])
        let off = try await admin.create(namespace: "alpha", url: "https://c.example/", events: [.push, .delete])
        try await admin.setEnabled(false, for: off.summary.id)
        let other = try await admin.create(namespace: "beta", url: "https://d.example/")

        let wakes = Mutex(0)
        try await fixture.dispatch(fixture.change(.push)) { wakes.withLock { $0 += 1 } }
        #expect(try await fixture.deliveries(of: pushes.summary.id).count == 1)
        #expect(try await fixture.deliveries(of: deletes.summary.id).isEmpty)
        #expect(try await fixture.deliveries(of: off.summary.id).isEmpty)
        #expect(try await fixture.deliveries(of: other.summary.id).isEmpty)
        #expect(wakes.withLock { $0 } == 1)

        try await fixture.dispatch(fixture.change(.delete, id: "event-2"))
        let queued = try await fixture.deliveries(of: deletes.summary.id)
        #expect(queued.map(\.event) == [.delete])
        #expect(queued.first?.changeID == "event-2")
        #expect(queued.first?.state == .pending)
    }

    @Test func aChangeWithoutSubscribersQueuesNothingAndWakesNobody() async throws {
        let fixture = try await Fixture.make()
        _ = try await fixture.administration().create(namespace: "beta", url: "https://d.example/")
        let wakes = Mutex(0)
        try await fixture.dispatch(fixture.change(.push)) { wakes.withLock { $0 += 1 } }
        #expect(wakes.withLock { $0 } == 0)
    }

    @Test func theBodyIsRenderedInEachWebhooksFormatWhenTheChangeIsRecorded() async throws {
        let fixture = try await Fixture.make()
        let admin = fixture.administration()
        let json = try await admin.create(namespace: "alpha", url: "https://a.example/", format: .json)
        let cloud = try await admin.create(namespace: "alpha", url: "https://b.example/", format: .cloudevents)
        let change = fixture.change()
        try await fixture.dispatch(change)
        let jsonDelivery = try #require(try await fixture.deliveries(of: json.summary.id).first)
        let cloudDelivery = try #require(try await fixture.deliveries(of: cloud.summary.id).first)
        #expect(jsonDelivery.body == WebhookPayload.render(change, namespace: "alpha", format: .json).body)
        #expect(jsonDelivery.contentType == "application/json")
        #expect(cloudDelivery.body == WebhookPayload.render(change, namespace: "alpha", format: .cloudevents).body)
        #expect(cloudDelivery.contentType == "application/cloudevents+json")
    }

    @Test func aChangeThatRollsBackLeavesNoDelivery() async throws {
        struct Abort: Error {}
        let fixture = try await Fixture.make()
        let hook = try await fixture.administration().create(namespace: "alpha", url: "https://a.example/")
        let dispatcher = WebhookDispatcher(now: fixture.clock.function)
        let change = fixture.change()
        await #expect(throws: Abort.self) {
            try await fixture.store.write { writer in
                try dispatcher.record(change, in: writer)
                throw Abort()
            }
        }
        #expect(try await fixture.deliveries(of: hook.summary.id).isEmpty)
    }
}
