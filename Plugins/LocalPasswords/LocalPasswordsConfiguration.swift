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
    ///       lockout:          # lock an account after this many consecutive wrong passwords (Portus defaults)
    ///         attempts: 10    # 0 turns lockout off
    ///         duration: 10m
    ///       rateLimit:        # per client IP, in memory: refuse logins after this many failures in the window
    ///         failures: 30    # 0 turns the limit off
    ///         window: 1m
    ///       cache:            # accept a just-verified username+password again without bcrypt for `ttl`
    ///         enabled: true
    ///         ttl: 5m
    ///         maxEntries: 10000
    /// ```
    ///
    /// Durations are seconds (`600`) or strings with a unit (`300s`, `10m`, `1h`).
    public struct Configuration: Decodable, Sendable, Hashable {
        /// Account lockout after consecutive failures.
        public var lockout: Lockout
        /// Per-client-address failure limit.
        public var rateLimit: RateLimit
        /// The verified-credential cache.
        public var cache: Cache

        /// The defaults, overridden by the given parts.
        public init(lockout: Lockout = Lockout(), rateLimit: RateLimit = RateLimit(), cache: Cache = Cache()) {
            self.lockout = lockout
            self.rateLimit = rateLimit
            self.cache = cache
        }

        private enum CodingKeys: String, CodingKey { case lockout, rateLimit, cache }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            lockout = try container.decodeIfPresent(Lockout.self, forKey: .lockout) ?? Lockout()
            rateLimit = try container.decodeIfPresent(RateLimit.self, forKey: .rateLimit) ?? RateLimit()
            cache = try container.decodeIfPresent(Cache.self, forKey: .cache) ?? Cache()
        }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine).
        public var problems: [String] {
            var found: [String] = []
            if lockout.attempts < 0 { found.append("lockout.attempts must be 0 (off) or more") }
            if lockout.attempts > 0 && lockout.duration.seconds == 0 {
                found.append("lockout.duration must be longer than 0s")
            }
            if rateLimit.failures < 0 { found.append("rateLimit.failures must be 0 (off) or more") }
            if rateLimit.failures > 0 && rateLimit.window.seconds == 0 {
                found.append("rateLimit.window must be longer than 0s")
            }
            if cache.maxEntries < 1 { found.append("cache.maxEntries must be at least 1") }
            return found
        }
    }

    /// Account lockout after consecutive wrong passwords.
    public struct Lockout: Decodable, Sendable, Hashable {
        /// Consecutive failures that lock the account (0: never lock). Default 10.
        public var attempts: Int
        /// How long the account stays locked. Default 10 minutes.
        public var duration: ConfigDuration

        /// Creates a lockout policy.
        public init(attempts: Int = 10, duration: ConfigDuration = .minutes(10)) {
            self.attempts = attempts
            self.duration = duration
        }

        private enum CodingKeys: String, CodingKey { case attempts, duration }

        /// Decodes the block; missing fields keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Lockout()
            attempts = try container.decodeIfPresent(Int.self, forKey: .attempts) ?? defaults.attempts
            duration = try container.decodeIfPresent(ConfigDuration.self, forKey: .duration) ?? defaults.duration
        }
    }

    /// Per-client-address failure limit, kept in memory.
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
