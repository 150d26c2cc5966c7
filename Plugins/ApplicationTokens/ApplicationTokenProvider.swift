import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage

/// Accepts application tokens as the password of `docker login` (`type: application-tokens`), and robot
/// accounts' tokens (`pcr_…`, with the robot's `<team>+<name>` as the username; see `RobotTokenVerifier`).
///
/// A password that is not a well-formed `pct_` token (wrong prefix, length, alphabet or checksum) is
/// `.notMine` at once, without touching the database, so the chain goes on to local passwords. A
/// well-formed token is this provider's: unknown → `.rejected(.invalidCredentials)`; the username is
/// not the owner's (in any spelling of its case, as logins are) → `.rejected(.invalidCredentials)`; revoked or expired →
/// `.rejected(.expired)`; owner disabled → `.rejected(.disabled)`. Success carries the token's
/// restriction and notes the last-used time at most once per `touchInterval`.
///
/// Threading: immutable; `authenticate` may run concurrently.
public final class ApplicationTokenProvider: PasswordAuthenticating, ProviderFactory {
    /// The `type` of `providers:` entries this plugin serves.
    public static let typeName = "application-tokens"

    /// The `config:` block of a `type: application-tokens` entry; every field is optional.
    ///
    /// ```yaml
    /// providers:
    ///   - id: tokens
    ///     type: application-tokens
    ///     order: 0          # before `local`: a token is recognised without a database read
    ///     config:
    ///       touchInterval: 1m   # write a token's last-used time at most this often
    /// ```
    public struct Configuration: Decodable, Sendable, Hashable {
        /// The least time between two writes of a token's last-used time. Default 1 minute.
        public var touchInterval: ConfigDuration

        /// The defaults, overridden by the given values.
        public init(touchInterval: ConfigDuration = .minutes(1)) {
            self.touchInterval = touchInterval
        }

        private enum CodingKeys: String, CodingKey { case touchInterval }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            touchInterval =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .touchInterval) ?? .minutes(1)
        }
    }

    /// The configured id.
    public let id: ProviderID
    /// The name shown to users.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration
    private let context: ProviderContext
    /// Tokens seen recently, by secret hash; bounded so a fleet of distinct tokens cannot grow it without end.
    private let cache = AuthorizationCache<String, StoredToken>(capacity: 10_000)
    /// The check of robot accounts' `pcr_` tokens, which this provider also accepts.
    private let robots: RobotTokenVerifier

    /// Creates a provider.
    public init(
        id: ProviderID, displayName: String, configuration: Configuration = Configuration(), context: ProviderContext
    ) {
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        self.context = context
        self.robots = RobotTokenVerifier(
            id: id, context: context, touchInterval: configuration.touchInterval.timeInterval)
    }

    /// Makes a provider for a `type: application-tokens` entry.
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        ApplicationTokenProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    /// Decides whether the password is a valid token of the named user; throws only when the store fails
    /// or the token's stored restriction is unreadable (failing closed).
    ///
    /// A token seen before is decided from memory while the store's authorization generation is unchanged
    /// (no revocation, expiry change, owner change in between): CI fleets present the same token for every
    /// pull, and the store hop was most of a token request's cost.
    public func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        let secret = credentials.password
        if RobotTokenVerifier.claims(secret) { return try await robots.authenticate(credentials) }
        // Ordinary passwords (wrong length or prefix) are not ours: decided before any hashing.
        guard secret.utf8.count == ApplicationTokenFormat.length, secret.hasPrefix(ApplicationTokenFormat.prefix)
        else { return .notMine }
        let hash = ApplicationTokenFormat.secretHash(of: secret)
        // Only well-formed tokens are ever cached, so a hit needs no format check; a miss does, before the
        // store is asked about a password that is not a token at all.
        let cached = cache.value(for: hash, at: context.store.authorizationGeneration)
        guard cached != nil || ApplicationTokenFormat.isWellFormed(secret) else { return .notMine }
        let stored: StoredToken?
        if let cached { stored = cached } else { stored = try await lookUp(hash) }
        guard let found = stored,
            // The lookup was by hash; comparing the hash again in constant time keeps the decision
            // independent of how the database (or the cache's dictionary) matched.
            ConstantTime.equals(found.token.secretHash, hash)
        else {
            await audit(credentials, token: nil, owner: nil, reason: "unknown_token")
            return .rejected(.invalidCredentials)
        }
        let (token, owner) = (found.token, found.owner)
        guard Username.namesSameAccount(owner.username, credentials.username) else {
            await audit(credentials, token: token, owner: owner, reason: "wrong_username")
            return .rejected(.invalidCredentials)
        }
        let now = context.now()
        guard token.isUsable(at: now) else {
            await audit(credentials, token: token, owner: owner, reason: token.revokedAt == nil ? "expired" : "revoked")
            return .rejected(.expired)
        }
        guard owner.isEnabled else {
            await audit(credentials, token: token, owner: owner, reason: "disabled")
            return .rejected(.disabled)
        }
        let restriction: AccessRestriction?
        do {
            restriction = try token.decodedRestriction()
        } catch {
            context.logger.error("application token has an unreadable restriction", ["token_id": "\(token.id)"])
            throw ProviderError(
                .internalFailure, provider: id, reason: "token \(token.id) has an unreadable restriction")
        }
        await touch(token, hash: hash, at: now)
        return .authenticated(identity(of: owner, restriction: restriction))
    }

    /// `.notMine` for a password that is not token-shaped; `.authenticated` for a cached token of the named,
    /// enabled owner that is usable now, whose last-used time is not due to be written; nil otherwise
    /// (misses, refusals and due writes are `authenticate`'s, which audits and writes them).
    public func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome? {
        let secret = credentials.password
        // Robot tokens are decided by `authenticate`, from the store.
        if RobotTokenVerifier.claims(secret) { return nil }
        guard secret.utf8.count == ApplicationTokenFormat.length, secret.hasPrefix(ApplicationTokenFormat.prefix)
        else { return .notMine }
        let hash = ApplicationTokenFormat.secretHash(of: secret)
        guard let found = cache.value(for: hash, at: context.store.authorizationGeneration),
            ConstantTime.equals(found.token.secretHash, hash)
        else { return nil }
        let (token, owner) = (found.token, found.owner)
        let now = context.now()
        guard Username.namesSameAccount(owner.username, credentials.username), token.isUsable(at: now), owner.isEnabled,
            !isTouchDue(token.lastUsedAt, at: now)
        else { return nil }
        // An unreadable restriction fails closed, in `authenticate`.
        let restriction: AccessRestriction?
        do { restriction = try token.decodedRestriction() } catch { return nil }
        return .authenticated(identity(of: owner, restriction: restriction))
    }

    private func identity(of owner: User, restriction: AccessRestriction?) -> ExternalIdentity {
        ExternalIdentity(
            provider: id, subject: String(owner.id.rawValue), username: owner.username, email: owner.email,
            displayName: owner.displayName, origin: .localAccount(userID: owner.id.rawValue),
            restriction: restriction, credential: .applicationToken)
    }

    /// Whether a token last used at `lastUsed` should have its last-used time written at `now`.
    private func isTouchDue(_ lastUsed: Date?, at now: Date) -> Bool {
        lastUsed.map { now.timeIntervalSince($0) >= configuration.touchInterval.timeInterval } ?? true
    }

    /// A stored token and its owner, as read under one authorization generation.
    private struct StoredToken: Sendable {
        var token: ApplicationToken
        var owner: User
    }

    /// The token with this secret hash and its owner, read from the store and cached under the generation
    /// read before the read. Unknown hashes are not cached, so guessing fills nothing.
    private func lookUp(_ hash: String) async throws -> StoredToken? {
        let generation = context.store.authorizationGeneration
        let found: StoredToken?
        do {
            found = try await context.store.read { reader -> StoredToken? in
                guard let token = try reader.applicationToken(secretHash: hash),
                    let owner = try reader.user(id: token.ownerID)
                else { return nil }
                return StoredToken(token: token, owner: owner)
            }
        } catch {
            throw ProviderError(.internalFailure, provider: id, reason: "reading the token failed: \(error)")
        }
        if let found { cache.insert(found, for: hash, readAt: generation) }
        return found
    }

    /// Writes the last-used time unless it was written within `touchInterval`: no write per request.
    /// The cached copy is updated first, so of many requests arriving together only one writes.
    private func touch(_ token: ApplicationToken, hash: String, at now: Date) async {
        func isDue(_ lastUsed: Date?) -> Bool { isTouchDue(lastUsed, at: now) }
        // Most requests fall well inside the interval: decided from the copy in hand, without the cache's lock.
        guard isDue(token.lastUsedAt) else { return }
        let due =
            cache.modify(hash) { stored -> Bool in
                guard isDue(stored.token.lastUsedAt) else { return false }
                stored.token.lastUsedAt = now
                return true
            } ?? isDue(token.lastUsedAt)
        guard due else { return }
        let tokenID = token.id
        do {
            try await context.store.write { try $0.touchApplicationToken(tokenID, at: now) }
        } catch {
            context.logger.warning(
                "recording application token use failed", ["token_id": "\(tokenID)", "error": "\(error)"])
        }
    }

    private func audit(_ credentials: PasswordCredentials, token: ApplicationToken?, owner: User?, reason: String)
        async
    {
        var detail = ["provider": id.rawValue, "reason": reason]
        if let token {
            detail["token"] = token.name
            detail["token_prefix"] = token.prefix
        }
        let json = (try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) }
        await context.audit.record(
            NewAuditEvent(
                action: "login.application_token", outcome: .denied, actorID: owner?.id, actorName: owner?.username,
                target: "user:\(credentials.username.prefix(200))", clientIP: credentials.clientAddress,
                detail: json, time: now()))
    }

    private func now() -> Date { context.now() }
}
