import Foundation
import TestSupport
import Testing

/// The web UI in a real browser (Debian's headless Chromium over WebDriver) against the real `portcullis serve`
/// beside docker-registry: a person signs in, creates an application token and sees it once, stars a
/// repository, deletes a tag through the confirmation page (skopeo pushed it; the registry no longer serves it
/// afterwards) and signs out, with JavaScript on and with it off. A second test visits every page as an
/// administrator and as a member and writes screenshots at 1280 and 375 px wide (light and dark) into
/// `Browser.screenshotDirectory`.
@Suite(.serialized, .enabled(if: Peers.shouldRun && Browser.shouldRun, Peers.skipComment))
struct WebUIBrowserTests {
    typealias Stack = RegistryEventsTests.EventsStack

    /// Signs in through the sign-in form.
    static func signIn(_ browser: Browser, at base: String, as user: (name: String, password: String)) async throws {
        try await browser.open(base + "/sign-in")
        try await browser.find("#field-username").type(user.name)
        try await browser.find("#field-password").type(user.password)
        try await browser.find("#signin-form button[type=submit]").click()
        try await browser.waitUntil(timeout: .seconds(30), "the dashboard after sign-in") {
            try await browser.exists("#my-namespaces")
        }
    }

    @Test(arguments: [true, false])
    func aPersonSignsInCreatesATokenStarsARepositoryDeletesATagAndSignsOut(javascript: Bool) async throws {
        let (stack, alice, _, _) = try await Stack.withDemoImages()
        defer { stack.stop() }
        let base = stack.portcullis.url
        try await withBrowser(javascript: javascript) { browser in
            try await Self.signIn(browser, at: base, as: Stack.alice)

            // An application token, shown once with the exact docker login line.
            try await browser.open(base + "/profile/tokens")
            try await browser.find("#field-name").type("laptop")
            try await browser.find("#create-token-form button[type=submit]").click()
            let secret = try await browser.find(".secret")
            if javascript { try await browser.screenshots(named: "token-created") }
            let shown = try await secret.text
            #expect(shown.contains("pct_"), "\(shown)")
            #expect(shown.contains("docker login"))
            let token = try #require(shown.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("pct_") })
            try await browser.open(base + "/profile/tokens")
            #expect(try await !browser.exists(".secret"))
            #expect(try await !browser.pageSource.contains(String(token)))
            #expect(try await browser.pageSource.contains("laptop"))

            // A star, without or with script.
            try await browser.open(base + "/repositories/alice/demo")
            try await browser.find("#star").click()
            try await browser.waitUntil(timeout: .seconds(30), "the star to be set") {
                try await browser.find("#star").text.contains("Starred")
            }

            // A tag deleted through the confirmation page names the tag sharing its digest.
            try await browser.find("input[name=tag][value=v2]").click()
            try await browser.find("#delete-selected").click()
            if javascript, try await browser.alertText != nil { try await browser.acceptAlert() }
            let summary = try await browser.find("#going-tags").text
            #expect(summary.contains("stable") && summary.contains("v2"), "\(summary)")
            try await browser.find("#confirm-delete button[type=submit]").click()
            try await browser.waitUntil(timeout: .seconds(30), "the flash after deleting") {
                try await browser.exists(".flash.success")
            }
            #expect(try await browser.find(".flash.success").text.contains("stable, v2"))
            for tag in ["v2", "stable"] {
                let inspect = try await alice.run([
                    "inspect", "--raw", "--authfile", alice.authFile.path, "--tls-verify=false",
                    "docker://\(stack.host)/alice/demo:\(tag)",
                ])
                #expect(!inspect.succeeded, "the registry still serves alice/demo:\(tag)")
            }

            // Sign out through the user menu (a <details>, so it opens without script).
            try await browser.find(".usermenu summary").click()
            try await browser.find(".usermenu form button[type=submit]").click()
            try await browser.waitUntil(timeout: .seconds(30), "the sign-in page after signing out") {
                try await browser.currentURL.hasSuffix("/sign-in")
            }
            #expect(try await browser.find(".flash.success").text.contains("signed out"))
            try await browser.open(base + "/profile")
            #expect(try await browser.currentURL.contains("/sign-in?next="))
        }
    }

    @Test func everyPageIsPhotographedAtBothWidthsInLightAndDark() async throws {
        let (stack, _, _, _) = try await Stack.withDemoImages()
        defer { stack.stop() }
        let base = stack.portcullis.url
        try await stack.portcullis.must(["team", "create", "platform", "--owner", "alice"])
        try await stack.portcullis.must(["team", "add-member", "platform", "admin", "--role", "viewer"])
        let pages: [(name: String, path: String)] = [
            ("dashboard", "/"), ("explore", "/explore"), ("search", "/search?q=demo"),
            ("namespaces", "/namespaces"), ("namespace", "/namespaces/alice"),
            ("repository", "/repositories/alice/demo"), ("tag", "/repositories/alice/demo/-/tags/v2"),
            ("tag-delete-confirm", "/repositories/alice/demo/-/delete-tags?tag=v2"),
            ("teams", "/teams"), ("team", "/teams/platform"), ("profile", "/profile"),
            ("profile-tokens", "/profile/tokens"), ("profile-sessions", "/profile/sessions"),
            ("admin-users", "/admin/users"), ("admin-registries", "/admin/registries"),
            ("admin-providers", "/admin/providers"), ("admin-audit", "/admin/audit"),
        ]
        for scheme in [Browser.ColorScheme.light, .dark] {
            try await withBrowser(colorScheme: scheme) { browser in
                let suffix = scheme == .dark ? "-dark" : ""
                try await browser.open(base + "/sign-in")
                try await browser.screenshots(named: "sign-in\(suffix)")
                try await Self.signIn(browser, at: base, as: (name: "admin", password: "admin-password-e2e"))
                for page in pages {
                    try await browser.open(base + page.path)
                    let title = try await browser.title
                    #expect(!title.hasPrefix("Not found") && !title.hasPrefix("Something went wrong"), "\(page.path)")
                    try await browser.screenshots(named: page.name + suffix)
                }
            }
        }
    }
}

extension RegistryEventsTests.EventsStack {
    /// A stack with `alice/demo:v1` (the first image) and `alice/demo:v2` and `:stable` (the second, one digest),
    /// recorded by the event worker; with alice's logged-in skopeo and both images.
    static func withDemoImages() async throws -> (
        RegistryEventsTests.EventsStack, Skopeo, first: OCIImage, second: OCIImage
    ) {
        let stack = try await start()
        do {
            let alice = try await stack.alice()
            let first = try await OCIImage.build(in: stack.scratch.path("first"))
            let second = try await OCIImage.build(in: stack.scratch.path("second"))
            try await stack.push(alice, first.reference, "alice/demo:v1")
            try await stack.push(alice, second.reference, "alice/demo:v2")
            try await stack.push(alice, second.reference, "alice/demo:stable")
            for (tag, image) in [("v1", first), ("v2", second), ("stable", second)] {
                _ = try await stack.waitForTag("alice", "demo", tag, "its digest") {
                    $0["digest"] as? String == image.manifestDigest
                }
            }
            return (stack, alice, first, second)
        } catch {
            stack.stop()
            throw error
        }
    }
}
