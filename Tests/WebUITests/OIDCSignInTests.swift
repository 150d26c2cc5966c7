import Administration
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import IdentityCore
import IdentityMapping
import OIDC
import ProviderTesting
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing
import Threading
import WebUI

/// The web sign-in flow with the real `oidc` provider against the real `oidc-provider-mock`: the two halves of
/// issue 13 together, over HTTP from the button to the session.
@Suite(
    "The web sign-in flow with the oidc provider at oidc-provider-mock", .enabled(if: OIDCProviderMock.shouldRun),
    .serialized)
struct OIDCSignInTests {
    static let rules: MappingRules = {
        var rules = MappingRules(
            autoProvision: true, adminGroups: [GroupPattern("registry-admins")], syncMode: .authoritative,
            syncRules: [
                GroupSyncRule(
                    group: GroupPattern("developers"), team: "developers", role: .contributor, createTeam: true)
            ])
        rules.requiresVerifiedEmail = true
        return rules
    }()

    /// A web fixture whose `corp-sso` is an `oidc` provider for `mock`: the provider on the real clock (the mock's
    /// tokens carry real times), the sign-in service on `clock`, which tests move to make revalidation due.
    static func fixture(
        _ mock: OIDCProviderMock, clock: FixedClock = FixedClock(Date()), rules: MappingRules = Self.rules
    ) async throws -> (WebFixture, FederatedSignIn) {
        try await fixture(issuer: mock.issuer, clock: clock, rules: rules)
    }

    /// The same fixture for any issuer (client `portcullis`, secret `s3`).
    static func fixture(
        issuer: String, clock: FixedClock = FixedClock(Date()), rules: MappingRules = Self.rules
    ) async throws -> (WebFixture, FederatedSignIn) {
        var curl = CurlHTTPClient.Configuration()
        curl.connectTimeout = .seconds(2)
        curl.timeout = .seconds(10)
        let providerStore = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        var context = TestProviderContext.make(store: providerStore)
        context.now = { Date() }
        context.http = CurlHTTPClient(configuration: curl, pool: BlockingPool(name: "oidc-web", threads: 4))
        let provider = try OIDCProvider(
            id: "corp-sso", displayName: "Corp SSO",
            configuration: OIDCProvider.Configuration(issuer: issuer, clientID: "portcullis", clientSecret: "s3"),
            context: context)
        let made = Mutex<FederatedSignIn?>(nil)
        let web = try await WebFixture(
            providers: [
                WebProvider(id: "local", displayName: "Local accounts", type: "local"),
                WebProvider(id: "corp-sso", displayName: "Corp SSO", type: "oidc", signsInByRedirect: true),
            ]
        ) { store, services in
            let mapper = IdentityMapper(
                store: store, rules: ["corp-sso": rules], provisioner: PersonalAccountProvisioner(),
                logger: Logger(label: "mapping", level: .error, sink: DiscardingLogSink()))
            let federation = FederatedSignIn(
                store: store, providers: [RedirectProviderEntry(provider: provider, rules: rules)], mapper: mapper,
                sessions: services.sessions, grantKey: AEADKey.generate(), now: clock.function)
            services.federation = federation
            made.withLock { $0 = federation }
        }
        return (web, made.withLock { $0! })
    }

    /// Button → provider (signing in as `user`) → callback, keeping cookies as a browser does.
    static func signIn(_ user: String, at mock: OIDCProviderMock, in browser: inout WebClient) async throws -> WebPage {
        let begun = await browser.get("/sign-in/corp-sso?next=" + WebClient.encode("/namespaces"))
        browser.keepCookies(from: begun)
        let location = try #require(begun.location, "the button did not redirect: \(begun.status)")
        #expect(location.hasPrefix(mock.issuer + "/oauth2/authorize?"))
        let answer = try await mock.authorize(try #require(URL(string: location)), as: user)
        let query = answer.map { WebClient.encode($0.key) + "=" + WebClient.encode($0.value) }.sorted()
            .joined(separator: "&")
        let done = await browser.get("/sign-in/corp-sso/callback?" + query)
        browser.keepCookies(from: done)
        return done
    }

    @Test("alice signs in: an account, her team from her groups, admin from registry-admins, a session")
    func aliceSignsIn() async throws {
        let mock = try await OIDCProviderMock.start()
        defer { mock.stop() }
        let (web, _) = try await Self.fixture(mock)
        var browser = web.visitor
        let done = try await Self.signIn("alice", at: mock, in: &browser)
        #expect(done.status == 303, "\(done.status): \(done.html.prefix(400))")
        #expect(done.location == "/namespaces")
        #expect(browser.cookies["portcullis_session"] != nil)
        let alice = try #require(try await web.store.read { try $0.user(named: "alice") })
        #expect(alice.isAdmin)
        #expect(alice.email == "alice@example.org")
        let memberships = try await web.store.read { try $0.memberships(of: alice.id) }
        #expect(memberships.first { $0.team.name == "developers" }?.syncedFrom == "corp-sso")
        let record = try await web.store.read { reader -> FederatedIdentity? in
            let link = try #require(try reader.identityLinks(of: alice.id).first)
            return try reader.federatedIdentity(linkID: link.id)
        }
        #expect(record?.issuer == mock.issuer && record?.subject == "alice")
        #expect((await browser.get("/")).status == 200)
    }

    @Test("Revalidation with the kept refresh token confirms alice, and suspends her once the provider revoked it")
    func revalidationThroughTheRealProvider() async throws {
        let mock = try await OIDCProviderMock.start()
        defer { mock.stop() }
        let clock = FixedClock(Date())
        let (web, federation) = try await Self.fixture(mock, clock: clock)
        var browser = web.visitor
        #expect(try await Self.signIn("alice", at: mock, in: &browser).status == 303)
        clock.advance(by: 3601)
        #expect(try await federation.revalidate().confirmed == 1)
        try await mock.revokeTokens(of: "alice")
        clock.advance(by: 3601)
        #expect(try await federation.revalidate().suspended == 1)
        #expect(try await web.store.read { try $0.user(named: "alice") }?.isEnabled == false)
    }

    @Test("Sign-out ends the session and sends the browser to the mock's end-session endpoint with the hint")
    func signOutThroughTheRealProvider() async throws {
        let mock = try await OIDCProviderMock.start()
        defer { mock.stop() }
        let (web, _) = try await Self.fixture(mock)
        var browser = web.visitor
        #expect(try await Self.signIn("alice", at: mock, in: &browser).status == 303)
        let session = try #require(browser.cookies["portcullis_session"])
        browser.csrfToken = try await web.sessions.resolve(session)?.csrfToken
        let out = await browser.post("/sign-out", [])
        #expect(out.status == 200)
        let location = try #require(out.goesOnTo.flatMap { URLComponents(string: $0) })
        #expect(location.string?.hasPrefix(mock.issuer + "/oauth2/end_session?") == true)
        let query = Dictionary((location.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { first, _ in first }
        #expect(query["id_token_hint"]?.split(separator: ".").count == 3)
        #expect(query["post_logout_redirect_uri"] == "http://portcullis.test/sign-in")
        #expect(query["client_id"] == "portcullis")
        #expect(try await web.sessions.resolve(session) == nil)
    }

    @Test("carol's unverified email is refused with a page, and no account is made")
    func carolIsRefused() async throws {
        let mock = try await OIDCProviderMock.start()
        defer { mock.stop() }
        let (web, _) = try await Self.fixture(mock)
        var browser = web.visitor
        let done = try await Self.signIn("carol", at: mock, in: &browser)
        #expect(done.status == 403, "\(done.status)")
        #expect(try await web.store.read { try $0.user(named: "carol") } == nil)
    }

    @Test("With sign-up off, bob (unknown here) is refused with a page and no account is made")
    func signUpOff() async throws {
        let mock = try await OIDCProviderMock.start()
        defer { mock.stop() }
        var rules = Self.rules
        rules.autoProvision = false
        let (web, _) = try await Self.fixture(mock, rules: rules)
        var browser = web.visitor
        let done = try await Self.signIn("bob", at: mock, in: &browser)
        #expect(done.status == 403, "\(done.status)")
        #expect(done.contains("sign-up"), "\(done.html.prefix(2000))")
        #expect(browser.cookies["portcullis_session"] == nil)
        #expect(try await web.store.read { try $0.user(named: "bob") } == nil)
    }
}
