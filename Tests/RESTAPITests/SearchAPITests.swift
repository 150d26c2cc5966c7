import Administration
import Authorization
import Foundation
import HTTPCore
import IdentityCore
import RESTAPI
import Storage
import Testing

@Suite("REST API: search and explore")
struct SearchAPITests {
    static func section(_ answer: Answer, _ name: String) -> [String] {
        guard case .array(let items)? = answer.json?[name]?["items"] else { return [] }
        return items.compactMap { $0["name"]?.stringValue }
    }

    @Test("Search finds repositories, tags, namespaces and teams the caller may see, and nothing private of others")
    func search() async throws {
        let fixture = try await ContentFixture()
        let alice = await fixture.send(.get, "/search?q=app", fixture.alice)
        #expect(alice.status == 200)
        #expect(Self.section(alice, "repositories") == ["web/app"])
        let tags = await fixture.send(.get, "/search?q=web/app:v", fixture.alice)
        #expect(Set(Self.section(tags, "tags")) == ["web/app:v1", "web/app:v2"])
        let teams = await fixture.send(.get, "/search?q=webteam&kind=teams", fixture.alice)
        #expect(Self.section(teams, "teams") == ["webteam"])
        #expect(teams.json?["repositories"] == nil)
        let hidden = await fixture.send(.get, "/search?q=vault", fixture.alice)
        #expect(Self.section(hidden, "repositories").isEmpty)
        let admin = await fixture.send(.get, "/search?q=vault", fixture.root)
        #expect(Self.section(admin, "repositories") == ["secret/vault"])
        #expect(SearchResources.resultsSchema.problems(in: try #require(admin.json)).isEmpty)
    }

    @Test("A token restricted to some namespaces finds, lists and explores nothing outside them")
    func restrictedToken() async throws {
        let fixture = try await ContentFixture()
        let token = try await ApplicationTokenService(store: fixture.api.store, maxPerUser: 100).create(
            owner: fixture.api.root.id, name: "web only", expiresAt: nil,
            restriction: AccessRestriction(namespaces: ["web"]), by: .commandLine(osUser: "test")
        ).plaintext
        let webOnly = APIFixture.bearer(token)
        // The administrator's own token finds the private repository; the restricted one does not.
        #expect(Self.section(await fixture.send(.get, "/search?q=vault", fixture.root), "repositories").count == 1)
        #expect(Self.section(await fixture.send(.get, "/search?q=vault", webOnly), "repositories").isEmpty)
        #expect(Self.section(await fixture.send(.get, "/search?q=busybox", webOnly), "repositories").isEmpty)
        #expect(Self.section(await fixture.send(.get, "/search?q=app", webOnly), "repositories") == ["web/app"])
        #expect(Self.section(await fixture.send(.get, "/search?q=ops&kind=teams", webOnly), "teams").isEmpty)
        #expect(
            Self.section(await fixture.send(.get, "/search?q=webteam&kind=teams", webOnly), "teams") == ["webteam"])
        let namespaces = await fixture.send(.get, "/namespaces", webOnly)
        #expect(ContentFixture.names(namespaces) == ["web"])
        let explore = await fixture.send(.get, "/explore", webOnly)
        #expect(explore.status == 200)
        #expect(ContentFixture.names(explore).allSatisfy { $0.hasPrefix("web/") })
        #expect(
            !ContentFixture.names(await fixture.send(.get, "/explore", fixture.root)).allSatisfy {
                $0.hasPrefix("web/")
            })
    }

    @Test(
        "Hostile search text is taken literally: never a 5xx, never a match it does not contain",
        arguments: [
            "\"; DROP TABLE repositories; --", "app\" OR \"1", "NEAR(app web)", "*app*", "a%p", "ap_", "' OR 1=1 --",
            "web/app:v1\"", "🙂🙂🙂", String(repeating: "a", count: 255), "app OR v1", "{col}: app",
        ])
    func hostileText(query: String) async throws {
        let fixture = try await ContentFixture()
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let answer = await fixture.send(.get, "/search?q=\(encoded)", fixture.alice)
        #expect(answer.status == 200, "\(query)")
        // Repositories match the part before the first `:` (Portus's rule); tags the whole text.
        let beforeColon = String(query.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
        #expect(Self.section(answer, "repositories").allSatisfy { $0.contains(beforeColon) })
        #expect(Self.section(answer, "tags").allSatisfy { $0.contains(query) })
    }

    @Test(
        "Too short, too long, repeated, unknown or control-character search input is a 400",
        arguments: [
            "/search?q=app%00x",
            "/search?q=ab", "/search", "/search?q=abc&q=abd", "/search?q=\(String(repeating: "a", count: 256))",
            "/search?q=app&kind=users", "/search?q=app&per_page=1000",
        ])
    func badInput(path: String) async throws {
        let fixture = try await ContentFixture()
        let answer = await fixture.send(.get, path, fixture.alice)
        #expect(answer.status == 400, "\(path)")
        #expect(answer.errorCode != nil)
    }

    @Test("Explore lists public repositories to anonymous callers while anonymous browsing is on")
    func explore() async throws {
        let fixture = try await ContentFixture()
        let anonymous = await fixture.send(.get, "/explore")
        #expect(anonymous.status == 200)
        #expect(Set(ContentFixture.names(anonymous)) == ["web/app", "web/group/tool", "busybox"])
        #expect(anonymous.header("X-Total-Count") == "3")
        let filtered = await fixture.send(.get, "/explore?q=tool")
        #expect(ContentFixture.names(filtered) == ["web/group/tool"])
        let searched = await fixture.send(.get, "/search?q=app")
        #expect(searched.status == 200)
        #expect(Self.section(searched, "teams").isEmpty)
    }

    @Test("With anonymous browsing off, explore and search need a login")
    func anonymousBrowsingOff() async throws {
        let fixture = try await ContentFixture(settings: ResourcePolicySettings(anonymousBrowsing: false))
        let explore = await fixture.send(.get, "/explore")
        #expect(explore.status == 401)
        #expect(explore.header("WWW-Authenticate") != nil)
        #expect(await fixture.send(.get, "/search?q=app").status == 401)
        #expect(await fixture.send(.get, "/explore", fixture.alice).status == 200)
    }
}
