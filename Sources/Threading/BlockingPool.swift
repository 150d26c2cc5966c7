import Foundation

/// A fixed set of dedicated threads that run blocking C calls (libldap, crypt, libcurl, SQLite)
/// so they never occupy Swift's cooperative pool, which on Linux is only as wide as the core count.
///
/// Threading contract: `run` may be called from any task or thread; jobs start in FIFO order on one
/// of the pool's threads. A job must not itself wait on another job of the same pool.
/// Cancelling the calling task does not interrupt a running job: put timeouts in the C library.
public final class BlockingPool: @unchecked Sendable {
    /// The name the pool's threads carry (visible in `top -H` and crash logs).
    public let name: String
    /// How many threads serve this pool.
    public let threadCount: Int

    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var queueHead = 0
    private var stopping = false
    private var busy = 0

    /// Starts `threads` named threads, each with a `stackSize`-byte stack and the given `niceness`
    /// (Linux nice value, 0 to 19; a CPU-burning pool such as password hashing runs at 10 so that a
    /// burst of bcrypt logins cannot starve request handling on a small machine).
    public init(name: String, threads: Int, stackSize: Int = 512 * 1024, niceness: Int32 = 0) {
        precondition(threads > 0, "a blocking pool needs at least one thread")
        self.name = name
        self.threadCount = threads
        for index in 0..<threads {
            // Each thread keeps the pool alive until it has drained and exited after `shutdown()`, so
            // releasing the last outside reference can never free the pool under a running thread.
            let thread = Thread {
                // On Linux the nice value belongs to the calling thread, not the whole process.
                if niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
                self.work()
            }
            thread.name = "\(name)-\(index)"
            thread.stackSize = stackSize
            thread.start()
        }
    }

    /// The number of jobs waiting for a thread (exported as a metric).
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count - queueHead
    }

    /// The number of jobs running right now.
    public var activeJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return busy
    }

    /// Runs `body` on one of the pool's threads and returns its result to the suspended caller.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs a non-throwing `body` on one of the pool's threads.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Queues `job` without waiting for it (fire and forget).
    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        precondition(!stopping, "job submitted to stopped pool \(name)")
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads finish the queued jobs and exit; later submissions are a programming error.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while queueHead == queue.count && !stopping { condition.wait() }
            if queueHead == queue.count {
                condition.unlock()
                return
            }
            let job = queue[queueHead]
            queueHead += 1
            // Compact now and then so the array does not grow without bound.
            if queueHead > 1024 && queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            busy += 1
            condition.unlock()
            job()
            condition.lock()
            busy -= 1
            condition.unlock()
        }
    }
}
