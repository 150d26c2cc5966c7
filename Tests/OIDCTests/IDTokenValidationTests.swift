import CryptoCore
import Foundation
import IdentityCore
import JOSE
import OAuth2
import TestSupport
import Testing

/// The ID token checks alone, with keys handed in and a fixed clock.
@Suite("ID token validation refuses every forgery and bad claim with a reason naming the check")
struct IDTokenValidationTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let issuer = "https://sso.example.org"
    static let requirements = IDTokenRequirements(issuer: issuer, clientID: TestClient.id)

    static func claims(_ change: (inout [String: any Sendable]) -> Void = { _ in }) -> [String: any Sendable] {
        var claims: [String: any Sendable] = [
            "iss": issuer, "sub": "alice", "aud": TestClient.id, "iat": Int(now.timeIntervalSince1970),
            "exp": Int(now.timeIntervalSince1970) + 3600, "nonce": "n-1",
        ]
        change(&claims)
        return claims
    }

    static func verify(
        _ token: String, keys: [HostileIssuer.SigningKey] = [IssuerKeys.first], nonce: String? = "n-1",
        requirements: IDTokenRequirements = requirements
    ) async throws -> VerifiedIDToken {
        try await VerifiedIDToken.verify(
            token, requirements: requirements, expectedNonce: nonce, now: now, provider: "sso"
        ) { keyID, _ in
            keys.filter { keyID == nil || $0.keyID == keyID }.map(\.key.publicKey)
        }
    }

    @Test("A good token verifies and keeps its claims")
    func goodTokenVerifies() async throws {
        let token = HostileIssuer.sign(Self.claims { $0["groups"] = ["devs"] }, with: IssuerKeys.first)
        let verified = try await Self.verify(token)
        #expect(verified.subject == "alice")
        #expect(verified.claims["groups"]?.strings == ["devs"])
        #expect(verified.compact == token)
    }

    /// A hostile token and the words its refusal must contain.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var token: @Sendable () -> String
        var reason: String
        var testDescription: String { name }
    }

    static let hostile: [Case] = [
        Case(name: "alg none", token: { HostileIssuer.unsigned(claims()) }, reason: "alg \"none\" is not allowed"),
        Case(
            name: "HS256 keyed with the client secret",
            token: { HostileIssuer.hs256(claims(), secret: TestClient.secret, keyID: "key-1") },
            reason: "alg \"HS256\" is not allowed"),
        Case(
            name: "signed by a key the issuer does not publish",
            token: { HostileIssuer.sign(claims(), with: IssuerKeys.stranger) }, reason: "signature does not verify"),
        Case(
            name: "wrong aud",
            token: { HostileIssuer.sign(claims { $0["aud"] = "another-client" }, with: IssuerKeys.first) },
            reason: "aud"),
        Case(
            name: "several audiences without azp",
            token: { HostileIssuer.sign(claims { $0["aud"] = [TestClient.id, "other"] }, with: IssuerKeys.first) },
            reason: "azp"),
        Case(
            name: "azp of another client",
            token: {
                HostileIssuer.sign(
                    claims {
                        $0["aud"] = [TestClient.id, "other"]
                        $0["azp"] = "other"
                    }, with: IssuerKeys.first)
            }, reason: "azp"),
        Case(
            name: "wrong iss",
            token: { HostileIssuer.sign(claims { $0["iss"] = "https://sso.example.org/" }, with: IssuerKeys.first) },
            reason: "iss \"https://sso.example.org/\" is not the configured issuer"),
        Case(
            name: "wrong nonce", token: { HostileIssuer.sign(claims { $0["nonce"] = "n-2" }, with: IssuerKeys.first) },
            reason: "nonce"),
        Case(
            name: "no nonce", token: { HostileIssuer.sign(claims { $0["nonce"] = nil }, with: IssuerKeys.first) },
            reason: "no nonce"),
        Case(
            name: "expired beyond the skew",
            token: {
                HostileIssuer.sign(claims { $0["exp"] = Int(now.timeIntervalSince1970) - 61 }, with: IssuerKeys.first)
            }, reason: "expired"),
        Case(
            name: "nbf in the future beyond the skew",
            token: {
                HostileIssuer.sign(claims { $0["nbf"] = Int(now.timeIntervalSince1970) + 120 }, with: IssuerKeys.first)
            }, reason: "not valid yet"),
        Case(
            name: "iat in the future beyond the skew",
            token: {
                HostileIssuer.sign(claims { $0["iat"] = Int(now.timeIntervalSince1970) + 120 }, with: IssuerKeys.first)
            }, reason: "issued in the future"),
        Case(
            name: "no exp", token: { HostileIssuer.sign(claims { $0["exp"] = nil }, with: IssuerKeys.first) },
            reason: "no exp"),
        Case(
            name: "no sub", token: { HostileIssuer.sign(claims { $0["sub"] = nil }, with: IssuerKeys.first) },
            reason: "no sub"),
        Case(name: "not a JWT", token: { "not.a.jwt" }, reason: "jwt.malformed"),
    ]

    @Test("A hostile token is refused naming what failed", arguments: hostile)
    func hostileTokenIsRefused(_ hostile: Case) async {
        let error = await providerError { _ = try await Self.verify(hostile.token()) }
        #expect(error?.code == .protocolViolation)
        #expect(error?.reason.contains(hostile.reason) == true, "\(error?.reason ?? "accepted")")
    }

    @Test("Times within the skew are accepted; the skew is configurable")
    func skewIsTolerated() async throws {
        let late = HostileIssuer.sign(
            Self.claims { $0["exp"] = Int(Self.now.timeIntervalSince1970) - 30 }, with: IssuerKeys.first)
        _ = try await Self.verify(late)
        var strict = Self.requirements
        strict.skew = .seconds(10)
        let error = await providerError { _ = try await Self.verify(late, requirements: strict) }
        #expect(error?.reason.contains("expired") == true)
    }

    @Test("A token without kid verifies by trying each published key")
    func tokenWithoutKeyIDTriesEachKey() async throws {
        let unnamed = HostileIssuer.SigningKey(keyID: nil, key: IssuerKeys.second.key)
        let token = HostileIssuer.sign(Self.claims(), with: unnamed)
        let verified = try await Self.verify(token, keys: [IssuerKeys.first, IssuerKeys.ec, IssuerKeys.second])
        #expect(verified.subject == "alice")
    }

    @Test("ES256 verifies when allowed and is refused when only RS256 is")
    func es256FollowsTheAllowList() async throws {
        let token = HostileIssuer.sign(Self.claims(), with: IssuerKeys.ec)
        var both = Self.requirements
        both.allowedAlgorithms = [.rs256, .es256]
        _ = try await Self.verify(token, keys: [IssuerKeys.ec], requirements: both)
        let error = await providerError { _ = try await Self.verify(token, keys: [IssuerKeys.ec]) }
        #expect(error?.reason.contains("alg \"ES256\" is not allowed") == true)
    }

    @Test("PS256 verifies when allowed and is refused when only RS256 is")
    func ps256FollowsTheAllowList() async throws {
        let token = HostileIssuer.sign(Self.claims(), with: IssuerKeys.first, algorithm: .ps256)
        var both = Self.requirements
        both.allowedAlgorithms = [.rs256, .ps256]
        _ = try await Self.verify(token, requirements: both)
        let error = await providerError { _ = try await Self.verify(token) }
        #expect(error?.reason.contains("alg \"PS256\" is not allowed") == true)
        let pkcs1 = HostileIssuer.sign(Self.claims(), with: IssuerKeys.first, algorithm: .rs256)
        let relabelled = pkcs1.split(separator: ".").dropFirst().joined(separator: ".")
        let header = Base64URL.encode(Array(#"{"alg":"PS256","kid":"key-1"}"#.utf8))
        let confused = await providerError { _ = try await Self.verify(header + "." + relabelled, requirements: both) }
        #expect(confused?.reason.contains("signature") == true, "an RS256 signature is not a PS256 one")
    }

    @Test("A refused alg costs no key lookup")
    func refusedAlgorithmFetchesNoKeys() async {
        let error = await providerError {
            _ = try await VerifiedIDToken.verify(
                HostileIssuer.unsigned(Self.claims()), requirements: Self.requirements, expectedNonce: "n-1",
                now: Self.now, provider: "sso"
            ) { _, _ in
                Issue.record("keys were looked up for an unsigned token")
                return []
            }
        }
        #expect(error?.code == .protocolViolation)
    }
}
