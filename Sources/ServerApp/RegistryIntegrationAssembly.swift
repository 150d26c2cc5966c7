import Administration
import Configuration
import Diagnostics
import Foundation
import RegistryCore
import RegistryIntegration
import Storage

/// The registry notifications side of `serve`: the events endpoint and the worker it wakes.
struct RegistryIntegrationAssembly {
    /// `POST notifications.path`, mounted by `Routes`.
    let endpoint: RegistryEventsEndpoint
    /// The worker that turns stored events into repositories and tags.
    let worker: RegistryEventWorker
    private let pollInterval: Duration
    private let retention: Duration
    private let placement: any JobPlacement
    private let logger: Logger

    /// The singleton job of pruning finished events (what `JobPlacement` decides on); the worker itself runs on
    /// every instance, claiming events (see `RegistryEventWorker`).
    static let jobName = "registry-event-prune"

    /// Wires the endpoint to `store` and the worker to `clients` (one `RegistryAPI` per configured registry).
    ///
    /// Every configured `eventsSecret` is read now. One that cannot be read refuses that registry's
    /// notifications (as no secret does) and says so loudly, rather than keeping the token service down.
    init(
        configuration: PortcullisConfiguration, store: any Store, clients: [String: any RegistryAPI],
        observer: (any RepositoryChangeObserver)? = nil, placement: any JobPlacement = SingleInstancePlacement(),
        environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) {
        var sources: [NotificationSource] = []
        for registry in configuration.registries {
            var secret: String?
            if let reference = registry.eventsSecret {
                do { secret = try reference.reveal(environment: environment) } catch {
                    logger.error(
                        "registry notifications will be refused: its events secret cannot be read",
                        ["registry": registry.name, "error": "\(error)"])
                }
            } else {
                logger.notice(
                    "registry notifications will be refused: no events secret is configured",
                    ["registry": registry.name])
            }
            sources.append(NotificationSource(registry: registry.name, secret: secret))
        }
        let worker = RegistryEventWorker(
            store: store, registries: clients, observer: observer,
            provisioning: RegistryEventWorker.Provisioning(globalNamespaceName: NamespaceNaming.globalNamespaceName),
            logger: logger.named("registry-events"), holder: LeaseHolder.forThisProcess("events"))
        self.worker = worker
        self.endpoint = RegistryEventsEndpoint(
            path: configuration.notifications.path, maxBodyBytes: configuration.notifications.maxBodyBytes,
            sources: sources, store: store, logger: logger.named("registry-events")
        ) { worker.wake() }
        self.pollInterval = configuration.notifications.pollInterval
        self.retention = configuration.notifications.retention
        self.placement = placement
        self.logger = logger
    }

    /// Starts the worker loop: it runs a pass at once (events stored before a restart), then whenever the
    /// endpoint stores an event, polling every `notifications.pollInterval` otherwise.
    func startWorker() -> RegistryEventWorkerJob {
        let worker = worker
        let placement = placement
        let pollInterval = pollInterval
        let retention = retention
        let task = Task {
            await worker.run(pollInterval: pollInterval, retention: retention) {
                await placement.runsHere(Self.jobName)
            }
        }
        logger.info("registry event worker started", ["poll_interval": "\(pollInterval)"])
        return RegistryEventWorkerJob(task: task)
    }
}

/// The running worker loop; `stop()` cancels it and waits for the event in progress to finish.
struct RegistryEventWorkerJob: Sendable {
    let task: Task<Void, Never>

    /// Stops the loop and waits for it to end.
    func stop() async {
        task.cancel()
        await task.value
    }
}
