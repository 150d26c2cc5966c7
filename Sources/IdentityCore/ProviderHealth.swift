/// What a provider's health check saw.
public struct ProviderHealth: Sendable, Hashable {
    /// Whether the provider can serve logins now.
    public var isHealthy: Bool
    /// What the check saw, for administrators: where it looked, or the error.
    public var message: String

    /// Creates a report.
    public init(isHealthy: Bool, message: String) {
        self.isHealthy = isHealthy
        self.message = message
    }
}

/// A provider that can say whether it could serve a login now (a directory that answers), for the
/// administrators' providers page.
///
/// Contract: never throws (a failure is an unhealthy report); does network I/O only through the provider's
/// own bounded connections and timeouts, and never with a user's credentials.
public protocol HealthReporting: IdentityProvider {
    /// Checks now.
    func checkHealth() async -> ProviderHealth
}
