import Authorization
import Foundation
import Storage

// Provider groups named as team members before anyone of them signs in (issue 13 §2; Harbor#15556): a team owner
// names `provider:group`, and group sync makes the group's people members when their groups are next read (at
// sign-in, at revalidation, by the LDAP sync job), with that provider as the membership's provenance.
extension TeamAdministration {
    /// The provider groups named as members of the team (admins and members, as `show`).
    public func groupLinks(of name: String, by actor: Caller) async throws -> [TeamGroupLink] {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let team = try Self.visibleTeam(name, acting, settings, reader)
            return try reader.teamGroupLinks(ofTeam: team.id)
        }
    }

    /// Names `group` of the provider `providerID` a member of the team with `role` (admins and owners, as
    /// adding a member). The group is a name as the provider reports it, without wildcards: a pattern would let
    /// a team take in everyone of a provider. Audited as `team.add_group`.
    ///
    /// - Throws: `team.invalid_group`, `team.group_already_member`, and what adding a member throws.
    public func addGroup(
        _ group: String, of providerID: String, to name: String, role: TeamRole = .viewer, by actor: Caller
    ) async throws -> TeamGroupLink {
        let group = group.trimmingCharacters(in: .whitespaces)
        guard Self.isProviderID(providerID) else {
            throw AdministrationError(.invalidGroup, "'\(providerID)' is not a provider id")
        }
        guard !group.isEmpty, group.count <= 256, !group.contains(where: { "*?".contains($0) || $0.isNewline })
        else {
            throw AdministrationError(
                .invalidGroup, "a group is its name at the provider: 1 to 256 characters, no * or ? and no line breaks")
        }
        let settings = settings
        let now = Date()
        return try await store.write { writer in
            let (acting, team) = try Self.managed(name, actor, settings, writer)
            let link: TeamGroupLink
            do {
                link = try writer.createTeamGroupLink(
                    team: team.id, provider: providerID, group: group, role: role, createdBy: acting.actor.name, at: now
                )
            } catch let error as StoreError where error.code == .conflict {
                throw AdministrationError(
                    .groupAlreadyMember, "the group \(group) of \(providerID) is a member of \(team.name) already")
            }
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.add_group", target: "team:\(team.name)",
                    detail: [("provider", providerID), ("group", group), ("role", role.rawValue)]))
            return link
        }
    }

    /// Removes a provider group from the team's members (admins and owners). The memberships it brought stay
    /// until the next sync of each person removes them (in the provider's authoritative mode). Audited as
    /// `team.remove_group`.
    ///
    /// - Throws: `team.group_not_member`, and what removing a member throws.
    public func removeGroup(_ id: TeamGroupLink.ID, from name: String, by actor: Caller) async throws {
        try await removeGroup(from: name, by: actor) { $0.id == id }
    }

    /// Removes the group `group` of the provider `providerID` from the team's members, as `removeGroup(_:from:by:)`
    /// (the command line names groups, not ids).
    public func removeGroup(_ group: String, of providerID: String, from name: String, by actor: Caller) async throws {
        try await removeGroup(from: name, by: actor) { $0.providerID == providerID && $0.group == group }
    }

    private func removeGroup(
        from name: String, by actor: Caller, where matches: @escaping @Sendable (TeamGroupLink) -> Bool
    ) async throws {
        let settings = settings
        try await store.write { writer in
            let (acting, team) = try Self.managed(name, actor, settings, writer)
            guard let link = try writer.teamGroupLinks(ofTeam: team.id).first(where: matches) else {
                throw AdministrationError(.groupNotMember, "team \(team.name) names no such provider group")
            }
            try writer.deleteTeamGroupLink(link.id, ofTeam: team.id)
            _ = try writer.appendAuditEvent(
                acting.audit(
                    "team.remove_group", target: "team:\(team.name)",
                    detail: [("provider", link.providerID), ("group", link.group)]))
        }
    }

    /// A provider id as `config.d` spells one (`[a-z0-9][a-z0-9-]*`, at most 64).
    static func isProviderID(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 64 else { return false }
        func allowed(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        return allowed(first) && text.utf8.allSatisfy { allowed($0) || $0 == UInt8(ascii: "-") }
    }
}
