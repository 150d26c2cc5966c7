import Foundation

/// A browser login at an external identity provider in progress, between the redirect and the callback.
///
/// Kept in the store (never only in memory), so any instance can finish a login another began. Neither random
/// value is stored: the row is found by the SHA-256 of the `state` parameter, and it names the browser that
/// began it by the SHA-256 of a second random value held in that browser's cookie, so a callback carried to
/// another browser is refused.
public struct LoginState: Sendable, Hashable {
    /// Why the login was begun.
    public enum Intent: String, Sendable, Hashable, CaseIterable {
        /// Sign in (or sign up) with the identity.
        case signIn = "sign_in"
        /// Link the identity to the signed-in account that began the login.
        case link
    }

    /// The lowercase hex SHA-256 of the `state` parameter (the key).
    public var stateHash: String
    /// The lowercase hex SHA-256 of the binding cookie's value.
    public var browserHash: String
    /// The provider the login is at.
    public var providerID: String
    /// Sign in or link.
    public var intent: Intent
    /// For `.link`: the account to link to.
    public var userID: User.ID?
    /// The provider's pending data (PKCE verifier, nonce) as JSON; never shown to the browser.
    public var pending: String
    /// Where to go afterwards: a local path, already checked.
    public var next: String
    /// When it was begun.
    public var createdAt: Date
    /// When it stops being accepted.
    public var expiresAt: Date

    /// Creates a login state.
    public init(
        stateHash: String, browserHash: String, providerID: String, intent: Intent, userID: User.ID? = nil,
        pending: String, next: String, createdAt: Date, expiresAt: Date
    ) {
        self.stateHash = stateHash
        self.browserHash = browserHash
        self.providerID = providerID
        self.intent = intent
        self.userID = userID
        self.pending = pending
        self.next = next
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What the store keeps about a federated identity signed in through a browser redirect, beside its
/// `IdentityLink`: the issuer (the identity is `(provider, issuer, subject)`), the sealed grant, and the
/// revalidation state.
public struct FederatedIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The link this belongs to.
    public var linkID: IdentityLink.ID
    /// The configured provider id (copied from the link).
    public var providerID: String
    /// The provider's subject (copied from the link).
    public var subject: String
    /// The account (copied from the link).
    public var userID: User.ID
    /// The issuer that vouched for the identity.
    public var issuer: String
    /// The provider's grant (refresh token, ID token) sealed with the server's key; nil when none was kept.
    public var sealedGrant: String?
    /// When revalidation last reached a decision (or the last sign-in).
    public var checkedAt: Date?
    /// Since when revalidation has failed to reach the provider without a break, if it has.
    public var failingSince: Date?
    /// When the identity was suspended, if it is.
    public var suspendedAt: Date?
    /// Why it was suspended.
    public var suspensionReason: String?
    /// Whether the suspension disabled the account (it was enabled then), so lifting it enables it again.
    public var disabledAccount: Bool

    /// Creates a record.
    public init(
        linkID: IdentityLink.ID, providerID: String, subject: String, userID: User.ID, issuer: String,
        sealedGrant: String? = nil, checkedAt: Date? = nil, failingSince: Date? = nil, suspendedAt: Date? = nil,
        suspensionReason: String? = nil, disabledAccount: Bool = false
    ) {
        self.linkID = linkID
        self.providerID = providerID
        self.subject = subject
        self.userID = userID
        self.issuer = issuer
        self.sealedGrant = sealedGrant
        self.checkedAt = checkedAt
        self.failingSince = failingSince
        self.suspendedAt = suspendedAt
        self.suspensionReason = suspensionReason
        self.disabledAccount = disabledAccount
    }

    /// A log-safe summary: never the grant.
    public var description: String { "FederatedIdentity(\(providerID)/\(subject), user \(userID))" }
}

/// The federation half of `StoreReading` (migration 15).
public protocol FederationReading {
    /// The login state stored under this state hash, if any (expired ones included).
    func loginState(stateHash: String) throws -> LoginState?
    /// The federation record of a link, if it has one.
    func federatedIdentity(linkID: IdentityLink.ID) throws -> FederatedIdentity?
    /// The federation records of one provider, least recently checked first (never checked first).
    func federatedIdentities(ofProvider providerID: String) throws -> [FederatedIdentity]
    /// The identity link a web session was started through, if it was started by a redirect sign-in.
    func identityLink(ofSession sessionID: WebSession.ID) throws -> IdentityLink.ID?
    /// The provider whose admin group made this account an administrator, if group sync did.
    func adminGrant(of userID: User.ID) throws -> String?
}

/// The federation half of `StoreWriting` (migration 15).
public protocol FederationWriting: FederationReading {
    /// Stores a new login state; `.conflict` when its state hash exists.
    func createLoginState(_ state: LoginState) throws
    /// Deletes and returns the login state under this hash, so a state is used at most once.
    func consumeLoginState(stateHash: String) throws -> LoginState?
    /// Deletes login states that expired before `date`; returns how many.
    func pruneLoginStates(expiredBefore date: Date) throws -> Int
    /// Creates or replaces the federation record of `identity.linkID`.
    func saveFederatedIdentity(_ identity: FederatedIdentity) throws
    /// Records that a web session was started through an identity link.
    func attachIdentityLink(_ linkID: IdentityLink.ID, toSession sessionID: WebSession.ID) throws
    /// Ends every live web session started through an identity link; returns how many.
    func revokeWebSessions(ofIdentityLink linkID: IdentityLink.ID, at date: Date) throws -> Int
    /// Records (or, nil, clears) which provider's admin group made the account an administrator.
    func setAdminGrant(of userID: User.ID, provider: String?) throws
}
