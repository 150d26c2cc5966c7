import Administration
import Diagnostics
import Foundation
import IdentityCore
import Storage
import Webhooks

/// A directory identity to link an imported LDAP account to (`identity_links`), found by username in the
/// configured LDAP provider before the import runs.
public struct PortusDirectoryLink: Sendable, Hashable {
    /// The provider id (`corp-ldap`).
    public var providerID: String
    /// The provider's stable key for the person (its `subjectAttribute`).
    public var subject: String

    /// Describes a link.
    public init(providerID: String, subject: String) {
        self.providerID = providerID
        self.subject = subject
    }
}

/// How an import runs.
public struct PortusImportOptions: Sendable {
    /// The configured registry the repositories belong to.
    public var registry: String
    /// The name of Portcullis's global namespace, which Portus's global namespace becomes.
    public var globalNamespaceName: String
    /// Lowercased usernames no account may take, with what holds them (CI trust policies).
    public var reservedUsernames: [String: String]
    /// Seals the secrets and header values of imported webhooks; without it webhooks are refused.
    public var sealer: WebhookSecretSealer?
    /// The identities to link LDAP accounts (no local password) to, by Portus username.
    public var directoryLinks: [String: PortusDirectoryLink]
    /// Who runs the import, for the audit log.
    public var actor: String
    /// Roll everything back at the end: report what would happen.
    public var dryRun: Bool
    /// Roll everything back when any record was refused.
    public var strict: Bool

    /// Describes a run.
    public init(
        registry: String, globalNamespaceName: String = NamespaceNaming.globalNamespaceName,
        reservedUsernames: [String: String] = [:], sealer: WebhookSecretSealer? = nil,
        directoryLinks: [String: PortusDirectoryLink] = [:], actor: String, dryRun: Bool = false, strict: Bool = false
    ) {
        self.registry = registry
        self.globalNamespaceName = globalNamespaceName
        self.reservedUsernames = reservedUsernames
        self.sealer = sealer
        self.directoryLinks = directoryLinks
        self.actor = actor
        self.dryRun = dryRun
        self.strict = strict
    }
}

/// Imports a Portus snapshot through the store API and the application services' rules, in one write
/// transaction: either everything the report lists as created is there, or (a failure, a dry run, `--strict`
/// with refused records) nothing is.
///
/// Records are matched by natural keys (username in any case, team and namespace name, repository name in its
/// namespace and registry, tag name, webhook URL in its namespace, the Portus activity id kept in imported
/// audit events), so a second run creates only what the first did not, and never overwrites what Portcullis
/// holds. The mapping is documented in docs/migrating-from-portus.md.
public enum PortusImporter {
    /// Runs the import into `store` and returns its report (`rolledBack` when nothing was written).
    public static func run(_ snapshot: PortusSnapshot, options: PortusImportOptions, into store: any Store)
        async throws -> PortusImportReport
    {
        do {
            return try await store.write { writer in
                var run = try ImportRun(snapshot: snapshot, options: options, writer: writer)
                let report = try run.importEverything()
                if options.dryRun || (options.strict && report.total(.refused) > 0) {
                    throw RolledBack(report: report)
                }
                return report
            }
        } catch let rollback as RolledBack {
            var report = rollback.report
            report.rolledBack = true
            return report
        }
    }

    /// Thrown out of the write closure to roll the transaction back while keeping the report.
    private struct RolledBack: Error {
        var report: PortusImportReport
    }
}

/// One import inside one write transaction: the Portus ids mapped so far and the report.
struct ImportRun {
    let snapshot: PortusSnapshot
    let options: PortusImportOptions
    let writer: any StoreWriting
    var report = PortusImportReport()

    /// Portus id → Portcullis record, for what was imported or matched.
    var userIDs: [Int: User.ID] = [:]
    var teamIDs: [Int: Team.ID] = [:]
    var namespaces: [Int: Namespace] = [:]
    var repositoryIDs: [Int: Repository.ID] = [:]
    /// The Portus rows by id, for names.
    let portusUsers: [Int: PortusUser]
    let portusNamespaces: [Int: PortusNamespace]
    let portusRepositories: [Int: PortusRepository]
    let portusTeams: [Int: PortusTeam]
    let portusTags: [Int: PortusTag]
    let portusWebhooks: [Int: PortusWebhook]
    /// Portus namespaces that are someone's personal namespace, and the teams that own them or the global one.
    let personalNamespaceIDs: Set<Int>
    let personalTeamIDs: Set<Int>
    let globalTeamIDs: Set<Int>
    /// Portcullis's global namespace.
    let global: Namespace

    init(snapshot: PortusSnapshot, options: PortusImportOptions, writer: any StoreWriting) throws {
        self.snapshot = snapshot
        self.options = options
        self.writer = writer
        portusUsers = Dictionary(snapshot.users.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        portusNamespaces = Dictionary(snapshot.namespaces.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        portusRepositories = Dictionary(
            snapshot.repositories.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        portusTeams = Dictionary(snapshot.teams.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        portusTags = Dictionary(snapshot.tags.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        portusWebhooks = Dictionary(snapshot.webhooks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let personal = Set(snapshot.users.compactMap(\.namespaceID))
        personalNamespaceIDs = personal
        personalTeamIDs = Set(
            snapshot.namespaces.filter { personal.contains($0.id) && !$0.isGlobal }.compactMap(\.teamID))
        globalTeamIDs = Set(
            snapshot.namespaces.filter(\.isGlobal).compactMap(\.teamID)
                + snapshot.teams.filter { $0.isHidden && $0.name.hasPrefix("portus_global_team") }.map(\.id))
        global = try writer.ensureGlobalNamespace(named: options.globalNamespaceName).namespace
    }

    mutating func importEverything() throws -> PortusImportReport {
        // Teams first: their Portus names are kept, and personal teams (whose names nobody types) give way.
        try importTeams()
        try importUsers()
        try importMembers()
        try importNamespaces()
        try importRepositories()
        try importTags()
        try importStars()
        try importWebhooks()
        try importActivities()
        reportTokens()
        report.notImported = snapshot.notImported
        report.portusSchemaVersion = snapshot.schemaVersion
        if report.changed {
            let counts = PortusRecordKind.allCases.map { ($0.rawValue, String(report.count($0, .created))) }
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "import.portus", outcome: .success, actorName: options.actor, target: "portus",
                    detail: JSONText.object(sortingKeys: Dictionary(uniqueKeysWithValues: counts))))
        }
        return report
    }

    // MARK: - Users

    private mutating func importUsers() throws {
        // Portus compared usernames case-sensitively; here names differing only in case are one account, so
        // the later of two such Portus users is refused (always the same one, whichever run this is).
        var firstSpelling: [String: String] = [:]
        for user in snapshot.users where user.username != PortusUser.internalUsername {
            firstSpelling[user.username.lowercased()] = firstSpelling[user.username.lowercased()] ?? user.username
        }
        for user in snapshot.users {
            if user.username == PortusUser.internalUsername {
                report.note(
                    .user, user.username, .skipped,
                    ["Portus's internal API user (Portcullis calls the registry with its own tokens)"])
                continue
            }
            if let first = firstSpelling[user.username.lowercased()], first != user.username {
                report.note(
                    .user, user.username, .refused,
                    ["differs from Portus user '\(first)' only in case, and here that is one account"])
                continue
            }
            if let existing = try writer.users(namedIgnoringCase: user.username).first {
                userIDs[user.id] = existing.id
                if let personal = try writer.personalNamespace(of: existing.id), let portusID = user.namespaceID {
                    namespaces[portusID] = personal
                    if let team = portusNamespaces[portusID]?.teamID { teamIDs[team] = personal.teamID }
                }
                var notes: [String] = []
                let linked = try link(user, to: existing, created: false, notes: &notes)
                report.note(.user, user.username, linked ? .updated : .present, linked ? notes : [])
                continue
            }
            try createUser(user)
        }
    }

    private mutating func createUser(_ user: PortusUser) throws {
        if let problem = Username.problem(with: user.username) {
            report.note(.user, user.username, .refused, ["invalid username here: \(problem.message)"])
            return
        }
        if let holder = options.reservedUsernames[user.username.lowercased()] {
            report.note(.user, user.username, .refused, ["the name is taken by \(holder)"])
            return
        }
        var notes: [String] = []
        var email = user.email.flatMap { $0.isEmpty ? nil : $0 }
        if let address = email, (try? ProfileRules.checkEmail(address)) == nil {
            notes.append("e-mail address '\(address)' dropped: not a valid address here")
            email = nil
        }
        var displayName = user.displayName.flatMap { $0.isEmpty ? nil : $0 }
        if let name = displayName, (try? ProfileRules.checkDisplayName(name)) == nil {
            notes.append("display name dropped: too long or with control characters")
            displayName = nil
        }
        var hash: String?
        if !user.encryptedPassword.isEmpty {
            if ["$2a$", "$2b$", "$2y$"].contains(where: user.encryptedPassword.hasPrefix) {
                hash = user.encryptedPassword
                notes.append("password kept (bcrypt)")
            } else {
                notes.append(
                    "the stored password is not a bcrypt hash and was not kept: set one with portcullis user "
                        + "set-password")
            }
        } else if user.isBot {
            notes.append("Portus bot: no password (bots signed in with application tokens only)")
        } else {
            notes.append("no local password (an LDAP account)")
        }
        if user.isAdmin { notes.append("administrator") }
        if !user.isEnabled { notes.append("disabled") }
        let portusPersonal = user.namespaceID.flatMap { portusNamespaces[$0] }
        let (created, personal) = try AccountAdministration.provision(
            NewUser(
                username: user.username, email: email, displayName: displayName, passwordHash: hash,
                isAdmin: user.isAdmin, isEnabled: user.isEnabled),
            namespaceName: portusPersonal?.name, in: writer)
        userIDs[user.id] = created.id
        if let portusPersonal {
            if personal.name != portusPersonal.name {
                notes.append(
                    "personal namespace '\(personal.name)' ('\(portusPersonal.name)' is not valid here or is taken)")
            }
            namespaces[portusPersonal.id] = try adopt(portusPersonal, into: personal)
            if let team = portusPersonal.teamID { teamIDs[team] = personal.teamID }
        }
        _ = try link(user, to: created, created: true, notes: &notes)
        report.note(.user, user.username, .created, notes)
    }

    /// Gives a Portcullis personal namespace the visibility and description the Portus one had.
    private func adopt(_ portus: PortusNamespace, into namespace: Namespace) throws -> Namespace {
        if let visibility = Self.visibility(portus.visibility), visibility != namespace.visibility {
            try writer.setVisibility(visibility, for: namespace.id)
        }
        if let description = Self.description(portus.description), description != namespace.description {
            try writer.setDescription(description, forNamespace: namespace.id)
        }
        return try writer.namespace(id: namespace.id) ?? namespace
    }

    /// Links an LDAP account (no local password in Portus) to its directory identity, when one was found;
    /// says whether it made a link.
    private func link(_ user: PortusUser, to account: User, created: Bool, notes: inout [String]) throws -> Bool {
        guard user.isLDAPAccount else { return false }
        guard let identity = options.directoryLinks[user.username] else {
            if created {
                notes.append(
                    "not linked to a directory identity (no LDAP provider configured, or no such entry there): its "
                        + "LDAP login is refused until an import with the provider configured links it")
            }
            return false
        }
        if let holder = try writer.user(linkedTo: identity.providerID, subject: identity.subject) {
            if holder.id != account.id {
                notes.append("its directory identity is linked to '\(holder.username)' already; not linked")
            }
            return false
        }
        _ = try writer.linkIdentity(providerID: identity.providerID, subject: identity.subject, to: account.id)
        _ = try writer.appendAuditEvent(
            NewAuditEvent(
                action: "user.link", outcome: .success, actorName: options.actor, target: "user:\(account.username)",
                detail: JSONText.object(sortingKeys: [
                    "provider": identity.providerID, "subject": identity.subject, "source": "portus import",
                ])))
        notes.append("linked to its \(identity.providerID) identity")
        return true
    }

    // MARK: - Teams and members

    private mutating func importTeams() throws {
        // A valid Portus name is kept before any renamed team may take it, whatever their order.
        var claimed: [String: String] = [:]
        for team in snapshot.teams where !team.isHidden && NamespaceNaming.isValid(team.name) {
            claimed[team.name] = team.name
        }
        for team in snapshot.teams {
            if globalTeamIDs.contains(team.id) {
                teamIDs[team.id] = global.teamID
                report.note(.team, team.name, .present, ["the global team: its owners are the administrators"])
                continue
            }
            if personalTeamIDs.contains(team.id) { continue }
            if team.isHidden {
                report.note(.team, team.name, .skipped, ["a hidden team that owns no personal or global namespace"])
                continue
            }
            guard
                let name = NamespaceNaming.isValid(team.name)
                    ? team.name : NamespaceNaming.namespaceName(forUsername: team.name)
            else {
                report.note(.team, team.name, .refused, ["no letters or digits to name a team after"])
                continue
            }
            if let holder = claimed[name], holder != team.name {
                report.note(.team, team.name, .refused, ["its name here would be '\(name)', as team '\(holder)'s is"])
                continue
            }
            claimed[name] = team.name
            let label = name == team.name ? name : "\(team.name) → \(name)"
            if let existing = try writer.team(named: name) {
                if existing.isHidden {
                    report.note(.team, label, .refused, ["'\(name)' is a personal or the global team here"])
                } else {
                    teamIDs[team.id] = existing.id
                    report.note(.team, label, .present)
                }
                continue
            }
            var notes: [String] = []
            if name != team.name { notes.append("renamed: team names here are lower-case letters, digits and . _ -") }
            let description = Self.description(team.description)
            if team.description?.isEmpty == false, description == nil {
                notes.append("description dropped: too long or with control characters")
            }
            teamIDs[team.id] = try writer.createTeam(name: name, description: description, isHidden: false).id
            report.note(.team, label, .created, notes)
        }
    }

    private mutating func importMembers() throws {
        for member in snapshot.teamMembers {
            // Personal and global teams get their members from the accounts and the admin flag.
            if personalTeamIDs.contains(member.teamID) || globalTeamIDs.contains(member.teamID) { continue }
            guard let teamID = teamIDs[member.teamID] else { continue }
            let username = portusUsers[member.userID]?.username ?? "user #\(member.userID)"
            let teamName = try writer.team(id: teamID)?.name ?? "team #\(member.teamID)"
            let label = "\(username) in \(teamName)"
            guard let userID = userIDs[member.userID] else {
                report.note(.member, label, .skipped, ["the user was not imported"])
                continue
            }
            guard var role = Self.role(member.role) else {
                report.note(.member, label, .refused, ["unknown Portus role \(member.role)"])
                continue
            }
            var notes: [String] = []
            // Portus (and Portcullis): an administrator in a team is always an owner.
            if portusUsers[member.userID]?.isAdmin == true, role != .owner {
                role = .owner
                notes.append(
                    "\(member.role == 0 ? "a viewer" : "a contributor") in Portus: administrators own their teams")
            }
            if try writer.role(of: userID, in: teamID) != nil {
                report.note(.member, label, .present)
                continue
            }
            _ = try writer.addTeamMember(team: teamID, user: userID, role: role)
            report.note(.member, "\(label) as \(role.rawValue)", .created, notes)
        }
    }

    // MARK: - Namespaces

    private mutating func importNamespaces() throws {
        for namespace in snapshot.namespaces {
            if namespace.isGlobal {
                namespaces[namespace.id] = global
                report.note(.namespace, namespace.name, .present, ["Portus's global namespace: now '\(global.name)'"])
                continue
            }
            // Personal namespaces came with their accounts (the portus user's stays behind with it).
            if personalNamespaceIDs.contains(namespace.id) { continue }
            guard NamespaceNaming.isValid(namespace.name) else {
                report.note(
                    .namespace, namespace.name, .refused,
                    ["not a valid namespace name here (lower-case letters, digits, and . _ - between them)"])
                continue
            }
            if let existing = try writer.namespace(named: namespace.name) {
                guard existing.kind == .regular else {
                    report.note(
                        .namespace, namespace.name, .refused,
                        ["a \(existing.kind.rawValue) namespace here has the name"])
                    continue
                }
                namespaces[namespace.id] = existing
                report.note(.namespace, namespace.name, .present)
                continue
            }
            guard let portusTeam = namespace.teamID, let teamID = teamIDs[portusTeam] else {
                report.note(.namespace, namespace.name, .refused, ["its team was not imported"])
                continue
            }
            guard let visibility = Self.visibility(namespace.visibility) else {
                report.note(
                    .namespace, namespace.name, .refused,
                    ["unknown Portus visibility \(namespace.visibility.map(String.init) ?? "NULL")"])
                continue
            }
            let description = Self.description(namespace.description)
            namespaces[namespace.id] = try writer.createNamespace(
                name: namespace.name, team: teamID, visibility: visibility, kind: .regular, personalOwner: nil,
                description: description)
            report.note(.namespace, namespace.name, .created, [visibility.rawValue])
        }
    }

    // MARK: - Mapping Portus values

    /// Portus's `team_users.role`.
    static func role(_ value: Int) -> TeamRole? {
        switch value {
        case 0: .viewer
        case 1: .contributor
        case 2: .owner
        default: nil
        }
    }

    /// Portus's `namespaces.visibility` (NULL was private).
    static func visibility(_ value: Int?) -> NamespaceVisibility? {
        switch value {
        case nil, 0: .private
        case 1: .protected
        case 2: .public
        default: nil
        }
    }

    /// A Portus description as Portcullis keeps it: nil when empty, too long or holding control characters.
    static func description(_ text: String?) -> String? {
        // Rails kept what browsers sent, CRLF line ends included; Portcullis keeps LF.
        guard let text = text?.replacingOccurrences(of: "\r\n", with: "\n"), !text.isEmpty,
            text.count <= AdministrationLimits.descriptionLength
        else { return nil }
        let allowed: Set<Unicode.Scalar> = ["\n", "\t"]
        let hasControl = text.unicodeScalars.contains {
            $0.properties.generalCategory == .control && !allowed.contains($0)
        }
        return hasControl ? nil : text
    }
}
