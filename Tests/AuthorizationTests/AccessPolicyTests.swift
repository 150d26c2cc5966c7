import Authorization
import IdentityCore
import Storage
import Testing

/// The whole Portus matrix (portus-behaviour.md §3.1 with Portcullis's departures), checked cell by
/// cell against an independent statement of the rules written below in plain terms.
@Suite struct AccessPolicyTests {
    enum Caller: CaseIterable {
        case admin, user, anonymous
    }

    enum Kind: CaseIterable {
        case global, personalOwn, personalOther, regular
    }

    struct DeleteSettings: CustomStringConvertible {
        var enabled: Bool
        var contributors: Bool
        static let all = [
            DeleteSettings(enabled: false, contributors: false), DeleteSettings(enabled: false, contributors: true),
            DeleteSettings(enabled: true, contributors: false), DeleteSettings(enabled: true, contributors: true),
        ]
        var description: String { "delete.enabled=\(enabled) delete.contributors=\(contributors)" }
    }

    struct Cell: CustomStringConvertible {
        var visibility: NamespaceVisibility
        var kind: Kind
        var role: TeamRole?
        var caller: Caller
        var pushPolicy: PushPolicy
        var delete: DeleteSettings
        var anonymousPull: Bool

        var description: String {
            "\(caller) on \(visibility) \(kind) namespace, role \(role.map(\.rawValue) ?? "none"), "
                + "push policy \(pushPolicy.rawValue), \(delete), anonymousPull=\(anonymousPull)"
        }
    }

    static let roles: [TeamRole?] = [.owner, .contributor, .viewer, nil]

    /// Every meaningful cell: anonymous callers have no role and no personal namespace of their own.
    static var cells: [Cell] {
        var cells: [Cell] = []
        for visibility in NamespaceVisibility.allCases {
            for kind in Kind.allCases {
                for role in roles {
                    for caller in Caller.allCases {
                        if caller == .anonymous && (role != nil || kind == .personalOwn) { continue }
                        for pushPolicy in PushPolicy.allCases {
                            for delete in DeleteSettings.all {
                                for anonymousPull in [true, false] {
                                    cells.append(
                                        Cell(
                                            visibility: visibility, kind: kind, role: role, caller: caller,
                                            pushPolicy: pushPolicy, delete: delete, anonymousPull: anonymousPull))
                                }
                            }
                        }
                    }
                }
            }
        }
        return cells
    }

    // MARK: The rules, stated independently of the code under test

    /// Pull: public namespaces are open to everyone (anonymous only while anonymous pull is on);
    /// protected ones to anyone logged in; private ones to admins, team members, the owner of a
    /// personal namespace, and (Portus) any logged-in user when it is the global namespace.
    static func expectsPull(_ cell: Cell) -> Bool {
        switch cell.caller {
        case .anonymous:
            return cell.visibility == .public && cell.anonymousPull
        case .admin:
            return true
        case .user:
            if cell.visibility != .private { return true }
            let isMember = cell.role != nil || cell.kind == .personalOwn
            return isMember || cell.kind == .global
        }
    }

    /// Push: never anonymous, always admins. Others never into the global namespace; otherwise
    /// allow-teams needs owner or contributor (a personal namespace's owner is its team's owner),
    /// allow-personal needs it to be their own personal namespace, admin-only refuses.
    static func expectsPush(_ cell: Cell) -> Bool {
        switch cell.caller {
        case .anonymous: return false
        case .admin: return true
        case .user:
            if cell.kind == .global { return false }
            switch cell.pushPolicy {
            case .allowTeams: return cell.kind == .personalOwn || cell.role == .owner || cell.role == .contributor
            case .allowPersonal: return cell.kind == .personalOwn
            case .adminOnly: return false
            }
        }
    }

    /// Delete: only with delete enabled; then admins, owners (the owner of a personal namespace
    /// included), and contributors when contributors may delete; never in the global namespace
    /// unless admin; never anonymous. The push policy does not matter.
    static func expectsDelete(_ cell: Cell) -> Bool {
        guard cell.delete.enabled else { return false }
        switch cell.caller {
        case .anonymous: return false
        case .admin: return true
        case .user:
            if cell.kind == .global { return false }
            if cell.kind == .personalOwn || cell.role == .owner { return true }
            return cell.role == .contributor && cell.delete.contributors
        }
    }

    /// `*` means every action to the registry, so it needs pull, push and delete together.
    static func expectsWildcard(_ cell: Cell) -> Bool {
        expectsPull(cell) && expectsPush(cell) && expectsDelete(cell)
    }

    static func expected(_ cell: Cell) -> Set<String> {
        var actions: Set<String> = []
        if expectsPull(cell) { actions.insert("pull") }
        if expectsPush(cell) { actions.insert("push") }
        if expectsDelete(cell) { actions.insert("delete") }
        if expectsWildcard(cell) { actions.insert("*") }
        return actions
    }

    // MARK: Driving the code under test

    static func principal(_ caller: Caller) -> Principal? {
        switch caller {
        case .admin: Principal(userID: 1, username: "root", isAdmin: true)
        case .user: Principal(userID: 2, username: "alice", isAdmin: false)
        case .anonymous: nil
        }
    }

    static func target(_ cell: Cell) -> PolicyTarget {
        let kind: NamespaceKind =
            switch cell.kind {
            case .global: .global
            case .personalOwn, .personalOther: .personal
            case .regular: .regular
            }
        return .namespace(
            NamespaceFacts(
                name: "ns", visibility: cell.visibility, kind: kind, isOwnPersonalNamespace: cell.kind == .personalOwn,
                role: cell.role))
    }

    static func settings(_ cell: Cell) -> AuthorizationSettings {
        AuthorizationSettings(
            pushPolicy: cell.pushPolicy, deleteEnabled: cell.delete.enabled,
            deleteContributors: cell.delete.contributors, anonymousPull: cell.anonymousPull)
    }

    @Test func everyCellOfTheMatrixGrantsExactlyWhatTheRulesSay() {
        let cells = Self.cells
        // 3 visibilities × (4 kinds × 4 roles × 2 logged-in callers + 3 anonymous kinds) × 3 × 4 × 2.
        #expect(cells.count == 3 * (4 * 4 * 2 + 3) * 3 * 4 * 2)
        var checked = 0
        for cell in cells {
            let expected = Self.expected(cell)
            for action in ["pull", "push", "delete", "*"] {
                let granted = AccessPolicy.allowedActions(
                    [action], on: Self.target(cell), for: Self.principal(cell.caller), settings: Self.settings(cell))
                let want: Set<String> = expected.contains(action) ? [action] : []
                #expect(granted == want, "\(action) for \(cell)")
                checked += 1
            }
            // Asking everything at once (plus an unknown action) gives the same cell, never more.
            let all = AccessPolicy.allowedActions(
                ["pull", "push", "delete", "*", "fork"], on: Self.target(cell), for: Self.principal(cell.caller),
                settings: Self.settings(cell))
            #expect(all == expected, "all actions for \(cell)")
        }
        #expect(checked == cells.count * 4)
    }

    @Test func theMatrixSpotChecksMatchPortusTables() {
        // Independent spot checks of well-known Portus facts, in case the rule statements above drift.
        let user = Principal(userID: 2, username: "alice", isAdmin: false)
        let defaults = AuthorizationSettings()
        let privateRegularViewer = PolicyTarget.namespace(
            NamespaceFacts(name: "dev", visibility: .private, kind: .regular, role: .viewer))
        #expect(
            AccessPolicy.allowedActions(["pull", "push"], on: privateRegularViewer, for: user, settings: defaults) == [
                "pull"
            ])
        let ownPersonal = PolicyTarget.namespace(
            NamespaceFacts(
                name: "alice", visibility: .private, kind: .personal, isOwnPersonalNamespace: true, role: .owner))
        #expect(
            AccessPolicy.allowedActions(["pull", "push"], on: ownPersonal, for: user, settings: defaults) == [
                "pull", "push",
            ])
        let publicGlobal = PolicyTarget.namespace(NamespaceFacts(name: "global", visibility: .public, kind: .global))
        #expect(
            AccessPolicy.allowedActions(["pull", "push"], on: publicGlobal, for: nil, settings: defaults) == ["pull"])
        #expect(
            AccessPolicy.allowedActions(["pull", "push"], on: publicGlobal, for: user, settings: defaults) == ["pull"])
    }

    // MARK: Beyond the matrix

    @Test func theCatalogIsForAdminsOnlyAndOnlyAsTheWildcard() {
        let admin = Principal(userID: 1, username: "root", isAdmin: true)
        let user = Principal(userID: 2, username: "alice", isAdmin: false)
        let settings = AuthorizationSettings()
        #expect(AccessPolicy.allowedActions(["*"], on: .catalog, for: admin, settings: settings) == ["*"])
        #expect(AccessPolicy.allowedActions(["pull", "*"], on: .catalog, for: admin, settings: settings) == ["*"])
        #expect(AccessPolicy.allowedActions(["pull"], on: .catalog, for: admin, settings: settings).isEmpty)
        #expect(AccessPolicy.allowedActions(["*"], on: .catalog, for: user, settings: settings).isEmpty)
        #expect(AccessPolicy.allowedActions(["*"], on: .catalog, for: nil, settings: settings).isEmpty)
    }

    @Test func aMissingNamespaceGivesAdminsEverythingAllowedAndOthersNothing() {
        let admin = Principal(userID: 1, username: "root", isAdmin: true)
        let user = Principal(userID: 2, username: "alice", isAdmin: false)
        let everything: Set<String> = ["pull", "push", "delete", "*"]
        let target = PolicyTarget.missingNamespace(named: "newns")
        #expect(
            AccessPolicy.allowedActions(everything, on: target, for: admin, settings: .init(deleteEnabled: false))
                == ["pull", "push"])
        #expect(
            AccessPolicy.allowedActions(everything, on: target, for: admin, settings: .init(deleteEnabled: true))
                == everything)
        for policy in PushPolicy.allCases {
            let settings = AuthorizationSettings(pushPolicy: policy, deleteEnabled: true, deleteContributors: true)
            #expect(AccessPolicy.allowedActions(everything, on: target, for: user, settings: settings).isEmpty)
            #expect(AccessPolicy.allowedActions(everything, on: target, for: nil, settings: settings).isEmpty)
        }
        #expect(
            AccessPolicy.allowedActions(
                ["pull", "push"], on: .missingNamespace(named: nil), for: admin, settings: .init()) == ["pull", "push"])
    }

    @Test func anOwnerWhoMayDeleteUnderAdminOnlyDoesNotGetTheWildcardThatWouldLetThemPush() {
        let owner = Principal(userID: 2, username: "alice", isAdmin: false)
        let target = PolicyTarget.namespace(
            NamespaceFacts(name: "dev", visibility: .private, kind: .regular, role: .owner))
        let settings = AuthorizationSettings(pushPolicy: .adminOnly, deleteEnabled: true)
        #expect(
            AccessPolicy.allowedActions(["delete", "*", "push"], on: target, for: owner, settings: settings) == [
                "delete"
            ])
    }

    @Test func unknownActionsAreNeverGrantedEvenToAdmins() {
        let admin = Principal(userID: 1, username: "root", isAdmin: true)
        let target = PolicyTarget.namespace(NamespaceFacts(name: "dev", visibility: .public, kind: .regular))
        #expect(AccessPolicy.allowedActions(["fork", "PULL", ""], on: target, for: admin, settings: .init()).isEmpty)
        #expect(AccessPolicy.allowedActions([], on: target, for: admin, settings: .init()).isEmpty)
    }

    // MARK: Credential restrictions

    static let contributorTarget = PolicyTarget.namespace(
        NamespaceFacts(name: "dev", visibility: .private, kind: .regular, role: .owner))
    static let deleting = AuthorizationSettings(deleteEnabled: true)
    static let everything: Set<String> = ["pull", "push", "delete", "*"]

    static func restricted(namespaces: Set<String>? = nil, actions: Set<String>? = nil, admin: Bool = false)
        -> Principal
    {
        Principal(
            userID: 2, username: "alice", isAdmin: admin,
            restriction: AccessRestriction(namespaces: namespaces, actions: actions))
    }

    @Test func anUnrestrictedRestrictionChangesNothing() {
        let granted = AccessPolicy.allowedActions(
            Self.everything, on: Self.contributorTarget, for: Self.restricted(), settings: Self.deleting)
        #expect(granted == Self.everything)
    }

    @Test func aNamespaceRestrictionGrantsNothingOutsideItsNamespaces() {
        #expect(
            AccessPolicy.allowedActions(
                Self.everything, on: Self.contributorTarget, for: Self.restricted(namespaces: ["dev"]),
                settings: Self.deleting) == Self.everything)
        #expect(
            AccessPolicy.allowedActions(
                Self.everything, on: Self.contributorTarget, for: Self.restricted(namespaces: ["other"]),
                settings: Self.deleting
            ).isEmpty)
        #expect(
            AccessPolicy.allowedActions(
                Self.everything, on: Self.contributorTarget, for: Self.restricted(namespaces: []),
                settings: Self.deleting
            ).isEmpty)
    }

    @Test func aNamespaceRestrictionAppliesToMissingNamespacesByTheirRequestedName() {
        let admin = Self.restricted(namespaces: ["newns"], admin: true)
        #expect(
            AccessPolicy.allowedActions(["push"], on: .missingNamespace(named: "newns"), for: admin, settings: .init())
                == ["push"])
        #expect(
            AccessPolicy.allowedActions(["push"], on: .missingNamespace(named: "else"), for: admin, settings: .init())
                .isEmpty)
        #expect(
            AccessPolicy.allowedActions(["push"], on: .missingNamespace(named: nil), for: admin, settings: .init())
                .isEmpty)
    }

    @Test func aNamespaceRestrictedCredentialNeverListsTheCatalog() {
        let admin = Self.restricted(namespaces: ["dev"], admin: true)
        #expect(AccessPolicy.allowedActions(["*"], on: .catalog, for: admin, settings: .init()).isEmpty)
    }

    @Test(
        arguments: [
            (["pull"], ["pull"]),
            (["pull", "push"], ["pull", "push"]),
            (["delete"], ["delete"]),
            (["pull", "push", "delete"], ["pull", "push", "delete", "*"]),
            (["*"], ["pull", "push", "delete", "*"]),
            ([], []),
            (["fork"], []),
        ] as [(Set<String>, Set<String>)])
    func anActionRestrictionKeepsOnlyWhatItPermits(permitted: Set<String>, granted: Set<String>) {
        let result = AccessPolicy.allowedActions(
            Self.everything, on: Self.contributorTarget, for: Self.restricted(actions: permitted),
            settings: Self.deleting)
        #expect(result == granted)
    }

    @Test func anActionRestrictionNeverAddsWhatThePolicyRefused() {
        let viewer = PolicyTarget.namespace(
            NamespaceFacts(name: "dev", visibility: .private, kind: .regular, role: .viewer))
        let result = AccessPolicy.allowedActions(
            Self.everything, on: viewer, for: Self.restricted(actions: ["*"]), settings: Self.deleting)
        #expect(result == ["pull"])
    }

    /// The catalog is none of pull, push and delete: only a restriction naming `*` (or no actions) lists it,
    /// so a pull-only token of an administrator does not receive `registry:catalog:*`.
    @Test(
        arguments: [
            (["pull"], false), (["push"], false), (["delete"], false), (["pull", "push"], false),
            (["pull", "push", "delete"], false), (["*"], true), (["pull", "*"], true), ([], false),
        ] as [(Set<String>, Bool)])
    func theCatalogUnderAnActionRestrictionNeedsTheWildcardNamed(actions: Set<String>, lists: Bool) {
        let admin = Self.restricted(actions: actions, admin: true)
        #expect(AccessPolicy.allowedActions(["*"], on: .catalog, for: admin, settings: .init()) == (lists ? ["*"] : []))
    }
}
