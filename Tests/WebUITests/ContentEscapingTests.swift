import Administration
import Foundation
import HTTPCore
import Storage
import Testing
import WebUI

@Suite("Hostile text in namespaces, repositories, webhooks and the audit log is escaped on every page")
struct ContentEscapingTests {
    /// acme's and acme/api's descriptions, an audit event about acme/api:v1 and a webhook URL all carry `payload`.
    static func hostileFixture(_ payload: String) async throws -> (WebFixture, Webhook.ID) {
        let (fixture, _) = try await WebFixture.withDeleter()
        let id = try await fixture.store.write { writer in
            let acme = try writer.namespace(named: "acme")!
            try writer.setDescription(payload, forNamespace: acme.id)
            let api = try writer.repositories(named: "api", in: acme.id).first!
            try writer.setDescription(payload, forRepository: api.id)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "tag.push", outcome: .success, actorName: payload, target: "tag:acme/api:v1",
                    detail: "{\"note\":\"\(payload.replacingOccurrences(of: "\"", with: "\\\""))\"}"))
            let webhook = try writer.createWebhook(
                NewWebhook(
                    namespaceID: acme.id, url: "https://hooks.example.org/?q=\(payload)", format: .json,
                    events: [.push], secret: "-"))
            return webhook.id
        }
        return (fixture, id)
    }

    @Test("Every content page shows the payloads escaped", arguments: Hostile.all)
    func pagesEscape(_ payload: String) async throws {
        let (fixture, webhook) = try await Self.hostileFixture(payload)
        let root = try await fixture.browser("root")
        let paths = [
            "/namespaces", "/namespaces?q=acme", "/namespaces/acme", "/namespaces/acme/edit", "/namespaces/acme/delete",
            "/namespaces/acme/webhooks", "/namespaces/acme/webhooks/\(webhook.rawValue)",
            "/namespaces/acme/webhooks/\(webhook.rawValue)/delete", "/repositories/acme/api",
            "/repositories/acme/api/-/tags/v1", "/repositories/acme/api/-/delete",
            "/repositories/acme/api/-/delete-tags?tag=v1",
        ]
        for path in paths {
            let page = await root.get(path)
            #expect(page.status == 200, "\(path) answered \(page.status)")
            #expect(!Hostile.leaks(page.html), "\(path) shows a payload unescaped")
            // The deletion confirmations name tags and digests, not descriptions.
            let quiet = [
                "/namespaces/acme/delete", "/repositories/acme/api/-/delete",
                "/repositories/acme/api/-/delete-tags?tag=v1",
            ]
            if !quiet.contains(path) {
                let shown = page.contains(HTMLEscaping.escaped(payload))
                #expect(shown, "\(path) does not show the payload at all")
            }
        }
    }

    @Test("Payloads in the address and the filter are escaped on the pages that echo them", arguments: Hostile.all)
    func addressEscapes(_ payload: String) async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let encoded = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        for path in [
            "/namespaces/\(encoded)", "/repositories/acme/\(encoded)", "/repositories/acme/api/-/tags/\(encoded)",
            "/namespaces?q=\(encoded)", "/repositories/acme/api/-/delete-tags?tag=\(encoded)",
        ] {
            let page = await root.get(path)
            #expect(!Hostile.leaks(page.html), "\(path) shows a payload unescaped")
            #expect([200, 404].contains(page.status), "\(path) answered \(page.status)")
        }
    }

    @Test("A javascript: webhook URL never reaches a page: the store refuses it (the form test shows the refusal)")
    func javascriptURLNeverStored() async throws {
        let (fixture, webhook) = try await Self.hostileFixture("x")
        await #expect(throws: (any Error).self) {
            try await fixture.store.write { writer in
                try writer.updateWebhook(webhook, url: Hostile.url, events: [.push], headers: nil)
            }
        }
        let page = try await fixture.browser("root").get("/namespaces/acme/webhooks")
        #expect(!page.contains("href=\"javascript:"))
    }
}
