import Administration
import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import ProviderTesting
import Storage
import Testing
import Threading

/// Linking identities from the profile, revalidation and suspension (issue 13 §2).
@Suite struct FederatedIdentityTests {
    @Test("A signed-in owner links an identity through the same redirect, sees it, signs in with it, and unlinks it")
    func linkAndUnlinkFromTheProfile() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "eve", SSOFixture.identity("sub-eve", username: "eve.corp", groups: ["devs"]))
        // eve also has a password, so unlinking does not take away her only way to sign in.
        let eveID = sso.web.users["eve"]!.id
        try await sso.store.write { try $0.setPasswordHash("$2b$04$abcdefghijklmnopqrstuu", for: eveID) }
        var eve = try await sso.web.browser("eve")
        let profile = await eve.get("/profile")
        #expect(profile.hasElement(id: "link-identity"))
        #expect(profile.contains("Link Corp SSO"))
        let begun = await eve.post("/profile/identities/link", [("provider", "corp-sso")])
        #expect(begun.status == 303)
        eve.keepCookies(from: begun)
        let state = try SSOFixture.state(in: begun)
        let done = await sso.callback(&eve, code: "eve", state: state)
        #expect(done.status == 303)
        #expect(done.location == "/profile")
        let eveUser = try #require(try await sso.user("eve"))
        let links = try await sso.store.read { try $0.identityLinks(of: eveUser.id) }
        #expect(links.map(\.subject) == ["sub-eve"])
        #expect(try await sso.user("eve.corp") == nil)  // linked, not a new account
        // The link synced the groups too.
        let memberships = try await sso.store.read { try $0.memberships(of: eveUser.id) }
        #expect(memberships.contains { $0.team.name == "developers" && $0.syncedFrom == "corp-sso" })
        #expect(try await sso.audit("sso.link").first?.outcome == .success)
        let listed = await eve.get("/profile")
        #expect(listed.contains("sub-eve"))
        #expect(!listed.hasElement(id: "link-identity"))
        // The identity now signs in to eve.
        var elsewhere = sso.web.visitor
        let signedIn = try await sso.signIn(&elsewhere, code: "eve")
        #expect(signedIn.status == 303)
        let session = try #require(elsewhere.cookies["portcullis_session"])
        #expect(try await sso.web.sessions.resolve(session)?.user.username == "eve")
        // Unlinking ends the sessions it started and the identity no longer signs in to eve.
        let confirm = await eve.get("/profile/identities/\(links[0].id.rawValue)/unlink")
        #expect(confirm.status == 200 && confirm.hasElement(id: "confirm-form"))
        let unlinked = await eve.post("/profile/identities/\(links[0].id.rawValue)/unlink", [])
        #expect(unlinked.status == 303)
        #expect(try await sso.store.read { try $0.identityLinks(of: eveUser.id) }.isEmpty)
        #expect(try await sso.web.sessions.resolve(session) == nil)
    }

    @Test("An identity linked to another account already cannot be linked again")
    func linkedElsewhereIsRefused() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var visitor = sso.web.visitor
        _ = try await sso.signIn(&visitor, code: "dana")
        var eve = try await sso.web.browser("eve")
        let begun = await eve.post("/profile/identities/link", [("provider", "corp-sso")])
        eve.keepCookies(from: begun)
        let page = await sso.callback(&eve, code: "dana", state: try SSOFixture.state(in: begun))
        #expect(page.status == 409)
        #expect(page.contains("linked to another Portcullis account"))
    }

    @Test("The only way to sign in cannot be unlinked by its owner")
    func lastSignInMethodStays() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        let dana = try #require(try await sso.user("dana"))
        let link = try #require(try await sso.store.read { try $0.identityLinks(of: dana.id) }.first)
        browser.csrfToken = try await sso.web.sessions.resolve(browser.cookies["portcullis_session"] ?? "")?.csrfToken
        let refused = await browser.post("/profile/identities/\(link.id.rawValue)/unlink", [])
        #expect(refused.status == 303)
        #expect(refused.flash?.contains("only way to sign in") == true)
        #expect(try await sso.store.read { try $0.identityLinks(of: dana.id) }.count == 1)
    }

    @Test(
        "Revalidation: gone at the provider suspends at once (sessions end, the account is refused) until a new sign-in"
    )
    func goneSuspendsAtOnce() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        let session = try #require(browser.cookies["portcullis_session"])
        // Not due yet: nothing is asked.
        var report = try await sso.federation.revalidate()
        #expect(report.confirmed == 0 && sso.provider.revalidated.isEmpty)
        sso.clock.advance(by: 3601)
        report = try await sso.federation.revalidate()
        #expect(report.confirmed == 1 && sso.provider.revalidated == ["sub-dana"])
        sso.provider.scriptRevalidation(subject: "sub-dana", .success(.gone(reason: "invalid_grant")))
        sso.clock.advance(by: 3601)
        report = try await sso.federation.revalidate()
        #expect(report.suspended == 1)
        let dana = try #require(try await sso.user("dana"))
        #expect(!dana.isEnabled)
        #expect(try await sso.web.sessions.resolve(session) == nil)
        #expect(try await sso.audit("sso.identity_suspended").count == 1)
        // Signing in again through the provider lifts the suspension.
        sso.provider.scriptRevalidation(
            subject: "sub-dana", .success(.valid(SSOFixture.identity("sub-dana", username: "dana"), nil)))
        var again = sso.web.visitor
        #expect(try await sso.signIn(&again, code: "dana").status == 303)
        #expect(try await sso.user("dana")?.isEnabled == true)
        #expect(try await sso.audit("sso.identity_restored").count == 1)
    }

    @Test("Revalidation: a provider that cannot answer suspends only after the grace period of failures")
    func outagesHaveAGracePeriod() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        sso.provider.scriptRevalidation(
            subject: "sub-dana", .failure(ProviderError(.unavailable, provider: "corp-sso", reason: "timed out")))
        sso.clock.advance(by: 3601)
        #expect(try await sso.federation.revalidate().failing == 1)
        // The first failure was an hour after sign-in; 23 more hours of failures stay within the 24 h grace.
        for _ in 0..<23 {
            sso.clock.advance(by: 3600)
            #expect(try await sso.federation.revalidate().suspended == 0)
        }
        #expect(try await sso.user("dana")?.isEnabled == true)
        sso.clock.advance(by: 3600)
        #expect(try await sso.federation.revalidate().suspended == 1)
        #expect(try await sso.user("dana")?.isEnabled == false)
    }

    @Test("A success within the grace period starts the count afresh")
    func aSuccessResetsTheGracePeriod() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        let down = Result<Revalidation, ProviderError>.failure(
            ProviderError(.unavailable, provider: "corp-sso", reason: "timed out"))
        sso.provider.scriptRevalidation(subject: "sub-dana", down)
        sso.clock.advance(by: 3601)
        _ = try await sso.federation.revalidate()
        sso.clock.advance(by: 20 * 3600)
        sso.provider.scriptRevalidation(
            subject: "sub-dana", .success(.valid(SSOFixture.identity("sub-dana", username: "dana"), nil)))
        #expect(try await sso.federation.revalidate().confirmed == 1)
        sso.provider.scriptRevalidation(subject: "sub-dana", down)
        sso.clock.advance(by: 3601)
        _ = try await sso.federation.revalidate()
        sso.clock.advance(by: 10 * 3600)
        #expect(try await sso.federation.revalidate().suspended == 0)
    }
}

/// What an administrator's decision does to a suspension.
@Suite struct SuspensionAdministrationTests {
    @Test("An administrator enabling a suspended account clears the suspension, so revalidation resumes")
    func enablingClearsTheSuspension() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        var browser = sso.web.visitor
        _ = try await sso.signIn(&browser, code: "dana")
        sso.provider.scriptRevalidation(subject: "sub-dana", .success(.gone(reason: "user disabled")))
        sso.clock.advance(by: 3601)
        #expect(try await sso.federation.revalidate().suspended == 1)
        let admin = AccountAdministration(store: sso.store, hashing: BlockingPool(name: "hash", threads: 1))
        _ = try await admin.setEnabled(true, for: "dana", by: .operator(login: "test"))
        let dana = try #require(try await sso.user("dana"))
        let record = try await sso.store.read { reader -> FederatedIdentity? in
            try reader.identityLinks(of: dana.id).first.flatMap { try reader.federatedIdentity(linkID: $0.id) }
        }
        #expect(dana.isEnabled && record?.suspendedAt == nil)
    }
}

/// Several instances over one database.
@Suite struct FederatedInstancesTests {
    @Test("A login begun on one instance is finished by another: the state is in the store, not in memory")
    func anotherInstanceFinishesTheLogin() async throws {
        let sso = try await SSOFixture()
        sso.provider.script(code: "dana", SSOFixture.identity("sub-dana", username: "dana"))
        let begun = try await sso.federation.beginSignIn(
            providerID: "corp-sso", next: "/teams", callbackURL: URL(string: "http://portcullis.test/cb")!)
        let state = try #require(
            URLComponents(url: begun.authorizationURL, resolvingAgainstBaseURL: false)?.queryItems?.first {
                $0.name == "state"
            }?.value)
        // A second instance: its own mapper, sessions and key, the same store.
        let other = FederatedSignIn(
            store: sso.store,
            providers: [RedirectProviderEntry(provider: sso.provider, rules: SSOFixture.defaultRules)],
            mapper: IdentityMapper(
                store: sso.store, rules: [:], provisioner: PersonalAccountProvisioner(),
                logger: Logger(label: "other", level: .error, sink: DiscardingLogSink())),
            sessions: WebSessionService(store: sso.store), grantKey: nil, now: sso.clock.function)
        let result = try await other.complete(
            providerID: "corp-sso",
            FederatedSignIn.Callback(
                parameters: ["code": "dana", "state": state], browserBinding: begun.browserBinding,
                signedInUserID: nil, previousSession: nil, client: "test", address: "127.0.0.1"))
        guard case .signedIn(let started, let next) = result else {
            Issue.record("not signed in: \(result)")
            return
        }
        #expect(next == "/teams" && started.session.user.username == "dana")
    }
}
