import Foundation
import TestSupport
import Testing

/// The people resources on the real `portcullis serve`: an administrator creates an account and a token for
/// it through the API; the token works at `users/me` and as the `docker login` password at `/v2/token`, and
/// stops working the moment the account is deleted.
@Suite(.serialized)
struct PeopleAPIEndToEndTests {
    @Test func anAccountAndTokenMadeThroughTheAPIWorkAtUsersMeAndTheTokenEndpointUntilTheAccountIsDeleted()
        async throws
    {
        let portcullis = try Portcullis(
            port: try freePort(), service: "people.test", issuer: "portcullis-people",
            registryURL: "http://127.0.0.1:\(try freePort())")
        defer { portcullis.stop() }
        try await portcullis.must(["db", "migrate"])
        try await portcullis.createUser("root", password: "root-password-e2e", admin: true)
        let rootToken = try await portcullis.createApplicationToken(user: "root", name: "admin")
        try portcullis.configureSigningKeys([Portcullis.defaultKey])
        try await portcullis.generateKey(.ec)
        try await portcullis.start()
        let api = portcullis.url + "/api/v1"
        let asRoot = ["Authorization: Bearer \(rootToken)", "Content-Type: application/json"]

        let created = try await HTTP.request(
            api + "/users", method: "POST", headers: asRoot,
            body: #"{"username":"grace","email":"grace@example.org","password":"grace-password-1"}"#)
        #expect(created.status == 201, "\(created)")
        #expect(!created.text.contains("grace-password-1"))
        let id = try #require(created.json?["id"] as? Int)
        #expect(created.header("Location") == "/api/v1/users/\(id)")

        let issued = try await HTTP.request(
            api + "/users/\(id)/tokens", method: "POST", headers: asRoot,
            body: #"{"name":"ci","actions":["pull","api:read"]}"#)
        #expect(issued.status == 201, "\(issued)")
        let token = try #require(issued.json?["token"] as? String)
        #expect(token.hasPrefix("pct_"))

        let me = try await HTTP.request(api + "/users/me", headers: ["Authorization: Bearer \(token)"])
        #expect(me.status == 200, "\(me)")
        #expect((me.json?["user"] as? [String: Any])?["username"] as? String == "grace")
        #expect((me.json?["credential"] as? [String: Any])?["actions"] as? [String] == ["api:read", "pull"])

        // api:read reads but does not write.
        let write = try await HTTP.request(
            api + "/teams", method: "POST",
            headers: ["Authorization: Bearer \(token)", "Content-Type: application/json"],
            body: #"{"name":"graces"}"#)
        #expect(write.status == 403, "\(write)")

        let login = try await portcullis.tokenRequest(user: ("grace", token))
        #expect(login.status == 200, "\(login)")

        let listed = try await HTTP.request(api + "/users/\(id)/tokens", headers: asRoot)
        #expect(listed.status == 200, "\(listed)")
        #expect(!listed.text.contains(token))

        let deleted = try await HTTP.request(api + "/users/\(id)", method: "DELETE", headers: asRoot)
        #expect(deleted.status == 204, "\(deleted)")
        let after = try await HTTP.request(api + "/users/me", headers: ["Authorization: Bearer \(token)"])
        #expect(after.status == 401, "\(after)")
        let loginAfter = try await portcullis.tokenRequest(user: ("grace", token))
        #expect(loginAfter.status == 401, "\(loginAfter)")
    }
}
