import Diagnostics
import IdentityCore

extension LDAPProvider {
    /// The `config:` block of a `type: ldap` provider entry.
    ///
    /// ```yaml
    /// providers:
    ///   - id: corp-ldap
    ///     type: ldap
    ///     displayName: Corporate directory
    ///     order: 20
    ///     config:
    ///       url: ldap://ldap.example.org:389   # or ldaps://ldap.example.org:636
    ///       startTLS: true                     # ldap:// only; default false
    ///       caFile: /etc/portcullis/ldap-ca.pem
    ///       insecureSkipVerify: false          # true logs a warning at start; never in production
    ///       connectTimeout: 5s
    ///       operationTimeout: 10s
    ///       maxConnections: 8                  # connections open at once; more logins wait (within the timeouts)
    ///       bindDN: cn=portcullis,ou=services,dc=example,dc=org   # omit both for anonymous search
    ///       bindPassword: {file: /run/secrets/ldap-bind}          # resolved before decoding
    ///       user:
    ///         baseDN: ou=people,dc=example,dc=org
    ///         scope: sub                         # one | sub
    ///         filter: (objectClass=inetOrgPerson)
    ///         usernameAttribute: uid             # uid | sAMAccountName | mail | userPrincipalName
    ///         emailAttribute: mail
    ///         displayNameAttribute: displayName
    ///         subjectAttribute: entryUUID        # entryUUID | objectGUID | dn
    ///       groups:                              # omit to report no groups
    ///         baseDN: ou=groups,dc=example,dc=org
    ///         membership: member                 # member | uniqueMember | memberUid | memberOf
    ///         filter: (objectClass=groupOfNames) # default follows membership
    ///         nameAttribute: cn
    ///         nested: false
    /// ```
    ///
    /// Unknown keys are errors (a misspelt `startTLS` must not silently mean plain text). The bind
    /// password never appears in `description` or in logs.
    public struct Configuration: Decodable, Sendable, Hashable, CustomStringConvertible,
        CustomDebugStringConvertible, CustomReflectable
    {
        /// `ldap://host[:port]` or `ldaps://host[:port]`. Required.
        public var url: String
        /// Upgrade an `ldap://` connection with StartTLS before binding. Default false.
        public var startTLS: Bool
        /// A PEM file of CA certificates to trust for the server certificate. Default: the system's.
        public var caFile: String?
        /// Skip the certificate and host-name checks (logs a warning at start). Default false.
        public var insecureSkipVerify: Bool
        /// The limit for the TCP connect and the TLS handshake. Default 5 s.
        public var connectTimeout: ConfigDuration
        /// The limit for each LDAP request; no login waits longer than `connectTimeout + operationTimeout`.
        /// Default 10 s.
        public var operationTimeout: ConfigDuration
        /// The most connections open to the directory at once (1 to 1024); further logins wait for one,
        /// still within their timeout, so a hung directory cannot take every I/O thread. Default 8.
        public var maxConnections: Int
        /// The service account that searches for users; nil searches anonymously. Default nil.
        public var bindDN: String?
        /// The service account's password (a `{file:}`/`{env:}` reference resolved before decoding).
        public var bindPassword: String?
        /// How users are found.
        public var user: UserSearch
        /// How groups are found; nil reports no groups. Default nil.
        public var groups: GroupSearch?

        /// Creates a configuration; the defaults are those of the YAML form.
        public init(
            url: String, startTLS: Bool = false, caFile: String? = nil, insecureSkipVerify: Bool = false,
            connectTimeout: ConfigDuration = ConfigDuration(seconds: 5),
            operationTimeout: ConfigDuration = ConfigDuration(seconds: 10), maxConnections: Int = 8,
            bindDN: String? = nil,
            bindPassword: String? = nil, user: UserSearch, groups: GroupSearch? = nil
        ) {
            self.url = url
            self.startTLS = startTLS
            self.caFile = caFile
            self.insecureSkipVerify = insecureSkipVerify
            self.connectTimeout = connectTimeout
            self.operationTimeout = operationTimeout
            self.maxConnections = maxConnections
            self.bindDN = bindDN
            self.bindPassword = bindPassword
            self.user = user
            self.groups = groups
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case url, startTLS, caFile, insecureSkipVerify, connectTimeout, operationTimeout, maxConnections
            case bindDN, bindPassword
            case user, groups
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(String.self, forKey: .url)
            startTLS = try container.decodeIfPresent(Bool.self, forKey: .startTLS) ?? false
            caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
            insecureSkipVerify = try container.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
            connectTimeout =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .connectTimeout)
                ?? ConfigDuration(seconds: 5)
            operationTimeout =
                try container.decodeIfPresent(ConfigDuration.self, forKey: .operationTimeout)
                ?? ConfigDuration(seconds: 10)
            maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections) ?? 8
            bindDN = try container.decodeIfPresent(String.self, forKey: .bindDN)
            // Given by reference only ({file: …} or {env: …}), read once here at start-up.
            if let secret = try container.decodeIfPresent(Secret.self, forKey: .bindPassword) {
                do {
                    bindPassword = try secret.reveal()
                } catch {
                    throw DecodingError.dataCorruptedError(
                        forKey: .bindPassword, in: container, debugDescription: error.description)
                }
            } else {
                bindPassword = nil
            }
            user = try container.decode(UserSearch.self, forKey: .user)
            groups = try container.decodeIfPresent(GroupSearch.self, forKey: .groups)
        }

        /// Problems that make the configuration unusable, as sentences (empty when it is fine). No
        /// network I/O.
        public var problems: [String] {
            var found: [String] = []
            if connectTimeout.seconds == 0 { found.append("connectTimeout must be longer than 0s") }
            if operationTimeout.seconds == 0 { found.append("operationTimeout must be longer than 0s") }
            if !(1...1024).contains(maxConnections) { found.append("maxConnections must be between 1 and 1024") }
            switch (bindDN, bindPassword) {
            case (nil, nil): break
            case (nil, _?): found.append("bindPassword is set without bindDN")
            case (_?, nil): found.append("bindDN is set without bindPassword")
            case (let dn?, let password?):
                if dn.isEmpty { found.append("bindDN must not be empty (omit it for anonymous search)") }
                if password.isEmpty { found.append("bindPassword must not be empty") }
            }
            found += user.problems.map { "user.\($0)" }
            found += (groups?.problems ?? []).map { "groups.\($0)" }
            return found
        }

        /// The settings, with the bind password masked.
        public var description: String {
            "LDAPProvider.Configuration(url: \(url), startTLS: \(startTLS), caFile: \(caFile ?? "-"), "
                + "insecureSkipVerify: \(insecureSkipVerify), bindDN: \(bindDN ?? "-"), "
                + "bindPassword: \(bindPassword == nil ? "-" : "***"), user: \(user), groups: \(groups.map { "\($0)" } ?? "-"))"
        }

        /// Same as ``description``: the bind password is masked.
        public var debugDescription: String { description }

        /// A mirror without the bind password, so `dump` and reflection cannot print it.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "url": url, "startTLS": startTLS, "caFile": caFile as Any, "insecureSkipVerify": insecureSkipVerify,
                    "bindDN": bindDN as Any, "bindPassword": bindPassword == nil ? "-" : "***", "user": user,
                    "groups": groups as Any,
                ])
        }
    }

    /// How far below a base DN a search looks.
    public enum SearchScope: String, Decodable, Sendable, Hashable, CaseIterable {
        /// The base entry's immediate children.
        case one
        /// The base entry and everything below it.
        case sub

        /// Decodes `one` or `sub`, with an error listing both otherwise.
        public init(from decoder: any Decoder) throws {
            self = try ConfigurationDecoding.choice(decoder, Self.allCases)
        }
    }

    /// Where group membership is recorded.
    public enum Membership: String, Decodable, Sendable, Hashable, CaseIterable {
        /// Groups list member DNs in `member` (groupOfNames).
        case member
        /// Groups list member DNs in `uniqueMember` (groupOfUniqueNames).
        case uniqueMember
        /// Groups list member `uid`s in `memberUid` (posixGroup); nesting does not apply.
        case memberUid
        /// Users list their groups' DNs in `memberOf` (Active Directory, OpenLDAP's memberof overlay).
        case memberOf

        /// Decodes one of the four names, with an error listing them otherwise.
        public init(from decoder: any Decoder) throws {
            self = try ConfigurationDecoding.choice(decoder, Self.allCases)
        }

        /// The group filter used when none is configured.
        public var defaultGroupFilter: String {
            switch self {
            case .member: "(objectClass=groupOfNames)"
            case .uniqueMember: "(objectClass=groupOfUniqueNames)"
            case .memberUid: "(objectClass=posixGroup)"
            case .memberOf: "(objectClass=*)"
            }
        }
    }

    /// How users are found (search-then-bind).
    public struct UserSearch: Decodable, Sendable, Hashable, CustomStringConvertible {
        /// Where users live. Required.
        public var baseDN: String
        /// `one` or `sub`. Default `sub`.
        public var scope: SearchScope
        /// Users are entries matching this filter. Default `(objectClass=inetOrgPerson)`.
        public var filter: String
        /// The attribute holding the login name (`uid`, `sAMAccountName`, `mail`, `userPrincipalName`).
        /// Default `uid`.
        public var usernameAttribute: String
        /// The attribute holding the email address. Default `mail`.
        public var emailAttribute: String
        /// The attribute holding the display name. Default `displayName`.
        public var displayNameAttribute: String
        /// The attribute holding a stable id: `entryUUID` (OpenLDAP), `objectGUID` (Active Directory,
        /// reported as lowercase hex) or `dn` (the DN itself, which changes on renames). Default `entryUUID`.
        public var subjectAttribute: String

        /// Creates user search settings; the defaults are those of the YAML form.
        public init(
            baseDN: String, scope: SearchScope = .sub, filter: String = "(objectClass=inetOrgPerson)",
            usernameAttribute: String = "uid", emailAttribute: String = "mail",
            displayNameAttribute: String = "displayName", subjectAttribute: String = "entryUUID"
        ) {
            self.baseDN = baseDN
            self.scope = scope
            self.filter = filter
            self.usernameAttribute = usernameAttribute
            self.emailAttribute = emailAttribute
            self.displayNameAttribute = displayNameAttribute
            self.subjectAttribute = subjectAttribute
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case baseDN, scope, filter, usernameAttribute, emailAttribute, displayNameAttribute, subjectAttribute
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = UserSearch(baseDN: "")
            baseDN = try container.decode(String.self, forKey: .baseDN)
            scope = try container.decodeIfPresent(SearchScope.self, forKey: .scope) ?? defaults.scope
            filter = try container.decodeIfPresent(String.self, forKey: .filter) ?? defaults.filter
            usernameAttribute =
                try container.decodeIfPresent(String.self, forKey: .usernameAttribute) ?? defaults.usernameAttribute
            emailAttribute =
                try container.decodeIfPresent(String.self, forKey: .emailAttribute) ?? defaults.emailAttribute
            displayNameAttribute =
                try container.decodeIfPresent(String.self, forKey: .displayNameAttribute)
                ?? defaults.displayNameAttribute
            subjectAttribute =
                try container.decodeIfPresent(String.self, forKey: .subjectAttribute) ?? defaults.subjectAttribute
        }

        var problems: [String] {
            var found: [String] = []
            if baseDN.trimmingSpaces.isEmpty { found.append("baseDN must not be empty") }
            if let problem = filterProblem(filter) { found.append("filter \(problem)") }
            for (key, value) in [
                ("usernameAttribute", usernameAttribute), ("emailAttribute", emailAttribute),
                ("displayNameAttribute", displayNameAttribute),
            ] where !isAttributeName(value) {
                found.append("\(key) \"\(value)\" is not an attribute name")
            }
            if subjectAttribute.lowercased() != "dn" && !isAttributeName(subjectAttribute) {
                found.append("subjectAttribute \"\(subjectAttribute)\" is not an attribute name (or dn)")
            }
            return found
        }

        /// The settings in one line.
        public var description: String {
            "UserSearch(baseDN: \(baseDN), scope: \(scope.rawValue), filter: \(filter), username: \(usernameAttribute), "
                + "subject: \(subjectAttribute))"
        }
    }

    /// How groups are found.
    public struct GroupSearch: Decodable, Sendable, Hashable, CustomStringConvertible {
        /// Where groups live. Required.
        public var baseDN: String
        /// Where membership is recorded. Default `member`.
        public var membership: Membership
        /// Groups are entries matching this filter. Default: ``Membership/defaultGroupFilter``.
        public var filter: String
        /// The attribute holding a group's name. Default `cn`.
        public var nameAttribute: String
        /// Whether groups that are members of groups count (with a cycle guard, at most
        /// ``LDAPProvider/maximumNestingDepth`` levels). Not for `memberUid`. Default false.
        public var nested: Bool

        /// Creates group search settings; the defaults are those of the YAML form.
        public init(
            baseDN: String, membership: Membership = .member, filter: String? = nil, nameAttribute: String = "cn",
            nested: Bool = false
        ) {
            self.baseDN = baseDN
            self.membership = membership
            self.filter = filter ?? membership.defaultGroupFilter
            self.nameAttribute = nameAttribute
            self.nested = nested
        }

        private enum CodingKeys: String, CodingKey, CaseIterable {
            case baseDN, membership, filter, nameAttribute, nested
        }

        /// Decodes the block; missing optional fields keep their defaults, unknown keys are errors.
        public init(from decoder: any Decoder) throws {
            try ConfigurationDecoding.rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                baseDN: try container.decode(String.self, forKey: .baseDN),
                membership: try container.decodeIfPresent(Membership.self, forKey: .membership) ?? .member,
                filter: try container.decodeIfPresent(String.self, forKey: .filter),
                nameAttribute: try container.decodeIfPresent(String.self, forKey: .nameAttribute) ?? "cn",
                nested: try container.decodeIfPresent(Bool.self, forKey: .nested) ?? false)
        }

        var problems: [String] {
            var found: [String] = []
            if baseDN.trimmingSpaces.isEmpty { found.append("baseDN must not be empty") }
            if let problem = filterProblem(filter) { found.append("filter \(problem)") }
            if !isAttributeName(nameAttribute) {
                found.append("nameAttribute \"\(nameAttribute)\" is not an attribute name")
            }
            if nested && membership == .memberUid { found.append("nested does not apply to memberUid membership") }
            return found
        }

        /// The settings in one line.
        public var description: String {
            "GroupSearch(baseDN: \(baseDN), membership: \(membership.rawValue), filter: \(filter), nested: \(nested))"
        }
    }
}

// MARK: - Validation helpers

/// An attribute description: a name (`uid`, `sAMAccountName`) or a numeric OID.
func isAttributeName(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first, text.utf8.count <= 128 else { return false }
    if first.properties.isASCIIHexDigit && ("0"..."9").contains(first) {
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }
    return first.isASCIILetter
        && text.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "-" }
}

/// Why `filter` cannot be a search filter, or nil: it must be parenthesised with balanced parentheses
/// (libldap checks the rest when it is first used).
func filterProblem(_ filter: String) -> String? {
    guard filter.hasPrefix("("), filter.hasSuffix(")") else { return "must be enclosed in parentheses" }
    var depth = 0
    var escaped = false
    for character in filter {
        if escaped {
            escaped = false
            continue
        }
        switch character {
        case "\\": escaped = true
        case "(": depth += 1
        case ")":
            depth -= 1
            if depth < 0 { return "has an unbalanced \")\"" }
        case "\0": return "contains a NUL character"
        default: break
        }
    }
    return depth == 0 ? nil : "has unbalanced parentheses"
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
