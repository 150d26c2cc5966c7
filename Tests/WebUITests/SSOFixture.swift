import Administration
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import IdentityMapping
import ProviderTesting
import Storage
import Synchronization
import Testing
import WebUI

/// The web fixture with sign-in through a redirect provider (`RedirectProviderDouble`, id `corp-sso`): its
/// mapping rules make group `devs` contributors of team `developers` (created on demand) and group `admins`
/// administrators; the service's clock is a `FixedClock` the tests move.
final class SSOFixture: Sendable {
    let web: WebFixture
    let provider: RedirectProviderDouble
    let clock: FixedClock
    let federation: FederatedSignIn

    static let defaultRules: MappingRules = {
        var rules = MappingRules(
            autoProvision: true, adminGroups: [GroupPattern("admins")], syncMode: .authoritative,
            syncRules: [
                GroupSyncRule(group: GroupPattern("devs"), team: "developers", role: .contributor, createTeam: true)
            ])
        rules.requiresVerifiedEmail = true
        return rules
    }()

    init(rules: MappingRules = SSOFixture.defaultRules, publicURL: String = "http://portcullis.test") async throws {
        let provider = RedirectProviderDouble()
        let clock = FixedClock()
        let made = Mutex<FederatedSignIn?>(nil)
        web = try await WebFixture(
            publicURL: publicURL,
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
        self.provider = provider
        self.clock = clock
        federation = made.withLock { $0! }
    }

    var store: any Store { web.store }

    /// An identity of the provider.
    static func identity(
        _ subject: String, username: String, email: String? = nil, verified: Bool = true, groups: [String] = []
    ) -> ExternalIdentity {
        ExternalIdentity(
            provider: "corp-sso", subject: subject, username: username, email: email ?? "\(username)@corp.example",
            emailVerified: verified, groups: groups, credential: .externalLogin)
    }

    /// Begins a sign-in in `browser` (GET /sign-in/corp-sso), keeping the binding cookie: the `state` sent to
    /// the provider, and the response.
    func begin(_ browser: inout WebClient, next: String? = nil) async throws -> (state: String, page: WebPage) {
        let target = "/sign-in/corp-sso" + (next.map { "?next=" + WebClient.encode($0) } ?? "")
        let page = await browser.get(target)
        browser.keepCookies(from: page)
        return (try Self.state(in: page), page)
    }

    /// The `state` in a redirect to the provider.
    static func state(in page: WebPage) throws -> String {
        let location = try #require(page.location)
        let components = try #require(URLComponents(string: location))
        return try #require(components.queryItems?.first { $0.name == "state" }?.value)
    }

    /// The provider's redirect back to the callback with `code` and `state`.
    func callback(_ browser: inout WebClient, code: String, state: String?) async -> WebPage {
        var query = "code=" + WebClient.encode(code)
        if let state { query += "&state=" + WebClient.encode(state) }
        let page = await browser.get("/sign-in/corp-sso/callback?" + query)
        browser.keepCookies(from: page)
        return page
    }

    /// A whole sign-in with the identity `code` stands for.
    func signIn(_ browser: inout WebClient, code: String, next: String? = nil) async throws -> WebPage {
        let (state, _) = try await begin(&browser, next: next)
        return await callback(&browser, code: code, state: state)
    }

    /// The audit events with `action`, newest first.
    func audit(_ action: String) async throws -> [AuditEvent] {
        try await store.read { try $0.auditEvents(limit: 500, before: nil) }.filter { $0.action == action }
    }

    func user(_ name: String) async throws -> User? { try await store.read { try $0.user(named: name) } }

    func userCount() async throws -> Int { try await store.read { try $0.countUsers() } }
}

extension WebClient {
    /// Takes the cookies a response sets (a `Max-Age=0` one removes its cookie), as a browser does.
    mutating func keepCookies(from page: WebPage) {
        for header in page.response.headers.values(for: "Set-Cookie") {
            let pair = header.split(separator: ";", maxSplits: 1).first.map(String.init) ?? header
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals]), value = String(pair[pair.index(after: equals)...])
            if header.contains("Max-Age=0") || value.isEmpty {
                cookies[name] = nil
            } else {
                cookies[name] = value
            }
        }
    }
}
