import Diagnostics
import Foundation
import IdentityCore

extension GoogleProvider {
    /// The `config:` block of a `type: google` provider entry (Google accounts and Google Workspace).
    ///
    /// ```yaml
    /// providers:
    ///   - id: google
    ///     type: google
    ///     displayName: Google
    ///     config:
    ///       clientID: 0123-abc.apps.googleusercontent.com
    ///       clientSecret: {env: GOOGLE_CLIENT_SECRET}     # or {file: …}; never inline
    ///       allowedDomains: [example.com]                 # Workspace domains, checked in the hd claim
    ///       offlineAccess: true                           # a refresh token, for revalidation
    ///       issuer: https://accounts.google.com
    ///       scopes: [openid, email, profile]
    ///       requestTimeout: 10s
    /// ```
    ///
    /// Unknown keys are errors; the client secret never appears in `description` or logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// The OpenID issuer. Default `https://accounts.google.com` (changed only for tests).
        public var issuer: String
        /// The OAuth client id.
        public var clientID: String
        /// The OAuth client secret (from `{file: …}` or `{env: …}` only), read once at start.
        public var clientSecret: String
        /// Google Workspace domains whose accounts may sign in, checked in the ID token's `hd` claim on the
        /// server; empty allows every Google account (consumer accounts included). Case-insensitive.
        public var allowedDomains: [String]
        /// Whether to ask for offline access (`access_type=offline`, `prompt=consent`), so Google issues the
        /// refresh token revalidation needs. Default true.
        public var offlineAccess: Bool
        /// The scopes asked for; must contain `openid` and `email`. Default `[openid, email, profile]`.
        public var scopes: [String]
        /// The limit for each request to Google (1 s to 60 s). Default 10 s.
        public var requestTimeout: ConfigDuration

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            issuer: String = "https://accounts.google.com", clientID: String, clientSecret: String,
            allowedDomains: [String] = [], offlineAccess: Bool = true,
            scopes: [String] = ["openid", "email", "profile"],
            requestTimeout: ConfigDuration = ConfigDuration(seconds: 10)
        ) {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.allowedDomains = allowedDomains
            self.offlineAccess = offlineAccess
            self.scopes = scopes
            self.requestTimeout = requestTimeout
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case issuer, clientID, clientSecret, allowedDomains, offlineAccess, scopes, requestTimeout
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
            allowedDomains = try container.decodeIfPresent([String].self, forKey: .allowedDomains) ?? []
            offlineAccess = try container.decodeIfPresent(Bool.self, forKey: .offlineAccess) ?? defaults.offlineAccess
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
            if !scopes.contains("email") { found.append("scopes must contain email (the verified address)") }
            for domain in allowedDomains where domain.isEmpty || domain.contains("@") || domain.contains("/") {
                found.append("allowedDomains: \"\(domain)\" is not a domain name such as example.com")
            }
            if !(1...60).contains(requestTimeout.seconds) { found.append("requestTimeout must be between 1s and 60s") }
            return found
        }

        /// The settings, with the client secret masked.
        public var description: String {
            "GoogleProvider.Configuration(issuer: \(issuer), clientID: \(clientID), clientSecret: ***, "
                + "allowedDomains: \(allowedDomains), offlineAccess: \(offlineAccess))"
        }

        /// Same as ``description``: the client secret is masked.
        public var debugDescription: String { description }

        /// A mirror without the client secret, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "issuer": issuer, "clientID": clientID, "clientSecret": "***", "allowedDomains": allowedDomains,
                    "offlineAccess": offlineAccess, "scopes": scopes, "requestTimeout": requestTimeout,
                ])
        }
    }
}
