import Authorization
import Storage
import Testing

/// The six kinds of caller every row of the matrix is decided for.
enum Who: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case anonymous, outsider, viewer, contributor, owner, admin

    var caller: ResourceCaller {
        switch self {
        case .anonymous: .anonymous
        case .admin: .user(isAdmin: true)
        default: .user(isAdmin: false)
        }
    }

    /// The caller's role in the team concerned (an admin here is no member: admins need none).
    var role: TeamRole? {
        switch self {
        case .viewer: .viewer
        case .contributor: .contributor
        case .owner: .owner
        default: nil
        }
    }

    var testDescription: String { rawValue }
}

/// One row of portus-behaviour.md §3.2: an action built from the caller's role, the settings, and the expected
/// answer for each caller, written as one letter per `Who` in order (anonymous … admin):
/// A allowed; L login, D admin, O owner, M member, P push rights, S switched off, X delete disabled, H hidden team,
/// G global namespace, N personal namespace, B anonymous browsing off.
struct MatrixRow: Sendable, CustomTestStringConvertible {
    let name: String
    let action: @Sendable (TeamRole?) -> ResourceAction
    var settings = ResourcePolicySettings()
    let expected: String

    var testDescription: String { name }

    func expectation(for who: Who) -> ResourceDecision {
        let letter = Array(expected)[Who.allCases.firstIndex(of: who)!]
        let denial: ResourceDenial? =
            switch letter {
            case "L": .loginRequired
            case "D": .adminRequired
            case "O": .ownerRequired
            case "M": .memberRequired
            case "P": .pushRequired
            case "S": .switchedOff
            case "X": .deleteDisabled
            case "H": .hiddenTeam
            case "G": .globalNamespace
            case "N": .personalNamespace
            case "B": .anonymousBrowsingOff
            default: nil
            }
        return denial.map(ResourceDecision.denied) ?? .allowed
    }
}

private func ns(_ visibility: NamespaceVisibility, _ kind: NamespaceKind = .regular)
    -> @Sendable (TeamRole?)
    -> NamespaceStanding
{
    { NamespaceStanding(visibility: visibility, kind: kind, role: $0) }
}

private func settings(_ change: (inout ResourcePolicySettings) -> Void) -> ResourcePolicySettings {
    var settings = ResourcePolicySettings()
    change(&settings)
    return settings
}

let matrix: [MatrixRow] = [
    // Namespace list / show (§3.2 row 1; pull's matrix of §3.1).
    MatrixRow(name: "show public namespace", action: { .showNamespace(ns(.public)($0)) }, expected: "AAAAAA"),
    MatrixRow(name: "show protected namespace", action: { .showNamespace(ns(.protected)($0)) }, expected: "LAAAAA"),
    MatrixRow(name: "show private namespace", action: { .showNamespace(ns(.private)($0)) }, expected: "LMAAAA"),
    MatrixRow(
        name: "show private global namespace", action: { .showNamespace(ns(.private, .global)($0)) },
        expected: "LAAAAA"),
    MatrixRow(
        name: "show public namespace, anonymous browsing off", action: { .showNamespace(ns(.public)($0)) },
        settings: settings { $0.anonymousBrowsing = false }, expected: "BAAAAA"),
    // Namespace create: (createNamespace or admin) and push on the new namespace in the chosen team.
    MatrixRow(
        name: "create namespace", action: { .createNamespace(team: TeamStanding(role: $0)) }, expected: "LPPAAA"),
    MatrixRow(
        name: "create namespace, createNamespace off", action: { .createNamespace(team: TeamStanding(role: $0)) },
        settings: settings { $0.createNamespace = false }, expected: "LSSSSA"),
    MatrixRow(
        name: "create namespace, allow-personal", action: { .createNamespace(team: TeamStanding(role: $0)) },
        settings: settings { $0.pushPolicy = .allowPersonal }, expected: "LPPPPA"),
    MatrixRow(
        name: "create namespace, admin-only", action: { .createNamespace(team: TeamStanding(role: $0)) },
        settings: settings { $0.pushPolicy = .adminOnly }, expected: "LPPPPA"),
    MatrixRow(
        name: "create namespace in a hidden team",
        action: { .createNamespace(team: TeamStanding(isHidden: true, role: $0)) }, expected: "LHHHHH"),
    // Namespace update: (admin or (manageNamespace and owner)) and push.
    MatrixRow(name: "update namespace", action: { .updateNamespace(ns(.private)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "update namespace, manageNamespace off", action: { .updateNamespace(ns(.private)($0)) },
        settings: settings { $0.manageNamespace = false }, expected: "LOOOSA"),
    MatrixRow(
        name: "update namespace, admin-only", action: { .updateNamespace(ns(.private)($0)) },
        settings: settings { $0.pushPolicy = .adminOnly }, expected: "LOOOPA"),
    // Namespace change_team: admin, or (manageNamespace and owner); Portcullis also wants the receiving team owned.
    MatrixRow(
        name: "transfer namespace to a team the caller holds the same role in",
        action: { .transferNamespace(ns(.private)($0), receiving: TeamStanding(role: $0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "transfer namespace to a team the caller does not own",
        action: { .transferNamespace(ns(.private)($0), receiving: TeamStanding(role: nil)) }, expected: "LOOOOA"),
    MatrixRow(
        name: "transfer namespace, manageNamespace off",
        action: { .transferNamespace(ns(.private)($0), receiving: TeamStanding(role: $0)) },
        settings: settings { $0.manageNamespace = false }, expected: "LOOOSA"),
    MatrixRow(
        name: "transfer namespace to a hidden team",
        action: { .transferNamespace(ns(.private)($0), receiving: TeamStanding(isHidden: true, role: $0)) },
        expected: "LOOOHH"),
    MatrixRow(
        name: "transfer a personal namespace",
        action: { .transferNamespace(ns(.private, .personal)($0), receiving: TeamStanding(role: $0)) },
        expected: "NNNNNN"),
    MatrixRow(
        name: "transfer the global namespace",
        action: { .transferNamespace(ns(.public, .global)($0), receiving: TeamStanding(role: $0)) },
        expected: "GGGGGG"),
    // Namespace change_visibility: admin, or (changeVisibility and not global and owner).
    MatrixRow(name: "change visibility", action: { .changeVisibility(ns(.private)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "change visibility, changeVisibility off", action: { .changeVisibility(ns(.private)($0)) },
        settings: settings { $0.changeVisibility = false }, expected: "LOOOSA"),
    MatrixRow(
        name: "change visibility of the global namespace", action: { .changeVisibility(ns(.public, .global)($0)) },
        expected: "LGGGGA"),
    MatrixRow(
        name: "change visibility of one's personal namespace",
        action: { .changeVisibility(ns(.private, .personal)($0)) }, expected: "LOOOAA"),
    // Namespace destroy: delete.enabled, not global, not personal, admin/owner/(contributors and contributor).
    MatrixRow(name: "delete namespace", action: { .deleteNamespace(ns(.private)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "delete namespace, contributors may delete", action: { .deleteNamespace(ns(.private)($0)) },
        settings: settings { $0.deleteContributors = true }, expected: "LOOAAA"),
    MatrixRow(
        name: "delete namespace, delete disabled", action: { .deleteNamespace(ns(.private)($0)) },
        settings: settings { $0.deleteEnabled = false }, expected: "XXXXXX"),
    MatrixRow(
        name: "delete the global namespace", action: { .deleteNamespace(ns(.public, .global)($0)) },
        expected: "GGGGGG"),
    MatrixRow(
        name: "delete a personal namespace", action: { .deleteNamespace(ns(.private, .personal)($0)) },
        expected: "NNNNNN"),
    // Repository show and list (Portcullis lists protected ones too: Portus's list quirk is not kept).
    MatrixRow(name: "show public repository", action: { .showRepository(ns(.public)($0)) }, expected: "AAAAAA"),
    MatrixRow(
        name: "show protected repository", action: { .showRepository(ns(.protected)($0)) }, expected: "LAAAAA"),
    MatrixRow(name: "show private repository", action: { .showRepository(ns(.private)($0)) }, expected: "LMAAAA"),
    MatrixRow(
        name: "list protected repository", action: { .listRepository(ns(.protected)($0)) }, expected: "LAAAAA"),
    MatrixRow(name: "list private repository", action: { .listRepository(ns(.private)($0)) }, expected: "LMAAAA"),
    // Repository update: admin or owner.
    MatrixRow(name: "update repository", action: { .updateRepository(ns(.public)($0)) }, expected: "LOOOAA"),
    // Repository / tag destroy.
    MatrixRow(name: "delete repository", action: { .deleteRepository(ns(.private)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "delete repository, contributors may delete", action: { .deleteRepository(ns(.private)($0)) },
        settings: settings { $0.deleteContributors = true }, expected: "LOOAAA"),
    MatrixRow(
        name: "delete repository, delete disabled", action: { .deleteRepository(ns(.private)($0)) },
        settings: settings { $0.deleteEnabled = false }, expected: "XXXXXX"),
    // Team create; naming an owner is admin only.
    MatrixRow(name: "create team", action: { _ in .createTeam(withOwner: false) }, expected: "LAAAAA"),
    MatrixRow(
        name: "create team, createTeam off", action: { _ in .createTeam(withOwner: false) },
        settings: settings { $0.createTeam = false }, expected: "LSSSSA"),
    MatrixRow(name: "create team naming its owner", action: { _ in .createTeam(withOwner: true) }, expected: "LDDDDA"),
    // Team update: (manageTeam or admin) and not hidden and (admin or owner).
    MatrixRow(name: "update team", action: { .updateTeam(TeamStanding(role: $0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "update team, manageTeam off", action: { .updateTeam(TeamStanding(role: $0)) },
        settings: settings { $0.manageTeam = false }, expected: "LOOOSA"),
    MatrixRow(
        name: "update hidden team", action: { .updateTeam(TeamStanding(isHidden: true, role: $0)) },
        expected: "HHHHHH"),
    // Team destroy (Portcullis: contributors=true does not break it for everyone, as Portus's undefined call did).
    MatrixRow(name: "delete team", action: { .deleteTeam(TeamStanding(role: $0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "delete team, contributors may delete", action: { .deleteTeam(TeamStanding(role: $0)) },
        settings: settings { $0.deleteContributors = true }, expected: "LOOOAA"),
    MatrixRow(
        name: "delete team, delete disabled", action: { .deleteTeam(TeamStanding(role: $0)) },
        settings: settings { $0.deleteEnabled = false }, expected: "XXXXXX"),
    MatrixRow(
        name: "delete hidden team", action: { .deleteTeam(TeamStanding(isHidden: true, role: $0)) },
        expected: "HHHHHH"),
    // Team show / members: admin or member.
    MatrixRow(name: "show team", action: { .showTeam(TeamStanding(role: $0)) }, expected: "LMAAAA"),
    // Team member add, update, remove: admin or owner (Portcullis: manageTeam applies too); never hidden teams.
    MatrixRow(name: "manage members", action: { .manageMembers(TeamStanding(role: $0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "manage members, manageTeam off", action: { .manageMembers(TeamStanding(role: $0)) },
        settings: settings { $0.manageTeam = false }, expected: "LOOOSA"),
    MatrixRow(
        name: "manage members of a hidden team", action: { .manageMembers(TeamStanding(isHidden: true, role: $0)) },
        expected: "HHHHHH"),
    // Webhooks.
    MatrixRow(name: "create webhook", action: { .createWebhook(ns(.public)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "create webhook, createWebhook off", action: { .createWebhook(ns(.public)($0)) },
        settings: settings { $0.createWebhook = false }, expected: "LOOOSA"),
    MatrixRow(name: "update webhook", action: { .updateWebhook(ns(.public)($0)) }, expected: "LOOOAA"),
    MatrixRow(
        name: "update webhook, manageWebhook off", action: { .updateWebhook(ns(.public)($0)) },
        settings: settings { $0.manageWebhook = false }, expected: "LOOOSA"),
    MatrixRow(name: "show webhook", action: { .showWebhook(ns(.public)($0)) }, expected: "LMAAAA"),
    // Registry CRUD, user CRUD, activities: admin.
    MatrixRow(name: "administer", action: { _ in .administer }, expected: "LDDDDA"),
    // Users (§9.1): anyone may disable themselves; only admins disable others or re-enable.
    MatrixRow(name: "disable oneself", action: { _ in .setEnabled(own: true, enabling: false) }, expected: "LAAAAA"),
    MatrixRow(name: "enable oneself", action: { _ in .setEnabled(own: true, enabling: true) }, expected: "LDDDDA"),
    MatrixRow(
        name: "disable someone else", action: { _ in .setEnabled(own: false, enabling: false) }, expected: "LDDDDA"),
]

@Suite struct ResourcePolicyTests {
    @Test(arguments: matrix, Who.allCases)
    func eachCellOfThePortusMatrixGivesItsAnswer(row: MatrixRow, who: Who) {
        let decision = ResourcePolicy.decide(row.action(who.role), by: who.caller, settings: row.settings)
        #expect(decision == row.expectation(for: who), "\(row.name) for \(who)")
    }

    @Test(arguments: matrix)
    func everyRowNamesAnAnswerForEachKindOfCaller(row: MatrixRow) {
        #expect(row.expected.count == Who.allCases.count, "\(row.name)")
        #expect(row.expected.allSatisfy { "ALDOMPSXHGNB".contains($0) }, "\(row.name)")
    }

    @Test(arguments: ResourceDenial.allCases)
    func everyDenialSaysWhatIsMissingInASentence(denial: ResourceDenial) {
        #expect(denial.message.hasPrefix("this needs") || denial.message.contains(" "))
        #expect(!denial.message.isEmpty)
    }
}
