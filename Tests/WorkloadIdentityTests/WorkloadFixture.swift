import Authorization
import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import HTTPCore
import IdentityCore
import JOSE
import LocalPasswords
import OAuth2
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing
import Threading
import TokenAuthority
import WorkloadIdentity

/// A clock tests move by hand: every time rule (expiry, age, skew, sessions, JWKS lifetimes) reads it.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var reader: @Sendable () -> Date { { self.now } }
}

/// Keeps every audit event for assertions.
final class AuditLog: AuditRecording {
    private let storage = Mutex<[NewAuditEvent]>([])
    var events: [NewAuditEvent] { storage.withLock { $0 } }
    func record(_ event: NewAuditEvent) async { storage.withLock { $0.append(event) } }
    func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool { false }

    /// The workload events, in order.
    var workloadEvents: [NewAuditEvent] { events.filter { $0.action.hasPrefix("workload.") } }

    /// The detail of the last workload event as a JSON object.
    func lastWorkloadDetail() throws -> [String: Any] {
        let detail = try #require(workloadEvents.last?.detail)
        return try #require(JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any])
    }
}

/// The real token endpoint over a migrated in-memory SQLite store (user `alice` with a password), the real
/// `local` password provider, and `workloadIdentity` trusting a `HostileIssuer` on loopback (GitHub-shaped
/// claims), everything on one injected clock.
struct WorkloadFixture {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let service = "registry.example.com"
    static let otherService = "other.example.com"
    static let audience = "https://registry.example.com"
    static let alicePassword = "alice-Secret-1"

    let issuer: HostileIssuer
    let key: HostileIssuer.SigningKey
    let clock: TestClock
    let store: SQLiteStore
    let audit: AuditLog
    let ring: SigningKeyRing
    let pool: BlockingPool
    let authorization: AuthorizationSettings

    /// The settings of the tests: issuer `github` (the hostile issuer, profile github) and policy
    /// `ci-acme-api` pinned to owner 123456 and repository 456789, refs main and v* tags, no
    /// pull_request_target, push and pull on `acme/api` and `acme/api-*`.
    static func settings(
        issuer: String, jti: WorkloadPolicy.JTIUse = .reuse, grant: [WorkloadAction] = [.pull, .push],
        policies: Bool = true
    ) -> WorkloadIdentitySettings {
        let github = WorkloadIssuer(
            name: "github", issuer: issuer, profile: .github, audiences: [audience], algorithms: [.rs256, .es256],
            maxTokenAge: .seconds(20 * 60), clockSkew: .seconds(60))
        let policy = WorkloadPolicy(
            name: "ci-acme-api", issuer: "github",
            require: [.init("repository_owner_id", "123456"), .init("repository_id", "456789")],
            match: [
                .init("ref", ["refs/heads/main", "refs/tags/v*"]),
                .init("job_workflow_ref", ["acme/api/.github/workflows/release.yml@*"]),
            ],
            deny: [.init("event_name", ["pull_request_target"])],
            grant: [.init(namespace: "acme", repositories: ["api", "api-*"], actions: grant)], session: .seconds(3600),
            jti: jti)
        return WorkloadIdentitySettings(issuers: [github], policies: policies ? [policy] : [])
    }

    /// Starts the issuer and the store, runs `body`, and stops both.
    static func with<T>(
        authorization: AuthorizationSettings = AuthorizationSettings(), _ body: (WorkloadFixture) async throws -> T
    ) async throws -> T {
        let key = HostileIssuer.SigningKey(keyID: "ci-key-1", key: await TestKeys.rsa())
        let issuer = try HostileIssuer(keys: [key])
        let clock = TestClock(start)
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, now: clock.reader))
        let pool = BlockingPool(name: "workload-test-cpu", threads: 2)
        do {
            _ = try await store.migrate()
            let hash = try PasswordHash.make(password: alicePassword, method: .bcrypt(cost: 4))
            _ = try await store.write { writer in
                _ = try writer.createUser(NewUser(username: "alice", passwordHash: hash))
                let team = try writer.createTeam(name: "acme")
                _ = try writer.createNamespace(name: "acme", team: team.id, visibility: .private)
            }
            let certificate = try Certificate.selfSigned(
                key: TestKeys.ec, commonName: "portcullis", validity: .seconds(30 * 86400),
                notBefore: start.addingTimeInterval(-86400))
            let ring = try SigningKeyRing(keys: [
                try SigningKey(privateKey: TestKeys.ec, certificate: certificate, keyIDFormat: .libtrust)
            ])
            let fixture = WorkloadFixture(
                issuer: issuer, key: key, clock: clock, store: store, audit: AuditLog(), ring: ring, pool: pool,
                authorization: authorization)
            let result = try await body(fixture)
            await store.close()
            await issuer.stop()
            return result
        } catch {
            await store.close()
            await issuer.stop()
            throw error
        }
    }

    /// An endpoint instance over the shared store with `settings` (by default the tests' settings): a second
    /// call stands for another instance, or for a restart with changed configuration.
    func endpoint(_ settings: WorkloadIdentitySettings? = nil) throws -> Router {
        let settings = settings ?? Self.settings(issuer: issuer.issuer)
        let logger = Logger(label: "workload-test", level: .error)
        let local = try LocalPasswordProvider(
            id: "local", displayName: "Local",
            context: ProviderContext(
                logger: logger, store: store, ioPool: pool, cpuPool: pool, audit: audit, now: clock.reader),
            unknownUserHashMethod: .bcrypt(cost: 4))
        let workloads = WorkloadLogins(
            settings: settings, store: store, http: { _ in CurlHTTPClient() }, now: clock.reader)
        let endpoint = TokenEndpoint(
            settings: TokenEndpoint.Settings(
                path: "/v2/token", services: [Self.service, Self.otherService], authorization: authorization),
            chain: PasswordChain([local]), store: store,
            minter: TokenMinter(issuer: "portcullis", lifetime: .seconds(300), keyRing: ring, reuseWindow: .zero),
            refreshTokens: RefreshTokenService(store: store, now: clock.reader), audit: audit, logger: logger,
            workloads: workloads, now: clock.reader)
        var router = Router(logger: logger)
        endpoint.register(on: &router)
        return router
    }

    // MARK: Tokens

    /// GitHub-shaped claims of a release job of acme/api on main, issued now, valid 5 minutes.
    func claims(_ changes: [String: any Sendable] = [:]) -> [String: any Sendable] {
        let now = Int(clock.now.timeIntervalSince1970)
        var claims: [String: any Sendable] = [
            "iss": issuer.issuer, "aud": Self.audience, "iat": now, "nbf": now, "exp": now + 300,
            "jti": "jti-\(now)", "sub": "repo:acme/api:ref:refs/heads/main", "repository": "acme/api",
            "repository_id": "456789", "repository_owner": "acme", "repository_owner_id": "123456",
            "ref": "refs/heads/main", "ref_type": "branch", "event_name": "push", "run_id": "9001",
            "job_workflow_ref": "acme/api/.github/workflows/release.yml@refs/heads/main",
            "runner_environment": "github-hosted",
        ]
        claims.merge(changes) { $1 }
        return claims
    }

    /// `claims(changes)` signed with the published key.
    func token(_ changes: [String: any Sendable] = [:]) -> String { HostileIssuer.sign(claims(changes), with: key) }

    // MARK: Requests

    /// `GET /v2/token` as docker sends it after `docker login -u username -p password`.
    func get(
        on router: Router, username: String, password: String, scopes: [String] = ["repository:acme/api:pull,push"],
        offline: Bool = false
    ) async -> HTTPResponse {
        var query = [("account", username)] + scopes.map { ("scope", $0) } + [("service", Self.service)]
        if offline { query.append(("offline_token", "true")) }
        var headers = HTTPHeaders([("Host", "auth.example"), ("User-Agent", "docker/27.0")])
        headers.add(
            name: "Authorization", value: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        let target = "/v2/token?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return await router.respond(
            to: Self.request(
                HTTPRequestHead(
                    method: .get, target: target, path: "/v2/token",
                    query: query.map { (name: $0.0, value: $0.1) }, headers: headers)))
    }

    /// `POST /v2/token` with a form.
    func post(on router: Router, _ form: [(String, String)]) async -> HTTPResponse {
        let body = form.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        let headers = HTTPHeaders([("Host", "auth.example"), ("Content-Type", "application/x-www-form-urlencoded")])
        return await router.respond(
            to: Self.request(
                HTTPRequestHead(method: .post, target: "/v2/token", path: "/v2/token", headers: headers),
                body: Array(body.utf8)))
    }

    /// A refresh as docker sends it with the refresh token it keeps.
    func refresh(on router: Router, _ token: String, scope: String = "repository:acme/api:pull,push") async
        -> HTTPResponse
    {
        await post(
            on: router,
            [
                ("grant_type", "refresh_token"), ("refresh_token", token), ("service", Self.service),
                ("scope", scope), ("client_id", "docker"),
            ])
    }

    private static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private static func request(_ head: HTTPRequestHead, body: [UInt8] = []) -> HTTPRequest {
        var context = RequestContext()
        context.clientAddress = "192.0.2.10"
        context.requestID = "req-wi"
        return HTTPRequest(
            head: head, body: body, connection: HTTPConnectionInfo(remoteAddress: "192.0.2.10"), context: context)
    }

    // MARK: Answers

    /// The granted `access` of a 200 answer (scope texts, sorted) and its refresh token, after checking the
    /// minted token's signature and subject.
    func granted(
        _ response: HTTPResponse, subject: String = "ci-acme-api", sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> (scopes: [String], refreshToken: String?)
    {
        #expect(response.status == .ok, "\(response.status): \(Self.text(response))", sourceLocation: sourceLocation)
        let object = try #require(
            JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], sourceLocation: sourceLocation)
        let token = try #require(object["token"] as? String, sourceLocation: sourceLocation)
        let verified = try UnverifiedJWT(compact: token).verify(
            using: ring.verificationKeys, allowedAlgorithms: [.es256], now: clock.now, leeway: .zero)
        #expect(verified.claims.subject == subject, sourceLocation: sourceLocation)
        struct Claims: Decodable { var access: [AccessClaim] }
        let access = try verified.claims.decode(Claims.self).access
        return (access.map(\.scopeText).sorted(), object["refresh_token"] as? String)
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }
}
