import Administration
import Foundation
import Synchronization

/// The repository page's listing as rendered (the tag table with its pager, and the pulls chart), kept per
/// repository address and page, and reused while the repository's content version is unchanged.
///
/// Why: rendering a page of digest groups and reading them cost more than the rest of the page together, and
/// most views of a repository see the same tags as the view before. The content version comes from the store
/// (triggers move it on every change to the repository's tags, their pulls included), so a push or a pull
/// recorded by another instance shows at the next view; losing the cache changes nothing but speed. Relative
/// times ("5 minutes ago") are written once per entry, so an entry serves for at most `freshness` (the texts
/// change once a minute) and never into the next UTC day (the chart's last bar).
final class RepositoryListingCache: Sendable {
    /// Where a listing is shown: the repository as addressed, the registry asked for, and the page.
    struct Key: Hashable, Sendable {
        var path: String
        var registry: String?
        var page: Int
    }

    /// A listing read at one content version, and what has been rendered from it.
    struct Entry: Sendable {
        /// The repository and content version the listing was read at.
        var stamp: RepositoryContentStamp
        /// The repository's full name then: links in the rendered rows carry it.
        var fullName: String
        /// When it was read; the relative times in the rows are as of then.
        var readAt: Date
        /// The tags and pulls.
        var listing: RepositoryListingPage
        /// The pulls chart.
        var chart: Node
        /// The tag table (and, when selectable, the delete controls under it) by whether tags are selectable.
        var tables: [Bool: Node] = [:]
        /// The pager under the table.
        var pager: Node?
    }

    /// Entries kept at most; past it, stale ones go first, then all (the next views render again).
    let capacity: Int
    /// How long an entry serves after its read.
    let freshness: TimeInterval
    private let entries = Mutex<[Key: Entry]>([:])

    /// A cache of at most `capacity` listings, each serving for `freshness` after it was read.
    init(capacity: Int = 256, freshness: TimeInterval = 30) {
        self.capacity = capacity
        self.freshness = freshness
    }

    /// The entry for `key` if it may still serve at `now`.
    func entry(for key: Key, at now: Date) -> Entry? {
        guard let entry = entries.withLock({ $0[key] }), isFresh(entry, at: now) else { return nil }
        return entry
    }

    /// Keeps `entry` for `key`, replacing what was there.
    func keep(_ entry: Entry, for key: Key, at now: Date) {
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { isFresh($0.value, at: now) }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = entry
        }
    }

    private func isFresh(_ entry: Entry, at now: Date) -> Bool {
        let age = now.timeIntervalSince(entry.readAt)
        return age >= 0 && age < freshness && UTCDays().start(of: now) == UTCDays().start(of: entry.readAt)
    }
}
