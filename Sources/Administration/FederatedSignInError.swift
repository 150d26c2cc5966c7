import Diagnostics
import Foundation

/// Why a browser sign-in (or link) at an external identity provider was refused. Every refusal is shown as a
/// page with `status` and `message`, audited, and creates nothing.
public struct FederatedSignInError: CodedError, Hashable, Sendable {
    /// The stable kinds of refusal.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// No enabled redirect provider has this id (404).
        case unknownProvider = "sso.unknown_provider"
        /// The callback carries no `state`, or the browser no binding cookie (400).
        case stateMissing = "sso.state_missing"
        /// The state is unknown: used already, never issued, or pruned (400).
        case stateUnknown = "sso.state_unknown"
        /// The state expired before the callback came (400).
        case stateExpired = "sso.state_expired"
        /// The state was issued to another browser, or for another provider (400).
        case stateMismatch = "sso.state_mismatch"
        /// The provider answered with an `error` (the person cancelled, or the provider refused) (403).
        case providerRefused = "sso.provider_refused"
        /// The provider's answer failed a check (the ID token, `iss`, `aud`, nonce) (502).
        case providerAnswer = "sso.provider_answer"
        /// The provider could not be reached (503).
        case providerUnavailable = "sso.provider_unavailable"
        /// The provider did not verify the person's email address, and this provider requires it (403).
        case emailUnverified = "sso.email_unverified"
        /// The identity is linked under another issuer than the one vouching now (403).
        case issuerMismatch = "sso.issuer_mismatch"
        /// Identity mapping refused an account (sign-up off, username taken or invalid, account disabled) (403).
        case accountRefused = "sso.account_refused"
        /// The identity is linked to another account already (409).
        case linkedElsewhere = "sso.linked_elsewhere"
        /// The link was begun by another account than the one signed in now (403).
        case linkOwnerChanged = "sso.link_owner_changed"
        /// No such linked identity of this account (404).
        case linkNotFound = "sso.link_not_found"
        /// Unlinking would leave the account with no way to sign in (409).
        case lastSignInMethod = "sso.last_sign_in_method"
    }

    /// The stable kind of refusal.
    public let code: Code
    /// What the person reads: says what happened and what to do; never a secret.
    public let reason: String

    /// Creates a refusal.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The HTTP status a front door answers with.
    public var status: Int {
        switch code {
        case .unknownProvider, .linkNotFound: 404
        case .stateMissing, .stateUnknown, .stateExpired, .stateMismatch: 400
        case .providerRefused, .emailUnverified, .issuerMismatch, .accountRefused, .linkOwnerChanged: 403
        case .linkedElsewhere, .lastSignInMethod: 409
        case .providerAnswer: 502
        case .providerUnavailable: 503
        }
    }

    /// A short title for the page.
    public var title: String {
        switch code {
        case .unknownProvider: "Unknown sign-in provider"
        case .stateMissing, .stateUnknown, .stateExpired, .stateMismatch: "This sign-in cannot be finished"
        case .providerRefused: "The identity provider refused the sign-in"
        case .providerAnswer, .providerUnavailable: "The identity provider failed"
        case .emailUnverified, .issuerMismatch, .accountRefused, .linkOwnerChanged: "Sign-in refused"
        case .linkedElsewhere: "Identity linked to another account"
        case .linkNotFound: "Linked identity not found"
        case .lastSignInMethod: "Cannot unlink"
        }
    }
}
