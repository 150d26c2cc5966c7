import CryptoCore
import Foundation
import HTTPFetchingCore
import IdentityCore

/// A PKCE pair (RFC 7636): the verifier kept with the pending login, the S256 challenge sent to the provider.
public struct PKCE: Sendable, Hashable {
    /// The only method Portcullis sends: `plain` would hand the verifier to anyone who sees the URL.
    public static let method = "S256"
    /// 43 characters of base64url (32 random bytes), kept secret until the code exchange.
    public let verifier: String
    /// `BASE64URL(SHA256(verifier))`.
    public var challenge: String { Base64URL.encode(Digest.sha256(Array(verifier.utf8))) }

    /// A pair with the given verifier (tests, and the callback which gets it back from the pending login).
    public init(verifier: String) { self.verifier = verifier }

    /// A fresh pair from the secure random generator.
    public static func generate() -> PKCE { PKCE(verifier: Base64URL.encode(SecureRandom.bytes(count: 32))) }
}

/// How the client proves itself at the token and revocation endpoints (RFC 6749 §2.3.1).
public enum ClientAuthentication: String, Sendable, Hashable, CaseIterable {
    /// HTTP Basic with the form-encoded id and secret (the default every provider supports).
    case clientSecretBasic = "client_secret_basic"
    /// `client_id` and `client_secret` in the form body.
    case clientSecretPost = "client_secret_post"
}

/// Who the client is and how its requests are bounded.
public struct OAuth2ClientSettings: Sendable, CustomStringConvertible {
    /// The provider instance, for errors.
    public var provider: ProviderID
    /// The registered client id.
    public var clientID: String
    /// The client secret: never logged (`description` masks it).
    public var clientSecret: String
    /// How the secret is presented.
    public var authentication: ClientAuthentication
    /// The limit for each exchange with the provider.
    public var requestTimeout: Duration
    /// The limit for establishing each connection.
    public var connectTimeout: Duration
    /// The largest answer accepted from the provider, in bytes.
    public var maximumResponseBytes: Int

    /// Creates settings; the defaults bound every exchange to 10 s and 256 KiB.
    public init(
        provider: ProviderID, clientID: String, clientSecret: String,
        authentication: ClientAuthentication = .clientSecretBasic, requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5), maximumResponseBytes: Int = 256 << 10
    ) {
        self.provider = provider
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authentication = authentication
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// The settings with the secret masked.
    public var description: String {
        "OAuth2ClientSettings(provider: \(provider), clientID: \(clientID), clientSecret: ***, "
            + "authentication: \(authentication.rawValue))"
    }
}

/// A successful token endpoint answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). Holds secrets: never
/// log it (`description` masks them).
public struct TokenResponse: Sendable, CustomStringConvertible {
    /// The access token.
    public var accessToken: String
    /// The token type (`Bearer`).
    public var tokenType: String
    /// Seconds until the access token expires, if said.
    public var expiresIn: Int?
    /// A refresh token, if issued (refresh answers may omit it: keep the old one then).
    public var refreshToken: String?
    /// The compact ID token, if issued.
    public var idToken: String?
    /// The granted scope, if said.
    public var scope: String?

    /// Creates an answer.
    public init(
        accessToken: String, tokenType: String = "Bearer", expiresIn: Int? = nil, refreshToken: String? = nil,
        idToken: String? = nil, scope: String? = nil
    ) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.scope = scope
    }

    /// A log-safe summary.
    public var description: String {
        "TokenResponse(tokenType: \(tokenType), expiresIn: \(expiresIn.map(String.init) ?? "-"), "
            + "refreshToken: \(refreshToken == nil ? "-" : "***"), idToken: \(idToken == nil ? "-" : "***"))"
    }
}

/// A token endpoint's `error` answer (RFC 6749 §5.2): an outcome (the provider said no), not a failure.
public struct OAuth2Refusal: Sendable, Hashable, CustomStringConvertible {
    /// The `error` code (`invalid_grant`, `invalid_client`, …).
    public var error: String
    /// The `error_description`, if any (provider text: shown to administrators only, shortened).
    public var errorDescription: String?
    /// The HTTP status of the answer.
    public var status: Int

    /// Creates a refusal.
    public init(error: String, errorDescription: String? = nil, status: Int = 400) {
        self.error = error
        self.errorDescription = errorDescription
        self.status = status
    }

    /// `invalid_grant (Token is not active)`.
    public var description: String {
        errorDescription.map { "\(error) (\(Printable.short($0)))" } ?? error
    }
}

/// What the token endpoint decided.
public enum TokenOutcome: Sendable {
    /// Tokens were issued.
    case granted(TokenResponse)
    /// The provider refused with an OAuth2 `error`.
    case refused(OAuth2Refusal)
}

/// The OAuth2 client every redirect provider shares (RFC 6749, 7636, 7009): the authorization URL with PKCE
/// S256 and `state`, the code exchange, refresh and revocation, over the `HTTPFetching` port.
///
/// Every request is bounded (connect and total timeouts, a response size limit) and never follows redirects
/// (a token endpoint that redirects is misconfigured, and following would resend the secret). A transport
/// failure is `ProviderError(.unavailable)`; an answer that is not what the protocol says (non-JSON, missing
/// members, a status without an OAuth2 error) is `.protocolViolation` naming what was wrong; a provider's
/// `error` answer at the token endpoint is a `TokenOutcome.refused`, for the caller to judge.
public struct OAuth2Client: Sendable {
    /// Who the client is and the bounds of its requests.
    public let settings: OAuth2ClientSettings
    private let http: any HTTPFetching

    /// Creates a client sending through `http`.
    public init(settings: OAuth2ClientSettings, http: any HTTPFetching) {
        self.settings = settings
        self.http = http
    }

    // MARK: - Authorization request

    /// The URL that sends the browser to `endpoint`: `response_type=code`, the client id, `redirect_uri`,
    /// `scope`, `state`, the PKCE S256 challenge, then `extra` (`nonce`, `prompt`, …).
    ///
    /// - Throws: `ProviderError(.misconfigured)` when `endpoint` is not an absolute http(s) URL.
    public func authorizationURL(
        endpoint: String, redirectURI: String, state: String, scopes: [String], pkce: PKCE,
        extra: [(String, String)] = []
    ) throws -> URL {
        guard Origin(endpoint) != nil else {
            throw ProviderError(
                .misconfigured, provider: settings.provider,
                reason: "the authorization endpoint \(Printable.short(endpoint)) is not an absolute http(s) URL")
        }
        var pairs: [(String, String)] = [
            ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")), ("state", state), ("code_challenge", pkce.challenge),
            ("code_challenge_method", PKCE.method),
        ]
        pairs += extra
        guard let url = URL(string: FormEncoding.appending(pairs, to: endpoint)) else {
            throw ProviderError(
                .misconfigured, provider: settings.provider,
                reason: "the authorization URL built on \(Printable.short(endpoint)) is not a valid URL")
        }
        return url
    }

    // MARK: - Token endpoint

    /// Exchanges an authorization `code` (with its PKCE verifier and the same `redirectURI`) for tokens.
    public func exchangeCode(
        _ code: String, redirectURI: String, codeVerifier: String, tokenEndpoint: String
    ) async throws -> TokenOutcome {
        try await tokenRequest(
            [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                ("code_verifier", codeVerifier),
            ], endpoint: tokenEndpoint)
    }

    /// Redeems `refreshToken` (RFC 6749 §6); `scopes` nil asks for the scope originally granted.
    public func refresh(_ refreshToken: String, scopes: [String]? = nil, tokenEndpoint: String) async throws
        -> TokenOutcome
    {
        var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        if let scopes { form.append(("scope", scopes.joined(separator: " "))) }
        return try await tokenRequest(form, endpoint: tokenEndpoint)
    }

    /// Revokes `token` at `endpoint` (RFC 7009). A 200 means revoked or already unknown; an
    /// `unsupported_token_type` or other error answer throws `.protocolViolation`, an outage `.unavailable`.
    public func revoke(_ token: String, hint: String = "refresh_token", endpoint: String) async throws {
        let response = try await post([("token", token), ("token_type_hint", hint)], to: endpoint, what: "revocation")
        guard response.status != 200 else { return }
        if response.status >= 500 || response.status == 429 {
            throw ProviderError(
                .unavailable, provider: settings.provider,
                reason: "the revocation endpoint answered HTTP \(response.status)")
        }
        let refusal = Self.refusal(in: response)
        throw ProviderError(
            .protocolViolation, provider: settings.provider,
            reason: "the revocation endpoint refused: \(refusal.map(\.description) ?? "HTTP \(response.status)")")
    }

    private func tokenRequest(_ form: [(String, String)], endpoint: String) async throws -> TokenOutcome {
        let response = try await post(form, to: endpoint, what: "token endpoint")
        if response.status == 200 {
            return .granted(try parseTokenResponse(response))
        }
        if let refusal = Self.refusal(in: response), response.status < 500 {
            return .refused(refusal)
        }
        if response.status >= 500 || response.status == 429 {
            throw ProviderError(
                .unavailable, provider: settings.provider,
                reason: "the token endpoint answered HTTP \(response.status)")
        }
        throw ProviderError(
            .protocolViolation, provider: settings.provider,
            reason: "the token endpoint answered HTTP \(response.status) without an OAuth2 error")
    }

    private func parseTokenResponse(_ response: InboundResponse) throws -> TokenResponse {
        guard let object = ClaimValue.object(parsing: response.body) else {
            throw ProviderError(
                .protocolViolation, provider: settings.provider,
                reason: "the token endpoint answered something that is not a JSON object "
                    + "(Content-Type \(Printable.short(response.header("Content-Type") ?? "none")))")
        }
        guard let accessToken = object["access_token"]?.string, !accessToken.isEmpty else {
            throw ProviderError(
                .protocolViolation, provider: settings.provider, reason: "the token answer has no access_token")
        }
        guard let tokenType = object["token_type"]?.string else {
            throw ProviderError(
                .protocolViolation, provider: settings.provider, reason: "the token answer has no token_type")
        }
        guard tokenType.lowercased() == "bearer" else {
            throw ProviderError(
                .protocolViolation, provider: settings.provider,
                reason: "the token answer's token_type is \(Printable.short(tokenType)), not Bearer")
        }
        var expiresIn: Int?
        switch object["expires_in"] {
        case .number(let seconds) where seconds.isFinite && seconds >= 0 && seconds < 1e9: expiresIn = Int(seconds)
        case .string(let text): expiresIn = Int(text)
        default: expiresIn = nil
        }
        return TokenResponse(
            accessToken: accessToken, tokenType: tokenType, expiresIn: expiresIn,
            refreshToken: object["refresh_token"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            idToken: object["id_token"]?.string, scope: object["scope"]?.string)
    }

    /// An OAuth2 error answer's `error` and `error_description`, if the body is one.
    static func refusal(in response: InboundResponse) -> OAuth2Refusal? {
        guard let object = ClaimValue.object(parsing: response.body), let error = object["error"]?.string,
            !error.isEmpty
        else { return nil }
        return OAuth2Refusal(
            error: Printable.short(error, limit: 64, quoted: false),
            errorDescription: object["error_description"]?.string, status: response.status)
    }

    /// POSTs `form` with the client's credentials, bounded.
    private func post(_ form: [(String, String)], to endpoint: String, what: String) async throws -> InboundResponse {
        var body = form
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
        ]
        switch settings.authentication {
        case .clientSecretBasic:
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let pair = FormEncoding.escape(settings.clientID) + ":" + FormEncoding.escape(settings.clientSecret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        case .clientSecretPost:
            body += [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        }
        return try await send(
            OutboundRequest(
                method: .post, url: endpoint, headers: headers, body: Array(FormEncoding.encode(body).utf8)),
            what: what)
    }

    /// Sends `request` with this client's bounds, turning transport failures into `ProviderError`s.
    public func send(_ request: OutboundRequest, what: String) async throws -> InboundResponse {
        var bounded = request
        bounded.timeout = request.timeout ?? settings.requestTimeout
        bounded.connectTimeout = request.connectTimeout ?? settings.connectTimeout
        bounded.maxResponseBytes = request.maxResponseBytes ?? settings.maximumResponseBytes
        bounded.followRedirects = false
        do {
            return try await http.send(bounded)
        } catch let error as HTTPClientError {
            let code: ProviderError.Code
            switch error.code {
            case .invalidURL, .invalidRequest: code = .misconfigured
            case .responseTooLarge: code = .protocolViolation
            default: code = .unavailable
            }
            throw ProviderError(
                code, provider: settings.provider,
                reason: "the \(what) at \(Printable.short(request.url, limit: 120, quoted: false)) failed: "
                    + "\(error.code.rawValue)\(error.message.isEmpty ? "" : " (\(Printable.short(error.message, limit: 120, quoted: false)))")"
            )
        } catch {
            throw ProviderError(
                .unavailable, provider: settings.provider, reason: "the \(what) failed: \(type(of: error))")
        }
    }

    /// GETs a JSON object from `url` (discovery, JWKS, userinfo with `bearer`), bounded; the answer's headers
    /// come back for cache lifetimes.
    ///
    /// - Throws: `.unavailable` for transport failures and 5xx/429, `.protocolViolation` for another non-200
    ///   status or a body that is not a JSON object.
    public func getJSON(_ url: String, bearer: String? = nil, what: String) async throws -> (
        object: [String: ClaimValue], response: InboundResponse
    ) {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let bearer { headers.append(("Authorization", "Bearer " + bearer)) }
        let response = try await send(OutboundRequest(method: .get, url: url, headers: headers), what: what)
        guard response.status == 200 else {
            throw ProviderError(
                response.status >= 500 || response.status == 429 ? .unavailable : .protocolViolation,
                provider: settings.provider, reason: "the \(what) answered HTTP \(response.status)")
        }
        guard let object = ClaimValue.object(parsing: response.body) else {
            throw ProviderError(
                .protocolViolation, provider: settings.provider,
                reason: "the \(what) answered something that is not a JSON object "
                    + "(Content-Type \(Printable.short(response.header("Content-Type") ?? "none")))")
        }
        return (object, response)
    }
}

/// Text from a provider or its configuration, made safe for error reasons: short, printable ASCII.
enum Printable {
    static func short(_ text: String, limit: Int = 80, quoted: Bool = true) -> String {
        var cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(limit).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
        if text.unicodeScalars.count > limit { cleaned += "…" }
        return quoted ? "\"\(cleaned)\"" : cleaned
    }
}
