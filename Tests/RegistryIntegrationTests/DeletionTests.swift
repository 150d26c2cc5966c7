import Authorization
import Foundation
import RegistryCore
import RegistryIntegration
import Storage
import Testing

private let deletable = AuthorizationSettings(
    pushPolicy: .allowTeams, deleteEnabled: true, deleteContributors: false, anonymousPull: true)

@Suite struct DeletionTests {
    private func deletion(
        _ registry: CatalogRegistry, _ store: any Store, observer: ChangeRecorder? = nil,
        settings: AuthorizationSettings = deletable
    ) -> RepositoryDeletion {
        RepositoryDeletion(
            registry: registryName, api: registry, store: store, authorization: settings, observer: observer,
            logger: quietLogger)
    }

    @Test func aTagDeleteRemovesEveryTagSharingItsDigestAtTheRegistryAndInTheDatabase() async throws {
        let store = try await makeStore()
        let tags = ["v1": "sha256:a", "latest": "sha256:a", "v2": "sha256:b"]
        try await seed(store, "alice/app", tags)
        let registry = CatalogRegistry(["alice/app": tags])
        let observer = ChangeRecorder()
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let result = try await deletion(registry, store, observer: observer).deleteTag("v1", in: "alice/app", as: alice)
        #expect(result.digests == ["sha256:a"])
        #expect(result.removedTags == ["latest", "v1"])
        #expect(!result.repositoryRemoved)
        #expect(registry.deleted == ["alice/app@sha256:a"])
        #expect(try await contents(store) == ["alice/app": ["v2": "sha256:b"]])
        #expect(observer.changes.withLock { $0.map(\.tags) } == [["latest", "v1"]])
        let audit = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
        #expect(
            audit.contains {
                $0.action == RepositoryDeletion.AuditAction.tagDelete && $0.actorName == "alice"
                    && $0.outcome == .success
            })
        await store.close()
    }

    @Test func theLastTagsDeleteTakesTheRepositoryWithIt() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"]])
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let result = try await deletion(registry, store).deleteTag("v1", in: "alice/app", as: alice)
        #expect(result.repositoryRemoved)
        #expect(try await contents(store).isEmpty)
        await store.close()
    }

    @Test func aRegistryWithDeletionDisabledLeavesTheDatabaseUnchanged() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"]])
        registry.update { $0.deleteError = RegistryAPIError(.deletionDisabled, "DELETE answered 405") }
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let error = await #expect(throws: DeletionError.self) {
            try await deletion(registry, store).deleteTag("v1", in: "alice/app", as: alice)
        }
        #expect(error?.code == .registryRefused)
        #expect(error?.registryError?.code == .deletionDisabled)
        #expect(error?.message.contains("deletion is disabled") == true)
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"]])
        let audit = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
        #expect(audit.contains { $0.action == RepositoryDeletion.AuditAction.tagDelete && $0.outcome == .failure })
        await store.close()
    }

    @Test func anUnreachableRegistryLeavesTheDatabaseUnchanged() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"]])
        registry.update { $0.headErrors["alice/app:v1"] = RegistryAPIError(.unreachable, "connection refused") }
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let error = await #expect(throws: DeletionError.self) {
            try await deletion(registry, store).repositoryDelete("alice/app", alice)
        }
        #expect(error?.code == .registryRefused)
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"]])
        await store.close()
    }

    @Test func aTagTheRegistryLacksIsReportedAndTheDatabaseIsLeftAlone() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": [:]])
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let error = await #expect(throws: DeletionError.self) {
            try await deletion(registry, store).deleteTag("v1", in: "alice/app", as: alice)
        }
        #expect(error?.code == .notAtRegistry)
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"]])
        await store.close()
    }

    @Test func aViewerMayNotDeleteAndNothingIsTouched() async throws {
        let store = try await makeStore()
        try await seed(store, "team/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["team/app": ["v1": "sha256:a"]])
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let error = await #expect(throws: DeletionError.self) {
            try await deletion(registry, store).deleteTag("v1", in: "team/app", as: alice)
        }
        #expect(error?.code == .denied)
        #expect(registry.deleted.isEmpty)
        #expect(try await contents(store) == ["team/app": ["v1": "sha256:a"]])
        let audit = try await store.read { try $0.auditEvents(limit: 10, before: nil) }
        #expect(audit.contains { $0.outcome == .denied && $0.actorName == "alice" })
        let admin = try await RepositoryDeletion.principal(named: "admin", in: store)
        _ = try await deletion(registry, store).deleteTag("v1", in: "team/app", as: admin)
        #expect(registry.deleted == ["team/app@sha256:a"])
        await store.close()
    }

    @Test func deletionDisabledByPolicyIsDeniedEvenForAnAdministrator() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"]])
        var settings = deletable
        settings.deleteEnabled = false
        let admin = try await RepositoryDeletion.principal(named: "admin", in: store)
        let error = await #expect(throws: DeletionError.self) {
            try await deletion(registry, store, settings: settings).deleteTag("v1", in: "alice/app", as: admin)
        }
        #expect(error?.code == .denied)
        #expect(error?.message.contains("policy.delete.enabled") == true)
        await store.close()
    }

    @Test func aRepositoryDeleteRemovesEveryDigestAndTheRepository() async throws {
        let store = try await makeStore()
        let tags = ["v1": "sha256:a", "latest": "sha256:a", "v2": "sha256:b"]
        try await seed(store, "alice/app", tags.merging(["stale": "sha256:s"]) { a, _ in a })
        let registry = CatalogRegistry(["alice/app": tags])
        let alice = try await RepositoryDeletion.principal(named: "alice", in: store)
        let result = try await deletion(registry, store).repositoryDelete("alice/app", alice)
        #expect(result.digests == ["sha256:a", "sha256:b"])
        #expect(result.repositoryRemoved)
        #expect(Set(registry.deleted) == ["alice/app@sha256:a", "alice/app@sha256:b"])
        #expect(try await contents(store).isEmpty)
        await store.close()
    }

    @Test func anUnknownOrDisabledActorIsRefused() async throws {
        let store = try await makeStore()
        let error = await #expect(throws: DeletionError.self) {
            try await RepositoryDeletion.principal(named: "nobody", in: store)
        }
        #expect(error?.code == .unknownActor)
        await store.close()
    }

    @Test func aMalformedRepositoryNameIsRefusedBeforeAnyCall() async throws {
        let store = try await makeStore()
        let registry = CatalogRegistry()
        let admin = try await RepositoryDeletion.principal(named: "admin", in: store)
        for name in ["", "Alice/app", "alice//app", "alice/app:v1", "../etc"] {
            let error = await #expect(throws: DeletionError.self) {
                try await deletion(registry, store).repositoryDelete(name, admin)
            }
            #expect(error?.code == .invalidName)
        }
        await store.close()
    }
}

extension RepositoryDeletion {
    fileprivate func repositoryDelete(_ name: String, _ principal: Principal) async throws -> DeletionResult {
        try await deleteRepository(name, as: principal)
    }
}
