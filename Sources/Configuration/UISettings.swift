import Foundation

/// The web UI: whether it is served, and how long a browser session lasts.
///
/// ```yaml
/// ui:
///   enabled: true
///   sessionIdleTimeout: 8h
///   sessionLifetime: 168h
/// ```
public struct UISettings: Sendable, Hashable {
    /// Whether the web UI (sign-in, pages, assets) is served. Default true.
    public var enabled = true
    /// A session unused for this long ends. Default 8h.
    public var sessionIdleTimeout: Duration = .seconds(8 * 3600)
    /// A session ends this long after sign-in, however busy. Default 168h (7 days).
    public var sessionLifetime: Duration = .seconds(7 * 86400)
    /// The name shown in the top bar and page titles. Default Portcullis.
    public var productName = "Portcullis"

    /// The defaults.
    public init() {}

    static let fields: [Field<UISettings>] = [
        .value("enabled", \.enabled, .boolean, "Serve the web UI (sign-in, pages, assets) at the server's root."),
        .value(
            "sessionIdleTimeout", \.sessionIdleTimeout, .duration(.seconds(60)...(.seconds(30 * 86400))),
            "A browser session unused for this long ends."),
        .value(
            "sessionLifetime", \.sessionLifetime, .duration(.seconds(300)...(.seconds(365 * 86400))),
            "A browser session ends this long after sign-in, however busy."),
        .value("productName", \.productName, .string, "The name shown in the web UI's top bar and page titles."),
    ]
}
