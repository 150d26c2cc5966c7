import Foundation

/// Checks of the base URLs provider plugins are configured with (a GitHub Enterprise API root, a self-managed
/// GitLab's issuer), and of URLs a provider hands back (pagination links), so every plugin judges them alike.
public enum ProviderAddress {
    /// Why `url` cannot be a provider's base URL, or nil when it can: an absolute `https://` URL without
    /// query or fragment (plain `http://` only on loopback, where the tests' fakes listen).
    public static func problem(with url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return "must be an absolute https:// URL" }
        if scheme != "https" && !(scheme == "http" && isLoopback(host)) {
            return "must be an https:// URL (http:// only on loopback, for tests)"
        }
        if components.query != nil || components.fragment != nil { return "must not have a query or fragment" }
        return nil
    }

    /// `url` without trailing slashes, so a configured root and a path join cleanly.
    public static func withoutTrailingSlash(_ url: String) -> String {
        var text = url
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// Whether `host` is a loopback name or address (`localhost`, 127.0.0.0/8, `::1`).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
    }

    /// Whether `url` lies under `root`: the same scheme, host and port, and a path inside root's. A provider's
    /// pagination link is followed only when it does, so the access token is never sent elsewhere.
    public static func isWithin(_ url: String, root: String) -> Bool {
        guard let candidate = URLComponents(string: url), let base = URLComponents(string: root),
            let scheme = candidate.scheme?.lowercased(), scheme == base.scheme?.lowercased(),
            let host = candidate.host?.lowercased(), host == base.host?.lowercased(),
            candidate.port == base.port, candidate.user == nil, candidate.password == nil
        else { return false }
        let basePath = base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path
        return candidate.path == basePath || candidate.path.hasPrefix(basePath + "/")
    }
}
