import Synchronization
import Threading

/// A stamp of the authorization-relevant state of a store: it changes whenever a committed change may
/// alter whom a credential belongs to or what an account may do.
///
/// What counts: accounts (name, password, admin and enabled flags, creation and deletion), identity links,
/// teams and memberships, namespaces, and application tokens (revocation, expiry, restriction). Login
/// bookkeeping (last login, failure counts, last-used times), audit events, registry events and
/// repositories do not, so the hot paths that write them do not empty every cache.
public struct AuthorizationGeneration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The raw counter; only ever grows within one process.
    public let value: Int64

    /// Wraps a counter value.
    public init(_ value: Int64) { self.value = value }

    /// Orders stamps by age; a larger one is newer.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    /// The counter as text.
    public var description: String { String(value) }
}

/// Turns the database's own change counter into this process's `AuthorizationGeneration`.
///
/// Backends report every value of the database counter they read (after their own writes, and when
/// polling for other processes' writes); any value different from the last one seen advances the
/// generation. The generation is a local counter rather than the database value so it only ever grows,
/// even when a poll reads an older snapshot or a database is restored from a backup: an entry cached
/// under an older generation can never become valid again.
///
/// Threading: every method may be called from any thread; none blocks beyond a short lock.
public final class AuthorizationGenerationTracker: Sendable {
    private struct State {
        var databaseValue: Int64?
        var generation: Int64 = 1
    }

    private let state = Mutex(State())

    /// Creates a tracker that has not read the database yet.
    public init() {}

    /// The current generation.
    public var current: AuthorizationGeneration { state.withLock { AuthorizationGeneration($0.generation) } }

    /// The last value of the database's change counter noted, nil before the first.
    public var lastDatabaseValue: Int64? { state.withLock { $0.databaseValue } }

    /// Notes a value of the database's change counter; advances the generation when it differs from the last.
    public func observe(databaseValue: Int64) {
        state.withLock { state in
            guard state.databaseValue != databaseValue else { return }
            if state.databaseValue != nil { state.generation += 1 }
            state.databaseValue = databaseValue
        }
    }

    /// Advances the generation without a database value (a change the backend cannot count).
    public func advance() {
        state.withLock { $0.generation += 1 }
    }
}

/// A bounded cache of values derived from a store's authorization-relevant state, each trusted only while
/// the store's `authorizationGeneration` is the one it was read under.
///
/// Exact rather than time-based: a revoked token, a disabled account or a removed membership stops
/// matching as soon as the generation moves (at once for changes through the same store, within the
/// backend's polling interval for changes by other processes). Fill it with the generation read *before*
/// the store read that produced the value, so a change committed during that read leaves the entry stale.
/// Bounded like `BoundedCache`, on which it is built.
///
/// Threading: every method may be called concurrently; each holds one short lock.
/// Inlinable, like `BoundedCache`, so each caller's module specialises the lookups.
public final class AuthorizationCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var value: Value
        @usableFromInline var generation: AuthorizationGeneration

        @inlinable
        init(value: Value, generation: AuthorizationGeneration) {
            self.value = value
            self.generation = generation
        }
    }

    @usableFromInline let entries: BoundedCache<Key, Entry>

    /// Creates an empty cache holding at most `capacity` entries (at least one).
    public init(capacity: Int) {
        entries = BoundedCache(capacity: capacity)
    }

    /// The value cached for `key`, if it was read under `generation`.
    @inlinable
    public func value(for key: Key, at generation: AuthorizationGeneration) -> Value? {
        guard let entry = entries.value(for: key), entry.generation == generation else { return nil }
        return entry.value
    }

    /// Caches `value` for `key` as read under `generation`.
    @inlinable
    public func insert(_ value: Value, for key: Key, readAt generation: AuthorizationGeneration) {
        entries.insert(Entry(value: value, generation: generation), for: key)
    }

    /// Changes the cached value for `key` in place, keeping its generation; returns what `change` returned,
    /// or nil when nothing is cached for the key.
    @inlinable
    public func modify<T>(_ key: Key, _ change: (inout Value) -> T) -> T? {
        entries.modify(key) { change(&$0.value) }
    }

    /// Forgets the value cached for `key`, if any (a change this process made that the generation does not count).
    @inlinable
    public func remove(_ key: Key) { entries.remove(key) }

    /// The number of entries, stale ones included.
    public var count: Int { entries.count }
}
