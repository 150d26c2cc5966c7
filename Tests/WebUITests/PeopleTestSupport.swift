import Foundation
import HTTPCore
import IdentityCore
import Storage
import Synchronization
import Testing
import WebUI

/// Markup that must come out as text wherever a page shows what a person typed.
let markup = "<script>alert(1)</script><img src=x onerror=alert(2)>"
/// `markup` as the escaping writes it.
let escapedMarkup = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"

extension WebPage {
    /// The one-time message the response leaves for the next page (its `pc_flash` cookie), if any.
    var flash: String? {
        for cookie in response.headers.values(for: "Set-Cookie") where cookie.hasPrefix("pc_flash=") {
            let value = cookie.dropFirst("pc_flash=".count).prefix { $0 != ";" }
            guard let dot = value.firstIndex(of: ".") else { return nil }
            var base = value[value.index(after: dot)...].replacingOccurrences(of: "-", with: "+")
                .replacingOccurrences(of: "_", with: "/")
            while base.count % 4 != 0 { base += "=" }
            return Data(base64Encoded: base).flatMap { String(data: $0, encoding: .utf8) }
        }
        return nil
    }

    /// Whether the markup payload appears only escaped.
    var escapesMarkup: Bool { contains(escapedMarkup) && !contains("<script>alert(1)") && !contains("<img src=x") }

    /// Every post form carries the CSRF field, and there is at least `minimum` of them.
    func postFormsCarryCSRF(minimum: Int = 1) -> Bool {
        postForms.count >= minimum && postForms.allSatisfy(\.hasCSRF)
    }

    /// The value of the first `data-copy` attribute starting with `prefix` (a secret shown once).
    func copied(startingWith prefix: String) -> String? {
        guard let range = html.range(of: "data-copy=\"\(prefix)") else { return nil }
        let start = html.index(range.lowerBound, offsetBy: "data-copy=\"".count)
        return String(html[start...].prefix { $0 != "\"" })
    }
}

extension WebFixture {
    /// A browser signed in as `username` whose session says it was started from `client` (a User-Agent).
    func browser(_ username: String, client: String) async throws -> WebClient {
        let started = try await sessions.start(for: users[username]!.id, client: client, address: "127.0.0.1")
        return WebClient(
            fixture: self, cookies: [ui.sessionCookie: started.cookieValue], csrfToken: started.session.csrfToken)
    }
}

/// Registries for the admin page: fixed states, and a record of the syncs asked for.
final class FixtureRegistries: WebRegistryOperations {
    let synced = Mutex<[String]>([])
    let problem: String

    init(problem: String = "answered 503") { self.problem = problem }

    func statuses() async -> [WebRegistryStatus] {
        [
            WebRegistryStatus(
                name: "local", url: "http://registry.test:5000", isReachable: true,
                lastSync: Date(timeIntervalSince1970: 1_700_000_000), problem: nil, lastResult: "succeeded",
                lastSummary: "2 repositories created, 3 tags added", eventBacklog: 4),
            WebRegistryStatus(
                name: "mirror", url: "http://mirror.test:5000", isReachable: false, lastSync: nil, problem: problem,
                isSyncing: true),
        ]
    }

    func syncNow(_ name: String, by actor: String) async throws {
        guard name == "local" else {
            throw WebOperationError(.syncRunning, "a catalog sync of \(name) is running already; try again later")
        }
        synced.withLock { $0.append("\(name) by \(actor)") }
    }
}

/// Provider health for the admin page: LDAP unhealthy with `message`, the rest unable to say.
struct FixtureProviderHealth: WebProviderHealthChecking {
    let message: String

    func health(of id: String) async -> ProviderHealth? {
        id == "corp-ldap" ? ProviderHealth(isHealthy: false, message: message) : nil
    }
}

/// The providers of the fixtures that show membership sources and provider health.
let fixtureProviders = [
    WebProvider(id: "local", displayName: "Local accounts", type: "local"),
    WebProvider(id: "corp-ldap", displayName: "Corporate LDAP", type: "ldap"),
]
