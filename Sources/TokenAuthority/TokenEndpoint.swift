import Authorization
import CryptoCore
import Diagnostics
import Foundation
import HTTPCore
import IdentityCore
import Storage
import Threading

/// The registry token endpoint (`GET` and `POST /v2/token`): authenticates the caller through the
/// password chain or a refresh token, grants what the access policy allows of the requested scopes,
/// and answers with a signed bearer token in the shape docker, skopeo and podman expect.
///
/// Threading: handlers run as tasks; every store access goes through `Store.read`/`write`, which run on
/// the store's own threads, and password checks run on the providers' pools.
public struct TokenEndpoint: Sendable {
    /// What the endpoint needs to know besides its collaborators.
    public struct Settings: Sendable {
        /// The path of the endpoint (`/v2/token`).
        public var path: String
        /// The `service` names of the configured registries; any other service is refused.
        public var services: Set<String>
        /// The policy switches.
        public var authorization: AuthorizationSettings
        /// Passwords at the registry: accepted or not, and where application tokens are made.
        public var passwords = RegistryPasswords()

        /// Creates settings.
        public init(path: String, services: Set<String>, authorization: AuthorizationSettings) {
            self.path = path
            self.services = services
            self.authorization = authorization
        }
    }

    let settings: Settings
    let chain: PasswordChain
    let store: any Store
    let minter: TokenMinter
    let refreshTokens: RefreshTokenService
    let audit: any AuditRecording
    let logger: Logger
    let now: @Sendable () -> Date
    /// Requests whose scopes take more bytes than this are decided without the caches.
    static let cacheableScopeBytes = 2048
    /// Well-formed scope lists by their raw texts: clients ask for the same few scopes over and over.
    let parsedScopes = BoundedCache<[String], ParsedScopes>(capacity: 10_000)
    /// Maps federated identities to local accounts; without it they resolve through existing links only.
    let linker: (any IdentityLinking)?
    /// CI workload logins under trust policies; nil when none are configured.
    let workloads: WorkloadLogins?
    /// Decisions by (identity, scopes), trusted while the store's authorization generation holds.
    let decisions = AuthorizationCache<DecisionKey, Decision>(capacity: 10_000)

    /// What a decision depends on besides the store: who asks (nil: anonymous) and for what. Only the
    /// parts of an identity that `PrincipalResolver` reads are kept: fewer strings to hash per request.
    struct DecisionKey: Hashable, Sendable {
        struct Asker: Hashable, Sendable {
            var provider: ProviderID
            var subject: String
            var origin: IdentityOrigin
            var restriction: AccessRestriction?
            var credential: CredentialKind
        }

        var asker: Asker?
        var scopes: [ResourceScope]

        init(identity: ExternalIdentity?, scopes: [ResourceScope]) {
            asker = identity.map {
                Asker(
                    provider: $0.provider, subject: $0.subject, origin: $0.origin, restriction: $0.restriction,
                    credential: $0.credential)
            }
            self.scopes = scopes
        }
    }

    /// The account an identity acts as (nil: anonymous) and what it was granted.
    struct Decision: Sendable {
        var resolution: PrincipalResolution?
        /// The grants as the token's `access` claim and as scope texts, worked out once per decision
        /// rather than per request.
        var granted: GrantedAccess

        init(resolution: PrincipalResolution?, grants: [GrantedScope]) {
            self.resolution = resolution
            self.granted = GrantedAccess(grants)
        }
    }

    /// The scopes granted, in the shapes a response, a token and an audit line need.
    struct GrantedAccess: Sendable {
        /// The granted scopes (those granted nothing left out).
        var scopes: [ResourceScope]
        /// The token's `access` claim.
        var claims: [AccessClaim]
        /// Each granted scope as text, for the audit log.
        var texts: [String]

        init(_ grants: [GrantedScope]) {
            scopes = GrantedScope.accessClaim(grants)
            claims = scopes.map {
                AccessClaim(
                    type: $0.type, name: $0.name, actions: $0.actions.sorted(by: RegistryAction.renderingOrder))
            }
            texts = scopes.map { $0.render() }
        }
    }

    /// Creates the endpoint.
    public init(
        settings: Settings, chain: PasswordChain, store: any Store, minter: TokenMinter,
        refreshTokens: RefreshTokenService, audit: any AuditRecording, logger: Logger,
        linker: (any IdentityLinking)? = nil, workloads: WorkloadLogins? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.linker = linker
        self.workloads = workloads
        self.settings = settings
        self.chain = chain
        self.store = store
        self.minter = minter
        self.refreshTokens = refreshTokens
        self.audit = audit
        self.logger = logger
        self.now = now
    }

    /// Adds `GET` and `POST` of the endpoint's path to `router`, each with its event-loop fast path for
    /// requests answered entirely from caches.
    public func register(on router: inout Router) {
        let endpoint = self
        router.get(settings.path, immediate: { request in endpoint.immediateGet(request) }) { request in
            await endpoint.handleGet(request)
        }
        // Token POST bodies are small forms; 64 KiB leaves room for long scope lists.
        router.post(settings.path, bodyLimit: 64 * 1024, immediate: { request in endpoint.immediatePost(request) }) {
            request in await endpoint.handlePost(request)
        }
    }

    // MARK: Fast path (every step a cache hit)

    /// The answer `handleGet` would give, when it can be given at once: the credentials (if any) are
    /// vouched for by the providers' caches, the decision is cached under the current authorization
    /// generation, no refresh token is asked for, and the audit event is queued without waiting. Nil in
    /// every other case (failures and refusals included), leaving the request to `handleGet`.
    ///
    /// Synchronous, for the event loop: it signs a token only when the reuse window has none (one ECDSA
    /// signature, what the task would have spent on the same thread).
    func immediateGet(_ request: HTTPRequest) -> HTTPResponse? {
        let query = request.head
        guard TokenRequestParameters.repeatProblem(query: query.query, headers: query.headers) == nil,
            let service = try? validService(query.queryValue("service")),
            query.queryValue("offline_token") != "true",
            let (scopes, texts) = try? parseScopes(query.queryValues("scope"))
        else { return nil }
        var record = TokenRequestAudit(
            username: nil, clientIP: request.context.clientAddress, service: service, requestedScopes: texts,
            grantedScopes: [], outcome: .success)
        var identity: ExternalIdentity?
        if let header = request.headers["Authorization"] {
            // A CI job token makes the header a kilobyte or more and never takes this path: leave such headers
            // to `handleGet` rather than decode them twice (a cached password is far shorter).
            guard workloads?.isEnabled != true || header.utf8.count <= Self.longestImmediateHeader,
                let credentials = Self.plainBasicCredentials(header, clientAddress: request.context.clientAddress),
                workloads?.policy(forLogin: credentials.username, password: credentials.password) == nil
            else { return nil }
            if let account = query.queryValue("account"), !account.isEmpty, account != credentials.username {
                return nil
            }
            guard let cached = cachedIdentity(credentials, record: &record) else { return nil }
            identity = cached
        }
        return immediateAnswer(for: identity, scopes: scopes, service: service, record: &record, oauth: false)
    }

    /// The answer `handlePost` would give to a `grant_type=password` form whose every step is a cache hit
    /// (as `immediateGet`), or nil.
    /// With workload identity on, longer `Authorization` headers skip the immediate path (see `immediateGet`).
    static let longestImmediateHeader = 512

    func immediatePost(_ request: HTTPRequest) -> HTTPResponse? {
        guard let contentType = request.headers["Content-Type"],
            contentType.lowercased().hasPrefix("application/x-www-form-urlencoded"),
            let form = URLEncodedForm.decode(request.body),
            TokenRequestParameters.repeatProblem(form: form, headers: request.headers) == nil
        else { return nil }
        func value(_ name: String) -> String? { form.first { $0.name == name }?.value }
        guard value("grant_type") == "password", value("access_type") != "offline",
            let service = try? validService(value("service")),
            let (scopes, texts) = try? parseScopes(form.filter { $0.name == "scope" }.map(\.value)),
            let username = value("username"), let password = value("password"),
            workloads?.policy(forLogin: username, password: password) == nil
        else { return nil }
        var record = TokenRequestAudit(
            username: username, clientIP: request.context.clientAddress, service: service, requestedScopes: texts,
            grantedScopes: [], outcome: .success)
        let credentials = PasswordCredentials(
            username: username, password: password, clientAddress: request.context.clientAddress)
        guard let identity = cachedIdentity(credentials, record: &record) else { return nil }
        return immediateAnswer(for: identity, scopes: scopes, service: service, record: &record, oauth: true)
    }

    /// The identity the password chain's caches vouch for, noted in `record` as `authenticate` notes it.
    private func cachedIdentity(_ credentials: PasswordCredentials, record: inout TokenRequestAudit)
        -> ExternalIdentity?
    {
        // A federated identity would still need the linker, which reads the store.
        guard let identity = chain.cachedAuthentication(credentials) else { return nil }
        if linker != nil, case .federated = identity.origin { return nil }
        record.username = credentials.username
        record.provider = identity.provider.rawValue
        return identity
    }

    /// The token response for a cached decision, once its audit event is queued; nil when the decision is
    /// not cached or refuses, signing fails, or the audit recorder would make the caller wait.
    private func immediateAnswer(
        for identity: ExternalIdentity?, scopes: [ResourceScope], service: String, record: inout TokenRequestAudit,
        oauth: Bool
    ) -> HTTPResponse? {
        guard let decision = cachedDecision(identity, scopes: scopes),
            let (principal, granted) = try? apply(decision, of: identity, record: &record)
        else { return nil }
        record.grantedScopes = granted.texts
        guard
            let issued = try? minter.mint(
                subject: principal?.username ?? "", audience: service, access: granted.claims, now: now())
        else { return nil }
        let response = tokenResponse(issued, granted: granted, refreshToken: nil, oauth: oauth)
        guard audit.recordWithoutWaiting(record.event(at: now())) else { return nil }
        return response
    }

    // MARK: GET (docker login/pull/push, skopeo)

    func handleGet(_ request: HTTPRequest) async -> HTTPResponse {
        let query = request.head
        var record = TokenRequestAudit(
            username: nil, clientIP: request.context.clientAddress, service: query.queryValue("service") ?? "",
            requestedScopes: [], grantedScopes: [], outcome: .success)
        do {
            if let problem = TokenRequestParameters.repeatProblem(query: query.query, headers: query.headers) {
                throw problem
            }
            let service = try validService(query.queryValue("service"))
            let (scopes, texts) = try parseScopes(query.queryValues("scope"))
            record.requestedScopes = texts
            var identity: ExternalIdentity?
            if let credentials = try Self.basicCredentials(request) {
                record.username = credentials.username
                if let account = query.queryValue("account"), !account.isEmpty, account != credentials.username {
                    throw TokenEndpointError.accountMismatch
                }
                if let policy = workloads?.policy(forLogin: credentials.username, password: credentials.password) {
                    return await workloadLogin(
                        credentials.password, policy: policy,
                        request: WorkloadRequest(
                            service: service, scopes: scopes, requestedTexts: texts,
                            wantsRefresh: query.queryValue("offline_token") == "true",
                            clientIP: request.context.clientAddress, oauth: false))
                }
                identity = try await authenticate(credentials, record: &record)
            }
            let (principal, granted) = try await authorize(identity, scopes: scopes, record: &record)
            let wantsRefresh = query.queryValue("offline_token") == "true" && principal != nil
            let response = try await issue(
                to: principal, granted: granted, service: service, refresh: wantsRefresh, record: &record,
                client: request.headers["User-Agent"])
            try await auditIssuance(record)
            return response
        } catch let error as TokenEndpointError {
            if error.isAudited { await auditRecord(record, outcome: error.auditOutcome, reason: error.auditReason) }
            return error.response(oauth: false)
        } catch {
            logger.error("token request failed", ["error": "\(error)", "request_id": request.context.requestID])
            await auditRecord(record, outcome: .failure, reason: "internal error")
            return TokenEndpointError.internalFailure.response(oauth: false)
        }
    }

    // MARK: POST (OAuth2: grant_type password and refresh_token)

    func handlePost(_ request: HTTPRequest) async -> HTTPResponse {
        var record = TokenRequestAudit(
            username: nil, clientIP: request.context.clientAddress, service: "", requestedScopes: [],
            grantedScopes: [], outcome: .success)
        do {
            guard let contentType = request.headers["Content-Type"],
                contentType.lowercased().hasPrefix("application/x-www-form-urlencoded")
            else { throw TokenEndpointError.badRequest("the token POST must be application/x-www-form-urlencoded") }
            guard let form = URLEncodedForm.decode(request.body) else {
                throw TokenEndpointError.badRequest("the form body is not valid URL encoding")
            }
            if let problem = TokenRequestParameters.repeatProblem(form: form, headers: request.headers) {
                throw problem
            }
            func value(_ name: String) -> String? { form.first { $0.name == name }?.value }
            record.service = value("service") ?? ""
            let service = try validService(value("service"))
            let (scopes, texts) = try parseScopes(form.filter { $0.name == "scope" }.map(\.value))
            record.requestedScopes = texts
            let identity: ExternalIdentity
            var wantsRefresh = false
            switch value("grant_type") {
            case "password":
                guard let username = value("username"), let password = value("password") else {
                    throw TokenEndpointError.badRequest("grant_type=password needs username and password")
                }
                record.username = username
                if let policy = workloads?.policy(forLogin: username, password: password) {
                    return await workloadLogin(
                        password, policy: policy,
                        request: WorkloadRequest(
                            service: service, scopes: scopes, requestedTexts: texts,
                            wantsRefresh: value("access_type") == "offline", clientIP: request.context.clientAddress,
                            oauth: true))
                }
                identity = try await authenticate(
                    PasswordCredentials(
                        username: username, password: password, clientAddress: request.context.clientAddress),
                    record: &record)
                wantsRefresh = value("access_type") == "offline"
            case "refresh_token":
                guard let token = value("refresh_token"), !token.isEmpty else {
                    throw TokenEndpointError.badRequest("grant_type=refresh_token needs refresh_token")
                }
                if workloads != nil, token.hasPrefix(WorkloadLogins.refreshPrefix) {
                    return await workloadRefresh(
                        token,
                        request: WorkloadRequest(
                            service: service, scopes: scopes, requestedTexts: texts, wantsRefresh: false,
                            clientIP: request.context.clientAddress, oauth: true))
                }
                identity = try await redeem(token, service: service)
                record.provider = "refresh-token"
            case let other:
                throw TokenEndpointError.unsupportedGrant(other ?? "")
            }
            let (principal, granted) = try await authorize(identity, scopes: scopes, record: &record)
            let response = try await issue(
                to: principal, granted: granted, service: service, refresh: wantsRefresh, record: &record, oauth: true,
                client: request.headers["User-Agent"] ?? value("client_id"))
            try await auditIssuance(record)
            return response
        } catch let error as TokenEndpointError {
            if error.isAudited { await auditRecord(record, outcome: error.auditOutcome, reason: error.auditReason) }
            return error.response(oauth: true)
        } catch {
            logger.error("token request failed", ["error": "\(error)", "request_id": request.context.requestID])
            await auditRecord(record, outcome: .failure, reason: "internal error")
            return TokenEndpointError.internalFailure.response(oauth: true)
        }
    }

    // MARK: Steps

    private func validService(_ service: String?) throws(TokenEndpointError) -> String {
        guard let service, !service.isEmpty else {
            throw TokenEndpointError.badRequest("the service parameter is missing")
        }
        guard settings.services.contains(service) else { throw TokenEndpointError.unknownService(service) }
        return service
    }

    /// The requested scopes, parsed and merged, with their texts for the audit log.
    private func parseScopes(_ values: [String]) throws(TokenEndpointError) -> ParsedScopes {
        // Only ordinary requests are cached, so 10,000 entries stay a few megabytes however long a
        // hostile client makes its scope lists.
        let cacheable = values.reduce(0) { $0 + $1.utf8.count } <= Self.cacheableScopeBytes
        if cacheable, let known = parsedScopes.value(for: values) { return known }
        let parsed = ScopeParser.parse(values)
        if let problem = parsed.problems.first { throw TokenEndpointError.badRequest("invalid \(problem.message)") }
        let result = (scopes: parsed.scopes, texts: parsed.scopes.map { $0.render() })
        if cacheable { parsedScopes.insert(result, for: values) }
        return result
    }

    /// Scopes as parsed, and as texts.
    typealias ParsedScopes = (scopes: [ResourceScope], texts: [String])

    /// The credentials of an `Authorization` value in the plain shape clients send (`Basic`, one space, base64
    /// without whitespace), read byte-wise for the fast path; nil for any other shape, which then goes to
    /// `basicCredentials` on the handler's path (to be accepted or refused there). Where both read a value,
    /// they read the same credentials.
    static func plainBasicCredentials(_ header: String, clientAddress: String) -> PasswordCredentials? {
        let utf8 = header.utf8
        guard utf8.count > 6 else { return nil }
        var index = utf8.startIndex
        for expected in "basic".utf8 {
            // `| 0x20` lowercases ASCII letters; no other byte maps onto a lowercase letter.
            guard utf8[index] | 0x20 == expected else { return nil }
            index = utf8.index(after: index)
        }
        guard utf8[index] == UInt8(ascii: " ") else { return nil }
        index = utf8.index(after: index)
        let encoded = Substring(utf8[index...])
        guard !encoded.utf8.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }),
            let bytes = Base64.decode(encoded), !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self),
            let colon = text.utf8.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return PasswordCredentials(
            username: String(text[..<colon]), password: String(text[text.utf8.index(after: colon)...]),
            clientAddress: clientAddress)
    }

    /// Decodes `Authorization: Basic`, keeping everything after the first `:` as the password (which
    /// may contain `:`, spaces and any UTF-8).
    static func basicCredentials(_ request: HTTPRequest) throws(TokenEndpointError) -> PasswordCredentials? {
        guard let header = request.headers["Authorization"] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].caseInsensitiveEquals("Basic") else {
            throw TokenEndpointError.badCredentialsFormat
        }
        // A NUL is in no username, and C libraries (crypt, libldap, libpq) would end the string there.
        guard let bytes = Base64.decode(parts[1].trimmingSpaces()), !bytes.contains(0),
            let text = String(validating: bytes, as: UTF8.self),
            let colon = text.utf8.firstIndex(of: UInt8(ascii: ":"))
        else { throw TokenEndpointError.badCredentialsFormat }
        return PasswordCredentials(
            username: String(text[..<colon]), password: String(text[text.utf8.index(after: colon)...]),
            clientAddress: request.context.clientAddress)
    }

    /// Runs the password chain; notes in `record` which provider decided, refusals included, so the
    /// audit log says who said no.
    private func authenticate(_ credentials: PasswordCredentials, record: inout TokenRequestAudit) async throws
        -> ExternalIdentity
    {
        switch await chain.authenticate(credentials) {
        case .authenticated(let identity):
            record.provider = identity.provider.rawValue
            return try await linked(identity)
        case .rejected(let provider, let reason):
            record.provider = provider.rawValue
            throw TokenEndpointError.rejected(reason)
        case .unknownUser:
            let passwords = settings.passwords, username = credentials.username
            throw try await store.read { try passwords.refusal(for: username, reader: $0) }
        case .throttled(let throttling): throw TokenEndpointError.throttled(throttling)
        case .unavailable(let error):
            record.provider = error.provider.rawValue
            logger.warning(
                "identity provider unavailable", ["provider": error.provider.rawValue, "error": error.reason])
            throw TokenEndpointError.providerUnavailable(error.provider.rawValue)
        }
    }

    /// A federated identity as its local account (the decision cache then keys on the account, not on
    /// the directory's answer); other identities, or all without a linker, unchanged.
    private func linked(_ identity: ExternalIdentity) async throws -> ExternalIdentity {
        guard let linker, case .federated = identity.origin else { return identity }
        switch try await linker.link(identity) {
        case .linked(let userID):
            return ExternalIdentity(
                provider: identity.provider, subject: identity.subject, username: identity.username,
                origin: .localAccount(userID: userID), restriction: identity.restriction,
                credential: identity.credential)
        case .refused(let message, let code):
            throw TokenEndpointError.refusedAccount(message: message, code: code)
        }
    }

    /// The account behind a good refresh token, as an identity of its local user.
    private func redeem(_ token: String, service: String) async throws -> ExternalIdentity {
        switch try await refreshTokens.redeem(token, service: service) {
        case .valid(let userID):
            return ExternalIdentity(
                provider: "refresh-token", subject: String(userID.rawValue), username: "",
                origin: .localAccount(userID: userID.rawValue))
        case .invalid(let rejection):
            throw TokenEndpointError.invalidGrant(rejection)
        }
    }

    /// Maps the identity to its account and decides every scope: from the decision cache while the
    /// store's authorization generation holds, else in one read transaction (one hop to the store's
    /// threads, not two), whose result is cached under the generation read before it.
    private func authorize(
        _ identity: ExternalIdentity?, scopes: [ResourceScope], record: inout TokenRequestAudit
    ) async throws -> (Principal?, GrantedAccess) {
        let key = DecisionKey(identity: identity, scopes: scopes)
        let cacheable = Self.isCacheable(scopes)
        let generation = store.authorizationGeneration
        let decision: Decision
        if cacheable, let cached = decisions.value(for: key, at: generation) {
            decision = cached
        } else {
            let authorization = settings.authorization
            decision = try await store.read { reader -> Decision in
                guard let identity else {
                    return Decision(
                        resolution: nil,
                        grants: try AccessResolver.resolve(scopes, for: nil, reader: reader, settings: authorization))
                }
                let resolution = try PrincipalResolver.resolve(identity, reader: reader)
                guard case .principal(let principal) = resolution else {
                    return Decision(resolution: resolution, grants: [])
                }
                return Decision(
                    resolution: resolution,
                    grants: try AccessResolver.resolve(
                        scopes, for: principal, reader: reader, settings: authorization))
            }
            if cacheable { decisions.insert(decision, for: key, readAt: generation) }
        }
        return try apply(decision, of: identity, record: &record)
    }

    /// Whether decisions about `scopes` are small enough to cache.
    private static func isCacheable(_ scopes: [ResourceScope]) -> Bool {
        scopes.reduce(0) { $0 + $1.name.utf8.count + 16 } <= cacheableScopeBytes
    }

    /// The decision cached for `identity` and `scopes` under the store's current generation, if any.
    private func cachedDecision(_ identity: ExternalIdentity?, scopes: [ResourceScope]) -> Decision? {
        guard Self.isCacheable(scopes) else { return nil }
        return decisions.value(
            for: DecisionKey(identity: identity, scopes: scopes), at: store.authorizationGeneration)
    }

    /// The principal and grants of `decision`, noted in `record`; throws the refusal it stands for.
    private func apply(_ decision: Decision, of identity: ExternalIdentity?, record: inout TokenRequestAudit)
        throws(TokenEndpointError) -> (Principal?, GrantedAccess)
    {
        switch decision.resolution {
        case nil: return (nil, decision.granted)
        case .principal(let principal):
            record.username = principal.username
            // A robot names no account: the audit row carries its login name only.
            record.userID = principal.robot == nil ? User.ID(principal.userID) : nil
            return (principal, decision.granted)
        case .disabled: throw TokenEndpointError.rejected(.disabled)
        case .noAccount: throw TokenEndpointError.noAccount(identity?.provider.rawValue ?? "")
        }
    }

    private func issue(
        to principal: Principal?, granted: GrantedAccess, service: String, refresh: Bool,
        record: inout TokenRequestAudit, oauth: Bool = false, client: String? = nil
    ) async throws -> HTTPResponse {
        record.grantedScopes = granted.texts
        let issued = try minter.mint(
            subject: principal?.username ?? "", audience: service, access: granted.claims, now: now())
        var refreshToken: String?
        if refresh, let principal, principal.mayReceiveRefreshToken {
            refreshToken = try await refreshTokens.issue(
                userID: User.ID(principal.userID), service: service, client: client)
        }
        return tokenResponse(issued, granted: granted, refreshToken: refreshToken, oauth: oauth)
    }

    /// The token response body and headers, the same for both paths.
    func tokenResponse(_ issued: IssuedToken, granted: GrantedAccess, refreshToken: String?, oauth: Bool)
        -> HTTPResponse
    {
        // Written by hand, in sorted key order: JSONSerialization cost more per token than signing it.
        // A compact JWS is base64url and dots only, so it needs no escaping.
        let token = "\"" + issued.token + "\""
        var members: [(String, String)] = [
            ("access_token", token), ("expires_in", String(issued.expiresIn)),
            ("issued_at", JSONText.quoted(RFC3339.format(issued.issuedAt))),
        ]
        if let refreshToken { members.append(("refresh_token", JSONText.quoted(refreshToken))) }
        if oauth { members.append(("scope", JSONText.quoted(ResourceScope.render(granted.scopes)))) }
        members.append(("token", token))
        var response = HTTPResponse.json(JSONText.objectBytes(members))
        // RFC 6749 §5.1: an answer carrying tokens must not be stored by any cache on the way.
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        response.headers.replaceOrAdd(name: "Pragma", value: "no-cache")
        return response
    }

    /// Audits a successful issuance; throws `auditUnavailable` (503) when the recorder waits for commits
    /// and could not store it, so no token leaves unaudited under `audit.waitForCommit`.
    private func auditIssuance(_ record: TokenRequestAudit) async throws {
        var record = record
        record.outcome = .success
        record.reason = nil
        guard await audit.recordConfirmingStorage(record.event(at: now())) else {
            throw TokenEndpointError.auditUnavailable
        }
    }

    private func auditRecord(_ record: TokenRequestAudit, outcome: AuditOutcome, reason: String?) async {
        var record = record
        record.outcome = outcome
        record.reason = reason
        await audit.record(record.event(at: now()))
    }
}

extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}
