import Foundation
import IdentityCore

/// The authorization code flow of a provider that speaks OAuth2 but not OpenID Connect (GitHub, Bitbucket):
/// the authorization URL with PKCE S256 and `state`, then, at the callback, the provider's `error` answer and
/// the code exchange. What the access token proves is the plugin's business (its REST API).
///
/// Holds no per-login state: `begin` returns what the caller keeps and `complete` gets it back, so any
/// instance can finish a login another began.
public struct OAuth2CodeFlow: Sendable {
    /// The client (id, secret, request bounds).
    public let client: OAuth2Client
    /// Where the browser is sent.
    public let authorizationEndpoint: String
    /// Where the code is exchanged.
    public let tokenEndpoint: String
    /// The scopes asked for.
    public let scopes: [String]
    /// The provider's name in reasons (`GitHub`).
    public let providerName: String

    /// The pending-login keys `begin` writes and `complete` reads.
    enum PendingKey {
        static let verifier = "code_verifier"
        static let redirectURI = "redirect_uri"
    }

    /// Creates a flow.
    public init(
        client: OAuth2Client, authorizationEndpoint: String, tokenEndpoint: String, scopes: [String],
        providerName: String
    ) {
        self.client = client
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.scopes = scopes
        self.providerName = providerName
    }

    private var provider: ProviderID { client.settings.provider }

    /// A fresh PKCE verifier and the authorization URL carrying `state`.
    ///
    /// - Throws: `ProviderError(.misconfigured)` when the endpoint is not an absolute http(s) URL.
    public func begin(callbackURL: URL, state: String) throws -> RedirectStart {
        let pkce = PKCE.generate()
        let redirectURI = callbackURL.absoluteString
        let url = try client.authorizationURL(
            endpoint: authorizationEndpoint, redirectURI: redirectURI, state: state, scopes: scopes, pkce: pkce)
        return RedirectStart(
            authorizationURL: url,
            pending: PendingLogin(data: [PendingKey.verifier: pkce.verifier, PendingKey.redirectURI: redirectURI]))
    }

    /// The tokens for the callback's code: the provider's `error` answer, a missing code or pending state, and
    /// a refused exchange are `ProviderError`s naming what failed (`invalid_client` is `.misconfigured`).
    public func complete(_ callback: CallbackParameters, pending: PendingLogin) async throws -> TokenResponse {
        let values = callback.values
        if let error = values["error"] {
            let description = values["error_description"].map { " (\(Printable.short($0)))" } ?? ""
            throw ProviderError(
                .protocolViolation, provider: provider,
                reason: "\(providerName) refused the login: \(Printable.short(error, limit: 64, quoted: false))"
                    + description)
        }
        guard let verifier = pending.data[PendingKey.verifier], let redirectURI = pending.data[PendingKey.redirectURI]
        else {
            throw ProviderError(
                .protocolViolation, provider: provider, reason: "the pending login lacks its verifier or redirect URI")
        }
        guard let code = values["code"], !code.isEmpty else {
            throw ProviderError(.protocolViolation, provider: provider, reason: "the callback has no code")
        }
        switch try await client.exchangeCode(
            code, redirectURI: redirectURI, codeVerifier: verifier, tokenEndpoint: tokenEndpoint)
        {
        case .granted(let tokens): return tokens
        case .refused(let refusal):
            throw ProviderError(
                ["invalid_client", "unauthorized_client", "incorrect_client_credentials"].contains(refusal.error)
                    ? .misconfigured : .protocolViolation,
                provider: provider, reason: "\(providerName) refused the code: \(refusal)")
        }
    }
}
