import Foundation

/// Sign-in through identity providers, and passwords at the registry.
///
/// ```yaml
/// login:
///   passwordsAtRegistry: true
///   revalidateEvery: 1h
///   revalidationGrace: 24h
///   stateLifetime: 10m
/// ```
public struct LoginSettings: Sendable, Hashable {
    /// Whether `docker login` may use a password at the token endpoint; false accepts application tokens only
    /// (organisations that require single sign-on). Default true.
    public var passwordsAtRegistry = true
    /// How often each identity signed in through a redirect provider is re-checked there. Default 1h.
    public var revalidateEvery: Duration = .seconds(3600)
    /// How long a provider may fail to answer revalidation before its identities are suspended. Default 24h.
    public var revalidationGrace: Duration = .seconds(86_400)
    /// How long a browser may take between the redirect to a provider and the callback. Default 10m.
    public var stateLifetime: Duration = .seconds(600)

    /// The defaults.
    public init() {}

    static let fields: [Field<LoginSettings>] = [
        .value(
            "passwordsAtRegistry", \.passwordsAtRegistry, .boolean,
            "docker login may use passwords; false accepts application tokens only (SSO-only organisations)."),
        .value(
            "revalidateEvery", \.revalidateEvery, .duration(.seconds(60)...(.seconds(7 * 86_400))),
            "Re-check every identity signed in through a redirect provider this often."),
        .value(
            "revalidationGrace", \.revalidationGrace, .duration(.zero...(.seconds(30 * 86_400))),
            "Suspend identities only after their provider failed to answer revalidation this long."),
        .value(
            "stateLifetime", \.stateLifetime, .duration(.seconds(60)...(.seconds(3600))),
            "How long a browser may take between the redirect to a provider and its callback."),
    ]
}
