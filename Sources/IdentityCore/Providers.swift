import Diagnostics
import Foundation
import HTTPFetchingCore
import Storage
import Threading

/// A username and password presented at the token endpoint or a login form.
///
/// The password is never part of `description`, so credentials can be logged by accident safely.
public struct PasswordCredentials: Sendable, CustomStringConvertible {
    /// The login name as typed.
    public var username: String
    /// The secret as typed (a password or an application token).
    public var password: String
    /// The client's IP address, after trusted-proxy resolution (for rate limits and audit).
    public var clientAddress: String

    /// Creates credentials.
    public init(username: String, password: String, clientAddress: String) {
        self.username = username
        self.password = password
        self.clientAddress = clientAddress
    }

    /// A log-safe summary: the password is masked.
    public var description: String { "PasswordCredentials(username: \(username), password: ***)" }
}

/// Why a provider refused credentials it is responsible for.
public enum RejectionReason: Sendable, Hashable {
    /// The secret is wrong (also used for an unknown user of a provider that claims every name).
    case invalidCredentials
    /// Too many failures: the account is locked until this time.
    case locked(until: Date)
    /// The account is disabled.
    case disabled
    /// Too many failures from this client address; retry after this many seconds.
    case rateLimited(retryAfterSeconds: Int)
    /// The credential (an application token) expired or was revoked.
    case expired
}

/// What a password provider decided.
public enum PasswordOutcome: Sendable {
    /// The credentials are good: this is who they belong to.
    case authenticated(ExternalIdentity)
    /// The user is this provider's and the credentials are refused: the chain stops here.
    case rejected(RejectionReason)
    /// The user is not this provider's: the chain asks the next provider.
    case notMine
}

/// A failure to decide (not a "no"): the provider could not reach its directory, is misconfigured,
/// or its peer answered something it could not understand. Maps to 503 at the token endpoint.
public struct ProviderError: CodedError, Sendable, Hashable {
    /// Stable machine-readable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The directory or IdP could not be reached or timed out.
        case unavailable = "provider.unavailable"
        /// The provider's configuration does not work (bad bind DN, bad URL).
        case misconfigured = "provider.misconfigured"
        /// The peer answered something unexpected.
        case protocolViolation = "provider.protocol_violation"
        /// A local dependency (the database) failed.
        case internalFailure = "provider.internal"
        /// The provider vouched for the person, but a configured limit refuses them (not in an allowed
        /// organisation, team, group, workspace or domain).
        case accessDenied = "provider.access_denied"
    }

    /// The code.
    public var code: Code
    /// The provider instance.
    public var provider: ProviderID
    /// Detail for logs; may name hosts, never secrets.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, provider: ProviderID, reason: String) {
        self.code = code
        self.provider = provider
        self.reason = reason
    }

    /// `unavailable (corp-ldap): …`
    public var description: String { "\(code.rawValue) (\(provider)): \(reason)" }

    /// Errors compare by code and provider only, so tests can match them.
    public static func == (lhs: ProviderError, rhs: ProviderError) -> Bool {
        lhs.code == rhs.code && lhs.provider == rhs.provider
    }
    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(provider)
    }
}

extension ProviderError {
    /// Throws `.misconfigured` naming every one of `problems` (a configuration's sentences), unless there are none:
    /// what each plugin's initializer checks first.
    public static func requireNone(_ problems: [String], provider: ProviderID) throws {
        guard problems.isEmpty else {
            throw ProviderError(.misconfigured, provider: provider, reason: problems.joined(separator: "; "))
        }
    }
}

/// A configured identity provider instance; capabilities are the protocols refining this one.
///
/// Contract: instances are created once at start by their factory and used concurrently from many
/// tasks; they must not block the calling task (blocking C calls go to a `BlockingPool`).
public protocol IdentityProvider: Sendable {
    /// The configured id.
    var id: ProviderID { get }
    /// The name shown to users (login buttons, error messages).
    var displayName: String { get }
    /// Releases connections and threads; called once at shutdown.
    func shutdown() async
}

extension IdentityProvider {
    /// Providers without resources to release need not implement `shutdown`.
    public func shutdown() async {}
}

/// A provider that checks a username and password (local passwords, LDAP bind, application tokens).
///
/// Contract:
/// - Called concurrently from many tasks; must not block the caller's thread.
/// - A wrong password is `.rejected(.invalidCredentials)`, never a thrown error.
/// - A username this provider does not know is `.notMine`, so the next provider is asked.
/// - An empty password never authenticates (an LDAP "unauthenticated bind" succeeds on some servers).
/// - Throws `ProviderError` only when it could not decide (directory down, misconfiguration).
/// - The returned identity's `subject` is stable across logins and renames.
public protocol PasswordAuthenticating: IdentityProvider {
    /// Decides whether `credentials` are good.
    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome

    /// What `authenticate` would decide, when that is known at once from memory: `.authenticated` only
    /// when its caches vouch for exactly these credentials under the store's current authorization
    /// generation and `authenticate` would have nothing to record, write or wait for; `.notMine` only when
    /// the credentials are certainly another provider's (no lookup needed). Nil in every other case
    /// (refusals, misses, due bookkeeping), which leaves the decision to `authenticate`.
    ///
    /// Contract: synchronous and non-blocking (it may run on an event-loop thread), without effects that
    /// `authenticate` would not also have had; never `.rejected`. The default answers nil.
    func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome?

    /// Spends the work `authenticate` would spend on a name this provider does not know (one dummy hash
    /// verification, one directory search and bind), without deciding, recording or auditing anything. The
    /// chain calls it on the providers it did not ask because an earlier one refused, so a refusal costs what
    /// an unknown name costs.
    ///
    /// Contract: never throws, never authenticates anyone, never touches a real account (no bind as a real
    /// entry: a directory's own lockout must not count it). The default does nothing, right for providers
    /// whose unknown-name path costs nothing worth measuring.
    func spendDecoyWork(for credentials: PasswordCredentials) async
}

extension PasswordAuthenticating {
    /// Providers without a cache to answer from leave every decision to `authenticate`.
    public func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome? { nil }

    /// Providers whose unknown names cost nothing spend nothing.
    public func spendDecoyWork(for credentials: PasswordCredentials) async {}
}

/// What the web UI needs to send a browser to an external IdP.
public struct RedirectStart: Sendable {
    /// Where to send the browser.
    public var authorizationURL: URL
    /// State kept server-side until the callback (PKCE verifier, nonce), opaque to the caller.
    public var pending: PendingLogin

    /// Creates a redirect start.
    public init(authorizationURL: URL, pending: PendingLogin) {
        self.authorizationURL = authorizationURL
        self.pending = pending
    }
}

/// Provider-private state of a login in progress, stored by the web UI between redirect and callback.
public struct PendingLogin: Sendable, Hashable, Codable {
    /// Opaque provider data (JSON, for example); never shown to the browser.
    public var data: [String: String]
    /// Creates pending state.
    public init(data: [String: String]) { self.data = data }
}

/// The query parameters an IdP sent back to the callback URL.
public struct CallbackParameters: Sendable, Hashable {
    /// The parameters, decoded.
    public var values: [String: String]
    /// Creates callback parameters.
    public init(values: [String: String]) { self.values = values }
}

/// What a provider hands back at the end of a redirect login that is worth keeping for later: the refresh
/// token (revalidation, revocation at sign-out), the ID token (the `id_token_hint` of RP-initiated
/// logout) and, for providers whose access tokens do not expire (GitHub OAuth apps), the access token that
/// revalidation calls the provider's API with. Secrets: stored sealed, never logged or shown.
public struct ProviderGrant: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The OAuth2 refresh token, if the provider issued one.
    public var refreshToken: String?
    /// The compact ID token of the login (OpenID providers), for the logout hint.
    public var idToken: String?
    /// When the access token of this grant expires, if said.
    public var accessTokenExpiresAt: Date?
    /// The OAuth2 access token, kept only by providers that revalidate through their API with it.
    public var accessToken: String?

    /// Creates a grant.
    public init(
        refreshToken: String? = nil, idToken: String? = nil, accessTokenExpiresAt: Date? = nil,
        accessToken: String? = nil
    ) {
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.accessToken = accessToken
    }

    /// A log-safe summary: which tokens are held, never their values.
    public var description: String {
        "ProviderGrant(refreshToken: \(refreshToken == nil ? "-" : "***"), idToken: \(idToken == nil ? "-" : "***"), "
            + "accessToken: \(accessToken == nil ? "-" : "***"))"
    }
}

/// A finished redirect login: who it proved, and the grant to keep.
public struct RedirectLogin: Sendable {
    /// The identity the provider vouched for (its `subject` is stable; its issuer is in `issuer`).
    public var identity: ExternalIdentity
    /// The issuer that vouched (an OpenID provider's `iss`, or the OAuth2 provider's base URL).
    public var issuer: String
    /// Tokens to keep for revalidation and sign-out; nil when there is nothing worth keeping.
    public var grant: ProviderGrant?

    /// Creates a login result.
    public init(identity: ExternalIdentity, issuer: String, grant: ProviderGrant? = nil) {
        self.identity = identity
        self.issuer = issuer
        self.grant = grant
    }
}

/// A provider that logs users in through a browser redirect (OAuth2, OpenID Connect).
///
/// Contract: `beginLogin` builds the authorization URL and the pending state (PKCE verifier, nonce), which
/// the caller keeps in the store or a sealed cookie, never in process memory, and consumes once;
/// `completeLogin` checks the callback against that state (nonce, PKCE, the ID token) and returns the
/// identity. The caller has already checked `state` itself. A refusal by the user or the provider (an `error`
/// parameter) or an answer that fails a check (the ID token's signature, `iss`, `aud`, `nonce`, times) throws
/// a `ProviderError` whose reason names what failed; an unreachable provider throws
/// `ProviderError(.unavailable…)`. Neither may hang: every fetch is bounded.
public protocol RedirectAuthenticating: IdentityProvider {
    /// Starts a login that returns to `callbackURL` carrying `state`.
    func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart
    /// Finishes a login from the IdP's callback.
    func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin
}

/// A redirect provider that can end the person's session at the provider and revoke what it granted.
///
/// Contract: both are best effort from the caller's side: the local session has already ended when they run.
public protocol RedirectSigningOut: RedirectAuthenticating {
    /// Where to send the browser after the local session ended (RP-initiated logout), returning to
    /// `returnURL`; nil when the provider offers no end-session endpoint or it is not configured.
    func signOutURL(grant: ProviderGrant?, returnURL: URL) async -> URL?
    /// Revokes `grant`'s refresh token at the provider; throws `ProviderError` when the provider failed.
    func revoke(_ grant: ProviderGrant) async throws
}

/// A provider that can re-check an identity later (group changes, disabled accounts).
///
/// Contract: returns the refreshed identity, or nil when the user no longer exists or is disabled at
/// the provider; throws `ProviderError` when it cannot decide.
public protocol IdentityRefreshing: IdentityProvider {
    /// Re-reads `identity` at the provider.
    func refresh(_ identity: ExternalIdentity) async throws -> ExternalIdentity?
}

/// A redirect provider that re-checks a federated identity with the grant kept from its login (a refresh
/// token, or the provider's API with it), for the revalidation job.
///
/// Contract: `.valid` with the refreshed identity and the grant to keep from now on (refresh tokens
/// rotate); `.gone` when the provider says the person no longer exists, is disabled, revoked the grant
/// (`invalid_grant`) or left the allowed organisations; throws `ProviderError(.unavailable…)` when it could
/// not decide (an outage: the caller applies its grace period).
public protocol GrantRevalidating: RedirectAuthenticating {
    /// Re-checks `identity` with `grant`.
    func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation
}

/// The answer of `GrantRevalidating.revalidate`.
public enum Revalidation: Sendable {
    /// Still valid: the refreshed identity and the grant to keep.
    case valid(ExternalIdentity, ProviderGrant?)
    /// No longer valid at the provider.
    case gone(reason: String)
}

/// Where providers record security events (failures, lockouts) for the audit log.
///
/// Contract: must not throw or block for long; a provider never fails a login because auditing failed.
public protocol AuditRecording: Sendable {
    /// Records one event.
    func record(_ event: NewAuditEvent) async

    /// Records `event` if that needs no waiting at all, and says whether it did; false (nothing recorded)
    /// when `record` would make its caller wait, for a commit or for room in a backlog.
    ///
    /// Contract: synchronous and non-blocking, callable from any thread. The default records nothing and
    /// answers false.
    func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool

    /// Records `event` and says whether it is safe to act on it: false only when the recorder waits for
    /// commits (`audit.waitForCommit`) and the event could not be stored, so the caller can refuse what it
    /// was about to grant rather than grant it unaudited.
    ///
    /// Contract: as `record`. The default records and answers true.
    func recordConfirmingStorage(_ event: NewAuditEvent) async -> Bool
}

extension AuditRecording {
    /// Recorders that always make their callers wait record nothing here.
    public func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool { false }

    /// Recorders that cannot tell record and answer true.
    public func recordConfirmingStorage(_ event: NewAuditEvent) async -> Bool {
        await record(event)
        return true
    }
}

/// What the composition root hands every provider factory: the only way providers reach shared
/// services, so tests can swap each one.
public struct ProviderContext: Sendable {
    /// A logger labelled for the provider.
    public var logger: Logger
    /// The store (local passwords and application tokens read accounts from it).
    public var store: any Store
    /// Threads for blocking I/O (LDAP, HTTP).
    public var ioPool: BlockingPool
    /// Threads for CPU-heavy work (password hashing); as many as cores, an admission limit too.
    public var cpuPool: BlockingPool
    /// The audit sink.
    public var audit: any AuditRecording
    /// The clock (tests fix it).
    public var now: @Sendable () -> Date
    /// Outbound HTTP (OpenID discovery, JWKS, token endpoints, provider APIs): the only way a plugin reaches
    /// the network over HTTP, so no plugin links libcurl and tests hand a loopback-only or scripted fetcher.
    /// Defaults to one that refuses every request.
    public var http: any HTTPFetching

    /// Creates a context.
    public init(
        logger: Logger, store: any Store, ioPool: BlockingPool, cpuPool: BlockingPool, audit: any AuditRecording,
        now: @escaping @Sendable () -> Date = { Date() }, http: any HTTPFetching = NoHTTPFetching()
    ) {
        self.logger = logger
        self.store = store
        self.ioPool = ioPool
        self.cpuPool = cpuPool
        self.audit = audit
        self.now = now
        self.http = http
    }
}

/// Makes provider instances of one type from their configuration (Dex's `Config.Open`).
///
/// Contract: `make` validates the configuration and throws a `ProviderError(.misconfigured)` naming the
/// problem; it must not do network I/O (start-up must not hang on an unreachable directory).
/// Factory types are `SendableMetatype` so a `ProviderRegistry` of them can be shared across tasks.
public protocol ProviderFactory: SendableMetatype {
    /// The `type` this factory answers to in `providers:` entries (`local`, `ldap`, `oidc`).
    static var typeName: String { get }
    /// The typed `config:` block of an entry of this type.
    associatedtype Configuration: Decodable & Sendable
    /// Creates an instance.
    static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider
}
