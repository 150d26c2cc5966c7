import CryptoCore
import Diagnostics
import Foundation
import HTTPFetchingCore
import IdentityCore
import JOSE
import OAuth2
import Storage
import WorkloadIdentity

/// A CI job token that passed every check of its policy: who it is and what the policy is.
public struct VerifiedWorkload: Sendable {
    /// The policy that accepted it (as configured now).
    public let policy: WorkloadPolicy
    /// The issuer that signed it.
    public let issuer: WorkloadIssuer
    /// Its scalar claims.
    public let claims: WorkloadClaims
    /// Its `jti`, if it had one.
    public let jti: String?
}

/// Verifies CI job tokens presented as `docker login` passwords under trust policies, and keeps the
/// refresh tokens of workload logins. The token endpoint asks it first for every password login whose
/// username names a policy and whose password has the shape of a JWT; everything else takes the normal path.
///
/// Each issuer's discovery document and JWKS are cached by its own ``ProviderKeyCache`` (warm keys, at most
/// one refetch per 30 s for an unknown `kid`, stale keys through an outage), fetched through the
/// `HTTPFetching` port, whose implementation runs libcurl on its own threads: a hanging issuer holds only
/// the logins that need its keys fetched, up to the fetch timeout. Time comes from the injected clock.
public struct WorkloadLogins: Sendable {
    /// The prefix of workload refresh tokens (user refresh tokens start with `pcr_`).
    public static let refreshPrefix = "pcw_"
    /// Claims stored with a refresh token are capped at this many bytes of JSON.
    static let maximumStoredClaims = 16 * 1024

    /// The trust policies and issuers, as configured.
    public let settings: WorkloadIdentitySettings
    private let keyCaches: [String: ProviderKeyCache]
    private let store: any Store
    private let now: @Sendable () -> Date
    /// Whether a namespace exists, trusted while the store's authorization generation holds (creating or
    /// deleting a namespace advances it): most logins then skip the store.
    private let namespaces = AuthorizationCache<String, Bool>(capacity: 1024)
    /// Job tokens verified before, so the same token presented again (docker sends it with every token request
    /// of a job) skips its parse and signature check; see ``VerifiedTokenMemo`` for what is checked again.
    private let verifiedTokens = VerifiedTokenMemo()

    /// Creates the service; `http` fetches discovery and JWKS for `issuer` (the composition root gives each
    /// issuer its own client pool).
    public init(
        settings: WorkloadIdentitySettings, store: any Store,
        http: @Sendable (_ issuer: String) -> any HTTPFetching,
        cachePolicy: ProviderCachePolicy = ProviderCachePolicy(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.store = store
        self.now = now
        var caches: [String: ProviderKeyCache] = [:]
        for issuer in settings.issuers {
            let client = OAuth2Client(
                settings: OAuth2ClientSettings(
                    provider: ProviderID(rawValue: "workload-" + issuer.name), clientID: "", clientSecret: ""),
                http: http(issuer.name))
            caches[issuer.name] = ProviderKeyCache(
                issuer: issuer.issuer, client: client, policy: cachePolicy, now: now)
        }
        keyCaches = caches
    }

    /// Whether any trust policy is configured (without one, only refresh tokens issued earlier come here, to be
    /// refused and audited).
    public var isEnabled: Bool { settings.isEnabled }

    /// The policy a login names, when it is a workload login: `username` is a configured policy and
    /// `password` has the shape of a compact JWS (`eyJ…` and two dots). Any other login is not one.
    public func policy(forLogin username: String, password: String) -> WorkloadPolicy? {
        guard settings.isEnabled, Self.looksLikeJWT(password) else { return nil }
        return settings.policy(named: username)
    }

    /// Whether `text` has the shape of a compact JWS whose header is a JSON object (`eyJ` is `{"` in
    /// base64url): a password never looks like one by accident.
    public static func looksLikeJWT(_ text: String) -> Bool {
        guard text.utf8.starts(with: "eyJ".utf8) else { return false }
        var text = text
        return text.withUTF8 { bytes in bytes.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) } } == 2
    }

    /// Verifies `compact` for `policy`: algorithm, signature with the issuer's keys, times, `iss`, `aud`,
    /// token age, then the policy's conditions, then (`jti: single-use`) that its `jti` is new.
    ///
    /// - Returns: the verified workload, or the first check that failed (with the token's claims when its
    ///   signature and times verified, so the audit says who was refused).
    /// - Throws: ``WorkloadLoginError`` when the issuer's keys cannot be had (outage with no cached copy, a
    ///   misconfigured discovery document), and store errors.
    public func verify(_ compact: String, for policy: WorkloadPolicy) async throws -> WorkloadVerdict {
        guard let issuer = settings.issuer(named: policy.issuer), let cache = keyCaches[issuer.name] else {
            return .refused(.policyUnknown)
        }
        let date = now()
        let verified: VerifiedJWT
        switch try await signatureChecked(compact, issuer: issuer, keys: cache, at: date) {
        case .refused(let refusal): return .refused(refusal)
        case .verified(let jwt): verified = jwt
        }
        let registered = verified.claims
        guard let iss = registered.issuer, Array(iss.utf8) == Array(issuer.issuer.utf8) else {
            return .refused(.tokenIssuer)
        }
        guard
            registered.audience.contains(where: { audience in
                issuer.audiences.contains { $0.utf8.elementsEqual(audience.utf8) }
            })
        else {
            return .refused(.tokenAudience)
        }
        let skew = TimeInterval(issuer.clockSkew.components.seconds)
        guard let issuedAt = registered.issuedAt else { return .refused(.tokenTooOld) }
        guard issuedAt <= date.addingTimeInterval(skew) else { return .refused(.tokenNotYetValid) }
        guard date.timeIntervalSince(issuedAt) <= TimeInterval(issuer.maxTokenAge.components.seconds) else {
            return .refused(.tokenTooOld)
        }
        // The payload was scanned once when the token was parsed; its members are the claims.
        let claims = WorkloadClaims(members: registered.members)
        if case .refused(let refusal) = policy.evaluate(claims) { return .refused(refusal, claims: claims) }
        if policy.jti == .singleUse {
            guard let jti = registered.tokenID, !jti.isEmpty, jti.utf8.count <= 512 else {
                return .refused(.tokenJTIReplayed, claims: claims)
            }
            // Remembered until the token could no longer be accepted anyway.
            let until = (registered.expiresAt ?? date).addingTimeInterval(skew)
            let issuerName = issuer.name
            let fresh = try await store.write {
                try $0.recordWorkloadTokenUse(issuer: issuerName, jti: jti, expiresAt: until, at: date)
            }
            guard fresh else { return .refused(.tokenJTIReplayed, claims: claims) }
        }
        return .accepted(
            VerifiedWorkload(policy: policy, issuer: issuer, claims: claims, jti: registered.tokenID))
    }

    private enum SignatureCheck {
        case verified(VerifiedJWT)
        case refused(WorkloadRefusal)
    }

    /// The token's algorithm and signature checked with the issuer's current keys, then its dates at `date`;
    /// a token verified before with the very same keys is taken from ``verifiedTokens`` without parsing or
    /// verifying it again (its algorithm and dates are checked again).
    private func signatureChecked(
        _ compact: String, issuer: WorkloadIssuer, keys cache: ProviderKeyCache, at date: Date
    ) async throws -> SignatureCheck {
        let allowed = Set(issuer.algorithms.compactMap { SigningAlgorithm(rawValue: $0.rawValue) })
        func usable(_ keys: [IssuerKey], for algorithm: SigningAlgorithm) -> [PublicKey] {
            keys.filter { $0.algorithm == nil || $0.algorithm == algorithm.rawValue }.map(\.key)
        }
        let memoKey = VerifiedTokenMemo.key(compact)
        if let remembered = verifiedTokens.entry(for: memoKey, issuer: issuer.name),
            allowed.contains(remembered.jwt.algorithm),
            let current = try? await cache.candidateKeys(for: remembered.jwt.header.keyID),
            VerifiedTokenMemo.sameKeys(usable(current, for: remembered.jwt.algorithm), as: remembered)
        {
            do {
                try remembered.jwt.checkTimes(at: date, leeway: issuer.clockSkew, requireExpiry: true)
            } catch let error as JWTError {
                return .refused(Self.refusal(for: error))
            }
            return .verified(remembered.jwt)
        }
        let token: UnverifiedJWT
        do { token = try UnverifiedJWT(compact: compact) } catch { return .refused(.tokenMalformed) }
        // Before any key is fetched, so alg none or HS256 costs the issuer nothing.
        guard let algorithm = SigningAlgorithm(rawValue: token.header.algorithm), allowed.contains(algorithm) else {
            return .refused(.tokenAlgorithm)
        }
        let candidates: [PublicKey]
        do {
            candidates = usable(try await cache.candidateKeys(for: token.header.keyID), for: algorithm)
        } catch let error as ProviderError where error.code == .protocolViolation && token.header.keyID != nil {
            return .refused(.tokenUnknownKey)
        } catch let error as ProviderError {
            throw WorkloadLoginError(.issuerUnavailable, issuer: issuer.name, reason: error.reason)
        }
        do {
            let verified = try token.verify(
                tryingEach: candidates, allowedAlgorithms: allowed, now: date, leeway: issuer.clockSkew,
                requireExpiry: true)
            verifiedTokens.remember(.init(issuer: issuer.name, jwt: verified, keys: candidates), for: memoKey)
            return .verified(verified)
        } catch let error as JWTError {
            return .refused(Self.refusal(for: error))
        }
    }

    /// The refusal for a token JOSE would not verify.
    private static func refusal(for error: JWTError) -> WorkloadRefusal {
        switch error.code {
        case .disallowedAlgorithm, .algorithmKeyMismatch: .tokenAlgorithm
        case .unknownKey, .missingKeyID: .tokenUnknownKey
        case .expired, .missingExpiry: .tokenExpired
        case .notYetValid: .tokenNotYetValid
        default: .tokenSignature
        }
    }

    /// Issues a refresh token for `workload` bound to `service`, valid for the policy's session.
    public func issueRefreshToken(for workload: VerifiedWorkload, service: String) async throws -> String {
        let token = RefreshTokenService.newSecret(prefix: Self.refreshPrefix)
        let date = now()
        var claims = JSONText.object(
            workload.claims.values.sorted { $0.key < $1.key }.map { ($0.key, JSONText.quoted($0.value)) })
        if claims.utf8.count > Self.maximumStoredClaims {
            // Only what the policy can name matters for re-evaluation; keep the audited and policy claims.
            let names = Set(WorkloadClaims.audited + workload.policy.namedClaims)
            claims = JSONText.object(
                workload.claims.values.filter { names.contains($0.key) }.sorted { $0.key < $1.key }
                    .map { ($0.key, JSONText.quoted(String($0.value.prefix(512)))) })
        }
        let record = WorkloadRefreshToken(
            id: .init(0), secretHash: RefreshTokenService.hash(token), policy: workload.policy.name,
            issuer: workload.issuer.name, jti: workload.jti.map { String($0.prefix(512)) }, service: service,
            claims: claims, createdAt: date, expiresAt: date.addingTimeInterval(workload.policy.session.inSeconds))
        _ = try await store.write { try $0.createWorkloadRefreshToken(record) }
        return token
    }

    /// Redeems a workload refresh token for `service` against the policy as configured now: a removed
    /// policy, one moved to another issuer, or one whose conditions the stored claims no longer meet refuses.
    ///
    /// - Returns: the workload (its grant the current policy's), or why it was refused with the policy name
    ///   when known.
    public func redeem(_ token: String, service: String) async throws -> WorkloadRedemption {
        guard Self.isWellFormedRefreshToken(token) else { return .refused(policy: nil, .malformed) }
        let hash = RefreshTokenService.hash(token)
        guard let stored = try await store.read({ try $0.workloadRefreshToken(secretHash: hash) }),
            ConstantTime.equals(stored.secretHash, hash)
        else { return .refused(policy: nil, .unknown) }
        guard stored.revokedAt == nil else { return .refused(policy: stored.policy, .revoked) }
        guard stored.service == service else { return .refused(policy: stored.policy, .otherService) }
        guard stored.expiresAt > now() else { return .refused(policy: stored.policy, .expired) }
        let claims = Self.claims(of: stored)
        guard let policy = settings.policy(named: stored.policy), policy.issuer == stored.issuer,
            let issuer = settings.issuer(named: policy.issuer)
        else { return .policyRefused(stored, .policyUnknown, claims: claims) }
        if case .refused(let refusal) = policy.evaluate(claims) {
            return .policyRefused(stored, refusal, claims: claims)
        }
        return .valid(VerifiedWorkload(policy: policy, issuer: issuer, claims: claims, jti: stored.jti))
    }

    /// Which of `names` are existing namespaces: from the cache while the authorization generation holds,
    /// else in one read.
    public func existingNamespaces(_ names: Set<String>) async throws -> Set<String> {
        let generation = store.authorizationGeneration
        var known: Set<String> = []
        var unknown: [String] = []
        for name in names {
            switch namespaces.value(for: name, at: generation) {
            case true?: known.insert(name)
            case false?: break
            case nil: unknown.append(name)
            }
        }
        guard !unknown.isEmpty else { return known }
        let asked = unknown
        let found = try await store.read { reader in
            try asked.map { ($0, try reader.namespace(named: $0) != nil) }
        }
        for (name, exists) in found {
            namespaces.insert(exists, for: name, readAt: generation)
            if exists { known.insert(name) }
        }
        return known
    }

    /// Deletes single-use `jti` records and refresh tokens that expired; returns how many rows went.
    public func prune() async throws -> Int {
        let date = now()
        return try await store.write { try $0.pruneWorkloadIdentity(expiredBefore: date) }
    }

    private static func claims(of stored: WorkloadRefreshToken) -> WorkloadClaims {
        WorkloadClaims(payload: Array(stored.claims.utf8)) ?? WorkloadClaims([:])
    }

    /// Whether `token` has the exact shape `pcw_` + 43 base64url characters.
    public static func isWellFormedRefreshToken(_ token: String) -> Bool {
        RefreshTokenService.isWellFormed(token, prefix: refreshPrefix)
    }
}

/// The decision on a job token presented for a policy.
public enum WorkloadVerdict: Sendable {
    /// Every check passed.
    case accepted(VerifiedWorkload)
    /// The first check that failed, and the token's claims when it verified (nil for `token.*` refusals
    /// before that: claims of an unverified token are not evidence of anything).
    case refused(WorkloadRefusal, claims: WorkloadClaims? = nil)
}

/// The result of presenting a workload refresh token.
public enum WorkloadRedemption: Sendable {
    /// Good: issue a token with the current policy's grant.
    case valid(VerifiedWorkload)
    /// The token itself is refused (tell the client only `invalid_grant`).
    case refused(policy: String?, RefreshRejection)
    /// The token is good but the current policy refuses it (removed, re-pointed, or its conditions changed).
    case policyRefused(WorkloadRefreshToken, WorkloadRefusal, claims: WorkloadClaims)
}

extension WorkloadPolicy {
    /// Every claim the policy names in `require`, `match` and `deny`.
    var namedClaims: [String] { require.map(\.claim) + match.map(\.claim) + deny.map(\.claim) }
}

/// A workload login that could not be decided (not a refusal: the issuer could not be asked).
public struct WorkloadLoginError: CodedError, Sendable {
    /// What went wrong.
    public enum Code: String, Sendable, CaseIterable {
        /// The issuer's discovery document or keys could not be fetched and no copy is cached.
        case issuerUnavailable = "workload.issuer_unavailable"
    }

    /// What went wrong.
    public let code: Code
    /// The issuer's name.
    public let issuer: String
    /// Why, for the log (never a token).
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, issuer: String, reason: String) {
        self.code = code
        self.issuer = issuer
        self.reason = reason
    }

    /// The message.
    public var message: String { "the keys of CI issuer '\(issuer)' cannot be fetched: \(reason)" }
}
