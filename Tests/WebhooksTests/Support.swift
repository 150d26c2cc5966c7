import Administration
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import RegistryCore
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Threading
import Webhooks

/// A pool for the test HTTP client; never shut down, because a `BlockingPool` must outlive its threads.
let testPool = BlockingPool(name: "webhook-tests", threads: 4)

/// The client the worker sends through: libcurl, with short timeouts so a receiver that is down fails fast.
let testClient: CurlHTTPClient = {
    var configuration = CurlHTTPClient.Configuration()
    configuration.connectTimeout = .seconds(2)
    configuration.timeout = .seconds(5)
    return CurlHTTPClient(configuration: configuration, pool: testPool)
}()

/// A settable clock, so retries are scheduled in real units and tests move time instead of sleeping.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { self.now } }
}

/// Log lines, kept for inspection.
final class CapturingSink: LogSink {
    private let lines = Mutex<[String]>([])
    func write(line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

/// The secrets key the fixtures seal with (fixed bytes, so runs are alike).
let testSecretsKey = try! AEADKey(bytes: Array(0..<32))

/// An in-memory store with two namespaces, `alpha` and `beta`, owned by one team.
struct Fixture {
    let store: any Store
    let clock: TestClock
    let alpha: Namespace
    let beta: Namespace
    /// Seals and opens webhook secrets with `testSecretsKey`.
    let sealer = WebhookSecretSealer(key: testSecretsKey)

    static func make() async throws -> Fixture {
        let clock = TestClock()
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, now: clock.function))
        _ = try await store.migrate()
        return try await make(store: store, clock: clock)
    }

    /// Runs `body` with a fixture on a fresh store of `backend` (closed afterwards).
    static func with(_ backend: StoreBackend, _ body: (Fixture) async throws -> Void) async throws {
        let clock = TestClock()
        try await backend.withStore(now: clock.function) { store in
            try await body(try await make(store: store, clock: clock))
        }
    }

    /// The two namespaces on a migrated `store` whose clock is `clock`.
    private static func make(store: any Store, clock: TestClock) async throws -> Fixture {
        let (alpha, beta) = try await store.write { writer in
            let team = try writer.createTeam(name: "owners")
            return (
                try writer.createNamespace(name: "alpha", team: team.id, visibility: .private),
                try writer.createNamespace(name: "beta", team: team.id, visibility: .private)
            )
        }
        return Fixture(store: store, clock: clock, alpha: alpha, beta: beta)
    }

    func change(
        _ action: RepositoryChange.Action = .push, in namespace: Namespace? = nil, id: String = "event-1"
    ) -> RepositoryChange {
        let namespace = namespace ?? alpha
        return RepositoryChange(
            action: action, registry: "main", namespaceID: namespace.id, repository: "\(namespace.name)/app",
            tags: ["1.0"], digest: "sha256:" + String(repeating: "ab", count: 32),
            mediaType: "application/vnd.oci.image.manifest.v1+json", size: 12345, actor: "alice",
            occurredAt: Date(timeIntervalSince1970: 1_800_000_000), id: id)
    }

    /// Records `change` through a dispatcher, as the event worker does inside its transaction.
    func dispatch(_ change: RepositoryChange, wake: @escaping @Sendable () -> Void = {}) async throws {
        let dispatcher = WebhookDispatcher(now: clock.function, queued: wake)
        try await store.write { try dispatcher.record(change, in: $0) }
    }

    func administration() -> WebhookAdministration {
        WebhookAdministration(store: store, caller: .operator(login: "tester"), now: clock.function, sealer: sealer)
    }

    func worker(
        maxAttempts: Int = 3, excerptBytes: Int = 1024, logger: Logger = Logger(label: "test", level: .error),
        sealer: WebhookSecretSealer? = nil
    ) -> WebhookWorker {
        WebhookWorker(
            store: store, client: testClient, sealer: sealer ?? self.sealer,
            policy: WebhookDeliveryPolicy(
                timeout: .seconds(5), maxAttempts: maxAttempts, initialBackoff: .seconds(10),
                maxBackoff: .seconds(60), responseExcerptBytes: excerptBytes, pollInterval: .milliseconds(200)),
            logger: logger, now: clock.function, jitter: { 0 })
    }

    func delivery(_ id: WebhookDelivery.ID) async throws -> WebhookDelivery? {
        try await store.read { try $0.webhookDelivery(id: id) }
    }

    func deliveries(of webhookID: Webhook.ID) async throws -> [WebhookDelivery] {
        try await store.read { try $0.webhookDeliveries(of: webhookID, limit: 100) }
    }
}
