import Administration
import CryptoCore
import Foundation
import IdentityCore
import IdentityMapping
import ProviderTesting
import Storage
import Testing

/// Sign-in through a redirect provider over HTTP, from the button to the session (issue 13 §2).
@Suite struct FederatedSignInTests {
    @Test("The sign-in page has a button for each redirect provider, and it sends the browser to the provider")
    func theButtonStartsALogin() async throws {
        let sso = try await SSOFixture()
        let page = await sso.web.visitor.get("/sign-in")
        #expect(page.contains("href=\"/sign-in/corp-sso\""))
        #expect(page.contains("Sign in with Corp SSO"))
        var browser = sso.web.visitor
        let (state, begun) = try await sso.begin(&browser, next: "/namespaces")
        #expect(begun.status == 303)
        #expect(begun.location?.hasPrefix("https://idp.test/authorize?") == true)
        #expect(begun.location?.contains("redirect_uri=http://portcullis.test/sign-in/corp-sso/callback") == true)
        #expect(state.count == 43)
        #expect(browser.cookies["portcullis_sso"] != nil)
        // Only hashes are stored: neither the state nor the binding cookie.
        let stored = try await sso.store.read { try $0.loginState(stateHash: FederatedSignInTests.sha256(state)) }
        #expect(stored?.next == "/namespaces")
        #expect(stored?.browserHash != browser.cookies["portcullis_sso"])
    }

    @Test("A first sign-in creates the account, syncs its groups to teams with provenance, and starts a session")
    func aFirstSignInCreatesTheAccount() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana", groups: ["devs"]))
        var browser = sso.web.visitor
        let done = try await sso.signIn(&browser, code: "dana", next: "/namespaces")
        #expect(done.status == 303)
        #expect(done.location == "/namespaces")
        #expect(browser.cookies["portcullis_session"] != nil)
        let dana = try #require(try await sso.user("dana"))
        #expect(dana.passwordHash == nil && !dana.isAdmin)
        #expect(dana.email == "dana@corp.example")
        let memberships = try await sso.store.read { try $0.memberships(of: dana.id) }
        let developers = try #require(memberships.first { $0.team.name == "developers" })
        #expect(developers.role == .contributor && developers.syncedFrom == "corp-sso")
        // The identity is provider, issuer and subject; the grant is kept sealed.
        let record = try await sso.store.read { reader -> FederatedIdentity? in
            let link = try #require(try reader.identityLinks(of: dana.id).first)
            return try reader.federatedIdentity(linkID: link.id)
        }
        #expect(record?.issuer == "https://idp.test" && record?.subject == "sub-dana")
        #expect(record?.sealedGrant?.hasPrefix("sealed:v1:") == true)
        #expect(record?.sealedGrant?.contains("refresh-dana") == false)
        let home = await browser.get("/")
        #expect(home.status == 200)
        #expect(try await sso.audit("sso.sign_in").first?.outcome == .success)
        // Leaving the group takes away only what the provider granted.
        sso.provider.script(code: "dana2", SSOFixture.identity("sub-dana", username: "dana", groups: []))
        var again = sso.web.visitor
        _ = try await sso.signIn(&again, code: "dana2")
        let after = try await sso.store.read { try $0.memberships(of: dana.id) }
        #expect(!after.contains { $0.team.name == "developers" })
    }

    @Test("An admin group makes an administrator and, once left, unmakes them; a manual administrator stays one")
    func adminGroupsMakeAndUnmakeAdmins() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "in", SSOFixture.identity("sub-ann", username: "ann", groups: ["admins"]))
        sso.provider.script(code: "out", SSOFixture.identity("sub-ann", username: "ann", groups: []))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "in")
        #expect(try await sso.user("ann")?.isAdmin == true)
        var later = sso.web.visitor
        _ = try await sso.signIn(&later, code: "out")
        #expect(try await sso.user("ann")?.isAdmin == false)
        #expect(try await sso.audit("user.sync.admin_revoked").count == 1)
        // root is an administrator by hand: linking and signing in without the group changes nothing.
        try await sso.federation.adminLink(
            username: "root", providerID: "corp-sso", issuer: "https://idp.test", subject: "sub-root",
            by: .operator(login: "test"))
        sso.provider.script(code: "root", SSOFixture.identity("sub-root", username: "root", groups: []))
        var rootBrowser = sso.web.visitor
        let signedIn = try await sso.signIn(&rootBrowser, code: "root")
        #expect(signedIn.status == 303)
        #expect(try await sso.user("root")?.isAdmin == true)
    }

    @Test("With sign-up off an unknown identity gets a clear 403 page, an audit entry and no account")
    func signUpOffIsRefused() async throws {
        var rules = SSOFixture.defaultRules
        rules.autoProvision = false
        let sso = try await SSOFixture(rules: rules)
        sso.provider.script(code: "new", SSOFixture.identity("sub-new", username: "newcomer"))
        let before = try await sso.userCount()
        var browser = sso.web.visitor
        let page = try await sso.signIn(&browser, code: "new")
        #expect(page.status == 403)
        #expect(page.contains("sign-up with Corp SSO is turned off"))
        #expect(try await sso.userCount() == before)
        #expect(browser.cookies["portcullis_session"] == nil)
        let audit = try #require(try await sso.audit("sso.sign_in").first)
        #expect(audit.outcome == .denied && audit.detail?.contains("sso.account_refused") == true)
    }

    @Test("A taken username is refused with a page, or suffixed when the provider says so")
    func usernameCollisions() async throws {
        let refusing = try await SSOFixture()
        refusing.provider.script(code: "carl", SSOFixture.identity("sub-other-carl", username: "Carl"))
        var browser = refusing.web.visitor
        let page = try await refusing.signIn(&browser, code: "carl")
        #expect(page.status == 403)
        #expect(page.contains("belongs to another Portcullis account"))
        #expect(try await refusing.store.read { try $0.identityLinks(ofProvider: "corp-sso") }.isEmpty)

        var rules = SSOFixture.defaultRules
        rules.suffixesTakenUsernames = true
        let suffixing = try await SSOFixture(rules: rules)
        suffixing.provider.script(code: "carl", SSOFixture.identity("sub-other-carl", username: "carl"))
        suffixing.provider.script(code: "carl3", SSOFixture.identity("sub-third-carl", username: "carl"))
        var first = suffixing.web.visitor
        #expect(try await suffixing.signIn(&first, code: "carl").status == 303)
        var second = suffixing.web.visitor
        #expect(try await suffixing.signIn(&second, code: "carl3").status == 303)
        #expect(try await suffixing.user("carl-2") != nil)
        #expect(try await suffixing.user("carl-3") != nil)
    }

    @Test("A username from the provider is made valid by the username rule")
    func usernamesAreSanitized() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "jose", SSOFixture.identity("sub-jose", username: "José  García!"))
        var browser = sso.web.visitor
        #expect(try await sso.signIn(&browser, code: "jose").status == 303)
        #expect(try await sso.user("Jose-Garcia") != nil)
    }

    @Test("An email address the provider did not verify is refused")
    func unverifiedEmailIsRefused() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "u", SSOFixture.identity("sub-u", username: "unverified", verified: false))
        var browser = sso.web.visitor
        let page = try await sso.signIn(&browser, code: "u")
        #expect(page.status == 403)
        #expect(page.contains("has not verified your email address"))
        #expect(try await sso.user("unverified") == nil)
    }

    @Test("A local account with the same email address is never linked: the identity gets its own account")
    func neverLinkedByEmail() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(
            code: "evil", SSOFixture.identity("sub-evil", username: "evelyn", email: "eve@example.org"))
        var browser = sso.web.visitor
        #expect(try await sso.signIn(&browser, code: "evil").status == 303)
        let eve = try #require(try await sso.user("eve"))
        let evelyn = try #require(try await sso.user("evelyn"))
        #expect(eve.id != evelyn.id)
        #expect(try await sso.store.read { try $0.identityLinks(of: eve.id) }.isEmpty)
    }

    @Test(
        "Broken callbacks are refused with a 400 page and an audit entry, creating nothing",
        arguments: ["replay", "missing state", "other browser", "unknown state", "expired"])
    func brokenCallbacksAreRefused(_ kind: String) async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        let (state, _) = try await sso.begin(&browser)
        let page: WebPage
        switch kind {
        case "replay":
            #expect(await sso.callback(&browser, code: "dana", state: state).status == 303)
            let count = try await sso.userCount()
            var replayer = sso.web.visitor
            replayer.cookies["portcullis_sso"] = browser.cookies["portcullis_sso"]
            page = await sso.callback(&replayer, code: "dana", state: state)
            #expect(try await sso.userCount() == count)
            #expect(replayer.cookies["portcullis_session"] == nil)
        case "missing state":
            page = await sso.callback(&browser, code: "dana", state: nil)
        case "other browser":
            var other = sso.web.visitor
            _ = try await sso.begin(&other)
            page = await sso.callback(&other, code: "dana", state: state)
        case "unknown state":
            page = await sso.callback(&browser, code: "dana", state: String(repeating: "x", count: 43))
        default:
            sso.clock.advance(by: 601)
            page = await sso.callback(&browser, code: "dana", state: state)
        }
        #expect(page.status == 400)
        #expect(page.hasElement(id: "sso-error"))
        #expect(page.contains("Start again from the sign-in page"))
        if kind != "replay" {
            #expect(try await sso.user("dana") == nil)
            #expect(browser.cookies["portcullis_session"] == nil)
        }
        let refusal = try #require(try await sso.audit("sso.sign_in").first)
        #expect(refusal.outcome == .denied && refusal.detail?.contains("sso.state_") == true)
    }

    @Test(
        "A next address on another site is ignored: the sign-in ends at home",
        arguments: [
            "https://elsewhere.example/", "//elsewhere.example/x", "/\\elsewhere.example", "javascript:alert(1)",
        ])
    func foreignNextIsIgnored(_ next: String) async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        let page = try await sso.signIn(&browser, code: "dana", next: next)
        #expect(page.status == 303)
        #expect(page.location == "/")
    }

    @Test("An error from the provider, a failing provider and a forged answer each get their own clear page")
    func providerFailures() async throws {
        let sso = try await SSOFixture()
        var browser = sso.web.visitor
        let (state, _) = try await sso.begin(&browser)
        let cancelled = await browser.get(
            "/sign-in/corp-sso/callback?error=access_denied&error_description=User+cancelled&state=" + state)
        #expect(cancelled.status == 403)
        #expect(cancelled.contains("access_denied") && cancelled.contains("User cancelled"))
        let (hostileState, _) = try await sso.begin(&browser)
        let hostile = await browser.get(
            "/sign-in/corp-sso/callback?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=" + hostileState)
        #expect(hostile.status == 403)
        #expect(!hostile.contains("<script>alert(1)") && hostile.contains("&lt;script&gt;"))
        let (second, _) = try await sso.begin(&browser)
        #expect(await sso.callback(&browser, code: "down", state: second).status == 503)
        let (third, _) = try await sso.begin(&browser)
        let forged = await sso.callback(&browser, code: "forged", state: third)
        #expect(forged.status == 502)
        #expect(forged.contains("signature does not verify"))
        #expect(await sso.web.visitor.get("/sign-in/nobody").status == 404)
        #expect(try await sso.audit("sso.sign_in").count == 4)
    }

    @Test("Sign-out ends the session, revokes the grant at the provider and goes to its end-session page")
    func signOutRevokesAndRedirects() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        let session = try #require(browser.cookies["portcullis_session"])
        browser.csrfToken = try await sso.web.sessions.resolve(session)?.csrfToken
        let out = await browser.post("/sign-out", [])
        #expect(out.status == 303)
        #expect(
            out.location == "https://idp.test/logout?post_logout_redirect_uri=http://portcullis.test/sign-in")
        #expect(sso.provider.revoked.map(\.refreshToken) == ["refresh-dana"])
        #expect(try await sso.web.sessions.resolve(session) == nil)
        #expect(try await sso.audit("sso.grant_revoked").first?.outcome == .success)
    }

    @Test("Two callbacks racing with one state: exactly one signs in")
    func racingCallbacksSignInOnce() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        let (state, _) = try await sso.begin(&browser)
        let first = browser, second = browser
        async let a = first.get("/sign-in/corp-sso/callback?code=dana&state=" + state)
        async let b = second.get("/sign-in/corp-sso/callback?code=dana&state=" + state)
        let statuses = await [a.status, b.status].sorted()
        #expect(statuses == [303, 400])
        #expect(try await sso.store.read { try $0.identityLinks(ofProvider: "corp-sso") }.count == 1)
    }

    static func sha256(_ text: String) -> String { Hex.encode(Digest.sha256(text)) }
}
