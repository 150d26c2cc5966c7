import Foundation
import HTTPCore
import IdentityCore
import Storage

/// How a request proved who it is: which decides what else it must show.
///
/// Application tokens (`bearer`, `basic`, `portusAuth`) are sent deliberately by a program, so they need
/// nothing more. A browser `session` cookie is sent by the browser on any request to the host, including
/// ones a hostile page triggers: unsafe methods authenticated by a session must also carry the session's
/// `X-CSRF-Token` (the web UI's seam; no session resolver exists yet).
public enum APICredentialSource: String, Sendable, Hashable {
    /// `Authorization: Bearer <application token>`.
    case bearer
    /// `Authorization: Basic user:<application token>`.
    case basic
    /// Portus's `Portus-Auth: user:<application token>`.
    case portusAuth = "portus-auth"
    /// The web UI's session cookie.
    case session

    /// Whether requests from this source must carry `X-CSRF-Token` on unsafe methods.
    public var needsCSRFToken: Bool { self == .session }
}

/// The account an API request acts as.
public struct APICaller: Sendable, Hashable, CustomStringConvertible {
    /// The user's database id.
    public var userID: Int64
    /// The username.
    public var username: String
    /// Whether the user is an administrator.
    public var isAdmin: Bool
    /// The application token's restriction (namespaces, actions), if any.
    public var restriction: AccessRestriction?
    /// How the request proved it.
    public var source: APICredentialSource

    /// Creates a caller.
    public init(
        userID: Int64, username: String, isAdmin: Bool, restriction: AccessRestriction? = nil,
        source: APICredentialSource
    ) {
        self.userID = userID
        self.username = username
        self.isAdmin = isAdmin
        self.restriction = restriction
        self.source = source
    }

    /// Whether the credential permits `action` (see `APIAction`): unrestricted actions, `*` and
    /// `api:write` permit everything; `api:read` and registry actions alone permit reading.
    public func permits(_ action: APIAction) -> Bool {
        guard let actions = restriction?.actions else { return true }
        switch action {
        case .read: return !actions.isEmpty
        case .write: return actions.contains("*") || actions.contains(APIAction.write.rawValue)
        }
    }

    /// Whether the credential may touch namespace `name` (a restriction to some namespaces); resources
    /// scoped to a namespace check this besides the policy.
    public func mayTouch(namespace name: String) -> Bool {
        restriction?.namespaces.map { $0.contains(name) } ?? true
    }

    /// `APICaller(alice #3 via bearer)`, for logs.
    public var description: String {
        "APICaller(\(username) #\(userID)\(isAdmin ? ", admin" : "") via \(source.rawValue))"
    }
}

/// What checking an application token decided.
public enum APITokenVerdict: Sendable, Hashable {
    /// The token is good: this is its owner, with its restriction (the source is filled in by the caller).
    case authenticated(APICaller)
    /// Unknown, revoked, expired, another user's, or its owner disabled: all alike to the client.
    case refused
    /// The client address made too many failed attempts, or has too many checks in progress at once (the password
    /// guessing limits).
    case throttled(Throttling)
    /// The check could not be made (the database failed).
    case unavailable
}

/// Checks application tokens for the API.
///
/// Contract: `looksLikeApplicationToken` is cheap and does no I/O (a prefix, length and checksum test), so
/// that passwords are refused without being checked anywhere. `verify` never throws, counts failed attempts
/// towards the client address's guessing limit and audits them like `/v2/token` does; it must say
/// `.refused` for a token whose owner is not `username`, when a username is given.
public protocol APITokenVerifying: Sendable {
    /// Whether `secret` is shaped like an application token.
    func looksLikeApplicationToken(_ secret: String) -> Bool
    /// Decides whether `token` (of `username`, when the request named one) is good now.
    func verify(token: String, username: String?, clientAddress: String) async -> APITokenVerdict
}

/// A browser session, as the web UI will resolve it from its cookie.
public struct APISession: Sendable, Hashable {
    /// Who the session belongs to (source `.session`).
    public var caller: APICaller
    /// The value unsafe requests must echo in `X-CSRF-Token`.
    public var csrfToken: String

    /// Creates a session.
    public init(caller: APICaller, csrfToken: String) {
        self.caller = caller
        self.csrfToken = csrfToken
    }
}

/// Finds the session of a request's cookie: the seam the web UI fills in.
///
/// Contract: returns nil when the request has no session cookie or it names no live session; throws only
/// when the session store fails.
public protocol APISessionResolving: Sendable {
    /// The session the request's cookie names, or nil.
    func session(for request: HTTPRequest) async throws -> APISession?
}

/// Decides who an API request is and whether it may call a route.
///
/// Credentials, in this order: `Authorization` (`Bearer <token>` or `Basic user:<token>`), else
/// `Portus-Auth: user:<token>`, else a session cookie when a resolver is installed, else anonymous. Sending
/// both `Authorization` and `Portus-Auth` is a 400: which one should win would be a guess. A password
/// (anything not shaped like an application token) is refused with 401 before any check: the API takes
/// application tokens only, so a stolen password cannot drive it and it is no password-guessing oracle.
public struct APIAuthenticator: Sendable {
    /// Checks application tokens.
    public let tokens: any APITokenVerifying
    /// Resolves browser sessions; nil until the web UI exists.
    public let sessions: (any APISessionResolving)?

    /// Creates an authenticator.
    public init(tokens: any APITokenVerifying, sessions: (any APISessionResolving)? = nil) {
        self.tokens = tokens
        self.sessions = sessions
    }

    /// The caller of `request`, nil when it carries no credentials.
    public func caller(of request: HTTPRequest) async throws(APIError) -> APICaller? {
        let authorization = request.headers["Authorization"]
        let portusAuth = request.headers["Portus-Auth"]
        if authorization != nil && portusAuth != nil {
            throw APIError(
                .badRequest, code: "CREDENTIALS_AMBIGUOUS",
                message: "Send either Authorization or Portus-Auth, not both.")
        }
        let address =
            request.context.clientAddress.isEmpty
            ? request.connection.remoteAddress : request.context.clientAddress
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw APIError.unauthorized("The Authorization header is malformed.") }
            let value = String(parts[1].trimmingSpaces())
            if parts[0].caseInsensitiveEquals("Bearer") {
                return try await verify(token: value, username: nil, source: .bearer, address: address)
            }
            if parts[0].caseInsensitiveEquals("Basic") {
                guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
                    let colon = text.firstIndex(of: ":")
                else { throw APIError.unauthorized("The Basic credentials are malformed.") }
                return try await verify(
                    token: String(text[text.index(after: colon)...]), username: String(text[..<colon]),
                    source: .basic, address: address)
            }
            throw APIError.unauthorized("The API takes application tokens as Bearer or Basic credentials.")
        }
        if let portusAuth {
            guard let colon = portusAuth.firstIndex(of: ":") else {
                throw APIError.unauthorized("Portus-Auth must be user:token.")
            }
            return try await verify(
                token: String(portusAuth[portusAuth.index(after: colon)...]).trimmingCharacters(in: .whitespaces),
                username: String(portusAuth[..<colon]).trimmingCharacters(in: .whitespaces),
                source: .portusAuth, address: address)
        }
        if let sessions {
            do {
                if let session = try await sessions.session(for: request) {
                    try checkCSRF(request, session: session)
                    return session.caller
                }
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError.unavailable("The session store is unavailable.")
            }
        }
        return nil
    }

    private func verify(token: String, username: String?, source: APICredentialSource, address: String)
        async throws(APIError) -> APICaller
    {
        guard tokens.looksLikeApplicationToken(token) else {
            throw APIError.unauthorized(
                "The API takes application tokens, not passwords: create one with `portcullis token create` "
                    + "and send it as Authorization: Bearer <token>.")
        }
        switch await tokens.verify(token: token, username: username, clientAddress: address) {
        case .authenticated(var caller):
            caller.source = source
            return caller
        case .refused: throw APIError.unauthorized("The application token is not valid.")
        case .throttled(let throttling): throw APIError.tooManyRequests(throttling)
        case .unavailable: throw APIError.unavailable("The credentials could not be checked; try again later.")
        }
    }

    /// Unsafe methods of a session must echo its CSRF token (compared in constant time).
    func checkCSRF(_ request: HTTPRequest, session: APISession) throws(APIError) {
        guard session.caller.source.needsCSRFToken, !Self.isSafe(request.method) else { return }
        guard let sent = request.headers["X-CSRF-Token"], Self.constantTimeEquals(sent, session.csrfToken) else {
            throw APIError(
                .forbidden, code: "CSRF_TOKEN_INVALID",
                message: "A session request that changes something must carry the session's X-CSRF-Token header.")
        }
    }

    /// Refuses `caller` for `route` unless its access level and the token's restriction allow it; 403s say
    /// what is missing.
    public func authorize(_ caller: APICaller?, for route: APIRoute) throws(APIError) {
        guard route.access != .anonymous else { return }
        guard let caller else { throw APIError.unauthorized() }
        if route.access == .admin && !caller.isAdmin {
            throw APIError.denied("This endpoint needs administrator rights.")
        }
        guard caller.permits(route.action) else {
            let allowed = (caller.restriction?.actions ?? []).sorted().joined(separator: ", ")
            throw APIError.denied(
                "The application token is restricted to \(allowed.isEmpty ? "no actions" : allowed); "
                    + "this endpoint needs \(route.action.rawValue).")
        }
    }

    static func isSafe(_ method: HTTPMethod) -> Bool { method == .get || method == .head || method == .options }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for index in 0..<min(x.count, y.count) { difference |= x[index] ^ y[index] }
        return difference == 0 && x.count == y.count
    }
}

/// The owner of a stored application token, as the API needs to know it before the token is checked.
public struct APITokenOwner: Sendable, Hashable {
    /// The owner's id.
    public var userID: Int64
    /// The owner's username.
    public var username: String
    /// Whether the owner is an administrator.
    public var isAdmin: Bool

    /// Creates an owner.
    public init(userID: Int64, username: String, isAdmin: Bool) {
        self.userID = userID
        self.username = username
        self.isAdmin = isAdmin
    }
}

/// Checks API tokens with the same password chain (application-token providers only) and guessing
/// throttle as `/v2/token`, so a token is good or bad, audited and throttled the same way at both doors.
///
/// `Bearer` carries no username, and the providers check a token against its owner's name; so the owner is
/// looked up first (`ownerOf`) and the chain asked with that name. An unknown token is still put to the
/// chain (under the name `-`), so it is audited and counted towards the guessing limit like any other.
public struct PasswordChainTokenVerifier: APITokenVerifying {
    private let chain: PasswordChain
    private let shape: @Sendable (String) -> Bool
    private let ownerOf: @Sendable (String) async throws -> APITokenOwner?

    /// A verifier over `chain` (its providers should be the application-token ones), with `shape` telling
    /// tokens from other strings and `ownerOf` finding a token's owner by its secret.
    public init(
        chain: PasswordChain, shape: @escaping @Sendable (String) -> Bool,
        ownerOf: @escaping @Sendable (String) async throws -> APITokenOwner?
    ) {
        self.chain = chain
        self.shape = shape
        self.ownerOf = ownerOf
    }

    /// Whether `secret` is token-shaped.
    public func looksLikeApplicationToken(_ secret: String) -> Bool { shape(secret) }

    /// Looks the owner up, then lets the chain decide.
    public func verify(token: String, username: String?, clientAddress: String) async -> APITokenVerdict {
        guard shape(token) else { return .refused }
        let owner: APITokenOwner?
        do { owner = try await ownerOf(token) } catch { return .unavailable }
        let name = username ?? owner?.username ?? "-"
        let credentials = PasswordCredentials(username: name, password: token, clientAddress: clientAddress)
        // A token the providers' caches vouch for is decided at once, without taking one of the address's
        // concurrent-check slots: an API client calls with the same token over many connections.
        if let identity = chain.cachedAuthentication(credentials) { return verdict(identity, owner: owner) }
        switch await chain.authenticate(credentials) {
        case .authenticated(let identity): return verdict(identity, owner: owner)
        case .rejected, .unknownUser: return .refused
        case .throttled(let throttling): return .throttled(throttling)
        case .unavailable: return .unavailable
        }
    }

    /// The caller `identity` stands for, if it is the application token of `owner`.
    private func verdict(_ identity: ExternalIdentity, owner: APITokenOwner?) -> APITokenVerdict {
        guard let owner, identity.credential == .applicationToken, case .localAccount(let userID) = identity.origin,
            userID == owner.userID
        else { return .refused }
        return .authenticated(
            APICaller(
                userID: owner.userID, username: owner.username, isAdmin: owner.isAdmin,
                restriction: identity.restriction, source: .bearer))
    }
}

extension PasswordChainTokenVerifier {
    /// Finds a token's owner in `store` by the token's hash (`hashing`, as the application-token providers
    /// store it). Owners of tokens seen before are answered from memory while the store's authorization
    /// generation is unchanged (no revocation, no account change in between), as the providers cache their own
    /// reads: an API client presents the same token on every call. Unknown hashes are never cached, so
    /// guessing fills nothing.
    public static func ownerLookup(
        in store: any Store, hashing: @escaping @Sendable (String) -> String
    ) -> @Sendable (String) async throws -> APITokenOwner? {
        let cache = AuthorizationCache<String, APITokenOwner>(capacity: 10_000)
        return { token in
            let hash = hashing(token)
            if let owner = cache.value(for: hash, at: store.authorizationGeneration) { return owner }
            let generation = store.authorizationGeneration
            let owner = try await store.read { reader -> APITokenOwner? in
                guard let stored = try reader.applicationToken(secretHash: hash),
                    let owner = try reader.user(id: stored.ownerID)
                else { return nil }
                return APITokenOwner(userID: owner.id.rawValue, username: owner.username, isAdmin: owner.isAdmin)
            }
            if let owner { cache.insert(owner, for: hash, readAt: generation) }
            return owner
        }
    }
}
