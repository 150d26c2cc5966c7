import Configuration
import Diagnostics
import HTTPClient
import Storage
import Threading
import Webhooks

/// Outgoing webhooks, wired for `serve`: the dispatcher that queues deliveries inside the transactions that
/// record repository changes, and the worker that sends them on the instance the placement picks.
struct WebhooksAssembly {
    /// The job name the placement is asked about.
    static let jobName = "webhook-deliveries"

    /// Hand this to whatever records repository changes (the registry event worker, reconciliation, tag
    /// deletion) as their `RepositoryChangeObserver`; it wakes the worker when it queued something.
    let dispatcher: WebhookDispatcher
    /// Sends queued deliveries.
    let worker: WebhookWorker

    /// Builds the dispatcher and the worker from the `webhooks` settings; sends through libcurl on `pool`
    /// unless a `client` is given (tests).
    init(
        settings: WebhookSettings, store: any Store, pool: BlockingPool, logger: Logger,
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
            store: store, client: client ?? CurlHTTPClient(configuration: curl, pool: pool), policy: policy,
            logger: logger.named("webhooks"), runsHere: { await placement.runsHere(Self.jobName) })
        self.worker = worker
        dispatcher = WebhookDispatcher(queued: { worker.wake() })
    }

    /// Starts sending (deliveries queued before a restart go out at once).
    func start() { worker.start() }

    /// Stops sending and waits for attempts in flight to be recorded.
    func stop() async { await worker.stop() }
}
