import Diagnostics
import Foundation
import IdentityCore

extension BitbucketProvider {
    /// The `config:` block of a `type: bitbucket` provider entry (Bitbucket Cloud).
    ///
    /// ```yaml
    /// providers:
    ///   - id: bitbucket
    ///     type: bitbucket
    ///     displayName: Bitbucket
    ///     config:
    ///       clientID: AbCdEf0123456789                      # the OAuth consumer's key
    ///       clientSecret: {env: BITBUCKET_CLIENT_SECRET}    # or {file: …}; never inline
    ///       webURL: https://bitbucket.org
    ///       apiURL: https://api.bitbucket.org/2.0
    ///       allowedWorkspaces: [acme]                       # workspace slugs
    ///       scopes: [account, email]
    ///       requestTimeout: 10s
    /// ```
    ///
    /// Unknown keys are errors; the client secret never appears in `description` or logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// The OAuth consumer's key.
        public var clientID: String
        /// The OAuth consumer's secret (from `{file: …}` or `{env: …}` only), read once at start.
        public var clientSecret: String
        /// Where browsers sign in: `<webURL>/site/oauth2/authorize`, and the token endpoint
        /// `<webURL>/site/oauth2/access_token`. Default `https://bitbucket.org`.
        public var webURL: String
        /// The REST API root. Default `https://api.bitbucket.org/2.0`.
        public var apiURL: String
        /// Workspace slugs a person must have access to (one of them); empty allows any. Case-insensitive.
        public var allowedWorkspaces: [String]
        /// The scopes asked for. Default `[account, email]` (workspace access needs `account`).
        public var scopes: [String]
        /// The limit for each request to Bitbucket (1 s to 60 s). Default 10 s.
        public var requestTimeout: ConfigDuration

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            clientID: String, clientSecret: String, webURL: String = "https://bitbucket.org",
            apiURL: String = "https://api.bitbucket.org/2.0", allowedWorkspaces: [String] = [],
            scopes: [String] = ["account", "email"], requestTimeout: ConfigDuration = ConfigDuration(seconds: 10)
        ) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.webURL = webURL
            self.apiURL = apiURL
            self.allowedWorkspaces = allowedWorkspaces
            self.scopes = scopes
            self.requestTimeout = requestTimeout
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case clientID, clientSecret, webURL, apiURL, allowedWorkspaces, scopes, requestTimeout
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
            allowedWorkspaces = try container.decodeIfPresent([String].self, forKey: .allowedWorkspaces) ?? []
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
            if allowedWorkspaces.contains(where: \.isEmpty) {
                found.append("allowedWorkspaces must not contain an empty slug")
            }
            if !scopes.contains("account") { found.append("scopes must contain account (the account and workspaces)") }
            if !scopes.contains("email") { found.append("scopes must contain email (the confirmed address)") }
            if !(1...60).contains(requestTimeout.seconds) { found.append("requestTimeout must be between 1s and 60s") }
            return found
        }

        /// The settings, with the client secret masked.
        public var description: String {
            "BitbucketProvider.Configuration(clientID: \(clientID), clientSecret: ***, webURL: \(webURL), "
                + "apiURL: \(apiURL), allowedWorkspaces: \(allowedWorkspaces))"
        }

        /// Same as ``description``: the client secret is masked.
        public var debugDescription: String { description }

        /// A mirror without the client secret, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "clientID": clientID, "clientSecret": "***", "webURL": webURL, "apiURL": apiURL,
                    "allowedWorkspaces": allowedWorkspaces, "scopes": scopes, "requestTimeout": requestTimeout,
                ])
        }
    }
}
