import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

@Suite("REST API: namespaces")
struct NamespaceAPITests {
    @Test("The namespace list shows what the caller may see: no private namespace of others, all for admins")
    func listIsPolicyScoped() async throws {
        let fixture = try await ContentFixture()
        let alice = await fixture.send(.get, "/namespaces", fixture.alice)
        #expect(alice.status == 200)
        #expect(ContentFixture.names(alice).contains("web"))
        #expect(!ContentFixture.names(alice).contains("secret"))
        let root = await fixture.send(.get, "/namespaces?per_page=100", fixture.root)
        #expect(ContentFixture.names(root).contains("secret"))
        #expect(root.header("X-Total-Count") == String(ContentFixture.names(root).count))
        #expect(await fixture.send(.get, "/namespaces").status == 401)
    }

    @Test(
        "A private namespace is a 404 to non-members, on every route under it",
        arguments: ["/namespaces/secret", "/namespaces/secret/repositories", "/namespaces/secret/activities"])
    func privateNamespaceIsNotFound(path: String) async throws {
        let fixture = try await ContentFixture()
        let alice = await fixture.send(.get, path, fixture.alice)
        #expect(alice.status == 404)
        #expect(alice.errorCode == "NAMESPACE_NOT_FOUND")
        #expect(await fixture.send(.get, path, fixture.root).status == 200)
    }

    @Test("A namespace's repositories come a page at a time with tag and star counts and paging headers")
    func repositoriesArePaged() async throws {
        let fixture = try await ContentFixture()
        let first = await fixture.send(.get, "/namespaces/web/repositories?per_page=1", fixture.alice)
        #expect(first.status == 200)
        #expect(first.header("X-Total-Count") == "2")
        #expect(first.header("X-Total-Pages") == "2")
        #expect(ContentFixture.names(first, "full_name") == ["web/app"])
        guard case .array(let items)? = first.json, let app = items.first else {
            Issue.record("no items")
            return
        }
        #expect(app["tag_count"] == .integer(3))
        #expect(app["star_count"] == .integer(0))
        #expect(NamespaceResources.repositoryListingSchema.problems(in: app).isEmpty)
        let second = await fixture.send(.get, "/namespaces/web/repositories?per_page=1&page=2", fixture.alice)
        #expect(ContentFixture.names(second, "full_name") == ["web/group/tool"])
        let descending = await fixture.send(.get, "/namespaces/web/repositories?sort=-name", fixture.alice)
        #expect(ContentFixture.names(descending) == ["group/tool", "app"])
        let beyond = await fixture.send(.get, "/namespaces/web/repositories?page=9", fixture.alice)
        #expect(beyond.status == 200)
        #expect(ContentFixture.names(beyond).isEmpty)
    }

    @Test(
        "per_page abuse and unknown sort fields are 400s, not silent cuts",
        arguments: [
            ("per_page=1000", "PAGINATION_NUMBER_INVALID"), ("per_page=0", "PAGINATION_NUMBER_INVALID"),
            ("per_page=-5", "PAGINATION_NUMBER_INVALID"), ("page=abc", "PAGINATION_NUMBER_INVALID"),
            ("per_page=99999999999999999999", "PAGINATION_NUMBER_INVALID"), ("sort=password", "SORT_INVALID"),
        ])
    func pagingAbuse(query: String, code: String) async throws {
        let fixture = try await ContentFixture()
        let answer = await fixture.send(.get, "/namespaces/web/repositories?\(query)", fixture.alice)
        #expect(answer.status == 400)
        #expect(answer.errorCode == code)
    }

    @Test("Creating a namespace answers 201 with Location; a taken name is a 409, a bad one a 400")
    func create() async throws {
        let fixture = try await ContentFixture()
        let body = #"{"name":"shop","team":"webteam","description":"The shop"}"#
        let created = await fixture.send(.post, "/namespaces", fixture.alice, body: body)
        #expect(created.status == 201)
        #expect(created.header("Location") == "/namespaces/shop")
        #expect(created.json?["visibility"] == .string("private"))
        #expect(created.json?["team"] == .string("webteam"))
        #expect(NamespaceResources.namespaceSchema.problems(in: try #require(created.json)).isEmpty)
        #expect(await fixture.send(.post, "/namespaces", fixture.alice, body: body).status == 409)
        let bad = await fixture.send(
            .post, "/namespaces", fixture.alice, body: #"{"name":"Bad..Name","team":"webteam"}"#)
        #expect(bad.status == 400)
        let unknownTeam = await fixture.send(.post, "/namespaces", fixture.alice, body: #"{"name":"x1","team":"nope"}"#)
        #expect(unknownTeam.status == 404)
        let notOwner = await fixture.send(.post, "/namespaces", fixture.alice, body: #"{"name":"x2","team":"ops"}"#)
        #expect(notOwner.status == 403)
        let unknownField = await fixture.send(
            .post, "/namespaces", fixture.alice, body: #"{"name":"x3","team":"webteam","owner":"me"}"#)
        #expect(unknownField.status == 400)
        #expect(unknownField.errorCode == "FIELD_UNKNOWN")
    }

    @Test("A pull-only token and an api:read token cannot write, anonymous callers cannot either")
    func restrictedTokensCannotWrite() async throws {
        let fixture = try await ContentFixture()
        let body = #"{"description":"changed"}"#
        #expect(await fixture.send(.patch, "/namespaces/web", fixture.pull, body: body).status == 403)
        let read = APIFixture.bearer(fixture.api.readToken)
        #expect(await fixture.send(.patch, "/namespaces/web", read, body: body).status == 403)
        #expect(await fixture.send(.patch, "/namespaces/web", body: body).status == 401)
        #expect(await fixture.send(.delete, "/namespaces/web", fixture.pull).status == 403)
        #expect(await fixture.send(.get, "/namespaces/web", fixture.pull).status == 200)
    }

    @Test("A token limited to other namespaces is refused on this one")
    func namespaceRestriction() async throws {
        let fixture = try await ContentFixture()
        let read = APIFixture.bearer(fixture.api.readToken)  // limited to the namespace alice
        let answer = await fixture.send(.get, "/namespaces/web/repositories", read)
        #expect(answer.status == 403)
        #expect(answer.errorCode == "DENIED")
    }

    @Test("Description, visibility and team change through PATCH and show up in the namespace's activities")
    func updateAndActivities() async throws {
        let fixture = try await ContentFixture()
        let changed = await fixture.send(
            .patch, "/namespaces/web", fixture.alice, body: #"{"description":"Web things","visibility":"protected"}"#)
        #expect(changed.status == 200)
        #expect(changed.json?["description"] == .string("Web things"))
        #expect(changed.json?["visibility"] == .string("protected"))
        let moved = await fixture.send(.patch, "/namespaces/web", fixture.alice, body: #"{"team":"spare"}"#)
        #expect(moved.status == 200)
        #expect(moved.json?["team"] == .string("spare"))
        let refused = await fixture.send(.patch, "/namespaces/web", fixture.alice, body: #"{"team":"ops"}"#)
        #expect(refused.status == 403)
        let badVisibility = await fixture.send(.patch, "/namespaces/web", fixture.alice, body: #"{"visibility":"x"}"#)
        #expect(badVisibility.status == 400)
        let activities = await fixture.send(.get, "/namespaces/web/activities", fixture.alice)
        #expect(activities.status == 200)
        let actions = ContentFixture.names(activities, "action")
        #expect(
            actions.prefix(3) == [
                "namespace.change_team", "namespace.change_visibility", "namespace.change_namespace_description",
            ])
        #expect(activities.header("X-Total-Count") == "3")
    }

    @Test("Deleting a namespace that holds repositories is a 409; an empty one goes with 204")
    func delete() async throws {
        let fixture = try await ContentFixture()
        let full = await fixture.send(.delete, "/namespaces/web", fixture.alice)
        #expect(full.status == 409)
        #expect(full.errorCode == "NAMESPACE_NOT_EMPTY")
        _ = await fixture.send(.post, "/namespaces", fixture.alice, body: #"{"name":"empty","team":"webteam"}"#)
        #expect(await fixture.send(.delete, "/namespaces/empty", fixture.alice).status == 204)
        #expect(await fixture.send(.get, "/namespaces/empty", fixture.alice).status == 404)
    }
}
