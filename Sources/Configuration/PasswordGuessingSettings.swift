/// How much password guessing one client address is allowed (`policy.passwordGuessing`), across every
/// password provider of the chain.
public struct PasswordGuessingSettings: Sendable, Hashable {
    /// Failed password logins (wrong passwords, unknown names, refused tokens) one client address may make
    /// per window before it gets 429; 0 turns the limit off. Default 30.
    public var failures = 30
    /// The window of `failures`. Default 1 minute.
    public var window = Duration.seconds(60)
    /// Password checks of one client address that may run at once (those the caches cannot answer);
    /// more get 429 at once, before any hashing or directory work. 0 turns the bound off. Default 4.
    public var concurrentChecks = 4

    /// The defaults.
    public init() {}

    static let fields: [Field<PasswordGuessingSettings>] = [
        .value(
            "failures", \.failures, .integer(0...1_000_000),
            "Failed password logins one client address may make per window (0: no limit)."
        ),
        .value("window", \.window, .duration(.seconds(1)...(.seconds(86_400))), "The window of failures."),
        .value(
            "concurrentChecks", \.concurrentChecks, .integer(0...1024),
            "Password checks one client address may run at once (0: no bound)."
        ),
    ]
}
