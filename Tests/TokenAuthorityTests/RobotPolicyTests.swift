import Authorization
import IdentityCore
import Storage
import Testing
import TokenAuthority

/// The policy's rule for robots, cell by cell: a robot holds its team's (owner) role in the team's
/// namespaces and nothing elsewhere, and its actions cut that down. (`facts.role` is what the resolver
/// hands the policy: `.owner` in the robot's team's namespaces, nil in every other.)
@Suite struct RobotPolicyTests {
    static let everything: Set<String> = ["pull", "push", "delete", "*"]
    static let deleting = AuthorizationSettings(deleteEnabled: true)

    static func robot(_ actions: Set<String>) -> Principal {
        .robot(
            RobotActor(robotID: 7, teamID: 3), loginName: "oss+ci",
            restriction: AccessRestriction(actions: actions))
    }

    static func namespace(_ visibility: NamespaceVisibility, kind: NamespaceKind = .regular, ofTeam: Bool)
        -> PolicyTarget
    {
        .namespace(NamespaceFacts(name: "ns", visibility: visibility, kind: kind, role: ofTeam ? .owner : nil))
    }

    struct Row: CustomStringConvertible, Sendable {
        var target: PolicyTarget
        var actions: Set<String>
        var settings: AuthorizationSettings
        var granted: Set<String>
        var description: String { "\(target) with \(actions.sorted()) under \(settings) → \(granted.sorted())" }
    }

    static let rows: [Row] = [
        // In its team's namespaces: its actions, whatever the visibility.
        Row(target: namespace(.private, ofTeam: true), actions: ["pull"], settings: deleting, granted: ["pull"]),
        Row(
            target: namespace(.protected, ofTeam: true), actions: ["pull", "push"], settings: deleting,
            granted: ["pull", "push"]),
        Row(
            target: namespace(.public, ofTeam: true), actions: ["pull", "push", "delete"], settings: deleting,
            granted: everything),
        // The policy still bounds it: no delete unless enabled, no push unless teams may push.
        Row(
            target: namespace(.private, ofTeam: true), actions: ["pull", "push", "delete"],
            settings: AuthorizationSettings(), granted: ["pull", "push"]),
        Row(
            target: namespace(.private, ofTeam: true), actions: ["pull", "push"],
            settings: AuthorizationSettings(pushPolicy: .allowPersonal), granted: ["pull"]),
        Row(
            target: namespace(.private, ofTeam: true), actions: ["pull", "push"],
            settings: AuthorizationSettings(pushPolicy: .adminOnly), granted: ["pull"]),
        // Anywhere else nothing, public and global namespaces included.
        Row(target: namespace(.public, ofTeam: false), actions: ["pull"], settings: deleting, granted: []),
        Row(target: namespace(.protected, ofTeam: false), actions: ["pull"], settings: deleting, granted: []),
        Row(
            target: namespace(.public, kind: .global, ofTeam: false), actions: ["pull"], settings: deleting, granted: []
        ),
        Row(target: .missingNamespace(named: "newns"), actions: ["pull", "push"], settings: deleting, granted: []),
        Row(target: .catalog, actions: ["pull", "push", "delete"], settings: deleting, granted: []),
    ]

    @Test(arguments: rows)
    func aRobotGetsItsActionsInItsTeamsNamespacesOnly(row: Row) {
        #expect(
            AccessPolicy.allowedActions(
                Self.everything, on: row.target, for: Self.robot(row.actions), settings: row.settings)
                == row.granted)
    }

    @Test func aRobotIsNoAccountAndNeverGetsARefreshToken() {
        let robot = Self.robot(["pull"])
        #expect(!robot.isAdmin)
        #expect(!robot.mayReceiveRefreshToken)
        #expect(robot.username == "oss+ci")
    }
}
