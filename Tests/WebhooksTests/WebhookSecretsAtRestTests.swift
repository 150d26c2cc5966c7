import Administration
import CryptoCore
import Diagnostics
import Foundation
import RegistryCore
import SQLiteStorage
import Storage
import TestSupport
import Testing
import Webhooks

/// Webhook secrets and header values are sealed in the database, and delivery opens them or fails clearly.
@Suite struct WebhookSecretsAtRestTests {
    /// Every byte of the database: the main file and, if present, its WAL.
    private func databaseBytes(_ path: String) -> [UInt8] {
        [path, path + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }.flatMap { [UInt8]($0) }
    }

    private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        guard !bytes.isEmpty, haystack.count >= bytes.count else { return false }
        return (0...(haystack.count - bytes.count)).contains { haystack[$0..<($0 + bytes.count)].elementsEqual(bytes) }
    }

    /// A migrated SQLite file in a fresh directory with the namespace `alpha`.
    private func fileStore() async throws -> (SQLiteStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("webhook-secrets-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("db.sqlite3").path
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        _ = try await store.migrate()
        _ = try await store.write { writer in
            let team = try writer.createTeam(name: "owners")
            return try writer.createNamespace(name: "alpha", team: team.id, visibility: .private)
        }
        return (store, path)
    }

    @Test func theDatabaseFileHoldsNeitherTheSecretNorTheHeaderValue() async throws {
        let (store, path) = try await fileStore()
        let sealer = WebhookSecretSealer(key: testSecretsKey)
        let created = try await WebhookAdministration(store: store, caller: .operator(login: "tester"), sealer: sealer)
            .create(
                namespace: "alpha", url: "https://hooks.example/in",
                headers: [WebhookHeader(name: "Authorization", value: "Bearer header-value-4711")])
        let stored = try #require(try await store.read { try $0.webhook(id: created.summary.id) })
        #expect(stored.secret.hasPrefix("sealed:v1:"))
        #expect(stored.headers.map(\.name) == ["Authorization"])
        #expect(stored.headers.allSatisfy { $0.value.hasPrefix("sealed:v1:") })
        #expect(try sealer.opened(stored).secret == created.secret)
        #expect(try sealer.opened(stored).headers.first?.value == "Bearer header-value-4711")
        await store.close()

        let bytes = databaseBytes(path)
        #expect(bytes.count > 4096)
        #expect(contains(bytes, "hooks.example"), "the search works on this file")
        #expect(!contains(bytes, created.secret))
        #expect(!contains(bytes, "header-value-4711"))
    }

    @Test func aLegacyPlainTextRowIsSealedAndStillDelivers() async throws {
        let (store, path) = try await fileStore()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let legacySecret = WebhookSecret.generate()
        let webhook = try await store.write { writer in
            let alpha = try #require(try writer.namespace(named: "alpha"))
            return try writer.createWebhook(
                NewWebhook(
                    namespaceID: alpha.id, url: receiver.url, format: .json, events: [.push],
                    headers: [WebhookHeader(name: "X-Token", value: "legacy-header-0815")], secret: legacySecret))
        }
        let sealer = WebhookSecretSealer(key: testSecretsKey)
        #expect(try await sealer.sealLegacyValues(in: store) == 1)
        #expect(try await sealer.sealLegacyValues(in: store) == 0, "sealing is idempotent")
        let stored = try #require(try await store.read { try $0.webhook(id: webhook.id) })
        #expect(WebhookSecretSealer.isSealed(stored.secret))
        #expect(stored.headers.allSatisfy { WebhookSecretSealer.isSealed($0.value) })

        let clock = TestClock()
        let dispatcher = WebhookDispatcher(now: clock.function, queued: {})
        let alpha = try #require(try await store.read { try $0.namespace(named: "alpha") })
        try await store.write { writer in
            try dispatcher.record(
                RepositoryChangeFixture.push(in: alpha), in: writer)
        }
        let worker = WebhookWorker(
            store: store, client: testClient, sealer: sealer, logger: Logger(label: "test", level: .error),
            now: clock.function, jitter: { 0 })
        #expect(try await worker.deliverDue() == 1)
        let request = try #require(receiver.requests.first)
        #expect(request.headers["X-Token"] == "legacy-header-0815")
        #expect(
            WebhookSignature.verify(
                header: request.headers["X-Portcullis-Signature"], body: request.body, secret: legacySecret))
        await store.close()

        let bytes = databaseBytes(path)
        #expect(!contains(bytes, legacySecret))
        #expect(!contains(bytes, "legacy-header-0815"))
    }

    @Test func aWrongKeyFailsTheDeliveryWithTheReasonAndSendsNothing() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let created = try await fixture.administration().create(namespace: "alpha", url: receiver.url)
        try await fixture.dispatch(fixture.change())
        let otherKey = try AEADKey(bytes: Array(repeating: 7, count: 32))
        let sink = CapturingSink()
        let worker = fixture.worker(
            logger: Logger(label: "webhooks", level: .debug, sink: sink), sealer: WebhookSecretSealer(key: otherKey))
        #expect(try await worker.deliverDue() == 1)
        #expect(receiver.requests.isEmpty)
        let delivery = try #require(try await fixture.deliveries(of: created.summary.id).first)
        #expect(delivery.state == .failed)
        #expect(delivery.attempts == 1)
        #expect(delivery.lastError?.contains("webhook.secret_unreadable") == true, "\(delivery.lastError ?? "")")
        #expect(delivery.lastError?.contains("webhooks.secretsKey") == true)
        #expect(sink.text.contains("webhook.secret_unreadable"))
        #expect(!sink.text.contains(created.secret))
    }

    @Test func aSealedValueMovedToAnotherWebhookOrReplacedByPlainTextIsRefused() async throws {
        let fixture = try await Fixture.make()
        let receiver = try WebhookReceiver()
        defer { Task { await receiver.stop() } }
        let admin = fixture.administration()
        let first = try await admin.create(namespace: "alpha", url: receiver.url)
        let second = try await admin.create(namespace: "beta", url: receiver.url)
        // The second webhook's row gets the first one's sealed secret: it was sealed for another row id.
        try await fixture.store.write { writer in
            let moved = try #require(try writer.webhook(id: first.summary.id)).secret
            try writer.setWebhookSecrets(second.summary.id, secret: moved, headers: [])
            // And the first gets its own secret back in plain text: never sent as it is.
            try writer.setWebhookSecrets(first.summary.id, secret: first.secret, headers: [])
        }
        try await fixture.dispatch(fixture.change(in: fixture.alpha, id: "a"))
        try await fixture.dispatch(fixture.change(in: fixture.beta, id: "b"))
        #expect(try await fixture.worker().deliverDue() == 2)
        #expect(receiver.requests.isEmpty)
        let plain = try #require(try await fixture.deliveries(of: first.summary.id).first)
        #expect(plain.state == .failed && plain.lastError?.contains("stored unencrypted") == true)
        let moved = try #require(try await fixture.deliveries(of: second.summary.id).first)
        #expect(moved.state == .failed && moved.lastError?.contains("does not decrypt") == true)
    }

    @Test func aSealedHeaderValueIsBoundToItsPositionAndName() throws {
        let sealer = WebhookSecretSealer(key: testSecretsKey)
        let id = Webhook.ID(3)
        let sealed = try sealer.seal("v", webhookID: id, field: .header(position: 0, name: "X-A"))
        #expect(try sealer.open(sealed, webhookID: id, field: .header(position: 0, name: "x-a")) == "v")
        #expect(throws: WebhookError.secretUnreadable) {
            try sealer.open(sealed, webhookID: id, field: .header(position: 1, name: "X-A"))
        }
        #expect(throws: WebhookError.secretUnreadable) {
            try sealer.open(sealed, webhookID: id, field: .header(position: 0, name: "X-B"))
        }
        #expect(throws: WebhookError.secretUnreadable) { try sealer.open(sealed, webhookID: id, field: .secret) }
        #expect(throws: WebhookError.secretUnreadable) {
            try sealer.open("sealed:v1:!!!", webhookID: id, field: .secret)
        }
        #expect(throws: WebhookError.secretUnreadable) { try sealer.open("sealed:v1:", webhookID: id, field: .secret) }
    }

    @Test func creatingWithoutASecretsKeyIsRefused() async throws {
        let fixture = try await Fixture.make()
        await #expect(throws: WebhookError.secretsKeyMissing) {
            try await WebhookAdministration(store: fixture.store, caller: .operator(login: "tester")).create(
                namespace: "alpha", url: "https://a.example/")
        }
        #expect(
            try await WebhookAdministration(store: fixture.store, caller: .operator(login: "tester")).list().isEmpty)
    }
}

/// A push change in a namespace, as the registry event worker records it.
enum RepositoryChangeFixture {
    static func push(in namespace: Namespace) -> RepositoryChange {
        RepositoryChange(
            action: .push, registry: "main", namespaceID: namespace.id, repository: "\(namespace.name)/app",
            tags: ["1.0"], digest: "sha256:" + String(repeating: "cd", count: 32),
            mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1, actor: "alice",
            occurredAt: Date(timeIntervalSince1970: 1_800_000_000), id: "legacy-1")
    }
}
