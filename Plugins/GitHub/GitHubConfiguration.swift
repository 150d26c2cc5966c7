import Diagnostics
import Foundation
import IdentityCore

extension GitHubProvider {
    /// The `config:` block of a `type: github` provider entry (github.com or GitHub Enterprise Server).
    ///
    /// ```yaml
    /// providers:
    ///   - id: github
    ///     type: github
    ///     displayName: GitHub
    ///     config:
    ///       clientID: Iv1.0123456789abcdef
    ///       clientSecret: {env: GITHUB_CLIENT_SECRET}      # or {file: …}; never inline
    ///       webURL: https://github.com                       # GHE: https://ghe.example
    ///       apiURL: https://api.github.com                   # GHE: https://ghe.example/api/v3
    ///       allowedOrganizations: [acme]
    ///       allowedTeams: [acme/platform]                    # org/team-slug
    ///       scopes: [read:user, user:email, read:org]
    ///       requestTimeout: 10s
    /// ```
    ///
    /// Unknown keys are errors; the client secret never appears in `description` or logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// The OAuth app's client id.
        public var clientID: String
        /// The OAuth app's client secret (from `{file: …}` or `{env: …}` only), read once at start.
        public var clientSecret: String
        /// Where browsers sign in: `<webURL>/login/oauth/authorize`, and the token endpoint
        /// `<webURL>/login/oauth/access_token`. Default `https://github.com`.
        public var webURL: String
        /// The REST API root. Default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`.
        public var apiURL: String
        /// Organisation logins a person must belong to (one of them); empty allows any. Compared case-insensitively.
        public var allowedOrganizations: [String]
        /// Teams (`org/team-slug`) a person must belong to (one of them); empty allows any.
        public var allowedTeams: [String]
        /// The scopes asked for. Default `[read:user, user:email, read:org]` (organisations and teams need
        /// `read:org`).
        public var scopes: [String]
        /// The limit for each request to GitHub (1 s to 60 s). Default 10 s.
        public var requestTimeout: ConfigDuration

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            clientID: String, clientSecret: String, webURL: String = "https://github.com",
            apiURL: String = "https://api.github.com", allowedOrganizations: [String] = [],
            allowedTeams: [String] = [], scopes: [String] = ["read:user", "user:email", "read:org"],
            requestTimeout: ConfigDuration = ConfigDuration(seconds: 10)
        ) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.webURL = webURL
            self.apiURL = apiURL
            self.allowedOrganizations = allowedOrganizations
            self.allowedTeams = allowedTeams
            self.scopes = scopes
            self.requestTimeout = requestTimeout
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID, clientSecret, webURL, apiURL, allowedOrganizations, allowedTeams, scopes, requestTimeout
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Configuration(clientID: "", clientSecret: "")
            clientID = try container.decode(String.self, forKey: .clientID)
            // By reference only ({file: …} or {env: …}): an inline secret ends up in backups and logs.
            clientSecret = try container.decodeSecretValue(forKey: .clientSecret)
            webURL = try container.decodeIfPresent(String.self, forKey: .webURL) ?? defaults.webURL
            apiURL = try container.decodeIfPresent(String.self, forKey: .apiURL) ?? defaults.apiURL
            allowedOrganizations = try container.decodeIfPresent([String].self, forKey: .allowedOrganizations) ?? []
            allowedTeams = try container.decodeIfPresent([String].self, forKey: .allowedTeams) ?? []
            scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? defaults.scopes
            requestTimeout =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .requestTimeout) ?? defaults.requestTimeout
        }

        /// `webURL` without a trailing slash, so paths join cleanly.
        var webRoot: String { ProviderAddress.withoutTrailingSlash(webURL) }
        /// `apiURL` without a trailing slash.
        var apiRoot: String { ProviderAddress.withoutTrailingSlash(apiURL) }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine). No network I/O.
        public var problems: [String] {
            var found: [String] = []
            if clientID.isEmpty { found.append("clientID must not be empty") }
            for (key, url) in [("webURL", webURL), ("apiURL", apiURL)] {
                if let problem = ProviderAddress.problem(with: url) { found.append("\(key) \(problem)") }
            }
            for team in allowedTeams {
                let parts = team.split(separator: "/", omittingEmptySubsequences: false)
                if parts.count != 2 || parts.contains(where: \.isEmpty) {
                    found.append("allowedTeams: \"\(team)\" is not of the form org/team-slug")
                }
            }
            if allowedOrganizations.contains(where: \.isEmpty) {
                found.append("allowedOrganizations must not contain an empty name")
            }
            if (!allowedOrganizations.isEmpty || !allowedTeams.isEmpty) && !scopes.contains("read:org") {
                found.append("scopes must contain read:org when organisations or teams are limited")
            }
            if !scopes.contains("user:email") && !scopes.contains("user") {
                found.append("scopes must contain user:email (the primary verified address is read with it)")
            }
            if !(1...60).contains(requestTimeout.seconds) { found.append("requestTimeout must be between 1s and 60s") }
            return found
        }

        /// The settings, with the client secret masked.
        public var description: String {
            "GitHubProvider.Configuration(clientID: \(clientID), clientSecret: ***, webURL: \(webURL), "
                + "apiURL: \(apiURL), allowedOrganizations: \(allowedOrganizations), allowedTeams: \(allowedTeams))"
        }

        /// Same as ``description``: the client secret is masked.
        public var debugDescription: String { description }

        /// A mirror without the client secret, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "clientID": clientID, "clientSecret": "***", "webURL": webURL, "apiURL": apiURL,
                    "allowedOrganizations": allowedOrganizations, "allowedTeams": allowedTeams, "scopes": scopes,
                    "requestTimeout": requestTimeout,
                ])
        }
    }
}
