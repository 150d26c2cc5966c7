import Configuration
import Diagnostics
import Foundation
import HTTPClient
import RegistryClient
import RegistryCore
import TokenAuthority

/// Mints the registry client's own tokens with the token authority's signing keys: subject
/// `RegistryClientIdentity.subject`, audience the registry's `service`, exactly the asked-for access.
struct MintedRegistryTokens: RegistryTokenSource {
    /// Signs with the ring the store currently holds, so a key reload or rotation applies here too.
    let minter: TokenMinter
    /// The registry's `auth.token.service`.
    let audience: String

    /// Mints a token for `scopes`; throws `SigningKeyError.noValidKey` when no key may sign now.
    func token(for scopes: [RegistryScope]) async throws -> RegistryToken {
        let issued = try minter.mint(
            subject: RegistryClientIdentity.subject, audience: audience,
            access: scopes.map { AccessClaim(type: $0.type, name: $0.name, actions: $0.actions) }, now: Date())
        return RegistryToken(value: issued.token, expiresAt: issued.expiresAt)
    }
}

/// Builds one registry client per configured registry, each minting its own short-lived tokens.
struct RegistryClientAssembly {
    /// How long the client's own tokens live: long enough for one paginated listing, short enough
    /// that a leaked one is soon useless. The client renews a cached one 30 seconds before expiry.
    static let tokenLifetime: Duration = .seconds(120)

    /// The clients by configured registry name.
    let clients: [String: any RegistryAPI]

    /// Clients for `registries`, signing with `keyRing` as `issuer` and sending over `http`.
    init(
        registries: [RegistrySettings], issuer: String, keyRing: SigningKeyRingStore,
        http: any HTTPFetching = CurlHTTPClient(), logger: Logger
    ) {
        // The client caches per scope; the minter's own reuse window would only add a second cache.
        let minter = TokenMinter(issuer: issuer, lifetime: Self.tokenLifetime, keyRing: keyRing)
        var clients: [String: any RegistryAPI] = [:]
        for registry in registries {
            clients[registry.name] = HTTPRegistryClient(
                configuration: HTTPRegistryClient.Configuration(
                    name: registry.name, baseURL: registry.url.absoluteString),
                http: http, tokens: MintedRegistryTokens(minter: minter, audience: registry.service),
                logger: logger.named("registry-client").with(["registry": registry.name]))
        }
        self.clients = clients
    }

    /// Clients for every registry in `configuration`, signing with `keyRing` (the server's, so reloads apply).
    init(configuration: PortcullisConfiguration, keyRing: SigningKeyRingStore, logger: Logger) {
        self.init(
            registries: configuration.registries, issuer: configuration.token.issuer, keyRing: keyRing, logger: logger)
    }
}
