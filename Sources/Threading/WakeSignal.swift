import Synchronization

/// Wakes one waiting loop, or remembers the wake-up for the next wait: the worker loops' "something was
/// queued" signal, never lost when given while the loop is busy.
///
/// Thread-safe; one waiter at a time.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    /// A signal nobody has given yet.
    public init() {}

    /// Wakes the waiter, or makes the next `wait` return at once.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// Returns true when signalled, false after `timeout` or when the task is cancelled, whichever is first.
    public func wait(upTo timeout: Duration) async -> Bool {
        let pending = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if pending { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            group.addTask { await self.waitForSignal() }
            var woken = await group.next() ?? false
            group.cancelAll()
            // A signal racing the timeout has already been taken from `state`: keep it rather than lose it.
            for await result in group { woken = woken || result }
            return woken
        }
    }

    /// True when signalled, false when cancelled first.
    private func waitForSignal() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow = state.withLock { state -> Bool? in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if Task.isCancelled { return false }
                    state.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
