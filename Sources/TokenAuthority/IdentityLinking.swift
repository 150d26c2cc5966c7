import IdentityCore

/// What linking decided for a federated identity at the token endpoint.
public enum IdentityLinkOutcome: Sendable, Hashable {
    /// The identity acts as this local account.
    case linked(userID: Int64)
    /// The identity gets no account; the message is shown to the client (docker prints it).
    case refused(message: String, code: String)
}

/// Turns a federated identity (an LDAP or OIDC login) into the local account it acts as, provisioning
/// and syncing it as configured. Implemented outside the token authority (`IdentityMapping`), so this
/// target knows nothing of mapping rules.
///
/// Contract: called concurrently for every federated login, before authorization; a login whose account
/// and memberships are already in line must not write to the store. A refusal is an outcome, never an
/// error; throws only when it could not decide (the store failed).
public protocol IdentityLinking: Sendable {
    /// The local account `identity` acts as, or why it has none.
    func link(_ identity: ExternalIdentity) async throws -> IdentityLinkOutcome
}
