import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization
import Threading

/// Checks usernames and passwords against the Portcullis user table (`type: local`).
///
/// Behaviour, in the order checks run:
/// 1. A client address over its failure limit is `.rejected(.rateLimited)` before any database or bcrypt work.
/// 2. An unknown user, or one without a password hash (external-only), costs one dummy hash verification
///    of the same kind as real ones and is `.notMine`, so a directory provider later in the chain can
///    claim the name and response times do not reveal which names exist.
/// 3. A disabled user is `.rejected(.disabled)`; a locked one `.rejected(.locked(until:))` (no bcrypt).
/// 4. A username+password verified within the cache TTL, against the hash still stored, is accepted
///    without bcrypt; otherwise bcrypt/yescrypt runs on `context.cpuPool`.
/// 5. A wrong password counts towards lockout (every `lockout.attempts` consecutive failures lock the
///    account for `lockout.duration`) and the client address's rate limit, and is audited.
///
/// Threading: an immutable object with lock-protected caches; `authenticate` may run concurrently.
public final class LocalPasswordProvider: PasswordAuthenticating, ProviderFactory {
    /// The `type` of `providers:` entries this plugin serves.
    public static let typeName = "local"

    /// Checks a password against a stored modular-crypt hash; runs on the CPU pool. Tests swap it to count calls.
    public typealias PasswordVerifier = @Sendable (_ password: String, _ hash: String) -> Bool

    /// Counters of the work done so far (exported as metrics, and how tests see the cache work).
    public struct Statistics: Sendable, Hashable {
        /// Password verifications against real user hashes.
        public var passwordVerifications: Int
        /// Logins accepted from the verified-credential cache without hashing.
        public var cacheHits: Int
        /// Dummy verifications spent on unknown or external-only users.
        public var dummyVerifications: Int
    }

    /// Usernames longer than this are never looked up.
    public static let maximumUsernameBytes = 512

    /// The configured id.
    public let id: ProviderID
    /// The name shown to users.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration

    private let context: ProviderContext
    private let verifier: PasswordVerifier
    private let cache: VerifiedCredentialCache?
    private let limiter: FailureRateLimiter
    /// Accounts by username, trusted while the store's authorization generation holds (a password change,
    /// disable or lock advances it); failures made here drop the entry at once.
    private let accounts = AuthorizationCache<String, User>(capacity: 10_000)
    /// The hash method of the last real hash seen, so dummy work costs what real work costs.
    private let typicalMethod: Mutex<PasswordHash.Method>
    private let dummyHashes = Mutex<[PasswordHash.Method: String]>([:])
    private let verifications = Atomic<Int>(0)
    private let cacheHits = Atomic<Int>(0)
    private let dummyVerifications = Atomic<Int>(0)

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - unknownUserHashMethod: the dummy hash kind used for unknown users until a real hash has been
    ///     seen (then the dummy follows the real hashes' kind and cost). Default bcrypt cost 12, what the CLI uses.
    ///   - verifier: the password check; the default is `PasswordHash.verify`.
    /// - Throws: `ProviderError(.misconfigured)` naming every problem of `configuration`.
    public init(
        id: ProviderID, displayName: String, configuration: Configuration = Configuration(), context: ProviderContext,
        unknownUserHashMethod: PasswordHash.Method = .bcrypt(cost: 12),
        verifier: @escaping PasswordVerifier = { PasswordHash.verify(password: $0, against: $1) }
    ) throws {
        let problems = configuration.problems
        guard problems.isEmpty else {
            throw ProviderError(.misconfigured, provider: id, reason: problems.joined(separator: "; "))
        }
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        self.context = context
        self.verifier = verifier
        self.cache =
            configuration.cache.enabled && configuration.cache.ttl.seconds > 0
            ? VerifiedCredentialCache(
                ttl: configuration.cache.ttl.timeInterval, capacity: configuration.cache.maxEntries) : nil
        self.limiter = FailureRateLimiter(
            limit: configuration.rateLimit.failures, window: configuration.rateLimit.window.timeInterval)
        self.typicalMethod = Mutex(unknownUserHashMethod)
        // Make the first dummy hash now, off the request path, so the first unknown user costs
        // one verification like everyone else rather than a hash plus a verification.
        context.cpuPool.submit { [self] in
            let secret = SecureRandom.bytes(count: 16).map { String($0, radix: 16) }.joined()
            guard let made = try? PasswordHash.make(password: secret, method: unknownUserHashMethod) else { return }
            self.dummyHashes.withLock { if $0[unknownUserHashMethod] == nil { $0[unknownUserHashMethod] = made } }
        }
    }

    /// Makes a provider for a `type: local` entry.
    public static func make(
        id: ProviderID, displayName: String, configuration: Configuration, context: ProviderContext
    ) throws -> any IdentityProvider {
        try LocalPasswordProvider(id: id, displayName: displayName, configuration: configuration, context: context)
    }

    /// The work counters so far.
    public var statistics: Statistics {
        Statistics(
            passwordVerifications: verifications.load(ordering: .relaxed),
            cacheHits: cacheHits.load(ordering: .relaxed),
            dummyVerifications: dummyVerifications.load(ordering: .relaxed))
    }

    // MARK: - Authentication

    /// Decides whether `credentials` belong to a local account; throws only when the store fails.
    public func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        let now = context.now()
        if let refusal = limiter.refusal(for: credentials.clientAddress, now: now) {
            if refusal.isFirst { await audit(credentials, user: nil, reason: "rate_limited") }
            return .rejected(.rateLimited(retryAfterSeconds: refusal.retryAfterSeconds))
        }
        let username = credentials.username
        // No stored name is this long; refusing early keeps hostile input away from the database.
        guard username.utf8.count <= Self.maximumUsernameBytes else { return .notMine }
        guard let user = try await account(named: username), let storedHash = user.passwordHash else {
            await spendDummyVerification(credentials.password)
            return .notMine
        }
        guard user.isEnabled else {
            await audit(credentials, user: user, reason: "disabled")
            return .rejected(.disabled)
        }
        if let lockedUntil = user.lockedUntil, lockedUntil > now {
            await audit(credentials, user: user, reason: "locked")
            return .rejected(.locked(until: lockedUntil))
        }

        let password = credentials.password
        let cacheKey = password.isEmpty ? nil : cache?.key(username: user.username, password: password)
        if let cache, let cacheKey, let entry = cache.entry(for: cacheKey, now: now) {
            if entry.userID == user.id && ConstantTime.equals(entry.passwordHash, storedHash) {
                cacheHits.add(1, ordering: .relaxed)
                await noteSuccess(of: user, at: now)
                return .authenticated(identity(of: user))
            }
            // The password changed (or the name now belongs to someone else): verify afresh.
            cache.remove(cacheKey)
        }

        var matched = false
        if !password.isEmpty {
            let verifier = self.verifier
            matched = await context.cpuPool.run { verifier(password, storedHash) }
            verifications.add(1, ordering: .relaxed)
            noteHashMethod(of: storedHash)
        }
        let after = context.now()
        if matched {
            if let cache, let cacheKey {
                cache.insert(cacheKey, userID: user.id, passwordHash: storedHash, now: after)
            }
            await noteSuccess(of: user, at: after)
            return .authenticated(identity(of: user))
        }
        await noteFailure(of: user, credentials, at: after)
        return .rejected(.invalidCredentials)
    }

    /// `.authenticated` when the username and password were verified within the cache TTL against the
    /// password hash of the cached, enabled, unlocked account (under the current authorization generation),
    /// the client address is not rate limited and no login bookkeeping is due to be written; nil otherwise,
    /// leaving misses, refusals and writes to `authenticate`. A cached hit is not a password attempt: it
    /// counts towards nothing but `Statistics.cacheHits`.
    public func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome? {
        guard let cache, !credentials.password.isEmpty else { return nil }
        let now = context.now()
        guard !limiter.isRefusing(credentials.clientAddress, now: now),
            credentials.username.utf8.count <= Self.maximumUsernameBytes,
            let user = accounts.value(for: credentials.username, at: context.store.authorizationGeneration),
            let storedHash = user.passwordHash, user.isEnabled, !(user.lockedUntil.map { $0 > now } ?? false),
            !needsLoginWrite(user, at: now),
            let entry = cache.entry(for: cache.key(username: user.username, password: credentials.password), now: now),
            entry.userID == user.id, ConstantTime.equals(entry.passwordHash, storedHash)
        else { return nil }
        cacheHits.add(1, ordering: .relaxed)
        return .authenticated(identity(of: user))
    }

    /// Whether a successful login of `user` at `now` writes to the store: when failures or a lock are to
    /// be cleared, or the last-login time is over a minute old.
    private func needsLoginWrite(_ user: User, at now: Date) -> Bool {
        let stale = user.lastLoginAt.map { now.timeIntervalSince($0) >= 60 } ?? true
        return user.failedLoginCount > 0 || user.lockedUntil != nil || stale
    }

    /// The account with this username: from the cache while the generation holds, else from the store.
    /// Unknown names are not cached, so guessing fills nothing.
    private func account(named username: String) async throws -> User? {
        let generation = context.store.authorizationGeneration
        if let cached = accounts.value(for: username, at: generation) { return cached }
        let found: User?
        do {
            found = try await context.store.read { try $0.user(named: username) }
        } catch {
            throw ProviderError(.internalFailure, provider: id, reason: "reading the user failed: \(error)")
        }
        if let found { accounts.insert(found, for: username, readAt: generation) }
        return found
    }

    private func identity(of user: User) -> ExternalIdentity {
        ExternalIdentity(
            provider: id, subject: String(user.id.rawValue), username: user.username, email: user.email,
            displayName: user.displayName, origin: .localAccount(userID: user.id.rawValue))
    }

    /// Clears failures and notes the login, but writes only when something changes or the last-login
    /// time is over a minute old, so a busy client costs reads, not writes.
    private func noteSuccess(of user: User, at now: Date) async {
        guard needsLoginWrite(user, at: now) else { return }
        // The cached account learns what is being written first, so concurrent logins do not all write.
        _ = accounts.modify(user.username) { account in
            account.lastLoginAt = now
            account.failedLoginCount = 0
            account.lockedUntil = nil
        }
        let userID = user.id
        do {
            try await context.store.write { try $0.recordSuccessfulLogin(of: userID, at: now) }
        } catch {
            // The password was right; a busy database must not turn that into a refusal.
            context.logger.warning(
                "recording a successful login failed", ["user": user.username, "error": String(describing: error)])
        }
    }

    /// Counts the failure towards lockout and the rate limit, and audits it.
    private func noteFailure(of user: User, _ credentials: PasswordCredentials, at now: Date) async {
        limiter.recordFailure(from: credentials.clientAddress, now: now)
        // The failure count (and maybe a lock) changes below: the next login must read it afresh.
        accounts.remove(user.username)
        let attempts = configuration.lockout.attempts
        let duration = configuration.lockout.duration.timeInterval
        let userID = user.id
        var newlyLocked = false
        do {
            newlyLocked = try await context.store.write { transaction -> Bool in
                guard let fresh = try transaction.user(id: userID) else { return false }
                let count = fresh.failedLoginCount + 1
                // Every `attempts`-th consecutive failure locks, so an expired lock grants a fresh
                // `attempts` tries without needing a separate reset.
                let locks = attempts > 0 && count % attempts == 0
                _ = try transaction.recordFailedLogin(
                    of: userID, lockedUntil: locks ? now.addingTimeInterval(duration) : fresh.lockedUntil)
                return locks
            }
        } catch {
            context.logger.warning(
                "recording a failed login failed", ["user": user.username, "error": String(describing: error)])
        }
        await audit(credentials, user: user, reason: newlyLocked ? "invalid_credentials_locked" : "invalid_credentials")
        if newlyLocked {
            context.logger.notice(
                "account locked after repeated wrong passwords",
                ["user": user.username, "client": credentials.clientAddress])
        }
    }

    // MARK: - Unknown users

    /// Verifies the password against a dummy hash so unknown names cost what known ones do.
    private func spendDummyVerification(_ password: String) async {
        let method = typicalMethod.withLock { $0 }
        guard let dummy = await dummyHash(for: method) else { return }
        let verifier = self.verifier
        _ = await context.cpuPool.run { verifier(password.isEmpty ? "-" : password, dummy) }
        dummyVerifications.add(1, ordering: .relaxed)
    }

    private func dummyHash(for method: PasswordHash.Method) async -> String? {
        if let known = dummyHashes.withLock({ $0[method] }) { return known }
        let secret = SecureRandom.bytes(count: 16).map { String($0, radix: 16) }.joined()
        guard let made = try? await context.cpuPool.run({ try PasswordHash.make(password: secret, method: method) })
        else { return nil }
        dummyHashes.withLock { $0[method] = made }
        return made
    }

    /// Remembers the kind and cost of a real hash (`$2b$10$…` → bcrypt 10, `$y$…` → yescrypt).
    private func noteHashMethod(of hash: String) {
        let method: PasswordHash.Method
        if hash.hasPrefix("$y$") {
            method = .yescrypt
        } else {
            let parts = hash.split(separator: "$", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasPrefix("2"), let cost = Int(parts[1]), (4...31).contains(cost) else {
                return
            }
            method = .bcrypt(cost: cost)
        }
        typicalMethod.withLock { $0 = method }
    }

    // MARK: - Audit

    private func audit(_ credentials: PasswordCredentials, user: User?, reason: String) async {
        let detail = ["provider": id.rawValue, "reason": reason]
        let json = (try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) }
        await context.audit.record(
            NewAuditEvent(
                action: "login.password", outcome: .denied, actorID: user?.id, actorName: user?.username,
                target: "user:\(credentials.username.prefix(200))", clientIP: credentials.clientAddress,
                detail: json, time: context.now()))
    }
}
