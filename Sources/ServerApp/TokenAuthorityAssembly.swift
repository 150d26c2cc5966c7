import ApplicationTokens
import Authorization
import Bitbucket
import Configuration
import Diagnostics
import Foundation
import GitHub
import GitLab
import Google
import HTTPClient
import HTTPCore
import IdentityCore
import LDAP
import LocalPasswords
import OIDC
import Storage
import Synchronization
import Threading
import TokenAuthority

/// The provider types this build knows: the composition root is the only place that imports plugins.
enum BuiltinProviders {
    static let registry = ProviderRegistry([
        LocalPasswordProvider.self, ApplicationTokenProvider.self, LDAPProvider.self, OIDCProvider.self,
        GitHubProvider.self, GitLabProvider.self, GoogleProvider.self, BitbucketProvider.self,
    ])
}

extension ProviderSettings: ProviderConfigurationSource {
    /// Decodes the entry's `config:` block strictly, with `file:line:column` in errors.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeConfig(as: type) }
}

extension TokenSettings {
    /// The configured key and certificate paths, as the key ring loads them.
    var keyRingEntries: [(keyPath: String, certificatePath: String)] {
        signingKeys.map { ($0.key, $0.certificate) }
    }

    /// The configured `kid` form, as the key ring names it.
    var ringKeyIDFormat: TokenAuthority.KeyIDFormat { keyIDFormat == .libtrust ? .libtrust : .jwkThumbprint }
}

/// Builds the token authority from the configuration: providers, password chain, key ring, endpoint.
struct TokenAuthorityAssembly {
    let providers: [any IdentityProvider]
    let keyRing: SigningKeyRingStore
    let endpoint: TokenEndpoint
    /// The refresh tokens the endpoint issues and redeems (pruned by `serve`'s background job).
    let refreshTokens: RefreshTokenService
    /// Identity mapping (links, provisioning, group sync) of federated providers.
    let mapping: IdentityMappingAssembly
    /// The per-address password guessing brake, shared with the REST API's token checks.
    let guessingThrottle: GuessingThrottle
    /// CI workload logins under trust policies (with none configured, it refuses and audits refreshes of earlier ones).
    let workloads: WorkloadLogins

    init(
        configuration: PortcullisConfiguration, store: any Store, ioPool: BlockingPool, cpuPool: BlockingPool,
        audit: any AuditRecording, logger: Logger
    ) throws(CommandFailure) {
        providers = try Self.makeProviders(
            configuration.providers, store: store, ioPool: ioPool, cpuPool: cpuPool, audit: audit, logger: logger)
        let passwordProviders = providers.compactMap { $0 as? any PasswordAuthenticating }
        guard !passwordProviders.isEmpty else {
            throw CommandFailure(
                .configuration,
                "no enabled password provider is configured, so nobody could log in; add one under providers:")
        }
        keyRing = try SigningKeyRingStore.configured(by: configuration.token)
        mapping = try IdentityMappingAssembly(
            settings: configuration.providers, providers: providers, store: store, logger: logger,
            reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(configuration))
        refreshTokens = RefreshTokenService(store: store, policy: configuration.token.refresh.policy)
        guessingThrottle = GuessingThrottle(
            limits: Self.guessingLimits(configuration.policy.passwordGuessing, providers: providers, logger: logger),
            ledger: StoreGuessingLedger(store: store))
        var endpointSettings = TokenEndpoint.Settings(
            path: configuration.token.path, services: Set(configuration.registries.map(\.service)),
            authorization: configuration.policy.authorization)
        endpointSettings.passwords = RegistryPasswords(
            accepted: configuration.login.passwordsAtRegistry,
            tokensPage: configuration.server.publicURL.appending(path: "profile/tokens").absoluteString)
        // Passwords off at the registry: only application tokens (and robots) are asked at all.
        let registryProviders =
            configuration.login.passwordsAtRegistry
            ? passwordProviders : passwordProviders.filter { $0 is ApplicationTokenProvider }
        workloads = WorkloadIdentityAssembly.logins(configuration, store: store, logger: logger.named("workload"))
        endpoint = TokenEndpoint(
            settings: endpointSettings,
            chain: PasswordChain(registryProviders, throttle: guessingThrottle),
            store: store,
            minter: TokenMinter(
                issuer: configuration.token.issuer, lifetime: configuration.token.lifetime, keyRing: keyRing,
                reuseWindow: configuration.token.reuseWindow),
            refreshTokens: refreshTokens, audit: audit, logger: logger.named("token"),
            linker: MappedIdentityLinker(mapper: mapping.mapper),
            workloads: workloads)
    }

    /// The chain's guessing limits: `policy.passwordGuessing`, or, while that is left at its defaults, the
    /// `rateLimit` a local provider still sets from before the limit moved to the chain (with a warning).
    static func guessingLimits(
        _ settings: PasswordGuessingSettings, providers: [any IdentityProvider], logger: Logger
    ) -> GuessingLimits {
        var limits = GuessingLimits(
            failures: settings.failures, window: settings.window.inSeconds, concurrentChecks: settings.concurrentChecks)
        guard settings == PasswordGuessingSettings() else { return limits }
        for case let local as LocalPasswordProvider in providers {
            guard let legacy = local.configuration.rateLimit else { continue }
            logger.warning(
                "providers[\(local.id)].config.rateLimit is deprecated: the limit now covers every password provider; "
                    + "move it to policy.passwordGuessing (failures, window)",
                ["failures": String(legacy.failures), "window": "\(legacy.window.seconds)s"])
            limits.failures = legacy.failures
            limits.window = legacy.window.timeInterval
            break
        }
        return limits
    }

    /// Makes every enabled provider in ascending `order` (ties keep file order).
    static func makeProviders(
        _ entries: [ProviderSettings], store: any Store, ioPool: BlockingPool, cpuPool: BlockingPool,
        audit: any AuditRecording, logger: Logger
    ) throws(CommandFailure) -> [any IdentityProvider] {
        let enabled = entries.enumerated().filter { $0.element.enabled }
            .sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(\.element)
        var problems: [String] = []
        var providers: [any IdentityProvider] = []
        for entry in enabled {
            do {
                providers.append(
                    try makeProvider(
                        entry, store: store, ioPool: ioPool, cpuPool: cpuPool, audit: audit, logger: logger))
            } catch {
                problems.append("provider \(entry.id): \(error)")
            }
        }
        guard problems.isEmpty else { throw CommandFailure(.configuration, problems.joined(separator: "\n")) }
        return providers
    }

    /// Decodes one entry's `config:` block and makes its provider: what `serve` does for each enabled
    /// entry, and what `StartupValidation` does to check it.
    static func makeProvider(
        _ entry: ProviderSettings, store: any Store, ioPool: BlockingPool, cpuPool: BlockingPool,
        audit: any AuditRecording, logger: Logger
    ) throws -> any IdentityProvider {
        let context = ProviderContext(
            logger: logger.named("provider").with(["provider": entry.id]), store: store, ioPool: ioPool,
            cpuPool: cpuPool, audit: audit, http: ProviderHTTPClients.Fetcher(providerID: entry.id))
        return try BuiltinProviders.registry.makeProvider(
            type: entry.type, id: ProviderID(rawValue: entry.id), displayName: entry.displayName ?? entry.id,
            configuration: entry, context: context)
    }
}

/// The outbound HTTP clients handed to providers: one per provider id, each on its own small pool, so a
/// provider whose endpoints hang ties up only its own threads and never another provider's logins (or the
/// I/O pool LDAP binds run on). Made on a provider's first request (providers that never fetch, and the
/// start-up check, cost no threads) and kept for the process's life, as pools must be.
enum ProviderHTTPClients {
    /// The port handed to provider `providerID`: its client, made on first use.
    struct Fetcher: HTTPFetching {
        let providerID: String
        func send(_ request: OutboundRequest) async throws -> InboundResponse {
            try await ProviderHTTPClients.client(for: providerID).send(request)
        }
    }

    private static let clients = Mutex<[String: CurlHTTPClient]>([:])

    /// The client for provider `id`: libcurl with 5 s connect and 15 s total timeouts and a 1 MiB body limit
    /// (discovery, JWKS and token answers are a few KiB); requests may ask for less.
    static func client(for id: String) -> CurlHTTPClient {
        clients.withLock { clients in
            if let existing = clients[id] { return existing }
            var configuration = CurlHTTPClient.Configuration()
            configuration.connectTimeout = .seconds(5)
            configuration.timeout = .seconds(15)
            configuration.maxResponseBytes = 1 << 20
            let client = CurlHTTPClient(
                configuration: configuration, pool: BlockingPool(name: "provider-http-\(id)", threads: 4))
            clients[id] = client
            return client
        }
    }
}

extension SigningKeyRingStore {
    /// The ring of `token.signingKeys` (files must exist); a bad key or certificate is a configuration error.
    static func configured(by token: TokenSettings) throws(CommandFailure) -> SigningKeyRingStore {
        do {
            return try SigningKeyRingStore(entries: token.keyRingEntries, keyIDFormat: token.ringKeyIDFormat)
        } catch {
            throw CommandFailure(.configuration, "token.signingKeys: \(error)")
        }
    }
}

extension PolicySettings {
    /// The authorization policy switches these settings choose, as the token endpoint and deletions apply them.
    var authorization: AuthorizationSettings {
        AuthorizationSettings(
            pushPolicy: Authorization.PushPolicy(rawValue: pushImages.rawValue) ?? .allowTeams,
            deleteEnabled: delete.enabled,
            deleteContributors: delete.contributors, anonymousPull: anonymousBrowsing)
    }
}
