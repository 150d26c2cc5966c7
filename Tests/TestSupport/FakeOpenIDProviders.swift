import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import JOSE
import Synchronization

/// GitLab or Google as an OpenID provider on our own `HTTPServer` at 127.0.0.1, with each one's paths and
/// claims: discovery at `/.well-known/openid-configuration` (the issuer is the fake's root), a JWKS of one
/// RSA key, the authorize, token (codes and refresh tokens, answered with an RS256 ID token each time),
/// userinfo and revocation endpoints.
///
/// - GitLab: `/oauth/authorize`, `/oauth/token`, `/oauth/userinfo`, `/oauth/discovery/keys`, `/oauth/revoke`;
///   `sub` the numeric id, `nickname`, `preferred_username`, `groups_direct` in the ID token, `groups` in
///   userinfo, and the role claims `https://gitlab.org/claims/groups/owner|maintainer|developer`.
/// - Google: `/o/oauth2/v2/auth`, `/token`, `/v1/userinfo`, `/oauth2/v3/certs`, `/revoke`; `azp`, `email`,
///   `email_verified`, and `hd` for Workspace accounts.
public final class FakeOpenIDProvider: Sendable {
    /// Whose shape the fake takes.
    public enum Flavor: Sendable {
        /// GitLab (gitlab.com or self-managed).
        case gitlab
        /// Google accounts.
        case google
    }

    /// The OAuth side: accounts, codes, tokens.
    public let authorization: FakeAuthorizationServer
    private let responder: Responder
    private let server: HTTPServer

    private final class Responder: HTTPResponder, Sendable {
        let authorization: FakeAuthorizationServer
        let flavor: Flavor
        let key: PrivateKey
        let port = Atomic<Int>(0)
        let revocations = Atomic<Int>(0)
        let now: @Sendable () -> Date

        init(
            authorization: FakeAuthorizationServer, flavor: Flavor, key: PrivateKey, now: @escaping @Sendable () -> Date
        ) {
            self.authorization = authorization
            self.flavor = flavor
            self.key = key
            self.now = now
        }

        var issuer: String { "http://127.0.0.1:\(port.load(ordering: .relaxed))" }

        var paths: (authorize: String, token: String, userinfo: String, keys: String, revoke: String) {
            switch flavor {
            case .gitlab:
                ("/oauth/authorize", "/oauth/token", "/oauth/userinfo", "/oauth/discovery/keys", "/oauth/revoke")
            case .google: ("/o/oauth2/v2/auth", "/token", "/v1/userinfo", "/oauth2/v3/certs", "/revoke")
            }
        }

        func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            let paths = self.paths
            switch request.path {
            case "/.well-known/openid-configuration":
                return FakeAuthorizationServer.json([
                    "issuer": issuer, "authorization_endpoint": issuer + paths.authorize,
                    "token_endpoint": issuer + paths.token, "userinfo_endpoint": issuer + paths.userinfo,
                    "jwks_uri": issuer + paths.keys, "revocation_endpoint": issuer + paths.revoke,
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                ])
            case paths.keys:
                var jwk = key.publicKey.jwk()
                jwk.kid = "fake-1"
                jwk.use = "sig"
                return .json(Array(try! JSONEncoder().encode(["keys": [jwk]])))
            case paths.authorize:
                return authorization.authorize(request)
            case paths.token:
                return authorization.token(request, style: .standard, expiresIn: 3600) { issued in
                    [
                        "id_token": self.idToken(for: issued.account, nonce: issued.nonce),
                        "scope": "openid email profile",
                    ]
                }
            case paths.userinfo:
                guard let account = authorization.account(for: request) else {
                    return FakeAuthorizationServer.json(["error": "invalid_token"], status: .unauthorized)
                }
                return FakeAuthorizationServer.json(userinfo(for: account))
            case paths.revoke:
                revocations.add(1, ordering: .relaxed)
                return HTTPResponse(status: .ok)
            default:
                return .text("not found", status: .notFound)
            }
        }

        /// The claims both the ID token and userinfo carry.
        private func profile(of account: FakeAccount) -> [String: any Sendable] {
            var claims: [String: any Sendable] = [
                "sub": account.subject, "email": account.email, "email_verified": account.emailVerified,
            ]
            if let name = account.name { claims["name"] = name }
            switch flavor {
            case .gitlab:
                claims["nickname"] = account.login
                claims["preferred_username"] = account.login
                for (role, groups) in account.roles { claims["https://gitlab.org/claims/groups/\(role)"] = groups }
            case .google:
                if let domain = account.hostedDomain { claims["hd"] = domain }
            }
            return claims
        }

        func userinfo(for account: FakeAccount) -> [String: any Sendable] {
            var claims = profile(of: account)
            if flavor == .gitlab { claims["groups"] = account.memberships }
            return claims
        }

        func idToken(for account: FakeAccount, nonce: String?) -> String {
            var claims = profile(of: account)
            let now = Int(self.now().timeIntervalSince1970)
            claims["iss"] = issuer
            claims["aud"] = authorization.clientID
            claims["iat"] = now
            claims["exp"] = now + 3600
            if let nonce { claims["nonce"] = nonce }
            switch flavor {
            case .gitlab:
                // GitLab lists only top-level direct memberships in the ID token; userinfo has them all.
                claims["groups_direct"] = account.memberships.filter { !$0.contains("/") }
                claims["auth_time"] = now
            case .google:
                claims["azp"] = authorization.clientID
            }
            let json = Array(try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
            return try! JWT.sign(claimsJSON: json, key: key, algorithm: .rs256, keyID: "fake-1")
        }
    }

    /// The issuer (and base URL), `http://127.0.0.1:<port>`.
    public var issuer: String { responder.issuer }
    /// Revocation requests received.
    public var revocations: Int { responder.revocations.load(ordering: .relaxed) }

    /// Starts a fake of `flavor` for one registered client, signing with `key` (RSA; made once per test
    /// process by the caller, since generating one is the slow part) and dating tokens by `now`.
    public init(
        _ flavor: Flavor, clientID: String, clientSecret: String, key: PrivateKey,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        // GitLab rotates refresh tokens; Google keeps one until it is revoked.
        authorization = FakeAuthorizationServer(
            clientID: clientID, clientSecret: clientSecret, rotatesRefreshTokens: flavor == .gitlab)
        responder = Responder(authorization: authorization, flavor: flavor, key: key, now: now)
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: responder,
            logger: Logger(label: "fake-openid", level: .error))
        responder.port.store(try server.start(), ordering: .relaxed)
    }

    /// Stops the server.
    public func stop() async { await server.shutdown(gracePeriod: .milliseconds(200)) }
}
