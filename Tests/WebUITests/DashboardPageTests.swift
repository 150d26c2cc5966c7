import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Dashboard, explore and search pages")
struct DashboardPageTests {
    @Test("A member's dashboard lists their team's namespace and their teams, without administrator figures")
    func memberDashboard() async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser("vera").get("/")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "my-namespaces"))
        #expect(page.contains("href=\"/namespaces/acme\""))
        #expect(page.contains("href=\"/teams/acme\""))
        #expect(!page.hasElement(id: "admin-tiles"))
        #expect(!page.contains("href=\"/admin/users\""))
    }

    @Test("An administrator's dashboard shows the figures, token denials included")
    func administratorDashboard() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            _ = try writer.appendAuditEvent(
                NewAuditEvent(action: "token.issue", outcome: .denied, actorName: "mallory"))
            _ = try writer.appendAuditEvent(NewAuditEvent(action: "token.issue", outcome: .success, actorName: "carl"))
        }
        let page = try await fixture.browser("root").get("/")
        #expect(page.hasElement(id: "admin-tiles"))
        #expect(page.contains("<div class=\"figure\">5</div><div class=\"label\">Users</div>"))
        #expect(page.contains("<div class=\"figure\">1</div><div class=\"label\">Token denials, 24 h</div>"))
    }

    @Test("A visitor at the root is sent to explore, or to sign in when anonymous browsing is off")
    func visitorRoot() async throws {
        let open = try await WebFixture(anonymousBrowsing: true)
        #expect(await open.visitor.get("/").location == "/explore")
        let closed = try await WebFixture(anonymousBrowsing: false)
        #expect(await closed.visitor.get("/").location == "/sign-in")
        #expect(await closed.visitor.get("/explore").location?.hasPrefix("/sign-in?next=") == true)
    }

    @Test("Explore lists public repositories only, to visitors as to users")
    func exploreListsPublic() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            let team = try writer.team(named: "acme")!
            let open = try writer.createNamespace(name: "open", team: team.id, visibility: .public)
            _ = try writer.createRepository(name: "web", in: open.id, registry: "local")
        }
        let page = await fixture.visitor.get("/explore")
        #expect(page.status == 200)
        #expect(page.contains("href=\"/repositories/open/web\""))
        #expect(!page.contains("acme/api"))
        #expect(!page.contains("secret/vault"))
    }

    @Test("Search finds a tag by ns/repo:tag and the repository by its name, within what the caller may see")
    func searchFindsTag() async throws {
        let fixture = try await WebFixture()
        let vera = try await fixture.browser("vera")
        let tagged = await vera.get("/search?q=acme/api:v1")
        #expect(tagged.status == 200)
        #expect(tagged.hasElement(id: "search-tag"))
        #expect(tagged.contains("href=\"/repositories/acme/api/-/tags/v1\""))
        #expect(tagged.contains("href=\"/repositories/acme/api\""))
        let secret = await vera.get("/search?q=vault")
        #expect(!secret.contains("secret/vault"))
        let root = try await fixture.browser("root").get("/search?q=vault")
        #expect(root.contains("secret/vault"))
    }

    @Test("A too short search says so next to the field")
    func shortSearch() async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser("vera").get("/search?q=ab")
        #expect(page.status == 200)
        #expect(page.contains("aria-invalid=\"true\""))
    }

    @Test("Names and descriptions with markup are shown as text on the dashboard, explore and search")
    func hostileNamesAreEscaped() async throws {
        let fixture = try await WebFixture()
        let payload = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"
        try await fixture.store.write { writer in
            let team = try writer.team(named: "acme")!
            let open = try writer.createNamespace(
                name: "xss", team: team.id, visibility: .public, kind: .regular, personalOwner: nil,
                description: payload)
            let repository = try writer.createRepository(name: "web", in: open.id, registry: "local")
            try writer.setDescription(payload, forRepository: repository.id)
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "tag.push", outcome: .success, actorName: payload, target: "tag:acme/api:\(payload)"))
        }
        let olivia = try await fixture.browser("olivia")
        for target in ["/", "/explore", "/search?q=xss", "/search?q=web&kind=repository"] {
            let page = await olivia.get(target)
            #expect(page.status == 200, "\(target)")
            #expect(!page.contains("<script>alert"), "\(target)")
            #expect(!page.contains("<img src=x"), "\(target)")
        }
        let dashboard = await olivia.get("/")
        #expect(dashboard.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }
}

@Suite("Sessions as the pages see them")
struct SessionFreshnessTests {
    @Test("A renamed account is greeted by its new name on the next page, though sessions are kept in memory")
    func profileChangesShowAtOnce() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        #expect(await olivia.get("/").contains("Welcome back, olivia."))
        let changed = await olivia.post("/profile", [("display_name", "Olivia Park"), ("email", "olivia@example.org")])
        #expect(changed.status == 303)
        #expect(await olivia.get("/").contains("Welcome back, Olivia Park."))
    }

    @Test("A signed-out session stops working at once, though it was just used")
    func signOutIsImmediate() async throws {
        let fixture = try await WebFixture()
        let carl = try await fixture.browser("carl")
        #expect(await carl.get("/").status == 200)
        #expect(await carl.post("/sign-out", []).status == 303)
        #expect(await carl.get("/").status == 303)
    }
}
