import Synchronization

/// A dictionary of at most `capacity` entries shared between threads; inserting a new key into a full
/// one evicts the oldest entry still held (first in, first out).
///
/// Insertion order rather than least-recently-used keeps every operation one hash lookup under one short
/// lock (a read changes nothing): the caches built on it hold values that are cheap to recompute, and only
/// their memory must be bounded (a flood of distinct keys must not grow them without end). Eviction used to
/// take the dictionary's first bucket, which is a scan over the empty buckets before it: under a flood of
/// distinct keys (a CI login per new job token) that scan showed as a tenth of the server's time.
///
/// Threading: every method may be called concurrently from any thread or task.
/// The methods are inlinable so that callers' modules specialise them for their key and value types: the
/// token endpoint looks up several of these caches per request, and unspecialised dictionary access
/// (generic metadata, hashing through witness tables) showed in its profile.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline
    struct Storage: Sendable {
        @usableFromInline var values: [Key: Value] = [:]
        /// Keys in insertion order from `head` on; a key removed or evicted since may still be listed (it is
        /// skipped), and a key inserted again is listed again.
        @usableFromInline var order: [Key] = []
        @usableFromInline var head = 0

        @inlinable init() {}
    }

    @usableFromInline let capacity: Int
    @usableFromInline let storage = Mutex(Storage())

    /// Creates an empty cache holding at most `capacity` entries (at least one).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The value stored for `key`, if any.
    @inlinable
    public func value(for key: Key) -> Value? {
        storage.withLock { $0.values[key] }
    }

    /// Stores `value` for `key`, evicting the oldest entry when the cache is full.
    @inlinable
    public func insert(_ value: Value, for key: Key) {
        storage.withLock { storage in
            if storage.values.updateValue(value, forKey: key) != nil { return }
            storage.order.append(key)
            while storage.values.count > capacity, storage.head < storage.order.count {
                let oldest = storage.order[storage.head]
                storage.head += 1
                if oldest != key { storage.values.removeValue(forKey: oldest) }
            }
            // Keep the order list within a small multiple of the capacity: drop what eviction passed, or
            // rebuild it when removals and re-inserts left it full of stale keys.
            if storage.head >= capacity {
                storage.order.removeFirst(storage.head)
                storage.head = 0
            }
            if storage.order.count > 4 * capacity {
                storage.order = Array(storage.values.keys)
                storage.head = 0
            }
        }
    }

    /// Changes the value stored for `key` in place; returns what `change` returned, or nil when nothing
    /// is stored for the key.
    @inlinable
    public func modify<T>(_ key: Key, _ change: (inout Value) -> T) -> T? {
        storage.withLock { storage in
            guard storage.values[key] != nil else { return nil }
            return change(&storage.values[key]!)
        }
    }

    /// Forgets the value stored for `key`, if any.
    @inlinable
    public func remove(_ key: Key) {
        _ = storage.withLock { $0.values.removeValue(forKey: key) }
    }

    /// The number of entries.
    public var count: Int { storage.withLock { $0.values.count } }
}
