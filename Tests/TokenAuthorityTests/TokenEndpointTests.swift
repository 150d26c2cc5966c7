import Authorization
import CryptoCore
import Foundation
import HTTPCore
import IdentityCore
import Storage
import Testing

@testable import TokenAuthority

private typealias Fixture = EndpointFixture

/// Providers put before the stored-password provider in tests that script an outcome for one user.
private func scripted(
    _ id: ProviderID, for username: String,
    _ outcome: @escaping @Sendable (PasswordCredentials) throws -> PasswordOutcome
) -> @Sendable (any Store, [String: User]) -> [any PasswordAuthenticating] {
    { _, _ in
        [ScriptedProvider(id) { credentials in credentials.username == username ? try outcome(credentials) : .notMine }]
    }
}

@Suite struct TokenEndpointGetTests {
    @Test func aLoginWithoutScopeAnswers200WithATokenGrantingNothing() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            // skopeo login: account and service, no scope.
            let response = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(token.access.isEmpty)
            #expect(token.refreshToken == nil)
            #expect(token.scope == nil)
            #expect(response.text.contains("\"access\"") == false)
        }
    }

    @Test func goodCredentialsAreGrantedWhatThePolicyAllowsOfEachScope() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: Accounts.alicePassword,
                scopes: [
                    "repository:alice/demo:pull,push", "repository:bob/secret:pull,push",
                    "repository:opensource/tool:pull,push", "repository:internal/app:pull",
                    "repository:registry/busybox:pull",
                ])
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(
                token.grants == [
                    "repository:alice/demo": ["pull", "push"], "repository:opensource/tool": ["pull"],
                    "repository:internal/app": ["pull"], "repository:registry/busybox": ["pull"],
                ])
            // Actions come out in the registry's order, and a scope granted nothing is left out.
            #expect(
                token.access.first == AccessClaim(type: "repository", name: "alice/demo", actions: ["pull", "push"]))
            #expect(!token.access.contains { $0.name == "bob/secret" })
        }
    }

    @Test func anAnonymousRequestGetsPullOfPublicNamespacesOnly() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get([
                ("scope", "repository:opensource/tool:pull,push"), ("scope", "repository:alice/demo:pull"),
                ("scope", "repository:internal/app:pull"), ("service", Fixture.service),
            ])
            let token = try fixture.verifiedToken(response, subject: "")
            #expect(token.grants == ["repository:opensource/tool": ["pull"]])
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.actorName == nil && record.event.actorID == nil)
        }
    }

    @Test func anonymousPullCanBeSwitchedOff() async throws {
        try await Fixture.with(authorization: AuthorizationSettings(anonymousPull: false)) {
            (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get([
                ("scope", "repository:opensource/tool:pull"), ("service", Fixture.service),
            ])
            #expect(try fixture.verifiedToken(response, subject: "").access.isEmpty)
        }
    }

    @Test func repeatedScopeParametersAndReorderedDuplicatesAreMerged() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: Accounts.alicePassword,
                scopes: [
                    "repository:alice/demo:pull,push", "repository:alice/copy:pull",
                    "repository:alice/demo:push,pull", "repository:alice/copy:push",
                    "repository(plugin):alice/demo:pull",
                ])
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(
                token.access == [
                    AccessClaim(type: "repository", name: "alice/demo", actions: ["pull", "push"]),
                    AccessClaim(type: "repository", name: "alice/copy", actions: ["pull", "push"]),
                ])
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.requested == ["repository:alice/demo:pull,push", "repository:alice/copy:pull,push"])
        }
    }

    @Test func unknownTypesAndActionsAreGrantedNothingWithoutFailingTheOthers() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: Accounts.alicePassword,
                scopes: ["whale:alice/demo:pull", "repository:alice/demo:fork,pull", "registry:other:*"])
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(token.grants == ["repository:alice/demo": ["pull"]])
        }
    }

    @Test func aMalformedScopeIsA400NamingItEvenBesideAValidOne() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            for bad in ["whale", "repository:Alice/Demo:pull", "repository:alice/demo:PULL", "Repo:x:pull"] {
                let response = await fixture.get(
                    as: "alice", password: Accounts.alicePassword, scopes: ["repository:alice/demo:pull", bad])
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.code == "BAD_REQUEST")
                #expect(error.message.contains("'\(bad)'"), "\(error.message)")
            }
            #expect(try fixture.auditRecords.allSatisfy { $0.event.outcome == .failure })
        }
    }

    @Test func aMalformedScopeIsEchoedSanitizedAndCut() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let hostile = "repository:\u{1B}[31m\(String(repeating: "x", count: 500)):pull"
            let response = await fixture.get([("scope", hostile), ("service", Fixture.service)])
            let error = try fixture.registryError(response, status: .badRequest)
            #expect(!error.message.contains("\u{1B}"))
            #expect(error.message.utf8.count < 250)
        }
    }

    @Test func anUnknownServiceIsA400NamingIt() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                [("account", "alice"), ("service", "elsewhere"), ("scope", "repository:alice/demo:pull")],
                authorization: Fixture.basic("alice", Accounts.alicePassword))
            let error = try fixture.registryError(response, status: .badRequest)
            #expect(error.code == "UNSUPPORTED_SERVICE")
            #expect(error.message.contains("'elsewhere'"))
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.service == "elsewhere" && record.event.outcome == .failure)
        }
    }

    @Test func aHostileServiceNameIsEchoedSanitizedAndCut() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get([("service", "evil\u{0}\n" + String(repeating: "é", count: 10_000))])
            let error = try fixture.registryError(response, status: .badRequest)
            #expect(!error.message.contains("\n") && !error.message.contains("\u{0}") && !error.message.contains("é"))
            #expect(error.message.utf8.count < 250)
        }
    }

    @Test func aMissingOrEmptyServiceIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            for query in [[("scope", "repository:alice/demo:pull")], [("service", "")]] {
                let response = await fixture.get(query, authorization: Fixture.basic("alice", Accounts.alicePassword))
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.message.contains("service"))
            }
        }
    }

    @Test func anAccountNamingAnotherUserIsRefusedWith401() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                [("account", "bob"), ("scope", "repository:bob/secret:pull"), ("service", Fixture.service)],
                authorization: Fixture.basic("alice", Accounts.alicePassword))
            let error = try fixture.registryError(response, status: .unauthorized)
            #expect(error.code == "UNAUTHORIZED")
            #expect(error.message.contains("account"))
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.outcome == .denied && record.granted.isEmpty)
            // An account matching the credentials, or none at all, is fine.
            let matching = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            _ = try fixture.verifiedToken(matching, subject: "alice")
            let none = await fixture.get(
                [("service", Fixture.service)], authorization: Fixture.basic("alice", Accounts.alicePassword))
            _ = try fixture.verifiedToken(none, subject: "alice")
        }
    }

    @Test func basicPasswordsWithColonsSpacesAndUTF8Work() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "carol", password: Accounts.carolPassword, scopes: ["repository:carol/app:push,pull"])
            let token = try fixture.verifiedToken(response, subject: "carol")
            #expect(token.grants == ["repository:carol/app": ["pull", "push"]])
            // The same password with the trailing space dropped is another password.
            let trimmed = await fixture.get(
                as: "carol", password: String(Accounts.carolPassword.dropLast()), scopes: [])
            _ = try fixture.registryError(trimmed, status: .unauthorized)
        }
    }

    @Test func theBasicSchemeIsCaseInsensitiveAndToleratesExtraSpaces() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let encoded = Data("alice:\(Accounts.alicePassword)".utf8).base64EncodedString()
            for header in ["basic \(encoded)", "BASIC   \(encoded)", "Basic \(encoded) "] {
                let response = await fixture.get([("service", Fixture.service)], authorization: header)
                _ = try fixture.verifiedToken(response, subject: "alice")
            }
        }
    }

    @Test func aMalformedAuthorizationHeaderIsRefusedWithAClearMessage() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let headers = [
                "Bearer abc.def.ghi",  // not Basic
                "Basic",  // no credentials
                "Basic !!!not-base64!!!",  // bad base64
                "Basic " + Data("alice-without-colon".utf8).base64EncodedString(),  // no colon
                "Basic " + Data([0x61, 0x3A, 0xFF, 0xFE]).base64EncodedString(),  // not UTF-8
                // A NUL, which crypt(3), libldap and libpq would take for the end ("alice" and her password).
                "Basic " + Data("alice\u{0}evil:\(Accounts.alicePassword)".utf8).base64EncodedString(),
                "Basic " + Data("alice:\(Accounts.alicePassword)\u{0}anything".utf8).base64EncodedString(),
            ]
            for header in headers {
                let response = await fixture.get([("service", Fixture.service)], authorization: header)
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.message.contains("Basic") && error.message.contains("username:password"), "\(header)")
            }
            #expect(try fixture.auditRecords.count == headers.count)
        }
    }

    @Test func aWrongPasswordIsA401InvalidUsernameOrPasswordInTheRegistryErrorShape() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: "wrong", scopes: ["repository:alice/demo:pull"])
            #expect(response.status == .unauthorized)
            #expect(response.text == #"{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}"#)
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.outcome == .denied)
            #expect(record.event.actorName == "alice" && record.event.actorID == nil)
            #expect(record.provider == "local")
            #expect(record.requested == ["repository:alice/demo:pull"] && record.granted.isEmpty)
        }
    }

    @Test func anUnknownUserOrEmptyPasswordGetsTheSameAnswerAsAWrongPassword() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let wrong = await fixture.get(as: "alice", password: "wrong", scopes: [])
            let unknown = await fixture.get(as: "nobody", password: "whatever", scopes: [])
            let empty = await fixture.get(as: "alice", password: "", scopes: [])
            #expect(unknown.status == wrong.status && unknown.text == wrong.text)
            #expect(empty.status == wrong.status && empty.text == wrong.text)
        }
    }

    @Test func aLockedAccountIsA401SayingUntilWhen() async throws {
        let until = Fixture.now.addingTimeInterval(900)
        try await Fixture.with(
            providers: scripted("local-lock", for: "alice") { _ in .rejected(.locked(until: until)) }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            let error = try fixture.registryError(response, status: .unauthorized)
            #expect(error.code == "UNAUTHORIZED")
            #expect(error.message.contains("locked") && error.message.contains("until 2027-01-15T08:15:00Z"))
            #expect(try fixture.auditRecords.last?.provider == "local-lock")
        }
    }

    @Test func aRateLimitedClientGets429WithRetryAfter() async throws {
        try await Fixture.with(
            providers: scripted("local-rl", for: "alice") { _ in .rejected(.rateLimited(retryAfterSeconds: 42)) }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            let error = try fixture.registryError(response, status: .tooManyRequests)
            #expect(response.headers["Retry-After"] == "42")
            #expect(error.code == "TOOMANYREQUESTS")
            #expect(error.message.contains("42 seconds"))
            #expect(try fixture.auditRecords.last?.event.outcome == .denied)
        }
    }

    @Test func anAddressOverTheChainsLimitGets429WithRetryAfterAuditedOncePerWindow() async throws {
        try await Fixture.with(throttle: GuessingThrottle(limits: GuessingLimits(failures: 2, window: 60))) {
            (fixture: EndpointFixture) async throws -> Void in
            for name in ["nobody", "alice"] {
                let refused = await fixture.get(as: name, password: "wrong", scopes: [])
                _ = try fixture.registryError(refused, status: .unauthorized)
            }
            let before = try fixture.auditRecords.count
            for _ in 0..<3 {
                let response = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
                let error = try fixture.registryError(response, status: .tooManyRequests)
                #expect(response.headers["Retry-After"] == "60")
                #expect(error.code == "TOOMANYREQUESTS")
                #expect(error.message == "too many failed logins from this address; retry in 60 seconds")
            }
            let oauth = await fixture.post(
                "grant_type=password&service=\(Fixture.service)&username=alice&password=\(Accounts.alicePassword)")
            #expect(oauth.status == .tooManyRequests)
            #expect(oauth.headers["Retry-After"] == "60")
            let records = try fixture.auditRecords
            #expect(records.count == before + 1)
            #expect(records.last?.event.outcome == .denied)
            #expect(records.last?.event.clientIP == Fixture.clientAddress)
        }
    }

    @Test func aDisabledAccountIsA401WhetherTheProviderOrTheAccountSaysSo() async throws {
        try await Fixture.with(providers: scripted("local-off", for: "alice") { _ in .rejected(.disabled) }) {
            (fixture: EndpointFixture) async throws -> Void in
            let byProvider = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            #expect(try fixture.registryError(byProvider, status: .unauthorized).message == "account disabled")
            // dave's password is right, the provider vouches, but the stored account is disabled.
            let byAccount = await fixture.get(
                as: "dave", password: Accounts.davePassword, scopes: ["repository:dave/app:pull"])
            #expect(try fixture.registryError(byAccount, status: .unauthorized).message == "account disabled")
            #expect(try fixture.auditRecords.map(\.event.outcome) == [.denied, .denied])
        }
    }

    @Test func aFederatedIdentityWithoutALinkedAccountIsA401() async throws {
        try await Fixture.with(
            providers: scripted("corp-ldap", for: "erin") { _ in
                .authenticated(ExternalIdentity(provider: "corp-ldap", subject: "uuid-erin", username: "erin"))
            }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(as: "erin", password: "erin-pw", scopes: [])
            let error = try fixture.registryError(response, status: .unauthorized)
            #expect(error.message.contains("corp-ldap"))
        }
    }

    @Test func aProviderThatCannotDecideIsA503NamingIt() async throws {
        try await Fixture.with(
            providers: scripted("corp-ldap", for: "alice") { _ in
                throw ProviderError(.unavailable, provider: "corp-ldap", reason: "ldap.example:636 timed out")
            }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            let error = try fixture.registryError(response, status: .serviceUnavailable)
            #expect(error.code == "UNAVAILABLE")
            #expect(error.message.contains("identity provider corp-ldap unavailable"))
            // The detail is for the log, not the client.
            #expect(!response.text.contains("ldap.example"))
            #expect(fixture.logLines.lines.contains { $0.contains("ldap.example:636") })
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.outcome == .failure && record.provider == "corp-ldap")
        }
    }

    @Test func theResponseCarriesTokenAndAccessTokenAnIntegerExpiryAndAnRFC3339IssueTime() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(as: "bob", password: Accounts.bobPassword, scopes: [])
            _ = try fixture.verifiedToken(response, subject: "bob")
            let object = try response.jsonObject()
            #expect(Set(object.keys) == ["token", "access_token", "expires_in", "issued_at"])
            #expect(object["issued_at"] is String)
            let formatter = ISO8601DateFormatter()
            #expect(formatter.date(from: try #require(object["issued_at"] as? String)) == Fixture.now)
        }
    }

    @Test func offlineTokenTrueReturnsARefreshTokenOnlyWhenAuthenticated() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let login = await fixture.get(
                as: "alice", password: Accounts.alicePassword, scopes: [],
                extra: [("offline_token", "true"), ("client_id", "docker")])
            let token = try fixture.verifiedToken(login, subject: "alice")
            let refresh = try #require(token.refreshToken)
            #expect(refresh.hasPrefix(RefreshTokenService.prefix))
            #expect(
                try await fixture.refreshTokens.redeem(refresh, service: Fixture.service)
                    == .valid(fixture.users["alice"]!.id))

            let anonymous = await fixture.get([("service", Fixture.service), ("offline_token", "true")])
            #expect(try fixture.verifiedToken(anonymous, subject: "").refreshToken == nil)
            let notAsked = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: [])
            #expect(try fixture.verifiedToken(notAsked, subject: "alice").refreshToken == nil)
        }
    }

    @Test func theCatalogIsGrantedToAdminsOnly() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let admin = await fixture.get(as: "root", password: Accounts.rootPassword, scopes: ["registry:catalog:*"])
            #expect(try fixture.verifiedToken(admin, subject: "root").grants == ["registry:catalog": ["*"]])
            let user = await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: ["registry:catalog:*"])
            #expect(try fixture.verifiedToken(user, subject: "alice").access.isEmpty)
            let anonymous = await fixture.get([("scope", "registry:catalog:*"), ("service", Fixture.service)])
            #expect(try fixture.verifiedToken(anonymous, subject: "").access.isEmpty)
        }
    }

    @Test func anApplicationTokenRestrictionIntersectsWithTheUsersRights() async throws {
        let secret = "pat_restricted-token-secret-000000000000000"
        try await Fixture.with(
            providers: { _, users in
                [
                    ScriptedProvider.applicationToken(
                        of: users["alice"]!, secret: secret,
                        restriction: AccessRestriction(namespaces: ["alice", "opensource"], actions: ["pull"]))
                ]
            }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: secret,
                scopes: [
                    "repository:alice/demo:pull,push", "repository:opensource/tool:pull",
                    "repository:internal/app:pull", "repository:bob/secret:pull",
                ], extra: [("offline_token", "true")])
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(token.grants == ["repository:alice/demo": ["pull"], "repository:opensource/tool": ["pull"]])
            // A refresh token would act with alice's full rights and outlive the application token.
            #expect(token.refreshToken == nil)
            #expect(try fixture.auditRecords.last?.provider == "application-tokens")
        }
    }

    @Test func anUnrestrictedApplicationTokenGetsNoRefreshTokenEither() async throws {
        let secret = "pat_unrestricted-token-secret-00000000000000"
        try await Fixture.with(
            providers: { _, users in [ScriptedProvider.applicationToken(of: users["alice"]!, secret: secret)] }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.get(
                as: "alice", password: secret, scopes: ["repository:alice/demo:pull"],
                extra: [("offline_token", "true")])
            let token = try fixture.verifiedToken(response, subject: "alice")
            // A refresh token would survive the application token's revocation.
            #expect(token.refreshToken == nil)
        }
    }
}

@Suite struct TokenEndpointPostTests {
    @Test func aPasswordGrantIssuesATokenWithTheGrantedScope() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "alice"), ("password", Accounts.alicePassword),
                    ("service", Fixture.service), ("client_id", "docker"),
                    ("scope", "repository:alice/demo:pull,push"), ("scope", "repository:bob/secret:pull"),
                ]))
            let token = try fixture.verifiedToken(response, subject: "alice")
            #expect(token.grants == ["repository:alice/demo": ["pull", "push"]])
            #expect(token.scope == "repository:alice/demo:pull,push")
            #expect(token.refreshToken == nil)
        }
    }

    @Test func aPasswordGrantWithOfflineAccessReturnsARefreshTokenThatWorks() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let login = await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "carol"), ("password", Accounts.carolPassword),
                    ("service", Fixture.service), ("access_type", "offline"), ("client_id", "docker"),
                ]))
            let refresh = try #require(try fixture.verifiedToken(login, subject: "carol").refreshToken)

            let exchanged = await fixture.post(
                formBody([
                    ("client_id", "containers/image"), ("grant_type", "refresh_token"), ("refresh_token", refresh),
                    ("scope", "repository:carol/app:pull,push"), ("service", Fixture.service),
                ]))
            let token = try fixture.verifiedToken(exchanged, subject: "carol")
            #expect(token.grants == ["repository:carol/app": ["pull", "push"]])
            #expect(token.refreshToken == nil)  // not rotated: docker keeps the first one
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.provider == "refresh-token" && record.event.actorName == "carol")
            #expect(record.event.actorID == fixture.users["carol"]!.id)
        }
    }

    @Test func aPasswordGrantWithBadCredentialsIsAnOAuthInvalidGrant() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "alice"), ("password", "wrong"),
                    ("service", Fixture.service),
                ]))
            #expect(response.status == .unauthorized)
            let object = try response.jsonObject()
            #expect(object["error"] as? String == "invalid_grant")
            #expect(object["error_description"] as? String == "invalid username or password")
            #expect(try fixture.registryError(response, status: .unauthorized).code == "UNAUTHORIZED")
        }
    }

    @Test func aPasswordGrantWithoutUsernameOrPasswordIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.post(
                formBody([("grant_type", "password"), ("username", "alice"), ("service", Fixture.service)]))
            #expect(try fixture.registryError(response, status: .badRequest).message.contains("username and password"))
            #expect(try response.jsonObject()["error"] as? String == "invalid_request")
        }
    }

    @Test func aRevokedRefreshTokenIsAnInvalidGrant() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let refresh = try await fixture.refreshTokens.issue(
                userID: fixture.users["alice"]!.id, service: Fixture.service)
            #expect(try await fixture.refreshTokens.revoke(refresh))
            let response = await fixture.post(
                formBody([("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service)]))
            _ = try fixture.registryError(response, status: .badRequest)
            #expect(try response.jsonObject()["error"] as? String == "invalid_grant")
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.outcome == .denied)
            // The audit log says why; the client is told only invalid_grant.
            #expect(record.reason?.hasSuffix("(revoked)") == true)
            #expect(!response.text.contains("(revoked)"))
        }
    }

    @Test func aRefreshTokenForAnotherServiceIsAnInvalidGrant() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let refresh = try await fixture.refreshTokens.issue(
                userID: fixture.users["alice"]!.id, service: Fixture.otherService)
            let response = await fixture.post(
                formBody([("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service)]))
            _ = try fixture.registryError(response, status: .badRequest)
            #expect(try response.jsonObject()["error"] as? String == "invalid_grant")
            #expect(try fixture.auditRecords.last?.reason?.contains("other_service") == true)
        }
    }

    @Test func aRefreshTokenOfADisabledUserIsRefused() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let alice = fixture.users["alice"]!
            let refresh = try await fixture.refreshTokens.issue(userID: alice.id, service: Fixture.service)
            try await fixture.store.write { try $0.setEnabled(false, for: alice.id) }
            let response = await fixture.post(
                formBody([("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service)]))
            _ = try fixture.registryError(response, status: .badRequest)
            #expect(try response.jsonObject()["error"] as? String == "invalid_grant")
        }
    }

    @Test func unknownMalformedAndMissingRefreshTokensAreRefused() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let unknown = RefreshTokenService.prefix + Base64URL.encode(SecureRandom.bytes(count: 32))
            for token in [unknown, "pcr_short", "not-a-token"] {
                let response = await fixture.post(
                    formBody([("grant_type", "refresh_token"), ("refresh_token", token), ("service", Fixture.service)]))
                _ = try fixture.registryError(response, status: .badRequest)
                #expect(try response.jsonObject()["error"] as? String == "invalid_grant")
            }
            let missing = await fixture.post(formBody([("grant_type", "refresh_token"), ("service", Fixture.service)]))
            #expect(try fixture.registryError(missing, status: .badRequest).message.contains("refresh_token"))
            #expect(try missing.jsonObject()["error"] as? String == "invalid_request")
        }
    }

    @Test func anUnsupportedOrMissingGrantTypeIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            for body in ["grant_type=client_credentials&service=\(Fixture.service)", "service=\(Fixture.service)"] {
                let response = await fixture.post(body)
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.message.contains("unsupported grant_type"))
                #expect(try response.jsonObject()["error"] as? String == "unsupported_grant_type")
            }
            let hostile = await fixture.post("grant_type=" + String(repeating: "%C3%A9%0A", count: 5000))
            let error = try fixture.registryError(hostile, status: .badRequest)
            #expect(!error.message.contains("\n") && !error.message.contains("é"))
            #expect(error.message.utf8.count < 250)
        }
    }

    @Test func aNonFormContentTypeIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let body = formBody([
                ("grant_type", "password"), ("username", "alice"), ("password", Accounts.alicePassword),
                ("service", Fixture.service),
            ])
            for contentType in ["application/json", "text/plain", nil] {
                let response = await fixture.post(body, contentType: contentType)
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.message.contains("application/x-www-form-urlencoded"))
            }
            // A charset parameter and another case are fine.
            let withCharset = await fixture.post(body, contentType: "Application/X-WWW-Form-URLEncoded; charset=UTF-8")
            _ = try fixture.verifiedToken(withCharset, subject: "alice")
        }
    }

    @Test func invalidPercentEncodingIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            for body in [
                "grant_type=password&username=alice&password=%zz&service=\(Fixture.service)",
                "grant_type=password&username=alice&password=abc%&service=\(Fixture.service)",
                "grant_type=password&username=alice&password=%FF%FE&service=\(Fixture.service)",
            ] {
                let response = await fixture.post(body)
                let error = try fixture.registryError(response, status: .badRequest)
                #expect(error.message.contains("URL encoding"))
            }
        }
    }

    @Test func spaceSeparatedScopesInOnePostScopeValueAreEachDecided() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let refresh = try await fixture.refreshTokens.issue(
                userID: fixture.users["bob"]!.id, service: Fixture.service)
            // docker joins scopes with spaces; `+` and `%20` both mean a space in a form.
            for joined in [
                "repository:bob/app:pull,push+repository:opensource/tool:push+repository:alice/demo:pull",
                "repository:bob/app:pull,push%20repository:opensource/tool:push%20repository:alice/demo:pull",
            ] {
                let response = await fixture.post(
                    "grant_type=refresh_token&refresh_token=\(refresh)&client_id=docker&service=\(Fixture.service)&scope=\(joined)"
                )
                let token = try fixture.verifiedToken(response, subject: "bob")
                #expect(
                    token.grants == ["repository:bob/app": ["pull", "push"], "repository:opensource/tool": ["push"]])
                #expect(token.scope == "repository:bob/app:pull,push repository:opensource/tool:push")
            }
        }
    }

    @Test func aPostWithAnUnknownServiceIsA400() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let response = await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "alice"), ("password", Accounts.alicePassword),
                    ("service", "elsewhere"),
                ]))
            #expect(try fixture.registryError(response, status: .badRequest).code == "UNSUPPORTED_SERVICE")
            #expect(try response.jsonObject()["error"] as? String == "invalid_request")
        }
    }
}

@Suite struct TokenEndpointAuditTests {
    /// A mix of every kind of request, good and bad, with the outcome each must be audited with.
    private func exercise(_ fixture: EndpointFixture) async throws -> [AuditOutcome] {
        let refresh = try await fixture.refreshTokens.issue(
            userID: fixture.users["alice"]!.id, service: Fixture.service)
        var expected: [AuditOutcome] = []
        func note(_ response: HTTPResponse, _ outcome: AuditOutcome) { expected.append(outcome) }

        note(
            await fixture.get(as: "alice", password: Accounts.alicePassword, scopes: ["repository:alice/demo:pull"]),
            .success)
        note(
            await fixture.get(
                as: "alice", password: Accounts.alicePassword, scopes: [], extra: [("offline_token", "true")]),
            .success)
        note(await fixture.get([("scope", "repository:opensource/tool:pull"), ("service", Fixture.service)]), .success)
        note(await fixture.get(as: "alice", password: Accounts.bobPassword, scopes: ["repository:bob/x:pull"]), .denied)
        note(await fixture.get(as: "carol", password: Accounts.carolPassword + "x", scopes: []), .denied)
        note(await fixture.get(as: "dave", password: Accounts.davePassword, scopes: []), .denied)
        note(
            await fixture.get(
                [("account", "bob"), ("service", Fixture.service)],
                authorization: Fixture.basic("alice", Accounts.alicePassword)), .denied)
        note(
            await fixture.get([("service", "nope")], authorization: Fixture.basic("alice", Accounts.alicePassword)),
            .failure)
        note(await fixture.get([("scope", "bad"), ("service", Fixture.service)]), .failure)
        note(await fixture.get([("service", Fixture.service)], authorization: "Basic %%%"), .failure)
        note(
            await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "alice"), ("password", Accounts.alicePassword),
                    ("service", Fixture.service), ("access_type", "offline"),
                ])), .success)
        note(
            await fixture.post(
                formBody([
                    ("grant_type", "password"), ("username", "carol"), ("password", Accounts.alicePassword),
                    ("service", Fixture.service),
                ])), .denied)
        note(
            await fixture.post(
                formBody([("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service)])),
            .success)
        note(
            await fixture.post(
                formBody([
                    ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.otherService),
                ])), .denied)
        note(
            await fixture.post("grant_type=password&password=%zz", contentType: "application/x-www-form-urlencoded"),
            .failure)
        note(
            await fixture.post(formBody([("password", Accounts.alicePassword)]), contentType: "application/json"),
            .failure)
        note(await fixture.post(formBody([("grant_type", "magic"), ("service", Fixture.service)])), .failure)
        return expected
    }

    @Test func everyRequestWritesExactlyOneAuditEventWithItsOutcome() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            let expected = try await exercise(fixture)
            let records = try fixture.auditRecords
            #expect(records.count == expected.count)
            #expect(records.map(\.event.outcome) == expected)
            #expect(records.allSatisfy { $0.event.action == TokenRequestAudit.action })
            #expect(records.allSatisfy { $0.event.clientIP == Fixture.clientAddress })
            #expect(records.allSatisfy { $0.event.time == Fixture.now })
            #expect(records.filter { $0.event.outcome != .success }.allSatisfy { $0.reason != nil })
            #expect(records.filter { $0.event.outcome == .success }.allSatisfy { $0.reason == nil })
        }
    }

    @Test func theAuditEventNamesTheRequestedAndGrantedScopes() async throws {
        try await Fixture.with { (fixture: EndpointFixture) async throws -> Void in
            _ = await fixture.get(
                as: "alice", password: Accounts.alicePassword,
                scopes: [
                    "repository:alice/demo:push,pull", "repository:bob/secret:pull",
                    "repository:opensource/t:pull,push",
                ])
            let record = try #require(try fixture.auditRecords.last)
            #expect(record.event.outcome == .success)
            #expect(record.event.actorName == "alice" && record.event.actorID == fixture.users["alice"]!.id)
            #expect(record.event.target == "service:\(Fixture.service)")
            #expect(record.provider == "local" && record.service == Fixture.service)
            #expect(
                record.requested == [
                    "repository:alice/demo:pull,push", "repository:bob/secret:pull",
                    "repository:opensource/t:pull,push",
                ])
            #expect(record.granted == ["repository:alice/demo:pull,push", "repository:opensource/t:pull"])
        }
    }

    @Test func noSecretAppearsInAuditEventsErrorBodiesOrLogs() async throws {
        try await Fixture.with(
            providers: scripted("corp-ldap", for: "erin") { _ in
                throw ProviderError(.unavailable, provider: "corp-ldap", reason: "down")
            }
        ) { (fixture: EndpointFixture) async throws -> Void in
            let refresh = try await fixture.refreshTokens.issue(
                userID: fixture.users["alice"]!.id, service: Fixture.service)
            let erinPassword = "erin-Secret-Zz9"
            var errorBodies: [String] = []
            func collect(_ response: HTTPResponse) {
                if response.status != .ok { errorBodies.append(response.text) }
            }
            collect(await fixture.get(as: "alice", password: Accounts.alicePassword + "!", scopes: []))
            collect(await fixture.get(as: "carol", password: Accounts.carolPassword + "!", scopes: []))
            collect(await fixture.get(as: "erin", password: erinPassword, scopes: []))
            collect(
                await fixture.get(
                    [("account", "bob"), ("service", Fixture.service)],
                    authorization: Fixture.basic("alice", Accounts.alicePassword)))
            collect(
                await fixture.get(
                    [("service", "nope")], authorization: Fixture.basic("alice", Accounts.alicePassword)))
            collect(
                await fixture.post(
                    formBody([
                        ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.otherService),
                    ])))
            collect(
                await fixture.post(
                    formBody([
                        ("grant_type", "password"), ("username", "alice"), ("password", Accounts.alicePassword),
                        ("service", "nope"),
                    ])))
            collect(
                await fixture.post(
                    formBody([
                        ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", Fixture.service),
                    ])
                ))
            collect(
                await fixture.get(
                    as: "alice", password: Accounts.alicePassword, scopes: [], extra: [("offline_token", "true")]))
            #expect(errorBodies.count == 7)

            let secrets = [
                Accounts.alicePassword, Accounts.carolPassword, erinPassword, refresh,
                String(refresh.dropFirst(RefreshTokenService.prefix.count)),
            ]
            let audited = fixture.audit.events.map { "\($0)" }
            #expect(audited.count == 9)
            for secret in secrets {
                #expect(!audited.contains { $0.contains(secret) }, "a secret reached the audit log")
                #expect(!errorBodies.contains { $0.contains(secret) }, "a secret reached an error body")
                #expect(!fixture.logLines.lines.contains { $0.contains(secret) }, "a secret reached the log")
            }
        }
    }
}
