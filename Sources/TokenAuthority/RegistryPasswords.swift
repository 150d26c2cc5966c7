import Foundation
import Storage

/// Passwords at the token endpoint (`docker login`): whether they are accepted at all, and what a refused
/// password is told. The one place the rule of issue 13 §3 lives.
///
/// - With `login.passwordsAtRegistry: false` the chain holds no password provider (the composition root leaves
///   them out), so every password is refused; the refusal says passwords are off and where tokens are made.
/// - An account that has no password (it signs in through an identity provider) is told the same way where to
///   make an application token, instead of "invalid username or password".
public struct RegistryPasswords: Sendable, Hashable {
    /// Whether passwords are accepted (`login.passwordsAtRegistry`). Default true.
    public var accepted: Bool
    /// The address of the profile page where application tokens are made (`<public URL>/profile/tokens`).
    public var tokensPage: String

    /// Describes the rule.
    public init(accepted: Bool = true, tokensPage: String = "/profile/tokens") {
        self.accepted = accepted
        self.tokensPage = tokensPage
    }

    /// What to answer credentials no provider claimed: passwords off, an account without a password, or the
    /// usual "invalid username or password".
    func refusal(for username: String, reader: any StoreReading) throws -> TokenEndpointError {
        guard accepted else { return .passwordsOff(tokensPage: tokensPage) }
        if let user = try reader.user(named: username), user.passwordHash == nil,
            try !reader.identityLinks(of: user.id).isEmpty
        {
            return .noPassword(tokensPage: tokensPage)
        }
        return .rejected(.invalidCredentials)
    }
}
