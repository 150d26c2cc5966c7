import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

@Suite(.storeBackends("UserRepositoryTests")) struct UserRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func aCreatedUserCanBeFoundByNameAndIdWithDefaults(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let created = try await store.write {
                try $0.createUser(NewUser(username: "alice", passwordHash: "$2b$10$x"))
            }
            #expect(created.username == "alice")
            #expect(created.isEnabled)
            #expect(!created.isAdmin)
            #expect(created.failedLoginCount == 0)
            #expect(created.lastLoginAt == nil)

            let (byName, byID, otherCase, missing) = try await store.read {
                (
                    try $0.user(named: "alice"), try $0.user(id: created.id), try $0.user(named: "Alice"),
                    try $0.user(named: "alicia")
                )
            }
            #expect(byName == created)
            #expect(byID == created)
            #expect(otherCase == created)  // names differing only in case are one account (UsernameLookupTests)
            #expect(missing == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aDuplicateUsernameIsAConflictNamingTheColumn(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            _ = try await store.write { try $0.createUser(NewUser(username: "bob")) }
            do {
                _ = try await store.write { try $0.createUser(NewUser(username: "bob")) }
                Issue.record("duplicate username accepted")
            } catch let error as StoreError {
                #expect(error.code == .conflict)
                #expect(error.subject == "users.username")
                #expect(!error.message.contains("bob"))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func anEmptyUsernameIsRejectedAsInvalidInput(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            await #expect(throws: StoreError.invalidInput) {
                _ = try await store.write { try $0.createUser(NewUser(username: "")) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func userSettersChangeOnlyTheirField(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "carol", passwordHash: "old")) }
            let changed = try await store.write { w -> User? in
                try w.setPasswordHash("new", for: user.id)
                try w.setAdmin(true, for: user.id)
                try w.setEnabled(false, for: user.id)
                try w.setEmail("carol@example.test", for: user.id)
                try w.setDisplayName("Carol C.", for: user.id)
                return try w.user(id: user.id)
            }
            #expect(changed?.passwordHash == "new")
            #expect(changed?.isAdmin == true)
            #expect(changed?.isEnabled == false)
            #expect(changed?.email == "carol@example.test")
            #expect(changed?.displayName == "Carol C.")
            #expect(changed?.username == "carol")
        }
    }

    @Test(arguments: StoreBackend.allCases) func changingAMissingUserIsNotFound(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.setAdmin(true, for: User.ID(4242)) }
            }
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.deleteUser(User.ID(4242)) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func countAdminsCountsOnlyEnabledAdministrators(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let count = try await store.write { w -> Int in
                _ = try w.createUser(NewUser(username: "root", isAdmin: true))
                let other = try w.createUser(NewUser(username: "ops", isAdmin: true))
                _ = try w.createUser(NewUser(username: "dev"))
                try w.setEnabled(false, for: other.id)
                return try w.countAdmins()
            }
            #expect(count == 1)
            #expect(try await store.read { try $0.allUsers().map(\.username) } == ["dev", "ops", "root"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func failedLoginsCountUpAndASuccessResetsThem(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let lock = Date(timeIntervalSince1970: 2_000_000_000)
            let user = try await store.write { try $0.createUser(NewUser(username: "dave")) }
            let counts = try await store.write { w in
                [
                    try w.recordFailedLogin(of: user.id, lockedUntil: nil),
                    try w.recordFailedLogin(of: user.id, lockedUntil: lock),
                ]
            }
            #expect(counts == [1, 2])
            #expect(try await store.read { try $0.user(id: user.id)?.lockedUntil } == lock)
            let loginTime = Date(timeIntervalSince1970: 1_900_000_000.123)
            let after = try await store.write { w in
                try w.recordSuccessfulLogin(of: user.id, at: loginTime)
                return try w.user(id: user.id)
            }
            #expect(after?.failedLoginCount == 0)
            #expect(after?.lockedUntil == nil)
            #expect(after?.lastLoginAt == loginTime)
        }
    }

    @Test(arguments: StoreBackend.allCases) func identityLinksMapAProviderSubjectToOneUser(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "erin")) }
            let link = try await store.write {
                try $0.linkIdentity(providerID: "corp-ldap", subject: "uuid-1", to: user.id)
            }
            #expect(try await store.read { try $0.user(linkedTo: "corp-ldap", subject: "uuid-1") } == user)
            #expect(try await store.read { try $0.user(linkedTo: "other", subject: "uuid-1") } == nil)
            await #expect(throws: StoreError.conflict) {
                let other = try await store.write { try $0.createUser(NewUser(username: "mallory")) }
                _ = try await store.write {
                    try $0.linkIdentity(providerID: "corp-ldap", subject: "uuid-1", to: other.id)
                }
            }
            let seen = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.write { try $0.touchIdentityLink(link.id, at: seen) }
            #expect(try await store.read { try $0.identityLinks(of: user.id).first?.lastSeenAt } == seen)
            try await store.write { try $0.unlinkIdentity(link.id) }
            #expect(try await store.read { try $0.identityLinks(of: user.id) }.isEmpty)
        }
    }

    @Test func aUserDescriptionNeverShowsThePasswordHash() {
        let user = User(
            id: User.ID(1), username: "frank", email: nil, displayName: nil, passwordHash: "$2b$10$secret",
            isAdmin: false, isEnabled: true, failedLoginCount: 0, lockedUntil: nil, createdAt: Date(),
            updatedAt: Date(), lastLoginAt: nil)
        #expect(!String(describing: user).contains("secret"))
        #expect(!String(describing: NewUser(username: "frank", passwordHash: "$2b$10$secret")).contains("secret"))
    }
}

@Suite(.storeBackends("TeamAndNamespaceRepositoryTests")) struct TeamAndNamespaceRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func aUserWithPersonalTeamAndNamespaceIsCreatedInOneTransaction(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (user, team, namespace) = try await store.write {
                try createUserWithPersonalNamespace($0, username: "alice")
            }
            #expect(namespace.kind == .personal)
            #expect(namespace.visibility == .private)
            #expect(namespace.personalOwnerID == user.id)
            #expect(team.isHidden)
            let (personal, members, memberships, visibleTeams, allTeams) = try await store.read { r in
                (
                    try r.personalNamespace(of: user.id), try r.members(of: team.id), try r.memberships(of: user.id),
                    try r.allTeams(), try r.allTeams(includingHidden: true)
                )
            }
            #expect(personal == namespace)
            #expect(members.map(\.username) == ["alice"])
            #expect(members.first?.role == .owner)
            #expect(memberships.map(\.team) == [team])
            #expect(visibleTeams.isEmpty)
            #expect(allTeams == [team])
        }
    }

    @Test(arguments: StoreBackend.allCases) func teamMembershipIsUniqueAndRolesCanChange(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let (team, user) = try await store.write { w in
                (try w.createTeam(name: "platform"), try w.createUser(NewUser(username: "gina")))
            }
            let member = try await store.write { try $0.addTeamMember(team: team.id, user: user.id, role: .viewer) }
            #expect(member.role == .viewer)
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.addTeamMember(team: team.id, user: user.id, role: .owner) }
            }
            try await store.write { try $0.setRole(.contributor, team: team.id, user: user.id) }
            #expect(try await store.read { try $0.members(of: team.id).first?.role } == .contributor)
            try await store.write { try $0.removeTeamMember(team: team.id, user: user.id) }
            #expect(try await store.read { try $0.members(of: team.id) }.isEmpty)
            await #expect(throws: StoreError.notFound) {
                try await store.write { try $0.removeTeamMember(team: team.id, user: user.id) }
            }
        }
    }

    @Test func teamRolesAreOrderedByPower() {
        #expect(TeamRole.viewer < .contributor)
        #expect(TeamRole.contributor < .owner)
    }

    @Test(arguments: StoreBackend.allCases) func duplicateTeamAndNamespaceNamesAreConflicts(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let team = try await store.write { try $0.createTeam(name: "qa") }
            _ = try await store.write { try $0.createNamespace(name: "qa", team: team.id, visibility: .protected) }
            await #expect(throws: StoreError.conflict) { _ = try await store.write { try $0.createTeam(name: "qa") } }
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.createNamespace(name: "qa", team: team.id, visibility: .public) }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func namespaceVisibilityTeamAndDescriptionCanChange(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let (first, second) = try await store.write { w in
                (try w.createTeam(name: "a"), try w.createTeam(name: "b"))
            }
            let namespace = try await store.write {
                try $0.createNamespace(name: "apps", team: first.id, visibility: .private)
            }
            let changed = try await store.write { w -> Namespace? in
                try w.setVisibility(.public, for: namespace.id)
                try w.setTeam(second.id, for: namespace.id)
                try w.setDescription("Shared apps", forNamespace: namespace.id)
                return try w.namespace(named: "apps")
            }
            #expect(changed?.visibility == .public)
            #expect(changed?.teamID == second.id)
            #expect(changed?.description == "Shared apps")
            #expect(try await store.read { try $0.namespaces(ownedBy: second.id).map(\.name) } == ["apps"])
            #expect(try await store.read { try $0.namespace(id: namespace.id)?.name } == "apps")
        }
    }

    @Test(arguments: StoreBackend.allCases) func thereIsAtMostOneGlobalNamespaceAndItIsNeverPrivate(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let team = try await store.write { try $0.createTeam(name: "global", description: nil, isHidden: true) }
            let global = try await store.write {
                try $0.createNamespace(name: "registry", team: team.id, visibility: .public, kind: .global)
            }
            #expect(try await store.read { try $0.globalNamespace() } == global)
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write {
                    try $0.createNamespace(name: "second", team: team.id, visibility: .public, kind: .global)
                }
            }
            await #expect(throws: StoreError.invalidInput) {
                try await store.write { try $0.setVisibility(.private, for: global.id) }
            }
            await #expect(throws: StoreError.invalidInput) {
                _ = try await store.write {
                    try $0.createNamespace(name: "third", team: team.id, visibility: .private, kind: .global)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPersonalNamespaceNeedsItsOwnerAndOthersMustNotHaveOne(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (team, user) = try await store.write { w in
                (try w.createTeam(name: "t"), try w.createUser(NewUser(username: "hal")))
            }
            await #expect(throws: StoreError.invalidInput) {
                _ = try await store.write {
                    try $0.createNamespace(
                        name: "hal", team: team.id, visibility: .private, kind: .personal, personalOwner: nil,
                        description: nil)
                }
            }
            await #expect(throws: StoreError.invalidInput) {
                _ = try await store.write {
                    try $0.createNamespace(
                        name: "x", team: team.id, visibility: .private, kind: .regular, personalOwner: user.id,
                        description: nil)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func aTeamThatOwnsNamespacesCannotBeDeleted(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let team = try await store.write { try $0.createTeam(name: "owners") }
            let namespace = try await store.write {
                try $0.createNamespace(name: "ns", team: team.id, visibility: .private)
            }
            await #expect(throws: StoreError.constraintViolated) {
                try await store.write { try $0.deleteTeam(team.id) }
            }
            try await store.write { w in
                try w.deleteNamespace(namespace.id)
                try w.deleteTeam(team.id)
            }
            #expect(try await store.read { try $0.team(named: "owners") } == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func deletingAUserCascadesToOwnedRowsButKeepsHistoryNames(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let (user, namespace, repository) = try await store.write { w -> (User, Namespace, Repository) in
                let (user, _, namespace) = try createUserWithPersonalNamespace(w, username: "ivan")
                let repository = try w.createRepository(name: "app", in: namespace.id, registry: "main")
                _ = try w.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: "v1", digest: "sha256:aa", pushedByID: user.id,
                        pushedByName: "ivan"))
                _ = try w.star(repository.id, by: user.id)
                _ = try w.linkIdentity(providerID: "p", subject: "s", to: user.id)
                _ = try w.createApplicationToken(
                    NewApplicationToken(ownerID: user.id, name: "ci", secretHash: "h1", prefix: "pcl_"))
                _ = try w.createRefreshToken(userID: user.id, service: "registry", secretHash: "r1")
                _ = try w.appendAuditEvent(
                    NewAuditEvent(action: "user.login", outcome: .success, actorID: user.id, actorName: "ivan"))
                return (user, namespace, repository)
            }
            try await store.write { try $0.deleteUser(user.id) }
            let snapshot = try await store.read { r in
                (
                    try r.namespace(id: namespace.id), try r.tag(named: "v1", in: repository.id),
                    try r.starCount(of: repository.id), try r.user(linkedTo: "p", subject: "s"),
                    try r.applicationToken(secretHash: "h1"), try r.refreshToken(secretHash: "r1"),
                    try r.auditEvents(limit: 10, before: nil)
                )
            }
            #expect(snapshot.0?.personalOwnerID == nil)  // orphaned, not deleted
            #expect(snapshot.1?.pushedByID == nil)
            #expect(snapshot.1?.pushedByName == "ivan")
            #expect(snapshot.2 == 0)
            #expect(snapshot.3 == nil)
            #expect(snapshot.4 == nil)
            #expect(snapshot.5 == nil)
            #expect(snapshot.6.first?.actorID == nil)
            #expect(snapshot.6.first?.actorName == "ivan")
        }
    }
}

@Suite(.storeBackends("RegistryContentRepositoryTests")) struct RegistryContentRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func repositoriesAreUniquePerNamespace(_ backend: StoreBackend) async throws
    {
        try await backend.withStore { store in
            let (a, b) = try await store.write { w -> (Namespace, Namespace) in
                let team = try w.createTeam(name: "t")
                return (
                    try w.createNamespace(name: "a", team: team.id, visibility: .private),
                    try w.createNamespace(name: "b", team: team.id, visibility: .private)
                )
            }
            let app = try await store.write { try $0.createRepository(name: "tools/app", in: a.id, registry: "main") }
            _ = try await store.write { try $0.createRepository(name: "tools/app", in: b.id, registry: "main") }
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.createRepository(name: "tools/app", in: a.id, registry: "main") }
            }
            #expect(try await store.read { try $0.repository(named: "tools/app", in: a.id, registry: "main") } == app)
            #expect(try await store.read { try $0.repositories(in: a.id) } == [app])
            try await store.write { try $0.deleteRepository(app.id) }
            #expect(try await store.read { try $0.repository(id: app.id) } == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aTagPushCreatesThenMovesTheTagKeepingItsIdentity(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let repository = try await store.write { w -> Repository in
                let team = try w.createTeam(name: "t")
                let namespace = try w.createNamespace(name: "n", team: team.id, visibility: .public)
                return try w.createRepository(name: "web", in: namespace.id, registry: "main")
            }
            let first = try await store.write {
                try $0.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: "latest", digest: "sha256:01",
                        mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1234))
            }
            let moved = try await store.write {
                try $0.recordTagPush(
                    TagPush(repositoryID: repository.id, name: "latest", digest: "sha256:02", size: 99))
            }
            #expect(moved.id == first.id)
            #expect(moved.createdAt == first.createdAt)
            #expect(moved.digest == "sha256:02")
            #expect(moved.size == 99)
            #expect(moved.mediaType == nil)
            _ = try await store.write {
                try $0.recordTagPush(TagPush(repositoryID: repository.id, name: "Latest", digest: "sha256:03"))
            }
            #expect(try await store.read { try $0.tags(in: repository.id).map(\.name) } == ["Latest", "latest"])
            try await store.write { try $0.deleteTag(first.id) }
            #expect(try await store.read { try $0.tag(named: "latest", in: repository.id) } == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func starringIsIdempotentAndCounted(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (user, repository) = try await store.write { w -> (User, Repository) in
                let (user, _, namespace) = try createUserWithPersonalNamespace(w, username: "jo")
                return (user, try w.createRepository(name: "r", in: namespace.id, registry: "main"))
            }
            #expect(try await store.write { try $0.star(repository.id, by: user.id) })
            #expect(try await store.write { try $0.star(repository.id, by: user.id) } == false)
            #expect(try await store.read { try $0.hasStarred(user.id, repository.id) })
            #expect(try await store.read { try $0.starCount(of: repository.id) } == 1)
            #expect(try await store.write { try $0.unstar(repository.id, by: user.id) })
            #expect(try await store.write { try $0.unstar(repository.id, by: user.id) } == false)
            #expect(try await store.read { try $0.starCount(of: repository.id) } == 0)
        }
    }
}

@Suite(.storeBackends("TokenAndEventRepositoryTests")) struct TokenAndEventRepositoryTests {
    @Test(arguments: StoreBackend.allCases) func applicationTokensAreFoundByHashAndUniquePerOwnerName(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "kim")) }
            let expiry = Date(timeIntervalSince1970: 2_100_000_000)
            let token = try await store.write {
                try $0.createApplicationToken(
                    NewApplicationToken(
                        ownerID: user.id, name: "laptop", secretHash: String(repeating: "ab", count: 32),
                        prefix: "pcl_AbC",
                        scope: #"{"namespaces":["kim"]}"#, expiresAt: expiry))
            }
            #expect(
                try await store.read { try $0.applicationToken(secretHash: String(repeating: "ab", count: 32)) }
                    == token)
            #expect(token.isUsable(at: Date(timeIntervalSince1970: 2_000_000_000)))
            #expect(!token.isUsable(at: expiry))
            #expect(!String(describing: token).contains("abab"))
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write {
                    try $0.createApplicationToken(
                        NewApplicationToken(ownerID: user.id, name: "laptop", secretHash: "other", prefix: "p"))
                }
            }
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write {
                    try $0.createApplicationToken(
                        NewApplicationToken(
                            ownerID: user.id, name: "ci", secretHash: String(repeating: "ab", count: 32), prefix: "p"))
                }
            }
            let used = Date(timeIntervalSince1970: 2_000_000_001)
            let revoked = Date(timeIntervalSince1970: 2_000_000_002)
            try await store.write { w in
                try w.touchApplicationToken(token.id, at: used)
                try w.revokeApplicationToken(token.id, at: revoked)
                try w.revokeApplicationToken(token.id, at: Date(timeIntervalSince1970: 2_000_000_999))
            }
            let stored = try await store.read { try $0.applicationTokens(ownedBy: user.id) }
            #expect(stored.count == 1)
            #expect(stored.first?.lastUsedAt == used)
            #expect(stored.first?.revokedAt == revoked)
            #expect(stored.first?.isUsable(at: used) == false)
        }
    }

    @Test(arguments: StoreBackend.allCases) func refreshTokensCanBeRevokedOneByOneOrAllForAUser(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let user = try await store.write { try $0.createUser(NewUser(username: "lee")) }
            let (a, _) = try await store.write { w in
                (
                    try w.createRefreshToken(userID: user.id, service: "registry", secretHash: "ha"),
                    try w.createRefreshToken(userID: user.id, service: "registry", secretHash: "hb")
                )
            }
            #expect(try await store.read { try $0.refreshToken(secretHash: "ha") } == a)
            let when = Date(timeIntervalSince1970: 1_700_000_000)
            try await store.write { try $0.touchRefreshToken(a.id, at: when) }
            try await store.write { try $0.revokeRefreshToken(a.id, at: when) }
            #expect(try await store.write { try $0.revokeRefreshTokens(of: user.id, at: when) } == 1)
            #expect(try await store.read { try $0.refreshToken(secretHash: "hb")?.revokedAt } == when)
            await #expect(throws: StoreError.conflict) {
                _ = try await store.write { try $0.createRefreshToken(userID: user.id, service: "x", secretHash: "ha") }
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func registryEventsAreStoredOnceByEventIDAndWorkAsAQueue(
        _ backend: StoreBackend
    ) async throws {
        try await backend.withStore { store in
            let first = try await store.write {
                try $0.recordRegistryEvent(eventID: "ev-1", registry: "main", payload: #"{"action":"push"}"#)
            }
            let again = try await store.write {
                try $0.recordRegistryEvent(eventID: "ev-1", registry: "main", payload: "ignored")
            }
            _ = try await store.write { try $0.recordRegistryEvent(eventID: "ev-2", registry: "main", payload: "{}") }
            guard case .inserted(let event) = first else {
                Issue.record("first insert not reported as new")
                return
            }
            #expect(again == .duplicate(event))
            #expect(again.event.payload == #"{"action":"push"}"#)
            #expect(
                try await store.read { try $0.registryEvents(in: .pending, limit: 10).map(\.eventID) } == [
                    "ev-1", "ev-2",
                ])
            try await store.write { try $0.setState(.failed, ofRegistryEvent: event.id, error: "registry down") }
            try await store.write { try $0.setState(.processed, ofRegistryEvent: event.id, error: nil) }
            let stored = try await store.read { try $0.registryEvent(eventID: "ev-1", registry: "main") }
            #expect(stored?.state == .processed)
            #expect(stored?.attempts == 2)
            #expect(stored?.processedAt != nil)
            #expect(try await store.read { try $0.registryEvents(in: .pending, limit: 1).map(\.eventID) } == ["ev-2"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func auditEventsPageNewestFirstAndCanBePruned(_ backend: StoreBackend)
        async throws
    {
        try await backend.withStore { store in
            let base = Date(timeIntervalSince1970: 1_600_000_000)
            let appended = try await store.write { w in
                try (0..<5).map { index in
                    try w.appendAuditEvent(
                        NewAuditEvent(
                            action: "token.issue", outcome: index == 4 ? .denied : .success, actorName: "u\(index)",
                            target: "repository:a/b", clientIP: "192.0.2.\(index)", detail: #"{"scopes":1}"#,
                            time: base.addingTimeInterval(Double(index))))
                }
            }
            let page1 = try await store.read { try $0.auditEvents(limit: 2, before: nil) }
            #expect(page1.map(\.actorName) == ["u4", "u3"])
            #expect(page1.first?.outcome == .denied)
            #expect(page1.first?.clientIP == "192.0.2.4")
            let page2 = try await store.read { try $0.auditEvents(limit: 2, before: page1.last?.id) }
            #expect(page2.map(\.actorName) == ["u2", "u1"])
            #expect(appended[0].time == base)
            #expect(try await store.write { try $0.pruneAuditEvents(olderThan: base.addingTimeInterval(2)) } == 2)
            #expect(try await store.read { try $0.auditEvents(limit: 10, before: nil).count } == 3)
        }
    }
}
