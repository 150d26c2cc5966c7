import CryptoCore
import Diagnostics
import Foundation
import HTTPClient
import HTTPFetchingCore
import IdentityCore
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
    return CurlHTTPClient(configuration: configuration, pool: BlockingPool(name: "social-tests", threads: 8))
}()

/// The client id and secret every fake registers (test literals, never real).
enum TestClient {
    static let id = "portcullis-test"
    static let secret = "test-client-secret"
}

/// The callback URL the tests pretend to serve.
let callbackURL = URL(string: "http://127.0.0.1:5080/sign-in/social/callback")!

/// The RSA key the OpenID fakes sign with, made once per test process (generation is the slow part).
let fakeSigningKey: PrivateKey = try! PrivateKey.generate(.rsa(bits: 2048))

/// A provider context over a fresh in-memory store, fetching over loopback, with `clock`.
func testContext(clock: FixedClock = FixedClock()) async throws -> ProviderContext {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
    _ = try await store.migrate()
    var context = TestProviderContext.make(store: store, clock: clock)
    context.http = loopbackHTTP
    return context
}

/// A whole sign-in as a browser makes it: `beginLogin`, the provider's authorize endpoint (which signs in the
/// fake's chosen account and redirects), then `completeLogin` with the callback's parameters.
func signIn(with provider: any RedirectAuthenticating) async throws -> RedirectLogin {
    let state = "state-\(UUID().uuidString)"
    let start = try await provider.beginLogin(callbackURL: callbackURL, state: state)
    let answer = try await loopbackHTTP.send(
        OutboundRequest(url: start.authorizationURL.absoluteString, followRedirects: false))
    guard answer.status == 302, let location = answer.header("Location"), let back = URL(string: location) else {
        throw ProviderError(
            .protocolViolation, provider: "test", reason: "the authorize endpoint answered \(answer.status)")
    }
    let values = queryItems(of: back)
    guard values["state"] == state, back.path == callbackURL.path else {
        throw ProviderError(.protocolViolation, provider: "test", reason: "the redirect lost the state or the path")
    }
    return try await provider.completeLogin(CallbackParameters(values: values), pending: start.pending)
}

/// The query parameters of `url`.
func queryItems(of url: URL) -> [String: String] {
    var values: [String: String] = [:]
    for item in URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? [] {
        values[item.name] = item.value ?? ""
    }
    return values
}

/// The `ProviderError` `body` throws, or nil when it throws nothing (another error becomes `.internalFailure`).
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

extension Revalidation {
    /// The refreshed identity of a `.valid` answer.
    var validIdentity: ExternalIdentity? {
        if case .valid(let identity, _) = self { return identity }
        return nil
    }

    /// The grant of a `.valid` answer.
    var validGrant: ProviderGrant? {
        if case .valid(_, let grant) = self { return grant }
        return nil
    }

    /// The reason of a `.gone` answer.
    var goneReason: String? {
        if case .gone(let reason) = self { return reason }
        return nil
    }
}
