import Administration
import CryptoCore
import Foundation
import HTTPCore
import Storage
import Testing
import Webhooks

@Suite("Webhook pages of a namespace: list, create with the secret shown once, deliveries, toggle, delete")
struct WebhookPageTests {
    /// A fixture whose webhooks can seal secrets, with one webhook of acme and one delivery.
    static func fixture(url: String = "https://hooks.example.org/acme") async throws -> (WebFixture, Webhook.ID) {
        let sealer = WebhookSecretSealer(key: try AEADKey(bytes: Array(0..<32)))
        let fixture = try await WebFixture { store, services in
            services.webhooks = { caller in
                WebhookAdministration(store: store, caller: caller, queued: {}, sealer: sealer)
            }
        }
        let id = try await fixture.store.write { writer in
            let acme = try writer.namespace(named: "acme")!
            let webhook = try writer.createWebhook(
                NewWebhook(namespaceID: acme.id, url: url, format: .json, events: [.push], secret: "-"))
            _ = try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: webhook.id, changeID: "change-1", event: .push, contentType: "application/json",
                    body: "{}", notBefore: Date()))
            return webhook.id
        }
        return (fixture, id)
    }

    @Test(
        "The list shows the webhooks to members; only owners get the New button",
        arguments: [
            ("root", 200, true), ("olivia", 200, true), ("carl", 200, false), ("vera", 200, false),
            ("eve", 403, false),
        ])
    func listByRole(_ person: String, _ status: Int, _ mayCreate: Bool) async throws {
        let (fixture, id) = try await Self.fixture()
        let page = try await fixture.browser(person).get("/namespaces/acme/webhooks")
        #expect(page.status == status)
        guard status == 200 else { return }
        #expect(page.hasElement(id: "webhooks"))
        #expect(page.contains("href=\"/namespaces/acme/webhooks/\(id.rawValue)\""))
        #expect(page.contains("href=\"/namespaces/acme/webhooks/new\"") == mayCreate)
    }

    @Test("Creating a webhook shows its secret once, and never again")
    func createShowsSecretOnce() async throws {
        let (fixture, _) = try await Self.fixture()
        let olivia = try await fixture.browser("olivia")
        let form = await olivia.get("/namespaces/acme/webhooks/new")
        #expect(form.status == 200)
        #expect(form.postForms.allSatisfy { $0.hasCSRF })
        let created = await olivia.post(
            "/namespaces/acme/webhooks/new",
            [("url", "https://ci.example.org/hook"), ("events", "push"), ("format", "json"), ("enabled", "yes")])
        #expect(created.status == 201)
        #expect(created.hasElement(id: "webhook-secret"))
        let hooks = try await fixture.store.read { try $0.webhooks(in: try $0.namespace(named: "acme")!.id) }
        let made = try #require(hooks.first { $0.url == "https://ci.example.org/hook" })
        let detail = await olivia.get("/namespaces/acme/webhooks/\(made.id.rawValue)")
        #expect(detail.status == 200)
        #expect(detail.contains("shown only when the webhook was created"))
        #expect(!detail.contains(made.secret))
        #expect(try await fixture.browser("vera").get("/namespaces/acme/webhooks/new").status == 403)
        let forged = try await fixture.browser("vera").post(
            "/namespaces/acme/webhooks/new", [("url", "https://evil.example.org/"), ("events", "push")])
        #expect(forged.status == 403)
    }

    @Test("A javascript: URL is refused next to the field and shown back escaped")
    func javascriptURLRefused() async throws {
        let (fixture, _) = try await Self.fixture()
        let olivia = try await fixture.browser("olivia")
        let page = await olivia.post(
            "/namespaces/acme/webhooks/new", [("url", Hostile.url), ("events", "push"), ("format", "json")])
        #expect(page.status == 422)
        #expect(page.hasElement(id: "field-url-error"))
        #expect(!Hostile.leaks(page.html))
    }

    @Test("The webhook page lists deliveries; the owner disables, redelivers and deletes, a viewer's forgeries are 403")
    func manage() async throws {
        let (fixture, id) = try await Self.fixture()
        let base = "/namespaces/acme/webhooks/\(id.rawValue)"
        let olivia = try await fixture.browser("olivia")
        let page = await olivia.get(base)
        #expect(page.status == 200)
        #expect(page.hasElement(id: "deliveries"))
        #expect(page.contains("badge warning\">pending"))
        #expect(page.postForms.allSatisfy { $0.hasCSRF })
        let delivery = try await fixture.store.read { try $0.webhookDeliveries(of: id, limit: 1).first!.id }
        let vera = try await fixture.browser("vera")
        let veraPage = await vera.get(base)
        #expect(veraPage.status == 200)
        #expect(!veraPage.contains("Redeliver"))
        #expect(!veraPage.contains("/delete\""))
        #expect(await vera.post(base + "/enabled", [("enabled", "no")]).status == 403)
        #expect(await vera.post(base + "/deliveries/\(delivery.rawValue)/redeliver", []).status == 403)
        #expect(await vera.post(base + "/delete", []).status == 403)

        let disabled = await olivia.post(base + "/enabled", [("enabled", "no")])
        #expect(disabled.status == 303)
        #expect(try await fixture.store.read { try $0.webhook(id: id)!.isEnabled } == false)
        let again = await olivia.post(base + "/deliveries/\(delivery.rawValue)/redeliver", [])
        #expect(again.status == 303)
        #expect(try await fixture.store.read { try $0.webhookDeliveries(of: id, limit: 10).count } == 2)
        let confirm = await olivia.get(base + "/delete")
        #expect(confirm.hasElement(id: "delete-summary"))
        #expect(confirm.contains("2 recorded deliveries"))
        let deleted = await olivia.post(base + "/delete", [])
        #expect(deleted.status == 303)
        #expect(try await fixture.store.read { try $0.webhook(id: id) } == nil)
    }

    @Test("A webhook of another namespace or an unknown id is 404")
    func otherNamespace404() async throws {
        let (fixture, id) = try await Self.fixture()
        let root = try await fixture.browser("root")
        #expect(await root.get("/namespaces/secret/webhooks/\(id.rawValue)").status == 404)
        #expect(await root.get("/namespaces/acme/webhooks/999").status == 404)
        #expect(await root.get("/namespaces/acme/webhooks/abc").status == 404)
    }
}
