import Authorization
import IdentityCore
import SQLiteStorage
import Storage
import Testing

/// The people and namespaces every resolver test starts from.
private struct World: Sendable {
    var root: User  // admin
    var alice: User  // owner of team dev
    var bob: User  // viewer in dev
    var carol: User  // contributor in dev
    var dave: User  // disabled
    var global: Namespace

    static func build(_ writer: any StoreWriting) throws -> World {
        let root = try person(writer, "root", isAdmin: true)
        let alice = try person(writer, "alice")
        let bob = try person(writer, "bob")
        let carol = try person(writer, "carol")
        let dave = try person(writer, "dave")
        try writer.setEnabled(false, for: dave.id)

        let globalTeam = try writer.createTeam(name: "global-team", description: nil, isHidden: true)
        _ = try writer.addTeamMember(team: globalTeam.id, user: root.id, role: .owner)
        // A non-admin owner of the global team still may not push there.
        _ = try writer.addTeamMember(team: globalTeam.id, user: carol.id, role: .owner)
        let global = try writer.createNamespace(
            name: "registry-global", team: globalTeam.id, visibility: .public, kind: .global)

        let dev = try writer.createTeam(name: "dev")
        _ = try writer.addTeamMember(team: dev.id, user: alice.id, role: .owner)
        _ = try writer.addTeamMember(team: dev.id, user: bob.id, role: .viewer)
        _ = try writer.addTeamMember(team: dev.id, user: carol.id, role: .contributor)
        _ = try writer.createNamespace(name: "dev", team: dev.id, visibility: .private)
        _ = try writer.createNamespace(name: "internal", team: dev.id, visibility: .protected)
        _ = try writer.createNamespace(name: "opensource", team: dev.id, visibility: .public)
        return World(root: root, alice: alice, bob: bob, carol: carol, dave: dave, global: global)
    }

    /// A user with a hidden personal team they own and a private personal namespace, as the CLI makes them.
    private static func person(_ writer: any StoreWriting, _ name: String, isAdmin: Bool = false) throws -> User {
        let user = try writer.createUser(NewUser(username: name, isAdmin: isAdmin))
        let team = try writer.createTeam(name: "\(name)-personal", description: nil, isHidden: true)
        _ = try writer.addTeamMember(team: team.id, user: user.id, role: .owner)
        _ = try writer.createNamespace(
            name: name, team: team.id, visibility: .private, kind: .personal, personalOwner: user.id, description: nil)
        return user
    }
}

private func principal(_ user: User, restriction: AccessRestriction? = nil) -> Principal {
    Principal(userID: user.id.rawValue, username: user.username, isAdmin: user.isAdmin, restriction: restriction)
}

/// Opens a migrated in-memory store holding `World`, runs `body` inside one read, then closes it.
private func withWorld<T: Sendable>(
    _ body: @escaping @Sendable (any StoreReading, World) throws -> T
) async throws -> T {
    let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
    do {
        _ = try await store.migrate()
        let world = try await store.write { try World.build($0) }
        let result = try await store.read { try body($0, world) }
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// Parses `scopes`, resolves them for `who` under `settings`, and returns the granted actions by scope name.
private func grants(
    _ scopes: [String], for who: Principal?, settings: AuthorizationSettings = .init(), reader: any StoreReading
) throws -> [String: Set<String>] {
    let parsed = ScopeParser.parse(scopes)
    let granted = try AccessResolver.resolve(parsed.scopes, for: who, reader: reader, settings: settings)
    return Dictionary(granted.map { ("\($0.granted.type):\($0.granted.name)", $0.granted.actions) }) { $0.union($1) }
}

@Suite struct AccessResolverTests {
    @Test func aUserPullsAndPushesInTheirOwnPersonalNamespace() async throws {
        let result = try await withWorld { reader, world in
            try grants(["repository:alice/demo:pull,push"], for: principal(world.alice), reader: reader)
        }
        #expect(result == ["repository:alice/demo": ["pull", "push"]])
    }

    @Test func anotherUsersPrivatePersonalNamespaceIsClosedButTheScopeIsKeptForAudit() async throws {
        let granted = try await withWorld { reader, world in
            try AccessResolver.resolve(
                [.repository("alice/demo", ["pull", "push"])], for: principal(world.bob), reader: reader,
                settings: .init())
        }
        #expect(granted.count == 1)
        #expect(granted.first?.requested == .repository("alice/demo", ["pull", "push"]))
        #expect(granted.first?.granted == .repository("alice/demo", []))
        #expect(granted.first?.isDenied == true)
        #expect(GrantedScope.accessClaim(granted).isEmpty)
    }

    @Test func teamRolesDecidePullAndPushInAPrivateTeamNamespace() async throws {
        let result = try await withWorld { reader, world in
            try [world.alice, world.bob, world.carol, world.dave, world.root].map { user in
                try grants(["repository:dev/app:pull,push"], for: principal(user), reader: reader)[
                    "repository:dev/app"]!
            }
        }
        // alice owner, bob viewer, carol contributor, dave no member (disabled users never get here
        // in practice, but the resolver itself only sees roles), root admin.
        #expect(result == [["pull", "push"], ["pull"], ["pull", "push"], [], ["pull", "push"]])
    }

    @Test func nestedNamesBelongToTheirFirstComponentsNamespace() async throws {
        let result = try await withWorld { reader, world in
            try grants(["repository:dev/team/app:pull,push"], for: principal(world.bob), reader: reader)
        }
        #expect(result == ["repository:dev/team/app": ["pull"]])
    }

    @Test func visibilityDecidesWhatAnonymousAndOutsidersPull() async throws {
        let scopes = ["repository:opensource/x:pull", "repository:internal/x:pull", "repository:dev/x:pull"]
        let (anonymous, outsider) = try await withWorld { reader, world in
            (
                try grants(scopes, for: nil, reader: reader),
                try grants(scopes, for: principal(world.dave), reader: reader)
            )
        }
        #expect(
            anonymous == ["repository:opensource/x": ["pull"], "repository:internal/x": [], "repository:dev/x": []])
        #expect(
            outsider == [
                "repository:opensource/x": ["pull"], "repository:internal/x": ["pull"], "repository:dev/x": [],
            ])
    }

    @Test func anonymousPullCanBeSwitchedOff() async throws {
        let result = try await withWorld { reader, _ in
            try grants(
                ["repository:opensource/x:pull"], for: nil, settings: .init(anonymousPull: false), reader: reader)
        }
        #expect(result == ["repository:opensource/x": []])
    }

    @Test func oneComponentNamesLiveInTheGlobalNamespaceWhereOnlyAdminsPush() async throws {
        let (anonymous, carol, root) = try await withWorld { reader, world in
            (
                try grants(["repository:busybox:pull,push"], for: nil, reader: reader),
                try grants(["repository:busybox:pull,push"], for: principal(world.carol), reader: reader),
                try grants(["repository:busybox:pull,push"], for: principal(world.root), reader: reader)
            )
        }
        #expect(anonymous == ["repository:busybox": ["pull"]])
        #expect(carol == ["repository:busybox": ["pull"]])  // owner of the global team, but not admin
        #expect(root == ["repository:busybox": ["pull", "push"]])
    }

    @Test func aMissingNamespaceIsOpenToAdminsOnly() async throws {
        let (alice, root) = try await withWorld { reader, world in
            (
                try grants(["repository:newns/img:pull,push"], for: principal(world.alice), reader: reader),
                try grants(["repository:newns/img:pull,push"], for: principal(world.root), reader: reader)
            )
        }
        #expect(alice == ["repository:newns/img": []])
        #expect(root == ["repository:newns/img": ["pull", "push"]])
    }

    @Test func withoutAGlobalNamespaceOneComponentNamesAreAdminsOnly() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        let user = try await store.write { writer in try writer.createUser(NewUser(username: "alice")) }
        let result = try await store.read { reader in
            try grants(["repository:busybox:pull"], for: principal(user), reader: reader)
        }
        await store.close()
        #expect(result == ["repository:busybox": []])
    }

    @Test func deleteFollowsTheDeleteSettings() async throws {
        let settings = [
            AuthorizationSettings(deleteEnabled: false), AuthorizationSettings(deleteEnabled: true),
            AuthorizationSettings(deleteEnabled: true, deleteContributors: true),
        ]
        let result = try await withWorld { reader, world in
            try settings.map { setting in
                try [world.alice, world.carol].map { user in
                    try grants(["repository:dev/app:delete"], for: principal(user), settings: setting, reader: reader)[
                        "repository:dev/app"]!
                }
            }
        }
        #expect(result == [[[], []], [["delete"], []], [["delete"], ["delete"]]])
    }

    @Test func theCatalogIsGrantedToAdminsOnly() async throws {
        let (alice, root) = try await withWorld { reader, world in
            (
                try grants(["registry:catalog:*"], for: principal(world.alice), reader: reader),
                try grants(["registry:catalog:*"], for: principal(world.root), reader: reader)
            )
        }
        #expect(alice == ["registry:catalog": []])
        #expect(root == ["registry:catalog": ["*"]])
    }

    @Test func unknownTypesAndOtherRegistryResourcesAreKeptAndGrantedNothing() async throws {
        let granted = try await withWorld { reader, world in
            try AccessResolver.resolve(
                ScopeParser.parse(["whale:foo:pull", "registry:stats:*", "repository:alice/demo:pull"]).scopes,
                for: principal(world.root), reader: reader, settings: .init())
        }
        #expect(
            granted.map(\.granted) == [
                ResourceScope(type: "whale", name: "foo", actions: []),
                ResourceScope(type: "registry", name: "stats", actions: []),
                .repository("alice/demo", ["pull"]),
            ])
        #expect(GrantedScope.accessClaim(granted) == [.repository("alice/demo", ["pull"])])
    }

    @Test func grantsKeepTheRequestOrderAndTheAccessClaimOmitsEmptyOnes() async throws {
        let granted = try await withWorld { reader, world in
            try AccessResolver.resolve(
                ScopeParser.parse([
                    "repository:alice/copy:pull,push", "repository:bob/demo:pull", "repository:alice/demo:pull",
                ])
                .scopes,
                for: principal(world.alice), reader: reader, settings: .init())
        }
        #expect(granted.map(\.requested.name) == ["alice/copy", "bob/demo", "alice/demo"])
        #expect(
            GrantedScope.accessClaim(granted) == [
                .repository("alice/copy", ["pull", "push"]), .repository("alice/demo", ["pull"]),
            ])
    }

    @Test func anApplicationTokenRestrictionCutsTheGrant() async throws {
        let result = try await withWorld { reader, world in
            try grants(
                ["repository:dev/app:pull,push", "repository:alice/demo:pull,push"],
                for: principal(world.alice, restriction: AccessRestriction(namespaces: ["dev"], actions: ["pull"])),
                reader: reader)
        }
        #expect(result == ["repository:dev/app": ["pull"], "repository:alice/demo": []])
    }

    @Test func aRestrictionNamesTheGlobalNamespaceByItsStoredName() async throws {
        let result = try await withWorld { reader, world in
            try grants(
                ["repository:busybox:pull,push"],
                for: principal(world.root, restriction: AccessRestriction(namespaces: [world.global.name])),
                reader: reader)
        }
        #expect(result == ["repository:busybox": ["pull", "push"]])
    }

    // MARK: Principal resolution

    @Test func aLocalAccountResolvesToItsStoredUser() async throws {
        let resolution = try await withWorld { reader, world in
            let identity = ExternalIdentity(
                provider: "local", subject: "\(world.root.id)", username: "ROOT-as-typed",
                origin: .localAccount(userID: world.root.id.rawValue))
            return (try PrincipalResolver.resolve(identity, reader: reader), world.root.id.rawValue)
        }
        #expect(resolution.0 == .principal(Principal(userID: resolution.1, username: "root", isAdmin: true)))
    }

    @Test func aDisabledLocalAccountResolvesToDisabled() async throws {
        let resolution = try await withWorld { reader, world in
            try PrincipalResolver.resolve(
                ExternalIdentity(
                    provider: "local", subject: "\(world.dave.id)", username: "dave",
                    origin: .localAccount(userID: world.dave.id.rawValue)), reader: reader)
        }
        #expect(resolution == .disabled)
    }

    @Test func aDeletedLocalAccountResolvesToNoAccount() async throws {
        let resolution = try await withWorld { reader, _ in
            try PrincipalResolver.resolve(
                ExternalIdentity(
                    provider: "local", subject: "9999", username: "ghost", origin: .localAccount(userID: 9999)),
                reader: reader)
        }
        #expect(resolution == .noAccount)
    }

    @Test func anApplicationTokensRestrictionIsCarriedIntoThePrincipal() async throws {
        let restriction = AccessRestriction(namespaces: ["dev"], actions: ["pull"])
        let resolution = try await withWorld { reader, world in
            try PrincipalResolver.resolve(
                ExternalIdentity(
                    provider: "tokens", subject: "token-1", username: "alice",
                    origin: .localAccount(userID: world.alice.id.rawValue), restriction: restriction), reader: reader)
        }
        guard case .principal(let principal) = resolution else {
            Issue.record("expected a principal, got \(resolution)")
            return
        }
        #expect(principal.restriction == restriction)
        #expect(principal.username == "alice")
        #expect(!principal.isAdmin)
    }

    @Test func aLinkedFederatedIdentityResolvesThroughItsLinkNotItsUsername() async throws {
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .inMemory))
        _ = try await store.migrate()
        let alice = try await store.write { writer in
            let alice = try writer.createUser(NewUser(username: "alice"))
            _ = try writer.createUser(NewUser(username: "mallory"))
            _ = try writer.linkIdentity(providerID: "corp-ldap", subject: "uuid-1", to: alice.id)
            return alice
        }
        let (linked, unlinked, otherProvider) = try await store.read { reader in
            (
                // The provider calls the person "mallory", but the link says alice.
                try PrincipalResolver.resolve(
                    ExternalIdentity(provider: "corp-ldap", subject: "uuid-1", username: "mallory"), reader: reader),
                try PrincipalResolver.resolve(
                    ExternalIdentity(provider: "corp-ldap", subject: "uuid-2", username: "alice"), reader: reader),
                try PrincipalResolver.resolve(
                    ExternalIdentity(provider: "other-idp", subject: "uuid-1", username: "alice"), reader: reader)
            )
        }
        #expect(linked == .principal(Principal(userID: alice.id.rawValue, username: "alice", isAdmin: false)))
        #expect(unlinked == .noAccount)
        #expect(otherProvider == .noAccount)

        try await store.write { writer in try writer.setEnabled(false, for: alice.id) }
        let afterDisable = try await store.read { reader in
            try PrincipalResolver.resolve(
                ExternalIdentity(provider: "corp-ldap", subject: "uuid-1", username: "alice"), reader: reader)
        }
        #expect(afterDisable == .disabled)
        await store.close()
    }
}

/// An application token's restriction is an intersection applied to every resource type: whatever the
/// user (admin or not) may do, a restricted credential receives at most what its restriction names.
@Suite struct RestrictionIntersectionTests {
    static let scopes = [
        "registry:catalog:*", "repository:dev/app:pull,push,delete,*", "repository:opensource/tool:pull",
        "repository:busybox:pull,push", "repository:newns/app:pull,push", "registry:other:*", "foo:bar:pull",
    ]
    static let restrictions: [AccessRestriction?] = [
        nil, AccessRestriction(actions: ["pull"]), AccessRestriction(actions: ["pull", "push"]),
        AccessRestriction(actions: ["pull", "push", "delete"]), AccessRestriction(actions: ["*"]),
        AccessRestriction(namespaces: ["dev"]), AccessRestriction(namespaces: ["dev"], actions: ["pull"]),
        AccessRestriction(namespaces: []), AccessRestriction(actions: []),
    ]
    static let deleting = AuthorizationSettings(deleteEnabled: true)

    /// What a restriction may ever name for a scope, written out independently of the code under test.
    static func ceiling(_ restriction: AccessRestriction?, scope: String, namespace: String?) -> Set<String>? {
        guard let restriction else { return nil }
        let isCatalog = scope.hasPrefix("registry:catalog:")
        if let namespaces = restriction.namespaces {
            guard !isCatalog, let namespace, namespaces.contains(namespace) else { return [] }
        }
        guard let actions = restriction.actions, !actions.contains("*") else { return nil }
        if isCatalog { return [] }
        return actions.isSuperset(of: ["pull", "push", "delete"]) ? actions.union(["*"]) : actions
    }

    @Test(arguments: [true, false])
    func aRestrictedCredentialNeverReceivesMoreThanItsRestrictionNamesNorMoreThanItsUser(admin: Bool) async throws {
        let table = try await withWorld { reader, world in
            let user = admin ? world.root : world.alice
            let full = try grants(Self.scopes, for: principal(user), settings: Self.deleting, reader: reader)
            return try Self.restrictions.map { restriction in
                (
                    full,
                    try grants(
                        Self.scopes, for: principal(user, restriction: restriction), settings: Self.deleting,
                        reader: reader)
                )
            }
        }
        let namespaces: [String: String?] = [
            "registry:catalog": nil, "repository:dev/app": "dev", "repository:opensource/tool": "opensource",
            "repository:busybox": "registry-global", "repository:newns/app": "newns", "registry:other": nil,
            "foo:bar": nil,
        ]
        for (restriction, (full, restricted)) in zip(Self.restrictions, table) {
            for scope in Self.scopes {
                let key = scope.split(separator: ":").prefix(2).joined(separator: ":")
                let got = restricted[key] ?? []
                #expect(got.isSubset(of: full[key] ?? []), "\(scope) with \(String(describing: restriction))")
                if let ceiling = Self.ceiling(restriction, scope: scope, namespace: namespaces[key] ?? nil) {
                    #expect(got.isSubset(of: ceiling), "\(scope) with \(String(describing: restriction))")
                    #expect(
                        got == (full[key] ?? []).intersection(ceiling),
                        "\(scope) with \(String(describing: restriction))")
                } else {
                    #expect(got == full[key] ?? [], "\(scope) with \(String(describing: restriction))")
                }
            }
        }
    }

    @Test(
        arguments: [
            // (restriction, admin, scope, granted)
            (AccessRestriction(actions: ["pull"]), true, "registry:catalog:*", Set<String>()),
            (AccessRestriction(actions: ["pull", "push", "delete"]), true, "registry:catalog:*", []),
            (AccessRestriction(actions: ["*"]), true, "registry:catalog:*", ["*"]),
            (nil, true, "registry:catalog:*", ["*"]),
            (AccessRestriction(namespaces: ["dev"]), true, "registry:catalog:*", []),
            (AccessRestriction(actions: ["pull"]), true, "repository:dev/app:pull,push,delete,*", ["pull"]),
            (AccessRestriction(actions: ["pull"]), false, "repository:dev/app:pull,push,delete,*", ["pull"]),
            (AccessRestriction(actions: ["pull", "push", "delete"]), true, "repository:dev/app:*", ["*"]),
            (AccessRestriction(actions: ["pull", "push"]), true, "repository:dev/app:*", []),
            (AccessRestriction(namespaces: ["dev"]), true, "repository:busybox:pull", []),
            (AccessRestriction(namespaces: ["dev"]), true, "repository:newns/app:push", []),
            (AccessRestriction(namespaces: ["dev"]), false, "repository:opensource/tool:pull", []),
            (AccessRestriction(namespaces: ["dev"], actions: ["pull"]), false, "repository:dev/app:push", []),
            (AccessRestriction(actions: ["*"]), false, "registry:catalog:*", []),
            (AccessRestriction(actions: ["*"]), true, "registry:other:*", []),
        ] as [(AccessRestriction?, Bool, String, Set<String>)])
    func theseRestrictedRequestsGetExactlyThis(
        restriction: AccessRestriction?, admin: Bool, scope: String, granted: Set<String>
    ) async throws {
        let result = try await withWorld { reader, world in
            try grants(
                [scope], for: principal(admin ? world.root : world.alice, restriction: restriction),
                settings: Self.deleting, reader: reader)
        }
        #expect(result.values.first ?? [] == granted)
    }
}
