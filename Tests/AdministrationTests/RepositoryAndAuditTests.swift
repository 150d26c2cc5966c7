import Administration
import Foundation
import Storage
import Testing

@Suite struct RepositoryAndAuditTests {
    @Test func aRepositoryShowsItsDescriptionStarsAndTagsToThoseWhoMaySeeIt() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.namespaces.create("apis", team: "backend", by: alice)
        try await fixture.store.write { writer in
            let namespace = try writer.namespace(named: "apis")!
            let repository = try writer.createRepository(name: "web/app", in: namespace.id, registry: "main")
            for (tag, size, hex) in [("v1", Int64(10), "a"), ("latest", 30, "b"), ("v2", 20, "c")] {
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: tag, digest: "sha256:" + String(repeating: hex, count: 64),
                        size: size))
            }
            _ = try writer.star(repository.id, by: try writer.user(named: "alice")!.id)
            let global = try writer.globalNamespace()!
            _ = try writer.createRepository(name: "busybox", in: global.id, registry: "main")
        }
        let shown = try await fixture.repositories.show("apis/web/app", by: alice)
        #expect(shown.tagCount == 3 && shown.starCount == 1 && shown.fullName == "apis/web/app")
        #expect(await code { try await fixture.repositories.show("apis/web/app", by: bob) } == .repositoryNotFound)
        #expect(
            try await fixture.repositories.show("busybox", by: bob).namespace == NamespaceNaming.globalNamespaceName)
        let updated = try await fixture.repositories.updateDescription("The web app", of: "apis/web/app", by: alice)
        #expect(updated.description == "The web app")
        let bySize = try await fixture.repositories.tags(
            of: "apis/web/app", PageRequest(limit: 2, sort: .size, descending: true), by: alice)
        #expect(bySize.items.map(\.name) == ["latest", "v2"] && bySize.total == 3)
        #expect(await code { try await fixture.repositories.show("apis/missing", by: alice) } == .repositoryNotFound)
    }

    @Test func theAuditLogFiltersByActorActionFamilyTargetAndTimeWithATotal() async throws {
        let fixture = try await Fixture.make()
        defer { Task { await fixture.close() } }
        let alice = try await fixture.user("alice")
        try await fixture.user("bob")
        _ = try await fixture.teams.create("backend", by: alice)
        _ = try await fixture.teams.addMember("bob", to: "backend", by: alice)
        _ = try await fixture.namespaces.create("apis", team: "backend", by: fixture.admin)
        let teamEvents = try await fixture.audit.list(AuditEventFilter(action: "team.*"), by: fixture.admin)
        #expect(teamEvents.items.map(\.action) == ["team.add_member", "team.create"], "newest first")
        #expect(teamEvents.total == 2)
        let byAlice = try await fixture.audit.list(AuditEventFilter(actor: "alice"), limit: 1, by: fixture.admin)
        #expect(byAlice.total == 2 && byAlice.items.count == 1 && byAlice.hasMore)
        let onTeam = try await fixture.audit.list(AuditEventFilter(target: "team:*"), by: fixture.admin)
        #expect(onTeam.total == 2)
        let future = try await fixture.audit.list(
            AuditEventFilter(since: Date().addingTimeInterval(3600)), by: fixture.admin)
        #expect(future.total == 0)
        // A literal prefix: LIKE wildcards in the filter match nothing special.
        #expect(try await fixture.audit.list(AuditEventFilter(action: "%.*"), by: fixture.admin).total == 0)
        #expect(await code { try await fixture.audit.list(by: alice) } == .forbidden)
        #expect(await code { try await fixture.audit.list(limit: 0, by: fixture.admin) } == .invalidPaging)
    }
}
