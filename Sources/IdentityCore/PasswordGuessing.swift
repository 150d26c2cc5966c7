import Foundation
import Synchronization

/// How much password guessing the chain allows one client address, whichever provider the names belong to.
///
/// Failures (wrong passwords, unknown names, locked or disabled accounts, refused application tokens) count
/// in fixed windows; an address past `failures` in the running window is refused until the window ends. At
/// most `concurrentChecks` password checks of one address run at a time; more are refused at once, before
/// any provider does work.
public struct GuessingLimits: Sendable, Hashable {
    /// Failed password logins one client address may make per window (0: no limit). Default 30.
    public var failures: Int
    /// The window. Default 1 minute.
    public var window: TimeInterval
    /// Password checks of one client address that may run at once (0: no limit). Default 4.
    public var concurrentChecks: Int

    /// Creates limits; the defaults are the ones documented on each property.
    public init(failures: Int = 30, window: TimeInterval = 60, concurrentChecks: Int = 4) {
        self.failures = failures
        self.window = window
        self.concurrentChecks = concurrentChecks
    }
}

/// Why the chain refused to check a password from an address.
public struct Throttling: Sendable, Hashable {
    /// What the address exceeded.
    public enum Cause: String, Sendable, Hashable {
        /// Too many failed logins within the window.
        case failures
        /// Too many password checks in progress at once.
        case concurrency
    }

    /// What the address exceeded.
    public var cause: Cause
    /// Seconds the client should wait before trying again (at least 1).
    public var retryAfterSeconds: Int
    /// Whether this is the first refusal of its kind for the address in the running window: only that one
    /// is audited, so a flood of refused attempts cannot flood the audit log.
    public var isFirstInWindow: Bool

    /// Creates a throttling verdict.
    public init(cause: Cause, retryAfterSeconds: Int, isFirstInWindow: Bool) {
        self.cause = cause
        self.retryAfterSeconds = retryAfterSeconds
        self.isFirstInWindow = isFirstInWindow
    }
}

/// Where failed password logins per client address are counted across every instance sharing a database.
///
/// Contract: `countFailure` adds one failure from `address` to its running window (one begun less than
/// `window` before `now`), or begins a new one at `now`, atomically across instances, and returns the
/// window's start and its failures counted by every instance. It may throw when the database is away; the
/// throttle then keeps counting in memory only.
public protocol GuessingLedger: Sendable {
    /// Counts one failure and returns the shared window (start, failures).
    func countFailure(from address: String, window: TimeInterval, now: Date) async throws -> (
        start: Date, failures: Int
    )
}

/// Counts failed password logins and running checks per client address for the password chain.
///
/// Refusing costs nothing: the checks read memory only (no database work per guess, and none on the token
/// endpoint's cached path). With a `ledger`, every failure is also counted in the store and the answer,
/// the address's failures on every instance, is adopted here: behind a load balancer with N instances an
/// address gets one allowance between them (give or take one failure per other instance before each
/// learns of the total), not N. The concurrency limit stays per process: it bounds this process's work.
///
/// Memory is bounded: past `capacity` addresses, finished windows are dropped, and if every window is still
/// running the table is emptied (an attacker with that many addresses is not slowed by a per-address limit
/// anyway; lockout still protects each account).
///
/// Threading: safe from any task; each call holds a lock for one dictionary access.
public final class GuessingThrottle: Sendable {
    private struct Window {
        var start: Date
        var failures: Int
        var failureRefusalAnnounced = false
        var concurrencyRefusalAnnounced = false
    }

    private struct State {
        var windows: [String: Window] = [:]
        var running: [String: Int] = [:]
    }

    /// The limits in force.
    public let limits: GuessingLimits
    /// Where failures are counted across instances, if anywhere.
    public let ledger: (any GuessingLedger)?
    private let capacity: Int
    private let state = Mutex(State())

    /// A throttle enforcing `limits`, remembering at most `capacity` addresses' windows, sharing its failure
    /// counts through `ledger` when given.
    public init(limits: GuessingLimits, capacity: Int = 100_000, ledger: (any GuessingLedger)? = nil) {
        self.limits = limits
        self.capacity = capacity
        self.ledger = ledger
    }

    /// Admits one password check from `address` (which the caller must end with `finishCheck(from:)`), or
    /// says why not; a refused check needs no `finishCheck`.
    public func beginCheck(from address: String, now: Date) -> Throttling? {
        state.withLock { state in
            if let refusal = failureRefusal(&state, address, now: now, noting: true) { return refusal }
            let running = state.running[address, default: 0]
            if limits.concurrentChecks > 0 && running >= limits.concurrentChecks {
                var window = liveWindow(&state, address, now: now)
                let isFirst = !window.concurrencyRefusalAnnounced
                window.concurrencyRefusalAnnounced = true
                state.windows[address] = window
                return Throttling(cause: .concurrency, retryAfterSeconds: 1, isFirstInWindow: isFirst)
            }
            state.running[address] = running + 1
            return nil
        }
    }

    /// Why `address` may not have a check now for its failures, or nil; unlike `beginCheck(from:now:)` it takes
    /// no concurrent-check slot (for checks too cheap to need the bound) and needs no `finishCheck`.
    public func failureRefusal(of address: String, now: Date) -> Throttling? {
        state.withLock { state in failureRefusal(&state, address, now: now, noting: true) }
    }

    /// Ends a check `beginCheck(from:now:)` admitted.
    public func finishCheck(from address: String) {
        state.withLock { state in
            let running = state.running[address, default: 0] - 1
            state.running[address] = running > 0 ? running : nil
        }
    }

    /// Whether `beginCheck` would refuse `address` for its failures now, without noting a refusal (so the
    /// one audited refusal of a window stays `beginCheck`'s to announce).
    public func isRefusing(_ address: String, now: Date) -> Bool {
        state.withLock { state in failureRefusal(&state, address, now: now, noting: false) != nil }
    }

    /// Counts one failed login from `address`.
    public func recordFailure(from address: String, now: Date) {
        guard limits.failures > 0 else { return }
        state.withLock { state in
            var window = liveWindow(&state, address, now: now)
            window.failures += 1
            state.windows[address] = window
        }
    }

    /// Counts one failed login from `address` here and in the ledger, then adopts the ledger's count when it
    /// is higher (failures made on other instances); a ledger failure leaves the local count alone.
    public func recordSharedFailure(from address: String, now: Date) async {
        recordFailure(from: address, now: now)
        guard limits.failures > 0, let ledger else { return }
        guard let shared = try? await ledger.countFailure(from: address, window: limits.window, now: now) else {
            return
        }
        state.withLock { state in
            var window = liveWindow(&state, address, now: now)
            if shared.failures > window.failures {
                window.failures = shared.failures
                // The shared window began earlier: the refusal ends when it ends, on every instance alike.
                window.start = min(window.start, shared.start)
            }
            state.windows[address] = window
        }
    }

    /// Checks of `address` running now (for tests and metrics).
    public func runningChecks(from address: String) -> Int {
        state.withLock { $0.running[address, default: 0] }
    }

    private func failureRefusal(_ state: inout State, _ address: String, now: Date, noting: Bool) -> Throttling? {
        guard limits.failures > 0, var window = state.windows[address] else { return nil }
        let end = window.start.addingTimeInterval(limits.window)
        guard end > now else {
            state.windows[address] = nil
            return nil
        }
        guard window.failures >= limits.failures else { return nil }
        let isFirst = !window.failureRefusalAnnounced
        if noting && isFirst {
            window.failureRefusalAnnounced = true
            state.windows[address] = window
        }
        return Throttling(
            cause: .failures, retryAfterSeconds: max(1, Int(end.timeIntervalSince(now).rounded(.up))),
            isFirstInWindow: isFirst)
    }

    /// The running window of `address`, or a fresh one starting now (room made if the table is full).
    private func liveWindow(_ state: inout State, _ address: String, now: Date) -> Window {
        if let current = state.windows[address], current.start.addingTimeInterval(limits.window) > now {
            return current
        }
        if state.windows[address] == nil && state.windows.count >= capacity {
            let window = limits.window
            state.windows = state.windows.filter { $0.value.start.addingTimeInterval(window) > now }
            if state.windows.count >= capacity { state.windows.removeAll(keepingCapacity: true) }
        }
        return Window(start: now, failures: 0)
    }
}
