import Foundation
import HTTPFetchingCore
import IdentityCore

/// An OpenID provider's discovery document (OpenID Connect Discovery 1.0 §3), the members Portcullis uses.
public struct OpenIDProviderMetadata: Sendable, Hashable {
    /// `issuer`: byte-equal to the configured issuer, or the document is refused.
    public var issuer: String
    /// `authorization_endpoint`.
    public var authorizationEndpoint: String
    /// `token_endpoint`.
    public var tokenEndpoint: String
    /// `jwks_uri`.
    public var jwksURI: String
    /// `userinfo_endpoint`, if offered.
    public var userinfoEndpoint: String?
    /// `end_session_endpoint` (RP-initiated logout), if offered.
    public var endSessionEndpoint: String?
    /// `revocation_endpoint` (RFC 7009), if offered.
    public var revocationEndpoint: String?
    /// `id_token_signing_alg_values_supported`.
    public var idTokenSigningAlgorithms: [String]

    /// Creates metadata.
    public init(
        issuer: String, authorizationEndpoint: String, tokenEndpoint: String, jwksURI: String,
        userinfoEndpoint: String? = nil, endSessionEndpoint: String? = nil, revocationEndpoint: String? = nil,
        idTokenSigningAlgorithms: [String] = ["RS256"]
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.userinfoEndpoint = userinfoEndpoint
        self.endSessionEndpoint = endSessionEndpoint
        self.revocationEndpoint = revocationEndpoint
        self.idTokenSigningAlgorithms = idTokenSigningAlgorithms
    }

    /// Where the document of `issuer` lives: the issuer without its trailing `/`, then
    /// `/.well-known/openid-configuration` (Discovery §4).
    public static func discoveryURL(of issuer: String) -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// Reads a discovery document and checks it belongs to `expectedIssuer`.
    ///
    /// - Throws: `ProviderError(.misconfigured)` naming both values when `issuer` is not byte-equal to
    ///   `expectedIssuer` (a typo, a trailing slash, `localhost` for `127.0.0.1`, or a mix-up attack: either way
    ///   no token of this issuer could be accepted); `.protocolViolation` when a required member is missing or
    ///   an endpoint is not an absolute http(s) URL.
    public static func parse(
        _ object: [String: ClaimValue], expectedIssuer: String, provider: ProviderID
    ) throws -> OpenIDProviderMetadata {
        func violation(_ reason: String) -> ProviderError {
            ProviderError(.protocolViolation, provider: provider, reason: "the discovery document \(reason)")
        }
        guard let issuer = object["issuer"]?.string else { throw violation("has no issuer") }
        guard Array(issuer.utf8) == Array(expectedIssuer.utf8) else {
            throw ProviderError(
                .misconfigured, provider: provider,
                reason: "the discovery document's issuer \(Printable.short(issuer, limit: 200)) is not the "
                    + "configured issuer \(Printable.short(expectedIssuer, limit: 200)) (they must be equal byte "
                    + "for byte, trailing slash included)")
        }
        func endpoint(_ name: String, required: Bool) throws -> String? {
            guard let value = object[name]?.string else {
                if required { throw violation("has no \(name)") }
                return nil
            }
            guard Origin(value) != nil else {
                throw violation("has a \(name) that is not an absolute http(s) URL: \(Printable.short(value))")
            }
            return value
        }
        return OpenIDProviderMetadata(
            issuer: issuer,
            authorizationEndpoint: try endpoint("authorization_endpoint", required: true)!,
            tokenEndpoint: try endpoint("token_endpoint", required: true)!,
            jwksURI: try endpoint("jwks_uri", required: true)!,
            userinfoEndpoint: try endpoint("userinfo_endpoint", required: false),
            endSessionEndpoint: try endpoint("end_session_endpoint", required: false),
            revocationEndpoint: try endpoint("revocation_endpoint", required: false),
            idTokenSigningAlgorithms: object["id_token_signing_alg_values_supported"]?.strings ?? ["RS256"])
    }
}

/// How long fetched discovery documents and key sets are trusted, and how often unknown keys may refetch.
public struct ProviderCachePolicy: Sendable, Hashable {
    /// The shortest lifetime, whatever the answer's headers say (`no-cache` included): 5 minutes by default,
    /// so a provider cannot make every login fetch.
    public var minimumLifetime: TimeInterval
    /// The longest lifetime, whatever the headers say: 24 hours by default, so rotated keys arrive in a day.
    public var maximumLifetime: TimeInterval
    /// The lifetime when the answer has no `Cache-Control: max-age` and no `Expires`: 1 hour by default.
    public var defaultLifetime: TimeInterval
    /// At most one key-set fetch per this interval for tokens naming an unknown `kid` (and after a failed
    /// fetch while a stale copy is served): 30 s by default.
    public var refetchInterval: TimeInterval

    /// Creates a policy; the defaults are those above.
    public init(
        minimumLifetime: TimeInterval = 300, maximumLifetime: TimeInterval = 86_400,
        defaultLifetime: TimeInterval = 3_600, refetchInterval: TimeInterval = 30
    ) {
        self.minimumLifetime = minimumLifetime
        self.maximumLifetime = maximumLifetime
        self.defaultLifetime = defaultLifetime
        self.refetchInterval = refetchInterval
    }

    /// How long `response` may be kept, fetched at `now`: `Cache-Control: max-age` (or `no-cache`/`no-store`,
    /// meaning the minimum), else `Expires` against the answer's `Date` (or `now`), within the bounds.
    public func lifetime(of response: InboundResponse, now: Date) -> TimeInterval {
        var seconds: TimeInterval?
        if let control = response.header("Cache-Control")?.lowercased() {
            for directive in control.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if directive == "no-cache" || directive == "no-store" {
                    seconds = 0
                    break
                }
                if directive.hasPrefix("max-age="), let value = Double(directive.dropFirst("max-age=".count)),
                    value.isFinite
                {
                    seconds = value
                }
            }
        }
        if seconds == nil, let expires = response.header("Expires").flatMap(HTTPDate.parse) {
            let base = response.header("Date").flatMap(HTTPDate.parse) ?? now
            seconds = expires.timeIntervalSince(base)
        }
        return min(max(seconds ?? defaultLifetime, minimumLifetime), maximumLifetime)
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), the only form `Expires` and `Date` are sent in today.
enum HTTPDate {
    static func parse(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
