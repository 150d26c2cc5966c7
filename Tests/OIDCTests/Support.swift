import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import IdentityCore
import OAuth2
import OIDC
import ProviderTesting
import SQLiteStorage
import Storage
import TestSupport
import Threading

/// Loopback HTTP through libcurl, as the composition root hands providers (short timeouts: every peer is local).
let loopbackHTTP: CurlHTTPClient = {
    var configuration = CurlHTTPClient.Configuration()
    configuration.connectTimeout = .seconds(2)
    configuration.timeout = .seconds(10)
    return CurlHTTPClient(configuration: configuration, pool: BlockingPool(name: "oidc-tests", threads: 8))
}()

/// The client id and secret every test registers (secrets are test literals, never real).
enum TestClient {
    static let id = "portcullis-test"
    static let secret = "test-client-secret"
}

/// The callback URL the tests pretend to serve.
let callbackURL = URL(string: "http://127.0.0.1:5080/auth/oidc/callback")!

/// The hostile issuer's RSA and EC keys, made once per test process (generation is the slow part of these tests).
enum IssuerKeys {
    static let first = HostileIssuer.SigningKey(keyID: "key-1", key: try! PrivateKey.generate(.rsa(bits: 2048)))
    static let second = HostileIssuer.SigningKey(keyID: "key-2", key: try! PrivateKey.generate(.rsa(bits: 2048)))
    static let ec = HostileIssuer.SigningKey(keyID: "ec-1", key: try! PrivateKey.generate(.ecP256))
    /// A key no issuer publishes (forgeries).
    static let stranger = HostileIssuer.SigningKey(keyID: "key-1", key: try! PrivateKey.generate(.rsa(bits: 2048)))
}

/// A store for provider contexts (the oidc provider does not touch it).
func testStore() async throws -> any Store {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
    _ = try await store.migrate()
    return store
}

/// An `oidc` provider for `issuer` over loopback, with `clock` (nil: the real clock, for a real peer whose tokens
/// carry real times).
func makeProvider(
    issuer: String, clock: FixedClock?, store: any Store, id: ProviderID = "corp-sso",
    _ adjust: (inout OIDCProvider.Configuration) -> Void = { _ in }
) throws -> OIDCProvider {
    var configuration = OIDCProvider.Configuration(
        issuer: issuer, clientID: TestClient.id, clientSecret: TestClient.secret)
    adjust(&configuration)
    var context = TestProviderContext.make(store: store, clock: clock ?? FixedClock())
    if clock == nil { context.now = { Date() } }
    context.http = loopbackHTTP
    return try OIDCProvider(id: id, displayName: "Corporate SSO", configuration: configuration, context: context)
}

/// The query parameters of `url`.
func queryItems(of url: URL) -> [String: String] {
    var values: [String: String] = [:]
    for item in URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? [] {
        values[item.name] = item.value ?? ""
    }
    return values
}

/// The reason of a `ProviderError` thrown by `body`, or a description of what happened instead.
func providerError(_ body: () async throws -> Void) async -> ProviderError? {
    do {
        try await body()
        return nil
    } catch let error as ProviderError {
        return error
    } catch {
        return ProviderError(.internalFailure, provider: "unexpected", reason: "\(type(of: error)): \(error)")
    }
}
