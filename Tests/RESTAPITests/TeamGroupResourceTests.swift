import Foundation
import HTTPCore
import RESTAPI
import Storage
import Testing

@Suite("REST API: a team's provider groups")
struct TeamGroupResourceTests {
    @Test("Owners name, list and remove provider groups; wildcards, repeats and non-owners are refused")
    func ownersNameProviderGroups() async throws {
        let fixture = try await APIFixture()
        let id = try await TeamResourceTests.team(fixture)
        let path = "/api/v1/teams/\(id)/groups"
        let added = await fixture.send(
            .post, path, headers: TeamResourceTests.asAlice(fixture),
            body: #"{"provider":"company-sso","group":"web-devs","role":"contributor"}"#)
        #expect(added.status == 201, "\(added)")
        let groupID = try #require(added.json?["id"]?.integerValue)
        #expect(added.header("Location") == "\(path)/\(groupID)")
        #expect(added.json?["created_by"] == .string("alice"))

        let refusals: [(String, Int, String)] = [
            (#"{"provider":"company-sso","group":"web-devs"}"#, 409, "TEAM_GROUP_ALREADY_MEMBER"),
            (#"{"provider":"company-sso","group":"web-*"}"#, 400, "TEAM_INVALID_GROUP"),
            (#"{"provider":"Company SSO","group":"x"}"#, 400, "TEAM_INVALID_GROUP"),
            (#"{"group":"x"}"#, 400, "FIELD_REQUIRED"),
        ]
        for (body, status, code) in refusals {
            let answer = await fixture.send(.post, path, headers: TeamResourceTests.asAlice(fixture), body: body)
            #expect(answer.status == status && answer.errorCode == code, "\(body): \(answer)")
        }
        let (_, bobToken) = try await TeamResourceTests.user(fixture, "bob")
        let stranger = await fixture.send(
            .post, path, headers: APIFixture.bearer(bobToken), body: #"{"provider":"company-sso","group":"x"}"#)
        #expect(stranger.status == 404 || stranger.status == 403, "\(stranger)")

        let listed = await fixture.send(.get, path, headers: TeamResourceTests.asAlice(fixture))
        #expect(String(decoding: listed.response.body, as: UTF8.self).contains(#""group":"web-devs""#))
        #expect(listed.header("X-Total-Count") == "1")
        let removed = await fixture.send(.delete, "\(path)/\(groupID)", headers: TeamResourceTests.asAlice(fixture))
        #expect(removed.status == 204)
        let again = await fixture.send(.delete, "\(path)/\(groupID)", headers: TeamResourceTests.asAlice(fixture))
        #expect(again.status == 404 && again.errorCode == "TEAM_GROUP_NOT_MEMBER")
    }
}
