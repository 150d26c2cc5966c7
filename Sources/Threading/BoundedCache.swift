import Synchronization

/// A dictionary of at most `capacity` entries shared between threads; inserting a new key into a full
/// one evicts an arbitrary entry.
///
/// Arbitrary rather than least-recently-used eviction keeps every operation one hash lookup under one
/// short lock: the caches built on it hold values that are cheap to recompute, and only their memory
/// must be bounded (a flood of distinct keys must not grow them without end).
///
/// Threading: every method may be called concurrently from any thread or task.
/// The methods are inlinable so that callers' modules specialise them for their key and value types: the
/// token endpoint looks up several of these caches per request, and unspecialised dictionary access
/// (generic metadata, hashing through witness tables) showed in its profile.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline let capacity: Int
    @usableFromInline let entries = Mutex<[Key: Value]>([:])

    /// Creates an empty cache holding at most `capacity` entries (at least one).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The value stored for `key`, if any.
    @inlinable
    public func value(for key: Key) -> Value? {
        entries.withLock { $0[key] }
    }

    /// Stores `value` for `key`, evicting an arbitrary entry when the cache is full.
    @inlinable
    public func insert(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= capacity { entries.remove(at: entries.startIndex) }
            entries[key] = value
        }
    }

    /// Changes the value stored for `key` in place; returns what `change` returned, or nil when nothing
    /// is stored for the key.
    @inlinable
    public func modify<T>(_ key: Key, _ change: (inout Value) -> T) -> T? {
        entries.withLock { entries in
            guard entries[key] != nil else { return nil }
            return change(&entries[key]!)
        }
    }

    /// Forgets the value stored for `key`, if any.
    @inlinable
    public func remove(_ key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// The number of entries.
    public var count: Int { entries.withLock { $0.count } }
}
