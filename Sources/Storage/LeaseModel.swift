import Foundation

/// A named lease on a singleton job, held by one instance until it expires or is released.
///
/// Several Portcullis instances share one database; a job that must run on one of them at a time (the
/// catalog sync, LDAP group sync, identity revalidation, pruning) runs on the instance holding its lease.
/// The `epoch` is a fencing token: it grows by one every time the lease changes holder, never on a renewal,
/// so a write fenced with the epoch it was started under is refused once another instance took the lease
/// over (an instance that paused past its lease cannot overwrite its successor's work).
public struct Lease: Sendable, Hashable {
    /// The job's name (`catalog-sync:local`).
    public var name: String
    /// The instance holding it (see `LeaseHolder`), or the one that last held it when expired.
    public var holder: String
    /// The fencing token: 1 for the first holder, one more at every change of holder.
    public var epoch: Int64
    /// Since when the current holder holds it (unchanged by renewals).
    public var acquiredAt: Date
    /// Until when it is held unless renewed.
    public var expiresAt: Date
    /// When the job last ran under this lease's name (any holder), if ever: a periodic job runs once per tick
    /// across instances, even when the lease changed hands in between.
    public var lastRunAt: Date?

    /// Creates a lease value.
    public init(
        name: String, holder: String, epoch: Int64, acquiredAt: Date, expiresAt: Date, lastRunAt: Date? = nil
    ) {
        self.name = name
        self.holder = holder
        self.epoch = epoch
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.lastRunAt = lastRunAt
    }

    /// Whether the lease is still held at `now` (by anyone).
    public func isLive(at now: Date) -> Bool { expiresAt > now }

    /// Whether `holder` holds it at `now`.
    public func isHeld(by holder: String, at now: Date) -> Bool { self.holder == holder && isLive(at: now) }
}

/// Reading leases, valid inside one `Store.read`/`Store.write` closure.
public protocol LeaseReading {
    /// The lease with this name, live or expired, if it was ever taken.
    func lease(named name: String) throws -> Lease?
    /// Every lease ever taken, live or expired, ordered by name.
    func allLeases() throws -> [Lease]
}

/// Taking, renewing and giving up leases, valid inside one `Store.write` closure.
///
/// Contract: every method is one atomic step of the write transaction it runs in, so two instances racing
/// for a free lease cannot both win (the store serializes writes: SQLite's write lock across processes,
/// a row lock in PostgreSQL). Times are the caller's (`now`), so the rules are tested with an injected
/// clock; instances sharing a database need clocks within a small part of the lease duration of each other.
public protocol LeaseWriting: LeaseReading {
    /// Takes the lease for `holder` until `now + duration` when it is free, expired or already `holder`'s
    /// (a renewal, which keeps the epoch); the epoch grows by one when the holder changes. Nil, changing
    /// nothing, while another holder's lease is live. `duration` must be positive; names are 1 to 200 bytes.
    func acquireLease(_ name: String, holder: String, for duration: TimeInterval, at now: Date) throws -> Lease?

    /// Gives the lease up (it expires now) when `holder` still holds it under `epoch`; false otherwise.
    /// The epoch is kept, so the next holder gets a greater one.
    func releaseLease(_ name: String, holder: String, epoch: Int64, at now: Date) throws -> Bool

    /// Records a periodic run of the job (`lastRunAt = now`) when `holder` holds the lease under `epoch` at
    /// `now` (the fence) and the last run is at least `spacing` ago; false, recording nothing, otherwise:
    /// the run must not happen. This is what makes a tick run once across instances and leader changes.
    func claimLeasedRun(_ name: String, holder: String, epoch: Int64, spacing: TimeInterval, at now: Date) throws
        -> Bool
}

extension LeaseReading {
    /// Throws `.conflict` unless `holder` holds the lease `name` under `epoch` at `now`: the fence a job's
    /// write transaction runs first, so work begun under a lease since taken over writes nothing.
    public func requireLease(_ name: String, holder: String, epoch: Int64, at now: Date) throws {
        guard let lease = try lease(named: name), lease.epoch == epoch, lease.isHeld(by: holder, at: now) else {
            throw StoreError(.conflict, "the lease \(name) is no longer held under epoch \(epoch)", subject: name)
        }
    }
}

/// One client address's window of failed password logins, counted across every instance on the database.
public struct GuessingWindow: Sendable, Hashable {
    /// The client address (after trusted-proxy resolution).
    public var clientAddress: String
    /// When the window began (the first failure of it).
    public var start: Date
    /// Failed logins from the address in the window, on every instance.
    public var failures: Int

    /// Creates a window value.
    public init(clientAddress: String, start: Date, failures: Int) {
        self.clientAddress = clientAddress
        self.start = start
        self.failures = failures
    }
}

/// Counting failed password logins per client address in the store, so that several instances behind a
/// load balancer share one allowance instead of each granting its own.
public protocol GuessingWindowWriting {
    /// Adds one failure from `clientAddress` to its running window (one that began less than `window`
    /// before `now`), or starts a new window at `now` with this failure; returns the window as it now is.
    /// Windows ended before `now` are deleted on the way, so the table holds only running ones.
    func countGuessingFailure(from clientAddress: String, window: TimeInterval, at now: Date) throws -> GuessingWindow
}
