import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

@Suite("REST API: teams, members and robots")
struct TeamResourceTests {
    static func asRoot(_ fixture: APIFixture) -> HTTPHeaders { APIFixture.bearer(fixture.rootToken) }
    static func asAlice(_ fixture: APIFixture) -> HTTPHeaders { APIFixture.bearer(fixture.aliceToken) }

    /// alice's new team `name`, made through the API; its id.
    static func team(_ fixture: APIFixture, _ name: String = "web") async throws -> Int64 {
        let answer = await fixture.send(
            .post, "/api/v1/teams", headers: asAlice(fixture), body: #"{"name":"\#(name)","description":"Web"}"#)
        #expect(answer.status == 201)
        return try #require(answer.json?["team"]?["id"]?.integerValue)
    }

    /// A plain account `name` in the store, and a token for it.
    static func user(_ fixture: APIFixture, _ name: String) async throws -> (User, String) {
        let user = try await fixture.store.write { try $0.createUser(NewUser(username: name)) }
        let token = await fixture.send(
            .post, "/api/v1/users/\(user.id.rawValue)/tokens", headers: asRoot(fixture), body: #"{"name":"t"}"#)
        return (user, try #require(token.json?["token"]?.stringValue))
    }

    @Test("A user creates a team and owns it; admins see every team, others their own")
    func createsAndLists() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        let shown = await fixture.send(.get, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture))
        #expect(shown.json?["team"]?["role"] == .string("owner"))
        #expect(shown.json?["members"]?.item(0)?["username"] == .string("alice"))
        #expect(TeamResources.teamDetailsSchema.problems(in: try #require(shown.json)).isEmpty)

        let (_, bobToken) = try await Self.user(fixture, "bob")
        _ = await fixture.send(.post, "/api/v1/teams", headers: APIFixture.bearer(bobToken), body: #"{"name":"ops"}"#)
        let mine = await fixture.send(.get, "/api/v1/teams", headers: Self.asAlice(fixture))
        #expect(mine.header("X-Total-Count") == "1")
        let all = await fixture.send(.get, "/api/v1/teams?sort=-name", headers: Self.asRoot(fixture))
        #expect(all.header("X-Total-Count") == "2")
        #expect(all.json?.item(0)?["name"] == .string("web"))
        #expect(await fixture.send(.get, "/api/v1/teams/\(id)", headers: APIFixture.bearer(bobToken)).status == 404)
        #expect(await fixture.send(.get, "/api/v1/teams").status == 401)
    }

    @Test(
        "Team names breaking Portus's rules, duplicates, unknown fields and wrong types are refused",
        arguments: [
            (#"{"name":"Web"}"#, 400, "TEAM_INVALID_NAME"),
            (#"{"name":"-web"}"#, 400, "TEAM_INVALID_NAME"),
            (#"{"name":"we b"}"#, 400, "TEAM_INVALID_NAME"),
            (#"{"name":"../etc"}"#, 400, "TEAM_INVALID_NAME"),
            (#"{"name":"web"}"#, 409, "TEAM_NAME_TAKEN"),
            (#"{"name":"ops","members":[]}"#, 400, "FIELD_UNKNOWN"),
            (#"{"name":["ops"]}"#, 400, "FIELD_TYPE_INVALID"),
            (#"{"name":"ops","owner":"root"}"#, 403, "DENIED"),
        ])
    func refusesBadTeams(body: String, status: Int, code: String) async throws {
        let fixture = try await APIFixture()
        _ = try await Self.team(fixture)
        let answer = await fixture.send(.post, "/api/v1/teams", headers: Self.asAlice(fixture), body: body)
        #expect(answer.status == status)
        #expect(answer.errorCode == code)
    }

    @Test("Renaming and describing a team is one change: a taken name leaves the description as it was")
    func updatesTeam() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        _ = try await Self.team(fixture, "ops")
        let changed = await fixture.send(
            .patch, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture),
            body: #"{"name":"frontend","description":"The front end"}"#)
        #expect(changed.status == 200)
        #expect(changed.json?["team"]?["name"] == .string("frontend"))
        let clash = await fixture.send(
            .patch, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture), body: #"{"name":"ops","description":"x"}"#)
        #expect(clash.status == 409)
        let after = await fixture.send(.get, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture))
        #expect(after.json?["team"]?["description"] == .string("The front end"))
        #expect(await fixture.send(.delete, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture)).status == 204)
        #expect(await fixture.send(.get, "/api/v1/teams/\(id)", headers: Self.asAlice(fixture)).status == 404)
    }

    @Test("Members: added with a role, role changed, removed; admins are owners; the last owner stays")
    func members() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        let (bob, bobToken) = try await Self.user(fixture, "bob")
        let added = await fixture.send(
            .post, "/api/v1/teams/\(id)/members", headers: Self.asAlice(fixture),
            body: #"{"username":"bob","role":"contributor"}"#)
        #expect(added.status == 201)
        #expect(added.header("Location") == "/api/v1/teams/\(id)/members/\(bob.id.rawValue)")
        #expect(added.json?["role"] == .string("contributor"))
        let again = await fixture.send(
            .post, "/api/v1/teams/\(id)/members", headers: Self.asAlice(fixture), body: #"{"username":"bob"}"#)
        #expect(again.errorCode == "TEAM_ALREADY_MEMBER")
        // bob, a contributor, may not manage members.
        let byBob = await fixture.send(
            .patch, "/api/v1/teams/\(id)/members/\(bob.id.rawValue)", headers: APIFixture.bearer(bobToken),
            body: #"{"role":"owner"}"#)
        #expect(byBob.status == 403)

        let admin = await fixture.send(
            .post, "/api/v1/teams/\(id)/members", headers: Self.asAlice(fixture),
            body: #"{"username":"root","role":"viewer"}"#)
        #expect(admin.json?["role"] == .string("owner"))
        let demoteAdmin = await fixture.send(
            .patch, "/api/v1/teams/\(id)/members/\(fixture.root.id.rawValue)", headers: Self.asAlice(fixture),
            body: #"{"role":"viewer"}"#)
        #expect(demoteAdmin.errorCode == "TEAM_ADMIN_DEMOTION")
        #expect(
            await fixture.send(
                .delete, "/api/v1/teams/\(id)/members/\(fixture.root.id.rawValue)", headers: Self.asAlice(fixture)
            ).status == 204)

        let alice = fixture.alice.id.rawValue
        let lastRemove = await fixture.send(
            .delete, "/api/v1/teams/\(id)/members/\(alice)", headers: Self.asAlice(fixture))
        #expect(lastRemove.errorCode == "TEAM_LAST_OWNER")
        let lastDemote = await fixture.send(
            .patch, "/api/v1/teams/\(id)/members/\(alice)", headers: Self.asAlice(fixture), body: #"{"role":"viewer"}"#)
        #expect(lastDemote.status == 409)
        let role = await fixture.send(
            .patch, "/api/v1/teams/\(id)/members/\(bob.id.rawValue)", headers: Self.asAlice(fixture),
            body: #"{"role":"owner"}"#)
        #expect(role.json?["role"] == .string("owner"))
        let listed = await fixture.send(
            .get, "/api/v1/teams/\(id)/members?sort=-username", headers: Self.asAlice(fixture))
        #expect(listed.header("X-Total-Count") == "2")
        #expect(listed.json?.item(0)?["username"] == .string("bob"))
        #expect(
            await fixture.send(
                .patch, "/api/v1/teams/\(id)/members/\(alice)", headers: Self.asAlice(fixture),
                body: #"{"role":"boss"}"#
            ).errorCode == "FIELD_INVALID")
        #expect(
            await fixture.send(
                .post, "/api/v1/teams/\(id)/members", headers: Self.asAlice(fixture), body: #"{"username":"nobody"}"#
            ).status == 404)
        #expect(
            await fixture.send(.delete, "/api/v1/teams/\(id)/members/999", headers: Self.asAlice(fixture)).status == 404
        )
    }

    @Test("Concurrent member changes to one team through the API: no write is lost and an owner always remains")
    func concurrentMemberChanges() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        let names = (0..<16).map { "member\($0)" }
        var ids: [String: Int64] = [:]
        for name in names {
            ids[name] = try await fixture.store.write { try $0.createUser(NewUser(username: name)) }.id.rawValue
        }
        let root = Self.asRoot(fixture), alice = Self.asAlice(fixture)

        // Everyone at once, by two callers.
        let adds = await withTaskGroup(of: Int.self) { group in
            for (index, name) in names.enumerated() {
                group.addTask {
                    await fixture.send(
                        .post, "/api/v1/teams/\(id)/members", headers: index.isMultiple(of: 2) ? root : alice,
                        body: #"{"username":"\#(name)"}"#
                    ).status
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(adds == Array(repeating: 201, count: names.count))

        // Half promoted to owner while the other half is removed.
        let changes = await withTaskGroup(of: Int.self) { group in
            for (index, name) in names.enumerated() {
                let path = "/api/v1/teams/\(id)/members/\(ids[name]!)"
                group.addTask {
                    index < 8
                        ? await fixture.send(.patch, path, headers: root, body: #"{"role":"owner"}"#).status
                        : await fixture.send(.delete, path, headers: root).status
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(changes.sorted() == Array(repeating: 200, count: 8) + Array(repeating: 204, count: 8))
        let middle = await fixture.send(.get, "/api/v1/teams/\(id)", headers: root)
        #expect(middle.json?["team"]?["member_count"] == .integer(9))

        // Every owner (alice and eight) demoted at once: all but one succeed, the last is refused.
        let owners = [fixture.alice.id.rawValue] + names.prefix(8).map { ids[$0]! }
        let demotions = await withTaskGroup(of: (Int, String?).self) { group in
            for owner in owners {
                group.addTask {
                    let answer = await fixture.send(
                        .patch, "/api/v1/teams/\(id)/members/\(owner)", headers: root, body: #"{"role":"viewer"}"#)
                    return (answer.status, answer.errorCode)
                }
            }
            return await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
        }
        #expect(demotions.filter { $0.0 == 200 }.count == owners.count - 1)
        #expect(demotions.filter { $0.1 == "TEAM_LAST_OWNER" }.count == 1)
        let final = try await fixture.store.read { reader in
            try reader.members(of: Team.ID(id))
        }
        #expect(final.count == 9)
        #expect(final.filter { $0.role == .owner }.count == 1)
    }

    @Test("Robots: created with a token shown once, listed and shown without it, revoked; members only")
    func robots() async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        let created = await fixture.send(
            .post, "/api/v1/teams/\(id)/robots", headers: Self.asAlice(fixture),
            body: #"{"name":"ci","actions":["push"],"expires_at":"\#(Self.inDays(30))","note":"CI"}"#)
        #expect(created.status == 201)
        let token = try #require(created.json?["token"]?.stringValue)
        #expect(token.hasPrefix("pcr_"))
        let robotID = try #require(created.json?["robot"]?["id"]?.integerValue)
        #expect(created.header("Location") == "/api/v1/teams/\(id)/robots/\(robotID)")
        #expect(created.json?["robot"]?["login_name"] == .string("web+ci"))
        #expect(created.json?["robot"]?["actions"] == .array(["pull", "push"]))

        let listed = await fixture.send(.get, "/api/v1/teams/\(id)/robots", headers: Self.asAlice(fixture))
        #expect(listed.header("X-Total-Count") == "1")
        #expect(!String(decoding: listed.response.body, as: UTF8.self).contains(token))
        let shown = await fixture.send(.get, "/api/v1/teams/\(id)/robots/\(robotID)", headers: Self.asAlice(fixture))
        #expect(shown.json?["revoked_at"] == .null)
        #expect(TeamResources.robotSchema.problems(in: try #require(shown.json)).isEmpty)

        let (_, bobToken) = try await Self.user(fixture, "bob")
        #expect(
            await fixture.send(.get, "/api/v1/teams/\(id)/robots", headers: APIFixture.bearer(bobToken)).status == 403)
        let duplicate = await fixture.send(
            .post, "/api/v1/teams/\(id)/robots", headers: Self.asAlice(fixture),
            body: #"{"name":"ci","actions":["pull"],"expires_at":"\#(Self.inDays(1))"}"#)
        #expect(duplicate.errorCode == "ROBOT_NAME_TAKEN")

        #expect(
            await fixture.send(.delete, "/api/v1/teams/\(id)/robots/\(robotID)", headers: Self.asAlice(fixture)).status
                == 204)
        let revoked = await fixture.send(.get, "/api/v1/teams/\(id)/robots/\(robotID)", headers: Self.asAlice(fixture))
        #expect(revoked.json?["revoked_at"] != .null)
        #expect(
            await fixture.send(.get, "/api/v1/teams/\(id)/robots/999", headers: Self.asAlice(fixture)).status == 404)
    }

    @Test(
        "Robot creation refuses bad names, actions and expiries",
        arguments: [
            (#"{"name":"CI","actions":["pull"],"expires_at":"EXP"}"#, "ROBOT_INVALID_NAME"),
            (#"{"name":"ci","actions":["admin"],"expires_at":"EXP"}"#, "FIELD_INVALID"),
            (#"{"name":"ci","actions":[],"expires_at":"EXP"}"#, "ROBOT_INVALID_ACTIONS"),
            (#"{"name":"ci","actions":["pull"],"expires_at":"2001-01-01T00:00:00Z"}"#, "ROBOT_INVALID_EXPIRY"),
            (#"{"name":"ci","actions":["pull"],"expires_at":"2999-01-01T00:00:00Z"}"#, "ROBOT_INVALID_EXPIRY"),
            (#"{"name":"ci","actions":["pull"]}"#, "FIELD_REQUIRED"),
            (
                #"{"name":"ci","actions":["pull"],"expires_at":"EXP","namespaces":["elsewhere"]}"#,
                "ROBOT_INVALID_NAMESPACE"
            ),
        ])
    func refusesBadRobots(body: String, code: String) async throws {
        let fixture = try await APIFixture()
        let id = try await Self.team(fixture)
        let answer = await fixture.send(
            .post, "/api/v1/teams/\(id)/robots", headers: Self.asAlice(fixture),
            body: body.replacingOccurrences(of: "EXP", with: Self.inDays(7)))
        #expect(answer.status == 400)
        #expect(answer.errorCode == code)
    }

    /// An RFC 3339 time `days` from now.
    static func inDays(_ days: Int) -> String { Date().addingTimeInterval(Double(days) * 86_400).formatted(.iso8601) }
}

extension JSONValue {
    /// The element at `index` of an array, or nil.
    fileprivate func item(_ index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
