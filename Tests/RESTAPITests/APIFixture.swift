import Administration
import ApplicationTokens
import Authorization
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import ProviderTesting
import RESTAPI
import SQLiteStorage
import Storage
import Threading

/// A real SQLite store with alice (a user) and root (an administrator), application tokens for them, and
/// the API mounted on an in-process router the way `serve` mounts it (request ids, no async middleware).
final class APIFixture: Sendable {
    let store: any Store
    let router: Router
    let api: RESTAPI
    let throttle: GuessingThrottle
    let alice: User
    let root: User
    /// alice's unrestricted token.
    let aliceToken: String
    /// alice's token restricted to pulling.
    let pullToken: String
    /// alice's token restricted to `api:read`.
    let readToken: String
    /// root's token.
    let rootToken: String

    /// A fixture whose API serves `SystemResources` and `extraRoutes` (the conventions' test routes).
    init(
        extraRoutes: [APIRoute] = [], failures: Int = 30, concurrentChecks: Int = 0,
        settings: ResourcePolicySettings = ResourcePolicySettings(), deleter: (any APIRepositoryDeleting)? = nil
    ) async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        self.store = store
        alice = try await store.write { try $0.createUser(NewUser(username: "alice", email: "alice@example.org")) }
        root = try await store.write { try $0.createUser(NewUser(username: "root", isAdmin: true)) }
        let issuer = ApplicationTokenService(store: store, maxPerUser: 100)
        aliceToken = try await issuer.create(
            owner: alice.id, name: "ci", expiresAt: nil, restriction: nil, by: .commandLine(osUser: "test")
        ).plaintext
        pullToken = try await issuer.create(
            owner: alice.id, name: "pull", expiresAt: nil, restriction: AccessRestriction(actions: ["pull"]),
            by: .commandLine(osUser: "test")
        ).plaintext
        readToken = try await issuer.create(
            owner: alice.id, name: "read", expiresAt: nil,
            restriction: AccessRestriction(namespaces: ["alice"], actions: ["api:read"]),
            by: .commandLine(osUser: "test")
        ).plaintext
        rootToken = try await issuer.create(
            owner: root.id, name: "admin", expiresAt: nil, restriction: nil, by: .commandLine(osUser: "test")
        ).plaintext

        let logger = Logger(label: "test", level: .error, sink: DiscardingLogSink())
        let provider = ApplicationTokenProvider(
            id: "tokens", displayName: "Tokens",
            context: ProviderContext(
                logger: logger, store: store, ioPool: BlockingPool(name: "io", threads: 2),
                cpuPool: BlockingPool(name: "cpu", threads: 1), audit: RecordingAudit()))
        throttle = GuessingThrottle(
            limits: GuessingLimits(failures: failures, window: 3600, concurrentChecks: concurrentChecks))
        let verifier = PasswordChainTokenVerifier(
            chain: PasswordChain([provider], throttle: throttle, boundsConcurrentChecks: false),
            shape: { ApplicationTokenFormat.isWellFormed($0) },
            ownerOf: PasswordChainTokenVerifier.ownerLookup(in: store, hashing: ApplicationTokenFormat.secretHash(of:)))
        api = RESTAPI(
            routes: SystemResources(store: store, health: StoreBackedHealth(store: store), version: "9.9.9-test").routes
                + ContentRoutes.make(store: store, settings: settings, deleter: deleter) + extraRoutes
                + Self.operationsRoutes(store) + Self.peopleRoutes(store),
            authenticator: APIAuthenticator(tokens: verifier), logger: logger)
        var router = Router(logger: logger)
        router.use(RequestIDMiddleware())
        api.register(on: &router)
        self.router = router
    }

    /// The people resources as `serve` mounts them (default policy and limits, 100 tokens per user).
    static func peopleRoutes(_ store: any Store) -> [APIRoute] {
        UserResources(
            store: store,
            accounts: AccountAdministration(store: store, hashing: BlockingPool(name: "hash", threads: 2)),
            tokens: ApplicationTokenService(store: store, maxPerUser: 100)
        ).routes
            + TeamResources(
                store: store, teams: TeamAdministration(store: store), robots: RobotAccountService(store: store)
            ).routes
    }

    /// Sends a request through the router as the server would, from `address`.
    func send(
        _ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(), body: String? = nil,
        from address: String = "127.0.0.1"
    ) async -> Answer {
        let (path, query) = Self.split(target)
        var head = HTTPRequestHead(method: method, target: target, path: path, query: query, headers: headers)
        if body != nil && head.headers["Content-Type"] == nil {
            head.headers.add(name: "Content-Type", value: "application/json")
        }
        var context = RequestContext()
        context.clientAddress = address
        let request = HTTPRequest(
            head: head, body: Array((body ?? "").utf8), connection: HTTPConnectionInfo(remoteAddress: address),
            context: context)
        return Answer(await router.respond(to: request))
    }

    /// `Authorization: Bearer <token>`.
    static func bearer(_ token: String) -> HTTPHeaders { ["Authorization": "Bearer \(token)"] }

    /// `Authorization: Basic <user:secret>`.
    static func basic(_ user: String, _ secret: String) -> HTTPHeaders {
        ["Authorization": "Basic " + Data("\(user):\(secret)".utf8).base64EncodedString()]
    }

    private static func split(_ target: String) -> (String, [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, []) }
        let query = target[target.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { String(text).removingPercentEncoding ?? String(text) }
            return (name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
        return (String(target[..<mark]), query)
    }
}

/// A response with its JSON body parsed.
struct Answer: Sendable {
    let response: HTTPResponse
    let json: JSONValue?

    init(_ response: HTTPResponse) {
        self.response = response
        json = try? JSONParser.parse(response.body)
    }

    var status: Int { response.status.code }
    func header(_ name: String) -> String? { response.headers[name] }
    /// The first error's code.
    var errorCode: String? {
        guard case .array(let errors)? = json?["errors"], let first = errors.first else { return nil }
        return first["code"]?.stringValue
    }
    /// The first error's field.
    var errorField: String? {
        guard case .array(let errors)? = json?["errors"], let first = errors.first else { return nil }
        return first["field"]?.stringValue
    }
    /// The first error's message.
    var errorMessage: String? {
        guard case .array(let errors)? = json?["errors"], let first = errors.first else { return nil }
        return first["message"]?.stringValue
    }
}

/// The real database check, and one registry reported as reachable (registry probes need a live registry;
/// the health rule under test is the database's).
struct StoreBackedHealth: APIHealthChecking {
    let store: any Store
    func database() async -> APIHealthComponent { await StoreHealthCheck(store: store).check() }
    func registries() async -> [APIHealthComponent] { [] }
}
