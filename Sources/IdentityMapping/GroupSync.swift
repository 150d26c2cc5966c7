import Diagnostics
import Foundation
import IdentityCore
import Storage

/// One change group sync makes to one user's account.
public enum SyncChange: Sendable, Hashable, CustomStringConvertible {
    /// Join `team` with `role`; `createTeam` when the team does not exist yet and its rule may create it.
    case add(team: String, role: TeamRole, createTeam: Bool)
    /// Change the role of a synced membership.
    case changeRole(team: String, from: TeamRole, to: TeamRole)
    /// Leave `team` (authoritative mode: the user left every group that granted it).
    case remove(team: String, role: TeamRole)
    /// Become an administrator (a member of an admin group).
    case grantAdmin
    /// Stop being an administrator: this provider's admin group made the account one and no longer does.
    /// Administrators made by hand (or by another provider) are never demoted by sync.
    case revokeAdmin

    /// `add to team devs as contributor (creating the team)`
    public var description: String {
        switch self {
        case .add(let team, let role, let create):
            "add to team \(team) as \(role.rawValue)" + (create ? " (creating the team)" : "")
        case .changeRole(let team, let from, let to):
            "change role in team \(team) from \(from.rawValue) to \(to.rawValue)"
        case .remove(let team, let role): "remove from team \(team) (was \(role.rawValue))"
        case .grantAdmin: "make administrator"
        case .revokeAdmin: "no longer administrator (left the admin group)"
        }
    }
}

/// What sync would do for one user, and why some rules did nothing.
public struct SyncPlan: Sendable, Hashable {
    /// The changes, in a stable order (by team name, admin last).
    public var changes: [SyncChange]
    /// Rules that matched but could not apply (a team that does not exist and may not be created).
    public var notes: [String]

    /// Creates a plan.
    public init(changes: [SyncChange] = [], notes: [String] = []) {
        self.changes = changes
        self.notes = notes
    }
}

/// Group → team sync as a pure function, plus applying its result inside a write transaction.
public enum GroupSync {
    /// The changes that bring one user's synced memberships in line with the directory.
    ///
    /// - Parameters:
    ///   - provider: the provider whose identity this is; memberships synced from it are the ones sync
    ///     owns. Memberships added by hand, or synced from another provider, are left alone.
    ///   - groups: the user's groups as the directory reports them now.
    ///   - memberships: the user's current memberships.
    ///   - teams: the stored teams the rules name, by name (absent ones do not exist).
    ///   - isAdmin: whether the account is an administrator already.
    ///   - rules: the provider's mapping rules (mode included).
    ///   - entry: the user's directory entry, when known (for `adminBases`).
    ///   - adminGrant: the provider whose admin group made the account an administrator, if sync did; only
    ///     such rights are taken away when the groups no longer grant them.
    public static func plan(
        provider: String, groups: [DirectoryGroup], memberships: [TeamMembership], teams: [String: Team],
        isAdmin: Bool, rules: MappingRules, entry: String? = nil, adminGrant: String? = nil
    ) -> SyncPlan {
        var wanted: [String: (role: TeamRole, create: Bool)] = [:]
        for rule in rules.syncRules where groups.contains(where: rule.group.matches) {
            let previous = wanted[rule.team]
            wanted[rule.team] = (
                max(previous?.role ?? rule.role, rule.role), (previous?.create ?? false) || rule.createTeam
            )
        }
        var synced: [String: TeamRole] = [:]
        var others = Set<String>()
        for membership in memberships {
            if membership.syncedFrom == provider {
                synced[membership.team.name] = membership.role
            } else {
                others.insert(membership.team.name)
            }
        }
        var plan = SyncPlan()
        for (team, want) in wanted.sorted(by: { $0.key < $1.key }) {
            // A membership made by hand (or by another provider) is someone's decision: never overridden.
            if others.contains(team) { continue }
            if let have = synced[team] {
                if want.role > have || (rules.syncMode == .authoritative && want.role < have) {
                    plan.changes.append(.changeRole(team: team, from: have, to: want.role))
                }
            } else if let existing = teams[team] {
                if existing.isHidden {
                    plan.notes.append("team \(team) is a personal or global team; sync never adds members to it")
                } else {
                    plan.changes.append(.add(team: team, role: want.role, createTeam: false))
                }
            } else if want.create {
                plan.changes.append(.add(team: team, role: want.role, createTeam: true))
            } else {
                plan.notes.append("team \(team) does not exist and its rule does not create it")
            }
        }
        if rules.syncMode == .authoritative {
            for (team, role) in synced.sorted(by: { $0.key < $1.key }) where wanted[team] == nil {
                plan.changes.append(.remove(team: team, role: role))
            }
        }
        let makesAdmin = rules.makesAdmin(groups: groups, entry: entry)
        if !isAdmin, makesAdmin {
            plan.changes.append(.grantAdmin)
        } else if isAdmin, !makesAdmin, adminGrant == provider {
            plan.changes.append(.revokeAdmin)
        }
        return plan
    }

    /// Reads what ``plan(provider:groups:memberships:teams:isAdmin:rules:)`` needs for `user` and plans.
    public static func plan(
        for user: User, provider: String, groups: [DirectoryGroup], rules: MappingRules, reader: any StoreReading,
        entry: String? = nil
    ) throws -> SyncPlan {
        var teams: [String: Team] = [:]
        for name in Set(rules.syncRules.map(\.team)) {
            if let team = try reader.team(named: name) { teams[name] = team }
        }
        return plan(
            provider: provider, groups: groups, memberships: try reader.memberships(of: user.id), teams: teams,
            isAdmin: user.isAdmin, rules: rules, entry: entry, adminGrant: try reader.adminGrant(of: user.id))
    }

    /// Applies `changes` for `user` and appends one audit event per change made; returns the changes
    /// made. Each change is checked again first, so one planned from an older read is skipped when the
    /// store already moved (a membership added by hand since is never taken over).
    ///
    /// Call inside a `Store.write` closure; throws only what the store throws.
    public static func apply(
        _ changes: [SyncChange], to user: User, provider: String, writer: any StoreWriting
    ) throws -> [SyncChange] {
        var applied: [SyncChange] = []
        let actor = "sync:\(provider)"
        func audit(_ action: String, target: String, _ detail: [String: String]) throws {
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: action, outcome: .success, actorName: actor, target: target,
                    detail: JSONText.object(sortingKeys: detail.merging(["provider": provider]) { old, _ in old })))
        }
        for change in changes {
            let current = try writer.memberships(of: user.id)
            func membership(_ team: String) -> TeamMembership? { current.first { $0.team.name == team } }
            switch change {
            case .add(let teamName, let role, let createTeam):
                guard membership(teamName) == nil else { continue }
                let team: Team
                if let existing = try writer.team(named: teamName) {
                    guard !existing.isHidden else { continue }
                    team = existing
                } else if createTeam {
                    team = try writer.createTeam(
                        name: teamName, description: "Created by group sync from \(provider).", isHidden: false)
                    try audit("team.create", target: "team:\(teamName)", [:])
                } else {
                    continue
                }
                _ = try writer.addTeamMember(team: team.id, user: user.id, role: role, syncedFrom: provider)
                try audit("team.sync.add", target: "team:\(teamName)", ["user": user.username, "role": role.rawValue])
            case .changeRole(let teamName, let from, let to):
                guard let existing = membership(teamName), existing.syncedFrom == provider, existing.role != to else {
                    continue
                }
                try writer.setRole(to, team: existing.team.id, user: user.id)
                try audit(
                    "team.sync.role", target: "team:\(teamName)",
                    ["user": user.username, "from": from.rawValue, "role": to.rawValue])
            case .remove(let teamName, let role):
                guard let existing = membership(teamName), existing.syncedFrom == provider else { continue }
                try writer.removeTeamMember(team: existing.team.id, user: user.id)
                try audit(
                    "team.sync.remove", target: "team:\(teamName)", ["user": user.username, "role": role.rawValue])
            case .grantAdmin:
                guard let stored = try writer.user(id: user.id), !stored.isAdmin else { continue }
                try writer.setAdmin(true, for: user.id)
                try writer.setAdminGrant(of: user.id, provider: provider)
                try audit("user.sync.admin", target: "user:\(user.username)", [:])
            case .revokeAdmin:
                // The last administrator stays one: a group emptied at the provider must not lock everyone out.
                guard let stored = try writer.user(id: user.id), stored.isAdmin,
                    try writer.adminGrant(of: user.id) == provider, try writer.countAdmins() > 1
                else { continue }
                try writer.setAdmin(false, for: user.id)
                try writer.setAdminGrant(of: user.id, provider: nil)
                try audit("user.sync.admin_revoked", target: "user:\(user.username)", [:])
            }
            applied.append(change)
        }
        return applied
    }
}

extension MappingRules {
    /// These rules with the provider's groups that team owners named as team members (`TeamGroupLink`) as rules
    /// of their own: the same sync, mode and provenance as the configured rules. A link names an existing team,
    /// so it never creates one. Callers merge once per transaction or sync run, then plan for each person with
    /// the result (`IdentityMapper.map`, `GroupSyncer`).
    public func includingTeamGroupLinks(of provider: String, _ reader: any StoreReading) throws -> MappingRules {
        let links = try reader.teamGroupLinks(ofProvider: provider)
        guard !links.isEmpty else { return self }
        var rules = self
        rules.syncRules += links.map {
            GroupSyncRule(group: GroupPattern($0.group), team: $0.teamName, role: $0.role, createTeam: false)
        }
        return rules
    }
}
