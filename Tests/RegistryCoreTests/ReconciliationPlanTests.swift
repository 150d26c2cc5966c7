import Foundation
import RegistryCore
import Testing

private let listedAt = Date(timeIntervalSince1970: 1_000_000)
private let before = listedAt.addingTimeInterval(-60)
private let after = listedAt.addingTimeInterval(5)

private func manifest(_ digest: String) -> ManifestDescriptor {
    ManifestDescriptor(digest: digest, mediaType: ManifestMediaType.ociManifest)
}

private func stored(_ name: String, _ tags: [String: String], createdAt: Date = before, tagsUpdatedAt: Date = before)
    -> StoredRepositoryState
{
    StoredRepositoryState(
        name: name, createdAt: createdAt,
        tags: tags.sorted { $0.key < $1.key }.map {
            StoredTagState(name: $0.key, digest: $0.value, updatedAt: tagsUpdatedAt)
        })
}

private func answered(_ tags: [String: String]) -> RepositoryListingOutcome {
    .tags(tags.mapValues { .manifest(manifest($0)) })
}

/// A plan summary that reads well in a table: `+repo`, `+repo:tag`, `~repo:tag`, `-repo:tag`, `-repo`.
private func summary(_ plan: ReconciliationPlan) -> [String] {
    plan.repositoriesToCreate.map { "+\($0)" } + plan.tagsToAdd.map { "+\($0.repository):\($0.tag)" }
        + plan.tagsToMove.map { "~\($0.repository):\($0.tag)" }
        + plan.tagsToRemove.map { "-\($0.repository):\($0.tag)" }
        + plan.repositoriesToRemove.map { "-\($0)" }
}

@Suite struct ReconciliationPlanTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var stored: [StoredRepositoryState]
        var catalog: [String]?
        var repositories: [String: RepositoryListingOutcome]
        var expected: [String]
        var skips: [ReconciliationSkip.Reason] = []
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(
            label: "a registry that matches the store changes nothing",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:a"])], expected: []),
        Case(
            label: "a repository only the registry holds is created with its tags",
            stored: [], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:a", "v2": "sha256:b"])],
            expected: ["+alice/app", "+alice/app:v1", "+alice/app:v2"]),
        Case(
            label: "a tag only the registry holds is added to an existing repository",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:a", "v2": "sha256:b"])], expected: ["+alice/app:v2"]),
        Case(
            label: "a tag whose digest changed is moved",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:b"])], expected: ["~alice/app:v1"]),
        Case(
            label: "a tag absent from an answered tag list is removed",
            stored: [stored("alice/app", ["v1": "sha256:a", "v2": "sha256:b"])], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:a"])], expected: ["-alice/app:v2"]),
        Case(
            label: "a repository absent from an answered catalog is removed with its tags",
            stored: [stored("alice/gone", ["v1": "sha256:a"])], catalog: [], repositories: [:],
            expected: ["-alice/gone:v1", "-alice/gone"]),
        Case(
            label: "a repository whose tag list is answered empty is removed as the event worker would",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": answered([:])], expected: ["-alice/app:v1", "-alice/app"]),
        Case(
            label: "a repository the registry says does not exist is removed",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": .noSuchRepository], expected: ["-alice/app:v1", "-alice/app"]),
        Case(
            label: "a failed catalog removes nothing at all",
            stored: [
                stored("alice/app", ["v1": "sha256:a", "v2": "sha256:b"]), stored("alice/gone", ["v1": "sha256:c"]),
            ],
            catalog: nil, repositories: ["alice/app": answered(["v1": "sha256:a"]), "alice/gone": .noSuchRepository],
            expected: [], skips: [.catalogFailed]),
        Case(
            label: "a failed catalog still adds and moves what tag lists answered",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: nil,
            repositories: ["alice/app": answered(["v1": "sha256:b", "v2": "sha256:c"])],
            expected: ["+alice/app:v2", "~alice/app:v1"], skips: [.catalogFailed]),
        Case(
            label: "a failed tag list removes nothing in that repository but others still sync",
            stored: [
                stored("alice/app", ["v1": "sha256:a"]), stored("bob/web", ["v1": "sha256:b", "old": "sha256:c"]),
            ],
            catalog: ["alice/app", "bob/web"],
            repositories: ["alice/app": .failed("registry.timeout"), "bob/web": answered(["v1": "sha256:b"])],
            expected: ["-bob/web:old"], skips: [.tagListFailed]),
        Case(
            label: "a failed tag list keeps a repository even when the catalog lacks it",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: [],
            repositories: ["alice/app": .failed("registry.unreachable")], expected: [], skips: [.tagListFailed]),
        Case(
            label: "a failed tag HEAD keeps the tag as it is",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": .tags(["v1": .failed("registry.server_error")])], expected: [],
            skips: [.tagHeadFailed]),
        Case(
            label: "a failed HEAD of a new tag adds nothing and creates no repository",
            stored: [], catalog: ["alice/app"], repositories: ["alice/app": .tags(["v1": .failed("registry.timeout")])],
            expected: [], skips: [.tagHeadFailed]),
        Case(
            label: "a tag that vanished between list and HEAD is kept",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"],
            repositories: ["alice/app": .tags(["v1": .missing])], expected: [], skips: [.tagVanished]),
        Case(
            label: "an empty repository at the registry is not created",
            stored: [], catalog: ["alice/empty"], repositories: ["alice/empty": answered([:])], expected: [],
            skips: [.emptyAtRegistry]),
        Case(
            label: "a repository created during the listing is not removed",
            stored: [stored("alice/new", ["v1": "sha256:a"], createdAt: after, tagsUpdatedAt: after)], catalog: [],
            repositories: [:], expected: [], skips: [.changedDuringListing]),
        Case(
            label: "a tag pushed during the listing is neither removed nor moved",
            stored: [stored("alice/app", ["v1": "sha256:new"], tagsUpdatedAt: after)], catalog: ["alice/app"],
            repositories: ["alice/app": answered(["v1": "sha256:old"])], expected: [], skips: [.changedDuringListing]),
        Case(
            label: "a tag recorded during the listing survives an answered list that lacks it",
            stored: [stored("alice/app", ["v9": "sha256:a"], tagsUpdatedAt: after)], catalog: ["alice/app"],
            repositories: ["alice/app": answered([:])], expected: [], skips: [.changedDuringListing]),
        Case(
            label: "a catalog entry that was never listed changes nothing",
            stored: [stored("alice/app", ["v1": "sha256:a"])], catalog: ["alice/app"], repositories: [:], expected: [],
            skips: [.notListed]),
        Case(
            label: "the global namespace's unprefixed repositories reconcile like any other",
            stored: [stored("busybox", ["latest": "sha256:a"])], catalog: ["busybox", "alpine"],
            repositories: ["busybox": answered(["latest": "sha256:a"]), "alpine": answered(["3": "sha256:b"])],
            expected: ["+alpine", "+alpine:3"]),
    ]

    @Test(arguments: cases)
    func planFollowsTheSafetyRules(_ testCase: Case) {
        let plan = ReconciliationPlan.make(
            stored: testCase.stored,
            listing: RegistryListing(
                catalog: testCase.catalog, catalogFailure: testCase.catalog == nil ? "registry.unreachable" : nil,
                repositories: testCase.repositories, startedAt: listedAt))
        #expect(summary(plan) == testCase.expected)
        #expect(Set(plan.skipped.map(\.reason)) == Set(testCase.skips))
        #expect(plan.isEmpty == testCase.expected.isEmpty)
    }

    @Test func aMovedTagRemembersItsPreviousDigest() {
        let plan = ReconciliationPlan.make(
            stored: [stored("alice/app", ["v1": "sha256:a"])],
            listing: RegistryListing(
                catalog: ["alice/app"], repositories: ["alice/app": answered(["v1": "sha256:b"])], startedAt: listedAt))
        #expect(plan.tagsToMove.first?.previousDigest == "sha256:a")
        #expect(plan.tagsToMove.first?.manifest.digest == "sha256:b")
    }

    @Test func aSkipDescribesItsSubjectAndReason() {
        let skip = ReconciliationSkip(repository: "alice/app", tag: "v1", reason: .tagHeadFailed, detail: "timeout")
        #expect(skip.description == "alice/app:v1: tag_head_failed (timeout)")
        #expect(ReconciliationSkip(repository: "", reason: .catalogFailed).description == "catalog: catalog_failed")
    }
}
