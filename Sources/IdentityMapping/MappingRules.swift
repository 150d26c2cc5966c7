import Foundation
import IdentityCore
import Storage

/// A pattern naming directory groups: a glob (`*` any run of characters, `?` one character) over the
/// group's DN when the pattern contains `=`, else over its name (an LDAP `cn`).
///
/// Matching ignores case, as LDAP compares DNs and `cn` values, and DNs are compared in a normal form
/// (no blanks around `,` and `=`), so `cn=Devs, ou=Groups` matches `cn=devs,ou=groups`.
public struct GroupPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let text: String
    /// Whether the pattern is matched against DNs (it contains `=`) rather than names.
    public let matchesDistinguishedNames: Bool
    private let normalized: [Character]

    /// Wraps a pattern as written in the configuration.
    public init(_ text: String) {
        self.text = text
        matchesDistinguishedNames = text.contains("=")
        normalized = Array(matchesDistinguishedNames ? DistinguishedName.normalized(text) : text.lowercased())
    }

    /// Whether the pattern has no wildcard, so it names exactly one group.
    public var isExact: Bool { !text.contains("*") && !text.contains("?") }

    /// The one group DN this pattern names, when it is an exact DN pattern (for listing members
    /// before anyone in the group logged in).
    public var exactDistinguishedName: String? { matchesDistinguishedNames && isExact ? text : nil }

    /// Whether `group` is one the pattern names.
    public func matches(_ group: DirectoryGroup) -> Bool {
        let subject = matchesDistinguishedNames ? DistinguishedName.normalized(group.dn) : group.name.lowercased()
        return Glob.matches(normalized, Array(subject))
    }

    /// The pattern as written.
    public var description: String { text }
}

/// Whether sync only adds, or also takes away what the directory no longer grants.
public enum GroupSyncMode: String, Sendable, Hashable, CaseIterable {
    /// Portus's behaviour: members are added and promoted, never removed or demoted.
    case additive
    /// Synced memberships follow the directory: members who left the group lose them, roles follow
    /// the rules both ways. Memberships added by hand are never touched.
    case authoritative
}

/// One group → team rule: members of matching groups join `team` with `role`.
public struct GroupSyncRule: Sendable, Hashable {
    /// The groups the rule applies to.
    public var group: GroupPattern
    /// The team's name.
    public var team: String
    /// The role members get (the highest one when several rules name the same team).
    public var role: TeamRole
    /// Whether sync creates the team when it does not exist yet (otherwise the rule waits for it).
    public var createTeam: Bool

    /// Creates a rule.
    public init(group: GroupPattern, team: String, role: TeamRole = .viewer, createTeam: Bool = false) {
        self.group = group
        self.team = team
        self.role = role
        self.createTeam = createTeam
    }
}

/// How email addresses are guessed for users whose directory entry has none (Portus `guess_email`).
public enum EmailGuess: Sendable, Hashable {
    /// No guess: the user has no address until someone sets one.
    case none
    /// `<username>@<domain>`.
    case domain(String)
    /// `<username>@<the dc= parts of the user's DN, joined by dots>`.
    case distinguishedName

    /// The guessed address for `identity`, or nil.
    public func address(for identity: ExternalIdentity) -> String? {
        switch self {
        case .none: return nil
        case .domain(let domain): return domain.isEmpty ? nil : "\(identity.username)@\(domain)"
        case .distinguishedName:
            let entry = identity.distinguishedName ?? identity.subject
            let parts = DistinguishedName.components(entry).filter { $0.attribute == "dc" }.map(\.value)
            return parts.isEmpty ? nil : "\(identity.username)@\(parts.joined(separator: "."))"
        }
    }
}

/// What the mapping does with one provider's identities: provisioning, admins, email and group sync.
public struct MappingRules: Sendable, Hashable {
    /// Whether a first login creates the account (with its personal namespace). Default true.
    public var autoProvision: Bool
    /// Members of matching groups become administrators; sync takes away only the rights it gave.
    public var adminGroups: [GroupPattern]
    /// Users whose directory entry lies under one of these DNs become administrators; sync takes away only the
    /// rights it gave.
    public var adminBases: [String]
    /// How to guess a missing email address.
    public var emailGuess: EmailGuess
    /// Additive (Portus) or authoritative.
    public var syncMode: GroupSyncMode
    /// How often the background job syncs every linked user; zero means only at login.
    public var syncInterval: Duration
    /// Whether the background sync and `ldap sync` also create accounts for group members who never
    /// logged in, so they can be given rights before their first login.
    public var preProvision: Bool
    /// The group → team rules.
    public var syncRules: [GroupSyncRule]
    /// Whether a first login whose username is taken gets `name-2`, `name-3`, … instead of a refusal.
    /// Default false: refused, so nobody is handed a look-alike of someone else's name unasked.
    public var suffixesTakenUsernames: Bool = false
    /// Whether a browser sign-in whose email address the provider did not verify is refused. Default true.
    public var requiresVerifiedEmail: Bool = true

    /// Creates rules; the defaults provision accounts and sync nothing.
    public init(
        autoProvision: Bool = true, adminGroups: [GroupPattern] = [], adminBases: [String] = [],
        emailGuess: EmailGuess = .none, syncMode: GroupSyncMode = .additive, syncInterval: Duration = .zero,
        preProvision: Bool = false, syncRules: [GroupSyncRule] = []
    ) {
        self.autoProvision = autoProvision
        self.adminGroups = adminGroups
        self.adminBases = adminBases
        self.emailGuess = emailGuess
        self.syncMode = syncMode
        self.syncInterval = syncInterval
        self.preProvision = preProvision
        self.syncRules = syncRules
    }

    /// Whether a user in `groups`, whose directory entry is `entry` (if known), is to be an administrator:
    /// a member of an admin group, or an entry under an admin base (compared RDN by RDN, ignoring case).
    public func makesAdmin(groups: [DirectoryGroup], entry: String?) -> Bool {
        if groups.contains(where: { group in adminGroups.contains { $0.matches(group) } }) { return true }
        guard let entry else { return false }
        func folded(_ dn: String) -> [String] {
            DistinguishedName.components(dn).map { $0.attribute + "=" + $0.value.lowercased() }
        }
        let rdns = folded(entry)
        return adminBases.contains { base in
            let baseRDNs = folded(base)
            return !baseRDNs.isEmpty && rdns.count > baseRDNs.count && Array(rdns.suffix(baseRDNs.count)) == baseRDNs
        }
    }

    /// Whether any rule or admin pattern applies to `group`.
    public func concerns(_ group: DirectoryGroup) -> Bool {
        adminGroups.contains { $0.matches(group) } || syncRules.contains { $0.group.matches(group) }
    }
}

/// Glob matching over characters: `*` any run (also empty), `?` exactly one.
enum Glob {
    static func matches(_ pattern: [Character], _ text: [Character]) -> Bool {
        // Iterative with one backtrack point: linear in practice, never exponential on hostile input.
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

/// Just enough DN handling for matching and naming: split at unescaped commas, keep escapes.
public enum DistinguishedName {
    /// One `attribute=value` part of a DN; the attribute lowercased, the value unescaped.
    public struct Component: Sendable, Hashable {
        /// The attribute type, lowercased (`cn`, `ou`, `dc`).
        public var attribute: String
        /// The value with `\,`-style escapes removed.
        public var value: String
    }

    /// The parts of `dn`, or an empty list when it is not a DN.
    public static func components(_ dn: String) -> [Component] {
        var result: [Component] = []
        for part in split(dn) {
            guard let equals = part.firstIndex(of: "=") else { return [] }
            let attribute = part[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let raw = part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !attribute.isEmpty else { return [] }
            result.append(Component(attribute: attribute, value: unescape(raw)))
        }
        return result
    }

    /// The value of the first part (`developers` for `cn=developers,ou=groups,…`), or nil.
    public static func firstValue(_ dn: String) -> String? { components(dn).first?.value }

    /// A group whose name is taken from its DN's first part (what login identities carry is only the DN).
    public static func group(_ dn: String) -> DirectoryGroup { DirectoryGroup(dn: dn, name: firstValue(dn) ?? dn) }

    /// Lowercased, without blanks around separators, escapes kept: equal for DNs LDAP treats as equal
    /// in the common cases.
    static func normalized(_ dn: String) -> String {
        split(dn).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return part.trimmingCharacters(in: .whitespaces) }
            return part[..<equals].trimmingCharacters(in: .whitespaces) + "="
                + part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }.joined(separator: ",").lowercased()
    }

    private static func split(_ dn: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in dn {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty || !parts.isEmpty { parts.append(current) }
        return parts
    }

    private static func unescape(_ value: String) -> String {
        var result = ""
        var escaped = false
        for character in value {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
