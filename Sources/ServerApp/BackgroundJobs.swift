import Diagnostics
import Foundation
import Synchronization

/// Decides whether this instance runs a background job now.
///
/// The seam for running several instances against one database (a leader election, a lease row): only
/// the instance holding the job's lease should answer true. Called before every run, from the job's task;
/// must not block for long, and answering false only skips that run.
protocol JobPlacement: Sendable {
    /// Whether this instance runs `job` now.
    func runsHere(_ job: String) async -> Bool

    /// Whether this instance runs this tick of the periodic `job` (one every `interval`): true at most once
    /// per tick across every instance. The default asks `runsHere`.
    func claimsRun(of job: String, every interval: Duration) async -> Bool
}

extension JobPlacement {
    func claimsRun(of job: String, every interval: Duration) async -> Bool { await runsHere(job) }
}

/// This process owns every job (the commands that run one job by hand; `serve` places its jobs with
/// `JobLeases`).
struct SingleInstancePlacement: JobPlacement {
    func runsHere(_ job: String) async -> Bool { true }
}

/// A job that runs every `interval` in its own task until stopped; a failed run is logged and the next
/// one comes at the usual time (never a tight retry loop against a failing directory).
final class BackgroundJob: Sendable {
    let name: String
    let interval: Duration
    private let placement: any JobPlacement
    private let body: @Sendable () async throws -> Void
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(
        name: String, interval: Duration, placement: any JobPlacement = SingleInstancePlacement(), logger: Logger,
        body: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.placement = placement
        self.logger = logger
        self.body = body
    }

    /// Starts the loop (the first run comes after one interval: logins sync on their own meanwhile); each
    /// tick runs where `placement` (else the one given at creation) says.
    func start(on placement: (any JobPlacement)? = nil) {
        let name = name
        let interval = interval
        let placement = placement ?? self.placement
        let body = body
        let logger = logger
        let started = Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                guard await placement.claimsRun(of: name, every: interval) else { continue }
                do {
                    try await body()
                    logger.debug("background job ran", ["job": name])
                } catch is CancellationError { return } catch {
                    logger.warning("background job failed", ["job": name, "error": "\(error)"])
                }
            }
        }
        task.withLock { $0 = started }
    }

    /// Stops the loop and waits for a run in progress to end.
    func stop() async {
        guard
            let running = task.withLock({ task in
                defer { task = nil }; return task
            })
        else { return }
        running.cancel()
        await running.value
    }
}
