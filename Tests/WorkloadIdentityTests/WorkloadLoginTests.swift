import Authorization
import CryptoCore
import Foundation
import HTTPCore
import JOSE
import Storage
import TestSupport
import Testing
import TokenAuthority
import WorkloadIdentity

/// `docker login -u <policy> -p <JWT>` at the real token endpoint, against a loopback issuer.
@Suite struct WorkloadLoginTests {
    @Test func theRightRepositoryIDsAndRefAreGrantedTheIntersectionOfPolicyAndRequest() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let response = await fixture.get(
                on: router, username: "ci-acme-api", password: fixture.token(),
                scopes: [
                    "repository:acme/api:pull,push,delete", "repository:acme/api-web:pull", "repository:other/x:pull",
                ])
            let granted = try fixture.granted(response)
            #expect(granted.scopes == ["repository:acme/api-web:pull", "repository:acme/api:pull,push"])
            #expect(granted.refreshToken == nil, "no offline_token, no refresh token")
            let event = try #require(fixture.audit.workloadEvents.last)
            #expect(event.action == "workload.login" && event.outcome == .success && event.actorName == "ci-acme-api")
            let detail = try fixture.audit.lastWorkloadDetail()
            #expect(detail["policy"] as? String == "ci-acme-api" && detail["issuer"] as? String == "github")
            #expect(detail["repository"] as? String == "acme/api" && detail["repository_id"] as? String == "456789")
            #expect(detail["ref"] as? String == "refs/heads/main" && detail["run_id"] as? String == "9001")
            #expect(detail["jti"] as? String != nil && detail["failed"] == nil)
            #expect(
                detail["granted"] as? [String] == ["repository:acme/api:pull,push", "repository:acme/api-web:pull"])
            // The JWT is a credential: no event holds it whole.
            let compact = fixture.token()
            #expect(!fixture.audit.events.contains { ($0.detail ?? "").contains(compact.split(separator: ".")[2]) })
        }
    }

    @Test func grantsNeedAnExistingNamespaceAndDeleteNeedsDeletionEnabled() async throws {
        var authorization = AuthorizationSettings()
        authorization.deleteEnabled = false
        try await WorkloadFixture.with(authorization: authorization) { fixture in
            var settings = WorkloadFixture.settings(issuer: fixture.issuer.issuer, grant: [.pull, .push, .delete])
            settings.policies[0].grant.append(.init(namespace: "ghost", repositories: ["*"], actions: [.pull, .push]))
            let router = try fixture.endpoint(settings)
            let response = await fixture.get(
                on: router, username: "ci-acme-api", password: fixture.token(),
                scopes: ["repository:acme/api:pull,push,delete", "repository:ghost/app:pull,push"])
            #expect(try fixture.granted(response).scopes == ["repository:acme/api:pull,push"])
            // Once the namespace exists (the authorization generation moves), the next login gets it.
            _ = try await fixture.store.write { writer in
                let team = try writer.createTeam(name: "ghost")
                _ = try writer.createNamespace(name: "ghost", team: team.id, visibility: .private)
            }
            let again = await fixture.get(
                on: router, username: "ci-acme-api", password: fixture.token(), scopes: ["repository:ghost/app:pull"])
            #expect(try fixture.granted(again).scopes == ["repository:ghost/app:pull"])
        }
    }

    @Test func theIssuersKeysStayWarmAcrossLogins() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            for run in 0..<3 {
                let response = await fixture.get(
                    on: router, username: "ci-acme-api", password: fixture.token(["run_id": "\(run)"]))
                _ = try fixture.granted(response)
            }
            #expect(fixture.issuer.jwksFetches == 1 && fixture.issuer.discoveryFetches == 1)
        }
    }

    /// A refused token and the `failed` reason its audit entry must name.
    enum Refused: String, CaseIterable, Sendable {
        case recreatedRepository, featureBranch, pullRequestTarget, wrongAudience, expired, tooOld, algNone,
            hs256, unknownKeyID, strangersSignature, wrongIssuer, futureIssuedAt, missingClaim

        var failed: String {
            switch self {
            case .recreatedRepository: "require.repository_id"
            case .featureBranch: "match.ref"
            case .pullRequestTarget: "deny.event_name"
            case .wrongAudience: "token.audience"
            case .expired: "token.expired"
            case .tooOld: "token.too_old"
            case .algNone, .hs256: "token.algorithm"
            case .unknownKeyID: "token.unknown_key"
            case .strangersSignature: "token.signature"
            case .wrongIssuer: "token.issuer"
            case .futureIssuedAt: "token.not_yet_valid"
            case .missingClaim: "match.job_workflow_ref"
            }
        }

        func token(_ fixture: WorkloadFixture) async -> String {
            let now = Int(fixture.clock.now.timeIntervalSince1970)
            switch self {
            case .recreatedRepository: return fixture.token(["repository_id": "999999"])
            case .featureBranch: return fixture.token(["ref": "refs/heads/feature"])
            case .pullRequestTarget: return fixture.token(["event_name": "pull_request_target"])
            case .wrongAudience: return fixture.token(["aud": "https://github.com/acme"])
            case .expired: return fixture.token(["iat": now - 900, "nbf": now - 900, "exp": now - 600])
            case .tooOld: return fixture.token(["iat": now - 25 * 60, "nbf": now - 25 * 60, "exp": now + 600])
            case .algNone: return HostileIssuer.unsigned(fixture.claims())
            case .hs256: return HostileIssuer.hs256(fixture.claims(), secret: "any secret at all", keyID: "ci-key-1")
            case .unknownKeyID:
                let stranger = HostileIssuer.SigningKey(keyID: "stranger", key: TestKeys.ec)
                return HostileIssuer.sign(fixture.claims(), with: stranger)
            case .strangersSignature:
                let forged = HostileIssuer.SigningKey(
                    keyID: "ci-key-1", key: try! PrivateKey.generate(.rsa(bits: 2048)))
                return HostileIssuer.sign(fixture.claims(), with: forged)
            case .wrongIssuer: return fixture.token(["iss": "https://token.actions.githubusercontent.com"])
            case .futureIssuedAt: return fixture.token(["iat": now + 600, "nbf": now - 1])
            case .missingClaim:
                var claims = fixture.claims()
                claims["job_workflow_ref"] = nil
                return HostileIssuer.sign(claims, with: fixture.key)
            }
        }
    }

    @Test(arguments: Refused.allCases)
    func aRefusedTokenGets401AndItsFirstFailedConditionIsAudited(_ refused: Refused) async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let response = await fixture.get(
                on: router, username: "ci-acme-api", password: await refused.token(fixture))
            #expect(response.status == .unauthorized, "\(WorkloadFixture.text(response))")
            #expect(WorkloadFixture.text(response).contains(refused.failed))
            let event = try #require(fixture.audit.workloadEvents.last)
            #expect(event.action == "workload.login" && event.outcome == .denied)
            let detail = try fixture.audit.lastWorkloadDetail()
            #expect(detail["failed"] as? String == refused.failed)
            #expect(detail["policy"] as? String == "ci-acme-api" && detail["granted"] as? [String] == [])
            if refused.failed.hasPrefix("token.") {
                #expect(detail["repository_id"] == nil, "claims of an unverified token are not audited")
            } else {
                #expect(detail["repository"] as? String == "acme/api", "verified claims say who was refused")
            }
        }
    }

    @Test func anUnknownKeyIDRefetchesTheKeySetAtMostOncePerInterval() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            _ = try fixture.granted(await fixture.get(on: router, username: "ci-acme-api", password: fixture.token()))
            let stranger = HostileIssuer.SigningKey(keyID: "stranger", key: TestKeys.ec)
            // Within 30 s of the last fetch the unknown kid is refused without asking the issuer at all.
            #expect(
                await fixture.get(
                    on: router, username: "ci-acme-api", password: HostileIssuer.sign(fixture.claims(), with: stranger)
                ).status == .unauthorized)
            #expect(fixture.issuer.jwksFetches == 1)
            fixture.clock.advance(by: 31)
            for _ in 0..<5 {
                let response = await fixture.get(
                    on: router, username: "ci-acme-api", password: HostileIssuer.sign(fixture.claims(), with: stranger))
                #expect(response.status == .unauthorized)
            }
            #expect(fixture.issuer.jwksFetches == 2, "one warm fetch, one refetch for the unknown kid")
        }
    }

    @Test func aTokenPresentedAgainIsJudgedAgainAndIsVerifiedAnewOnceTheIssuersKeysChange() async throws {
        try await WorkloadFixture.with { fixture in
            fixture.issuer.update { $0.jwksCacheControl = "max-age=300" }
            let router = try fixture.endpoint()
            let now = Int(fixture.clock.now.timeIntervalSince1970)
            let token = fixture.token(["exp": now + 3600])
            for _ in 0..<3 {
                _ = try fixture.granted(await fixture.get(on: router, username: "ci-acme-api", password: token))
            }
            // The key set expires (after its 5 minutes) and the issuer now publishes another key under the same kid:
            // the token remembered as verified must be verified again, with the key published now.
            let successor = HostileIssuer.SigningKey(keyID: "ci-key-1", key: try PrivateKey.generate(.rsa(bits: 2048)))
            fixture.issuer.update { $0.publishedKeys = [successor] }
            fixture.clock.advance(by: 301)
            let rotated = await fixture.get(on: router, username: "ci-acme-api", password: token)
            #expect(rotated.status == .unauthorized)
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "token.signature")
            #expect(fixture.issuer.jwksFetches == 2, "the expired key set was fetched again")
        }
    }

    @Test func aUsersNameWithAJWTIsRefusedByThePasswordPath() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let response = await fixture.get(on: router, username: "alice", password: fixture.token())
            #expect(response.status == .unauthorized)
            #expect(fixture.audit.workloadEvents.isEmpty, "not a workload login")
            #expect(fixture.audit.events.last?.action == "token.issue" && fixture.audit.events.last?.outcome == .denied)
            // Alice's own password still works.
            _ = try fixture.granted(
                await fixture.get(
                    on: router, username: "alice", password: WorkloadFixture.alicePassword,
                    scopes: ["repository:alice/app:pull"]),
                subject: "alice")
        }
    }

    @Test(arguments: [("ci-acme-api", "hunter2"), ("ci-unknown", "jwt")])
    func aPolicyNameWithAPasswordAndAnUnknownPolicyTakeTheNormalPath(username: String, password: String)
        async throws
    {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let response = await fixture.get(
                on: router, username: username, password: password == "jwt" ? fixture.token() : password)
            #expect(response.status == .unauthorized)
            #expect(fixture.audit.workloadEvents.isEmpty)
            #expect(fixture.audit.events.last?.action == "token.issue")
        }
    }

    @Test func aSingleUseJTIIsRefusedTheSecondTimeOnEveryInstance() async throws {
        try await WorkloadFixture.with { fixture in
            let settings = WorkloadFixture.settings(issuer: fixture.issuer.issuer, jti: .singleUse)
            let first = try fixture.endpoint(settings), second = try fixture.endpoint(settings)
            let token = fixture.token()
            _ = try fixture.granted(await fixture.get(on: first, username: "ci-acme-api", password: token))
            for router in [first, second] {
                let replay = await fixture.get(on: router, username: "ci-acme-api", password: token)
                #expect(replay.status == .unauthorized)
                #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "token.jti_replayed")
            }
            // Another job's token (another jti) logs in.
            _ = try fixture.granted(
                await fixture.get(on: second, username: "ci-acme-api", password: fixture.token(["jti": "other"])))
            var withoutJTI = fixture.claims()
            withoutJTI["jti"] = nil
            let missing = await fixture.get(
                on: first, username: "ci-acme-api", password: HostileIssuer.sign(withoutJTI, with: fixture.key))
            #expect(missing.status == .unauthorized, "single use needs a jti")
        }
    }

    @Test func aReusableJTILogsInAgainUntilTheTokenExpires() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let token = fixture.token()
            for _ in 0..<2 {
                _ = try fixture.granted(await fixture.get(on: router, username: "ci-acme-api", password: token))
            }
            fixture.clock.advance(by: 301 + 60)
            let late = await fixture.get(on: router, username: "ci-acme-api", password: token)
            #expect(late.status == .unauthorized)
            #expect(try fixture.audit.lastWorkloadDetail()["failed"] as? String == "token.expired")
        }
    }

    @Test func theOAuthPasswordGrantAcceptsAJobTokenToo() async throws {
        try await WorkloadFixture.with { fixture in
            let router = try fixture.endpoint()
            let response = await fixture.post(
                on: router,
                [
                    ("grant_type", "password"), ("username", "ci-acme-api"), ("password", fixture.token()),
                    ("service", WorkloadFixture.service), ("scope", "repository:acme/api:push,pull"),
                    ("access_type", "offline"), ("client_id", "docker"),
                ])
            let granted = try fixture.granted(response)
            #expect(granted.scopes == ["repository:acme/api:pull,push"])
            #expect(granted.refreshToken?.hasPrefix("pcw_") == true)
        }
    }
}
