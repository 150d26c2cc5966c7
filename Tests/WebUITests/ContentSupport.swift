import Administration
import Foundation
import Storage
import Synchronization
import WebUI

/// A `WebRepositoryDeleting` that records what it was asked and removes the tags from the store as the registry
/// path would (every tag on the digest of a named tag), so the pages' flows can be followed without a registry.
/// The real registry path is exercised by `WebTagDeletionEndToEndTests`.
final class RecordingDeleter: WebRepositoryDeleting, Sendable {
    let store: any Store
    private let calls = Mutex<[String]>([])

    init(store: any Store) { self.store = store }

    /// What was asked, one line a call: `tags acme/api v1,v2 by olivia`, `repository acme/api by root`.
    var asked: [String] { calls.withLock { $0 } }

    func deleteTags(_ tags: [String], in repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
    {
        calls.withLock { $0.append("tags \(repository) \(tags.joined(separator: ",")) by \(caller.auditName)") }
        return try await store.write { writer in
            guard let (namespace, name) = try Self.split(repository, writer),
                let stored = try writer.repositories(named: name, in: namespace.id).first
            else { throw WebDeletionFailure(.notFound, "No such repository at the registry.") }
            var removed: [String] = []
            var digests: [String] = []
            for tag in tags where !removed.contains(tag) {
                guard let found = try writer.tag(named: tag, in: stored.id) else { continue }
                let sharing = try writer.tags(withDigest: found.digest, in: stored.id)
                for other in sharing { try writer.deleteTag(other.id) }
                removed += sharing.map(\.name)
                digests.append(found.digest)
            }
            return WebDeletionOutcome(removedTags: removed.sorted(), digests: digests, repositoryRemoved: false)
        }
    }

    func deleteRepository(_ repository: String, registry: String, by caller: Caller) async throws
        -> WebDeletionOutcome
    {
        calls.withLock { $0.append("repository \(repository) by \(caller.auditName)") }
        return try await store.write { writer in
            guard let (namespace, name) = try Self.split(repository, writer),
                let stored = try writer.repositories(named: name, in: namespace.id).first
            else { throw WebDeletionFailure(.notFound, "No such repository at the registry.") }
            let tags = try writer.tags(in: stored.id)
            try writer.deleteRepository(stored.id)
            return WebDeletionOutcome(
                removedTags: tags.map(\.name).sorted(), digests: Array(Set(tags.map(\.digest))), repositoryRemoved: true
            )
        }
    }

    private static func split(_ path: String, _ reader: any StoreReading) throws -> (Namespace, String)? {
        if let slash = path.firstIndex(of: "/"), let namespace = try reader.namespace(named: String(path[..<slash])) {
            return (namespace, String(path[path.index(after: slash)...]))
        }
        return try reader.globalNamespace().map { ($0, path) }
    }
}

/// The hostile strings every user-controlled field gets in the escaping tests.
enum Hostile {
    static let script = "<script>alert(1)</script>"
    static let attribute = "\"><img src=x onerror=alert(1)>"
    static let url = "javascript:alert(1)"
    static let all = [script, attribute]

    /// Whether `html` contains any payload unescaped.
    static func leaks(_ html: String) -> Bool {
        html.contains("<script>alert") || html.contains("<img src=x") || html.contains("href=\"javascript:")
    }
}

extension WebFixture {
    /// A fixture whose deletions go to a `RecordingDeleter`.
    static func withDeleter() async throws -> (WebFixture, RecordingDeleter) {
        let box = Mutex<RecordingDeleter?>(nil)
        let fixture = try await WebFixture { store, services in
            let deleter = RecordingDeleter(store: store)
            box.withLock { $0 = deleter }
            services.deleter = deleter
        }
        return (fixture, box.withLock { $0! })
    }

    /// The tag names of `repository` (`ns/name` or a global name) now in the store.
    func tagNames(_ repository: String) async throws -> [String] {
        try await store.read { reader in
            let parts = repository.split(separator: "/", maxSplits: 1).map(String.init)
            let namespace = parts.count == 2 ? try reader.namespace(named: parts[0]) : try reader.globalNamespace()
            guard let namespace,
                let stored = try reader.repositories(named: parts.last!, in: namespace.id).first
            else { return [] }
            return try reader.tags(in: stored.id).map(\.name).sorted()
        }
    }
}

extension WebPage {
    /// The page's post forms other than the layout's sign-out.
    var contentPostForms: [(action: String, hasCSRF: Bool)] { postForms.filter { $0.action != "/sign-out" } }
}
