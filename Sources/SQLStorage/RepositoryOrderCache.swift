import Storage
import Synchronization

/// The ids of a namespace's repositories in one listing order, kept between requests so that a deep page
/// (`?page=400`) is a slice instead of SQLite stepping over 10,000 index entries to reach its OFFSET (0.25 ms,
/// more than all the rest of the page).
///
/// Every entry carries the namespace's `listing_generation` (migration 12), which triggers raise on each insert,
/// removal, move, rename or time change of one of its repositories. A page reads the generation in its own read
/// transaction and uses an entry only when the two are equal, so the cache never answers from a different
/// state than the transaction sees, and another instance's writes (which raise the same column) invalidate it
/// as well as this one's. Shallow pages never use it: stepping over a few hundred entries costs less than keeping
/// a list.
package final class RepositoryOrderCache: Sendable {
    /// The offset from which a page reads the cached order (20 pages of 25).
    package static let minimumOffset = 500
    /// The most ids kept over all entries (8 MB); the least recently used entries go first.
    package static let capacity = 1_000_000

    package struct Key: Hashable {
        var namespaceID: Namespace.ID
        var order: RepositoryListOrder
        var descending: Bool
    }

    private struct Entry {
        var generation: Int64
        var ids: [Int64]
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var size = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// An empty cache.
    package init() {}

    /// The ids at `offset..<offset + limit` of the order `key` names as of `generation`, or nil when the cache
    /// holds no list of that generation.
    package func page(_ key: Key, generation: Int64, offset: Int, limit: Int) -> [Int64]? {
        state.withLock { state in
            guard var entry = state.entries[key], entry.generation == generation else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            let start = min(offset, entry.ids.count)
            return Array(entry.ids[start..<min(start + limit, entry.ids.count)])
        }
    }

    /// Keeps `ids`, the whole order `key` names as of `generation`, evicting the least recently used lists
    /// beyond the capacity (a list larger than the capacity is not kept).
    package func keep(_ ids: [Int64], for key: Key, generation: Int64) {
        guard ids.count <= Self.capacity else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.size -= old.ids.count }
            while state.size + ids.count > Self.capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries[oldest.key] = nil
                state.size -= oldest.value.ids.count
            }
            state.clock += 1
            state.entries[key] = Entry(generation: generation, ids: ids, lastUse: state.clock)
            state.size += ids.count
        }
    }
}
