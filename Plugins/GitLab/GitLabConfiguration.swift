import Diagnostics
import Foundation
import IdentityCore

extension GitLabProvider {
    /// The `config:` block of a `type: gitlab` provider entry (gitlab.com or a self-managed GitLab).
    ///
    /// ```yaml
    /// providers:
    ///   - id: gitlab
    ///     type: gitlab
    ///     displayName: GitLab
    ///     config:
    ///       issuer: https://gitlab.com                     # self-managed: https://gitlab.example.org
    ///       clientID: 0123abcd…                            # the application id
    ///       clientSecret: {file: /run/secrets/gitlab}      # or {env: …}; never inline
    ///       allowedGroups: [acme, acme/platform]           # full paths; a group admits its subgroups
    ///       scopes: [openid, profile, email]
    ///       requestTimeout: 10s
    /// ```
    ///
    /// Unknown keys are errors; the client secret never appears in `description` or logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// GitLab's base URL, which is its OpenID issuer. Default `https://gitlab.com`.
        public var issuer: String
        /// The application id registered at GitLab.
        public var clientID: String
        /// The application secret (from `{file: …}` or `{env: …}` only), read once at start.
        public var clientSecret: String
        /// Group full paths a person must belong to (one of them, or a subgroup of one); empty allows any.
        /// Compared case-insensitively.
        public var allowedGroups: [String]
        /// The scopes asked for; must contain `openid`. Default `[openid, profile, email]`.
        public var scopes: [String]
        /// The limit for each request to GitLab (1 s to 60 s). Default 10 s.
        public var requestTimeout: ConfigDuration

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            issuer: String = "https://gitlab.com", clientID: String, clientSecret: String,
            allowedGroups: [String] = [], scopes: [String] = ["openid", "profile", "email"],
            requestTimeout: ConfigDuration = ConfigDuration(seconds: 10)
        ) {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.allowedGroups = allowedGroups
            self.scopes = scopes
            self.requestTimeout = requestTimeout
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case issuer, clientID, clientSecret, allowedGroups, scopes, requestTimeout
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Configuration(clientID: "", clientSecret: "")
            issuer = try container.decodeIfPresent(String.self, forKey: .issuer) ?? defaults.issuer
            clientID = try container.decode(String.self, forKey: .clientID)
            // By reference only ({file: …} or {env: …}): an inline secret ends up in backups and logs.
            clientSecret = try container.decodeSecretValue(forKey: .clientSecret)
            allowedGroups = try container.decodeIfPresent([String].self, forKey: .allowedGroups) ?? []
            scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? defaults.scopes
            requestTimeout =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .requestTimeout) ?? defaults.requestTimeout
        }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine). No network I/O.
        public var problems: [String] {
            var found: [String] = []
            if let problem = ProviderAddress.problem(with: issuer) { found.append("issuer \(problem)") }
            if clientID.isEmpty { found.append("clientID must not be empty") }
            if !scopes.contains("openid") { found.append("scopes must contain openid") }
            if allowedGroups.contains(where: { $0.isEmpty || $0.hasPrefix("/") || $0.hasSuffix("/") }) {
                found.append("allowedGroups must hold group full paths such as acme/platform")
            }
            if !(1...60).contains(requestTimeout.seconds) { found.append("requestTimeout must be between 1s and 60s") }
            return found
        }

        /// The settings, with the client secret masked.
        public var description: String {
            "GitLabProvider.Configuration(issuer: \(issuer), clientID: \(clientID), clientSecret: ***, "
                + "allowedGroups: \(allowedGroups))"
        }

        /// Same as ``description``: the client secret is masked.
        public var debugDescription: String { description }

        /// A mirror without the client secret, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "issuer": issuer, "clientID": clientID, "clientSecret": "***", "allowedGroups": allowedGroups,
                    "scopes": scopes, "requestTimeout": requestTimeout,
                ])
        }
    }
}
