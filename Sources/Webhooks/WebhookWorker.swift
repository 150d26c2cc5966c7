import Diagnostics
import Foundation
import HTTPClient
import Storage
import Synchronization
import Threading

/// How deliveries are sent and retried.
public struct WebhookDeliveryPolicy: Sendable, Hashable {
    /// The limit for one attempt (connect, send, answer). Default: 10 seconds.
    public var timeout: Duration
    /// Attempts before a delivery is marked failed (the first one included). Default: 8.
    public var maxAttempts: Int
    /// The wait after the first failed attempt; it doubles with each further failure. Default: 10 seconds.
    public var initialBackoff: Duration
    /// The longest wait between attempts. Default: 1 hour.
    public var maxBackoff: Duration
    /// How many bytes of a response body are kept per attempt. Default: 1024.
    public var responseExcerptBytes: Int
    /// How often the worker looks for due deliveries when nothing wakes it. Default: 5 seconds.
    public var pollInterval: Duration
    /// How many deliveries are sent at once. Default: 8.
    public var concurrency: Int
    /// How long delivered and failed deliveries stay in the log; nil keeps them forever. Default: 30 days.
    public var retention: Duration?

    /// Describes a policy; every parameter has the default documented on its property.
    public init(
        timeout: Duration = .seconds(10), maxAttempts: Int = 8, initialBackoff: Duration = .seconds(10),
        maxBackoff: Duration = .seconds(3600), responseExcerptBytes: Int = 1024, pollInterval: Duration = .seconds(5),
        concurrency: Int = 8, retention: Duration? = .seconds(30 * 86400)
    ) {
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.responseExcerptBytes = responseExcerptBytes
        self.pollInterval = pollInterval
        self.concurrency = concurrency
        self.retention = retention
    }

    /// The wait after `failures` failed attempts (1 for the first): `initialBackoff · 2^(failures-1)`, capped at
    /// `maxBackoff`, of which the upper half is scaled by `jitter` (0…1) so receivers that come back are not
    /// hit by every queued delivery at once.
    public func backoff(afterFailures failures: Int, jitter: Double) -> Duration {
        let initial = initialBackoff.inSeconds, cap = max(maxBackoff.inSeconds, initial)
        let exponent = Double(min(max(failures, 1) - 1, 62))
        let full = min(initial * pow(2, exponent), cap)
        let wait = full / 2 + full / 2 * min(max(jitter, 0), 1)
        return .milliseconds(Int64((wait * 1000).rounded()))
    }
}

/// Sends queued webhook deliveries: picks those due, POSTs each with its signature, records every attempt,
/// and schedules retries with exponential backoff until the policy's attempt limit.
///
/// Every instance on the database runs one: deliveries are claimed (`QueueClaiming.claimDueWebhookDeliveries`,
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL), so each attempt is made by one worker, and an attempt is recorded
/// only under the claim it was made under. A worker that dies mid-send leaves its deliveries claimed until the
/// lease (the timeout plus a minute) ends; another worker then sends them again, so a receiver may see such a
/// delivery twice (at least once; the `X-Portcullis-Delivery` id tells the copies apart).
///
/// Threading: `start`/`stop`/`wake` may be called from any task. Sending goes through `HTTPFetching` (whose
/// implementations keep blocking I/O off the cooperative pool) and the store; the loop itself only awaits.
/// Pruning is a singleton job: `prunesHere` is asked before it (see `JobPlacement` in ServerApp).
public final class WebhookWorker: Sendable {
    private let store: any Store
    private let client: any HTTPFetching
    private let policy: WebhookDeliveryPolicy
    private let logger: Logger
    private let prunesHere: @Sendable () async -> Bool
    private let holder: String
    private let now: @Sendable () -> Date
    private let jitter: @Sendable () -> Double
    private let sealer: WebhookSecretSealer
    private let signal = WakeSignal()
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Creates a worker; nothing is sent before `start()` or `deliverDue()`. `sealer` opens the stored secrets and
    /// header values; `holder` names the worker in claims (unique per worker and process start; the default is).
    public init(
        store: any Store, client: any HTTPFetching, sealer: WebhookSecretSealer,
        policy: WebhookDeliveryPolicy = WebhookDeliveryPolicy(),
        logger: Logger, prunesHere: @escaping @Sendable () async -> Bool = { true }, holder: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.store = store
        self.client = client
        self.policy = policy
        self.logger = logger
        self.prunesHere = prunesHere
        self.holder = holder ?? "webhooks/\(getpid())/" + UUID().uuidString.prefix(8).lowercased()
        self.now = now
        self.jitter = jitter
        self.sealer = sealer
    }

    /// Tells the loop that deliveries were queued, so it looks now instead of at the next poll.
    public func wake() { signal.signal() }

    /// Starts the delivery loop in its own task (a no-op when it runs already).
    public func start() {
        task.withLock { running in
            guard running == nil else { return }
            running = Task { [self] in await loop() }
        }
    }

    /// Stops the loop and waits for attempts in progress to be recorded.
    public func stop() async {
        guard
            let running = task.withLock({ running in
                defer { running = nil }; return running
            })
        else { return }
        running.cancel()
        await running.value
    }

    /// Claims every delivery due now (in batches of `concurrency`), sends them, and records the attempts;
    /// returns how many attempts were made. Throws only when the store fails.
    @discardableResult
    public func deliverDue() async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let batch = try await claimBatch()
            if batch.isEmpty { break }
            await withTaskGroup(of: Void.self) { group in
                for claimed in batch { group.addTask { await self.attempt(claimed) } }
            }
            total += batch.count
        }
        return total
    }

    private func loop() async {
        // Claiming writes (on SQLite it takes the one write lock), so an idle poll only reads; a wake-up (or the
        // first pass, for what was queued before a restart) claims straight away, because the waking transaction
        // may not be committed yet where a reader would look.
        var woken = true
        var lastPrune: Date?
        while !Task.isCancelled {
            if lastPrune.map({ now().timeIntervalSince($0) >= 3600 }) ?? true, await prunesHere() {
                lastPrune = now()
                await prune()
            }
            var due = woken
            if !due, let next = try? await store.read({ try $0.nextWebhookDeliveryTime() }) {
                due = next <= now()
            }
            if due {
                do { try await deliverDue() } catch {
                    logger.warning("webhook deliveries could not be claimed", ["error": "\(error)"])
                }
            }
            if Task.isCancelled { return }
            var wait = policy.pollInterval
            if let next = try? await store.read({ try $0.nextWebhookDeliveryTime() }) {
                let milliseconds = Int64(max(0, next.timeIntervalSince(now())) * 1000) + 1
                wait = min(wait, .milliseconds(milliseconds))
            }
            woken = await signal.wait(upTo: wait)
        }
    }

    /// Deletes finished deliveries older than the retention; returns how many went.
    @discardableResult
    public func prune() async -> Int {
        guard let retention = policy.retention else { return 0 }
        let cutoff = now().addingTimeInterval(-retention.inSeconds)
        do {
            let pruned = try await store.write { try $0.pruneWebhookDeliveries(finishedBefore: cutoff) }
            if pruned > 0 { logger.info("old webhook deliveries pruned", ["count": String(pruned)]) }
            return pruned
        } catch {
            logger.warning("old webhook deliveries not pruned", ["error": "\(error)"])
            return 0
        }
    }

    /// A claim transaction, not a read: it moves the claimed deliveries' next attempt to a lease under this
    /// worker's name, and it sees every committed queuing transaction (see `WebhookDispatcher`).
    private func claimBatch() async throws -> [ClaimedWebhookDelivery] {
        let time = now()
        let lease = time.addingTimeInterval(policy.timeout.inSeconds + 60)
        let (limit, holder) = (max(1, policy.concurrency), holder)
        return try await store.claim {
            try $0.claimDueWebhookDeliveries(at: time, limit: limit, holder: holder, leaseUntil: lease)
        }
    }

    private func attempt(_ claimed: ClaimedWebhookDelivery) async {
        let delivery = claimed.delivery
        let webhook: Webhook
        do {
            webhook = try sealer.opened(claimed.webhook)
        } catch {
            // Retrying cannot help until the key is fixed: fail now with the reason (redeliver afterwards).
            await record(
                WebhookAttemptResult(
                    deliveryID: delivery.id, attemptedAt: now(), status: nil, latencyMilliseconds: 0,
                    responseExcerpt: nil, error: error.description, newState: .failed, nextAttemptAt: nil),
                claimed: claimed, webhook: claimed.webhook)
            return
        }
        let body = Array(delivery.body.utf8)
        var headers = webhook.headers.map { (name: $0.name, value: $0.value) }
        headers += [
            (name: "Content-Type", value: delivery.contentType),
            (name: WebhookSignature.headerName, value: WebhookSignature.header(for: body, secret: webhook.secret)),
            (name: WebhookSignature.deliveryHeaderName, value: delivery.id.description),
            (name: WebhookSignature.eventHeaderName, value: delivery.event.rawValue),
        ]
        let request = OutboundRequest(
            method: .post, url: webhook.url, headers: headers, body: body, timeout: policy.timeout,
            maxResponseBytes: 1 << 20, followRedirects: false)
        let attemptedAt = now()
        let clock = ContinuousClock()
        let started = clock.now
        var status: Int?
        var excerpt: String?
        var failure: String?
        do {
            let response = try await client.send(request)
            status = response.status
            excerpt = Self.excerpt(of: response.body, limit: policy.responseExcerptBytes)
            if !(200...299).contains(response.status) { failure = "the receiver answered \(response.status)" }
        } catch let error as HTTPClientError {
            failure = error.description
        } catch {
            failure = "\(error)"
        }
        let elapsed = started.duration(to: clock.now)
        let latency = Int(elapsed.inSeconds * 1000)
        let attempts = delivery.attempts + 1
        let state: WebhookDeliveryState
        var nextAttemptAt: Date?
        if failure == nil {
            state = .delivered
        } else if attempts >= policy.maxAttempts {
            state = .failed
        } else {
            state = .retrying
            let wait = policy.backoff(afterFailures: attempts, jitter: jitter())
            nextAttemptAt = now().addingTimeInterval(wait.inSeconds)
        }
        let result = WebhookAttemptResult(
            deliveryID: delivery.id, attemptedAt: attemptedAt, status: status, latencyMilliseconds: latency,
            responseExcerpt: excerpt, error: failure, newState: state, nextAttemptAt: nextAttemptAt)
        await record(result, claimed: claimed, webhook: webhook)
    }

    /// Records one attempt's result and logs it.
    private func record(_ result: WebhookAttemptResult, claimed: ClaimedWebhookDelivery, webhook: Webhook) async {
        let (delivery, claim) = (claimed.delivery, claimed.claim)
        let attempts = delivery.attempts + 1, state = result.newState, latency = result.latencyMilliseconds
        let status = result.status, failure = result.error
        do {
            guard try await store.write({ try $0.recordWebhookAttempt(result, under: claim) }) != nil else {
                // The webhook was deleted while its delivery was in flight, or this worker's lease lapsed and
                // another one claimed the delivery again (it sends and records its own attempt).
                logger.notice(
                    "webhook attempt not recorded: the delivery is no longer this worker's",
                    ["delivery": delivery.id.description, "holder": claim.holder])
                return
            }
        } catch {
            logger.warning(
                "webhook attempt not recorded", ["delivery": delivery.id.description, "error": "\(error)"])
            return
        }
        var fields = [
            "delivery": delivery.id.description, "webhook": webhook.id.description, "attempt": String(attempts),
            "state": state.rawValue, "latency_ms": String(latency),
        ]
        if let status { fields["status"] = String(status) }
        if let failure { fields["error"] = failure }
        if state == .delivered {
            logger.info("webhook delivered", fields)
        } else {
            logger.warning(state == .failed ? "webhook delivery failed" : "webhook attempt failed", fields)
        }
    }

    /// At most `limit` bytes of `body` as text, cut at a character boundary.
    static func excerpt(of body: [UInt8], limit: Int) -> String? {
        guard !body.isEmpty, limit > 0 else { return nil }
        var text = String(decoding: body.prefix(limit), as: UTF8.self)
        // A multi-byte character cut in two decodes as U+FFFD at the end; drop it rather than invent it.
        if body.count > limit, text.unicodeScalars.last == "\u{FFFD}" { text.unicodeScalars.removeLast() }
        return text
    }
}
