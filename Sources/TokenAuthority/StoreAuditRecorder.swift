import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization

/// Writes audit events to the store in group commits, folding repeated identical token issuances into one
/// line; a failed write is counted, logged (rate limited) and reported by `health`, never thrown.
///
/// Auditing never fails the request it describes (the `AuditRecording` contract) unless the recorder
/// waits for commits and the caller asks (`recordConfirmingStorage`). Events that arrive while a
/// transaction is being written share the next one, so a burst of token requests costs a few
/// transactions, not one each.
///
/// Coalescing: a successful `token.issue` event identical to one recorded less than `coalesceWindow` ago
/// (same actor, client address, service, provider, requested and granted scopes) is not a new line: it
/// adds one to the first event's count and moves its last time. The first event of a window is written
/// exactly as any other event, at once; the repeats are counted in memory and written as one update when
/// the window closes, on `drain()`, or (under `.waitForCommit`) with the caller's group commit. A crash can
/// therefore lose at most one window's repeat counts, never a first issuance. Denials, failures and every
/// other action are never coalesced. Safe to share.
public final class StoreAuditRecorder: AuditRecording, Sendable {
    /// When `record` returns.
    public enum Durability: Sendable, Hashable {
        /// Once the event is committed: no answer goes out before its audit event is durable.
        case waitForCommit
        /// At once, while fewer than `backlog` events wait for their commit (then the caller waits, so a
        /// slow disk shows as latency, never as unbounded memory or lost events). A crash can lose the
        /// events of the last moment; `drain()` on shutdown writes the rest.
        case queued(backlog: Int)
    }

    private let store: any Store
    private let durability: Durability
    private let coalesceWindow: Duration
    private let now: @Sendable () -> Date
    /// Whether writes succeed; `/readyz` and the metrics read it.
    public let health: AuditWriteHealth
    /// How long queued events wait for company before their transaction starts.
    static let queuedLinger = Duration.milliseconds(5)
    /// At most this many distinct issuances are coalesced at once; further distinct ones are written as
    /// plain lines, so many distinct requests cannot grow memory without bound.
    static let maximumOpenWindows = 10_000
    private let state = Mutex(GroupState())

    /// An event waiting for the next commit; `window` when it opens a coalescing window.
    private struct Pending {
        var event: NewAuditEvent
        var window: (key: NewAuditEvent, serial: UInt64)?
        var done: CheckedContinuation<Bool, Never>?
    }

    /// The stored line repeats add to: known by id, or the first event of a window not yet committed.
    private enum RowReference: Sendable {
        case stored(AuditEvent.ID)
        case firstOf(window: UInt64)
    }

    /// Repeat counts to add to a line with the next commit.
    private struct RepeatWrite {
        var row: RowReference
        var count: Int
        var lastTime: Date
        var done: CheckedContinuation<Bool, Never>?
    }

    /// An open coalescing window: the first event's line and the repeats counted since it.
    private struct Window {
        var serial: UInt64
        var ends: Date
        var rowID: AuditEvent.ID?
        var repeats = 0
        var lastTime: Date

        var reference: RowReference { rowID.map { .stored($0) } ?? .firstOf(window: serial) }
    }

    private struct GroupState: ~Copyable {
        var pending: [Pending] = []
        var repeats: [RepeatWrite] = []
        var windows: [NewAuditEvent: Window] = [:]
        var nextSerial: UInt64 = 0
        /// Ids of window-opening events committed since the last batch was taken, for repeats that were
        /// queued while their first event was being written.
        var committedFirsts: [UInt64: AuditEvent.ID] = [:]
        var flushing = false
        var ticking = false
        /// Callers of `drain()` waiting for the queue to empty.
        var drainers: [CheckedContinuation<Void, Never>] = []

        /// Queues the window's counted repeats (if any) for the next commit.
        mutating func close(_ window: Window) {
            guard window.repeats > 0 else { return }
            repeats.append(
                RepeatWrite(row: window.reference, count: window.repeats, lastTime: window.lastTime, done: nil))
        }

        /// Marks the flush loop running; true when the caller must start it.
        mutating func startFlushing() -> Bool {
            guard !flushing, !pending.isEmpty || !repeats.isEmpty else { return false }
            flushing = true
            return true
        }
    }

    /// Creates a recorder writing to `store`; `coalesceWindow` zero writes every event as its own line.
    /// Failures go to `health` (by default one logging to `logger` and counting nowhere).
    public init(
        store: any Store, logger: Logger, durability: Durability = .waitForCommit, coalesceWindow: Duration = .zero,
        health: AuditWriteHealth? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.durability = durability
        self.coalesceWindow = coalesceWindow
        self.health = health ?? AuditWriteHealth(logger: logger)
        self.now = now
    }

    /// Appends `event`; returns once it is committed, or at once when the durability allows it.
    public func record(_ event: NewAuditEvent) async {
        _ = await recordConfirmingStorage(event)
    }

    /// Appends `event` as `record` does; false when the recorder waits for commits and the event (or its
    /// repeat count) could not be stored. Queued recorders answer true: their failures show in `health`.
    public func recordConfirmingStorage(_ event: NewAuditEvent) async -> Bool {
        if case .queued(let backlog) = durability, admit(event, done: nil, unlessBacklogReaches: backlog) {
            return true
        }
        let stored = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            _ = admit(event, done: done, unlessBacklogReaches: nil)
        }
        if case .queued = durability { return true }
        return stored
    }

    /// Queues `event` when the durability is `.queued` and its backlog has room (a repeat always has room);
    /// false (nothing queued) under `.waitForCommit` or a full backlog, where `record` would make the caller wait.
    public func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool {
        guard case .queued(let backlog) = durability else { return false }
        return admit(event, done: nil, unlessBacklogReaches: backlog)
    }

    /// The key repeats of `event` share, or nil when it is never coalesced.
    private func coalescingKey(_ event: NewAuditEvent) -> NewAuditEvent? {
        guard coalesceWindow > .zero, event.outcome == .success, event.action == TokenRequestAudit.action else {
            return nil
        }
        var key = event
        key.time = nil
        return key
    }

    /// Counts `event` as a repeat of an open window, or adds it to the next group commit (opening a window
    /// when it can be coalesced); starts the flush loop and the window ticker as needed. Returns false
    /// without adding anything when it is not a repeat and `backlog` events are already waiting.
    private func admit(
        _ event: NewAuditEvent, done: CheckedContinuation<Bool, Never>?, unlessBacklogReaches backlog: Int?
    ) -> Bool {
        let time = event.time ?? now()
        var event = event
        event.time = time
        let key = coalescingKey(event)
        let ends = time.addingTimeInterval(coalesceWindow.inSeconds)
        let outcome = state.withLock { state -> (admitted: Bool, flush: Bool, tick: Bool) in
            if let key, var window = state.windows[key] {
                if time < window.ends {
                    if let done {
                        // The caller waits for its commit: its count is written with the next batch.
                        state.repeats.append(RepeatWrite(row: window.reference, count: 1, lastTime: time, done: done))
                        return (true, state.startFlushing(), false)
                    }
                    window.repeats += 1
                    if time > window.lastTime { window.lastTime = time }
                    state.windows[key] = window
                    return (true, false, false)
                }
            }
            if let backlog, state.pending.count >= backlog { return (false, false, false) }
            var opened: (key: NewAuditEvent, serial: UInt64)?
            var tick = false
            if let key {
                if let expired = state.windows.removeValue(forKey: key) { state.close(expired) }
                if state.windows.count < Self.maximumOpenWindows {
                    let serial = state.nextSerial
                    state.nextSerial += 1
                    state.windows[key] = Window(serial: serial, ends: ends, lastTime: time)
                    opened = (key, serial)
                    if !state.ticking {
                        state.ticking = true
                        tick = true
                    }
                }
            }
            state.pending.append(Pending(event: event, window: opened, done: done))
            return (true, state.startFlushing(), tick)
        }
        if outcome.flush { Task { await self.flush() } }
        if outcome.tick { Task { await self.tick() } }
        return outcome.admitted
    }

    /// Closes the windows that have ended, about once a second, until none is open.
    private func tick() async {
        let interval = min(Duration.seconds(1), coalesceWindow)
        while true {
            try? await Task.sleep(for: interval)
            let time = now()
            let (stop, flush) = state.withLock { state -> (Bool, Bool) in
                for (key, window) in state.windows where window.ends <= time {
                    state.windows[key] = nil
                    state.close(window)
                }
                let stop = state.windows.isEmpty
                if stop { state.ticking = false }
                return (stop, state.startFlushing())
            }
            if flush { Task { await self.flush() } }
            if stop { return }
        }
    }

    /// Returns once every event recorded before the call is committed (or given up on and logged), with
    /// the repeat counts of every open window (which closes them: later repeats open new lines).
    public func drain() async {
        let flush = state.withLock { state -> Bool in
            let windows = state.windows
            state.windows.removeAll()
            for window in windows.values { state.close(window) }
            return state.startFlushing()
        }
        if flush { Task { await self.flush() } }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                guard state.flushing || !state.pending.isEmpty || !state.repeats.isEmpty else { return true }
                state.drainers.append(done)
                return false
            }
            if idle { done.resume() }
        }
    }

    private func flush() async {
        while true {
            if case .queued = durability {
                // Nobody waits for these commits: gathering a few milliseconds' worth of events into one
                // transaction saves a store hop and a commit per request under load.
                try? await Task.sleep(for: Self.queuedLinger)
            }
            let (batch, repeats, committedFirsts, drainers) = state.withLock { state in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                let repeats = state.repeats
                state.repeats.removeAll()
                let committedFirsts = state.committedFirsts
                state.committedFirsts.removeAll()
                var drainers: [CheckedContinuation<Void, Never>] = []
                if batch.isEmpty && repeats.isEmpty {
                    state.flushing = false
                    swap(&drainers, &state.drainers)
                }
                return (batch, repeats, committedFirsts, drainers)
            }
            if batch.isEmpty && repeats.isEmpty {
                for drainer in drainers { drainer.resume() }
                return
            }
            let (ids, repeatsStored) = await write(batch, repeats, committedFirsts: committedFirsts)
            state.withLock { state in
                for (entry, id) in zip(batch, ids) {
                    guard let window = entry.window else { continue }
                    let current = state.windows[window.key]?.serial == window.serial
                    if let id {
                        state.committedFirsts[window.serial] = id
                        if current { state.windows[window.key]?.rowID = id }
                    } else if current {
                        // The first line is missing: the next identical issuance must write its own.
                        state.windows[window.key] = nil
                    }
                }
            }
            for (entry, id) in zip(batch, ids) { entry.done?.resume(returning: id != nil) }
            for entry in repeats { entry.done?.resume(returning: repeatsStored) }
        }
    }

    /// Writes the batch and the repeats in one transaction, or (when a constraint fails it) each event on
    /// its own and the repeats together, so one bad event (an actor deleted meanwhile) costs only itself. Returns
    /// the id of each stored event (nil for the lost) and whether the repeats were stored.
    private func write(
        _ batch: [Pending], _ repeats: [RepeatWrite], committedFirsts: [UInt64: AuditEvent.ID]
    ) async -> (ids: [AuditEvent.ID?], repeatsStored: Bool) {
        let events = batch.map(\.event)
        let positions = Dictionary(
            batch.enumerated().compactMap { index, entry in entry.window.map { ($0.serial, index) } },
            uniquingKeysWith: { first, _ in first })
        let wanted = repeats.map { ($0.row, $0.count, $0.lastTime) }
        @Sendable func folded(_ ids: [AuditEvent.ID?]) -> [AuditRepeat] {
            var byID: [AuditEvent.ID: AuditRepeat] = [:]
            for (row, count, lastTime) in wanted {
                let id: AuditEvent.ID?
                switch row {
                case .stored(let stored): id = stored
                case .firstOf(let serial): id = committedFirsts[serial] ?? positions[serial].flatMap { ids[$0] }
                }
                // A first line that was never stored takes its repeats with it (its loss is already counted).
                guard let id else { continue }
                var entry = byID[id] ?? AuditRepeat(id: id, count: 0, lastTime: lastTime)
                entry.count += count
                if lastTime > entry.lastTime { entry.lastTime = lastTime }
                byID[id] = entry
            }
            return byID.values.sorted { $0.id < $1.id }
        }
        do {
            let ids = try await store.write { writer in
                let ids = try writer.appendAuditEvents(events)
                try writer.addAuditRepeats(folded(ids))
                return ids
            }
            health.recordSuccess()
            return (ids, true)
        } catch {
            // Only a bad event (a constraint) is worth retrying alone; a full disk or a held lock would fail
            // every retry too, each after the busy timeout, stalling the queue behind it.
            guard let storeError = error as? StoreError,
                storeError.code == .constraintViolated || storeError.code == .invalidInput
            else {
                let lost = events.count + repeats.reduce(0) { $0 + $1.count }
                health.recordFailure(
                    error, events: lost,
                    example: events.first.map {
                        NewAuditEventSummary(action: $0.action, outcome: $0.outcome.rawValue)
                    })
                return (Array(repeating: nil, count: events.count), false)
            }
            var ids: [AuditEvent.ID?] = []
            var anyStored = false
            for event in events {
                do {
                    ids.append(try await store.write { writer in try writer.appendAuditEvent(event).id })
                    anyStored = true
                } catch {
                    ids.append(nil)
                    health.recordFailure(
                        error, events: 1,
                        example: NewAuditEventSummary(action: event.action, outcome: event.outcome.rawValue))
                }
            }
            var repeatsStored = true
            let updates = folded(ids)
            if !updates.isEmpty {
                do {
                    try await store.write { writer in try writer.addAuditRepeats(updates) }
                    anyStored = true
                } catch {
                    repeatsStored = false
                    health.recordFailure(
                        error, events: updates.reduce(0) { $0 + $1.count },
                        example: NewAuditEventSummary(action: TokenRequestAudit.action, outcome: "success"))
                }
            }
            if anyStored && ids.allSatisfy({ $0 != nil }) && repeatsStored { health.recordSuccess() }
            return (ids, repeatsStored)
        }
    }
}
