import Configuration
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import Storage
import Threading
import TokenAuthority
import Webhooks

/// Outgoing webhooks, wired for `serve`: the dispatcher that queues deliveries inside the transactions that
/// record repository changes, and the worker that sends them (on every instance: deliveries are claimed).
struct WebhooksAssembly {
    /// The singleton job of pruning old deliveries, which the placement is asked about.
    static let jobName = "webhook-delivery-prune"

    /// Hand this to whatever records repository changes (the registry event worker, reconciliation, tag
    /// deletion) as their `RepositoryChangeObserver`; it wakes the worker when it queued something.
    let dispatcher: WebhookDispatcher
    /// Sends queued deliveries.
    let worker: WebhookWorker
    /// Seals the secrets and header values of webhooks created through the API.
    let sealer: WebhookSecretSealer

    /// Builds the dispatcher and the worker from the `webhooks` settings; sends through libcurl on `pool`
    /// unless a `client` is given (tests).
    init(
        settings: WebhookSettings, store: any Store, pool: BlockingPool, logger: Logger, sealer: WebhookSecretSealer,
        placement: any JobPlacement = SingleInstancePlacement(), client: (any HTTPFetching)? = nil
    ) {
        var curl = CurlHTTPClient.Configuration()
        curl.timeout = settings.timeout
        curl.connectTimeout = min(settings.timeout, .seconds(5))
        curl.maxResponseBytes = 1 << 20
        curl.followRedirects = false
        curl.userAgent = "Portcullis-Webhooks/\(Version.current)"
        let policy = WebhookDeliveryPolicy(
            timeout: settings.timeout, maxAttempts: settings.maxAttempts, initialBackoff: settings.initialBackoff,
            maxBackoff: settings.maxBackoff, responseExcerptBytes: settings.responseExcerptLength,
            pollInterval: settings.pollInterval, retention: settings.retention)
        let worker = WebhookWorker(
            store: store, client: client ?? CurlHTTPClient(configuration: curl, pool: pool), sealer: sealer,
            policy: policy, logger: logger.named("webhooks"), prunesHere: { await placement.runsHere(Self.jobName) },
            holder: LeaseHolder.forThisProcess("webhooks"))
        self.worker = worker
        self.sealer = sealer
        dispatcher = WebhookDispatcher(queued: { worker.wake() })
    }

    /// What `serve` starts with: the secrets key (generated on first start when its file is missing), every
    /// webhook value stored before encryption sealed with it, then the dispatcher and the worker.
    static func forServing(
        settings: WebhookSettings, store: any Store, pool: BlockingPool, placement: any JobPlacement, logger: Logger
    ) async throws -> WebhooksAssembly {
        let box = try Self.sealer(settings, createKeyIfMissing: true) { message in
            logger.notice(message, ["key": settings.secretsKey.referenceDescription])
        }
        let sealed = try await mapStoreErrors { try await box.sealLegacyValues(in: store) }
        if sealed > 0 {
            logger.notice("encrypted the secrets of webhooks stored before encryption", ["webhooks": String(sealed)])
        }
        return WebhooksAssembly(
            settings: settings, store: store, pool: pool, logger: logger, sealer: box, placement: placement)
    }

    /// The sealer with the configured `webhooks.secretsKey`. When the key is a `{file: …}` reference whose file
    /// does not exist and `createKeyIfMissing` is set, a new key is written there first (32 random bytes as
    /// base64, mode 0600, through a temporary file) and `announce` is told where.
    /// - Throws: `CommandFailure` (configuration) when the key cannot be read, is not base64 of 32 bytes, or
    ///   cannot be written.
    static func sealer(
        _ settings: WebhookSettings, createKeyIfMissing: Bool, announce: (String) -> Void
    ) throws(CommandFailure) -> WebhookSecretSealer {
        let secret = settings.secretsKey
        if createKeyIfMissing, case .file(let path) = secret.reference, !FileManager.default.fileExists(atPath: path) {
            do {
                try KeyRotation.writeNewFile(
                    path, contents: AEADKey.generate().base64EncodedForKeyFile + "\n", mode: 0o600)
                announce(
                    "generated the webhook secrets key \(path) (mode 0600) on first start; back it up with the database"
                )
            } catch {
                // Another instance starting at once linked it first (whole, never half written): use that one.
                guard FileManager.default.fileExists(atPath: path) else {
                    throw CommandFailure(.cannotCreate, "webhooks.secretsKey: cannot create \(path): \(error)")
                }
            }
        }
        do {
            return WebhookSecretSealer(key: try AEADKey(base64: try secret.reveal()))
        } catch {
            throw CommandFailure(.configuration, "webhooks.secretsKey: \(error)")
        }
    }

    /// Starts sending (deliveries queued before a restart go out at once).
    func start() { worker.start() }

    /// Stops sending and waits for attempts in flight to be recorded.
    func stop() async { await worker.stop() }
}
