import Foundation
import TestSupport
import Testing

/// The web UI on the real `portcullis serve`: first-run setup with the code from the log, sign-in through
/// the password chain, the page script's session calling the REST API (CSRF header required), sign-out.
@Suite(.serialized)
struct WebUIEndToEndTests {
    /// A browser's cookie jar for curl requests.
    struct Jar {
        var cookies: [String: String] = [:]

        mutating func take(_ result: HTTPResult) {
            for (name, value) in result.headers where name == "set-cookie" {
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else {
                    cookies[String(pair[0])] = nil
                    continue
                }
                cookies[String(pair[0])] = pair[1].isEmpty ? nil : String(pair[1])
            }
        }

        var header: String { "Cookie: " + cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
    }

    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map {
            "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// The value of `<meta name="csrf-token" content="…">`.
    static func csrfToken(in html: String) -> String? {
        guard let range = html.range(of: "<meta name=\"csrf-token\" content=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func theFirstAdministratorIsCreatedWithTheSetupCodeFromTheLogAndThePageScriptCanCallTheAPI() async throws {
        let portcullis = try Portcullis(
            port: try freePort(), service: "ui.test", issuer: "portcullis-ui",
            registryURL: "http://127.0.0.1:\(try freePort())")
        defer { portcullis.stop() }
        try await portcullis.must(["db", "migrate"])
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()
        let base = portcullis.url

        // The code is in the log, and only there.
        let log = portcullis.logTail(20000)
        let code = try #require(
            log.split(separator: "\n").compactMap { line -> String? in
                guard let range = line.range(of: "setup_code=") else { return nil }
                return String(line[range.upperBound...].prefix { !$0.isWhitespace && $0 != "\"" })
            }.last, "no setup code in the log:\n\(log)")

        var jar = Jar()
        let root = try await HTTP.request(base + "/")
        #expect(root.status == 303 && root.header("Location") == "/setup", "\(root)")
        let setup = try await HTTP.request(base + "/setup")
        #expect(setup.status == 200, "\(setup)")
        jar.take(setup)
        let visitorToken = try #require(Self.csrfToken(in: setup.text))

        let wrong = try await HTTP.request(
            base + "/setup", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: Self.form([
                ("_csrf", visitorToken), ("code", "WRONG-CODE"), ("username", "ada"),
                ("password", "first-admin-pw"), ("confirmation", "first-admin-pw"),
            ]))
        #expect(wrong.status == 403, "\(wrong)")

        let created = try await HTTP.request(
            base + "/setup", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: Self.form([
                ("_csrf", visitorToken), ("code", code), ("username", "ada"), ("password", "first-admin-pw"),
                ("confirmation", "first-admin-pw"),
            ]))
        #expect(created.status == 303, "\(created)")
        jar.take(created)
        #expect(jar.cookies["portcullis_session"] != nil)

        let dashboard = try await HTTP.request(base + "/", headers: [jar.header])
        #expect(dashboard.status == 200, "\(dashboard)")
        #expect(dashboard.text.contains("Welcome"))
        let sessionToken = try #require(Self.csrfToken(in: dashboard.text))

        // The code is spent: setup is over for everyone.
        let again = try await HTTP.request(base + "/setup")
        #expect(again.status == 303, "\(again)")

        // The page script's calls: the session cookie authenticates, unsafe ones need the CSRF header.
        let me = try await HTTP.request(base + "/api/v1/users/me", headers: [jar.header])
        #expect(me.status == 200, "\(me)")
        let forged = try await HTTP.request(
            base + "/api/v1/teams", method: "POST", headers: [jar.header, "Content-Type: application/json"],
            body: #"{"name":"web"}"#)
        #expect(forged.status == 403, "\(forged)")
        let made = try await HTTP.request(
            base + "/api/v1/teams", method: "POST",
            headers: [jar.header, "Content-Type: application/json", "X-CSRF-Token: \(sessionToken)"],
            body: #"{"name":"web"}"#)
        #expect(made.status == 201, "\(made)")

        // Sign out, and the cookie no longer works.
        let out = try await HTTP.request(
            base + "/sign-out", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: Self.form([("_csrf", sessionToken)]))
        #expect(out.status == 303, "\(out)")
        let stale = jar
        jar.take(out)
        let after = try await HTTP.request(base + "/", headers: [stale.header])
        #expect(after.status == 303, "\(after)")

        // Sign in again through the password chain (a local account).
        let signInPage = try await HTTP.request(base + "/sign-in", headers: [jar.header])
        jar.take(signInPage)
        let token = try #require(Self.csrfToken(in: signInPage.text))
        let refused = try await HTTP.request(
            base + "/sign-in", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: Self.form([("_csrf", token), ("username", "ada"), ("password", "not-it")]))
        #expect(refused.status == 401, "\(refused)")
        #expect(refused.text.contains("Wrong username or password."))
        let signedIn = try await HTTP.request(
            base + "/sign-in", method: "POST",
            headers: [jar.header, "Content-Type: application/x-www-form-urlencoded"],
            body: Self.form([("_csrf", token), ("username", "ada"), ("password", "first-admin-pw")]))
        #expect(signedIn.status == 303, "\(signedIn)")
        #expect(signedIn.headers.contains { $0.name == "set-cookie" && $0.value.contains("HttpOnly") })
    }
}
