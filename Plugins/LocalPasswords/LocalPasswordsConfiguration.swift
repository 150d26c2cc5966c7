import Foundation
import IdentityCore

extension LocalPasswordProvider {
    /// The `config:` block of a `type: local` provider entry; every field is optional.
    ///
    /// ```yaml
    /// providers:
    ///   - id: local
    ///     type: local
    ///     order: 10
    ///     config:
    ///       lockout:              # lock an account from one address after this many consecutive wrong passwords
    ///         attempts: 10        # from that address (Portus's number); 0 turns lockout off
    ///         duration: 10m       # the first lock; each further lock from the same address lasts twice as long
    ///         maxDuration: 1h     # ... up to this
    ///         accountAttempts: 100  # wrong passwords from anywhere that lock the account for every
    ///                             # address without a recent successful login (0: never)
    ///       cache:            # accept a just-verified username+password again without bcrypt for `ttl`
    ///         enabled: true
    ///         ttl: 5m
    ///         maxEntries: 10000
    /// ```
    ///
    /// Durations are seconds (`600`) or strings with a unit (`300s`, `10m`, `1h`).
    ///
    /// `rateLimit` (`failures`, `window`), which limited wrong passwords per client address inside this plugin,
    /// is still accepted: the limit now belongs to the password chain (`policy.passwordGuessing`), which uses
    /// these values when that section is left at its defaults.
    public struct Configuration: Decodable, Sendable, Hashable {
        /// Account lockout after consecutive failures.
        public var lockout: Lockout
        /// The per-client-address failure limit as this plugin used to take it, if given (see the type's
        /// documentation: the chain applies it now).
        public var rateLimit: RateLimit?
        /// The verified-credential cache.
        public var cache: Cache

        /// The defaults, overridden by the given parts.
        public init(lockout: Lockout = Lockout(), rateLimit: RateLimit? = nil, cache: Cache = Cache()) {
            self.lockout = lockout
            self.rateLimit = rateLimit
            self.cache = cache
        }

        private enum CodingKeys: String, CodingKey { case lockout, rateLimit, cache }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            lockout = try container.decodeIfPresent(Lockout.self, forKey: .lockout) ?? Lockout()
            rateLimit = try container.decodeIfPresent(RateLimit.self, forKey: .rateLimit)
            cache = try container.decodeIfPresent(Cache.self, forKey: .cache) ?? Cache()
        }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine).
        public var problems: [String] {
            var found: [String] = []
            if lockout.attempts < 0 { found.append("lockout.attempts must be 0 (off) or more") }
            if lockout.attempts > 0 && lockout.duration.seconds == 0 {
                found.append("lockout.duration must be longer than 0s")
            }
            if lockout.maxDuration.seconds < lockout.duration.seconds {
                found.append("lockout.maxDuration must be at least lockout.duration")
            }
            if lockout.accountAttempts < 0 { found.append("lockout.accountAttempts must be 0 (off) or more") }
            if let rateLimit {
                if rateLimit.failures < 0 { found.append("rateLimit.failures must be 0 (off) or more") }
                if rateLimit.failures > 0 && rateLimit.window.seconds == 0 {
                    found.append("rateLimit.window must be longer than 0s")
                }
            }
            if cache.maxEntries < 1 { found.append("cache.maxEntries must be at least 1") }
            return found
        }
    }

    /// Account lockout after consecutive wrong passwords: per account and client address first, account-wide
    /// (for addresses without a recent success) only at a much higher count.
    public struct Lockout: Decodable, Sendable, Hashable {
        /// Consecutive failures from one address that lock the account from that address (0: never lock).
        /// Default 10.
        public var attempts: Int
        /// How long the first lock lasts; each further lock from the same address (without a success between)
        /// lasts twice as long as the one before, up to `maxDuration`. Default 10 minutes.
        public var duration: ConfigDuration
        /// The longest lock. Default 1 hour.
        public var maxDuration: ConfigDuration
        /// Failures from any address, since the last success, that lock the account for `duration` from
        /// every address that has not logged in successfully within 90 days (0: never). Default 100.
        public var accountAttempts: Int

        /// Creates a lockout policy.
        public init(
            attempts: Int = 10, duration: ConfigDuration = .minutes(10), maxDuration: ConfigDuration? = nil,
            accountAttempts: Int = 100
        ) {
            self.attempts = attempts
            self.duration = duration
            self.maxDuration = maxDuration ?? ConfigDuration(seconds: max(duration.seconds, 3600))
            self.accountAttempts = accountAttempts
        }

        private enum CodingKeys: String, CodingKey { case attempts, duration, maxDuration, accountAttempts }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Lockout()
            attempts = try container.decodeIfPresent(Int.self, forKey: .attempts) ?? defaults.attempts
            duration = try container.decodeIfPresent(ConfigDuration.self, forKey: .duration) ?? defaults.duration
            maxDuration =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .maxDuration)
                ?? ConfigDuration(seconds: max(duration.seconds, defaults.maxDuration.seconds))
            accountAttempts =
                try container.decodeIfPresent(Int.self, forKey: .accountAttempts) ?? defaults.accountAttempts
        }

        /// How long the `lockNumber`-th lock from one address lasts (1: `duration`, then doubling up to
        /// `maxDuration`).
        public func lockDuration(forLock lockNumber: Int) -> TimeInterval {
            let doublings = min(max(lockNumber - 1, 0), 30)
            return min(duration.timeInterval * Double(1 << doublings), maxDuration.timeInterval)
        }
    }

    /// Per-client-address failure limit, as this plugin used to take it (the password chain applies it now).
    public struct RateLimit: Decodable, Sendable, Hashable {
        /// Wrong passwords one client address may send per window (0: no limit). Default 30.
        public var failures: Int
        /// The window. Default 1 minute.
        public var window: ConfigDuration

        /// Creates a limit.
        public init(failures: Int = 30, window: ConfigDuration = .minutes(1)) {
            self.failures = failures
            self.window = window
        }

        private enum CodingKeys: String, CodingKey { case failures, window }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = RateLimit()
            failures = try container.decodeIfPresent(Int.self, forKey: .failures) ?? defaults.failures
            window = try container.decodeIfPresent(ConfigDuration.self, forKey: .window) ?? defaults.window
        }
    }

    /// The verified-credential cache, which spares bcrypt for a client logging in again and again.
    public struct Cache: Decodable, Sendable, Hashable {
        /// Whether the cache is used. Default true.
        public var enabled: Bool
        /// How long a verified username+password is accepted without bcrypt. Default 5 minutes.
        public var ttl: ConfigDuration
        /// The most entries kept (the cache is emptied when full). Default 10000.
        public var maxEntries: Int

        /// Creates cache settings.
        public init(enabled: Bool = true, ttl: ConfigDuration = .minutes(5), maxEntries: Int = 10_000) {
            self.enabled = enabled
            self.ttl = ttl
            self.maxEntries = maxEntries
        }

        private enum CodingKeys: String, CodingKey { case enabled, ttl, maxEntries }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Cache()
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
            ttl = try container.decodeIfPresent(ConfigDuration.self, forKey: .ttl) ?? defaults.ttl
            maxEntries = try container.decodeIfPresent(Int.self, forKey: .maxEntries) ?? defaults.maxEntries
        }
    }
}
