import CryptoCore
import Foundation
import HTTPCore
import Synchronization

/// A person at one of the fake social providers (GitHub, GitLab, Google, Bitbucket), in the terms each fake
/// renders in its own provider's shape.
public struct FakeAccount: Sendable {
    /// The provider's stable id: GitHub's numeric id as text, Bitbucket's `{uuid}`, GitLab's and Google's `sub`.
    public var subject: String
    /// The login (GitHub), nickname (Bitbucket, GitLab) or nothing (Google).
    public var login: String
    /// The display name.
    public var name: String?
    /// The primary address.
    public var email: String
    /// Whether the primary address is verified (confirmed).
    public var emailVerified: Bool
    /// Further addresses, verified, not primary.
    public var otherEmails: [String]
    /// GitHub organisations, Bitbucket workspaces, GitLab group full paths.
    public var memberships: [String]
    /// GitHub teams as `org/team-slug`.
    public var teams: [String]
    /// GitLab role claims: `owner`, `maintainer`, `developer` → group paths.
    public var roles: [String: [String]]
    /// Google's hosted domain (`hd`), for Workspace accounts.
    public var hostedDomain: String?

    /// Creates an account.
    public init(
        subject: String, login: String, name: String? = nil, email: String, emailVerified: Bool = true,
        otherEmails: [String] = [], memberships: [String] = [], teams: [String] = [], roles: [String: [String]] = [:],
        hostedDomain: String? = nil
    ) {
        self.subject = subject
        self.login = login
        self.name = name
        self.email = email
        self.emailVerified = emailVerified
        self.otherEmails = otherEmails
        self.memberships = memberships
        self.teams = teams
        self.roles = roles
        self.hostedDomain = hostedDomain
    }
}

/// The OAuth2 authorization server every fake provider shares: the authorize endpoint (which "signs in" the
/// account the test chose and redirects back with a code), the token endpoint (client authentication, the
/// code bound to its `redirect_uri` and PKCE S256 challenge, refresh tokens), and the access tokens the fake's
/// API accepts. Accounts stay editable, so a test can change memberships or revoke tokens between a sign-in
/// and a revalidation.
///
/// Threading: every member may be used from any task.
public final class FakeAuthorizationServer: Sendable {
    /// How the token endpoint answers a bad code.
    public enum ErrorStyle: Sendable {
        /// RFC 6749: HTTP 400 with `error` (Bitbucket, GitLab, Google).
        case standard
        /// GitHub: HTTP 200 with `error` (`bad_verification_code`).
        case okWithError
    }

    struct Code {
        var subject: String
        var redirectURI: String
        var challenge: String
        var nonce: String?
    }

    struct State {
        var accounts: [String: FakeAccount] = [:]
        var signingIn: String?
        var codes: [String: Code] = [:]
        var accessTokens: [String: String] = [:]
        var refreshTokens: [String: String] = [:]
        var issued = 0
        var apiRequests: [String] = []
        var tokenRequests = 0
    }

    /// The client id the fake accepts.
    public let clientID: String
    /// The client secret the fake accepts.
    public let clientSecret: String
    /// Whether redeeming a refresh token spends it and issues a new one (GitLab), or keeps it (Google).
    public let rotatesRefreshTokens: Bool
    private let state = Mutex(State())

    /// Creates a server for one registered client.
    public init(clientID: String, clientSecret: String, rotatesRefreshTokens: Bool = true) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.rotatesRefreshTokens = rotatesRefreshTokens
    }

    /// Adds or replaces `account`, and makes it the one the next authorization signs in.
    public func signIn(_ account: FakeAccount) {
        state.withLock {
            $0.accounts[account.subject] = account
            $0.signingIn = account.subject
        }
    }

    /// Changes the stored account `subject` (memberships, addresses).
    public func updateAccount(_ subject: String, _ change: (inout FakeAccount) -> Void) {
        state.withLock { state in
            guard var account = state.accounts[subject] else { return }
            change(&account)
            state.accounts[subject] = account
        }
    }

    /// Revokes every access and refresh token of `subject` (the person revoked the app, or was removed).
    public func revokeTokens(of subject: String) {
        state.withLock { state in
            state.accessTokens = state.accessTokens.filter { $0.value != subject }
            state.refreshTokens = state.refreshTokens.filter { $0.value != subject }
        }
    }

    /// The paths (with query) of the API requests served, in order.
    public var apiRequests: [String] { state.withLock { $0.apiRequests } }
    /// Token endpoint requests received.
    public var tokenRequests: Int { state.withLock { $0.tokenRequests } }

    /// The account an API request's bearer token belongs to, and records the request; nil for a missing,
    /// unknown or revoked token.
    func account(for request: HTTPRequest) -> FakeAccount? {
        let bearer = request.headers.values(for: "Authorization").first.flatMap { value -> String? in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        }
        return state.withLock { state in
            state.apiRequests.append(request.head.target)
            guard let bearer, let subject = state.accessTokens[bearer] else { return nil }
            return state.accounts[subject]
        }
    }

    /// `GET` the authorization endpoint: checks the client and PKCE S256, binds a code to the account signing
    /// in, and redirects to `redirect_uri` with `code` and `state` (or `error=access_denied` when no one does).
    func authorize(_ request: HTTPRequest) -> HTTPResponse {
        let head = request.head
        guard head.queryValue("client_id") == clientID, let redirectURI = head.queryValue("redirect_uri"),
            head.queryValue("response_type") == "code", head.queryValue("code_challenge_method") == "S256",
            let challenge = head.queryValue("code_challenge"), let stateValue = head.queryValue("state")
        else { return .text("bad authorization request", status: .badRequest) }
        let code: String? = state.withLock { state in
            guard let subject = state.signingIn else { return nil }
            state.issued += 1
            let code = "code-\(state.issued)"
            state.codes[code] = Code(
                subject: subject, redirectURI: redirectURI, challenge: challenge, nonce: head.queryValue("nonce"))
            return code
        }
        var target = URLComponents(string: redirectURI)!
        var items = target.queryItems ?? []
        if let code {
            items += [URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: stateValue)]
        } else {
            items += [
                URLQueryItem(name: "error", value: "access_denied"), URLQueryItem(name: "state", value: stateValue),
            ]
        }
        target.queryItems = items
        var response = HTTPResponse(status: .found)
        response.headers.add(name: "Location", value: target.string!)
        return response
    }

    /// What the token endpoint grants: the account, the nonce of the authorization (for ID tokens), and the
    /// tokens issued.
    struct Issued {
        var account: FakeAccount
        var nonce: String?
        var accessToken: String
        var refreshToken: String
    }

    /// `POST` the token endpoint: `authorization_code` (the code once, its `redirect_uri`, the PKCE verifier)
    /// or `refresh_token`; the client by HTTP Basic or in the form. Answers the standard token JSON with
    /// `extra(issued)` added, or the refusal in `style`.
    func token(
        _ request: HTTPRequest, style: ErrorStyle, expiresIn: Int?,
        extra: (Issued) -> [String: any Sendable] = { _ in [:] }
    ) -> HTTPResponse {
        state.withLock { $0.tokenRequests += 1 }
        guard let pairs = URLEncodedForm.decode(request.body) else { return refusal("invalid_request", style) }
        var form: [String: String] = [:]
        for pair in pairs { form[pair.name] = pair.value }
        guard authenticates(request, form: form) else {
            return .json(Array(#"{"error":"invalid_client"}"#.utf8), status: .unauthorized)
        }
        let issued: Issued? = state.withLock { state in
            switch form["grant_type"] {
            case "authorization_code":
                guard let code = form["code"], let bound = state.codes.removeValue(forKey: code),
                    form["redirect_uri"] == bound.redirectURI, let verifier = form["code_verifier"],
                    Base64URL.encode(Digest.sha256(Array(verifier.utf8))) == bound.challenge,
                    let account = state.accounts[bound.subject]
                else { return nil }
                return issue(for: account, nonce: bound.nonce, in: &state)
            case "refresh_token":
                guard let token = form["refresh_token"], let subject = state.refreshTokens[token],
                    let account = state.accounts[subject]
                else { return nil }
                if rotatesRefreshTokens { state.refreshTokens[token] = nil }
                return issue(for: account, nonce: nil, keeping: rotatesRefreshTokens ? nil : token, in: &state)
            default:
                return nil
            }
        }
        guard let issued else {
            return refusal(style == .okWithError ? "bad_verification_code" : "invalid_grant", style)
        }
        var answer: [String: any Sendable] = [
            "access_token": issued.accessToken, "token_type": "bearer", "refresh_token": issued.refreshToken,
        ]
        if let expiresIn { answer["expires_in"] = expiresIn }
        answer.merge(extra(issued)) { _, new in new }
        return .json(Array(try! JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])))
    }

    private func issue(
        for account: FakeAccount, nonce: String?, keeping refreshToken: String? = nil, in state: inout State
    ) -> Issued {
        state.issued += 1
        let access = "access-\(state.issued)"
        let refresh = refreshToken ?? "refresh-\(state.issued)"
        state.accessTokens[access] = account.subject
        state.refreshTokens[refresh] = account.subject
        return Issued(account: account, nonce: nonce, accessToken: access, refreshToken: refresh)
    }

    private func authenticates(_ request: HTTPRequest, form: [String: String]) -> Bool {
        if let header = request.headers.values(for: "Authorization").first, header.hasPrefix("Basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)))
        {
            let pair = String(decoding: data, as: UTF8.self)
            return pair == "\(clientID):\(clientSecret)"
        }
        return form["client_id"] == clientID && form["client_secret"] == clientSecret
    }

    private func refusal(_ error: String, _ style: ErrorStyle) -> HTTPResponse {
        let body = Array(#"{"error":"\#(error)","error_description":"the fake refused"}"#.utf8)
        return .json(body, status: style == .okWithError ? .ok : .badRequest)
    }

    /// The slice of `items` for a page request: `page` (from 1) of `size` items (the request's size capped by
    /// `maximum`), and whether a later page exists.
    static func page<Item>(_ items: [Item], request: HTTPRequest, sizeParameter: String, maximum: Int) -> (
        items: ArraySlice<Item>, page: Int, size: Int, hasNext: Bool
    ) {
        let size = min(Int(request.head.queryValue(sizeParameter) ?? "") ?? 30, maximum)
        let page = max(Int(request.head.queryValue("page") ?? "") ?? 1, 1)
        let start = min((page - 1) * size, items.count)
        let end = min(start + size, items.count)
        return (items[start..<end], page, size, end < items.count)
    }

    /// `object` as a JSON response.
    static func json(_ object: Any, status: HTTPStatus = .ok) -> HTTPResponse {
        .json(Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])), status: status)
    }
}
