import Authorization
import Foundation
import Storage

/// What a caller may do in one namespace, decided by `ResourcePolicy` exactly as the services decide when
/// asked to do it: a front door (the web UI) uses it to show only the buttons that would work. It grants
/// nothing; every service still checks again when called.
public struct NamespacePermissions: Sendable, Hashable {
    /// Change the description (`updateNamespace`).
    public var mayEdit: Bool
    /// Change the visibility (`changeVisibility`).
    public var mayChangeVisibility: Bool
    /// Hand the namespace to another team the caller owns (`transferNamespace` towards an owned team).
    public var mayTransfer: Bool
    /// Delete the namespace (`deleteNamespace`).
    public var mayDelete: Bool
    /// Change repositories' descriptions (`updateRepository`).
    public var mayEditRepositories: Bool
    /// Delete repositories and tags (`deleteRepository`; the registry path checks the token policy again).
    public var mayDeleteRepositories: Bool
    /// See the webhooks (`showWebhook`).
    public var mayShowWebhooks: Bool
    /// Create and delete webhooks (`createWebhook`).
    public var mayCreateWebhooks: Bool
    /// Enable, disable and redeliver (`updateWebhook`).
    public var mayManageWebhooks: Bool

    /// Whether any change at all is allowed (an "Edit" action is worth showing).
    public var mayChangeAnything: Bool { mayEdit || mayChangeVisibility || mayTransfer }

    /// Nothing allowed.
    public static let none = NamespacePermissions(
        mayEdit: false, mayChangeVisibility: false, mayTransfer: false, mayDelete: false, mayEditRepositories: false,
        mayDeleteRepositories: false, mayShowWebhooks: false, mayCreateWebhooks: false, mayManageWebhooks: false)
}

extension NamespacePermissions {
    /// What `acting` may do where it has `standing`, as the policy decides.
    init(of acting: ResolvedCaller, standing: NamespaceStanding, settings: ResourcePolicySettings) {
        func may(_ action: ResourceAction) -> Bool {
            ResourcePolicy.decide(action, by: acting.caller, settings: settings).isAllowed
        }
        self.init(
            mayEdit: may(.updateNamespace(standing)), mayChangeVisibility: may(.changeVisibility(standing)),
            mayTransfer: may(.transferNamespace(standing, receiving: TeamStanding(role: .owner))),
            mayDelete: may(.deleteNamespace(standing)), mayEditRepositories: may(.updateRepository(standing)),
            mayDeleteRepositories: may(.deleteRepository(standing)), mayShowWebhooks: may(.showWebhook(standing)),
            mayCreateWebhooks: may(.createWebhook(standing)), mayManageWebhooks: may(.updateWebhook(standing)))
    }
}

extension NamespaceAdministration {
    /// What the actor may do in the namespace named `name`, if they may see it (else "not found").
    public func permissions(in name: String, by actor: Caller) async throws -> NamespacePermissions {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (_, standing) = try Self.visible(name, acting, settings, reader)
            return NamespacePermissions(of: acting, standing: standing, settings: settings)
        }
    }

    /// The names of the teams the actor may create a namespace in (administrators: every visible team; users:
    /// the teams where their role allows it under the configured policy), by name. Empty for visitors.
    public func teamsForNewNamespaces(by actor: Caller) async throws -> [String] {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            guard acting.actor.userID != nil || acting.isAdmin else { return [] }
            let candidates: [Team] =
                acting.isAdmin
                ? try reader.allTeams(includingHidden: false)
                : try acting.actor.userID.map { try reader.memberships(of: $0).map(\.team) } ?? []
            return try candidates.filter { team in
                guard !team.isHidden else { return false }
                let standing = try acting.standing(in: team, reader)
                return ResourcePolicy.decide(.createNamespace(team: standing), by: acting.caller, settings: settings)
                    .isAllowed
            }.map(\.name).sorted()
        }
    }

    /// The names of the teams the actor may hand the namespace named `name` to (administrators: every visible
    /// team; owners: the teams they own), by name; empty when the actor may not transfer it at all.
    public func transferTargets(of name: String, by actor: Caller) async throws -> [String] {
        let settings = settings
        return try await store.read { reader in
            let acting = try ResolvedCaller(actor, in: reader)
            let (_, standing) = try Self.visible(name, acting, settings, reader)
            let candidates: [Team] =
                acting.isAdmin
                ? try reader.allTeams(includingHidden: false)
                : try acting.actor.userID.map { try reader.memberships(of: $0).map(\.team) } ?? []
            return try candidates.filter { team in
                ResourcePolicy.decide(
                    .transferNamespace(standing, receiving: try acting.standing(in: team, reader)), by: acting.caller,
                    settings: settings
                ).isAllowed
            }.map(\.name).sorted()
        }
    }
}
