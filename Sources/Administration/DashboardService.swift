import Foundation
import Storage

/// What the dashboard shows a signed-in user: their teams and namespaces, their stars, recent activity in
/// namespaces they belong to, and for administrators the server's figures.
public struct DashboardOverview: Sendable, Hashable {
    /// The caller's teams (not hidden ones) with their role and where the membership came from.
    public var teams: [DashboardTeam]
    /// The namespaces of those teams and the caller's personal namespace, by name, at most `namespaceLimit`.
    public var namespaces: [NamespaceSummary]
    /// How many such namespaces there are in all.
    public var namespaceTotal: Int
    /// The events about those namespaces (their repositories and tags included), newest first, at most 20.
    public var activity: [AuditEvent]
    /// The caller's starred repositories that they may still see, most recently starred first, at most
    /// `starLimit`.
    public var starred: SearchPage
    /// The server's figures, for administrators only.
    public var figures: AdministratorFigures?
}

/// One of the caller's teams on the dashboard.
public struct DashboardTeam: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// The caller's role.
    public var role: TeamRole
    /// The provider that granted the membership (`ldap`), nil when it was added by hand.
    public var syncedFrom: String?
}

/// Counts an administrator's dashboard shows (Portus's tiles, plus refused token requests).
public struct AdministratorFigures: Sendable, Hashable {
    /// Accounts.
    public var users: Int
    /// Teams that are not hidden.
    public var teams: Int
    /// Namespaces.
    public var namespaces: Int
    /// Token requests refused in the last 24 hours (wrong passwords, denied scopes).
    public var tokenDenials: Int
}

/// The dashboard's one read: a few indexed queries in one transaction, whatever the size of the database.
public struct DashboardService: Sendable {
    /// The most namespaces the dashboard lists (a link leads to the full list).
    public static let namespaceLimit = 12
    /// The most starred repositories the dashboard lists.
    public static let starLimit = 10
    /// The most events the activity list shows.
    public static let activityLimit = 20
    /// The most namespaces whose activity is merged (the newest events of each are read).
    static let activityNamespaceLimit = 20

    let store: any Store
    let now: @Sendable () -> Date

    /// Creates the service.
    public init(store: any Store, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// The overview for `caller`, who must be a signed-in user.
    public func overview(for caller: Caller) async throws -> DashboardOverview {
        let since = now().addingTimeInterval(-86400)
        return try await store.read { reader in
            let acting = try ResolvedCaller(caller, in: reader)
            guard let user = acting.user else {
                throw AdministrationError(.unauthenticated, "sign in to see the dashboard")
            }
            let memberships = try reader.memberships(of: user.id).filter { !$0.team.isHidden }
            var owned: [Namespace] = []
            for membership in memberships { owned += try reader.namespaces(ownedBy: membership.team.id) }
            if let personal = try reader.personalNamespace(of: user.id) { owned.append(personal) }
            if let restricted = caller.namespaces { owned = owned.filter { restricted.contains($0.name) } }
            var seen = Set<Namespace.ID>()
            owned = owned.filter { seen.insert($0.id).inserted }.sorted { $0.name < $1.name }
            var activity: [AuditEvent] = []
            for namespace in owned.prefix(Self.activityNamespaceLimit) {
                activity += try reader.auditEvents(aboutNamespace: namespace.name, offset: 0, limit: Self.activityLimit)
                    .items
            }
            var ids = Set<AuditEvent.ID>()
            activity = activity.filter { ids.insert($0.id).inserted }.sorted { $0.id.rawValue > $1.id.rawValue }
            var figures: AdministratorFigures?
            if acting.isAdmin {
                figures = AdministratorFigures(
                    users: try reader.countUsers(),
                    teams: try reader.teamPage(
                        visibleTo: .administrator, byCreation: false, descending: false, offset: 0, limit: 1
                    ).total,
                    namespaces: try reader.namespacePage(
                        visibleTo: .administrator, within: nil, byCreation: false, descending: false, offset: 0,
                        limit: 1
                    ).total,
                    tokenDenials: try reader.auditEvents(
                        matching: AuditEventFilter(action: "token.issue", since: since, outcome: .denied), offset: 0,
                        limit: 1
                    ).total)
            }
            let starred = try reader.starredRepositories(
                of: user.id, visibleTo: caller.viewer, within: caller.namespaces, offset: 0, limit: Self.starLimit)
            return DashboardOverview(
                teams: memberships.map { DashboardTeam(name: $0.team.name, role: $0.role, syncedFrom: $0.syncedFrom) }
                    .sorted { $0.name < $1.name },
                namespaces: try owned.prefix(Self.namespaceLimit).map {
                    try NamespaceAdministration.summary($0, reader)
                },
                namespaceTotal: owned.count, activity: Array(activity.prefix(Self.activityLimit)), starred: starred,
                figures: figures)
        }
    }
}
