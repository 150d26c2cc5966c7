import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

/// A registry stand-in for the API's side of deletion: records what it was asked and answers as told. (The
/// registry itself is exercised end to end in `ServerAppTests`' content test against Debian's docker-registry.)
final class RecordingDeleter: APIRepositoryDeleting, @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [String] = []
    let failure: APIError?

    init(failure: APIError? = nil) { self.failure = failure }

    var recorded: [String] { lock.withLock { calls } }

    func deleteRepository(_ fullName: String, registry: String, by caller: APICaller) async throws
        -> APIDeletionOutcome
    {
        lock.withLock { calls.append("repository \(registry) \(fullName) as \(caller.username)") }
        if let failure { throw failure }
        return APIDeletionOutcome(digests: ["sha256:x"], removedTags: ["latest"], repositoryRemoved: true)
    }

    func deleteTag(_ tag: String, in fullName: String, registry: String, by caller: APICaller) async throws
        -> APIDeletionOutcome
    {
        lock.withLock { calls.append("tag \(registry) \(fullName):\(tag) as \(caller.username)") }
        if let failure { throw failure }
        return APIDeletionOutcome(digests: ["sha256:x"], removedTags: [tag], repositoryRemoved: false)
    }
}

@Suite("REST API: repositories, tags and stars")
struct RepositoryAPITests {
    @Test("A repository shows its description, star count and tag count")
    func show() async throws {
        let fixture = try await ContentFixture()
        let answer = await fixture.send(.get, "/repositories/web/app", fixture.alice)
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["full_name"] == .string("web/app"))
        #expect(json["tag_count"] == .integer(3))
        #expect(json["star_count"] == .integer(0))
        #expect(RepositoryResources.repositorySchema.problems(in: json).isEmpty)
        // Public namespace: anonymous browsing (on by default) shows it too.
        #expect(await fixture.send(.get, "/repositories/web/app").status == 200)
    }

    @Test("The global namespace is _ in paths, and nested names are written with %252F")
    func pathSpellings() async throws {
        let fixture = try await ContentFixture()
        let busybox = await fixture.send(.get, "/repositories/_/busybox", fixture.alice)
        #expect(busybox.status == 200)
        #expect(busybox.json?["full_name"] == .string("busybox"))
        // The server decodes the path once before routing: `%252F` arrives as `%2F`.
        let nested = await fixture.send(.get, "/repositories/web/group%2Ftool", fixture.alice)
        #expect(nested.status == 200)
        #expect(nested.json?["full_name"] == .string("web/group/tool"))
    }

    @Test(
        "Path traversal and encoding tricks are refused before anything is looked up",
        arguments: [
            ("/repositories/web/..%252Fsecret%252Fvault", 400), ("/repositories/web/%252E%252E", 400),
            ("/repositories/web/..", 400), ("/repositories/../secret", 400), ("/repositories/web/a%252F%252Fb", 400),
            ("/repositories/web/%252Fapp", 400), ("/repositories/web/app%2500", 400), ("/repositories/web/APP", 400),
            ("/repositories/web/app/../../secret/vault", 404), ("/repositories/web/..%2Fsecret%2Fvault", 404),
            ("/repositories/web/group/tool", 404), ("/repositories/web/app/tags/..", 400),
            ("/repositories/web/app/tags/a%252Fb", 400),
        ])
    func traversalIsRefused(path: String, status: Int) async throws {
        let fixture = try await ContentFixture()
        // As sent by the client; the server's parser decodes the path once before routing, as done here.
        let answer = await fixture.send(.get, path.removingPercentEncoding ?? path, fixture.root)
        #expect(answer.status == status, "\(path)")
        #expect(answer.errorCode != nil)
    }

    @Test("A repository of a private namespace is a 404 to non-members, a 200 to admins")
    func privateRepository() async throws {
        let fixture = try await ContentFixture()
        for path in [
            "/repositories/secret/vault", "/repositories/secret/vault/tags", "/repositories/secret/vault/tags/latest",
        ] {
            let alice = await fixture.send(.get, path, fixture.alice)
            #expect(alice.status == 404, "\(path)")
            #expect(alice.errorCode == "REPOSITORY_NOT_FOUND")
            #expect(await fixture.send(.get, path, fixture.root).status == 200, "\(path)")
        }
        #expect(await fixture.send(.put, "/repositories/secret/vault/star", fixture.alice).status == 404)
    }

    @Test("Tags come a page at a time with media type, platforms, size, pusher and pull data")
    func tags() async throws {
        let fixture = try await ContentFixture()
        let page = await fixture.send(.get, "/repositories/web/app/tags?per_page=2", fixture.alice)
        #expect(page.status == 200)
        #expect(page.header("X-Total-Count") == "3")
        #expect(ContentFixture.names(page) == ["latest", "v1"])
        guard case .array(let items)? = page.json, let latest = items.first else {
            Issue.record("no tags")
            return
        }
        #expect(latest["digest"] == .string(fixture.digestB))
        #expect(latest["size"] == .integer(300))
        #expect(latest["media_type"] == .string("application/vnd.oci.image.index.v1+json"))
        #expect(latest["platforms"] == .array(["linux/amd64", "linux/arm64"]))
        #expect(latest["pushed_by"] == .string("alice"))
        #expect(latest["pull_count"] == .integer(0))
        #expect(latest["last_pulled_at"] == .null)
        #expect(RepositoryResources.tagSchema.problems(in: latest).isEmpty)
        let bySize = await fixture.send(.get, "/repositories/web/app/tags?sort=size", fixture.alice)
        #expect(ContentFixture.names(bySize) == ["v1", "latest", "v2"])
        let newest = await fixture.send(.get, "/repositories/web/app/tags?sort=-pushed_at", fixture.alice)
        #expect(ContentFixture.names(newest) == ["v2", "v1", "latest"])
        let bad = await fixture.send(.get, "/repositories/web/app/tags?per_page=101", fixture.alice)
        #expect(bad.status == 400)
    }

    @Test("grouped=true gives one entry per digest, most recently pushed first, counted by digest")
    func groupedTags() async throws {
        let fixture = try await ContentFixture()
        let answer = await fixture.send(.get, "/repositories/web/app/tags?grouped=true", fixture.alice)
        #expect(answer.status == 200)
        #expect(answer.header("X-Total-Count") == "2")
        guard case .array(let groups)? = answer.json, groups.count == 2 else {
            Issue.record("expected two groups: \(String(describing: answer.json))")
            return
        }
        #expect(groups[0]["digest"] == .string(fixture.digestB))
        guard case .array(let tags)? = groups[0]["tags"] else { return }
        #expect(tags.compactMap { $0["name"]?.stringValue } == ["latest", "v2"])
        #expect(groups[1]["digest"] == .string(fixture.digestA))
        let wrong = await fixture.send(.get, "/repositories/web/app/tags?grouped=maybe", fixture.alice)
        #expect(wrong.status == 400)
    }

    @Test("One tag shows; an unknown one is a 404")
    func showTag() async throws {
        let fixture = try await ContentFixture()
        let tag = await fixture.send(.get, "/repositories/web/app/tags/v1", fixture.alice)
        #expect(tag.status == 200)
        #expect(tag.json?["digest"] == .string(fixture.digestA))
        let missing = await fixture.send(.get, "/repositories/web/app/tags/v9", fixture.alice)
        #expect(missing.status == 404)
        #expect(missing.errorCode == "TAG_NOT_FOUND")
    }

    @Test("The description changes for owners; others, pull-only tokens and anonymous callers are refused")
    func updateDescription() async throws {
        let fixture = try await ContentFixture()
        let body = #"{"description":"The app"}"#
        let changed = await fixture.send(.patch, "/repositories/web/app", fixture.alice, body: body)
        #expect(changed.status == 200)
        #expect(changed.json?["description"] == .string("The app"))
        #expect(await fixture.send(.patch, "/repositories/web/app", fixture.pull, body: body).status == 403)
        #expect(await fixture.send(.patch, "/repositories/web/app", body: body).status == 401)
        #expect(await fixture.send(.patch, "/repositories/_/busybox", fixture.alice, body: body).status == 403)
        let tooLong = #"{"description":"\#(String(repeating: "x", count: 5000))"}"#
        #expect(await fixture.send(.patch, "/repositories/web/app", fixture.alice, body: tooLong).status == 400)
        #expect(await fixture.send(.patch, "/repositories/web/app", fixture.alice, body: "{").status == 400)
    }

    @Test("Stars are idempotent both ways and users/me/stars lists them")
    func stars() async throws {
        let fixture = try await ContentFixture()
        let first = await fixture.send(.put, "/repositories/web/app/star", fixture.alice)
        #expect(first.status == 200)
        #expect(first.json?["changed"] == .bool(true))
        #expect(first.json?["star_count"] == .integer(1))
        let again = await fixture.send(.put, "/repositories/web/app/star", fixture.alice)
        #expect(again.json?["changed"] == .bool(false))
        #expect(again.json?["star_count"] == .integer(1))
        #expect(await fixture.send(.get, "/repositories/web/app", fixture.alice).json?["star_count"] == .integer(1))
        let mine = await fixture.send(.get, "/users/me/stars", fixture.alice)
        #expect(ContentFixture.names(mine, "full_name") == ["web/app"])
        #expect(mine.header("X-Total-Count") == "1")
        #expect(await fixture.send(.put, "/repositories/web/app/star", fixture.pull).status == 403)
        #expect(await fixture.send(.put, "/repositories/web/app/star").status == 401)
        #expect(
            await fixture.send(.delete, "/repositories/web/app/star", fixture.alice).json?["changed"] == .bool(true))
        let gone = await fixture.send(.delete, "/repositories/web/app/star", fixture.alice)
        #expect(gone.status == 200)
        #expect(gone.json?["changed"] == .bool(false))
        #expect(gone.json?["star_count"] == .integer(0))
    }

    @Test("Deletes go to the registry as the caller; without a registry they are a 503")
    func deletes() async throws {
        let deleter = RecordingDeleter()
        let fixture = try await ContentFixture(deleter: deleter)
        let tag = await fixture.send(.delete, "/repositories/web/app/tags/v1", fixture.alice)
        #expect(tag.status == 200)
        #expect(tag.json?["removed_tags"] == .array(["v1"]))
        let repository = await fixture.send(.delete, "/repositories/web/group%2Ftool", fixture.alice)
        #expect(repository.status == 200)
        #expect(deleter.recorded == ["tag local web/app:v1 as alice", "repository local web/group/tool as alice"])
        #expect(await fixture.send(.delete, "/repositories/web/app/tags/v9", fixture.alice).status == 404)
        #expect(await fixture.send(.delete, "/repositories/secret/vault", fixture.alice).status == 404)
        #expect(await fixture.send(.delete, "/repositories/web/app", fixture.pull).status == 403)
        #expect(deleter.recorded.count == 2)

        let none = try await ContentFixture()
        let unavailable = await none.send(.delete, "/repositories/web/app", none.alice)
        #expect(unavailable.status == 503)
    }

    @Test("A registry's refusal reaches the client as the deleter's error")
    func registryRefusal() async throws {
        let refusal = APIError(
            .unprocessableContent, code: "REGISTRY_REFUSED",
            message: "The registry refused: deletion is disabled there.")
        let fixture = try await ContentFixture(deleter: RecordingDeleter(failure: refusal))
        let answer = await fixture.send(.delete, "/repositories/web/app/tags/v1", fixture.alice)
        #expect(answer.status == 422)
        #expect(answer.errorCode == "REGISTRY_REFUSED")
    }
}
