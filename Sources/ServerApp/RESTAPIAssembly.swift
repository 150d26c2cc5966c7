import Administration
import ApplicationTokens
import Configuration
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import HTTPCore
import IdentityCore
import RESTAPI
import RegistryCore
import Storage
import Synchronization
import Threading

/// Builds the REST API `/api/v1` from the serving parts: token checks through the same application-token
/// providers and guessing throttle as `/v2/token`, health from the store and the registries.
struct RESTAPIAssembly {
    let api: RESTAPI

    init(
        configuration: PortcullisConfiguration, store: any Store, providers: [any IdentityProvider],
        throttle: GuessingThrottle?, hashing: BlockingPool, webhooks: WebhooksAssembly? = nil,
        sessions: (any APISessionResolving)? = nil, registrySync: (any RegistrySyncing)? = nil,
        http: any HTTPFetching = CurlHTTPClient(), health: ServerHealth? = nil,
        registryClients: [String: any RegistryAPI] = [:], logger: Logger
    ) {
        let tokenProviders: [any PasswordAuthenticating] = providers.compactMap { $0 as? ApplicationTokenProvider }
        let verifier = PasswordChainTokenVerifier(
            chain: PasswordChain(tokenProviders, throttle: throttle, boundsConcurrentChecks: false),
            shape: { ApplicationTokenFormat.isWellFormed($0) },
            ownerOf: PasswordChainTokenVerifier.ownerLookup(in: store, hashing: ApplicationTokenFormat.secretHash(of:)))
        let health = health ?? ServerHealth(store: store, settings: configuration.registries, http: http)
        let people = PeopleResourcesAssembly(configuration: configuration, store: store, hashing: hashing)
        api = RESTAPI(
            routes: SystemResources(store: store, health: health, version: Version.current).routes
                + Self.operationsRoutes(
                    configuration: configuration, store: store, webhooks: webhooks, registrySync: registrySync,
                    health: health)
                + RESTAPIContent.routes(
                    configuration: configuration, store: store, clients: registryClients, logger: logger)
                + people.routes,
            authenticator: APIAuthenticator(tokens: verifier, sessions: sessions),
            logger: logger.named("api"))
    }

    /// `audit-events`, `registries`, `namespaces/{ns}/webhooks` and `workload-identity/…` (see
    /// `RESTAPIOperations.swift`).
    static func operationsRoutes(
        configuration: PortcullisConfiguration, store: any Store, webhooks: WebhooksAssembly?,
        registrySync: (any RegistrySyncing)?, health: ServerHealth
    ) -> [APIRoute] {
        let settings = configuration.policy.resourcePolicy
        let sealer = webhooks?.sealer
        let worker = webhooks?.worker
        return AuditResources(queries: AuditQueries(store: store, settings: settings)).routes
            + RegistryResources(registries: registrySync ?? NoRegistrySync(), health: health).routes
            + WebhookResources { caller in
                WebhookAdministration(
                    store: store, caller: caller, settings: settings, queued: { worker?.wake() }, sealer: sealer)
            }.routes
            + WorkloadIdentityResources(
                queries: WorkloadIdentityQueries(
                    store: store, settings: settings, workload: configuration.workloadIdentity)
            ).routes
    }

    /// The API's routes on `router`.
    func register(on router: inout Router) { api.register(on: &router) }
}

/// The people resources (`users`, `users/{id}/tokens`, `teams`, members, robots) over the application
/// services, with the configured policy switches and limits.
struct PeopleResourcesAssembly {
    let routes: [APIRoute]

    /// `hashing` runs bcrypt for passwords set through the API: the process's CPU pool, which logins share,
    /// so its admission limit and lower priority hold for both.
    init(configuration: PortcullisConfiguration, store: any Store, hashing: BlockingPool) {
        let settings = configuration.policy.resourcePolicy
        let users = UserResources(
            store: store,
            accounts: AccountAdministration(
                store: store, settings: settings, hashing: hashing,
                reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(configuration)),
            tokens: ApplicationTokenService(
                store: store, maxPerUser: configuration.token.applicationTokens.maxPerUser))
        let teams = TeamResources(
            store: store, teams: TeamAdministration(store: store, settings: settings),
            robots: RobotAccountService(
                store: store,
                maxLifetime: configuration.token.robots.maxLifetime.inSeconds))
        routes = users.routes + teams.routes
    }
}

/// The health resource's checks: the store's schema, and each registry's `/v2/` answering (200 or 401, as
/// Portus checks it) within two seconds.
///
/// The registry answers are kept for `probeInterval`: the resource is anonymous, and a client polling it
/// must not turn into a stream of requests to every registry.
final class ServerHealth: APIHealthChecking {
    static let probeInterval: Duration = .seconds(10)

    let store: any Store
    let settings: [RegistrySettings]
    let http: any HTTPFetching
    private let lastProbe = Mutex<(at: ContinuousClock.Instant, report: [APIHealthComponent])?>(nil)

    init(store: any Store, settings: [RegistrySettings], http: any HTTPFetching) {
        self.store = store
        self.settings = settings
        self.http = http
    }

    func database() async -> APIHealthComponent { await StoreHealthCheck(store: store).check() }

    func registries() async -> [APIHealthComponent] {
        let now = ContinuousClock.now
        if let last = lastProbe.withLock({ $0 }), now - last.at < Self.probeInterval { return last.report }
        let report = await probeAll()
        lastProbe.withLock { $0 = (now, report) }
        return report
    }

    private func probeAll() async -> [APIHealthComponent] {
        await withTaskGroup(of: (Int, APIHealthComponent).self) { group in
            for (index, registry) in settings.enumerated() {
                group.addTask { (index, await self.probe(registry)) }
            }
            var found: [(Int, APIHealthComponent)] = []
            for await entry in group { found.append(entry) }
            return found.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func probe(_ registry: RegistrySettings) async -> APIHealthComponent {
        let url =
            registry.url.absoluteString.hasSuffix("/") ? registry.url.absoluteString : registry.url.absoluteString + "/"
        do {
            let response = try await http.send(
                OutboundRequest(
                    url: url + "v2/", timeout: .seconds(2), connectTimeout: .seconds(1), maxResponseBytes: 4096))
            let reachable = response.status == 200 || response.status == 401
            return APIHealthComponent(
                name: registry.name, isHealthy: reachable,
                message: reachable ? "reachable" : "answered \(response.status)")
        } catch {
            return APIHealthComponent(name: registry.name, isHealthy: false, message: "unreachable")
        }
    }
}
