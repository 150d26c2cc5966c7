import Foundation
import HTTPCore
import Testing

@Suite("Sign-in, sign-out and the page frame")
struct AccessPageTests {
    @Test("The sign-in page has a form with a CSRF field and sets a visitor token cookie")
    func signInPageHasForm() async throws {
        let fixture = try await WebFixture()
        let page = await fixture.visitor.get("/sign-in")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "signin-form"))
        #expect(page.postForms.allSatisfy { $0.hasCSRF })
        #expect(page.response.headers.values(for: "Set-Cookie").contains { $0.hasPrefix("pc_csrf=") })
        #expect(page.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
    }

    @Test("Signing in with the right password starts a session and returns to a local next page")
    func signInStartsSession() async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let page = await visitor.post(
            "/sign-in", [("username", "olivia"), ("password", "olivia-password"), ("next", "/explore")])
        #expect(page.status == 303)
        #expect(page.location == "/explore")
        #expect(page.response.headers.values(for: "Set-Cookie").contains { $0.hasPrefix("portcullis_session=") })
    }

    @Test(
        "A next parameter pointing at another host is ignored",
        arguments: ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"])
    func openRedirectRefused(_ next: String) async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let page = await visitor.post(
            "/sign-in", [("username", "olivia"), ("password", "olivia-password"), ("next", next)])
        #expect(page.location == "/")
    }

    @Test("A wrong password, a lockout and an outage are clear messages, and the username is kept")
    func refusalsAreMessages() async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let wrong = await visitor.post(
            "/sign-in", [("username", "olivia"), ("password", "nope")])
        #expect(wrong.status == 401)
        #expect(wrong.contains("Wrong username or password."))
        #expect(wrong.contains("value=\"olivia\""))
        let locked = await visitor.post(
            "/sign-in", [("username", "locked"), ("password", "x")])
        #expect(locked.status == 423)
        #expect(locked.contains("locked until"))
        let down = await visitor.post(
            "/sign-in", [("username", "down"), ("password", "x")])
        #expect(down.status == 503)
    }

    @Test("A sign-in without the visitor's CSRF token is refused with 403")
    func signInNeedsCSRF() async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let page = await visitor.post(
            "/sign-in", [("username", "olivia"), ("password", "olivia-password")], csrf: "another-token-0123456789")
        #expect(page.status == 403)
    }

    @Test("A POST from another origin is refused even with the right token")
    func crossOriginRefused() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let page = await olivia.post("/sign-out", [], origin: "http://evil.example")
        #expect(page.status == 403)
    }

    @Test("Assets are served under hashed names with a year-long cache lifetime and fit the 60 KB budget")
    func assetsAreCached() async throws {
        let fixture = try await WebFixture()
        let assets = fixture.ui.assetFiles
        for file in assets {
            let response = await fixture.send(.get, file.path)
            #expect(response.status == .ok)
            #expect(response.headers["Cache-Control"]?.contains("immutable") == true)
        }
        #expect(assets.reduce(0) { $0 + $1.bytes.count } <= 60 * 1024)
    }

    @Test("A hostile username is kept in the form as text, and the password is never sent back")
    func hostileUsernameIsEscaped() async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let payload = "\"><script>alert(1)</script>"
        let page = await visitor.post(
            "/sign-in", [("username", payload), ("password", "secret-typed-here")])
        #expect(page.status == 401)
        #expect(!page.contains("<script>alert(1)"))
        #expect(page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""))
        #expect(!page.contains("secret-typed-here"))
    }

    @Test("A provider's refusal message with markup is shown as text")
    func providerMessageIsEscaped() async throws {
        let fixture = try await WebFixture()
        let visitor = fixture.signingInVisitor
        let page = await visitor.post(
            "/sign-in", [("username", "refused"), ("password", "x")])
        #expect(page.status == 403)
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!page.contains("<img src=x"))
    }

    @Test("Signed-in pages send a visitor to sign in and back", arguments: ["/profile", "/teams", "/admin/users"])
    func signedInPagesRedirect(_ path: String) async throws {
        let fixture = try await WebFixture()
        let page = await fixture.visitor.get(path)
        #expect(page.status == 303 || page.status == 404)
        if page.status == 303 {
            #expect(page.location == "/sign-in?next=" + path.replacingOccurrences(of: "/", with: "/"))
        }
    }

    @Test("Over HTTPS the session cookie is __Host- prefixed, Secure, HttpOnly and SameSite=Lax")
    func secureCookies() async throws {
        let fixture = try await WebFixture(publicURL: "https://portcullis.test")
        let visitor = fixture.signingInVisitor
        let page = await visitor.post(
            "/sign-in", [("username", "carl"), ("password", "carl-password")],
            origin: "https://portcullis.test")
        #expect(page.status == 303)
        let cookie = try #require(
            page.response.headers.values(for: "Set-Cookie").first { $0.hasPrefix("__Host-portcullis_session=") })
        for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] { #expect(cookie.contains(attribute)) }
        #expect(!cookie.contains("Domain="))
    }
}
