import Administration
import Authorization
import CryptoCore
import Foundation
import SQLiteStorage
import Storage
import Testing
import Webhooks

/// Portus §3.2 for webhooks, decided by the service: administrators always; owners of the namespace's team
/// while `createWebhook`/`manageWebhook` are on; other members may look; outsiders see nothing.
@Suite struct WebhookAdministrationTests {
    /// Team `backend` (owner olga, contributor carl, viewer vera) with private namespace `backend`; root is an
    /// administrator, otto an outsider; one webhook exists.
    struct World {
        let store: any Store
        let users: [String: User]
        let webhook: Webhook.ID
        let sealer = WebhookSecretSealer(key: try! AEADKey(bytes: Array(0..<32)))

        static func make() async throws -> World {
            let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
            _ = try await store.migrate()
            var users: [String: User] = [:]
            for name in ["root", "olga", "carl", "vera", "otto"] {
                users[name] = try await store.write {
                    try $0.createUser(NewUser(username: name, isAdmin: name == "root"))
                }
            }
            let teams = TeamAdministration(store: store)
            _ = try await teams.create("backend", by: .user(users["olga"]!))
            _ = try await teams.addMember("carl", to: "backend", role: .contributor, by: .user(users["olga"]!))
            _ = try await teams.addMember("vera", to: "backend", role: .viewer, by: .user(users["olga"]!))
            _ = try await NamespaceAdministration(store: store).create(
                "backend", team: "backend", by: .user(users["olga"]!))
            let sealer = WebhookSecretSealer(key: try AEADKey(bytes: Array(0..<32)))
            let created = try await WebhookAdministration(store: store, caller: .operator(login: "t"), sealer: sealer)
                .create(namespace: "backend", url: "https://hooks.example/a")
            return World(store: store, users: users, webhook: created.summary.id)
        }

        func service(_ name: String, _ settings: ResourcePolicySettings = .init()) -> WebhookAdministration {
            WebhookAdministration(store: store, caller: .user(users[name]!), settings: settings, sealer: sealer)
        }
    }

    /// What a refusal looked like: nil when allowed.
    static func outcome(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as AdministrationError {
            return error.code.rawValue
        } catch let error as WebhookError {
            return error.code.rawValue
        } catch {
            return "\(error)"
        }
    }

    @Test(
        "Who may list, create, change and delete a namespace's webhooks",
        arguments: [
            // who, list, create, update, delete
            ("root", nil, nil, nil, nil),
            ("olga", nil, nil, nil, nil),
            ("carl", nil, "administration.forbidden", "administration.forbidden", "administration.forbidden"),
            ("vera", nil, "administration.forbidden", "administration.forbidden", "administration.forbidden"),
            (
                "otto", "webhook.unknown_namespace", "webhook.unknown_namespace", "webhook.not_found",
                "webhook.not_found"
            ),
        ] as [(String, String?, String?, String?, String?)])
    func matrix(who: String, list: String?, create: String?, update: String?, delete: String?) async throws {
        let world = try await World.make()
        let service = world.service(who)
        #expect(await Self.outcome { _ = try await service.list(namespace: "backend") } == list)
        #expect(
            await Self.outcome { _ = try await service.create(namespace: "backend", url: "https://hooks.example/b") }
                == create)
        #expect(
            await Self.outcome {
                _ = try await service.update(world.webhook, in: "backend", WebhookChange(isEnabled: false))
            } == update)
        #expect(await Self.outcome { try await service.delete(world.webhook, in: "backend") } == delete)
    }

    @Test("The createWebhook and manageWebhook switches stop owners, not administrators")
    func switches() async throws {
        let world = try await World.make()
        let off = ResourcePolicySettings(createWebhook: false, manageWebhook: false)
        let owner = world.service("olga", off)
        #expect(
            await Self.outcome { _ = try await owner.create(namespace: "backend", url: "https://hooks.example/b") }
                == "administration.forbidden")
        #expect(
            await Self.outcome {
                _ = try await owner.update(world.webhook, in: "backend", WebhookChange(isEnabled: false))
            }
                == "administration.forbidden")
        #expect(await Self.outcome { _ = try await owner.list(namespace: "backend") } == nil)
        let admin = world.service("root", off)
        #expect(
            await Self.outcome { _ = try await admin.create(namespace: "backend", url: "https://hooks.example/b") }
                == nil)
    }

    @Test("A webhook is not reachable through another namespace's name")
    func namespaceScoping() async throws {
        let world = try await World.make()
        _ = try await NamespaceAdministration(store: world.store).create(
            "other", team: "backend", by: .user(world.users["olga"]!))
        let owner = world.service("olga")
        #expect(await Self.outcome { _ = try await owner.show(world.webhook, in: "other") } == "webhook.not_found")
        #expect(await Self.outcome { try await owner.delete(world.webhook, in: "other") } == "webhook.not_found")
        #expect(await Self.outcome { _ = try await owner.show(world.webhook, in: "backend") } == nil)
    }

    @Test("Replacing headers keeps the secret and stores the new values sealed; the audit names only header names")
    func headerUpdate() async throws {
        let world = try await World.make()
        let owner = world.service("olga")
        let updated = try await owner.update(
            world.webhook, in: "backend",
            WebhookChange(headers: [WebhookHeader(name: "X-Api-Key", value: "hunter2-credential")]))
        #expect(updated.headerNames == ["X-Api-Key"])
        let stored = try #require(try await world.store.read { try $0.webhook(id: world.webhook) })
        #expect(stored.headers.first.map { WebhookSecretSealer.isSealed($0.value) } == true)
        let opened = try world.sealer.opened(stored)
        #expect(opened.headers.first?.value == "hunter2-credential")
        let events = try await world.store.read { try $0.auditEvents(limit: 5, before: nil) }
        #expect(!events.contains { ($0.detail ?? "").contains("hunter2") })
        #expect(events.first?.action == "webhook.update")
    }
}
