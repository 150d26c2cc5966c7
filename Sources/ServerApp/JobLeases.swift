import Diagnostics
import Foundation
import Storage
import Synchronization

/// Who this process is in lease rows: the host, the process id and a suffix new at every start, so a
/// restarted process (which may get the same pid in a container) is a new holder.
enum LeaseHolder {
    /// `kind@host/pid/suffix` for a holder of `kind` (`serve` for an instance, `run` for one sync run).
    static func forThisProcess(_ kind: String) -> String {
        // gethostname, not ProcessInfo.hostName, which may ask DNS and wait on a broken resolver.
        var buffer = [CChar](repeating: 0, count: 256)
        let named = gethostname(&buffer, buffer.count - 1) == 0
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let host = named && !bytes.isEmpty ? String(decoding: bytes, as: UTF8.self).prefix(100) : "unknown"
        let suffix = UUID().uuidString.prefix(8).lowercased()
        return "\(kind)@\(host)/\(getpid())/\(suffix)"
    }
}

/// Places singleton jobs on the instance holding their lease in the store (`Lease`), so that several
/// `portcullis serve` processes on one database run each periodic job once per tick between them.
///
/// How: every job name asked about is taken when free and then renewed every third of `duration` by one
/// loop, so leadership sticks to one instance while it lives; the same loop on the other instances tries
/// the jobs they do not hold, so when the holder dies (or cannot reach the database) another instance takes
/// its leases within `duration` plus one renewal period, and at once after a holder stopped and gave them up. A job's
/// tick runs only after `claimsRun` recorded it in the lease row under this instance's epoch (the fence),
/// at least `runSpacing` of the interval after the previous run by any holder, so a change of holder does
/// not run a tick twice.
///
/// The clock is injected (`now`): the rules are tested by moving it, never by waiting.
final class JobLeases: JobPlacement {
    /// This instance's holder name in lease rows.
    let holder: String
    /// How long a lease lasts without renewal.
    let duration: Duration
    /// The part of a job's interval that must pass between two runs, whoever runs them (0.8: a tick that
    /// comes a little early after a change of holder still runs, a second run in the same tick does not).
    static let runSpacing = 0.8

    private let store: any Store
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// The last row seen for every job asked about: held by us, by another instance, or free.
    private let known = Mutex<[String: Lease?]>([:])
    private let loop = Mutex<Task<Void, Never>?>(nil)

    init(
        store: any Store, holder: String, duration: Duration, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.store = store
        self.holder = holder
        self.duration = duration
        self.now = now
        self.logger = logger
    }

    private var seconds: TimeInterval { Self.seconds(duration) }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let parts = duration.components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }

    func runsHere(_ job: String) async -> Bool {
        let at = now()
        let last = known.withLock { known -> Lease?? in known[job] }
        switch last {
        case .some(.some(let lease)) where lease.holder == holder && lease.expiresAt > at:
            return true
        case .some(.some(let lease)) where lease.holder != holder && lease.isLive(at: at):
            return false  // Another instance holds it; the renewal loop notices when it lapses.
        default:
            return await acquire(job, at: at) != nil
        }
    }

    func claimsRun(of job: String, every interval: Duration) async -> Bool {
        guard await runsHere(job), let lease = heldLease(job) else { return false }
        let spacing = Self.seconds(interval) * Self.runSpacing
        let holder = holder
        let at = now()
        do {
            return try await store.write {
                try $0.claimLeasedRun(job, holder: holder, epoch: lease.epoch, spacing: spacing, at: at)
            }
        } catch {
            logger.warning("job run not claimed", ["job": job, "error": "\(error)"])
            return false
        }
    }

    /// The lease this instance holds on `job` now, if any.
    func heldLease(_ job: String) -> Lease? {
        let at = now()
        return known.withLock { known in
            guard case .some(.some(let lease)) = known[job], lease.isHeld(by: holder, at: at) else { return nil }
            return lease
        }
    }

    /// Every lease this instance holds now, by name (what `/readyz` shows).
    func heldLeases() -> [Lease] {
        let at = now()
        return known.withLock { known in
            known.values.compactMap { $0 }.filter { $0.isHeld(by: holder, at: at) }.sorted { $0.name < $1.name }
        }
    }

    /// One round of the loop: renews every lease held and tries every other job asked about (one taken
    /// over after its holder died or gave it up is noticed here, within one round).
    func renew() async {
        let at = now()
        let names = known.withLock { $0.keys.sorted() }
        guard !names.isEmpty else { return }
        _ = await acquire(names, at: at)
    }

    /// Starts renewing every third of the lease duration until `stop()`.
    func start() {
        let period = duration / 3
        let started = Task { [self] in
            while (try? await Task.sleep(for: period)) != nil, !Task.isCancelled { await renew() }
        }
        loop.withLock { $0 = started }
    }

    /// Stops renewing and gives every held lease up, so another instance takes the jobs over at once.
    func stop() async {
        if let running = loop.withLock({ task in
            defer { task = nil }; return task
        }) {
            running.cancel()
            await running.value
        }
        let held = heldLeases()
        let holder = holder
        let at = now()
        for lease in held {
            _ = try? await store.write { try $0.releaseLease(lease.name, holder: holder, epoch: lease.epoch, at: at) }
        }
        known.withLock { $0 = [:] }
    }

    /// Takes or renews `job`'s lease; on a database failure this instance stops counting itself the holder
    /// (its jobs pause: better no run than two).
    private func acquire(_ job: String, at: Date) async -> Lease? {
        await acquire([job], at: at)[job]
    }

    /// Takes or renews the leases of `jobs` in one write transaction (one round of the loop is one write,
    /// whatever the number of jobs); the leases taken, by name.
    private func acquire(_ jobs: [String], at: Date) async -> [String: Lease] {
        let holder = holder
        let seconds = seconds
        let rows: [(job: String, taken: Lease?, row: Lease?)]
        do {
            rows = try await store.write { writer in
                try jobs.map { job in
                    let taken = try writer.acquireLease(job, holder: holder, for: seconds, at: at)
                    return (job, taken, try taken ?? writer.lease(named: job))
                }
            }
        } catch {
            logger.warning("job leases not renewed", ["jobs": jobs.joined(separator: ","), "error": "\(error)"])
            known.withLock { known in
                for job in jobs {
                    if case .some(.some(let lease)) = known[job], lease.holder == holder { known[job] = .some(nil) }
                }
            }
            return [:]
        }
        var taken: [String: Lease] = [:]
        for (job, lease, row) in rows {
            let previous = known.withLock { known -> Lease? in
                defer { known[job] = .some(row) }
                return known[job] ?? nil
            }
            if let lease {
                taken[job] = lease
                if previous?.holder != holder || previous?.epoch != lease.epoch {
                    logger.info("job lease taken", ["job": job, "epoch": String(lease.epoch), "holder": holder])
                }
            } else if previous?.holder == holder {
                logger.warning("job lease lost to another instance", ["job": job, "holder": row?.holder ?? ""])
            }
        }
        return taken
    }
}

/// A lease held only while one piece of work runs (a catalog sync started by `serve`'s timer, the API or
/// `registry sync` on the command line): mutual exclusion across processes on one database, renewed while
/// the work runs and given up when it ends. What the `flock` beside the SQLite file did, on any backend.
enum ExclusiveLease {
    /// How long the lease lasts without renewal: a process killed mid-run frees it after this.
    static let duration: Duration = .seconds(30)

    /// Takes `name` for a holder new to this run (two runs in one process exclude each other too), or nil
    /// when another run holds it.
    static func take(_ name: String, store: any Store, now: Date = Date()) async throws -> Lease? {
        let seconds = JobLeases.seconds(duration)
        let holder = LeaseHolder.forThisProcess("run")
        return try await store.write { try $0.acquireLease(name, holder: holder, for: seconds, at: now) }
    }

    /// Runs `body` holding `lease` (from `take`), renewing it meanwhile, and gives it up after. `body` gets
    /// the fence to run first in its write transactions (`StoreWriting.requireLease`): if the lease was lost
    /// meanwhile (renewals failed past its expiry and another run took it), the write is refused.
    static func run<T: Sendable>(
        holding lease: Lease, store: any Store,
        _ body: @Sendable (_ fence: @escaping @Sendable (any StoreWriting) throws -> Void) async throws -> T
    ) async throws -> T {
        let seconds = JobLeases.seconds(duration)
        let renewer = Task {
            while (try? await Task.sleep(for: duration / 3)) != nil, !Task.isCancelled {
                _ = try? await store.write {
                    try $0.acquireLease(lease.name, holder: lease.holder, for: seconds, at: Date())
                }
            }
        }
        defer { renewer.cancel() }
        let fence: @Sendable (any StoreWriting) throws -> Void = { writer in
            try writer.requireLease(lease.name, holder: lease.holder, epoch: lease.epoch, at: Date())
        }
        let result: T
        do { result = try await body(fence) } catch {
            await release(lease, store: store)
            throw error
        }
        await release(lease, store: store)
        return result
    }

    /// Takes `name` and runs `body` under it; nil without running when another holder has it.
    static func withLease<T: Sendable>(
        _ name: String, store: any Store,
        _ body: @Sendable (_ fence: @escaping @Sendable (any StoreWriting) throws -> Void) async throws -> T
    ) async throws -> T? {
        guard let lease = try await take(name, store: store) else { return nil }
        return try await run(holding: lease, store: store, body)
    }

    static func release(_ lease: Lease, store: any Store) async {
        _ = try? await store.write {
            try $0.releaseLease(lease.name, holder: lease.holder, epoch: lease.epoch, at: Date())
        }
    }

    /// The name of the lease a catalog sync of `registry` runs under.
    static func catalogSync(_ registry: String) -> String { "registry-sync:\(registry)" }
}
