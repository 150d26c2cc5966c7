import Administration
import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Profile, application token and session pages")
struct ProfilePageTests {
    @Test(
        "The profile page shows the person's details, teams and linked identities",
        arguments: ["root", "olivia", "carl", "vera", "eve"])
    func profileShown(_ username: String) async throws {
        let fixture = try await WebFixture(providers: fixtureProviders)
        let page = try await fixture.browser(username).get("/profile")
        #expect(page.status == 200)
        for id in ["profile-form", "password", "identities", "memberships"] { #expect(page.hasElement(id: id)) }
        #expect(page.contains("value=\"\(username)@example.org\""))
        #expect(page.contains("href=\"/teams/acme\"") == ["olivia", "carl", "vera"].contains(username))
        #expect(page.postFormsCarryCSRF())
    }

    @Test("Saving the profile changes the display name and e-mail; a bad e-mail is shown next to the field")
    func profileSaved() async throws {
        let fixture = try await WebFixture()
        let vera = try await fixture.browser("vera")
        let saved = await vera.post("/profile", [("display_name", "Vera Viewer"), ("email", "vera@corp.example")])
        #expect(saved.flash == "Profile saved.")
        let user = try await fixture.store.read { try $0.user(named: "vera") }
        #expect(user?.displayName == "Vera Viewer")
        #expect(user?.email == "vera@corp.example")
        let bad = await vera.post("/profile", [("display_name", "Kept"), ("email", "not an address")])
        #expect(bad.status == 422)
        #expect(bad.hasElement(id: "field-email-error"))
        #expect(bad.contains("value=\"Kept\""))
        #expect(try await fixture.store.read { try $0.user(named: "vera")?.email } == "vera@corp.example")
    }

    @Test("Display names and e-mails with markup are shown as text on the profile")
    func profileMarkupEscaped() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            try writer.setDisplayName(markup, for: fixture.users["carl"]!.id)
            try writer.setEmail(markup, for: fixture.users["carl"]!.id)
        }
        #expect(try await fixture.browser("carl").get("/profile").escapesMarkup)
    }

    @Test("A local account changes its password only with the current one")
    func passwordChange() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { try $0.setPasswordHash("$2b$12$placeholder", for: fixture.users["olivia"]!.id) }
        let olivia = try await fixture.browser("olivia")
        let otherBrowser = try await fixture.browser("olivia")
        #expect(await olivia.get("/profile").hasElement(id: "password-form"))
        let wrong = await olivia.post(
            "/profile/password",
            [("current", "guess"), ("password", "a new long one"), ("confirmation", "a new long one")])
        #expect(wrong.status == 422)
        #expect(wrong.contains("That is not your current password."))
        #expect(try await hash("olivia", fixture) == "$2b$12$placeholder")
        let differ = await olivia.post(
            "/profile/password",
            [("current", "olivia-password"), ("password", "a new long one"), ("confirmation", "other")])
        #expect(differ.hasElement(id: "field-confirmation-error"))
        let changed = await olivia.post(
            "/profile/password",
            [("current", "olivia-password"), ("password", "a new long one"), ("confirmation", "a new long one")])
        #expect(changed.status == 303)
        #expect(try await hash("olivia", fixture) != "$2b$12$placeholder")
        // The session that changed it stays signed in; the account's other sessions end.
        #expect(await olivia.get("/profile").status == 200)
        #expect(await otherBrowser.get("/profile").status == 303)
    }

    @Test("An account that signs in through LDAP is told why it cannot change its password here")
    func directoryAccountsExplained() async throws {
        let fixture = try await WebFixture(providers: fixtureProviders)
        _ = try await fixture.store.write {
            try $0.linkIdentity(providerID: "corp-ldap", subject: markup, to: fixture.users["carl"]!.id)
        }
        let page = try await fixture.browser("carl").get("/profile")
        #expect(page.hasElement(id: "no-local-password"))
        #expect(!page.hasElement(id: "password-form"))
        #expect(page.contains("Corporate LDAP (ldap)"))
        #expect(page.escapesMarkup)
    }

    @Test("A new application token is shown once with the docker login line; reloading the list never shows it")
    func tokenShownOnce() async throws {
        let fixture = try await WebFixture()
        let carl = try await fixture.browser("carl")
        let empty = await carl.get("/profile/tokens")
        #expect(empty.contains("No application tokens yet"))
        #expect(empty.postFormsCarryCSRF())
        let created = await carl.post(
            "/profile/tokens",
            [
                ("name", "CI on build-01"), ("namespaces", "acme"), ("actions", "pull"), ("actions", "push"),
                ("expires", "30"),
            ])
        #expect(created.status == 201)
        #expect(created.hasElement(id: "new-token"))
        #expect(created.contains("docker login -u carl --password-stdin registry.test:5000"))
        #expect(created.contains("will not be shown again"))
        let token = try #require(created.copied(startingWith: "pct_"))
        #expect(created.location == nil)
        #expect(!created.response.headers.values(for: "Set-Cookie").contains { $0.contains(token) })
        let reloaded = await carl.get("/profile/tokens")
        #expect(!reloaded.contains(token))
        #expect(!reloaded.hasElement(id: "new-token"))
        #expect(reloaded.contains("CI on build-01"))
        #expect(reloaded.contains("badge active"))
        #expect(reloaded.contains("pull, push"))
        let listed = try await ApplicationTokenService(store: fixture.store).list(
            owner: fixture.users["carl"]!.id, by: .user(fixture.users["carl"]!))
        #expect(listed.first?.restriction?.namespaces == ["acme"])
    }

    @Test("A refused token keeps what was typed and shows why")
    func tokenRefused() async throws {
        let fixture = try await WebFixture()
        let carl = try await fixture.browser("carl")
        _ = await carl.post("/profile/tokens", [("name", "ci"), ("expires", "never")])
        let taken = await carl.post("/profile/tokens", [("name", "ci"), ("expires", "7")])
        #expect(taken.status == 409)
        #expect(taken.contains("already exists"))
        #expect(!taken.hasElement(id: "new-token"))
        let badAction = await carl.post(
            "/profile/tokens", [("name", "odd"), ("actions", "launch"), ("namespaces", "acme"), ("expires", "7")])
        #expect(badAction.status == 422)
        #expect(badAction.contains("value=\"acme\""))
        #expect(!badAction.hasElement(id: "new-token"))
    }

    @Test("Token names with markup are shown as text")
    func tokenMarkupEscaped() async throws {
        let fixture = try await WebFixture()
        let vera = try await fixture.browser("vera")
        let created = await vera.post("/profile/tokens", [("name", markup), ("expires", "7")])
        #expect(created.escapesMarkup)
        #expect(await vera.get("/profile/tokens").escapesMarkup)
    }

    @Test("Revoking a token goes through a confirmation page; another person's token cannot be reached")
    func tokenRevocation() async throws {
        let fixture = try await WebFixture()
        let created = try await ApplicationTokenService(store: fixture.store).create(
            owner: fixture.users["vera"]!.id, name: "laptop", by: .user(fixture.users["vera"]!))
        let id = created.token.id.rawValue
        let vera = try await fixture.browser("vera")
        let confirm = await vera.get("/profile/tokens/\(id)/revoke")
        #expect(confirm.status == 200)
        #expect(confirm.contains("laptop"))
        #expect(confirm.postFormsCarryCSRF())
        let eve = try await fixture.browser("eve")
        #expect(await eve.get("/profile/tokens/\(id)/revoke").status == 404)
        _ = await eve.post("/profile/tokens/\(id)/revoke", [])
        let forged = await vera.post("/profile/tokens/\(id)/revoke", [], csrf: eve.csrfToken)
        #expect(forged.status == 403)
        #expect(await vera.get("/profile/tokens").contains("badge active"))
        let revoked = await vera.post("/profile/tokens/\(id)/revoke", [])
        #expect(revoked.flash == "Token revoked.")
        #expect(await vera.get("/profile/tokens").contains("badge revoked"))
    }

    @Test("The sessions page lists the person's sessions, user agents as text, and signs out everywhere else")
    func sessions() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia", client: markup)
        _ = try await fixture.browser("olivia", client: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
        let page = await olivia.get("/profile/sessions")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "sessions"))
        #expect(page.hasElement(id: "end-others-form"))
        #expect(page.postFormsCarryCSRF())
        #expect(!page.contains("<script>alert(1)"))
        #expect(page.contains("this session"))
        #expect(page.escapesMarkup)
        #expect(page.contains("Firefox on Linux"))
        let ended = await olivia.post("/profile/sessions/others/end", [])
        #expect(ended.status == 303)
        #expect(ended.flash == "1 other session ended.")
        let after = await olivia.get("/profile/sessions")
        #expect(!after.contains("Firefox on Linux"))
        #expect(after.contains("this session"))
        #expect(await olivia.post("/profile/sessions/others/end", [], csrf: "").status == 403)
    }

    @Test("One other session is ended from the list; another person's session cannot be")
    func endOneSession() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        _ = try await fixture.browser("olivia", client: "curl/8.5.0")
        let page = await olivia.get("/profile/sessions")
        let action = try #require(page.postForms.map(\.action).first { $0.hasSuffix("/end") && !$0.contains("others") })
        let eve = try await fixture.browser("eve")
        let refused = await eve.post(action, [])
        #expect(refused.status == 303)
        #expect(refused.flash?.contains("no live session") == true)
        #expect(await olivia.get("/profile/sessions").contains("curl"))
        let ended = await olivia.post(action, [])
        #expect(ended.flash == "Session ended.")
        #expect(!(await olivia.get("/profile/sessions").contains("curl")))
    }

    private func hash(_ username: String, _ fixture: WebFixture) async throws -> String? {
        try await fixture.store.read { try $0.user(named: username)?.passwordHash }
    }
}
