import Foundation
import IdentityCore
import Synchronization

/// A redirect provider (OAuth2 / OpenID Connect) for tests of the sign-in flow, scripted by hand: the tests say
/// which identity an authorization code stands for, what revalidation answers, and read what was revoked.
///
/// `beginLogin` answers `https://idp.test/authorize?state=…&nonce=…` and pending data holding the nonce;
/// `completeLogin` refuses a callback whose pending nonce is missing (a state never begun), throws
/// `.unavailable` for the code `down`, `.protocolViolation` for `forged` (a bad ID token), and otherwise
/// returns the identity scripted for its `code`. Conforms to `RedirectSigningOut` and `GrantRevalidating`.
///
/// Threading: safe from any task.
public final class RedirectProviderDouble: RedirectSigningOut, GrantRevalidating {
    /// The configured id.
    public let id: ProviderID
    /// The name on the button.
    public let displayName: String
    /// The issuer every login reports.
    public let issuer: String
    /// The end-session URL offered at sign-out, if any.
    public let endSessionURL: URL?

    private struct State {
        var identities: [String: ExternalIdentity] = [:]
        var revalidation: [String: Result<Revalidation, ProviderError>] = [:]
        var revoked: [ProviderGrant] = []
        var revalidated: [String] = []
        var begun = 0
    }

    private let state = Mutex(State())

    /// A provider named `id`.
    public init(
        id: ProviderID = "corp-sso", displayName: String = "Corp SSO", issuer: String = "https://idp.test",
        endSessionURL: URL? = URL(string: "https://idp.test/logout")
    ) {
        self.id = id
        self.displayName = displayName
        self.issuer = issuer
        self.endSessionURL = endSessionURL
    }

    /// Makes the authorization code `code` stand for `identity` (its provider set to this one).
    public func script(code: String, _ identity: ExternalIdentity) {
        var identity = identity
        identity.provider = id
        state.withLock { $0.identities[code] = identity }
    }

    /// What revalidation of `subject` answers from now on (by default the identity stays valid).
    public func scriptRevalidation(subject: String, _ answer: Result<Revalidation, ProviderError>) {
        state.withLock { $0.revalidation[subject] = answer }
    }

    /// The grants revoked so far.
    public var revoked: [ProviderGrant] { state.withLock { $0.revoked } }

    /// The subjects revalidated so far, in order.
    public var revalidated: [String] { state.withLock { $0.revalidated } }

    /// How many logins were begun.
    public var begun: Int { state.withLock { $0.begun } }

    /// The grant a login with `code` hands back.
    public static func grant(for code: String) -> ProviderGrant {
        ProviderGrant(refreshToken: "refresh-\(code)", idToken: "id-token-\(code)")
    }

    /// Answers the authorization URL carrying `state` and a nonce kept in the pending data.
    public func beginLogin(callbackURL: URL, state: String) async throws -> RedirectStart {
        let nonce = "nonce-\(self.state.withLock { value -> Int in value.begun += 1; return value.begun })"
        var components = URLComponents(string: "https://idp.test/authorize")!
        components.queryItems = [
            URLQueryItem(name: "client_id", value: "portcullis"),
            URLQueryItem(name: "redirect_uri", value: callbackURL.absoluteString),
            URLQueryItem(name: "state", value: state), URLQueryItem(name: "nonce", value: nonce),
        ]
        return RedirectStart(authorizationURL: components.url!, pending: PendingLogin(data: ["nonce": nonce]))
    }

    /// Returns the identity scripted for the callback's `code`.
    public func completeLogin(_ callback: CallbackParameters, pending: PendingLogin) async throws -> RedirectLogin {
        guard pending.data["nonce"] != nil else {
            throw ProviderError(.protocolViolation, provider: id, reason: "no nonce pending")
        }
        let code = callback.values["code"] ?? ""
        if code == "down" { throw ProviderError(.unavailable, provider: id, reason: "token endpoint timed out") }
        if code == "forged" {
            throw ProviderError(.protocolViolation, provider: id, reason: "the ID token's signature does not verify")
        }
        guard let identity = state.withLock({ $0.identities[code] }) else {
            throw ProviderError(.protocolViolation, provider: id, reason: "invalid_grant: unknown code")
        }
        return RedirectLogin(identity: identity, issuer: issuer, grant: Self.grant(for: code))
    }

    /// The end-session URL with the return address, when one is offered.
    public func signOutURL(grant: ProviderGrant?, returnURL: URL) async -> URL? {
        guard let endSessionURL, var components = URLComponents(url: endSessionURL, resolvingAgainstBaseURL: false)
        else { return nil }
        components.queryItems = [URLQueryItem(name: "post_logout_redirect_uri", value: returnURL.absoluteString)]
        return components.url
    }

    /// Records the revocation.
    public func revoke(_ grant: ProviderGrant) async throws {
        state.withLock { $0.revoked.append(grant) }
    }

    /// Answers what was scripted for the subject, else `.valid` with the identity unchanged.
    public func revalidate(_ identity: ExternalIdentity, grant: ProviderGrant?) async throws -> Revalidation {
        let answer = state.withLock { value -> Result<Revalidation, ProviderError>? in
            value.revalidated.append(identity.subject)
            return value.revalidation[identity.subject]
        }
        switch answer {
        case .success(let revalidation): return revalidation
        case .failure(let error): throw error
        case nil: return .valid(identity, grant)
        }
    }
}
