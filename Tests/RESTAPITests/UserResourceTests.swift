import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

@Suite("REST API: users and their tokens")
struct UserResourceTests {
    static func asRoot(_ fixture: APIFixture) -> HTTPHeaders { APIFixture.bearer(fixture.rootToken) }
    static func asAlice(_ fixture: APIFixture) -> HTTPHeaders { APIFixture.bearer(fixture.aliceToken) }

    /// Creates `username` through the API (no password: tokens only) and returns its id.
    static func create(_ fixture: APIFixture, _ username: String) async throws -> Int64 {
        let answer = await fixture.send(
            .post, "/api/v1/users", headers: asRoot(fixture), body: #"{"username":"\#(username)"}"#)
        #expect(answer.status == 201, "\(answer.json.map { String(decoding: $0.encoded(), as: UTF8.self) } ?? "")")
        return try #require(answer.json?["id"]?.integerValue)
    }

    /// A token for user `id`, made by root through the API.
    static func token(_ fixture: APIFixture, for id: Int64, _ body: String = #"{"name":"t"}"#) async throws -> String {
        let answer = await fixture.send(.post, "/api/v1/users/\(id)/tokens", headers: asRoot(fixture), body: body)
        #expect(answer.status == 201)
        return try #require(answer.json?["token"]?.stringValue)
    }

    @Test("An administrator creates an account: 201 with Location, the User document, and no password echoed")
    func createsAccount() async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(
            .post, "/api/v1/users", headers: Self.asRoot(fixture),
            body: #"{"username":"grace","email":"grace@example.org","display_name":"Grace","password":"s3cret-pass"}"#)
        #expect(answer.status == 201)
        let id = try #require(answer.json?["id"]?.integerValue)
        #expect(answer.header("Location") == "/api/v1/users/\(id)")
        #expect(answer.json?["username"] == .string("grace"))
        #expect(answer.json?["display_name"] == .string("Grace"))
        #expect(!String(decoding: answer.response.body, as: UTF8.self).contains("s3cret"))
        #expect(SystemResources.userSchema.problems(in: try #require(answer.json)).isEmpty)
        let shown = await fixture.send(.get, "/api/v1/users/\(id)", headers: Self.asRoot(fixture))
        #expect(shown.json?["email"] == .string("grace@example.org"))
    }

    @Test(
        "Account creation refuses names breaking Portus's rules, bad passwords, unknown fields and wrong types",
        arguments: [
            (#"{"username":"-bob"}"#, 400, "ACCOUNT_INVALID_USERNAME"),
            (#"{"username":"bob smith"}"#, 400, "ACCOUNT_INVALID_USERNAME"),
            (#"{"username":"bob/../root"}"#, 400, "ACCOUNT_INVALID_USERNAME"),
            (#"{"username":"a..b"}"#, 400, "ACCOUNT_INVALID_USERNAME"),
            (#"{"username":"ALICE"}"#, 409, "ACCOUNT_USERNAME_TAKEN"),
            (#"{"username":"alice"}"#, 409, "ACCOUNT_USERNAME_TAKEN"),
            (#"{"username":"bob","password":"short"}"#, 400, "ACCOUNT_INVALID_PASSWORD"),
            (#"{"username":"bob","email":"not an address"}"#, 400, "ACCOUNT_INVALID_EMAIL"),
            (#"{"username":"bob","colour":"red"}"#, 400, "FIELD_UNKNOWN"),
            (#"{"username":"bob","admin":"yes"}"#, 400, "FIELD_TYPE_INVALID"),
            (#"{"username":42}"#, 400, "FIELD_TYPE_INVALID"),
            (#"{}"#, 400, "FIELD_REQUIRED"),
            (#"{"username":"bob""#, 400, "JSON_MALFORMED"),
        ])
    func refusesBadAccounts(body: String, status: Int, code: String) async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(.post, "/api/v1/users", headers: Self.asRoot(fixture), body: body)
        #expect(answer.status == status)
        #expect(answer.errorCode == code)
        let listed = await fixture.send(.get, "/api/v1/users", headers: Self.asRoot(fixture))
        #expect(listed.header("X-Total-Count") == "2", "nothing half-written")
    }

    @Test("The account list is for administrators, paged and sorted by a listed field")
    func listsAccounts() async throws {
        let fixture = try await APIFixture()
        for name in ["carol", "bob", "dave"] { _ = try await Self.create(fixture, name) }
        let page = await fixture.send(
            .get, "/api/v1/users?per_page=2&page=2&sort=-username", headers: Self.asRoot(fixture))
        #expect(page.status == 200)
        #expect(page.header("X-Total-Count") == "5")
        #expect(page.header("X-Total-Pages") == "3")
        #expect(page.json?.item(0)?["username"] == .string("carol"))
        #expect(page.json?.item(1)?["username"] == .string("bob"))
        // Equal creation times fall back to the id, in the same direction: the newest account comes first.
        let newest = await fixture.send(
            .get, "/api/v1/users?sort=-created_at&per_page=1", headers: Self.asRoot(fixture))
        #expect(newest.json?.item(0)?["username"] == .string("dave"))
        let neverLoggedIn = await fixture.send(
            .get, "/api/v1/users?sort=last_login_at&per_page=100", headers: Self.asRoot(fixture))
        #expect(neverLoggedIn.json.map { if case .array(let items) = $0 { items.count } else { 0 } } == 5)
        #expect(
            await fixture.send(.get, "/api/v1/users?sort=password", headers: Self.asRoot(fixture)).errorCode
                == "SORT_INVALID")
        #expect(await fixture.send(.get, "/api/v1/users", headers: Self.asAlice(fixture)).status == 403)
        #expect(await fixture.send(.get, "/api/v1/users").status == 401)
    }

    @Test("A user sees their own account by id but not another's; unknown ids are 404, non-numbers 400")
    func showsAccount() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue, root = fixture.root.id.rawValue
        #expect(await fixture.send(.get, "/api/v1/users/\(alice)", headers: Self.asAlice(fixture)).status == 200)
        #expect(await fixture.send(.get, "/api/v1/users/\(root)", headers: Self.asAlice(fixture)).status == 403)
        #expect(await fixture.send(.get, "/api/v1/users/999", headers: Self.asRoot(fixture)).status == 404)
        #expect(await fixture.send(.get, "/api/v1/users/abc", headers: Self.asRoot(fixture)).status == 400)
        let me = await fixture.send(.get, "/api/v1/users/me", headers: Self.asAlice(fixture))
        #expect(me.json?["user"]?["username"] == .string("alice"))
    }

    @Test("An administrator changes e-mail, display name and password; a refused field changes nothing")
    func updatesAccount() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue
        let changed = await fixture.send(
            .patch, "/api/v1/users/\(alice)", headers: Self.asRoot(fixture),
            body: #"{"email":"a@example.com","display_name":"Alice A.","password":"new-password-1"}"#)
        #expect(changed.status == 200)
        #expect(changed.json?["email"] == .string("a@example.com"))
        #expect(changed.json?["display_name"] == .string("Alice A."))
        let hash = try await fixture.store.read { try $0.user(id: fixture.alice.id)?.passwordHash }
        #expect(hash != nil)

        let refused = await fixture.send(
            .patch, "/api/v1/users/\(alice)", headers: Self.asRoot(fixture),
            body: #"{"display_name":"Other","email":"no-at-sign","password":"another-password"}"#)
        #expect(refused.errorCode == "ACCOUNT_INVALID_EMAIL")
        let after = try await fixture.store.read { try $0.user(id: fixture.alice.id) }
        #expect(after?.displayName == "Alice A.")
        #expect(after?.passwordHash == hash)

        let cleared = await fixture.send(
            .patch, "/api/v1/users/\(alice)", headers: Self.asRoot(fixture), body: #"{"email":null}"#)
        #expect(cleared.json?["email"] == .null)
        #expect(
            await fixture.send(.patch, "/api/v1/users/\(alice)", headers: Self.asAlice(fixture), body: "{}").status
                == 403)
    }

    @Test("Deleting an account answers 204 and its tokens stop working at once; the last admin stays")
    func deletesAccount() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.create(fixture, "grace")
        let token = try await Self.token(fixture, for: id)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(token)).status == 200)
        #expect(await fixture.send(.delete, "/api/v1/users/\(id)", headers: Self.asRoot(fixture)).status == 204)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(token)).status == 401)
        #expect(await fixture.send(.delete, "/api/v1/users/\(id)", headers: Self.asRoot(fixture)).status == 404)
        let root = fixture.root.id.rawValue
        let last = await fixture.send(.delete, "/api/v1/users/\(root)", headers: Self.asRoot(fixture))
        #expect(last.status == 409)
        #expect(last.errorCode == "ACCOUNT_LAST_ADMIN")
        #expect(await fixture.send(.delete, "/api/v1/users/\(root)", headers: Self.asAlice(fixture)).status == 403)
    }

    @Test("Disabling an account stops its tokens; enabling brings them back")
    func enablesAndDisables() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue
        let disabled = await fixture.send(.delete, "/api/v1/users/\(alice)/enabled", headers: Self.asRoot(fixture))
        #expect(disabled.status == 200)
        #expect(disabled.json?["enabled"] == .bool(false))
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: Self.asAlice(fixture)).status == 401)
        let enabled = await fixture.send(.put, "/api/v1/users/\(alice)/enabled", headers: Self.asRoot(fixture))
        #expect(enabled.json?["enabled"] == .bool(true))
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: Self.asAlice(fixture)).status == 200)
        let root = fixture.root.id.rawValue
        #expect(
            await fixture.send(.delete, "/api/v1/users/\(root)/enabled", headers: Self.asRoot(fixture)).errorCode
                == "ACCOUNT_LAST_ADMIN")
        #expect(
            await fixture.send(.put, "/api/v1/users/\(alice)/enabled", headers: Self.asAlice(fixture)).status == 403)
    }

    @Test("The admin flag: granted and taken by administrators, never their own, never the last admin's")
    func adminFlag() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue, root = fixture.root.id.rawValue
        #expect(await fixture.send(.put, "/api/v1/users/\(root)/admin", headers: Self.asAlice(fixture)).status == 403)
        let granted = await fixture.send(.put, "/api/v1/users/\(alice)/admin", headers: Self.asRoot(fixture))
        #expect(granted.json?["admin"] == .bool(true))
        let own = await fixture.send(.delete, "/api/v1/users/\(root)/admin", headers: Self.asRoot(fixture))
        #expect(own.errorCode == "ACCOUNT_OWN_ADMIN_FLAG")
        let taken = await fixture.send(.delete, "/api/v1/users/\(root)/admin", headers: Self.asAlice(fixture))
        #expect(taken.json?["admin"] == .bool(false))
        let last = await fixture.send(.delete, "/api/v1/users/\(alice)/admin", headers: Self.asAlice(fixture))
        #expect(last.status == 409)
        #expect(await fixture.send(.get, "/api/v1/users", headers: Self.asRoot(fixture)).status == 403)
    }

    @Test("A token is shown once at creation, listed without its secret, and stops working when revoked")
    func tokenLifecycle() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue
        let created = await fixture.send(
            .post, "/api/v1/users/\(alice)/tokens", headers: Self.asAlice(fixture),
            body: #"{"name":"laptop","expires_at":"2099-01-01T00:00:00Z","actions":["api:read","pull"]}"#)
        #expect(created.status == 201)
        #expect(created.header("Cache-Control") == "no-store")
        let token = try #require(created.json?["token"]?.stringValue)
        let tokenID = try #require(created.json?["application_token"]?["id"]?.integerValue)
        #expect(created.header("Location") == "/api/v1/users/\(alice)/tokens/\(tokenID)")
        #expect(created.json?["application_token"]?["actions"] == .array(["api:read", "pull"]))

        let listed = await fixture.send(
            .get, "/api/v1/users/\(alice)/tokens?sort=-name", headers: Self.asAlice(fixture))
        #expect(listed.status == 200)
        #expect(!String(decoding: listed.response.body, as: UTF8.self).contains(token))
        #expect(listed.header("X-Total-Count") == "4")
        #expect(listed.json?.item(0)?["name"] == .string("read"))
        let shown = await fixture.send(.get, "/api/v1/users/\(alice)/tokens/\(tokenID)", headers: Self.asAlice(fixture))
        #expect(shown.json?["name"] == .string("laptop"))
        #expect(shown.json?["token"] == nil)

        #expect(await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(token)).status == 200)
        let revoked = await fixture.send(
            .delete, "/api/v1/users/\(alice)/tokens/\(tokenID)", headers: Self.asAlice(fixture))
        #expect(revoked.status == 204)
        #expect(await fixture.send(.get, "/api/v1/users/me", headers: APIFixture.bearer(token)).status == 401)
        #expect(
            await fixture.send(.delete, "/api/v1/users/\(alice)/tokens/999", headers: Self.asAlice(fixture)).status
                == 404)
    }

    @Test("Tokens are the owner's or an administrator's business; a restricted token cannot mint a wider one")
    func tokenPermissions() async throws {
        let fixture = try await APIFixture()
        let alice = fixture.alice.id.rawValue, root = fixture.root.id.rawValue
        #expect(await fixture.send(.get, "/api/v1/users/\(root)/tokens", headers: Self.asAlice(fixture)).status == 403)
        #expect(
            await fixture.send(
                .post, "/api/v1/users/\(root)/tokens", headers: Self.asAlice(fixture), body: #"{"name":"x"}"#
            ).status == 403)
        #expect(await fixture.send(.get, "/api/v1/users/\(alice)/tokens", headers: Self.asRoot(fixture)).status == 200)

        let scoped = try await Self.token(
            fixture, for: alice, #"{"name":"scoped","namespaces":["alice"],"actions":["api:write"]}"#)
        let wider = await fixture.send(
            .post, "/api/v1/users/\(alice)/tokens", headers: APIFixture.bearer(scoped), body: #"{"name":"wide"}"#)
        #expect(wider.status == 400)
        #expect(wider.errorCode == "APPLICATION_TOKEN_INVALID_RESTRICTION")
        let narrow = await fixture.send(
            .post, "/api/v1/users/\(alice)/tokens", headers: APIFixture.bearer(scoped),
            body: #"{"name":"narrow","namespaces":["alice"],"actions":["api:read"]}"#)
        #expect(narrow.status == 201)
    }

    @Test(
        "Token creation refuses bad names, actions, expiries and duplicates",
        arguments: [
            (#"{"name":""}"#, 400, "FIELD_INVALID"),
            (#"{"name":"x","actions":["admin"]}"#, 400, "FIELD_INVALID"),
            (#"{"name":"x","actions":[]}"#, 400, "APPLICATION_TOKEN_INVALID_RESTRICTION"),
            (#"{"name":"x","expires_at":"tomorrow"}"#, 400, "FIELD_INVALID"),
            (#"{"name":"x","expires_at":"2001-01-01T00:00:00Z"}"#, 400, "EXPIRY_INVALID"),
            (#"{"name":"ci"}"#, 409, "NAME_TAKEN"),
            (#"{"name":"x","secret":"mine"}"#, 400, "FIELD_UNKNOWN"),
        ])
    func refusesBadTokens(body: String, status: Int, code: String) async throws {
        let fixture = try await APIFixture()
        let answer = await fixture.send(
            .post, "/api/v1/users/\(fixture.alice.id.rawValue)/tokens", headers: Self.asAlice(fixture), body: body)
        #expect(answer.status == status)
        #expect(answer.errorCode == code)
    }

    @Test(
        "A pull-only or api:read token is refused on every write route of users and teams",
        arguments: [
            (HTTPMethod.post, "/api/v1/users", #"{"username":"x"}"#),
            (.patch, "/api/v1/users/1", "{}"),
            (.delete, "/api/v1/users/1", nil),
            (.put, "/api/v1/users/1/enabled", nil),
            (.delete, "/api/v1/users/1/enabled", nil),
            (.put, "/api/v1/users/1/admin", nil),
            (.post, "/api/v1/users/1/tokens", #"{"name":"x"}"#),
            (.delete, "/api/v1/users/1/tokens/1", nil),
            (.post, "/api/v1/teams", #"{"name":"x"}"#),
            (.patch, "/api/v1/teams/1", "{}"),
            (.delete, "/api/v1/teams/1", nil),
            (.post, "/api/v1/teams/1/members", #"{"username":"x"}"#),
            (.patch, "/api/v1/teams/1/members/1", #"{"role":"owner"}"#),
            (.delete, "/api/v1/teams/1/members/1", nil),
            (.post, "/api/v1/teams/1/robots", "{}"),
            (.delete, "/api/v1/teams/1/robots/1", nil),
        ] as [(HTTPMethod, String, String?)])
    func restrictedTokensCannotWrite(method: HTTPMethod, path: String, body: String?) async throws {
        let fixture = try await APIFixture()
        for token in [fixture.pullToken, fixture.readToken] {
            let answer = await fixture.send(method, path, headers: APIFixture.bearer(token), body: body)
            #expect(answer.status == 403, "\(method) \(path)")
            #expect(answer.errorCode == "DENIED")
        }
    }
}

extension JSONValue {
    /// The element at `index` of an array, or nil.
    fileprivate func item(_ index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
