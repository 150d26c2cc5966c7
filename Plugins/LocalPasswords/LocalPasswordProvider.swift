import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization
import Threading

/// Checks usernames and passwords against the Portcullis user table (`type: local`).
///
/// Behaviour, in the order checks run (the per-address guessing limit is the password chain's, see
/// `GuessingThrottle`):
/// 1. An unknown user, or one without a password hash (external-only), costs one dummy hash verification
///    of the same kind as real ones and is `.notMine`, so a directory provider later in the chain can
///    claim the name and response times do not reveal which names exist.
/// 2. A username+password verified within the cache TTL, against the hash still stored, of an enabled and
///    unlocked account, is accepted without bcrypt; otherwise bcrypt/yescrypt runs on `context.cpuPool`,
///    for disabled and locked accounts too, so they cost what any other name costs.
/// 3. A wrong password is `.rejected(.invalidCredentials)` whatever the account's state: it counts towards
///    lockout (see `Lockout`: per account and client address first, account-wide at `accountAttempts`) and
///    is audited.
/// 4. A right password of a disabled account is `.rejected(.disabled)`; of a locked one
///    `.rejected(.locked(until:))` from an address the account logged in from before (its owner's), and
///    `.rejected(.invalidCredentials)` from any other, so a lock never tells a guesser that a guess was right.
///
/// Lock state is in the store (`AddressLoginState`, and the account-wide count and lock on the user), so
/// every instance sharing the database sees it.
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
        /// Dummy verifications spent on unknown or external-only users (and as decoy work for the chain).
        public var dummyVerifications: Int

        /// Every hash verification, real or dummy: what a login cost in hashing.
        public var hashVerifications: Int { passwordVerifications + dummyVerifications }
    }

    /// Usernames longer than this are never looked up.
    public static let maximumUsernameBytes = 512
    /// How long after its last successful login an address counts as the account's own: an account-wide
    /// lock does not shut it out, and a locked account says "locked" there.
    public static let knownAddressPeriod: TimeInterval = 90 * 86_400

    /// The configured id.
    public let id: ProviderID
    /// The name shown to users.
    public let displayName: String
    /// The settings in force.
    public let configuration: Configuration

    private let context: ProviderContext
    private let verifier: PasswordVerifier
    private let cache: VerifiedCredentialCache?
    /// Accounts with their record from one client address, trusted while the store's authorization
    /// generation holds (a password change, disable or lock, here or per address, advances it); failures
    /// made here drop the entry at once.
    private let accounts = AuthorizationCache<AccountKey, AccountView>(capacity: 10_000)
    /// The hash method of the last real hash seen, so dummy work costs what real work costs.
    private let typicalMethod: Mutex<PasswordHash.Method>
    private let dummyHashes = Mutex<[PasswordHash.Method: String]>([:])
    private let verifications = Atomic<Int>(0)
    private let cacheHits = Atomic<Int>(0)
    private let dummyVerifications = Atomic<Int>(0)

    private struct AccountKey: Hashable, Sendable {
        var username: String
        var clientAddress: String
    }

    /// An account as seen from one client address.
    private struct AccountView: Sendable {
        var user: User
        var address: AddressLoginState?
    }

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
        try ProviderError.requireNone(configuration.problems, provider: id)
        self.id = id
        self.displayName = displayName
        self.configuration = configuration
        self.context = context
        self.verifier = verifier
        self.cache =
            configuration.cache.enabled && configuration.cache.ttl.seconds > 0
            ? VerifiedCredentialCache(
                ttl: configuration.cache.ttl.timeInterval, capacity: configuration.cache.maxEntries) : nil
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
        let username = credentials.username
        // No stored name is this long; refusing early keeps hostile input away from the database.
        guard username.utf8.count <= Self.maximumUsernameBytes else {
            await spendDummyVerification(credentials.password)
            return .notMine
        }
        guard let view = try await account(named: username, from: credentials.clientAddress),
            let storedHash = view.user.passwordHash
        else {
            await spendDummyVerification(credentials.password)
            return .notMine
        }
        let user = view.user
        let now = context.now()
        let lock = lock(of: view, at: now)

        let password = credentials.password
        let cacheKey = password.isEmpty ? nil : cache?.key(username: user.username, password: password)
        if let cache, let cacheKey, user.isEnabled, lock == nil, let entry = cache.entry(for: cacheKey, now: now) {
            if entry.userID == user.id && ConstantTime.equals(entry.passwordHash, storedHash) {
                cacheHits.add(1, ordering: .relaxed)
                await noteSuccess(of: view, from: credentials.clientAddress, at: now)
                return .authenticated(identity(of: user))
            }
            // The password changed (or the name now belongs to someone else): verify afresh.
            cache.remove(cacheKey)
        }

        // Every known account costs one verification whatever its state, so disabled and locked accounts
        // answer a wrong password as fast, and with the same words, as any other.
        var matched = false
        if !password.isEmpty {
            let verifier = self.verifier
            matched = await context.cpuPool.run { verifier(password, storedHash) }
            verifications.add(1, ordering: .relaxed)
            noteHashMethod(of: storedHash)
        } else {
            await spendDummyVerification(password)
        }
        let after = context.now()
        guard matched else {
            await noteFailure(of: user, credentials, at: after)
            return .rejected(.invalidCredentials)
        }
        guard user.isEnabled else {
            await audit(credentials, user: user, reason: "disabled")
            return .rejected(.disabled)
        }
        if let lock {
            // Only the owner's own address learns of the lock: anywhere else "locked" would confirm the guess.
            let isOwnersAddress = view.address?.isKnown(at: after, within: Self.knownAddressPeriod) ?? false
            await audit(credentials, user: user, reason: isOwnersAddress ? "locked" : "locked_right_password")
            return .rejected(isOwnersAddress ? .locked(until: lock) : .invalidCredentials)
        }
        if let cache, let cacheKey {
            cache.insert(cacheKey, userID: user.id, passwordHash: storedHash, now: after)
        }
        await noteSuccess(of: view, from: credentials.clientAddress, at: after)
        return .authenticated(identity(of: user))
    }

    /// `.authenticated` when the username and password were verified within the cache TTL against the
    /// password hash of the cached, enabled account, unlocked from this client address (under the current
    /// authorization generation), and no login bookkeeping is due to be written; nil otherwise, leaving
    /// misses, refusals and writes to `authenticate`. A cached hit is not a password attempt: it counts
    /// towards nothing but `Statistics.cacheHits`.
    public func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome? {
        guard let cache, !credentials.password.isEmpty else { return nil }
        let now = context.now()
        guard credentials.username.utf8.count <= Self.maximumUsernameBytes,
            let view = accounts.value(
                for: AccountKey(username: credentials.username, clientAddress: credentials.clientAddress),
                at: context.store.authorizationGeneration),
            let storedHash = view.user.passwordHash, view.user.isEnabled, lock(of: view, at: now) == nil,
            !needsLoginWrite(view, at: now),
            let entry = cache.entry(
                for: cache.key(username: view.user.username, password: credentials.password), now: now),
            entry.userID == view.user.id, ConstantTime.equals(entry.passwordHash, storedHash)
        else { return nil }
        cacheHits.add(1, ordering: .relaxed)
        return .authenticated(identity(of: view.user))
    }

    /// One dummy verification, the work an unknown name costs here (see `PasswordAuthenticating`).
    public func spendDecoyWork(for credentials: PasswordCredentials) async {
        await spendDummyVerification(credentials.password)
    }

    /// The lock keeping the account shut from the view's address at `now`: its own lock from that address,
    /// or the account-wide lock unless the address is the owner's (a recent success from it).
    private func lock(of view: AccountView, at now: Date) -> Date? {
        let addressLock = view.address?.lock(at: now)
        let isKnown = view.address?.isKnown(at: now, within: Self.knownAddressPeriod) ?? false
        let accountLock = isKnown ? nil : view.user.lockedUntil.flatMap { $0 > now ? $0 : nil }
        switch (addressLock, accountLock) {
        case (let one?, let other?): return max(one, other)
        case (let one?, nil), (nil, let one?): return one
        case (nil, nil): return nil
        }
    }

    /// Whether a successful login from the view's address at `now` writes to the store: when failures or a
    /// lock are to be cleared, or the last-login time (or the address's last success) is over a minute old.
    private func needsLoginWrite(_ view: AccountView, at now: Date) -> Bool {
        let user = view.user
        func stale(_ date: Date?) -> Bool { date.map { now.timeIntervalSince($0) >= 60 } ?? true }
        guard let address = view.address else { return true }
        return user.failedLoginCount > 0 || user.lockedUntil != nil || stale(user.lastLoginAt)
            || address.failedCount > 0 || address.lockedUntil != nil || stale(address.lastSuccessAt)
    }

    /// The account with this username and its record from `clientAddress`: from the cache while the
    /// generation holds, else from the store in one read. Unknown names are not cached, so guessing fills nothing.
    private func account(named username: String, from clientAddress: String) async throws -> AccountView? {
        let key = AccountKey(username: username, clientAddress: clientAddress)
        let generation = context.store.authorizationGeneration
        if let cached = accounts.value(for: key, at: generation) { return cached }
        let found: AccountView?
        do {
            found = try await context.store.read { reader -> AccountView? in
                guard let user = try reader.user(named: username) else { return nil }
                return AccountView(user: user, address: try reader.addressLoginState(of: user.id, from: clientAddress))
            }
        } catch {
            throw ProviderError(.internalFailure, provider: id, reason: "reading the user failed: \(error)")
        }
        if let found { accounts.insert(found, for: key, readAt: generation) }
        return found
    }

    private func identity(of user: User) -> ExternalIdentity {
        ExternalIdentity(
            provider: id, subject: String(user.id.rawValue), username: user.username, email: user.email,
            displayName: user.displayName, origin: .localAccount(userID: user.id.rawValue))
    }

    /// Clears failures and locks (the account's, and its record from this address) and notes the login, but
    /// writes only when something changes or the last-login time is over a minute old, so a busy client
    /// costs reads, not writes.
    private func noteSuccess(of view: AccountView, from clientAddress: String, at now: Date) async {
        guard needsLoginWrite(view, at: now) else { return }
        let key = AccountKey(username: view.user.username, clientAddress: clientAddress)
        let userID = view.user.id
        let record = AddressLoginState(userID: userID, clientAddress: clientAddress, lastSuccessAt: now)
        // The cached account learns what is being written first, so concurrent logins do not all write.
        _ = accounts.modify(key) { account in
            account.user.lastLoginAt = now
            account.user.failedLoginCount = 0
            account.user.lockedUntil = nil
            account.address = record
        }
        do {
            try await context.store.write { transaction in
                try transaction.recordSuccessfulLogin(of: userID, at: now)
                try transaction.saveAddressLoginState(record)
            }
        } catch {
            // The password was right; a busy database must not turn that into a refusal.
            context.logger.warning(
                "recording a successful login failed",
                ["user": view.user.username, "error": String(describing: error)])
        }
    }

    /// What a failed login changed.
    private struct FailureEffect: Sendable {
        var addressLockedUntil: Date?
        var accountLockedUntil: Date?
    }

    /// Counts the failure towards lockout from this address and account-wide, in one write, and audits it.
    private func noteFailure(of user: User, _ credentials: PasswordCredentials, at now: Date) async {
        let address = credentials.clientAddress
        // The failure counts (and maybe a lock) change below: the next login must read them afresh.
        accounts.remove(AccountKey(username: user.username, clientAddress: address))
        let lockout = configuration.lockout
        let userID = user.id
        var effect = FailureEffect()
        do {
            effect = try await context.store.write { transaction -> FailureEffect in
                guard let fresh = try transaction.user(id: userID) else { return FailureEffect() }
                var effect = FailureEffect()
                var record =
                    try transaction.addressLoginState(of: userID, from: address)
                    ?? AddressLoginState(userID: userID, clientAddress: address)
                record.failedCount += 1
                record.lastFailureAt = now
                // Every `attempts`-th consecutive failure from the address locks, each time for longer, so
                // an expired lock grants a fresh `attempts` tries without a separate reset.
                if lockout.attempts > 0 && record.failedCount % lockout.attempts == 0 {
                    record.lockCount += 1
                    record.lockedUntil = now.addingTimeInterval(lockout.lockDuration(forLock: record.lockCount))
                    effect.addressLockedUntil = record.lockedUntil
                }
                try transaction.saveAddressLoginState(record)
                let count = fresh.failedLoginCount + 1
                let locksAccount = lockout.accountAttempts > 0 && count % lockout.accountAttempts == 0
                if locksAccount { effect.accountLockedUntil = now.addingTimeInterval(lockout.duration.timeInterval) }
                _ = try transaction.recordFailedLogin(
                    of: userID, lockedUntil: locksAccount ? effect.accountLockedUntil : fresh.lockedUntil)
                // Records from addresses that neither failed lately nor ever succeeded go, so guesses from
                // many addresses do not pile up rows.
                _ = try transaction.pruneAddressLoginStates(
                    of: userID, at: now,
                    failuresSince: now.addingTimeInterval(-max(86_400, lockout.maxDuration.timeInterval)),
                    successesSince: now.addingTimeInterval(-Self.knownAddressPeriod))
                return effect
            }
        } catch {
            context.logger.warning(
                "recording a failed login failed", ["user": user.username, "error": String(describing: error)])
        }
        let reason =
            effect.accountLockedUntil != nil
            ? "invalid_credentials_account_locked"
            : effect.addressLockedUntil != nil ? "invalid_credentials_locked" : "invalid_credentials"
        await audit(credentials, user: user, reason: reason)
        if effect.accountLockedUntil != nil {
            context.logger.notice(
                "account locked for every unfamiliar address after repeated wrong passwords",
                ["user": user.username, "client": address])
        } else if effect.addressLockedUntil != nil {
            context.logger.notice(
                "account locked from one address after repeated wrong passwords",
                ["user": user.username, "client": address])
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
