import Foundation
import TestSupport
import Testing

/// The REST API on the real `portcullis serve`: a CLI-made application token reaches `users/me`, a password
/// does not, and failed token attempts on the API count towards the same per-address guessing limit as
/// `docker login` at `/v2/token` (one throttle behind both doors).
@Suite(.serialized)
struct RESTAPIEndToEndTests {
    static let password = "api-e2e-password"

    static func withServer(_ body: (Portcullis, String) async throws -> Void) async throws {
        let portcullis = try Portcullis(
            port: try freePort(), service: "api.test", issuer: "portcullis-api",
            registryURL: "http://127.0.0.1:\(try freePort())")
        defer { portcullis.stop() }
        try portcullis.writeConfig(
            "30-policy.yaml", "policy:\n  passwordGuessing: {failures: 3, window: 1m, concurrentChecks: 4}\n")
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser("ada", password: password)
        let token = try await portcullis.createApplicationToken(user: "ada", name: "laptop")
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()
        try await body(portcullis, token)
    }

    @Test func anApplicationTokenReachesUsersMeAndAPasswordIsRefused() async throws {
        try await Self.withServer { portcullis, token in
            let me = try await HTTP.request(
                portcullis.url + "/api/v1/users/me", headers: ["Authorization: Bearer \(token)"])
            #expect(me.status == 200, "\(me)")
            #expect((me.json?["user"] as? [String: Any])?["username"] as? String == "ada")
            #expect(me.header("X-Request-Id") != nil)

            let password = try await HTTP.request(
                portcullis.url + "/api/v1/users/me", basic: ("ada", Self.password))
            #expect(password.status == 401, "\(password)")
            #expect(password.text.contains("application tokens"))
            #expect(password.header("WWW-Authenticate") == #"Bearer realm="portcullis""#)

            let missing = try await HTTP.request(portcullis.url + "/api/v1/no-such-thing", method: "POST")
            #expect(missing.status == 404)
            #expect(missing.header("Content-Type") == "application/json")
        }
    }

    @Test func failedTokenAttemptsOnTheAPICountTowardsTheLoginLimitAtTheTokenEndpoint() async throws {
        try await Self.withServer { portcullis, _ in
            // A revoked token is well-formed, so the application-token provider decides (and refuses) it.
            let revoked = try await portcullis.createApplicationToken(user: "ada", name: "old")
            try await portcullis.must(["token", "revoke", "ada", "old"])
            for _ in 0..<3 {
                let refused = try await HTTP.request(
                    portcullis.url + "/api/v1/users/me", headers: ["Authorization: Bearer \(revoked)"],
                    from: "127.0.0.41")
                #expect(refused.status == 401, "\(refused)")
            }
            let login = try await portcullis.tokenRequest(user: ("ada", Self.password), from: "127.0.0.41")
            #expect(login.status == 429, "\(login)")
            let elsewhere = try await portcullis.tokenRequest(user: ("ada", Self.password), from: "127.0.0.42")
            #expect(elsewhere.status == 200, "\(elsewhere)")
        }
    }
}
