import Administration
import ApplicationTokens
import Configuration
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import RESTAPI
import RegistryCore
import Storage
import Threading
import TokenAuthority
import WebUI

/// Builds the web UI from the serving parts: its sessions and first-run setup over the store, sign-in through
/// the same password chain and identity mapping as `/v2/token`, the services with the configured policy.
struct WebUIAssembly {
    let ui: WebUI
    let sessions: WebSessionService
    let setup: FirstRunSetup
    /// Sign-in through redirect providers; nil when none is configured.
    let federation: FederatedSignIn?

    init(
        configuration: PortcullisConfiguration, store: any Store, authority: TokenAuthorityAssembly,
        audit: any AuditRecording, hashing: BlockingPool, webhooks: WebhooksAssembly? = nil,
        registryClients: [String: any RegistryAPI] = [:], registries: (any WebRegistryOperations)? = nil,
        logger: Logger
    ) {
        let sealer = webhooks?.sealer
        let worker = webhooks?.worker
        let settings = configuration.policy.resourcePolicy
        sessions = WebSessionService(
            store: store,
            timeouts: WebSessionTimeouts(
                idle: configuration.ui.sessionIdleTimeout.inSeconds,
                absolute: configuration.ui.sessionLifetime.inSeconds))
        setup = FirstRunSetup(store: store, hashing: hashing)
        let signIn = PasswordChainSignIn(
            chain: PasswordChain(
                authority.providers.compactMap { $0 as? any PasswordAuthenticating }
                    .filter { !($0 is ApplicationTokenProvider) },
                throttle: authority.guessingThrottle),
            linker: MappedIdentityLinker(mapper: authority.mapping.mapper), audit: audit)
        var services = WebUIServices(
            store: store, sessions: sessions, setup: setup, signIn: signIn,
            accounts: AccountAdministration(
                store: store, settings: settings, hashing: hashing,
                reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(configuration)),
            teams: TeamAdministration(store: store, settings: settings),
            namespaces: NamespaceAdministration(store: store, settings: settings),
            repositories: RepositoryAdministration(store: store, settings: settings),
            search: SearchService(store: store, anonymousBrowsing: configuration.policy.anonymousBrowsing),
            stars: StarService(store: store),
            tokens: ApplicationTokenService(store: store, maxPerUser: configuration.token.applicationTokens.maxPerUser),
            audit: AuditQueries(store: store, settings: settings),
            robots: RobotAccountService(store: store, maxLifetime: configuration.token.robots.maxLifetime.inSeconds),
            webhooks: { caller in
                WebhookAdministration(
                    store: store, caller: caller, settings: settings, queued: { worker?.wake() }, sealer: sealer)
            },
            deleter: WebRegistryDeletion.make(
                configuration: configuration, clients: registryClients, store: store, logger: logger),
            registries: registries)
        services.providerHealth = WebProviderHealthPort(providers: authority.providers)
        let mapper = authority.mapping.mapper
        let redirectProviders = authority.providers.compactMap { $0 as? any RedirectAuthenticating }
        if !redirectProviders.isEmpty {
            let login = configuration.login
            // Grants are sealed with the server's secrets key (`webhooks.secretsKey`), which `serve` creates.
            let key = webhooks.flatMap { _ in try? AEADKey(base64: try configuration.webhooks.secretsKey.reveal()) }
            services.federation = FederatedSignIn(
                store: store,
                providers: redirectProviders.map {
                    RedirectProviderEntry(provider: $0, rules: mapper.rules(for: $0.id))
                },
                mapper: mapper, sessions: sessions, grantKey: key,
                times: FederatedSignInTimes(
                    loginLifetime: login.stateLifetime.inSeconds, revalidateEvery: login.revalidateEvery.inSeconds,
                    revalidationGrace: login.revalidationGrace.inSeconds))
        }
        federation = services.federation
        let redirectIDs = Set(redirectProviders.map(\.id.rawValue))
        ui = WebUI(
            settings: WebUISettings(
                publicURL: configuration.server.publicURL, productName: configuration.ui.productName,
                registries: configuration.registries.map { WebRegistry(name: $0.name, pullHost: $0.pullHost) },
                anonymousBrowsing: configuration.policy.anonymousBrowsing,
                providers: configuration.providers.filter(\.enabled).map {
                    WebProvider(
                        id: $0.id, displayName: $0.displayName ?? $0.id, type: $0.type,
                        signsInByRedirect: redirectIDs.contains($0.id))
                }),
            services: services, logger: logger.named("ui"))
    }

    /// While no account exists, issues a setup code and prints it in the log: whoever reads the server's
    /// log (the operator) can create the first administrator at `/setup`; nobody else can.
    func announceSetupCode(logger: Logger) async {
        do {
            guard let code = try await setup.issueCode() else { return }
            logger.notice(
                "no account exists yet: open /setup in a browser and enter this one-time setup code",
                ["setup_code": code])
        } catch {
            logger.warning("could not issue a setup code", ["error": "\(error)"])
        }
    }

    /// Deletes ended and expired browser sessions every hour.
    func pruneJob(logger: Logger) -> BackgroundJob {
        let sessions = sessions
        return BackgroundJob(name: "web-session-prune", interval: .seconds(3600), logger: logger.named("jobs")) {
            let pruned = try await sessions.prune()
            if pruned > 0 { logger.info("ended and expired web sessions pruned", ["count": String(pruned)]) }
        }
    }

    /// Re-checks federated identities at their providers (`login.revalidateEvery`; the job wakes at a tenth of
    /// it, so each identity is checked within that much of being due) and prunes expired login states.
    func revalidationJob(configuration: PortcullisConfiguration, logger: Logger) -> BackgroundJob? {
        guard let federation else { return nil }
        let every = configuration.login.revalidateEvery
        return BackgroundJob(
            name: "sso-revalidation", interval: max(.seconds(60), every / 10), logger: logger.named("jobs")
        ) {
            let report = try await federation.revalidate()
            if report.suspended > 0 || report.failing > 0 {
                logger.notice(
                    "federated identities revalidated",
                    [
                        "confirmed": String(report.confirmed), "suspended": String(report.suspended),
                        "failing": String(report.failing),
                    ])
            }
        }
    }

    /// The API's session resolver: the UI's cookie, with the session's CSRF token for unsafe methods.
    var apiSessions: any APISessionResolving { WebSessionAPIBridge(sessions: sessions, cookieName: ui.sessionCookie) }
}

/// Lets the page script call `/api/v1` with the browser's session (and its `X-CSRF-Token`).
struct WebSessionAPIBridge: APISessionResolving {
    let sessions: WebSessionService
    let cookieName: String

    func session(for request: HTTPRequest) async throws -> APISession? {
        guard let value = WebUI.cookie(named: cookieName, in: request.headers),
            let session = try await sessions.resolve(value)
        else { return nil }
        let user = session.user
        return APISession(
            caller: APICaller(
                userID: user.id.rawValue, username: user.username, isAdmin: user.isAdmin, source: .session),
            csrfToken: session.csrfToken)
    }
}

/// Web sign-in over the password chain: local accounts sign in as themselves, federated identities (LDAP)
/// through identity mapping, exactly as at `/v2/token`; every attempt is audited as `ui.sign_in`.
struct PasswordChainSignIn: WebPasswordSignIn {
    let chain: PasswordChain
    let linker: any IdentityLinking
    let audit: any AuditRecording

    func signIn(username: String, password: String, clientAddress: String) async -> WebSignInOutcome {
        let (outcome, audited) = await decide(username: username, password: password, clientAddress: clientAddress)
        guard audited else { return outcome }
        let shownName = InertText.escaped(username, limit: 128)
        switch outcome {
        case .signedIn(let userID):
            await audit.record(
                NewAuditEvent(
                    action: "ui.sign_in", outcome: .success, actorID: User.ID(userID.rawValue),
                    actorName: shownName, clientIP: clientAddress))
        case .unavailable:
            await audit.record(
                NewAuditEvent(
                    action: "ui.sign_in", outcome: .failure, actorName: shownName, clientIP: clientAddress,
                    detail: "provider unavailable"))
        default:
            await audit.record(
                NewAuditEvent(
                    action: "ui.sign_in", outcome: .denied, actorName: shownName, clientIP: clientAddress,
                    detail: "\(outcome)"))
        }
        return outcome
    }

    /// The outcome, and whether to audit it: a throttled address is audited once per window, so a flood of
    /// refused attempts cannot flood the audit log.
    private func decide(username: String, password: String, clientAddress: String) async -> (WebSignInOutcome, Bool) {
        let credentials = PasswordCredentials(username: username, password: password, clientAddress: clientAddress)
        let result = await chain.authenticate(credentials)
        if case .throttled(let throttling) = result {
            return (.throttled(retryAfterSeconds: throttling.retryAfterSeconds), throttling.isFirstInWindow)
        }
        return (await outcome(of: result), true)
    }

    private func outcome(of result: ChainOutcome) async -> WebSignInOutcome {
        switch result {
        case .authenticated(let identity):
            switch identity.origin {
            case .localAccount(let userID): return .signedIn(User.ID(userID))
            case .federated:
                do {
                    switch try await linker.link(identity) {
                    case .linked(let userID): return .signedIn(User.ID(userID))
                    case .refused(let message, _): return .refusedAccount(message: message)
                    }
                } catch {
                    return .unavailable(provider: identity.provider.rawValue)
                }
            default: return .refused
            }
        case .rejected(_, let reason):
            switch reason {
            case .invalidCredentials, .expired: return .refused
            case .disabled: return .disabled
            case .locked(let until): return .locked(until: until)
            case .rateLimited(let seconds): return .throttled(retryAfterSeconds: seconds)
            }
        case .unknownUser: return .refused
        case .throttled(let throttling): return .throttled(retryAfterSeconds: throttling.retryAfterSeconds)
        case .unavailable(let error): return .unavailable(provider: error.provider.rawValue)
        }
    }
}
