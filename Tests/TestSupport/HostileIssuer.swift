import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import JOSE
import Synchronization

/// An OpenID provider written for the tests, on our own `HTTPServer` at 127.0.0.1, that answers whatever the
/// test scripts: a discovery document (with another issuer, a `jwks_uri` on another origin), a JWKS of keys
/// it holds (rotated at will), a JWKS endpoint that hangs, a token answer carrying any ID token (`alg: none`,
/// HS256 with the client secret, wrong `aud`, …) and a userinfo answer. It counts the fetches it served, so
/// tests see how often a relying party came back for keys.
///
/// Paths: `/.well-known/openid-configuration`, `/jwks`, `/authorize` (never fetched by the relying party),
/// `/token`, `/userinfo`, `/revoke`, `/end-session`.
public final class HostileIssuer: Sendable {
    /// A key the issuer signs with and (when published) lists in its JWKS.
    public struct SigningKey: Sendable {
        /// The `kid` written in the JWKS and in token headers; nil writes neither.
        public var keyID: String?
        /// The private key.
        public var key: PrivateKey
        /// The `alg` the JWKS entry names, if any.
        public var algorithm: String?

        /// Creates a key entry.
        public init(keyID: String?, key: PrivateKey, algorithm: String? = nil) {
            self.keyID = keyID
            self.key = key
            self.algorithm = algorithm
        }
    }

    /// What the issuer answers; tests change it between requests with ``update(_:)``.
    public struct Script: Sendable {
        /// The `issuer` of the discovery document; nil writes the real one.
        public var discoveryIssuer: String?
        /// The `jwks_uri` of the discovery document; nil writes the issuer's own `/jwks`.
        public var jwksURI: String?
        /// The keys the JWKS lists.
        public var publishedKeys: [SigningKey] = []
        /// Whether `/jwks` never answers (until the issuer stops).
        public var hangJWKS = false
        /// `Cache-Control` of the JWKS answer, if any.
        public var jwksCacheControl: String?
        /// The status and JSON body of the next `/token` answers.
        public var tokenAnswer: (status: Int, body: String) = (500, #"{"error":"server_error"}"#)
        /// The JSON body of `/userinfo` answers (alice's `sub` alone by default); nil answers 404.
        public var userinfo: String? = #"{"sub":"alice"}"#
        /// The status of `/revoke` answers.
        public var revokeStatus = 200
    }

    private struct Counters {
        var discovery = 0
        var jwks = 0
        var token = 0
        var userinfo = 0
        var revoke = 0
        var tokenForms: [String] = []
    }

    private final class Responder: HTTPResponder, Sendable {
        let script = Mutex(Script())
        let counters = Mutex(Counters())
        let stopped = Atomic<Bool>(false)
        let port = Atomic<Int>(0)

        var issuer: String { "http://127.0.0.1:\(port.load(ordering: .relaxed))" }

        func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            let script = self.script.withLock { $0 }
            switch request.path {
            case "/.well-known/openid-configuration":
                counters.withLock { $0.discovery += 1 }
                let issuer = self.issuer
                let document: [String: String] = [
                    "issuer": script.discoveryIssuer ?? issuer, "authorization_endpoint": issuer + "/authorize",
                    "token_endpoint": issuer + "/token", "jwks_uri": script.jwksURI ?? issuer + "/jwks",
                    "userinfo_endpoint": issuer + "/userinfo", "revocation_endpoint": issuer + "/revoke",
                    "end_session_endpoint": issuer + "/end-session",
                ]
                return .json(Array(try! JSONEncoder().encode(document)))
            case "/jwks":
                counters.withLock { $0.jwks += 1 }
                if script.hangJWKS {
                    // A hung endpoint: hold the request until the issuer stops (the client's timeout ends it).
                    while !stopped.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(50)) }
                    return HTTPResponse(status: HTTPStatus(code: 503))
                }
                let keys = script.publishedKeys.map { entry -> JWK in
                    var jwk = entry.key.publicKey.jwk()
                    jwk.kid = entry.keyID
                    jwk.use = "sig"
                    jwk.alg = entry.algorithm
                    return jwk
                }
                var response = HTTPResponse.json(Array(try! JSONEncoder().encode(["keys": keys])))
                if let control = script.jwksCacheControl { response.headers.add(name: "Cache-Control", value: control) }
                return response
            case "/token":
                counters.withLock {
                    $0.token += 1
                    $0.tokenForms.append(String(decoding: request.body, as: UTF8.self))
                }
                return .json(Array(script.tokenAnswer.body.utf8), status: HTTPStatus(code: script.tokenAnswer.status))
            case "/userinfo":
                counters.withLock { $0.userinfo += 1 }
                guard let userinfo = script.userinfo else { return HTTPResponse(status: HTTPStatus(code: 404)) }
                return .json(Array(userinfo.utf8))
            case "/revoke":
                counters.withLock { $0.revoke += 1 }
                return HTTPResponse(status: HTTPStatus(code: script.revokeStatus))
            default:
                return HTTPResponse(status: HTTPStatus(code: 404))
            }
        }
    }

    private let responder = Responder()
    private let server: HTTPServer

    /// The issuer URL, `http://127.0.0.1:<port>`.
    public var issuer: String { responder.issuer }
    /// The port.
    public var port: Int { responder.port.load(ordering: .relaxed) }
    /// Discovery documents served.
    public var discoveryFetches: Int { responder.counters.withLock { $0.discovery } }
    /// JWKS requests received (a hung one included).
    public var jwksFetches: Int { responder.counters.withLock { $0.jwks } }
    /// Token requests received.
    public var tokenRequests: Int { responder.counters.withLock { $0.token } }
    /// The form bodies of the token requests, in order (to see PKCE verifiers and grant types).
    public var tokenForms: [String] { responder.counters.withLock { $0.tokenForms } }
    /// Userinfo requests received.
    public var userinfoRequests: Int { responder.counters.withLock { $0.userinfo } }
    /// Revocation requests received.
    public var revocations: Int { responder.counters.withLock { $0.revoke } }

    /// Starts an issuer publishing `keys`, listening at 127.0.0.1 on a port of the kernel's choosing.
    public init(keys: [SigningKey]) throws {
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: responder,
            logger: Logger(label: "hostile-issuer", level: .error))
        responder.script.withLock { $0.publishedKeys = keys }
        responder.port.store(try server.start(), ordering: .relaxed)
    }

    /// Changes what the issuer answers from the next request on.
    public func update(_ change: (inout Script) -> Void) { responder.script.withLock { change(&$0) } }

    /// Stops the server (a hung request is released first).
    public func stop() async {
        responder.stopped.store(true, ordering: .relaxed)
        await server.shutdown(gracePeriod: .milliseconds(200))
    }

    // MARK: - Tokens

    /// The claims of a good ID token for `clientID` at `now`: `iss` this issuer, `sub`, `aud`, `iat`, `exp` in
    /// an hour, and `nonce` when given. Tests change members to make bad ones.
    public func claims(
        subject: String = "alice", clientID: String, nonce: String?, now: Date, lifetime: TimeInterval = 3600
    ) -> [String: any Sendable] {
        var claims: [String: any Sendable] = [
            "iss": issuer, "sub": subject, "aud": clientID, "iat": Int(now.timeIntervalSince1970),
            "exp": Int(now.timeIntervalSince1970 + lifetime),
        ]
        if let nonce { claims["nonce"] = nonce }
        return claims
    }

    /// A compact JWS of `claims` signed with `key` (by default RS256 for RSA, ES256 for EC), its `kid` in the
    /// header.
    public static func sign(
        _ claims: [String: any Sendable], with key: SigningKey, algorithm: SigningAlgorithm? = nil
    ) -> String {
        let algorithm = algorithm ?? (key.key.kind == .ecP256 ? .es256 : .rs256)
        return try! JWT.sign(claimsJSON: json(claims), key: key.key, algorithm: algorithm, keyID: key.keyID)
    }

    /// An unsigned token: header `{"alg":"none"}`, empty signature.
    public static func unsigned(_ claims: [String: any Sendable]) -> String {
        Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(json(claims)) + "."
    }

    /// An HS256 token keyed with `secret` (the client secret: the algorithm-confusion forgery).
    public static func hs256(_ claims: [String: any Sendable], secret: String, keyID: String? = nil) -> String {
        let header = keyID.map { #"{"alg":"HS256","typ":"JWT","kid":"\#($0)"}"# } ?? #"{"alg":"HS256","typ":"JWT"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(json(claims))
        let mac = HMAC.sha256(key: Array(secret.utf8), message: Array(input.utf8))
        return input + "." + Base64URL.encode(mac)
    }

    /// A token answer carrying `idToken` (and a refresh token unless nil).
    public static func tokenAnswer(idToken: String?, refreshToken: String? = "refresh-1") -> String {
        var answer: [String: any Sendable] = ["access_token": "access-1", "token_type": "Bearer", "expires_in": 300]
        if let idToken { answer["id_token"] = idToken }
        if let refreshToken { answer["refresh_token"] = refreshToken }
        return String(decoding: json(answer), as: UTF8.self)
    }

    /// The JSON bytes of a claims dictionary (keys sorted, so runs are alike).
    public static func json(_ object: [String: any Sendable]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}
