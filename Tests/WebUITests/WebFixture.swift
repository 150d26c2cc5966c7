import Administration
import Diagnostics
import Foundation
import HTTPCore
import ProviderTesting
import SQLiteStorage
import Storage
import Threading
import WebUI

/// A real SQLite store and the web UI on an in-process router, the way `serve` mounts it.
///
/// People: `root` (administrator), `olivia` (owner of team `acme`), `carl` (contributor), `vera` (viewer),
/// `eve` (in no team). Team `acme` owns the protected namespace `acme` with `acme/api` (tags `latest` and
/// `v1` on one OCI index digest with two platforms, `v2` on another) and `acme/tools/lint`; team `ops` (no
/// members) owns the private namespace `secret` with `secret/vault`; the global namespace holds `busybox`.
/// Sign-in goes through `FixturePasswords`: every user's password is `<username>-password`.
final class WebFixture: Sendable {
    let store: any Store
    let router: Router
    let ui: WebUI
    let users: [String: User]
    let digestA = "sha256:" + String(repeating: "a", count: 64)
    let digestB = "sha256:" + String(repeating: "b", count: 64)
    let sessions: WebSessionService

    init(
        anonymousBrowsing: Bool = true, publicURL: String = "http://portcullis.test",
        registries: (any WebRegistryOperations)? = nil, providerHealth: (any WebProviderHealthChecking)? = nil,
        providers: [WebProvider] = [WebProvider(id: "local", displayName: "Local accounts", type: "local")],
        configure: @Sendable (any Store, inout WebUIServices) -> Void = { _, _ in }
    ) async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        self.store = store
        let (a, b) = (digestA, digestB)
        users = try await store.write { writer in
            var users: [String: User] = [:]
            for name in ["root", "olivia", "carl", "vera", "eve"] {
                users[name] = try writer.createUser(
                    NewUser(username: name, email: "\(name)@example.org", isAdmin: name == "root"))
            }
            let acme = try writer.createTeam(name: "acme", description: "The acme people", isHidden: false)
            _ = try writer.addTeamMember(team: acme.id, user: users["olivia"]!.id, role: .owner)
            _ = try writer.addTeamMember(team: acme.id, user: users["carl"]!.id, role: .contributor)
            _ = try writer.addTeamMember(team: acme.id, user: users["vera"]!.id, role: .viewer)
            let ops = try writer.createTeam(name: "ops", description: nil, isHidden: false)
            let namespace = try writer.createNamespace(name: "acme", team: acme.id, visibility: .protected)
            let secret = try writer.createNamespace(name: "secret", team: ops.id, visibility: .private)
            let api = try writer.createRepository(name: "api", in: namespace.id, registry: "local")
            _ = try writer.createRepository(name: "tools/lint", in: namespace.id, registry: "local")
            let vault = try writer.createRepository(name: "vault", in: secret.id, registry: "local")
            let global = try writer.ensureGlobalNamespace(named: NamespaceNaming.globalNamespaceName).namespace
            let busybox = try writer.createRepository(name: "busybox", in: global.id, registry: "local")
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            for (index, (tag, digest, size)) in [("latest", b, 3_145_728), ("v1", a, 1_048_576), ("v2", b, 3_145_728)]
                .enumerated()
            {
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: api.id, name: tag, digest: digest,
                        mediaType: "application/vnd.oci.image.index.v1+json", size: Int64(size),
                        pushedByID: users["carl"]!.id, pushedByName: "carl", platforms: ["linux/amd64", "linux/arm64"],
                        pushedAt: start.addingTimeInterval(Double(index) * 60)))
            }
            _ = try writer.recordTagPush(TagPush(repositoryID: vault.id, name: "latest", digest: a))
            _ = try writer.recordTagPush(TagPush(repositoryID: busybox.id, name: "latest", digest: a))
            return users
        }
        let hashing = BlockingPool(name: "hash", threads: 1)
        sessions = WebSessionService(store: store)
        var services = WebUIServices(
            store: store, sessions: sessions, setup: FirstRunSetup(store: store, hashing: hashing),
            signIn: FixturePasswords(users: users), accounts: AccountAdministration(store: store, hashing: hashing),
            teams: TeamAdministration(store: store), namespaces: NamespaceAdministration(store: store),
            repositories: RepositoryAdministration(store: store),
            search: SearchService(store: store, anonymousBrowsing: anonymousBrowsing), stars: StarService(store: store),
            tokens: ApplicationTokenService(store: store, maxPerUser: 100), audit: AuditQueries(store: store),
            robots: RobotAccountService(store: store),
            webhooks: { caller in WebhookAdministration(store: store, caller: caller, queued: {}, sealer: nil) },
            registries: registries)
        services.providerHealth = providerHealth
        configure(store, &services)
        let logger = Logger(label: "test", level: .error, sink: DiscardingLogSink())
        ui = WebUI(
            settings: WebUISettings(
                publicURL: URL(string: publicURL)!,
                registries: [WebRegistry(name: "local", pullHost: "registry.test:5000")],
                anonymousBrowsing: anonymousBrowsing,
                providers: providers),
            services: services, logger: logger)
        var router = Router(logger: logger)
        router.use(RequestIDMiddleware())
        ui.register(on: &router)
        self.router = router
    }

    /// A signed-in browser of `username` (a session started directly, as sign-in would).
    func browser(_ username: String) async throws -> WebClient {
        let started = try await sessions.start(for: users[username]!.id, client: "test", address: "127.0.0.1")
        return WebClient(
            fixture: self, cookies: [ui.sessionCookie: started.cookieValue], csrfToken: started.session.csrfToken)
    }

    /// A visitor's browser (no session).
    var visitor: WebClient { WebClient(fixture: self, cookies: [:], csrfToken: nil) }

    /// The visitor token a signing-in browser holds (its `pc_csrf` cookie, echoed by its forms).
    static let visitorToken = "visitor-token-0123456789"

    /// A visitor's browser that has been shown the sign-in form: its pre-session CSRF cookie is set and its
    /// forms carry the same token.
    var signingInVisitor: WebClient {
        WebClient(fixture: self, cookies: ["pc_csrf": Self.visitorToken], csrfToken: Self.visitorToken)
    }

    /// Sends a request through the router as the server would.
    func send(
        _ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        from address: String = "127.0.0.1"
    ) async -> HTTPResponse {
        let (path, query) = Self.split(target)
        let head = HTTPRequestHead(method: method, target: target, path: path, query: query, headers: headers)
        var context = RequestContext()
        context.clientAddress = address
        let request = HTTPRequest(
            head: head, body: body, connection: HTTPConnectionInfo(remoteAddress: address), context: context)
        return await router.respond(to: request)
    }

    private static func split(_ target: String) -> (String, [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, []) }
        let query = target[target.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
        return (String(target[..<mark]), query)
    }
}

/// A browser as the tests drive it: keeps cookies, sends the CSRF token with forms.
struct WebClient: Sendable {
    let fixture: WebFixture
    var cookies: [String: String]
    var csrfToken: String?

    /// GET `target`.
    func get(_ target: String) async -> WebPage {
        WebPage(await fixture.send(.get, target, headers: cookieHeaders))
    }

    /// POST a form to `target`, with this browser's CSRF token unless `csrf` says otherwise.
    func post(_ target: String, _ fields: [(String, String)], csrf: String? = nil, origin: String? = nil) async
        -> WebPage
    {
        var headers = cookieHeaders
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let origin { headers.add(name: "Origin", value: origin) }
        var all = fields
        if let token = csrf ?? csrfToken { all.insert(("_csrf", token), at: 0) }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return WebPage(await fixture.send(.post, target, headers: headers, body: Array(body.utf8)))
    }

    var cookieHeaders: HTTPHeaders {
        var headers = HTTPHeaders()
        if !cookies.isEmpty {
            headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))
        }
        return headers
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// A response with its HTML as text, and the small queries tests make of it.
struct WebPage: Sendable {
    let response: HTTPResponse
    let html: String

    init(_ response: HTTPResponse) {
        self.response = response
        html = String(decoding: response.body, as: UTF8.self)
    }

    var status: Int { response.status.code }
    func header(_ name: String) -> String? { response.headers[name] }
    var location: String? { response.headers["Location"] }

    /// Where the page sends the browser on by itself (`<meta http-equiv="refresh" content="0; url=…">`), the
    /// URL unescaped; nil when it does not.
    var goesOnTo: String? {
        guard let start = html.range(of: "<meta http-equiv=\"refresh\" content=\"0; url=") else { return nil }
        return String(html[start.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Whether the HTML contains `text` (as written in the markup, so escaped text is matched escaped).
    func contains(_ text: String) -> Bool { html.contains(text) }

    /// Whether an element has `id`.
    func hasElement(id: String) -> Bool { html.contains("id=\"\(id)\"") }

    /// How many times `text` occurs in the markup.
    func count(_ text: String) -> Int { html.components(separatedBy: text).count - 1 }

    /// Every form's action that posts, with whether it carries a CSRF field.
    var postForms: [(action: String, hasCSRF: Bool)] {
        html.components(separatedBy: "<form method=\"post\" action=\"").dropFirst().map { rest in
            let action = String(rest.prefix { $0 != "\"" })
            let body = rest.components(separatedBy: "</form>").first ?? ""
            return (action, body.contains("name=\"_csrf\""))
        }
    }
}

/// Sign-in for the tests: `<username>-password` signs in every fixture user; `locked` and `down` act out
/// the lockout and outage answers.
struct FixturePasswords: WebPasswordSignIn {
    let users: [String: User]

    func signIn(username: String, password: String, clientAddress: String) async -> WebSignInOutcome {
        if username == "locked" { return .locked(until: Date(timeIntervalSince1970: 2_000_000_000)) }
        if username == "down" { return .unavailable(provider: "ldap") }
        if username == "refused" { return .refusedAccount(message: "Not in <img src=x onerror=alert(1)> group") }
        guard let user = users[username], password == "\(username)-password" else { return .refused }
        return .signedIn(user.id)
    }
}
