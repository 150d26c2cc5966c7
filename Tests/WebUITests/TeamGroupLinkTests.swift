import Administration
import Foundation
import Storage
import Testing

@testable import WebUI

/// Provider groups named as team members before anyone of them signs in (issue 13 §2).
@Suite("A team's provider groups")
struct TeamGroupLinkTests {
    @Test("An owner names a provider group; its person joins with that role at the first sign-in, as the provider's")
    func aNamedGroupBringsItsPeopleInAtTheirFirstSignIn() async throws {
        let sso = try await SSOFixture()
        let olivia = try await sso.web.browser("olivia")
        let page = await olivia.get("/teams/acme")
        #expect(page.postForms.contains { $0.action == "/teams/acme/groups" && $0.hasCSRF })
        #expect(page.contains("No provider group is a member"))
        let added = await olivia.post(
            "/teams/acme/groups", [("provider", "corp-sso"), ("group", "acme-devs"), ("role", "contributor")])
        #expect(added.status == 303 && added.flash == "Group acme-devs of corp-sso added to acme as contributor.")
        #expect(await olivia.get("/teams/acme").contains("<code>acme-devs</code>"))
        #expect(try await sso.audit("team.add_group").first?.actorName == "olivia")

        // Nobody of the group has signed in yet; dana does now, for the first time.
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana", groups: ["acme-devs"]))
        var dana = sso.web.visitor
        #expect(try await sso.signIn(&dana, code: "dana").status == 303)
        let membership = try await sso.store.read { reader -> TeamMembership? in
            guard let user = try reader.user(named: "dana") else { return nil }
            return try reader.memberships(of: user.id).first { $0.team.name == "acme" }
        }
        #expect(membership?.role == .contributor)
        #expect(membership?.syncedFrom == "corp-sso")
    }

    @Test("A group named after its person signed in is taken at their next sign-in (the mapping cache lets go)")
    func aGroupNamedLaterIsTakenAtTheNextSignIn() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana", groups: ["acme-devs"]))
        var first = sso.web.visitor
        #expect(try await sso.signIn(&first, code: "dana").status == 303)
        let olivia = try await sso.web.browser("olivia")
        let before = sso.store.authorizationGeneration
        _ = await olivia.post(
            "/teams/acme/groups", [("provider", "corp-sso"), ("group", "acme-devs"), ("role", "viewer")])
        #expect(sso.store.authorizationGeneration > before, "naming a group left cached mappings settled")
        var again = sso.web.visitor
        #expect(try await sso.signIn(&again, code: "dana").status == 303)
        let role = try await sso.store.read { reader -> TeamRole? in
            guard let user = try reader.user(named: "dana") else { return nil }
            return try reader.memberships(of: user.id).first { $0.team.name == "acme" }?.role
        }
        #expect(role == .viewer)
    }

    @Test("Only owners and administrators name or remove groups; bad names, wildcards and repeats are refused")
    func namingGroupsIsGuarded() async throws {
        let sso = try await SSOFixture()
        let vera = try await sso.web.browser("vera")
        #expect(!(await vera.get("/teams/acme")).postForms.contains { $0.action == "/teams/acme/groups" })
        #expect(
            await vera.post("/teams/acme/groups", [("provider", "corp-sso"), ("group", "x"), ("role", "owner")])
                .status == 403)
        let olivia = try await sso.web.browser("olivia")
        #expect(
            await olivia.post(
                "/teams/acme/groups", [("provider", "corp-sso"), ("group", "x"), ("role", "viewer")], csrf: "forged"
            ).status == 403)
        for group in ["*", "dev*", "", "a\nb"] {
            let refused = await olivia.post(
                "/teams/acme/groups", [("provider", "corp-sso"), ("group", group), ("role", "viewer")])
            #expect(refused.flash?.contains("no * or ?") == true, "\(group): \(refused.flash ?? "")")
        }
        let badProvider = await olivia.post(
            "/teams/acme/groups", [("provider", "Corp SSO!"), ("group", "devs"), ("role", "viewer")])
        #expect(badProvider.flash?.contains("is not a provider id") == true)
        _ = await olivia.post("/teams/acme/groups", [("provider", "corp-sso"), ("group", "devs"), ("role", "viewer")])
        let again = await olivia.post(
            "/teams/acme/groups", [("provider", "corp-sso"), ("group", "devs"), ("role", "owner")])
        #expect(again.flash == "The group devs of corp-sso is a member of acme already.")
        let root = try #require(try await sso.user("root"))
        let links = try await TeamAdministration(store: sso.store).groupLinks(of: "acme", by: .user(root))
        #expect(links.map(\.group) == ["devs"])

        // Removing goes through a confirmation page.
        let id = try #require(links.first?.id.rawValue)
        #expect(await vera.get("/teams/acme/groups/\(id)/remove").status == 403)
        let confirm = await olivia.get("/teams/acme/groups/\(id)/remove")
        #expect(confirm.status == 200 && confirm.contains("Remove group devs from acme?"))
        #expect(confirm.postForms.contains { $0.action == "/teams/acme/groups/\(id)/remove" && $0.hasCSRF })
        #expect(await vera.post("/teams/acme/groups/\(id)/remove", []).status == 403)
        let removed = await olivia.post("/teams/acme/groups/\(id)/remove", [])
        #expect(removed.flash == "Provider group removed from acme.")
        #expect(
            await olivia.post("/teams/acme/groups/\(id)/remove", []).flash == "Team acme names no such provider group.")
    }

    @Test("A group's name and its adder are escaped on the team page")
    func groupNamesAreEscaped() async throws {
        let sso = try await SSOFixture()
        let olivia = try await sso.web.browser("olivia")
        let payload = "\"><script>alert(1)</script>"
        _ = await olivia.post("/teams/acme/groups", [("provider", "corp-sso"), ("group", payload), ("role", "viewer")])
        let page = await olivia.get("/teams/acme")
        #expect(!page.contains("<script>alert(1)</script>"))
        #expect(page.contains(HTMLEscaping.escaped(payload)))
    }
}
