import CryptoCore
import Foundation
import HTTPFetchingCore
import IdentityCore
import JOSE

/// One verification key of an issuer's JWKS.
public struct IssuerKey: Sendable {
    /// The `kid`, if the provider named the key.
    public var keyID: String?
    /// The key's `alg`, if the provider said which algorithm it is for.
    public var algorithm: String?
    /// The key.
    public var key: PublicKey
}

/// The discovery document and the signing keys of one OpenID issuer, cached (Konflux and Harbor users filed
/// logins that fetched both every time, and outages that a stale copy would have ridden out).
///
/// - Lifetimes follow `Cache-Control`/`Expires` within the policy's bounds (5 min – 24 h by default).
/// - When a refetch fails, the stale copy is served (and the next attempt waits the refetch interval), so a
///   provider outage does not stop logins whose keys are known.
/// - A token naming a `kid` the set lacks triggers at most one refetch per refetch interval (30 s), whatever
///   the number of such tokens: a flood of forged `kid`s cannot make Portcullis hammer the provider.
/// - Concurrent callers share one fetch in flight (single flight).
/// - A `jwks_uri` on another origin than the issuer is refused unless the key set's URL was configured
///   explicitly (`jwksURIOverride`): a tampered or misconfigured discovery document must not point key
///   trust elsewhere.
///
/// Time comes from the injected clock, so tests move it instead of waiting.
public actor ProviderKeyCache {
    private struct Cached<Value: Sendable>: Sendable {
        var value: Value
        var expiresAt: Date
    }

    /// The configured issuer.
    public nonisolated let issuer: String
    private let client: OAuth2Client
    private let policy: ProviderCachePolicy
    private let jwksURIOverride: String?
    private let now: @Sendable () -> Date

    private var metadata: Cached<OpenIDProviderMetadata>?
    private var metadataFlight: Task<Cached<OpenIDProviderMetadata>, any Error>?
    private var lastMetadataAttempt: Date?
    private var keys: Cached<[IssuerKey]>?
    private var keysFlight: Task<Cached<[IssuerKey]>, any Error>?
    private var lastKeysAttempt: Date?

    /// Creates an empty cache; nothing is fetched until first asked.
    public init(
        issuer: String, client: OAuth2Client, policy: ProviderCachePolicy = ProviderCachePolicy(),
        jwksURIOverride: String? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.issuer = issuer
        self.client = client
        self.policy = policy
        self.jwksURIOverride = jwksURIOverride
        self.now = now
    }

    private var provider: ProviderID { client.settings.provider }

    // MARK: - Discovery

    /// The discovery document: cached while fresh, refetched when stale, the stale copy when that fails.
    public func providerMetadata() async throws -> OpenIDProviderMetadata {
        let current = now()
        if let metadata, current < metadata.expiresAt { return metadata.value }
        if let metadata, let last = lastMetadataAttempt, current < last.addingTimeInterval(policy.refetchInterval) {
            return metadata.value
        }
        do {
            let fresh = try await fetchMetadataOnce()
            return fresh.value
        } catch let error as ProviderError where error.code == .unavailable {
            if let metadata { return metadata.value }
            throw error
        }
    }

    private func fetchMetadataOnce() async throws -> Cached<OpenIDProviderMetadata> {
        if let flight = metadataFlight { return try await flight.value }
        lastMetadataAttempt = now()
        let task = Task { [client, issuer, policy, now] in
            let url = OpenIDProviderMetadata.discoveryURL(of: issuer)
            let (object, response) = try await client.getJSON(url, what: "discovery document")
            let parsed = try OpenIDProviderMetadata.parse(
                object, expectedIssuer: issuer, provider: client.settings.provider)
            let fetched = now()
            return Cached(
                value: parsed, expiresAt: fetched.addingTimeInterval(policy.lifetime(of: response, now: fetched)))
        }
        metadataFlight = task
        defer { metadataFlight = nil }
        let fresh = try await task.value
        metadata = fresh
        return fresh
    }

    // MARK: - Keys

    /// The URL the keys come from: the configured override, else discovery's `jwks_uri` when it is on the
    /// issuer's origin.
    ///
    /// - Throws: `ProviderError(.misconfigured)` naming both origins when discovery points elsewhere.
    public func keySetURL() async throws -> String {
        if let jwksURIOverride { return jwksURIOverride }
        let discovered = try await providerMetadata().jwksURI
        guard let keysOrigin = Origin(discovered), let issuerOrigin = Origin(issuer), keysOrigin == issuerOrigin
        else {
            throw ProviderError(
                .misconfigured, provider: provider,
                reason: "the discovery document's jwks_uri \(Printable.short(discovered, limit: 200)) is on another "
                    + "origin than the issuer \(Printable.short(issuer, limit: 200)); set jwksURI to that URL to "
                    + "trust it explicitly")
        }
        return discovered
    }

    /// The keys that may have signed a token naming `keyID`: the one with that `kid` (refetching the set at
    /// most once per refetch interval when it is unknown), or, for a token without `kid`, every key.
    ///
    /// - Throws: `ProviderError(.protocolViolation)` naming the `kid` when no key has it after the allowed
    ///   refetch; `.unavailable` when the set cannot be fetched and no copy is cached.
    public func candidateKeys(for keyID: String?) async throws -> [IssuerKey] {
        let set = try await currentKeys()
        guard let keyID else { return set }
        let named = set.filter { $0.keyID == keyID }
        if !named.isEmpty { return named }
        let current = now()
        if let last = lastKeysAttempt, current < last.addingTimeInterval(policy.refetchInterval) {
            throw unknownKey(keyID, refetched: false)
        }
        let refetched = try await fetchKeysOnce().value.filter { $0.keyID == keyID }
        guard !refetched.isEmpty else { throw unknownKey(keyID, refetched: true) }
        return refetched
    }

    private func unknownKey(_ keyID: String, refetched: Bool) -> ProviderError {
        ProviderError(
            .protocolViolation, provider: provider,
            reason: "the ID token names kid \(Printable.short(keyID)), which is not in the issuer's JWKS"
                + (refetched
                    ? " (refetched just now)"
                    : " (the JWKS is refetched at most once per \(Int(policy.refetchInterval)) s)"))
    }

    private func currentKeys() async throws -> [IssuerKey] {
        let current = now()
        if let keys, current < keys.expiresAt { return keys.value }
        if let keys, let last = lastKeysAttempt, current < last.addingTimeInterval(policy.refetchInterval) {
            return keys.value
        }
        do {
            return try await fetchKeysOnce().value
        } catch let error as ProviderError where error.code == .unavailable {
            if let keys { return keys.value }
            throw error
        }
    }

    private func fetchKeysOnce() async throws -> Cached<[IssuerKey]> {
        if let flight = keysFlight { return try await flight.value }
        lastKeysAttempt = now()
        let url = try await keySetURL()
        if let flight = keysFlight { return try await flight.value }
        let task = Task { [client, policy, now] in
            let (object, response) = try await client.getJSON(url, what: "JWKS")
            let parsed = try Self.parseKeySet(object, provider: client.settings.provider)
            let fetched = now()
            return Cached(
                value: parsed, expiresAt: fetched.addingTimeInterval(policy.lifetime(of: response, now: fetched)))
        }
        keysFlight = task
        defer { keysFlight = nil }
        let fresh = try await task.value
        keys = fresh
        return fresh
    }

    /// The usable signature keys of a JWKS: `use` absent or `sig`, `kty` RSA or EC P-256 that CryptoCore
    /// accepts. Other keys (encryption keys, Ed25519, weak RSA) are skipped, not fatal: providers publish
    /// them beside the signing keys.
    ///
    /// - Throws: `.protocolViolation` when there is no `keys` array or no usable key in it.
    static func parseKeySet(_ object: [String: ClaimValue], provider: ProviderID) throws -> [IssuerKey] {
        guard case .array(let entries)? = object["keys"] else {
            throw ProviderError(.protocolViolation, provider: provider, reason: "the JWKS has no keys array")
        }
        var keys: [IssuerKey] = []
        for case .object(let entry) in entries.prefix(100) {
            if let use = entry["use"]?.string, use != "sig" { continue }
            guard let kty = entry["kty"]?.string else { continue }
            let jwk = JWK(
                kty: kty, crv: entry["crv"]?.string, x: entry["x"]?.string, y: entry["y"]?.string,
                n: entry["n"]?.string, e: entry["e"]?.string)
            guard let key = try? PublicKey(jwk: jwk) else { continue }
            keys.append(IssuerKey(keyID: entry["kid"]?.string, algorithm: entry["alg"]?.string, key: key))
        }
        guard !keys.isEmpty else {
            throw ProviderError(
                .protocolViolation, provider: provider, reason: "the JWKS has no usable RSA or P-256 signature key")
        }
        return keys
    }
}
