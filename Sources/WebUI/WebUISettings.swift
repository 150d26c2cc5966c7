import Administration
import Foundation
import IdentityCore
import Storage

/// How the UI is configured (from `config.d`, by the composition root).
public struct WebUISettings: Sendable {
    /// The URL browsers reach this server at: decides `Secure` cookies and the allowed `Origin`.
    public var publicURL: URL
    /// The product name in the top bar and titles.
    public var productName: String
    /// The registries, with the host clients pull from.
    public var registries: [WebRegistry]
    /// Whether visitors may browse public namespaces (`policy.anonymousBrowsing`).
    public var anonymousBrowsing: Bool
    /// The configured identity providers, in their order (the sign-in page's buttons, the admin page).
    public var providers: [WebProvider]

    /// Creates settings.
    public init(
        publicURL: URL, productName: String = "Portcullis", registries: [WebRegistry] = [],
        anonymousBrowsing: Bool = false, providers: [WebProvider] = []
    ) {
        self.publicURL = publicURL
        self.productName = productName
        self.registries = registries
        self.anonymousBrowsing = anonymousBrowsing
        self.providers = providers
    }

    /// The host `docker pull` uses for repositories of `registry` (the only one when the name is empty or
    /// unknown and just one is configured).
    public func pullHost(of registry: String) -> String {
        if let match = registries.first(where: { $0.name == registry }) { return match.pullHost }
        return registries.count == 1 ? registries[0].pullHost : (registries.first?.pullHost ?? "registry.example.org")
    }
}

/// A registry as the UI shows it.
public struct WebRegistry: Sendable, Hashable {
    /// Its configured name.
    public var name: String
    /// `host[:port]` that clients pull from (`registries[].publicHost`, else the host of its URL).
    public var pullHost: String

    /// Creates a registry entry.
    public init(name: String, pullHost: String) {
        self.name = name
        self.pullHost = pullHost
    }
}

/// A configured identity provider as the UI lists it.
public struct WebProvider: Sendable, Hashable {
    /// Its id in `config.d`.
    public var id: String
    /// The name people see.
    public var displayName: String
    /// Its type (`local`, `ldap`, `application-tokens`, …).
    public var type: String
    /// Whether it signs people in by redirecting the browser (OAuth2, OIDC); those get a button.
    public var signsInByRedirect: Bool

    /// Creates an entry.
    public init(id: String, displayName: String, type: String, signsInByRedirect: Bool = false) {
        self.id = id
        self.displayName = displayName
        self.type = type
        self.signsInByRedirect = signsInByRedirect
    }
}

/// What signing in with a username and password decided.
public enum WebSignInOutcome: Sendable, Hashable {
    /// The password chain vouched for the credentials: this local account signs in.
    case signedIn(User.ID)
    /// Wrong username or password (one message for both).
    case refused
    /// The account is disabled.
    case disabled
    /// The account is locked after too many failures, until then.
    case locked(until: Date)
    /// This address tried too often; retry after so many seconds.
    case throttled(retryAfterSeconds: Int)
    /// The provider that owns the name refused the account a login here, saying why (mapping rules).
    case refusedAccount(message: String)
    /// The provider could not decide (directory down); says which.
    case unavailable(provider: String)
}

/// Checks a username and password through the same password chain as `docker login` (local accounts,
/// LDAP; application tokens are not passwords for the UI), links a federated identity to its account,
/// counts failures towards the address's guessing limit and audits the attempt.
///
/// Contract: never throws; an outage is `.unavailable`.
public protocol WebPasswordSignIn: Sendable {
    /// Decides whether `username` and `password`, sent from `clientAddress`, sign in.
    func signIn(username: String, password: String, clientAddress: String) async -> WebSignInOutcome
}

/// The application services the pages call.
public struct WebUIServices: Sendable {
    /// The store, for the reads no service wraps yet.
    public var store: any Store
    /// Sessions.
    public var sessions: WebSessionService
    /// First-run setup.
    public var setup: FirstRunSetup
    /// Password sign-in.
    public var signIn: any WebPasswordSignIn
    /// Accounts.
    public var accounts: AccountAdministration
    /// Teams.
    public var teams: TeamAdministration
    /// Namespaces.
    public var namespaces: NamespaceAdministration
    /// Repositories and tags.
    public var repositories: RepositoryAdministration
    /// Search and explore.
    public var search: SearchService
    /// Stars.
    public var stars: StarService
    /// Application tokens.
    public var tokens: ApplicationTokenService
    /// The audit log.
    public var audit: AuditQueries
    /// Robot accounts of teams.
    public var robots: RobotAccountService
    /// A namespace's webhooks, as a caller.
    public var webhooks: @Sendable (Caller) -> WebhookAdministration
    /// Deletion through the registry; nil when no registry client is configured (deletes are refused).
    public var deleter: (any WebRepositoryDeleting)?
    /// The registries' state and "sync now"; nil when none is configured.
    public var registries: (any WebRegistryOperations)?
    /// The identity providers' health (the admin page); nil when none can say. Set after `init`.
    public var providerHealth: (any WebProviderHealthChecking)? = nil
    /// Sign-in through redirect providers (OAuth2, OpenID Connect); nil when none is configured. Set after `init`.
    public var federation: FederatedSignIn? = nil
    /// CI workload identity's policies and decisions (the admin page); nil when the server has none to show. Set
    /// after `init`.
    public var workloadIdentity: WorkloadIdentityQueries? = nil

    /// Creates the set.
    public init(
        store: any Store, sessions: WebSessionService, setup: FirstRunSetup, signIn: any WebPasswordSignIn,
        accounts: AccountAdministration, teams: TeamAdministration, namespaces: NamespaceAdministration,
        repositories: RepositoryAdministration, search: SearchService, stars: StarService,
        tokens: ApplicationTokenService, audit: AuditQueries, robots: RobotAccountService,
        webhooks: @escaping @Sendable (Caller) -> WebhookAdministration, deleter: (any WebRepositoryDeleting)? = nil,
        registries: (any WebRegistryOperations)? = nil
    ) {
        self.robots = robots
        self.webhooks = webhooks
        self.deleter = deleter
        self.registries = registries
        self.store = store
        self.sessions = sessions
        self.setup = setup
        self.signIn = signIn
        self.accounts = accounts
        self.teams = teams
        self.namespaces = namespaces
        self.repositories = repositories
        self.search = search
        self.stars = stars
        self.tokens = tokens
        self.audit = audit
    }
}

/// What a deletion removed.
public struct WebDeletionOutcome: Sendable, Hashable {
    /// The tags that went (a deleted digest takes every tag on it).
    public var removedTags: [String]
    /// The manifests deleted at the registry.
    public var digests: [String]
    /// Whether the repository itself is gone.
    public var repositoryRemoved: Bool

    /// Creates an outcome.
    public init(removedTags: [String], digests: [String], repositoryRemoved: Bool) {
        self.removedTags = removedTags
        self.digests = digests
        self.repositoryRemoved = repositoryRemoved
    }
}

/// Deletes tags and repositories at the registry first, then in the store (`RepositoryDeletion`), as the
/// caller: the policy decides, the registry must accept.
///
/// Contract: throws `AdministrationError` (`.forbidden` with the denial, `.repositoryNotFound`,
/// `.tagNotFound`) or `WebError`-mappable failures with a message for people when the registry refuses or is
/// away; never removes from the store what the registry still holds.
public protocol WebRepositoryDeleting: Sendable {
    /// Deletes `tags` of `repository` (`ns/name`) in `registry`.
    func deleteTags(_ tags: [String], in repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
    /// Deletes `repository` with all its tags.
    func deleteRepository(_ repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
}

/// One registry's state for the admin page.
public struct WebRegistryStatus: Sendable, Hashable {
    /// Its configured name.
    public var name: String
    /// Its API URL.
    public var url: String
    /// Whether `/v2/` answered at the last probe.
    public var isReachable: Bool
    /// When the catalog was last synced, if ever.
    public var lastSync: Date?
    /// What the last sync or probe said went wrong, if anything.
    public var problem: String?
    /// Whether a catalog sync of it runs now.
    public var isSyncing: Bool
    /// How the last sync ended (`succeeded`, `partial`, `failed`), nil if none ran.
    public var lastResult: String?
    /// The last sync's summary of changes.
    public var lastSummary: String?
    /// Registry notifications stored and not yet processed.
    public var eventBacklog: Int

    /// Creates a status.
    public init(
        name: String, url: String, isReachable: Bool, lastSync: Date?, problem: String?, isSyncing: Bool = false,
        lastResult: String? = nil, lastSummary: String? = nil, eventBacklog: Int = 0
    ) {
        self.name = name
        self.url = url
        self.isReachable = isReachable
        self.lastSync = lastSync
        self.problem = problem
        self.isSyncing = isSyncing
        self.lastResult = lastResult
        self.lastSummary = lastSummary
        self.eventBacklog = eventBacklog
    }
}

/// The registries' state and the "sync now" button of the admin page.
///
/// Contract: `statuses` never throws (an unreachable registry is a status); `syncNow` runs or starts a catalog
/// sync of one registry and throws a message for people when it cannot.
public protocol WebRegistryOperations: Sendable {
    /// Every configured registry's state.
    func statuses() async -> [WebRegistryStatus]
    /// Starts a catalog sync of `name` now, recorded in the audit log under `actor`'s name.
    func syncNow(_ name: String, by actor: String) async throws
}
