import Foundation
import TestSupport
import Testing

/// The content resources of the REST API on the real `portcullis serve` beside Debian's docker-registry: an
/// image pushed with skopeo (recorded through the registry's notifications) shows in the namespace's repository
/// list and the tag list with its digest and size, can be starred, and a tag deleted through the API is gone at
/// the registry.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct ContentAPIEndToEndTests {
    typealias Stack = RegistryEventsTests.EventsStack

    static func api(
        _ stack: Stack, _ path: String, method: String = "GET", token: String
    ) async throws -> HTTPResult {
        try await HTTP.request(
            stack.portcullis.url + "/api/v1" + path, method: method, headers: ["Authorization: Bearer \(token)"])
    }

    static func items(_ result: HTTPResult) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(result.text.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func aPushedImageIsListedWithSizeAndDigestStarredAndItsTagDeletedAtTheRegistry() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let alice = try await stack.alice()
        let first = try await OCIImage.build(in: stack.scratch.path("first"))
        let second = try await OCIImage.build(in: stack.scratch.path("second"))
        try await stack.push(alice, first.reference, "alice/demo:v1")
        try await stack.push(alice, second.reference, "alice/demo:v2")
        _ = try await stack.waitForTag("alice", "demo", "v1", "the first digest") {
            $0["digest"] as? String == first.manifestDigest
        }
        _ = try await stack.waitForTag("alice", "demo", "v2", "the second digest") {
            $0["digest"] as? String == second.manifestDigest
        }
        let token = try await stack.portcullis.createApplicationToken(user: "alice", name: "api")

        let repositories = try await Self.api(stack, "/namespaces/alice/repositories", token: token)
        #expect(repositories.status == 200, "\(repositories)")
        #expect(repositories.header("X-Total-Count") == "1")
        let listed = Self.items(repositories)
        #expect(listed.first?["full_name"] as? String == "alice/demo")
        #expect(listed.first?["tag_count"] as? Int == 2)

        let tags = try await Self.api(stack, "/repositories/alice/demo/tags", token: token)
        #expect(tags.status == 200, "\(tags)")
        let v1 = Self.items(tags).first { $0["name"] as? String == "v1" }
        #expect(v1?["digest"] as? String == first.manifestDigest)
        #expect((v1?["size"] as? Int ?? 0) > 0)
        #expect(v1?["media_type"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect(v1?["pushed_by"] as? String == "alice")

        let star = try await Self.api(stack, "/repositories/alice/demo/star", method: "PUT", token: token)
        #expect(star.status == 200, "\(star)")
        #expect(star.json?["star_count"] as? Int == 1)
        let stars = try await Self.api(stack, "/users/me/stars", token: token)
        #expect(Self.items(stars).first?["full_name"] as? String == "alice/demo")

        let deleted = try await Self.api(stack, "/repositories/alice/demo/tags/v2", method: "DELETE", token: token)
        #expect(deleted.status == 200, "\(deleted)\n\(stack.logs())")
        #expect(deleted.json?["digests"] as? [String] == [second.manifestDigest])
        let inspect = try await alice.run([
            "inspect", "--raw", "--authfile", alice.authFile.path, "--tls-verify=false",
            "docker://\(stack.host)/alice/demo:v2",
        ])
        #expect(!inspect.succeeded, "the registry still serves alice/demo:v2")
        let gone = try await Self.api(stack, "/repositories/alice/demo/tags/v2", token: token)
        #expect(gone.status == 404, "\(gone)")
        let kept = try await Self.api(stack, "/repositories/alice/demo/tags/v1", token: token)
        #expect(kept.status == 200, "\(kept)")
    }
}
