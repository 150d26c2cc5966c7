import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

/// A GitHub (Enterprise Server shaped) on our own `HTTPServer` at 127.0.0.1: the web side at the root
/// (`/login/oauth/authorize`, `/login/oauth/access_token`, which answers a bad code with HTTP 200 and
/// `bad_verification_code` as GitHub does) and the REST API under `/api/v3` (`/user`, `/user/emails`,
/// `/user/orgs`, `/user/teams`), paginated with `per_page`/`page` and `Link: <…>; rel="next"` headers.
/// A missing or revoked token gets 401 `Bad credentials`.
public final class FakeGitHub: Sendable {
    /// The OAuth side: accounts, codes, tokens.
    public let authorization: FakeAuthorizationServer
    private let responder: Responder
    private let server: HTTPServer

    private final class Responder: HTTPResponder, Sendable {
        let authorization: FakeAuthorizationServer
        let port = Atomic<Int>(0)
        let maximumPageSize = Atomic<Int>(100)
        let hangAPI = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        let foreignNextLink = Mutex<String?>(nil)
        let rateLimited = Atomic<Bool>(false)

        init(authorization: FakeAuthorizationServer) { self.authorization = authorization }

        var root: String { "http://127.0.0.1:\(port.load(ordering: .relaxed))" }

        func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            switch request.path {
            case "/login/oauth/authorize": return authorization.authorize(request)
            case "/login/oauth/access_token":
                // GitHub answers form-encoded unless asked for JSON; Portcullis asks for JSON.
                return authorization.token(request, style: .okWithError, expiresIn: nil) { _ in
                    ["scope": "read:org,read:user,user:email"]
                }
            default: break
            }
            guard request.path.hasPrefix("/api/v3/") else { return .text("not found", status: .notFound) }
            if hangAPI.load(ordering: .relaxed) {
                while !stopped.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(50)) }
                return HTTPResponse(status: .serviceUnavailable)
            }
            if rateLimited.load(ordering: .relaxed) {
                var response = FakeAuthorizationServer.json(
                    ["message": "API rate limit exceeded for user ID 583231."], status: .forbidden)
                response.headers.add(name: "X-RateLimit-Limit", value: "5000")
                response.headers.add(name: "X-RateLimit-Remaining", value: "0")
                return response
            }
            guard let account = authorization.account(for: request) else {
                return FakeAuthorizationServer.json(
                    ["message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"],
                    status: .unauthorized)
            }
            let path = String(request.path.dropFirst("/api/v3".count))
            switch path {
            case "/user":
                var user: [String: any Sendable] = [
                    "login": account.login, "id": Int(account.subject)!, "type": "User", "site_admin": false,
                    "email": NSNull(),
                ]
                user["name"] = account.name ?? NSNull()
                return FakeAuthorizationServer.json(user)
            case "/user/emails":
                let emails: [[String: any Sendable]] =
                    [
                        [
                            "email": account.email, "primary": true, "verified": account.emailVerified,
                            "visibility": "private",
                        ]
                    ]
                    + account.otherEmails.map {
                        ["email": $0, "primary": false, "verified": true, "visibility": NSNull()]
                    }
                return paged(emails, request: request, path: path)
            case "/user/orgs":
                let organizations: [[String: any Sendable]] = account.memberships.enumerated().map {
                    ["login": $0.element, "id": 1000 + $0.offset, "description": NSNull()]
                }
                return paged(organizations, request: request, path: path)
            case "/user/teams":
                let teams: [[String: any Sendable]] = account.teams.enumerated().map { index, team in
                    let parts = team.split(separator: "/").map(String.init)
                    return [
                        "id": 2000 + index, "slug": parts[1], "name": parts[1].capitalized, "privacy": "closed",
                        "organization": ["login": parts[0], "id": 1000 + index] as [String: any Sendable],
                    ]
                }
                return paged(teams, request: request, path: path)
            default:
                return FakeAuthorizationServer.json(["message": "Not Found"], status: .notFound)
            }
        }

        /// One page with GitHub's `Link` header (`next` and `last`, `prev` and `first` after the first page).
        private func paged(_ items: [[String: any Sendable]], request: HTTPRequest, path: String) -> HTTPResponse {
            let page = FakeAuthorizationServer.page(
                items, request: request, sizeParameter: "per_page", maximum: maximumPageSize.load(ordering: .relaxed))
            var response = FakeAuthorizationServer.json(Array(page.items))
            let lastPage = max(1, (items.count + page.size - 1) / max(page.size, 1))
            func link(_ number: Int, _ relation: String) -> String {
                "<\(root)/api/v3\(path)?per_page=\(page.size)&page=\(number)>; rel=\"\(relation)\""
            }
            var links: [String] = []
            if let foreign = foreignNextLink.withLock({ $0 }) {
                links.append("<\(foreign)>; rel=\"next\"")
            } else if page.hasNext {
                links += [link(page.page + 1, "next"), link(lastPage, "last")]
            }
            if page.page > 1 { links += [link(page.page - 1, "prev"), link(1, "first")] }
            if !links.isEmpty { response.headers.add(name: "Link", value: links.joined(separator: ", ")) }
            return response
        }
    }

    /// The web root, `http://127.0.0.1:<port>` (GitHub Enterprise's `https://HOST`).
    public var webURL: String { responder.root }
    /// The API root, `http://127.0.0.1:<port>/api/v3`.
    public var apiURL: String { responder.root + "/api/v3" }

    /// Starts a fake for one registered client.
    public init(clientID: String, clientSecret: String) throws {
        authorization = FakeAuthorizationServer(clientID: clientID, clientSecret: clientSecret)
        responder = Responder(authorization: authorization)
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: responder,
            logger: Logger(label: "fake-github", level: .error))
        responder.port.store(try server.start(), ordering: .relaxed)
    }

    /// The most items a page holds, whatever `per_page` asks (GitHub's is 100); tests lower it to get pages.
    public func setMaximumPageSize(_ size: Int) { responder.maximumPageSize.store(size, ordering: .relaxed) }

    /// Makes every list's `rel="next"` link point at `url` (a hostile or broken GitHub sending the client
    /// elsewhere with its token).
    public func linkNextPages(to url: String) { responder.foreignNextLink.withLock { $0 = url } }

    /// Answers every API request with GitHub's 403 for an exhausted rate limit (`X-RateLimit-Remaining: 0`), or
    /// stops doing so.
    public func exhaustRateLimit(_ exhausted: Bool = true) {
        responder.rateLimited.store(exhausted, ordering: .relaxed)
    }

    /// Makes every API request hang until the fake stops (the client's timeout must end it).
    public func hangAPI() { responder.hangAPI.store(true, ordering: .relaxed) }

    /// Stops the server (hung requests are released first).
    public func stop() async {
        responder.stopped.store(true, ordering: .relaxed)
        await server.shutdown(gracePeriod: .milliseconds(200))
    }
}

/// A Bitbucket Cloud on our own `HTTPServer` at 127.0.0.1: the web side (`/site/oauth2/authorize`,
/// `/site/oauth2/access_token` with HTTP Basic client authentication, two-hour access tokens and refresh
/// tokens) and the 2.0 API (`/2.0/user`, `/2.0/user/emails`, `/2.0/user/permissions/workspaces`), paginated
/// with `pagelen`/`page` and an absolute `next` URL in each page.
public final class FakeBitbucket: Sendable {
    /// The OAuth side: accounts, codes, tokens.
    public let authorization: FakeAuthorizationServer
    private let responder: Responder
    private let server: HTTPServer

    private final class Responder: HTTPResponder, Sendable {
        let authorization: FakeAuthorizationServer
        let port = Atomic<Int>(0)
        let maximumPageSize = Atomic<Int>(100)

        init(authorization: FakeAuthorizationServer) { self.authorization = authorization }

        var root: String { "http://127.0.0.1:\(port.load(ordering: .relaxed))" }

        func bodyLimit(for head: HTTPRequestHead) -> Int { 1 << 20 }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            switch request.path {
            case "/site/oauth2/authorize": return authorization.authorize(request)
            case "/site/oauth2/access_token":
                return authorization.token(request, style: .standard, expiresIn: 7200) { _ in
                    ["scopes": "account email", "state": "authorization_code"]
                }
            default: break
            }
            guard request.path.hasPrefix("/2.0/") else { return .text("not found", status: .notFound) }
            guard let account = authorization.account(for: request) else {
                return FakeAuthorizationServer.json(
                    ["type": "error", "error": ["message": "Access token expired."] as [String: any Sendable]],
                    status: .unauthorized)
            }
            let path = String(request.path.dropFirst("/2.0".count))
            switch path {
            case "/user":
                return FakeAuthorizationServer.json([
                    "type": "user", "uuid": account.subject, "nickname": account.login,
                    "display_name": account.name ?? account.login, "account_id": "557058:\(account.login)",
                ])
            case "/user/emails":
                let emails: [[String: any Sendable]] =
                    [
                        [
                            "type": "email", "email": account.email, "is_primary": true,
                            "is_confirmed": account.emailVerified,
                        ]
                    ]
                    + account.otherEmails.map {
                        ["type": "email", "email": $0, "is_primary": false, "is_confirmed": true]
                    }
                return paged(emails, request: request, path: path)
            case "/user/permissions/workspaces":
                let permissions: [[String: any Sendable]] = account.memberships.enumerated().map { index, slug in
                    [
                        "type": "workspace_membership", "permission": index == 0 ? "owner" : "member",
                        "workspace": [
                            "type": "workspace", "slug": slug, "name": slug.capitalized, "uuid": "{ws-\(index)}",
                        ] as [String: any Sendable],
                    ]
                }
                return paged(permissions, request: request, path: path)
            default:
                return FakeAuthorizationServer.json(
                    ["type": "error", "error": ["message": "Resource not found"] as [String: any Sendable]],
                    status: .notFound)
            }
        }

        /// One page in Bitbucket's shape: `values`, `pagelen`, `page`, `size`, and `next` while more follow.
        private func paged(_ items: [[String: any Sendable]], request: HTTPRequest, path: String) -> HTTPResponse {
            let page = FakeAuthorizationServer.page(
                items, request: request, sizeParameter: "pagelen", maximum: maximumPageSize.load(ordering: .relaxed))
            var body: [String: any Sendable] = [
                "values": Array(page.items), "pagelen": page.size, "page": page.page, "size": items.count,
            ]
            if page.hasNext { body["next"] = "\(root)/2.0\(path)?pagelen=\(page.size)&page=\(page.page + 1)" }
            return FakeAuthorizationServer.json(body)
        }
    }

    /// The web root, `http://127.0.0.1:<port>` (`https://bitbucket.org`).
    public var webURL: String { responder.root }
    /// The API root, `http://127.0.0.1:<port>/2.0` (`https://api.bitbucket.org/2.0`).
    public var apiURL: String { responder.root + "/2.0" }

    /// Starts a fake for one registered consumer.
    public init(clientID: String, clientSecret: String) throws {
        authorization = FakeAuthorizationServer(clientID: clientID, clientSecret: clientSecret)
        responder = Responder(authorization: authorization)
        server = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: responder,
            logger: Logger(label: "fake-bitbucket", level: .error))
        responder.port.store(try server.start(), ordering: .relaxed)
    }

    /// The most items a page holds, whatever `pagelen` asks (Bitbucket's is 100); tests lower it to get pages.
    public func setMaximumPageSize(_ size: Int) { responder.maximumPageSize.store(size, ordering: .relaxed) }

    /// Stops the server.
    public func stop() async { await server.shutdown(gracePeriod: .milliseconds(200)) }
}
