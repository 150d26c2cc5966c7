import Foundation

/// The audit log.
public struct AuditSettings: Sendable, Hashable {
    /// Whether a token request is answered only after its audit event is committed. Default false:
    /// events are committed in groups a few milliseconds after the answer, and a clean shutdown writes
    /// every one; only a crash can lose the last moment's events. When true and the audit log cannot be
    /// written, the token endpoint answers 503 instead of issuing unaudited tokens.
    public var waitForCommit = false
    /// Repeated identical successful token issuances (same user, client address, service and scopes) within
    /// this window share one line with a count and first and last times. Default 60s; 0 writes one line each.
    public var coalesceWindow: Duration = .seconds(60)
    /// How long each class of event is kept before the pruning job deletes it.
    public var retention = AuditRetentionSettings()

    /// The defaults.
    public init() {}

    static let fields: [Field<AuditSettings>] = [
        .value(
            "waitForCommit", \.waitForCommit, .boolean,
            "Answer token requests only after their audit event is committed (slower; no crash window; 503 while "
                + "the audit log cannot be written)."),
        .value(
            "coalesceWindow", \.coalesceWindow, .duration(.zero...(.seconds(3600))),
            "Identical successful token issuances within this window share one audit line with a count; 0 turns it off."
        ),
        .section("retention", \.retention, AuditRetentionSettings.fields),
    ]
}

/// How long each class of audit event is kept (`0` keeps it for ever). Pruning runs in the server every
/// 15 minutes, deleting in batches of 1,000 rows per transaction.
public struct AuditRetentionSettings: Sendable, Hashable {
    /// Successful token issuances (`token.issue`, success). Default 30 days.
    public var tokenIssued: Duration = .seconds(30 * 86_400)
    /// Refused or failed token requests and refused logins (`login.*`). Default 90 days.
    public var tokenDenied: Duration = .seconds(90 * 86_400)
    /// Everything else: administration, provisioning, group sync, pushes and deletions. Default 365 days.
    public var admin: Duration = .seconds(365 * 86_400)

    /// The defaults.
    public init() {}

    /// The longest retention a key accepts: 100 years.
    static let range: ClosedRange<Duration> = .zero...(.seconds(36_500 * 86_400))

    static let fields: [Field<AuditRetentionSettings>] = [
        .value(
            "tokenIssued", \.tokenIssued, .duration(range),
            "How long successful token issuances are kept in the audit log (\"30d\"); 0 keeps them for ever."),
        .value(
            "tokenDenied", \.tokenDenied, .duration(range),
            "How long refused or failed token requests and refused logins are kept; 0 keeps them for ever."),
        .value(
            "admin", \.admin, .duration(range),
            "How long every other audit event (administration, pushes, deletions) is kept; 0 keeps it for ever."),
    ]
}
