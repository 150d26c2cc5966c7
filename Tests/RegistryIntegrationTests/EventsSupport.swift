import Foundation
import RegistryCore
import SQLiteStorage
import Storage
import Synchronization
import TestSupport

/// A digest made of one repeated hex character.
func fakeDigest(_ character: Character) -> String { "sha256:" + String(repeating: character, count: 64) }

/// One registry event as registry 2.8 sends it.
func registryEvent(
    id: String, action: String = "push", repository: String = "alice/demo", tag: String? = "v1",
    digest: String? = fakeDigest("a"), mediaType: String? = ManifestMediaType.ociManifest, actor: String? = "alice",
    timestamp: String = "2026-11-22T12:25:18.784000378Z"
) -> JSONValue {
    var target: [String: JSONValue] = ["repository": .string(repository)]
    if let tag { target["tag"] = .string(tag) }
    if let digest { target["digest"] = .string(digest) }
    if let mediaType {
        target["mediaType"] = .string(mediaType)
        target["size"] = .integer(401)
        target["length"] = .integer(401)
    }
    var event: [String: JSONValue] = [
        "id": .string(id), "timestamp": .string(timestamp), "action": .string(action), "target": .object(target),
        "request": .object(["addr": .string("10.0.0.7:44218"), "method": .string("PUT")]),
    ]
    if let actor { event["actor"] = .object(["name": .string(actor)]) }
    return .object(event)
}

/// A notification body holding `events`.
func envelope(_ events: [JSONValue]) -> [UInt8] {
    Array(JSONValue.object(["events": .array(events)]).jsonText.utf8)
}

/// Stores events as the endpoint would, for the worker tests.
func storeEvents(_ events: [JSONValue], registry: String = "main", in store: any Store) async throws {
    try await store.write { writer in
        for event in events {
            guard case .string(let id)? = event["id"] else { continue }
            var repository = ""
            if case .string(let name)? = event["target"]?["repository"] { repository = name }
            _ = try writer.recordRegistryEvent(
                eventID: id, registry: registry, repository: repository, payload: event.jsonText)
        }
    }
}

/// An OCI image manifest whose config and layers add up to `size` bytes (config 100, the rest in one layer).
func imageManifest(size: Int64) -> [UInt8] {
    Array(
        """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
         "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":100,"digest":"\(fakeDigest("c"))"},
         "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":\(size - 100),"digest":"\(fakeDigest("1"))"}]}
        """.utf8)
}

/// An OCI index of children `(digest, os/arch[/variant])`.
func indexManifest(_ children: [(String, String)]) -> [UInt8] {
    let entries = children.map { digest, platform in
        let parts = platform.split(separator: "/").map(String.init)
        var platformJSON = #"{"os":"\#(parts[0])","architecture":"\#(parts[1])""#
        if parts.count > 2 { platformJSON += #","variant":"\#(parts[2])""# }
        platformJSON += "}"
        return
            #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":"\#(digest)","platform":\#(platformJSON)}"#
    }
    return Array(
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(entries.joined(separator: ","))]}"#
            .utf8)
}

/// A registry that serves manifests from a dictionary and counts calls; unknown digests are `nil`, and
/// `failing` makes every call throw.
final class FakeRegistry: RegistryAPI {
    private let state = Mutex<(manifests: [String: (String, [UInt8])], calls: Int, failing: Bool)>(([:], 0, false))

    init() {}

    func serve(_ digest: String, mediaType: String, body: [UInt8]) {
        state.withLock { $0.manifests[digest] = (mediaType, body) }
    }

    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    var manifestCalls: Int { state.withLock { $0.calls } }

    func catalog() async throws -> [String] { [] }
    func tags(of repository: String) async throws -> [String]? { nil }
    func headManifest(_ repository: String, reference: String) async throws -> ManifestDescriptor? { nil }

    func manifest(_ repository: String, reference: String) async throws -> FetchedManifest? {
        let (entry, failing) = state.withLock { state in
            state.calls += 1
            return (state.manifests[reference], state.failing)
        }
        if failing { throw RegistryAPIError(.unreachable, "GET manifest: connection refused") }
        guard let (mediaType, body) = entry else { return nil }
        return FetchedManifest(
            descriptor: ManifestDescriptor(digest: reference, mediaType: mediaType, length: Int64(body.count)),
            body: body)
    }

    func deleteManifest(_ repository: String, digest: String) async throws {}
}

/// An observer that remembers every change it was given.
final class RecordingObserver: RepositoryChangeObserver {
    private let changes = Mutex<[RepositoryChange]>([])

    var recorded: [RepositoryChange] { changes.withLock { $0 } }

    func record(_ change: RepositoryChange, in writer: any StoreWriting) throws {
        changes.withLock { $0.append(change) }
    }
}
