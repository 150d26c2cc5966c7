import Foundation
import TestSupport
import Testing

/// Single sign-on end to end, in a real browser against the real OpenID provider `oidc-provider-mock`, the real
/// `portcullis serve` and docker-registry: a person signs in through the provider (an account is made with the
/// provider's groups as team memberships and administrator rights), creates an application token on the profile
/// page and pushes with it through skopeo; signs out, which also ends the provider's session (RP-initiated
/// logout, the ID token as hint); signs in again; the provider revokes them, an administrator's "re-check now"
/// suspends the identity, and the token created in the UI is refused at the registry from then on. With
/// JavaScript on and off.
@Suite(
    .serialized,
    .enabled(
        if: Peers.shouldRun && Browser.shouldRun && OIDCProviderMock.shouldRun,
        "docker-registry, skopeo, chromium or oidc-provider-mock missing (make test-deps installs them)"))
struct SSOBrowserTests {
    typealias Stack = RegistryEventsTests.EventsStack

    /// The provider's person: an administrator by the `registry-admins` group, a contributor of `devs` by
    /// `developers`.
    static let dana = OIDCProviderMock.User(
        subject: "dana", email: "dana@example.org", emailVerified: true, name: "Dana Scully",
        groups: ["registry-admins", "developers"])

    /// The `oidc` provider entry for `mock`, its client secret in an owner-only file of the sandbox.
    static func configureProvider(_ portcullis: Portcullis, issuer: String) throws {
        let secretFile = portcullis.directory.path("sso-client-secret")
        try "e2e-client-secret".write(to: secretFile, atomically: true, encoding: .utf8)
        guard chmod(secretFile.path, 0o600) == 0 else { throw CocoaError(.fileWriteNoPermission) }
        try portcullis.writeConfig(
            "45-sso.yaml",
            """
            providers:
              - id: company-sso
                type: oidc
                displayName: Company SSO
                order: 40
                config:
                  issuer: \(issuer)
                  clientID: portcullis-e2e
                  clientSecret: {file: \(secretFile.path)}
                  scopes: [openid, profile, email]
                  rpInitiatedLogout: true
                mapping:
                  adminGroups: [registry-admins]
                  groupSync:
                    mode: authoritative
                    rules:
                      - {group: developers, team: devs, role: contributor, create: true}

            """)
    }

    /// From the sign-in page through the provider's form back to the dashboard.
    static func signIn(_ browser: Browser, at base: String, through mock: OIDCProviderMock, as subject: String)
        async throws
    {
        try await browser.open(base + "/sign-in")
        try await browser.find("a[href^='/sign-in/company-sso']").click()
        try await browser.waitUntil(timeout: .seconds(30), "the provider's authorization form") {
            try await browser.currentURL.hasPrefix(mock.issuer + "/oauth2/authorize")
        }
        try await browser.find("input[name=sub]").type(subject)
        try await browser.find("form button[type=submit]").click()
        try await browser.waitUntil(timeout: .seconds(30), "the dashboard after signing in through the provider") {
            try await browser.exists("#my-namespaces")
        }
    }

    /// A token for `repository:<name>:pull` from the token endpoint with `user:secret`.
    static func tokenStatus(_ stack: Stack, _ user: String, _ secret: String, _ repository: String) async throws
        -> Int
    {
        try await HTTP.request(
            stack.portcullis.realm + "?service=e2e-registry.test&scope=repository:\(repository):pull",
            basic: (user, secret)
        ).status
    }

    @Test(arguments: [true, false])
    func aPersonSignsInThroughTheProviderPushesWithATokenFromTheUIAndIsSuspendedWhenTheProviderRevokesThem(
        javascript: Bool
    ) async throws {
        let mock = try await OIDCProviderMock.start(users: [Self.dana])
        defer { mock.stop() }
        let stack = try await Stack.start { try Self.configureProvider($0, issuer: mock.issuer) }
        defer { stack.stop() }
        let base = stack.portcullis.url
        try await withBrowser(javascript: javascript) { browser in
            if javascript {
                try await browser.open(base + "/sign-in")
                try await browser.screenshots(named: "sso-sign-in")
            }
            try await Self.signIn(browser, at: base, through: mock, as: "dana")
            if javascript {
                try await browser.screenshots(named: "sso-signed-in")
                try await browser.open(base + "/admin/providers")
                try await browser.screenshots(named: "sso-admin-providers")
                try await browser.open(base + "/profile")
                try await browser.screenshots(named: "sso-profile")
            }
            // The provider's groups: administrator rights and a team membership, marked as the provider's.
            #expect(try await browser.pageSource.contains("/admin/users"), "dana is not an administrator")
            try await browser.open(base + "/teams/devs")
            let members = try await browser.find("#members").text
            #expect(members.contains("dana"), "\(members)")
            // Provider groups named as members: an administrator names one before anyone of it signs in.
            try await browser.find("#add-group-form input[name=group]").type("release-managers")
            try await browser.find("#add-group-form button[type=submit]").click()
            try await browser.waitUntil(timeout: .seconds(30), "the provider group in the team's list") {
                try await browser.exists("#provider-groups-table")
            }
            if javascript { try await browser.screenshots(named: "sso-team") }

            // An application token made in the UI, shown once, pushes through skopeo.
            try await browser.open(base + "/profile/tokens")
            try await browser.find("#field-name").type("ci")
            try await browser.find("#create-token-form button[type=submit]").click()
            let shown = try await browser.find(".secret").text
            #expect(shown.contains("docker login -u dana --password-stdin"), "\(shown)")
            let token = String(try #require(shown.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("pct_") }))
            let skopeo = try Skopeo(in: stack.scratch, label: "dana")
            let login = try await skopeo.run(
                [
                    "login", "--authfile", skopeo.authFile.path, "--tls-verify=false", "--username", "dana",
                    "--password-stdin", stack.host,
                ], input: token + "\n")
            #expect(login.succeeded, "\(login)")
            let image = try await OCIImage.build(in: stack.scratch.path("image"))
            try await stack.push(skopeo, image.reference, "dana/app:1")

            // Sign-out ends the provider's session too: the browser is sent to its end-session endpoint with the
            // ID token as hint, and comes back to the sign-in page.
            try await browser.find(".usermenu summary").click()
            try await browser.find(".usermenu form button[type=submit]").click()
            try await browser.waitUntil(timeout: .seconds(30), "the provider's end-session page") {
                try await browser.currentURL.hasPrefix(mock.issuer + "/oauth2/end_session")
            }
            let endSession = try await browser.currentURL
            #expect(endSession.contains("id_token_hint="), "\(endSession)")
            #expect(endSession.contains("client_id=portcullis-e2e"), "\(endSession)")
            try await browser.find("form button[type=submit]").click()
            try await browser.waitUntil(timeout: .seconds(30), "the sign-in page after the provider's sign-out") {
                try await browser.currentURL.hasPrefix(base + "/sign-in")
            }

            // Signed in again, then revoked at the provider: an administrator's re-check suspends the identity,
            // which ends the session and refuses the token made in the UI.
            try await Self.signIn(browser, at: base, through: mock, as: "dana")
            #expect(try await Self.tokenStatus(stack, "dana", token, "dana/app") == 200)
            try await mock.revokeTokens(of: "dana")
            let report = try await Self.recheckAsAdministrator(stack)
            #expect(report.contains("1 suspended"), "\(report)")
            #expect(try await Self.tokenStatus(stack, "dana", token, "dana/app") == 401)
            try await browser.open(base + "/profile")
            #expect(try await browser.currentURL.contains("/sign-in?next="))
            let again = try await skopeo.run(
                [
                    "copy", "--authfile", skopeo.authFile.path, "--dest-tls-verify=false", image.reference,
                    "docker://\(stack.host)/dana/app:2",
                ])
            #expect(!again.succeeded, "a suspended identity's token still pushes")
        }
    }

    /// Signs the local administrator in over HTTP, presses "Re-check identities now" for the provider and returns
    /// the flash message it answers with.
    static func recheckAsAdministrator(_ stack: Stack) async throws -> String {
        let base = stack.portcullis.url
        var jar = WebUIEndToEndTests.Jar()
        let form = try await HTTP.request(base + "/sign-in")
        jar.take(form)
        let visitorToken = try #require(WebUIEndToEndTests.csrfToken(in: form.text))
        let signedIn = try await HTTP.request(
            base + "/sign-in", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: WebUIEndToEndTests.form([
                ("_csrf", visitorToken), ("username", "admin"), ("password", "admin-password-e2e"),
            ]))
        jar.take(signedIn)
        let providers = try await HTTP.request(base + "/admin/providers", headers: [jar.header])
        #expect(providers.status == 200, "\(providers)")
        #expect(providers.text.contains("Re-check identities now"))
        let token = try #require(WebUIEndToEndTests.csrfToken(in: providers.text))
        let rechecked = try await HTTP.request(
            base + "/admin/providers/company-sso/revalidate", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: WebUIEndToEndTests.form([("_csrf", token)]))
        #expect(rechecked.status == 303, "\(rechecked)")
        jar.take(rechecked)
        let after = try await HTTP.request(base + "/admin/providers", headers: [jar.header])
        guard let range = after.text.range(of: "Identities of company-sso: ") else { return after.text }
        return String(after.text[range.lowerBound...].prefix { $0 != "<" })
    }
}
