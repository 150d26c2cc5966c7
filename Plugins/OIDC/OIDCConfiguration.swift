import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import OAuth2

extension OIDCProvider {
    /// The `config:` block of a `type: oidc` provider entry (any OpenID provider: Keycloak, Entra ID, Okta,
    /// Dex, Authentik, GitLab, Google).
    ///
    /// ```yaml
    /// providers:
    ///   - id: corp-sso
    ///     type: oidc
    ///     displayName: Corporate SSO
    ///     config:
    ///       issuer: https://sso.example.org/realms/main     # byte-equal to the provider's iss
    ///       clientID: portcullis
    ///       clientSecret: {file: /run/secrets/oidc-client}   # or {env: NAME}; never inline
    ///       tokenEndpointAuth: client_secret_basic          # or client_secret_post
    ///       scopes: [openid, profile, email]
    ///       usernameClaims: [preferred_username, nickname, email_local_part]
    ///       groupsClaim: groups
    ///       groupsFrom: both                                 # idToken | userinfo | both
    ///       allowedAlgorithms: [RS256]                       # RS256 | ES256; never none or HS*
    ///       clockSkew: 60s
    ///       jwksURI: https://keys.example.org/jwks           # only when the JWKS is on another origin
    ///       useUserinfo: true
    ///       rpInitiatedLogout: true
    ///       requestTimeout: 10s
    ///       authorizationParameters: {prompt: select_account}
    /// ```
    ///
    /// Sign-up and the verified-email requirement are the entry's `mapping:` (`autoProvision`,
    /// `requireVerifiedEmail`), shared with every federated provider. Unknown keys are errors; the client
    /// secret never appears in `description` or logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// Where the groups claim is read.
        public enum GroupsSource: String, Decodable, Sendable, Hashable, CaseIterable {
            /// The ID token only.
            case idToken
            /// The userinfo answer only.
            case userinfo
            /// Both, united (the default).
            case both

            /// Decodes one of the names, with an error listing them otherwise.
            public init(from decoder: any Decoder) throws {
                self = try ConfigurationDecoding.choice(decoder, Self.allCases)
            }
        }

        /// The issuer, byte-equal to the provider's `iss` (discovery is `<issuer>/.well-known/openid-configuration`).
        public var issuer: String
        /// The client id registered at the provider.
        public var clientID: String
        /// The client secret (from `{file: …}` or `{env: …}` only), read once at start.
        public var clientSecret: String
        /// How the secret is presented at the token endpoint. Default `client_secret_basic`.
        public var tokenEndpointAuth: ClientAuthentication
        /// The scopes asked for; must contain `openid`. Default `[openid, profile, email]`.
        public var scopes: [String]
        /// Claims tried in order for the username; `email_local_part` is the part of `email` before `@`.
        /// Default `[preferred_username, nickname, email_local_part]` (then `sub`).
        public var usernameClaims: [String]
        /// The claim holding group names. Default `groups`.
        public var groupsClaim: String
        /// Where the groups claim is read. Default `both`.
        public var groupsFrom: GroupsSource
        /// The ID token algorithms accepted (RS256, ES256, PS256). Default `[RS256]`.
        public var allowedAlgorithms: [String]
        /// The tolerated clock skew for `exp`, `nbf`, `iat` (0 to 5 minutes). Default 60 s.
        public var clockSkew: ConfigDuration
        /// A JWKS URL to use instead of discovery's; needed when the keys live on another origin. Default nil.
        public var jwksURI: String?
        /// Whether userinfo is asked at each login and merged. Default true.
        public var useUserinfo: Bool
        /// Whether sign-out also ends the provider's session (when it offers an end_session_endpoint). Default true.
        public var rpInitiatedLogout: Bool
        /// The limit for each request to the provider (1 s to 60 s). Default 10 s.
        public var requestTimeout: ConfigDuration
        /// Further authorization request parameters (`prompt`, `acr_values`, `hd`). Default none.
        public var authorizationParameters: [String: String]

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            issuer: String, clientID: String, clientSecret: String,
            tokenEndpointAuth: ClientAuthentication = .clientSecretBasic,
            scopes: [String] = ["openid", "profile", "email"],
            usernameClaims: [String] = ["preferred_username", "nickname", "email_local_part"],
            groupsClaim: String = "groups", groupsFrom: GroupsSource = .both, allowedAlgorithms: [String] = ["RS256"],
            clockSkew: ConfigDuration = ConfigDuration(seconds: 60), jwksURI: String? = nil, useUserinfo: Bool = true,
            rpInitiatedLogout: Bool = true, requestTimeout: ConfigDuration = ConfigDuration(seconds: 10),
            authorizationParameters: [String: String] = [:]
        ) {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.tokenEndpointAuth = tokenEndpointAuth
            self.scopes = scopes
            self.usernameClaims = usernameClaims
            self.groupsClaim = groupsClaim
            self.groupsFrom = groupsFrom
            self.allowedAlgorithms = allowedAlgorithms
            self.clockSkew = clockSkew
            self.jwksURI = jwksURI
            self.useUserinfo = useUserinfo
            self.rpInitiatedLogout = rpInitiatedLogout
            self.requestTimeout = requestTimeout
            self.authorizationParameters = authorizationParameters
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case issuer, clientID, clientSecret, tokenEndpointAuth, scopes, usernameClaims, groupsClaim, groupsFrom
            case allowedAlgorithms, clockSkew, jwksURI, useUserinfo, rpInitiatedLogout, requestTimeout
            case authorizationParameters
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Configuration(issuer: "", clientID: "", clientSecret: "")
            issuer = try container.decode(String.self, forKey: .issuer)
            clientID = try container.decode(String.self, forKey: .clientID)
            // By reference only ({file: …} or {env: …}): an inline secret ends up in backups and logs.
            let secret = try container.decode(Secret.self, forKey: .clientSecret)
            do {
                clientSecret = try secret.reveal()
            } catch {
                throw DecodingError.dataCorruptedError(
                    forKey: .clientSecret, in: container, debugDescription: error.description)
            }
            if let auth = try container.decodeIfPresent(String.self, forKey: .tokenEndpointAuth) {
                guard let method = ClientAuthentication(rawValue: auth) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .tokenEndpointAuth, in: container,
                        debugDescription: "\"\(auth)\" is not one of "
                            + ClientAuthentication.allCases.map(\.rawValue).joined(separator: ", "))
                }
                tokenEndpointAuth = method
            } else {
                tokenEndpointAuth = defaults.tokenEndpointAuth
            }
            scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? defaults.scopes
            usernameClaims =
                try container.decodeIfPresent([String].self, forKey: .usernameClaims) ?? defaults.usernameClaims
            groupsClaim = try container.decodeIfPresent(String.self, forKey: .groupsClaim) ?? defaults.groupsClaim
            groupsFrom = try container.decodeIfPresent(GroupsSource.self, forKey: .groupsFrom) ?? defaults.groupsFrom
            allowedAlgorithms =
                try container.decodeIfPresent([String].self, forKey: .allowedAlgorithms) ?? defaults.allowedAlgorithms
            clockSkew = try container.decodeIfPresent(ConfigDuration.self, forKey: .clockSkew) ?? defaults.clockSkew
            jwksURI = try container.decodeIfPresent(String.self, forKey: .jwksURI)
            useUserinfo = try container.decodeIfPresent(Bool.self, forKey: .useUserinfo) ?? defaults.useUserinfo
            rpInitiatedLogout =
                try container.decodeIfPresent(Bool.self, forKey: .rpInitiatedLogout) ?? defaults.rpInitiatedLogout
            requestTimeout =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .requestTimeout) ?? defaults.requestTimeout
            authorizationParameters =
                try container.decodeIfPresent([String: String].self, forKey: .authorizationParameters) ?? [:]
        }

        /// The algorithms as JOSE knows them (unknown names are reported by `problems`).
        public var signingAlgorithms: Set<SigningAlgorithm> {
            Set(allowedAlgorithms.compactMap(SigningAlgorithm.init(rawValue:)))
        }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine). No network I/O.
        public var problems: [String] {
            var found: [String] = []
            if let issuerURL = URLComponents(string: issuer), let scheme = issuerURL.scheme, issuerURL.host != nil {
                if scheme != "https" && !Self.isLoopback(issuerURL.host ?? "") {
                    found.append("issuer must be an https:// URL (http:// only on loopback, for tests)")
                }
                if issuerURL.query != nil || issuerURL.fragment != nil {
                    found.append("issuer must not have a query or fragment")
                }
            } else {
                found.append("issuer must be an absolute https:// URL")
            }
            if clientID.isEmpty { found.append("clientID must not be empty") }
            if !scopes.contains("openid") { found.append("scopes must contain openid") }
            if usernameClaims.isEmpty { found.append("usernameClaims must name at least one claim") }
            if groupsClaim.isEmpty { found.append("groupsClaim must not be empty") }
            if allowedAlgorithms.isEmpty { found.append("allowedAlgorithms must name at least one algorithm") }
            for name in allowedAlgorithms where SigningAlgorithm(rawValue: name) == nil {
                found.append(
                    "allowedAlgorithms: \(name) is not accepted (RS256, ES256 or PS256; none and HS* never are)")
            }
            if clockSkew.seconds > 300 { found.append("clockSkew must be at most 5m") }
            if !(1...60).contains(requestTimeout.seconds) { found.append("requestTimeout must be between 1s and 60s") }
            if let jwksURI {
                if let url = URLComponents(string: jwksURI), let scheme = url.scheme, url.host != nil {
                    if scheme != "https" && !Self.isLoopback(url.host ?? "") {
                        found.append("jwksURI must be an https:// URL")
                    }
                } else {
                    found.append("jwksURI must be an absolute https:// URL")
                }
            }
            let reserved: Set = [
                "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
                "code_challenge_method",
            ]
            for name in authorizationParameters.keys.sorted() where reserved.contains(name) {
                found.append("authorizationParameters must not set \(name) (Portcullis sets it)")
            }
            return found
        }

        private static func isLoopback(_ host: String) -> Bool {
            host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
        }

        /// The settings, with the client secret masked.
        public var description: String {
            "OIDCProvider.Configuration(issuer: \(issuer), clientID: \(clientID), clientSecret: ***, "
                + "scopes: \(scopes), groupsClaim: \(groupsClaim), groupsFrom: \(groupsFrom.rawValue))"
        }

        /// Same as ``description``: the client secret is masked.
        public var debugDescription: String { description }

        /// A mirror without the client secret, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "issuer": issuer, "clientID": clientID, "clientSecret": "***", "scopes": scopes,
                    "usernameClaims": usernameClaims, "groupsClaim": groupsClaim, "groupsFrom": groupsFrom,
                    "allowedAlgorithms": allowedAlgorithms, "clockSkew": clockSkew, "jwksURI": jwksURI as Any,
                    "useUserinfo": useUserinfo, "rpInitiatedLogout": rpInitiatedLogout,
                ])
        }
    }
}
