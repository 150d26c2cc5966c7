import Foundation

/// What the password chain decided for one set of credentials.
public enum ChainOutcome: Sendable {
    /// A provider vouched for the credentials: this is who they belong to.
    case authenticated(ExternalIdentity)
    /// The provider responsible for the user refused the credentials; later providers were not asked.
    case rejected(by: ProviderID, RejectionReason)
    /// No provider claimed the user (or the password was empty): deny.
    case unknownUser
    /// A provider could not decide (directory down, database failure); the chain stopped there.
    case unavailable(ProviderError)
    /// The client address is over its guessing limits; no provider was asked (see `GuessingThrottle`).
    case throttled(Throttling)

    /// Whether this is a failed login that counts towards the client address's guessing limit: every
    /// refusal and every unknown name, but neither an outage nor a throttled attempt.
    public var countsAsFailure: Bool {
        switch self {
        case .rejected(_, .rateLimited): false
        case .rejected, .unknownUser: true
        case .authenticated, .unavailable, .throttled: false
        }
    }
}

/// The `/v2/token` login path: asks the password providers in their configured order.
///
/// Rules:
/// - An empty password (or username) never authenticates and is refused before any provider is asked,
///   so no provider can be tricked into an LDAP-style "unauthenticated bind".
/// - The first `.authenticated` wins; a `.rejected` stops the chain (the user belongs to that provider);
///   `.notMine` moves on; running off the end is `.unknownUser`, a deny.
/// - A provider that throws stops the chain with `.unavailable`. The next provider is deliberately
///   **not** tried: if a directory outage fell through to a weaker provider (a stale local password,
///   a second directory with the same usernames), an attacker could pick which provider checks a
///   password by knocking the first one over. A 503 is the honest answer.
///
/// Guessing (see `GuessingThrottle`): an address over its failure limit, or with too many checks running,
/// is `.throttled` before any provider works; every failed login (`ChainOutcome.countsAsFailure`) counts
/// towards the limit, whichever provider decided, unknown names included.
///
/// Equal work: when a provider refuses, every provider after it that was not asked spends the work it would
/// have spent on an unknown name (`PasswordAuthenticating.spendDecoyWork(for:)`), so a refusal costs what an
/// unknown name costs and response times do not say which provider, if any, knows the name.
///
/// Threading: a value type holding `Sendable` providers; `authenticate` may be called concurrently.
public struct PasswordChain: Sendable {
    /// The providers in the order they are asked.
    public let providers: [any PasswordAuthenticating]
    /// The per-address guessing brake; nil: no limit.
    public let throttle: GuessingThrottle?
    /// Whether a check takes one of the address's concurrent-check slots (`GuessingLimits.concurrentChecks`). The
    /// bound is for checks that cost bcrypt or a directory bind; a chain of application-token providers only (a
    /// hash and one indexed read) goes without it, so an API client using one good token over many connections is
    /// not refused right after a write made its token be looked up again. Failures count and refuse either way.
    public let boundsConcurrentChecks: Bool
    private let now: @Sendable () -> Date

    /// Creates a chain of `providers`, already sorted in their configured order, limited by `throttle`.
    public init(
        _ providers: [any PasswordAuthenticating], throttle: GuessingThrottle? = nil,
        boundsConcurrentChecks: Bool = true, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.providers = providers
        self.throttle = throttle
        self.boundsConcurrentChecks = boundsConcurrentChecks
        self.now = now
    }

    /// Decides whether `credentials` are good; never throws (a failure to decide is `.unavailable`).
    public func authenticate(_ credentials: PasswordCredentials) async -> ChainOutcome {
        let address = credentials.clientAddress
        let outcome: ChainOutcome
        if boundsConcurrentChecks {
            if let refusal = throttle?.beginCheck(from: address, now: now()) { return .throttled(refusal) }
            defer { throttle?.finishCheck(from: address) }
            outcome = await decide(credentials)
        } else {
            if let refusal = throttle?.failureRefusal(of: address, now: now()) { return .throttled(refusal) }
            outcome = await decide(credentials)
        }
        if outcome.countsAsFailure { await throttle?.recordSharedFailure(from: address, now: now()) }
        return outcome
    }

    private func decide(_ credentials: PasswordCredentials) async -> ChainOutcome {
        guard !credentials.password.isEmpty, !credentials.username.isEmpty else { return .unknownUser }
        // No provider is asked about a name or password holding a NUL: crypt(3), libldap and libpq read C strings
        // and would check what comes before it instead ("alice\0x" as "alice").
        guard !credentials.username.utf8.contains(0), !credentials.password.utf8.contains(0) else {
            return .unknownUser
        }
        for (index, provider) in providers.enumerated() {
            let outcome: PasswordOutcome
            do {
                outcome = try await provider.authenticate(credentials)
            } catch let error as ProviderError {
                return .unavailable(error)
            } catch {
                // Only `ProviderError` is part of the contract; anything else is a provider bug, and
                // still must not fall through to the next provider.
                return .unavailable(
                    ProviderError(.internalFailure, provider: provider.id, reason: String(describing: error)))
            }
            switch outcome {
            case .authenticated(let identity): return .authenticated(identity)
            case .rejected(let reason):
                for later in providers[(index + 1)...] { await later.spendDecoyWork(for: credentials) }
                return .rejected(by: provider.id, reason)
            case .notMine: continue
            }
        }
        return .unknownUser
    }

    /// The identity `authenticate` would return, when the providers' caches answer at once: each provider
    /// before the deciding one must know the credentials are not its own, and the deciding one must vouch
    /// for them from memory (`PasswordAuthenticating.cachedOutcome(for:)`). Nil otherwise, refusals and
    /// unknown users included: those are only ever decided by `authenticate`.
    /// A throttled address gets nil too, so its refusal is decided (and audited) by `authenticate`.
    public func cachedAuthentication(_ credentials: PasswordCredentials) -> ExternalIdentity? {
        guard !credentials.password.isEmpty, !credentials.username.isEmpty else { return nil }
        if let throttle, throttle.isRefusing(credentials.clientAddress, now: now()) { return nil }
        for provider in providers {
            switch provider.cachedOutcome(for: credentials) {
            case .authenticated(let identity): return identity
            case .notMine: continue
            case .rejected, nil: return nil
            }
        }
        return nil
    }
}
