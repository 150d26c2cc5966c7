import Configuration
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import IdentityCore
import Storage
import Threading
import TokenAuthority

/// `portcullis serve`: opens the database, makes sure a signing key exists, and serves HTTP until
/// SIGTERM or SIGINT, then drains in-flight requests and exits 0.
enum ServeCommand {
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        // The same checks as `config check` (StartupValidation): every problem at once, before anything is
        // created or opened.
        let context = try await AppContext.validatedForStart(&parsed, quiet: false, warnings: false)
        try parsed.finish(maxPositionals: 0)
        let configuration = context.configuration
        let logger = context.logger
        ShutdownSignals.ignoreBrokenPipe()

        let trustedProxies = try configuration.server.trustedProxies.map { text throws(CommandFailure) in
            do { return try CIDR(parsing: text) } catch {
                throw CommandFailure(.configuration, "server.trustedProxies: \(error)")
            }
        }
        try ensureSigningKeys(configuration.token, logger: logger)
        try RegistryEventSecrets.ensure(configuration.registries, logger: logger)
        let store = try await context.openStore(migrate: false)
        let migration: MigrationReport
        do {
            migration = try await context.bringUpToDate(store)
            try await WorkloadIdentityAssembly.refuseNameClashes(configuration, store: store)
        } catch {
            await store.close()
            throw error
        }
        // Of several instances starting at once on an empty database, exactly one applies each migration; the
        // others wait for its lock and find nothing left to do (`applied: 0`).
        logger.info(
            "database ready",
            [
                "driver": configuration.storage.driver.rawValue, "schema": String(migration.toVersion),
                "applied": String(migration.applied.count),
            ])

        // The singleton jobs below run on the instance holding their lease, so several instances on one
        // database run each once per tick between them.
        let leases = JobLeases(
            store: store, holder: LeaseHolder.forThisProcess("serve"), duration: configuration.storage.leaseDuration,
            logger: logger.named("jobs"))
        let metrics = MetricsRegistry()
        let ioPool = BlockingPool(name: "io", threads: 32)
        let audit = AuditAssembly.recorder(
            configuration.audit, store: store, metrics: metrics, logger: logger.named("audit"))
        let authority: TokenAuthorityAssembly
        do {
            authority = try TokenAuthorityAssembly(
                configuration: configuration, store: store, ioPool: ioPool, cpuPool: context.cpuPool, audit: audit,
                logger: logger)
        } catch {
            await store.close()
            throw error
        }
        let webhooks: WebhooksAssembly
        do {
            webhooks = try await WebhooksAssembly.forServing(
                settings: configuration.webhooks, store: store, pool: ioPool, placement: leases, logger: logger)
        } catch {
            await store.close()
            throw error
        }
        // One client per registry, shared by the event worker and the catalog sync (one token cache each).
        let registryClients = RegistryClientAssembly(
            configuration: configuration, keyRing: authority.keyRing, logger: logger
        ).clients
        let registryEvents = RegistryIntegrationAssembly(
            configuration: configuration, store: store, clients: registryClients, observer: webhooks.dispatcher,
            placement: leases, logger: logger)
        // One sync port for the API and the admin pages, so both see the same running syncs.
        let registrySync = RegistrySyncPort(
            configuration: configuration, clients: registryClients, store: store, logger: logger)
        // One health prober too: its answers are kept for a while, so two would probe every registry twice.
        let health = ServerHealth(store: store, settings: configuration.registries, http: CurlHTTPClient())
        let ui =
            configuration.ui.enabled
            ? WebUIAssembly(
                configuration: configuration, store: store, authority: authority, audit: audit,
                hashing: context.cpuPool, webhooks: webhooks, registryClients: registryClients,
                registries: WebRegistryPort(sync: registrySync, health: health),
                logger: logger)
            : nil
        let api = RESTAPIAssembly(
            configuration: configuration, store: store, providers: authority.providers,
            throttle: authority.guessingThrottle, hashing: context.cpuPool, webhooks: webhooks,
            sessions: ui?.apiSessions, registrySync: registrySync, health: health, registryClients: registryClients,
            logger: logger)
        let router = Routes.make(
            configuration: configuration, store: store, metrics: metrics, trustedProxies: trustedProxies,
            authority: authority, registryEvents: registryEvents, auditHealth: audit.health, api: api, ui: ui,
            leases: leases, logger: logger)
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: configuration.server.listen.host, port: configuration.server.listen.port,
                eventLoops: configuration.server.eventLoops > 0 ? configuration.server.eventLoops : nil,
                maxConnections: configuration.server.maxConnections,
                maxConnectionsPerAddress: configuration.server.maxConnectionsPerAddress,
                trustedProxies: trustedProxies, idleTimeout: configuration.server.idleTimeout,
                headerTimeout: configuration.server.headerTimeout, bodyTimeout: configuration.server.bodyTimeout,
                tls: configuration.server.tls.isEnabled
                    ? TLSConfiguration(
                        certificatePath: configuration.server.tls.certificate!, keyPath: configuration.server.tls.key!)
                    : nil),
            responder: router, logger: logger.named("http"))
        registerProcessMetrics(metrics, server: server, pools: [context.cpuPool, ioPool])

        let port: Int
        do {
            port = try server.start()
        } catch {
            await store.close()
            throw CommandFailure(.unavailable, "cannot listen on \(configuration.server.listen): \(error)")
        }
        let scheme = configuration.server.tls.isEnabled ? "https" : "http"
        logger.notice(
            "portcullis serving",
            [
                "listen": "\(scheme)://\(configuration.server.listen.host):\(port)",
                "public_url": configuration.server.publicURL.absoluteString, "version": Version.current,
                "config": context.configDirectory,
            ])
        await ui?.announceSetupCode(logger: logger.named("setup"))

        // Re-read the signing keys now and then, so a key added by `keys rotate` and listed in the
        // configuration files is picked up; a failed reload keeps the keys in use and says why.
        let reloader = Task {
            // A cancelled sleep ends the loop: a reload racing the process's exit would run OpenSSL while
            // its atexit cleanup tears it down (seen once as a SIGSEGV on a loaded CI machine).
            while (try? await Task.sleep(for: .seconds(30))) != nil, !Task.isCancelled {
                do { try authority.keyRing.reload() } catch {
                    logger.warning("signing keys not reloaded", ["error": "\(error)"])
                }
            }
        }
        let syncJobs = authority.mapping.syncers.filter { $0.rules.syncInterval > .zero }.map { entry in
            BackgroundJob(
                name: "group-sync:\(entry.provider)", interval: entry.rules.syncInterval,
                logger: logger.named("jobs")
            ) {
                _ = try await entry.syncer.run(dryRun: false)
            }
        }
        let catalogJobs =
            RegistryCommands.backgroundJobs(
                configuration: configuration, clients: registryClients, store: store, logger: logger)
            + [TokenCommands.pruneJob(authority.refreshTokens, logger: logger)]
            + [WorkloadIdentityAssembly.pruneJob(authority.workloads, logger: logger)]
            + (ui.map { [$0.pruneJob(logger: logger)] } ?? [])
            + (ui?.revalidationJob(configuration: configuration, logger: logger).map { [$0] } ?? [])
        let auditJobs = [AuditAssembly.pruningJob(configuration.audit, store: store, logger: logger.named("audit"))]
        leases.start()
        for job in syncJobs + catalogJobs + auditJobs { job.start(on: leases) }
        webhooks.start()
        let eventWorker = registryEvents.startWorker()
        let grace = configuration.server.shutdownGracePeriod
        let signals = ShutdownSignals.install { signal in
            logger.notice("shutting down", ["signal": String(signal), "grace_period": "\(grace)"])
            Task { await server.shutdown(gracePeriod: grace) }
        }
        await server.waitUntilStopped()
        signals.cancel()
        reloader.cancel()
        await reloader.value
        for job in syncJobs + catalogJobs + auditJobs { await job.stop() }
        await eventWorker.stop()
        await webhooks.stop()
        // Last: every loop that asks for a lease has stopped, so the leases given up stay given up.
        await leases.stop()
        for provider in authority.providers { await provider.shutdown() }
        await audit.drain()
        await store.close()
        logger.notice("portcullis stopped")
    }

    /// Generates the first signing key and its certificate when none exist yet, saying where they went;
    /// any further configured key must already exist (rotation is an explicit operator step).
    static func ensureSigningKeys(_ token: TokenSettings, logger: Logger) throws {
        for (index, entry) in token.signingKeys.enumerated() {
            let files = SigningKeyFiles(keyPath: entry.key, certificatePath: entry.certificate)
            if files.exist { continue }
            let missing = CommandFailure(
                .noInput, "signing key \(entry.key) or certificate \(entry.certificate) is missing")
            guard index == 0 else { throw missing }
            if !FileManager.default.fileExists(atPath: entry.key) {
                do {
                    try files.generate(.defaultKey, commonName: token.issuer, delay: .zero, replacing: false)
                    logger.notice(
                        "generated a signing key on first start; give the certificate to the registry as auth.token.rootcertbundle",
                        ["key": entry.key, "certificate": entry.certificate])
                    continue
                } catch {
                    // Several instances started at once on one config directory: the first to link the key
                    // file won and writes the certificate next; the others use that pair.
                    guard FileManager.default.fileExists(atPath: entry.key) else { throw error }
                }
            }
            guard files.appear(within: .seconds(10)) else { throw missing }
            logger.notice("using the signing key another instance generated on first start", ["key": entry.key])
        }
    }

    private static func registerProcessMetrics(_ metrics: MetricsRegistry, server: HTTPServer, pools: [BlockingPool]) {
        metrics.gauge("portcullis_http_open_connections", help: "Client connections open now.") {
            Double(server.metrics.openConnections)
        }
        metrics.gauge(
            "portcullis_http_rejected_connections", help: "Connections refused over the connection limit since start."
        ) {
            Double(server.metrics.rejectedConnections)
        }
        metrics.gauge(
            "portcullis_http_rejected_connections_per_address",
            help: "Connections refused since start because their address held server.maxConnectionsPerAddress."
        ) {
            Double(server.metrics.rejectedConnectionsPerAddress)
        }
        metrics.gauge(
            "portcullis_http_rejected_requests_per_forwarded_client",
            help:
                "Requests through trusted proxies refused since start: their client had server.maxConnectionsPerAddress in flight."
        ) {
            Double(server.metrics.rejectedRequestsPerForwardedClient)
        }
        metrics.gauge("portcullis_http_malformed_requests", help: "Requests rejected by the parser since start.") {
            Double(server.metrics.malformedRequests)
        }
        metrics.gauge(
            "portcullis_http_timed_out_connections", help: "Connections closed by a read or idle timeout since start."
        ) {
            Double(server.metrics.timedOutConnections)
        }
        for pool in pools {
            metrics.gauge(
                "portcullis_pool_queue_depth", help: "Jobs waiting for a thread of a blocking pool.",
                labels: ["pool": pool.name]
            ) { Double(pool.queueDepth) }
            metrics.gauge(
                "portcullis_pool_active_jobs", help: "Jobs running on a blocking pool.", labels: ["pool": pool.name]
            ) { Double(pool.activeJobs) }
        }
    }
}

/// The HTTP routes: the token endpoint, the registry events endpoint, the JWKS, health, readiness, metrics and the
/// REST API, behind the standard middleware.
enum Routes {
    static func make(
        configuration: PortcullisConfiguration, store: any Store, metrics: MetricsRegistry, trustedProxies: [CIDR],
        authority: TokenAuthorityAssembly, registryEvents: RegistryIntegrationAssembly? = nil,
        auditHealth: AuditWriteHealth? = nil, api: RESTAPIAssembly? = nil, ui: WebUIAssembly? = nil,
        leases: JobLeases? = nil, logger: Logger
    ) -> Router {
        var router = Router(defaultBodyLimit: configuration.server.maxBodySize, logger: logger.named("http"))
        router.use(RequestIDMiddleware())
        router.use(ForwardedHeadersMiddleware(trustedProxies: trustedProxies))
        router.use(AccessLogMiddleware(logger: logger.named("access"), quietPaths: ["/readyz", "/metrics"]))
        router.use(SecurityHeadersMiddleware())
        router.use(MetricsMiddleware(registry: metrics))

        // Liveness is answered on the event loop, before any middleware (see Router.probe).
        let alive = HTTPResponse.text("ok\n")
        router.probe("/healthz") { _ in alive }
        let readiness = Readiness(
            configuration: configuration, store: store, auditHealth: auditHealth, leases: leases, logger: logger)
        router.get("/readyz") { request in await readiness.answer(request) }
        // Before anything that could match the path more loosely (the token endpoint's routes among them).
        registryEvents?.endpoint.register(on: &router)
        authority.endpoint.register(on: &router)
        let keyRing = authority.keyRing
        router.get("/.well-known/jwks.json") { _ in
            var response = HTTPResponse.json(keyRing.ring.jwks())
            response.headers.add(name: "Cache-Control", value: "public, max-age=300")
            return response
        }
        router.get("/metrics") { _ in .metrics(metrics) }
        // A group without middleware: the API authenticates in its handlers, so the router keeps no async
        // middleware and the token endpoint's fast path stays on.
        api?.register(on: &router)
        // The same holds for the UI: sessions are resolved in its handlers, not by router middleware.
        ui?.ui.register(on: &router)
        return router
    }
}
