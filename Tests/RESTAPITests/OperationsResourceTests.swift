import Administration
import CryptoCore
import Foundation
import HTTPCore
import IdentityCore
import RESTAPI
import Storage
import Synchronization
import TestSupport
import Testing
import Webhooks

extension APIFixture {
    /// The operations resources as `serve` mounts them, over `store`, with a sealer and a registries port
    /// that knows one registry, `local`.
    static func operationsRoutes(_ store: any Store) -> [APIRoute] {
        let sealer = WebhookSecretSealer(key: try! AEADKey(bytes: Array(0..<32)))
        return AuditResources(queries: AuditQueries(store: store)).routes
            + RegistryResources(registries: OneRegistry()).routes
            + WebhookResources { WebhookAdministration(store: store, caller: $0, sealer: sealer) }.routes
            + WorkloadIdentityResources(
                queries: WorkloadIdentityQueries(store: store, workload: WorkloadSamples.settings)
            ).routes
    }

    /// Team `backend` owned by alice, with namespace `backend`; bob, a user outside it, and his token.
    func withBackend() async throws -> (bob: User, bobToken: String) {
        _ = try await TeamAdministration(store: store).create("backend", by: .user(alice))
        _ = try await NamespaceAdministration(store: store).create("backend", team: "backend", by: .user(alice))
        let bob = try await store.write { try $0.createUser(NewUser(username: "bob")) }
        let token = try await ApplicationTokenService(store: store, maxPerUser: 10).create(
            owner: bob.id, name: "ci", expiresAt: nil, restriction: nil, by: .commandLine(osUser: "test")
        ).plaintext
        return (bob, token)
    }
}

/// A registries port with one registry whose sync can be held running.
final class OneRegistry: RegistrySyncing {
    let syncing = Mutex(false)
    func states() async throws -> [RegistryState] {
        [
            RegistryState(
                name: "local", url: "http://127.0.0.1:5000", lastSync: nil, isSyncing: syncing.withLock { $0 },
                eventBacklog: 0)
        ]
    }
    func startSync(of name: String, actor: String) async throws -> RegistrySyncStart {
        guard name == "local" else { return .unknownRegistry }
        return syncing.withLock { running in
            if running { return .alreadyRunning }
            running = true
            return .started
        }
    }
}

@Suite("REST API: audit events, registries, webhooks")
struct OperationsResourceTests {
    // MARK: Audit events

    @Test("audit-events is for administrators: 401 without a token, 403 for a user, 200 for an admin")
    func auditAccess() async throws {
        let fixture = try await APIFixture()
        #expect(await fixture.send(.get, "/api/v1/audit-events").status == 401)
        let user = await fixture.send(.get, "/api/v1/audit-events", headers: APIFixture.bearer(fixture.aliceToken))
        #expect(user.status == 403)
        let admin = await fixture.send(.get, "/api/v1/audit-events", headers: APIFixture.bearer(fixture.rootToken))
        #expect(admin.status == 200)
        #expect(admin.header("X-Total-Count") != nil)
    }

    @Test("audit-events filters by actor, action and target, and pages")
    func auditFilters() async throws {
        let fixture = try await APIFixture()
        for index in 0..<3 {
            _ = try await fixture.store.write {
                try $0.appendAuditEvent(
                    NewAuditEvent(
                        action: "test.poke", outcome: .success, actorName: "mallory", target: "thing/\(index)"))
            }
        }
        let root = APIFixture.bearer(fixture.rootToken)
        let byActor = await fixture.send(.get, "/api/v1/audit-events?actor=mallory&per_page=2", headers: root)
        #expect(byActor.header("X-Total-Count") == "3")
        guard case .array(let items)? = byActor.json else { Issue.record("not an array"); return }
        #expect(items.count == 2)
        #expect(items.first?["target"] == .string("thing/2"))
        let byTarget = await fixture.send(.get, "/api/v1/audit-events?target=thing/1", headers: root)
        #expect(byTarget.header("X-Total-Count") == "1")
        let byAction = await fixture.send(.get, "/api/v1/audit-events?action=test.*", headers: root)
        #expect(byAction.header("X-Total-Count") == "3")
        let future = await fixture.send(.get, "/api/v1/audit-events?since=2999-01-01T00:00:00Z", headers: root)
        #expect(future.header("X-Total-Count") == "0")
    }

    @Test("A bad date is a 400 naming the field", arguments: ["since", "until"])
    func auditBadDate(field: String) async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(
            .get, "/api/v1/audit-events?\(field)=yesterday", headers: APIFixture.bearer(fixture.rootToken))
        #expect(answer.status == 400)
        #expect(answer.errorField == field)
    }

    @Test("Accept: text/csv gives RFC 4180 CSV with formulas defused and quotes and newlines kept inside fields")
    func auditCSV() async throws {
        let fixture = try await APIFixture()
        _ = try await fixture.store.write {
            try $0.appendAuditEvent(
                NewAuditEvent(
                    action: "test.hostile", outcome: .success, actorName: "=cmd|' /C calc'!A0",
                    target: "say \"hi\"\nthen,leave"))
        }
        var headers = APIFixture.bearer(fixture.rootToken)
        headers.add(name: "Accept", value: "text/csv")
        let answer = await fixture.send(.get, "/api/v1/audit-events?action=test.hostile", headers: headers)
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type")?.hasPrefix("text/csv") == true)
        let text = String(decoding: answer.response.body, as: UTF8.self)
        #expect(text.hasPrefix(AuditQueries.csvColumns.joined(separator: ",") + "\r\n"))
        #expect(text.contains("'=cmd|' /C calc'!A0"))
        #expect(!text.contains(",=cmd"))
        #expect(text.contains("\"say \"\"hi\"\"\nthen,leave\""))
        #expect(text.hasSuffix("\r\n"))
    }

    // MARK: Registries

    @Test("registries: a user is refused; an admin lists, shows, and starts a sync (202, then 409 while it runs)")
    func registries() async throws {
        let fixture = try await APIFixture()
        let root = APIFixture.bearer(fixture.rootToken)
        #expect(
            await fixture.send(.get, "/api/v1/registries", headers: APIFixture.bearer(fixture.aliceToken)).status == 403
        )
        #expect(
            await fixture.send(.post, "/api/v1/registries/local/sync", headers: APIFixture.bearer(fixture.aliceToken))
                .status == 403)
        let list = await fixture.send(.get, "/api/v1/registries", headers: root)
        #expect(list.status == 200)
        #expect(list.header("X-Total-Count") == "1")
        #expect(await fixture.send(.get, "/api/v1/registries/local", headers: root).json?["name"] == .string("local"))
        #expect(await fixture.send(.get, "/api/v1/registries/nope", headers: root).status == 404)
        let started = await fixture.send(.post, "/api/v1/registries/local/sync", headers: root)
        #expect(started.status == 202)
        #expect(started.header("Location") == "/api/v1/registries/local")
        let again = await fixture.send(.post, "/api/v1/registries/local/sync", headers: root)
        #expect(again.status == 409)
        #expect(again.errorCode == "SYNC_RUNNING")
        #expect(await fixture.send(.post, "/api/v1/registries/nope/sync", headers: root).status == 404)
    }

    // MARK: Webhooks

    @Test("Creating a webhook shows the secret once; listings and shows never show it or header values")
    func webhookSecretOnce() async throws {
        let fixture = try await APIFixture()
        _ = try await fixture.withBackend()
        let alice = APIFixture.bearer(fixture.aliceToken)
        let created = await fixture.send(
            .post, "/api/v1/namespaces/backend/webhooks", headers: alice,
            body:
                #"{"url":"https://hooks.example/x","events":["push"],"headers":[{"name":"X-Api-Key","value":"hunter2-credential"}]}"#
        )
        #expect(created.status == 201, "\(created.json as Any)")
        let secret = try #require(created.json?["secret"]?.stringValue)
        #expect(secret.count == 64)
        let id = try #require(created.json?["webhook"]?["id"]?.integerValue)
        #expect(created.header("Location") == "/api/v1/namespaces/backend/webhooks/\(id)")
        for path in ["/api/v1/namespaces/backend/webhooks", "/api/v1/namespaces/backend/webhooks/\(id)"] {
            let answer = await fixture.send(.get, path, headers: alice)
            #expect(answer.status == 200)
            let body = String(decoding: answer.response.body, as: UTF8.self)
            #expect(!body.contains(secret))
            #expect(!body.contains("hunter2"))
            #expect(body.contains("X-Api-Key"))
        }
    }

    @Test(
        "A webhook URL that is not http(s) or names no host is a 400",
        arguments: [
            "ftp://x.example/", "javascript:alert(1)", "https://", "not a url",
        ])
    func webhookBadURL(url: String) async throws {
        let fixture = try await APIFixture()
        _ = try await fixture.withBackend()
        let answer = await fixture.send(
            .post, "/api/v1/namespaces/backend/webhooks", headers: APIFixture.bearer(fixture.aliceToken),
            body: "{\"url\":\"\(url)\"}")
        #expect(answer.status == 400)
    }

    @Test("Webhooks: a non-member is refused, an unknown namespace or webhook is 404, read-only tokens cannot write")
    func webhookPermissions() async throws {
        let fixture = try await APIFixture()
        let (_, bobToken) = try await fixture.withBackend()
        let base = "/api/v1/namespaces/backend/webhooks"
        let body = #"{"url":"https://hooks.example/x"}"#
        #expect(await fixture.send(.post, base, body: body).status == 401)
        let bob = await fixture.send(.post, base, headers: APIFixture.bearer(bobToken), body: body)
        #expect([403, 404].contains(bob.status))
        #expect(
            await fixture.send(.post, base, headers: APIFixture.bearer(fixture.pullToken), body: body).status == 403)
        #expect(
            await fixture.send(.post, base, headers: APIFixture.bearer(fixture.readToken), body: body).status == 403)
        #expect(
            await fixture.send(
                .post, "/api/v1/namespaces/nope/webhooks", headers: APIFixture.bearer(fixture.aliceToken), body: body
            )
            .status == 404)
        #expect(await fixture.send(.get, base + "/999", headers: APIFixture.bearer(fixture.aliceToken)).status == 404)
        #expect(await fixture.send(.get, base + "/999", headers: APIFixture.bearer(fixture.rootToken)).status == 404)
    }

    @Test("A token restricted to other namespaces cannot reach this namespace's webhooks; a member may only look")
    func webhookTokenNamespaces() async throws {
        let fixture = try await APIFixture()
        let (_, _) = try await fixture.withBackend()
        let elsewhere = try await ApplicationTokenService(store: fixture.store, maxPerUser: 10).create(
            owner: fixture.alice.id, name: "elsewhere", expiresAt: nil,
            restriction: AccessRestriction(namespaces: ["alice"]), by: .commandLine(osUser: "test")
        ).plaintext
        let answer = await fixture.send(
            .get, "/api/v1/namespaces/backend/webhooks", headers: APIFixture.bearer(elsewhere))
        #expect(answer.status == 403)
        _ = try await TeamAdministration(store: fixture.store).addMember(
            "bob", to: "backend", role: .viewer, by: .user(fixture.alice))
        let bobToken = try await ApplicationTokenService(store: fixture.store, maxPerUser: 10).create(
            owner: try #require(try await fixture.store.read { try $0.user(named: "bob") }).id, name: "look",
            expiresAt: nil, restriction: nil, by: .commandLine(osUser: "test")
        ).plaintext
        let bob = APIFixture.bearer(bobToken)
        #expect(await fixture.send(.get, "/api/v1/namespaces/backend/webhooks", headers: bob).status == 200)
        let refused = await fixture.send(
            .post, "/api/v1/namespaces/backend/webhooks", headers: bob, body: #"{"url":"https://hooks.example/x"}"#)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "DENIED")
    }

    @Test("Update changes URL, events and enabled; delete removes; deliveries page; redeliver queues a copy")
    func webhookLifecycle() async throws {
        let fixture = try await APIFixture()
        _ = try await fixture.withBackend()
        let alice = APIFixture.bearer(fixture.aliceToken)
        let base = "/api/v1/namespaces/backend/webhooks"
        let created = await fixture.send(.post, base, headers: alice, body: #"{"url":"https://hooks.example/a"}"#)
        let id = try #require(created.json?["webhook"]?["id"]?.integerValue)
        let updated = await fixture.send(
            .patch, "\(base)/\(id)", headers: alice,
            body: #"{"url":"https://hooks.example/b","events":["delete"],"enabled":false}"#)
        #expect(updated.status == 200)
        #expect(updated.json?["url"] == .string("https://hooks.example/b"))
        #expect(updated.json?["events"] == .array(["delete"]))
        #expect(updated.json?["enabled"] == .bool(false))
        let unknownField = await fixture.send(.patch, "\(base)/\(id)", headers: alice, body: #"{"secret":"x"}"#)
        #expect(unknownField.status == 400)
        #expect(unknownField.errorField == "secret")

        let delivery = try await fixture.store.write { writer in
            try writer.enqueueWebhookDelivery(
                NewWebhookDelivery(
                    webhookID: Webhook.ID(id), changeID: "c1", event: .delete, contentType: "application/json",
                    body: "{}", notBefore: Date()))
        }
        let listed = await fixture.send(.get, "\(base)/\(id)/deliveries", headers: alice)
        #expect(listed.status == 200)
        #expect(listed.header("X-Total-Count") == "1")
        let redelivered = await fixture.send(
            .post, "\(base)/\(id)/deliveries/\(delivery.id.rawValue)/redeliver", headers: alice)
        #expect(redelivered.status == 202)
        #expect(redelivered.json?["redelivery_of"] == .integer(delivery.id.rawValue))
        #expect(await fixture.send(.get, "\(base)/\(id)/deliveries", headers: alice).header("X-Total-Count") == "2")
        #expect(
            await fixture.send(.post, "\(base)/\(id)/deliveries/9999/redeliver", headers: alice).status == 404)
        #expect(await fixture.send(.delete, "\(base)/\(id)", headers: alice).status == 204)
        #expect(await fixture.send(.get, "\(base)/\(id)", headers: alice).status == 404)
        let disabled = await fixture.send(
            .post, base, headers: alice, body: #"{"url":"https://hooks.example/c","enabled":false}"#)
        #expect(disabled.status == 201)
        #expect(disabled.json?["webhook"]?["enabled"] == .bool(false))
    }
}
