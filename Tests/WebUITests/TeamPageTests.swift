import Administration
import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Team pages")
struct TeamPageTests {
    @Test(
        "The teams list shows the teams each person may see, with member and namespace counts",
        arguments: [
            ("root", ["acme", "ops"], []), ("olivia", ["acme"], ["ops"]), ("carl", ["acme"], ["ops"]),
            ("vera", ["acme"], ["ops"]), ("eve", [], ["acme", "ops"]),
        ])
    func teamsList(_ username: String, _ visible: [String], _ hidden: [String]) async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser(username).get("/teams")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "teams"))
        for team in visible { #expect(page.contains("href=\"/teams/\(team)\"")) }
        for team in hidden { #expect(!page.contains("href=\"/teams/\(team)\"")) }
        if visible.isEmpty { #expect(page.contains("You are in no team yet")) }
        #expect(page.postFormsCarryCSRF())
    }

    @Test("The teams list is paged on the server and searched by name")
    func teamsPagedAndSearched() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            for index in 0..<30 { _ = try writer.createTeam(name: String(format: "squad-%02d", index)) }
        }
        let root = try await fixture.browser("root")
        let first = await root.get("/teams")
        #expect(first.contains("1–25 of 32"))
        let second = await root.get("/teams?page=2")
        #expect(second.contains("href=\"/teams/squad-29\""))
        #expect(!second.contains("href=\"/teams/acme\""))
        let found = await root.get("/teams?q=squad-1")
        #expect(found.contains("href=\"/teams/squad-10\""))
        #expect(!found.contains("href=\"/teams/acme\""))
        let short = await root.get("/teams?q=sq")
        #expect(short.contains("at least 3 characters"))
    }

    @Test("The team page shows each member's role and where the membership came from")
    func membershipSources() async throws {
        let fixture = try await WebFixture(providers: fixtureProviders)
        try await fixture.store.write { writer in
            let acme = try writer.team(named: "acme")!
            _ = try writer.addTeamMember(
                team: acme.id, user: fixture.users["eve"]!.id, role: .viewer, syncedFrom: "corp-ldap")
        }
        let page = try await fixture.browser("vera").get("/teams/acme")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "members"))
        #expect(page.contains("LDAP · corp-ldap"))
        #expect(page.contains(">manual<"))
        #expect(page.contains("badge owner"))
        #expect(page.contains("href=\"/namespaces/acme\""))
    }

    @Test(
        "Owners and administrators get the member, robot and delete controls; contributors and viewers none",
        arguments: [("root", true), ("olivia", true), ("carl", false), ("vera", false)])
    func controlsByRole(_ username: String, _ manages: Bool) async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser(username).get("/teams/acme")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "add-member-form") == manages)
        #expect(page.contains("rolechange") == manages)
        #expect(page.contains("/remove\"") == manages)
        #expect(page.hasElement(id: "create-robot-form") == manages)
        #expect(page.hasElement(id: "description-form") == manages)
        #expect(page.hasElement(id: "danger-zone") == manages)
        #expect(page.hasElement(id: "robots"))
        #expect(page.postFormsCarryCSRF(minimum: 0))
    }

    @Test("A team you are not in is not found, and its pages say nothing about it")
    func strangersSeeNothing() async throws {
        let fixture = try await WebFixture()
        let eve = try await fixture.browser("eve")
        #expect(await eve.get("/teams/acme").status == 404)
        #expect(await eve.get("/teams/acme/delete").status == 404)
        #expect(await eve.get("/teams/acme/members/carl/remove").status == 404)
    }

    @Test("An owner adds a member, changes their role and removes them through the confirmation page")
    func memberLifecycle() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let added = await olivia.post("/teams/acme/members", [("username", "eve"), ("role", "viewer")])
        #expect(added.status == 303)
        #expect(added.flash == "eve added to acme as viewer.")
        let changed = await olivia.post("/teams/acme/members/eve/role", [("role", "contributor")])
        #expect(changed.flash == "eve is now contributor.")
        #expect(try await role(of: "eve", fixture) == .contributor)
        let confirm = await olivia.get("/teams/acme/members/eve/remove")
        #expect(confirm.status == 200)
        #expect(confirm.hasElement(id: "confirm-form"))
        #expect(confirm.contains("Remove eve"))
        #expect(confirm.postFormsCarryCSRF())
        #expect(try await role(of: "eve", fixture) == .contributor)
        let removed = await olivia.post("/teams/acme/members/eve/remove", [])
        #expect(removed.status == 303)
        #expect(try await role(of: "eve", fixture) == nil)
    }

    @Test("Removing or demoting the last owner is refused with the service's reason as a message")
    func lastOwnerRefused() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let removed = await olivia.post("/teams/acme/members/olivia/remove", [])
        #expect(removed.status == 303)
        #expect(removed.location == "/teams/acme#members")
        #expect(removed.flash == "Cannot remove the only owner of team acme.")
        let demoted = await olivia.post("/teams/acme/members/olivia/role", [("role", "viewer")])
        #expect(demoted.flash == "Cannot demote the only owner of team acme.")
        #expect(try await role(of: "olivia", fixture) == .owner)
    }

    @Test(
        "Forged or unauthorised member changes get 403 and change nothing",
        arguments: ["no token", "wrong token", "another user's token", "viewer with a valid token"])
    func forgedPostsRefused(_ forgery: String) async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let page: WebPage
        switch forgery {
        case "no token":
            page = await olivia.post("/teams/acme/members", [("username", "eve"), ("role", "owner")], csrf: "")
        case "wrong token":
            page = await olivia.post(
                "/teams/acme/members", [("username", "eve"), ("role", "owner")],
                csrf: "x" + String(repeating: "0", count: 31))
        case "another user's token":
            let root = try await fixture.browser("root")
            page = await olivia.post(
                "/teams/acme/members", [("username", "eve"), ("role", "owner")], csrf: root.csrfToken)
        default:
            page = try await fixture.browser("vera").post(
                "/teams/acme/members", [("username", "eve"), ("role", "owner")])
        }
        #expect(page.status == 403)
        #expect(try await role(of: "eve", fixture) == nil)
    }

    @Test("Team descriptions and robot notes with markup are shown as text")
    func markupEscaped() async throws {
        let fixture = try await WebFixture()
        let acme = try await fixture.store.read { try $0.team(named: "acme")! }
        try await fixture.store.write { try $0.setDescription(markup, forTeam: acme.id) }
        _ = try await RobotAccountService(store: fixture.store).create(
            team: "acme", name: "ci", actions: ["pull"], expiresAt: Date().addingTimeInterval(86_400), note: markup,
            by: .user(fixture.users["root"]!))
        let root = try await fixture.browser("root")
        #expect(await root.get("/teams").escapesMarkup)
        let page = await root.get("/teams/acme")
        #expect(page.escapesMarkup)
    }

    @Test("A new robot account's token is shown once with its docker login line, and never again")
    func robotShownOnce() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let created = await olivia.post(
            "/teams/acme/robots",
            [("name", "ci"), ("actions", "push"), ("namespaces", "acme"), ("expires", "30"), ("note", "build farm")])
        #expect(created.status == 201)
        #expect(created.hasElement(id: "new-secret"))
        #expect(created.contains("docker login -u acme+ci --password-stdin registry.test:5000"))
        #expect(created.contains("will not be shown again"))
        let token = try #require(created.copied(startingWith: "pcr_"))
        let later = await olivia.get("/teams/acme")
        #expect(later.contains("acme+ci"))
        #expect(!later.contains(token))
        #expect(!(later.header("Set-Cookie") ?? "").contains(token))
        #expect(!(created.location ?? "").contains(token))
        let again = await olivia.post(
            "/teams/acme/robots", [("name", "ci"), ("actions", "pull"), ("expires", "30")])
        #expect(again.status == 422)
        #expect(again.contains("already has a robot named"))
        #expect(again.contains("value=\"ci\""))
        #expect(!again.contains("pcr_"))
    }

    @Test("Revoking a robot account goes through a confirmation page and marks it revoked")
    func robotRevocation() async throws {
        let fixture = try await WebFixture()
        _ = try await RobotAccountService(store: fixture.store).create(
            team: "acme", name: "ci", actions: ["pull"], expiresAt: Date().addingTimeInterval(86_400),
            by: .user(fixture.users["root"]!))
        let olivia = try await fixture.browser("olivia")
        let confirm = await olivia.get("/teams/acme/robots/ci/revoke")
        #expect(confirm.status == 200)
        #expect(confirm.contains("stops working at once"))
        #expect(confirm.postFormsCarryCSRF())
        #expect(try await fixture.browser("carl").get("/teams/acme/robots/ci/revoke").status == 403)
        #expect(try await fixture.browser("carl").post("/teams/acme/robots/ci/revoke", []).status == 403)
        let revoked = await olivia.post("/teams/acme/robots/ci/revoke", [])
        #expect(revoked.status == 303)
        #expect(await olivia.get("/teams/acme").contains("badge revoked"))
    }

    @Test("Creating a team makes the creator its owner; a bad name is shown next to the field")
    func teamCreation() async throws {
        let fixture = try await WebFixture()
        let eve = try await fixture.browser("eve")
        let bad = await eve.post("/teams", [("name", "Bad Name"), ("description", "kept")])
        #expect(bad.status == 422)
        #expect(bad.hasElement(id: "field-name-error"))
        #expect(bad.contains("value=\"kept\""))
        let created = await eve.post("/teams", [("name", "qa"), ("description", "Quality")])
        #expect(created.status == 303)
        #expect(created.location == "/teams/qa")
        #expect(try await role(of: "eve", fixture, team: "qa") == .owner)
    }

    @Test("An owner edits the description; a viewer cannot")
    func descriptionEdit() async throws {
        let fixture = try await WebFixture()
        let saved = try await fixture.browser("olivia").post("/teams/acme/description", [("description", "New words")])
        #expect(saved.flash == "Description saved.")
        #expect(try await fixture.store.read { try $0.team(named: "acme")?.description } == "New words")
        let refused = try await fixture.browser("vera").post("/teams/acme/description", [("description", "x")])
        #expect(refused.status == 403)
    }

    @Test("Deleting a team goes through a confirmation that names its namespaces and where they go")
    func teamDeletion() async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let confirm = await root.get("/teams/ops/delete")
        #expect(confirm.status == 200)
        #expect(confirm.contains("secret"))
        #expect(confirm.hasElement(id: "field-heir"))
        #expect(confirm.postFormsCarryCSRF())
        let refused = await root.post("/teams/ops/delete", [])
        #expect(refused.flash?.contains("owns secret") == true)
        let deleted = await root.post("/teams/ops/delete", [("heir", "acme")])
        #expect(deleted.status == 303)
        #expect(deleted.location == "/teams")
        #expect(try await fixture.store.read { try $0.team(named: "ops") } == nil)
    }

    private func role(of username: String, _ fixture: WebFixture, team: String = "acme") async throws -> TeamRole? {
        let userID = fixture.users[username]!.id
        return try await fixture.store.read { reader in
            try reader.team(named: team).flatMap { try reader.role(of: userID, in: $0.id) }
        }
    }
}
