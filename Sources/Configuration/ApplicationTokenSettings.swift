/// Limits on the application tokens people create for themselves.
///
/// ```yaml
/// token:
///   applicationTokens:
///     maxPerUser: 5      # live tokens per user, as Portus
/// ```
public struct ApplicationTokenSettings: Sendable, Hashable {
    /// Live (neither revoked nor expired) application tokens one user may hold; creating one more is
    /// refused. Default 5, Portus's limit.
    public var maxPerUser = 5

    /// The defaults.
    public init() {}

    static let fields: [Field<ApplicationTokenSettings>] = [
        .value(
            "maxPerUser", \.maxPerUser, .integer(1...1_000),
            "Live application tokens per user; creating one more is refused (revoke one first).")
    ]
}

/// Limits on robot accounts (tokens owned by a team).
///
/// ```yaml
/// token:
///   robots:
///     maxLifetime: 8760h   # a robot's expiry is at most a year away
/// ```
public struct RobotSettings: Sendable, Hashable {
    /// The furthest a robot's expiry may be from its creation: every robot expires. Default 8760h (365 days).
    public var maxLifetime: Duration = .seconds(365 * 86_400)

    /// The defaults.
    public init() {}

    static let fields: [Field<RobotSettings>] = [
        .value(
            "maxLifetime", \.maxLifetime, .duration(.seconds(3600)...(.seconds(3650 * 86_400))),
            "The furthest a robot account's expiry may be from its creation; every robot expires.")
    ]
}
