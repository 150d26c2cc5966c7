import Diagnostics
import Foundation
import IdentityCore
import Storage

/// What one run of ``GroupSyncer`` did (or, in a dry run, would do).
public struct GroupSyncReport: Sendable, Hashable {
    /// One line of the report.
    public struct Entry: Sendable, Hashable, CustomStringConvertible {
        /// What happens to the user.
        public enum Action: Sendable, Hashable {
            /// A group member who never logged in gets an account (and `admin` rights).
            case provision(admin: Bool)
            /// A membership or admin change.
            case sync(SyncChange)
            /// A group member who cannot be provisioned, and why.
            case skipped(String)
        }

        /// The user's name.
        public var username: String
        /// What happens.
        public var action: Action

        /// `alice: add to team devs as contributor`
        public var description: String {
            switch action {
            case .provision(let admin): "\(username): create the account" + (admin ? " as administrator" : "")
            case .sync(let change): "\(username): \(change)"
            case .skipped(let reason): "\(username): skipped, \(reason)"
            }
        }
    }

    /// The provider synced.
    public var provider: ProviderID
    /// Whether nothing was written.
    public var dryRun: Bool
    /// How many linked accounts were checked against the directory.
    public var accountsChecked: Int
    /// Every change (made, or planned in a dry run), per user in username order.
    public var entries: [Entry]
    /// Rules that could not apply (missing teams), each once.
    public var notes: [String]
}

/// Syncs every account linked to one group directory, and pre-provisions group members who never
/// logged in: the background job and `portcullis ldap sync` run it.
///
/// The directory is asked first, and only when every answer came back is anything written, in ONE write
/// transaction: a directory that fails halfway never makes an authoritative sync remove memberships.
///
/// Threading: a value; `run` may be called from any task. Throws `ProviderError` when the directory
/// cannot be read and `StoreError` when the store fails.
public struct GroupSyncer: Sendable {
    private let directory: any GroupDirectory
    private let rules: MappingRules
    private let store: any Store
    private let provisioner: any AccountProvisioning
    private let logger: Logger

    /// Creates a syncer for one provider with its rules.
    public init(
        directory: any GroupDirectory, rules: MappingRules, store: any Store, provisioner: any AccountProvisioning,
        logger: Logger
    ) {
        self.directory = directory
        self.rules = rules
        self.store = store
        self.provisioner = provisioner
        self.logger = logger
    }

    private struct Known: Sendable {
        var subject: String
        var user: User
        var groups: [DirectoryGroup] = []
    }

    private struct Newcomer: Sendable {
        var identity: ExternalIdentity
        var groups: [DirectoryGroup]
    }

    /// Reads the directory, then applies (or with `dryRun` only reports) every change.
    public func run(dryRun: Bool) async throws -> GroupSyncReport {
        let provider = directory.id
        var known = try await store.read { reader -> [Known] in
            try reader.identityLinks(ofProvider: provider.rawValue).compactMap { link in
                try reader.user(id: link.userID).map { Known(subject: link.subject, user: $0) }
            }
        }
        var seenGroups: [String: DirectoryGroup] = [:]
        for index in known.indices {
            let identity = ExternalIdentity(
                provider: provider, subject: known[index].subject, username: known[index].user.username)
            known[index].groups = try await directory.groups(of: identity)
            for group in known[index].groups { seenGroups[group.dn.lowercased()] = group }
        }
        var newcomers: [Newcomer] = []
        if rules.preProvision {
            newcomers = try await findNewcomers(known: Set(known.map(\.subject)), seenGroups: Array(seenGroups.values))
        }
        let rules = self.rules
        let provisioner = self.provisioner
        let accounts = known
        let members = newcomers
        let body: @Sendable (any StoreReading) throws -> GroupSyncReport = { reader in
            let rules = try rules.includingTeamGroupLinks(of: provider.rawValue, reader)
            var entries: [GroupSyncReport.Entry] = []
            var notes: [String] = []
            let writer = dryRun ? nil : reader as? any StoreWriting
            for account in accounts.sorted(by: { $0.user.username < $1.user.username }) {
                let plan = try GroupSync.plan(
                    for: account.user, provider: provider.rawValue, groups: account.groups, rules: rules,
                    reader: reader)
                notes += plan.notes
                let changes =
                    try writer.map {
                        try GroupSync.apply(plan.changes, to: account.user, provider: provider.rawValue, writer: $0)
                    } ?? plan.changes
                entries += changes.map { .init(username: account.user.username, action: .sync($0)) }
            }
            for member in members.sorted(by: { $0.identity.username < $1.identity.username }) {
                let identity = member.identity
                if try reader.user(linkedTo: provider.rawValue, subject: identity.subject) != nil { continue }
                guard !identity.username.isEmpty else {
                    entries.append(.init(username: identity.subject, action: .skipped("the entry has no username")))
                    continue
                }
                if let problem = Username.problem(with: identity.username) {
                    entries.append(
                        .init(username: identity.username, action: .skipped("invalid username: \(problem.message)")))
                    continue
                }
                if try reader.user(named: identity.username) != nil {
                    entries.append(
                        .init(
                            username: identity.username,
                            action: .skipped("the username belongs to another account (never merged)")))
                    continue
                }
                let admin = rules.makesAdmin(groups: member.groups, entry: identity.distinguishedName)
                if let writer {
                    let user: User
                    do {
                        user = try IdentityMapper.createAccount(
                            for: identity, groups: member.groups, rules: rules, provisioner: provisioner,
                            writer: writer)
                    } catch let failure as ProvisioningFailure {
                        entries.append(.init(username: identity.username, action: .skipped(failure.reason)))
                        continue
                    }
                    entries.append(.init(username: identity.username, action: .provision(admin: admin)))
                    let plan = try GroupSync.plan(
                        for: user, provider: provider.rawValue, groups: member.groups, rules: rules, reader: writer,
                        entry: identity.distinguishedName)
                    notes += plan.notes
                    let applied = try GroupSync.apply(
                        plan.changes, to: user, provider: provider.rawValue, writer: writer)
                    entries += applied.map { .init(username: user.username, action: .sync($0)) }
                } else {
                    entries.append(.init(username: identity.username, action: .provision(admin: admin)))
                    var teams: [String: Team] = [:]
                    for name in Set(rules.syncRules.map(\.team)) {
                        if let team = try reader.team(named: name) { teams[name] = team }
                    }
                    let plan = GroupSync.plan(
                        provider: provider.rawValue, groups: member.groups, memberships: [], teams: teams,
                        isAdmin: admin, rules: rules, entry: identity.distinguishedName)
                    notes += plan.notes
                    entries += plan.changes.map { .init(username: identity.username, action: .sync($0)) }
                }
            }
            var seen = Set<String>()
            return GroupSyncReport(
                provider: provider, dryRun: dryRun, accountsChecked: accounts.count, entries: entries,
                notes: notes.filter { seen.insert($0).inserted })
        }
        let report = try await dryRun ? store.read(body) : store.write { try body($0) }
        if !dryRun {
            logger.info(
                "group sync done",
                [
                    "provider": provider.rawValue, "accounts": String(report.accountsChecked),
                    "changes": String(report.entries.count),
                ])
        }
        return report
    }

    /// Group members the store has no link for, with their groups: from the groups the rules name by
    /// exact DN, and from every group a linked account is in that a rule concerns.
    private func findNewcomers(known: Set<String>, seenGroups: [DirectoryGroup]) async throws -> [Newcomer] {
        var candidates: [String: DirectoryGroup] = [:]
        for pattern in rules.syncRules.map(\.group) + rules.adminGroups {
            if let dn = pattern.exactDistinguishedName { candidates[dn.lowercased()] = DistinguishedName.group(dn) }
        }
        for group in seenGroups where rules.concerns(group) { candidates[group.dn.lowercased()] = group }
        var found: [String: ExternalIdentity] = [:]
        for group in candidates.values.sorted(by: { $0.dn < $1.dn }) {
            for member in try await directory.members(of: group) where !known.contains(member.subject) {
                found[member.subject] = member
            }
        }
        var newcomers: [Newcomer] = []
        for identity in found.values.sorted(by: { $0.username < $1.username }) {
            newcomers.append(Newcomer(identity: identity, groups: try await directory.groups(of: identity)))
        }
        return newcomers
    }
}
