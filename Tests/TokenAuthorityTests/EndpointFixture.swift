import Authorization
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import JOSE
import SQLiteStorage
import Storage
import Synchronization
import TestSupport
import Testing

@testable import TokenAuthority

/// An audit sink that keeps every event for assertions; it records without waiting only while
/// `acceptsWithoutWaiting` is set (off by default, like a recorder that waits for commits).
final class RecordingAudit: AuditRecording {
    private let storage = Mutex<[NewAuditEvent]>([])
    private let accepting: Atomic<Bool>
    /// Every event recorded so far, in order.
    var events: [NewAuditEvent] { storage.withLock { $0 } }

    init(acceptsWithoutWaiting: Bool = false) {
        accepting = Atomic(acceptsWithoutWaiting)
    }

    /// Whether `recordWithoutWaiting` records (a recorder with room in its backlog) or refuses (a full one).
    var acceptsWithoutWaiting: Bool {
        get { accepting.load(ordering: .relaxed) }
        set { accepting.store(newValue, ordering: .relaxed) }
    }

    func record(_ event: NewAuditEvent) async { storage.withLock { $0.append(event) } }

    func recordWithoutWaiting(_ event: NewAuditEvent) -> Bool {
        guard acceptsWithoutWaiting else { return false }
        storage.withLock { $0.append(event) }
        return true
    }
}

/// A password provider whose decision the test scripts.
struct ScriptedProvider: PasswordAuthenticating {
    let id: ProviderID
    var displayName: String { id.rawValue }
    let decide: @Sendable (PasswordCredentials) async throws -> PasswordOutcome
    /// The answer from memory, if the test scripts one.
    let cached: (@Sendable (PasswordCredentials) -> PasswordOutcome?)?

    init(
        _ id: ProviderID, cached: (@Sendable (PasswordCredentials) -> PasswordOutcome?)? = nil,
        decide: @escaping @Sendable (PasswordCredentials) async throws -> PasswordOutcome
    ) {
        self.id = id
        self.cached = cached
        self.decide = decide
    }

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        try await decide(credentials)
    }

    func cachedOutcome(for credentials: PasswordCredentials) -> PasswordOutcome? {
        cached?(credentials)
    }
}

extension ScriptedProvider {
    /// An `application-tokens` provider that authenticates `secret` as the application token of `user`,
    /// with `restriction`, and leaves every other password to the next provider.
    /// Its cached answer is the same decision (so the endpoint's fast path sees a cache that always hits).
    static func applicationToken(of user: User, secret: String, restriction: AccessRestriction? = nil) -> Self {
        let decide: @Sendable (PasswordCredentials) -> PasswordOutcome = { credentials in
            guard credentials.password == secret else { return .notMine }
            return .authenticated(
                ExternalIdentity(
                    provider: "application-tokens", subject: String(user.id.rawValue), username: user.username,
                    origin: .localAccount(userID: user.id.rawValue), restriction: restriction,
                    credential: .applicationToken))
        }
        return ScriptedProvider("application-tokens", cached: decide) { decide($0) }
    }
}

/// The local-password behaviour the endpoint relies on, over the real store and real bcrypt hashes:
/// a user with a hash is this provider's, a wrong password is `.rejected(.invalidCredentials)`.
/// (The LocalPasswords plugin is not importable from this target; it also checks `isEnabled`, which
/// this stub leaves to the endpoint's account resolution on purpose.)
struct StoredPasswordProvider: PasswordAuthenticating {
    let id: ProviderID = "local"
    var displayName: String { "Local accounts" }
    let store: any Store

    func authenticate(_ credentials: PasswordCredentials) async throws -> PasswordOutcome {
        let name = credentials.username
        let user: User?
        do {
            user = try await store.read { try $0.user(named: name) }
        } catch {
            throw ProviderError(.internalFailure, provider: id, reason: "\(error)")
        }
        guard let user, let hash = user.passwordHash else { return .notMine }
        guard PasswordHash.verify(password: credentials.password, against: hash) else {
            return .rejected(.invalidCredentials)
        }
        return .authenticated(
            ExternalIdentity(
                provider: id, subject: String(user.id.rawValue), username: user.username,
                origin: .localAccount(userID: user.id.rawValue)))
    }
}

/// The accounts every endpoint test starts from, with their passwords.
enum Accounts {
    static let rootPassword = "root-Secret-1"
    static let alicePassword = "alice-Secret-1"
    static let bobPassword = "bob-Secret-1"
    /// Colons, spaces and UTF-8: everything after the first `:` of Basic credentials is the password.
    static let carolPassword = "pa:ss wörd ✓ :: end "
    static let davePassword = "dave-Secret-1"
}

/// A token endpoint over a migrated in-memory SQLite store, a key ring made in code, the stored-password
/// provider (after any extra providers a test puts first) and a recording audit sink.
///
/// People: `root` (admin), `alice`, `bob`, `carol`, `dave` (disabled), each with a private personal
/// namespace. Namespaces: `opensource` (public, team `oss` owned by bob), `internal` (protected,
/// team `oss`), the global namespace `registry` (public).
struct EndpointFixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let issuedAtText = "2027-01-15T08:00:00Z"
    static let service = "my-registry"
    static let otherService = "other-registry"
    static let issuer = "portcullis-test"
    static let lifetime = 300
    static let clientAddress = "203.0.113.7"

    let store: SQLiteStore
    let router: Router
    let endpoint: TokenEndpoint
    let audit: RecordingAudit
    let logLines: LineCollector
    let ring: SigningKeyRing
    let refreshTokens: RefreshTokenService
    let users: [String: User]

    /// Builds the fixture, runs `body`, and closes the store.
    static func with<T>(
        providers extra: @escaping @Sendable (any Store, [String: User]) -> [any PasswordAuthenticating] = { _, _ in []
        },
        authorization: AuthorizationSettings = AuthorizationSettings(),
        audit: RecordingAudit = RecordingAudit(), reuseWindow: Duration = .zero, throttle: GuessingThrottle? = nil,
        refreshPolicy: RefreshTokenPolicy = RefreshTokenPolicy(),
        storeClock: @escaping @Sendable () -> Date = { now },
        recorder: ((SQLiteStore) -> any AuditRecording)? = nil,
        passwords: RegistryPasswords = RegistryPasswords(), storedPasswords: Bool = true,
        _ body: (EndpointFixture) async throws -> T
    ) async throws -> T {
        // `storeClock` drives the store's timestamps and the refresh tokens' expiry; tokens are minted at `now`.
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory, now: storeClock))
        do {
            _ = try await store.migrate()
            let hashes = try [
                "root": Accounts.rootPassword, "alice": Accounts.alicePassword, "bob": Accounts.bobPassword,
                "carol": Accounts.carolPassword, "dave": Accounts.davePassword,
            ].mapValues { try PasswordHash.make(password: $0, method: .bcrypt(cost: 4)) }
            let users = try await store.write { writer in try populate(writer, hashes: hashes) }

            let certificate = try Certificate.selfSigned(
                key: TestKeys.ec, commonName: "portcullis", validity: .seconds(30 * 86400),
                notBefore: now.addingTimeInterval(-86400))
            let ring = try SigningKeyRing(keys: [
                try SigningKey(privateKey: TestKeys.ec, certificate: certificate, keyIDFormat: .libtrust)
            ])
            let lines = LineCollector()
            let refreshTokens = RefreshTokenService(store: store, policy: refreshPolicy, now: storeClock)
            var settings = TokenEndpoint.Settings(
                path: "/v2/token", services: [service, otherService], authorization: authorization)
            settings.passwords = passwords
            let stored: [any PasswordAuthenticating] = storedPasswords ? [StoredPasswordProvider(store: store)] : []
            let endpoint = TokenEndpoint(
                settings: settings,
                chain: PasswordChain(extra(store, users) + stored, throttle: throttle, now: { now }),
                store: store,
                minter: TokenMinter(
                    issuer: issuer, lifetime: .seconds(lifetime), keyRing: ring, reuseWindow: reuseWindow),
                refreshTokens: refreshTokens, audit: recorder?(store) ?? audit,
                logger: Logger(label: "token", level: .debug, sink: lines), now: { now })
            var router = Router(logger: Logger(label: "http", sink: lines))
            endpoint.register(on: &router)
            let fixture = EndpointFixture(
                store: store, router: router, endpoint: endpoint, audit: audit, logLines: lines, ring: ring,
                refreshTokens: refreshTokens, users: users)
            let result = try await body(fixture)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    private static func populate(_ writer: any StoreWriting, hashes: [String: String]) throws -> [String: User] {
        var users: [String: User] = [:]
        for name in ["root", "alice", "bob", "carol", "dave"] {
            let user = try writer.createUser(
                NewUser(username: name, passwordHash: hashes[name], isAdmin: name == "root"))
            let team = try writer.createTeam(name: "\(name)-personal", description: nil, isHidden: true)
            _ = try writer.addTeamMember(team: team.id, user: user.id, role: .owner)
            _ = try writer.createNamespace(
                name: name, team: team.id, visibility: .private, kind: .personal, personalOwner: user.id,
                description: nil)
            users[name] = user
        }
        try writer.setEnabled(false, for: users["dave"]!.id)
        let globalTeam = try writer.createTeam(name: "global", description: nil, isHidden: true)
        _ = try writer.createNamespace(name: "registry", team: globalTeam.id, visibility: .public, kind: .global)
        let oss = try writer.createTeam(name: "oss")
        _ = try writer.addTeamMember(team: oss.id, user: users["bob"]!.id, role: .owner)
        _ = try writer.createNamespace(name: "opensource", team: oss.id, visibility: .public)
        _ = try writer.createNamespace(name: "internal", team: oss.id, visibility: .protected)
        return users
    }

    // MARK: Requests

    /// `Authorization: Basic base64(username:password)`.
    static func basic(_ username: String, _ password: String) -> String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// A `GET /v2/token` with these (already decoded) query parameters and optional Authorization header.
    func get(_ query: [(String, String)], authorization: String? = nil) async -> HTTPResponse {
        var headers = HTTPHeaders([("Host", "auth.example"), ("User-Agent", "skopeo/1.9.3")])
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        let target = "/v2/token?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return await send(
            HTTPRequestHead(
                method: .get, target: target, path: "/v2/token", query: query.map { (name: $0.0, value: $0.1) },
                headers: headers))
    }

    /// A `GET` as skopeo sends it for `user` with Basic credentials and `account`.
    func get(as user: String, password: String, scopes: [String], extra: [(String, String)] = []) async
        -> HTTPResponse
    {
        await get(
            [("account", user)] + scopes.map { ("scope", $0) } + [("service", Self.service)] + extra,
            authorization: Self.basic(user, password))
    }

    /// A `POST /v2/token` with `body` (raw bytes as sent) and the given content type.
    func post(_ body: String, contentType: String? = "application/x-www-form-urlencoded") async -> HTTPResponse {
        var headers = HTTPHeaders([("Host", "auth.example"), ("Transfer-Encoding", "chunked")])
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return await send(
            HTTPRequestHead(method: .post, target: "/v2/token", path: "/v2/token", headers: headers),
            body: Array(body.utf8))
    }

    private func send(_ head: HTTPRequestHead, body: [UInt8] = []) async -> HTTPResponse {
        await router.respond(to: Self.request(head, body: body))
    }

    /// The request `get` and `post` send, as the middleware would have prepared it.
    static func request(_ head: HTTPRequestHead, body: [UInt8] = []) -> HTTPRequest {
        var context = RequestContext()
        context.clientAddress = Self.clientAddress
        context.requestID = "req-1"
        return HTTPRequest(
            head: head, body: body, connection: HTTPConnectionInfo(remoteAddress: Self.clientAddress),
            context: context)
    }

    /// The `GET /v2/token` head `get(as:password:scopes:)` sends, for requests built by hand.
    static func getHead(as user: String?, password: String = "", scopes: [String], extra: [(String, String)] = [])
        -> HTTPRequestHead
    {
        var headers = HTTPHeaders([("Host", "auth.example"), ("User-Agent", "skopeo/1.9.3")])
        var query = scopes.map { ("scope", $0) } + [("service", Self.service)] + extra
        if let user {
            headers.add(name: "Authorization", value: basic(user, password))
            query.insert(("account", user), at: 0)
        }
        let target = "/v2/token?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return HTTPRequestHead(
            method: .get, target: target, path: "/v2/token", query: query.map { (name: $0.0, value: $0.1) },
            headers: headers)
    }

    // MARK: Checking answers

    /// The verified token of a 200 answer, after checking the response shape clients rely on.
    func verifiedToken(_ response: HTTPResponse, subject: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws -> MintedToken
    {
        #expect(response.status == .ok, "status \(response.status): \(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        #expect(response.headers["Cache-Control"] == "no-store", sourceLocation: sourceLocation)
        #expect(response.headers["Pragma"] == "no-cache", sourceLocation: sourceLocation)
        let object = try response.jsonObject()
        let token = try #require(object["token"] as? String, sourceLocation: sourceLocation)
        #expect(object["access_token"] as? String == token, sourceLocation: sourceLocation)
        // An integer and an RFC 3339 string, exactly: skopeo fails on a numeric issued_at.
        #expect(response.text.contains("\"expires_in\":\(Self.lifetime),"), sourceLocation: sourceLocation)
        #expect(
            response.text.contains("\"issued_at\":\"\(Self.issuedAtText)\""), "\(response.text)",
            sourceLocation: sourceLocation)

        let verified = try UnverifiedJWT(compact: token).verify(
            using: ring.verificationKeys, allowedAlgorithms: [.es256], now: Self.now, leeway: .zero)
        #expect(verified.claims.issuer == Self.issuer, sourceLocation: sourceLocation)
        #expect(verified.claims.subject == subject, sourceLocation: sourceLocation)
        #expect(verified.claims.audience == [Self.service], sourceLocation: sourceLocation)
        let issuedAt = try #require(verified.claims.issuedAt, sourceLocation: sourceLocation)
        let expiresAt = try #require(verified.claims.expiresAt, sourceLocation: sourceLocation)
        #expect(issuedAt == Self.now, sourceLocation: sourceLocation)
        #expect(expiresAt.timeIntervalSince(issuedAt) == TimeInterval(Self.lifetime), sourceLocation: sourceLocation)
        struct Claims: Decodable { var access: [AccessClaim] }
        let access = try verified.claims.decode(Claims.self).access
        return MintedToken(
            subject: verified.claims.subject ?? "", access: access, refreshToken: object["refresh_token"] as? String,
            scope: object["scope"] as? String)
    }

    /// The single registry error of a refusal, after checking its status and JSON shape.
    func registryError(
        _ response: HTTPResponse, status: HTTPStatus, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (code: String, message: String) {
        #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"] == "application/json", sourceLocation: sourceLocation)
        let errors = try #require(
            try response.jsonObject()["errors"] as? [[String: Any]], sourceLocation: sourceLocation)
        try #require(errors.count == 1, sourceLocation: sourceLocation)
        let code = try #require(errors[0]["code"] as? String, sourceLocation: sourceLocation)
        let message = try #require(errors[0]["message"] as? String, sourceLocation: sourceLocation)
        return (code, message)
    }

    /// The token-request audit events, decoded.
    var auditRecords: [AuditedRequest] {
        get throws { try audit.events.map(AuditedRequest.init) }
    }
}

/// What a test reads from a minted token and its response.
struct MintedToken {
    var subject: String
    var access: [AccessClaim]
    var refreshToken: String?
    var scope: String?

    /// The granted actions by resource (`repository:alice/demo`), as sets.
    var grants: [String: Set<String>] {
        Dictionary(access.map { ("\($0.type):\($0.name)", Set($0.actions)) }, uniquingKeysWith: { $0.union($1) })
    }
}

/// One `token.issue` audit event with its detail decoded.
struct AuditedRequest {
    var event: NewAuditEvent
    var requested: [String]
    var granted: [String]
    var reason: String?
    var provider: String?
    var service: String?

    init(_ event: NewAuditEvent) throws {
        self.event = event
        let detail = try #require(event.detail)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any])
        requested = try #require(object["requested"] as? [String])
        granted = try #require(object["granted"] as? [String])
        reason = object["reason"] as? String
        provider = object["provider"] as? String
        service = object["service"] as? String
    }
}

extension HTTPResponse {
    /// The body as UTF-8 text.
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    func jsonObject() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }
}

/// Form-encodes pairs the way clients do (`+` for space is not used; everything else reserved is escaped).
func formBody(_ pairs: [(String, String)]) -> String {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    return pairs.map {
        "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
    }.joined(separator: "&")
}
