import Foundation

/// The fencing token of one claim on a queued item (a registry event, a webhook delivery): who claimed it and
/// the item's claim count at that moment, which grows by one at every claim. Work finished under a claim is
/// recorded only while the item still carries this exact token, so an instance that paused past its lease and
/// lost the item to another one records nothing.
public struct QueueClaim: Sendable, Hashable {
    /// The claiming worker (one name per worker per process, so two never share one).
    public var holder: String
    /// The item's claim count after this claim (1 for the first).
    public var number: Int64

    /// Creates a token (normally only a store does this).
    public init(holder: String, number: Int64) {
        self.holder = holder
        self.number = number
    }
}

/// A registry event a worker claimed, with the token its outcome is recorded under.
public struct ClaimedRegistryEvent: Sendable, Hashable {
    /// The event, still `pending`.
    public var event: RegistryEvent
    /// The claim's fencing token.
    public var claim: QueueClaim

    /// Pairs an event with its claim.
    public init(event: RegistryEvent, claim: QueueClaim) {
        self.event = event
        self.claim = claim
    }
}

/// Taking work from the shared queues (registry events, webhook deliveries) so that every worker of every
/// instance can drain them and no item is handed to two workers at once.
///
/// Contract: each method is one atomic step. On PostgreSQL it runs inside `Store.claim`, a transaction that
/// does not take the writers' lock, and locks the rows it takes with `FOR UPDATE SKIP LOCKED`: concurrent
/// claimers pass over each other's rows instead of queueing behind one another, and a claimer never waits for
/// anything, so it cannot deadlock with a writer. On SQLite it runs in a write transaction (the one writer
/// does the same). Times are the caller's (`now`), so the rules are tested by moving a clock; instances need
/// clocks within a small part of the lease of each other.
public protocol QueueClaiming {
    /// Claims up to `limit` pending registry events for `holder` until `leaseUntil`, oldest first: those never
    /// claimed, those whose claim expired at `now` (a dead instance's), and `holder`'s own (a pass that stopped
    /// on a database error). Only the oldest pending event of each repository (per registry) is claimable:
    /// events of one repository are applied one at a time in the order received, whichever instance applies
    /// them, so at most one event per repository is handed out by one claim. Returns them oldest first.
    func claimRegistryEvents(limit: Int, holder: String, leaseUntil: Date, at now: Date) throws
        -> [ClaimedRegistryEvent]

    /// Claims up to `limit` outstanding deliveries of enabled webhooks that are due at `date`, oldest due first,
    /// for `holder`, and moves their next attempt to `leaseUntil`: no other worker takes them before then, and
    /// a worker that dies mid-send leaves them to be sent again then rather than lost (at least once).
    func claimDueWebhookDeliveries(at date: Date, limit: Int, holder: String, leaseUntil: Date) throws
        -> [ClaimedWebhookDelivery]
}

/// Recording the outcome of claimed work, inside the write transaction that did the work.
public protocol QueueFinishing {
    /// Moves a claimed registry event to its outcome (`processed`, `ignored`, `failed`), counting the attempt,
    /// when it still carries `claim`; false, changing nothing, when it was claimed again meanwhile (its lease
    /// expired and another worker took it) or no longer exists. The caller then rolls back what it did for the
    /// event: the other worker applies it. An expired claim nobody took over still counts as held.
    func finishRegistryEvent(
        _ eventID: RegistryEvent.ID, under claim: QueueClaim, state: RegistryEventState, error: String?
    ) throws -> Bool

    /// Appends an attempt to a claimed delivery's log and moves the delivery to the attempt's outcome, when it
    /// still carries `claim`; returns the delivery, or nil, recording nothing, when it was claimed again
    /// meanwhile or deleted (with its webhook).
    func recordWebhookAttempt(_ result: WebhookAttemptResult, under claim: QueueClaim) throws -> WebhookDelivery?
}

extension StoreWriting {
    /// Stores a registry notification that names no repository (a payload that cannot be read): it is
    /// ordered with every other such event of its registry (see `recordRegistryEvent(eventID:registry:repository:payload:)`).
    public func recordRegistryEvent(eventID: String, registry: String, payload: String) throws
        -> RegistryEventInsertion
    {
        try recordRegistryEvent(eventID: eventID, registry: registry, repository: "", payload: payload)
    }
}

extension Store {
    /// Runs `body` in a transaction for claiming queued work (see `QueueClaiming`). This default is a plain
    /// `write`, right for a backend whose writes never wait on each other across instances for long (SQLite's
    /// single writer); PostgreSQL overrides it with a transaction outside the cluster-wide writers' lock.
    public func claim<T: Sendable>(_ body: @escaping @Sendable (any QueueClaiming) throws -> T) async throws -> T {
        try await write { try body($0) }
    }
}
