import CryptoCore
import Foundation
import Storage
import TestSupport
import Testing
import WebUI

/// The hostile answers of issue 13 §4 through the whole web flow (button, provider, callback) with the real
/// `oidc` provider and a loopback issuer written to misbehave: each is refused with a page saying what failed,
/// audited as a failed `sso.sign_in`, and creates nothing.
@Suite("Hostile issuers through the web sign-in flow", .serialized)
struct HostileIssuerSignInTests {
    static let key = HostileIssuer.SigningKey(keyID: "key-1", key: try! PrivateKey.generate(.rsa(bits: 2048)))
    static let stranger = HostileIssuer.SigningKey(keyID: "key-1", key: try! PrivateKey.generate(.rsa(bits: 2048)))

    /// Each forgery, with words the refusal page must contain.
    static let forgeries: [(String, @Sendable (HostileIssuer, [String: any Sendable]) -> String)] = [
        ("alg none", { _, claims in HostileIssuer.unsigned(claims) }),
        ("HS256 with the client secret", { _, claims in HostileIssuer.hs256(claims, secret: "s3", keyID: "key-1") }),
        ("a stranger's key", { _, claims in HostileIssuer.sign(claims, with: stranger) }),
        (
            "another audience",
            { _, claims in HostileIssuer.sign(claims.merging(["aud": "someone-else"]) { $1 }, with: key) }
        ),
        (
            "another issuer",
            { _, claims in HostileIssuer.sign(claims.merging(["iss": "http://evil.example"]) { $1 }, with: key) }
        ),
        ("another nonce", { _, claims in HostileIssuer.sign(claims.merging(["nonce": "replayed"]) { $1 }, with: key) }),
        (
            "expired",
            { _, claims in
                let now = Int(Date().timeIntervalSince1970)
                return HostileIssuer.sign(claims.merging(["exp": now - 600, "iat": now - 4200]) { $1 }, with: key)
            }
        ),
        (
            "not yet valid",
            { _, claims in
                HostileIssuer.sign(claims.merging(["nbf": Int(Date().timeIntervalSince1970) + 600]) { $1 }, with: key)
            }
        ),
    ]

    @Test("alg none, HS256 with the secret, a stranger's key, wrong aud/iss/nonce, expired, future nbf: refused")
    func everyForgeryIsRefusedWithAPageAndAnAuditEntry() async throws {
        let issuer = try HostileIssuer(keys: [Self.key])
        let (web, _) = try await OIDCSignInTests.fixture(issuer: issuer.issuer)
        let users = try await web.store.read { try $0.countUsers() }
        for (index, (name, forge)) in Self.forgeries.enumerated() {
            var browser = web.visitor
            let begun = await browser.get("/sign-in/corp-sso")
            browser.keepCookies(from: begun)
            let location = try #require(begun.location.flatMap(URL.init(string:)), "\(name): \(begun.status)")
            let query = Dictionary(
                (URLComponents(url: location, resolvingAgainstBaseURL: false)?.queryItems ?? []).map {
                    ($0.name, $0.value ?? "")
                }
            ) { first, _ in first }
            let claims = issuer.claims(clientID: "portcullis", nonce: query["nonce"], now: Date())
            issuer.update { $0.tokenAnswer = (200, HostileIssuer.tokenAnswer(idToken: forge(issuer, claims))) }
            let done = await browser.get(
                "/sign-in/corp-sso/callback?code=c\(index)&state=" + WebClient.encode(query["state"] ?? ""))
            #expect(done.status == 502, "\(name): \(done.status)")
            #expect(done.contains("Corp SSO"), "\(name): the page does not name the provider")
            #expect(browser.cookies["portcullis_session"] == nil, "\(name) signed someone in")
            let audited = try await web.store.read { try $0.auditEvents(limit: 500, before: nil) }.filter {
                $0.action == "sso.sign_in"
            }
            #expect(audited.count == index + 1 && audited.allSatisfy { $0.outcome != .success }, "\(name)")
            #expect(try await web.store.read { try $0.countUsers() } == users, "\(name) created an account")
        }
        await issuer.stop()
    }
}
