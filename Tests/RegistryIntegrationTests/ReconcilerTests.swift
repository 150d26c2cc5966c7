import Foundation
import RegistryCore
import RegistryIntegration
import Storage
import Testing

@Suite struct ReconcilerTests {
    @Test func repositoriesOnlyTheRegistryHoldsAreRecordedWithTheirSizes() async throws {
        let store = try await makeStore()
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"], "busybox": ["latest": "sha256:b"]])
        let report = try await makeReconciler(registry, store)
            .run()
        #expect(report.plan.repositoriesToCreate == ["alice/app", "busybox"])
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"], "busybox": ["latest": "sha256:b"]])
        let tag = try await store.read { reader -> Storage.Tag? in
            let namespace = try reader.namespace(named: "alice")!
            let repository = try reader.repository(named: "app", in: namespace.id, registry: registryName)!
            return try reader.tag(named: "v1", in: repository.id)
        }
        #expect(tag?.size == CatalogRegistry.manifestSize)
        #expect(tag?.mediaType == ManifestMediaType.dockerManifest)
        #expect(tag?.pushedByName == nil)
        #expect(try await auditActions(store).contains(Reconciler.AuditAction.tagAdd))
        await store.close()
    }

    @Test func aNamespaceUnknownToPortcullisIsCreatedPrivateAndOwnedByTheGlobalTeam() async throws {
        let store = try await makeStore()
        let registry = CatalogRegistry(["orphan/app": ["v1": "sha256:a"]])
        _ = try await makeReconciler(registry, store).run()
        let (namespace, globalTeam) = try await store.read { reader in
            (try reader.namespace(named: "orphan"), try reader.globalNamespace()?.teamID)
        }
        #expect(namespace?.visibility == .private)
        #expect(namespace?.kind == .regular)
        #expect(namespace?.teamID == globalTeam)
        #expect(try await auditActions(store).contains(Reconciler.AuditAction.namespaceCreate))
        await store.close()
    }

    @Test func movedAndRemovedTagsAndEmptiedRepositoriesAreSettled() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:old", "v2": "sha256:b"])
        try await seed(store, "alice/gone", ["v1": "sha256:c"])
        try await seed(store, "alice/emptied", ["v1": "sha256:d"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:new"], "alice/emptied": [:]])
        let observer = ChangeRecorder()
        let report = try await makeReconciler(registry, store, observer: observer).run()
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:new"]])
        #expect(report.plan.repositoriesToRemove == ["alice/emptied", "alice/gone"])
        let deletes = observer.changes.withLock { $0 }
        #expect(deletes.map(\.action) == [.delete, .delete, .delete])
        #expect(
            Set(deletes.map { "\($0.repository)@\($0.digest):\($0.tags)" })
                == ["alice/app@sha256:b:[\"v2\"]", "alice/emptied@sha256:d:[\"v1\"]", "alice/gone@sha256:c:[\"v1\"]"])
        let actions = try await auditActions(store)
        #expect(actions.contains(Reconciler.AuditAction.tagMove))
        #expect(actions.contains(Reconciler.AuditAction.tagRemove))
        #expect(actions.contains(Reconciler.AuditAction.repositoryRemove))
        await store.close()
    }

    @Test func aFailedCatalogDeletesNothing() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "v2": "sha256:b"])
        try await seed(store, "alice/gone", ["v1": "sha256:c"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"]])
        registry.update { $0.catalogError = RegistryAPIError(.unreachable, "connection refused") }
        let report = try await makeReconciler(registry, store)
            .run()
        #expect(report.catalogCount == nil)
        #expect(report.plan.tagsToRemove.isEmpty && report.plan.repositoriesToRemove.isEmpty)
        #expect(try await contents(store)["alice/app"]?.count == 2)
        #expect(try await contents(store)["alice/gone"] == ["v1": "sha256:c"])
        #expect(report.rendered().contains("catalog_failed"))
        #expect(
            registry.state.withLock { $0.tagListCalls } == 0,
            "an unreachable registry is not asked again per repository")
        await store.close()
    }

    @Test func aCatalogRefusedButReachableStillSettlesStoredRepositoriesWithoutRemovingAnything() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "v2": "sha256:b"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:moved", "v3": "sha256:c"]])
        registry.update { $0.catalogError = RegistryAPIError(.unauthorized, "catalog answered 401") }
        let report = try await makeReconciler(registry, store)
            .run()
        #expect(report.plan.tagsToRemove.isEmpty)
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:moved", "v2": "sha256:b", "v3": "sha256:c"]])
        await store.close()
    }

    @Test func oneRepositorysFailedTagListDeletesNothingThereButOthersStillSync() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "old": "sha256:x"])
        try await seed(store, "alice/web", ["v1": "sha256:b", "old": "sha256:y"])
        let registry = CatalogRegistry([
            "alice/app": ["v1": "sha256:a"], "alice/web": ["v1": "sha256:b", "v2": "sha256:z"],
        ])
        registry.update { $0.tagListErrors["alice/app"] = RegistryAPIError(.serverError, "503 after retries") }
        _ = try await makeReconciler(registry, store).run()
        let after = try await contents(store)
        #expect(after["alice/app"] == ["v1": "sha256:a", "old": "sha256:x"])
        #expect(after["alice/web"] == ["v1": "sha256:b", "v2": "sha256:z"])
        await store.close()
    }

    @Test func aFailedTagHeadKeepsTheTagAsItIs() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:moved"]])
        registry.update { $0.headErrors["alice/app:v1"] = RegistryAPIError(.timeout, "HEAD timed out") }
        _ = try await makeReconciler(registry, store).run()
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"]])
        await store.close()
    }

    @Test func aDryRunChangesNothing() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "v2": "sha256:b"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:new"], "alice/other": ["v1": "sha256:c"]])
        let before = try await contents(store)
        let auditBefore = try await auditActions(store)
        let report = try await makeReconciler(registry, store)
            .run(dryRun: true)
        #expect(report.dryRun)
        #expect(!report.plan.isEmpty)
        #expect(try await contents(store) == before)
        #expect(try await auditActions(store) == auditBefore)
        #expect(report.rendered().contains("would remove tag alice/app:v2"))
        await store.close()
    }

    @Test func aRunWhoseFenceRefusesWritesNothing() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "v2": "sha256:b"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:new"], "alice/other": ["v1": "sha256:c"]])
        let before = try await contents(store)
        let auditBefore = try await auditActions(store)
        await #expect(throws: StoreError.self) {
            try await makeReconciler(registry, store).run { _ in
                throw StoreError(.conflict, "the lease registry-sync:local is no longer held under epoch 1")
            }
        }
        #expect(try await contents(store) == before)
        #expect(try await auditActions(store) == auditBefore)
        await store.close()
    }

    @Test func aSecondRunFindsNothingToChange() async throws {
        let store = try await makeStore()
        try await seed(store, "alice/app", ["v1": "sha256:a", "v2": "sha256:b"])
        let registry = CatalogRegistry(["alice/app": ["v1": "sha256:a"], "alice/new": ["v1": "sha256:c"]])
        let reconciler = makeReconciler(registry, store)
        #expect(!(try await reconciler.run()).plan.isEmpty)
        let second = try await reconciler.run()
        #expect(second.plan.isEmpty)
        #expect(second.rendered().contains("no changes"))
        await store.close()
    }

    @Test func aSecondRunWhileOneIsInProgressIsRefusedAndTheFirstCompletes() async throws {
        let store = try await makeStore()
        let registry = GatedRegistry(CatalogRegistry(["alice/app": ["v1": "sha256:a"]]))
        let reconciler = makeReconciler(registry, store)
        let first = Task { try await reconciler.run() }
        for await _ in registry.entered.stream { break }
        let error = await #expect(throws: ReconciliationError.self) { try await reconciler.run() }
        #expect(error?.code == .alreadyRunning)
        registry.release.continuation.yield()
        #expect(try await first.value.plan.tagsToAdd.count == 1)
        #expect(try await contents(store) == ["alice/app": ["v1": "sha256:a"]])
        await store.close()
    }

    @Test func repositoriesSpelledUnderTheGlobalNamespacesOwnNameAreLeftAlone() async throws {
        let store = try await makeStore()
        let registry = CatalogRegistry(["portcullis-global/app": ["v1": "sha256:a"], "app": ["v1": "sha256:a"]])
        let report = try await makeReconciler(registry, store)
            .run()
        #expect(try await contents(store) == ["app": ["v1": "sha256:a"]])
        #expect(report.plan.skipped.map(\.repository) == ["portcullis-global/app"])
        let second = try await makeReconciler(registry, store)
            .run()
        #expect(second.plan.isEmpty)
        await store.close()
    }
}
