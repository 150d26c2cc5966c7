import Foundation
import TestSupport
import Testing

/// The web UI's tag delete on the real `portcullis serve` beside Debian's docker-registry: alice signs in through
/// the real sign-in form (a session cookie and its CSRF token, exactly as a browser without script gets them),
/// selects a tag on the repository page, is shown the confirmation naming every tag on its digest, confirms, and
/// the registry no longer serves the image while the other tag stays.
///
/// The real binary rather than an in-process UI: it is the only way to test the one-line wiring in
/// `WebUIAssembly`/`ServeCommand` (the registry clients reaching `WebRegistryDeletion`) together with the
/// registry's token auth and notifications, which is what can break at integration.
@Suite(.serialized, .enabled(if: Peers.shouldRun, Peers.skipComment))
struct WebTagDeletionEndToEndTests {
    typealias Stack = RegistryEventsTests.EventsStack

    /// A browser session: the cookies and the CSRF token of the signed-in user.
    struct Browser {
        let base: String
        var cookies: [String: String] = [:]
        var csrf = ""

        var cookieHeader: [String] {
            cookies.isEmpty
                ? [] : ["Cookie: " + cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")]
        }

        mutating func remember(_ result: HTTPResult) {
            for header in result.headers where header.name == "set-cookie" {
                let pair = header.value.split(separator: ";").first ?? ""
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                cookies[parts[0]] = parts[1]
            }
        }

        mutating func get(_ path: String) async throws -> HTTPResult {
            let result = try await HTTP.request(base + path, headers: cookieHeader)
            remember(result)
            if let token = Self.csrfToken(in: result.text) { csrf = token }
            return result
        }

        mutating func post(_ path: String, _ fields: [(String, String)]) async throws -> HTTPResult {
            let body = ([("_csrf", csrf)] + fields).map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }
                .joined(separator: "&")
            let result = try await HTTP.request(
                base + path, method: "POST",
                headers: cookieHeader + ["Content-Type: application/x-www-form-urlencoded"], body: body)
            remember(result)
            return result
        }

        static func csrfToken(in html: String) -> String? {
            guard let range = html.range(of: "name=\"_csrf\" value=\"") else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }
    }

    @Test func aTagDeletedThroughTheConfirmationPageIsGoneAtTheRegistryWithTheTagsSharingItsDigest() async throws {
        let (stack, alice, _, second) = try await Stack.withDemoImages()
        defer { stack.stop() }

        var browser = Browser(base: stack.portcullis.url)
        _ = try await browser.get("/sign-in")
        let signedIn = try await browser.post(
            "/sign-in", [("username", Stack.alice.name), ("password", Stack.alice.password), ("next", "/")])
        #expect(signedIn.status == 303, "\(signedIn)")

        let page = try await browser.get("/repositories/alice/demo")
        #expect(page.status == 200, "\(page.status)\n\(stack.logs())")
        #expect(page.text.contains("name=\"tag\" value=\"v2\""))
        #expect(page.text.contains("data-digest=\"\(second.manifestDigest)\""))

        let confirm = try await browser.post("/repositories/alice/demo/-/delete-tags", [("tag", "v2")])
        #expect(confirm.status == 200, "\(confirm.status)")
        #expect(confirm.text.contains("stable, v2"), "the confirmation names the tag sharing the digest")
        #expect(confirm.text.contains("id=\"shared-warning\""))

        let deleted = try await browser.post(
            "/repositories/alice/demo/-/delete-tags", [("tag", "v2"), ("confirm", "yes")])
        #expect(deleted.status == 303, "\(deleted.status) \(deleted.text)\n\(stack.logs())")
        #expect(deleted.header("location") == "/repositories/alice/demo")

        for tag in ["v2", "stable"] {
            let inspect = try await alice.run([
                "inspect", "--raw", "--authfile", alice.authFile.path, "--tls-verify=false",
                "docker://\(stack.host)/alice/demo:\(tag)",
            ])
            #expect(!inspect.succeeded, "the registry still serves alice/demo:\(tag)")
        }
        let kept = try await alice.run([
            "inspect", "--raw", "--authfile", alice.authFile.path, "--tls-verify=false",
            "docker://\(stack.host)/alice/demo:v1",
        ])
        #expect(kept.succeeded, "alice/demo:v1 went too: \(kept)")
        let after = try await browser.get("/repositories/alice/demo")
        let flash =
            after.text.range(of: "class=\"flash").map { String(after.text[$0.lowerBound...].prefix(200)) }
            ?? "no flash; cookies sent: \(browser.cookies.keys.sorted()) deleted headers: \(deleted.headers)"
        #expect(after.text.contains("Deleted 2 tags: stable, v2."), "\(flash)")
        #expect(!after.text.contains("name=\"tag\" value=\"v2\""))
        #expect(after.text.contains("name=\"tag\" value=\"v1\""))
        let gone = try await browser.get("/repositories/alice/demo/-/tags/v2")
        #expect(gone.status == 404)
    }
}
