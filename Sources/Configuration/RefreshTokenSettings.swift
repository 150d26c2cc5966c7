/// The refresh tokens docker receives with `offline_token=true` (and OAuth2 `access_type=offline`).
///
/// ```yaml
/// token:
///   refresh:
///     idleExpiry: 720h      # 30 days without use
///     absoluteExpiry: 2160h # 90 days after issue, however often used
///     maxPerUser: 50        # one more revokes the user's oldest
/// ```
public struct RefreshTokenSettings: Sendable, Hashable {
    /// A token unused for this long is refused and pruned. Default 720h (30 days).
    public var idleExpiry: Duration = .seconds(30 * 86_400)
    /// A token this old is refused and pruned, however often it was used. Default 2160h (90 days).
    public var absoluteExpiry: Duration = .seconds(90 * 86_400)
    /// Live tokens one user may hold; issuing one more revokes the oldest first. Default 50.
    public var maxPerUser = 50

    /// The defaults.
    public init() {}

    static let fields: [Field<RefreshTokenSettings>] = [
        .value(
            "idleExpiry", \.idleExpiry, .duration(.seconds(3600)...(.seconds(3650 * 86_400))),
            "A refresh token unused for this long is refused and pruned."),
        .value(
            "absoluteExpiry", \.absoluteExpiry, .duration(.seconds(3600)...(.seconds(3650 * 86_400))),
            "A refresh token this old is refused and pruned, however often it was used."),
        .value(
            "maxPerUser", \.maxPerUser, .integer(1...10_000),
            "Live refresh tokens per user; issuing one more revokes that user's oldest (audited)."),
    ]
}
