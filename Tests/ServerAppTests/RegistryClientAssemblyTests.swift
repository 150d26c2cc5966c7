import Configuration
import CryptoCore
import Diagnostics
import Foundation
import RegistryCore
import TestSupport
import Testing
import TokenAuthority

@testable import ServerApp

/// The composition root's registry clients, with tokens minted by the token authority's own keys,
/// against a real docker-registry that trusts that key.
@Suite(.enabled(if: DockerRegistry.isInstalled || ProcessInfo.processInfo.environment["CI"] == "true"))
struct RegistryClientAssemblyTests {
    static let issuer = "assembly-test-issuer"

    /// A signing key ring from files, and a registry trusting its certificate for `service`.
    private func setUp(service: String) async throws -> (SigningKeyRingStore, DockerRegistry, TemporaryDirectory) {
        let keys = try TemporaryDirectory("assembly-keys")
        let key = try PrivateKey.generate(.ecP256)
        let certificate = try Certificate.selfSigned(key: key, commonName: "assembly-test", validity: .seconds(3600))
        try key.pemEncoded().write(to: keys.path("key.pem"), atomically: true, encoding: .utf8)
        try certificate.pemEncoded().write(to: keys.path("cert.pem"), atomically: true, encoding: .utf8)
        let ring = try SigningKeyRingStore(entries: [(keys.path("key.pem").path, keys.path("cert.pem").path)])
        let registry = try DockerRegistry(
            DockerRegistry.Options(
                tokenAuth: DockerRegistry.TokenAuth(
                    realm: "http://127.0.0.1:1/v2/token", service: service, issuer: Self.issuer,
                    rootCertificateBundle: keys.path("cert.pem").path)))
        try await registry.start()
        return (ring, registry, keys)
    }

    private func settings(name: String, service: String, url: String) -> RegistrySettings {
        var settings = RegistrySettings()
        settings.name = name
        settings.service = service
        settings.url = URL(string: url)!
        return settings
    }

    @Test func eachConfiguredRegistryGetsAClientWhoseTokensItAccepts() async throws {
        let (ring, registry, keys) = try await setUp(service: "main.registry")
        defer {
            registry.remove()
            keys.remove()
        }
        let assembly = RegistryClientAssembly(
            registries: [
                settings(name: "main", service: "main.registry", url: registry.url),
                settings(name: "other", service: "other.registry", url: "http://127.0.0.1:9"),
            ],
            issuer: Self.issuer, keyRing: ring, logger: Logger(label: "test", level: .error))

        #expect(Set(assembly.clients.keys) == ["main", "other"])
        let client = try #require(assembly.clients["main"])
        #expect(try await client.catalog() == [])
        #expect(try await client.tags(of: "team/app") == nil)
        #expect(try await client.headManifest("team/app", reference: "v1") == nil)
    }

    @Test func theTokenAudienceIsTheRegistrysService() async throws {
        let (ring, registry, keys) = try await setUp(service: "real.registry")
        defer {
            registry.remove()
            keys.remove()
        }
        let assembly = RegistryClientAssembly(
            registries: [settings(name: "main", service: "configured.wrongly", url: registry.url)],
            issuer: Self.issuer, keyRing: ring, logger: Logger(label: "test", level: .error))
        let client = try #require(assembly.clients["main"])
        await #expect(performing: { try await client.catalog() }, throws: { ($0 as? RegistryAPIError)?.code == .unauthorized })
    }

    @Test func mintedTokensNameTheClientAndGrantExactlyTheScope() async throws {
        let key = try PrivateKey.generate(.ecP256)
        let certificate = try Certificate.selfSigned(key: key, commonName: "assembly-test", validity: .seconds(3600))
        let ring = SigningKeyRingStore(
            ring: try SigningKeyRing(keys: [SigningKey(privateKey: key, certificate: certificate, keyIDFormat: .libtrust)]))
        let source = MintedRegistryTokens(
            minter: TokenMinter(issuer: Self.issuer, lifetime: RegistryClientAssembly.tokenLifetime, keyRing: ring),
            audience: "svc")

        let token = try await source.token(for: [.delete("team/app")])

        let payload = try #require(Base64URL.decode(String(token.value.split(separator: ".")[1])))
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        #expect(claims["sub"] as? String == RegistryClientIdentity.subject)
        #expect(claims["aud"] as? String == "svc")
        let access = try #require(claims["access"] as? [[String: Any]])
        #expect(access.count == 1)
        #expect(access.first?["name"] as? String == "team/app")
        #expect(access.first?["actions"] as? [String] == ["delete"])
        #expect(token.expiresAt.timeIntervalSinceNow <= 121)
    }
}
