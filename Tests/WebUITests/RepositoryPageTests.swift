import Foundation
import HTTPCore
import Storage
import Testing

@testable import WebUI

@Suite("Repository and tag pages: pull command, star, tags by digest, deletions")
struct RepositoryPageTests {
    @Test(
        "The repository page shows the pull command, tags grouped by digest and delete controls only when permitted",
        arguments: [("root", true), ("olivia", true), ("carl", false), ("vera", false), ("eve", false)])
    func repositoryPageByRole(_ person: String, _ mayDelete: Bool) async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser(person).get("/repositories/acme/api")
        #expect(page.status == 200)
        #expect(page.contains("docker pull registry.test:5000/acme/api:latest"))
        #expect(page.hasElement(id: "tags"))
        // latest and v2 share digest b: one row for both; v1 has its own.
        #expect(page.count("data-digest=\"") == 2)
        #expect(page.contains("OCI image index"))
        #expect(page.contains("linux/arm64"))
        #expect(page.contains("3.0 MiB"))
        #expect(page.contains("title=\"\(fixture.digestB)\""))
        #expect(page.hasElement(id: "pulls-chart"))
        #expect(page.contains("No pulls in the last 30 days"))
        #expect(page.hasElement(id: "tags-form") == mayDelete)
        #expect(page.contains("name=\"tag\" value=\"v1\"") == mayDelete)
        #expect(page.contains("/-/delete\"") == mayDelete)
        #expect(page.hasElement(id: "star-form"))
        #expect(page.postForms.allSatisfy { $0.hasCSRF })
    }

    @Test("Nested names and the global namespace resolve; unknown names and tags are 404")
    func namesResolve() async throws {
        let fixture = try await WebFixture()
        let carl = try await fixture.browser("carl")
        let lint = await carl.get("/repositories/acme/tools/lint")
        #expect(lint.status == 200)
        #expect(lint.contains("docker push registry.test:5000/acme/tools/lint:1.0"))
        let busybox = await fixture.visitor.get("/repositories/busybox")
        #expect(busybox.status == 200)
        #expect(busybox.contains("docker pull registry.test:5000/busybox:latest"))
        #expect(busybox.contains("href=\"/repositories/busybox/-/tags/latest\""))
        let tag = await fixture.visitor.get("/repositories/busybox/-/tags/latest")
        #expect(tag.status == 200)
        #expect(await carl.get("/repositories/acme/nope").status == 404)
        #expect(await carl.get("/repositories/acme/api/-/tags/nope").status == 404)
        #expect(await carl.get("/repositories/acme/api/-/unknown").status == 404)
        #expect(await carl.get("/repositories/secret/vault").status == 404)
        #expect(await fixture.visitor.get("/repositories/acme/api").status == 303)
    }

    @Test("The tag page shows the full digest, pull-by-digest, platforms, size, pushes and its history")
    func tagPage() async throws {
        let fixture = try await WebFixture()
        _ = try await fixture.store.write { writer in
            try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "tag.push", outcome: .success, actorName: "carl", target: "tag:acme/api:v1",
                    detail: "{\"digest\":\"\(fixture.digestA)\"}"))
        }
        let olivia = try await fixture.browser("olivia")
        let page = await olivia.get("/repositories/acme/api/-/tags/v1")
        #expect(page.status == 200)
        #expect(page.contains(fixture.digestA))
        #expect(page.contains("docker pull registry.test:5000/acme/api@\(fixture.digestA)"))
        #expect(page.contains("linux/amd64"))
        #expect(page.contains("1.0 MiB"))
        #expect(page.contains(" by carl"))
        #expect(page.hasElement(id: "history"))
        #expect(page.contains("tag.push"))
        #expect(page.contains("/-/delete-tags?tag=v1"))
        let vera = try await fixture.browser("vera").get("/repositories/acme/api/-/tags/v1")
        #expect(vera.status == 200)
        #expect(!vera.contains("delete-tags"))
        let shared = await olivia.get("/repositories/acme/api/-/tags/latest")
        #expect(shared.contains("href=\"/repositories/acme/api/-/tags/v2\""))
    }

    @Test("Starring works without script and the count follows")
    func star() async throws {
        let fixture = try await WebFixture()
        let vera = try await fixture.browser("vera")
        let starred = await vera.post("/repositories/acme/api/-/star", [("starred", "yes")])
        #expect(starred.status == 303)
        #expect(starred.location == "/repositories/acme/api")
        let page = await vera.get("/repositories/acme/api")
        #expect(page.contains("★ Starred · 1"))
        #expect(page.contains("aria-pressed=\"true\""))
        _ = await vera.post("/repositories/acme/api/-/star", [("starred", "no")])
        #expect(await vera.get("/repositories/acme/api").contains("☆ Star · 0"))
        let visitor = await fixture.visitor.get("/repositories/busybox")
        #expect(visitor.contains("href=\"/sign-in?next="))
    }

    @Test("The owner edits the description; a viewer's forged edit is 403")
    func description() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        #expect(await olivia.get("/repositories/acme/api").hasElement(id: "description-form"))
        let saved = await olivia.post("/repositories/acme/api/-/description", [("description", "The acme API")])
        #expect(saved.status == 303)
        #expect(await olivia.get("/repositories/acme/api").contains("The acme API"))
        let vera = try await fixture.browser("vera")
        #expect(!(await vera.get("/repositories/acme/api").hasElement(id: "description-form")))
        let forged = await vera.post("/repositories/acme/api/-/description", [("description", "pwned")])
        #expect(forged.status == 403)
        #expect(!(await olivia.get("/repositories/acme/api").contains("pwned")))
    }

    @Test("Selecting a tag leads to a confirmation that names the other tags on its digest; confirming deletes them")
    func tagDeleteConfirmation() async throws {
        let (fixture, deleter) = try await WebFixture.withDeleter()
        let olivia = try await fixture.browser("olivia")
        let confirm = await olivia.post("/repositories/acme/api/-/delete-tags", [("tag", "latest")])
        #expect(confirm.status == 200)
        #expect(confirm.hasElement(id: "what-goes"))
        #expect(confirm.contains("latest, v2"))
        #expect(confirm.hasElement(id: "shared-warning"))
        #expect(confirm.contentPostForms.map(\.action) == ["/repositories/acme/api/-/delete-tags"])
        #expect(confirm.postForms.allSatisfy { $0.hasCSRF })
        #expect(deleter.asked.isEmpty)
        #expect(try await fixture.tagNames("acme/api") == ["latest", "v1", "v2"])
        let done = await olivia.post("/repositories/acme/api/-/delete-tags", [("tag", "latest"), ("confirm", "yes")])
        #expect(done.status == 303)
        #expect(done.location == "/repositories/acme/api")
        #expect(deleter.asked == ["tags acme/api latest by olivia"])
        #expect(try await fixture.tagNames("acme/api") == ["v1"])
        let byLink = await olivia.get("/repositories/acme/api/-/delete-tags?tag=v1")
        #expect(byLink.status == 200)
        #expect(byLink.contains("Delete 1 tag"))
    }

    @Test("A forged delete by a viewer or contributor is 403 and deletes nothing", arguments: ["vera", "carl", "eve"])
    func forgedDeleteRefused(_ person: String) async throws {
        let (fixture, deleter) = try await WebFixture.withDeleter()
        let client = try await fixture.browser(person)
        let tags = await client.post("/repositories/acme/api/-/delete-tags", [("tag", "v1"), ("confirm", "yes")])
        #expect(tags.status == 403)
        let repository = await client.post("/repositories/acme/api/-/delete", [])
        #expect(repository.status == 403)
        #expect(await client.get("/repositories/acme/api/-/delete").status == 403)
        #expect(deleter.asked.isEmpty)
        #expect(try await fixture.tagNames("acme/api") == ["latest", "v1", "v2"])
    }

    @Test("Without a registry client, a confirmed delete answers a clear 503 and deletes nothing")
    func noRegistryIs503() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let confirm = await olivia.get("/repositories/acme/api/-/delete-tags?tag=v1")
        #expect(confirm.status == 200)
        let page = await olivia.post("/repositories/acme/api/-/delete-tags", [("tag", "v1"), ("confirm", "yes")])
        #expect(page.status == 503)
        #expect(page.contains("No registry client is configured"))
        #expect(await olivia.post("/repositories/acme/api/-/delete", []).status == 503)
        #expect(try await fixture.tagNames("acme/api") == ["latest", "v1", "v2"])
    }

    @Test("Deleting the repository goes through its confirmation, which lists its tags")
    func repositoryDelete() async throws {
        let (fixture, deleter) = try await WebFixture.withDeleter()
        let root = try await fixture.browser("root")
        let confirm = await root.get("/repositories/acme/api/-/delete")
        #expect(confirm.status == 200)
        #expect(confirm.contains("all 3 tags"))
        #expect(confirm.contains("latest, v1, v2"))
        #expect(confirm.contentPostForms.map(\.action) == ["/repositories/acme/api/-/delete"])
        let done = await root.post("/repositories/acme/api/-/delete", [])
        #expect(done.status == 303)
        #expect(done.location == "/namespaces/acme")
        #expect(deleter.asked == ["repository acme/api by root"])
        #expect(await root.get("/repositories/acme/api").status == 404)
    }

    @Test("Deleting with nothing selected says so")
    func nothingSelected() async throws {
        let (fixture, _) = try await WebFixture.withDeleter()
        let page = try await fixture.browser("olivia").post("/repositories/acme/api/-/delete-tags", [])
        #expect(page.status == 422)
    }

    @Test("Tags are paginated 25 digest groups a page")
    func tagPagination() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            let acme = try writer.namespace(named: "acme")!
            let lint = try writer.repositories(named: "tools/lint", in: acme.id).first!
            for index in 0..<30 {
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: lint.id, name: "v\(index)",
                        digest: "sha256:" + String(repeating: String(index % 10), count: 62)
                            + String(format: "%02d", index),
                        pushedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(index))))
            }
        }
        let carl = try await fixture.browser("carl")
        let first = await carl.get("/repositories/acme/tools/lint")
        #expect(first.count("data-digest=\"") == 25)
        #expect(first.contains("href=\"/repositories/acme/tools/lint?page=2\""))
        let second = await carl.get("/repositories/acme/tools/lint?page=2")
        #expect(second.count("data-digest=\"") == 5)
    }

    @Test(
        "Media types read as words",
        arguments: [
            ("application/vnd.oci.image.index.v1+json", "OCI image index"),
            ("application/vnd.docker.distribution.manifest.list.v2+json", "Docker manifest list"),
            ("application/vnd.oci.image.manifest.v1+json", "OCI image"),
            ("application/vnd.docker.distribution.manifest.v2+json", "Docker image v2"),
        ])
    func mediaTypes(_ type: String, _ words: String) {
        #expect(MediaTypes.name(type) == words)
    }

    @Test("The pulls chart is an SVG with a summary label and a hidden table of the 30 days")
    func pullsChartSummarises() {
        let end = Date(timeIntervalSince1970: 1_796_601_600)  // 2026-12-07 00:00 UTC
        let days: [(day: Date, count: Int)] = [
            (end.addingTimeInterval(-86400), 58), (end.addingTimeInterval(-3 * 86400), 12),
            (end.addingTimeInterval(-40 * 86400), 999),
        ]
        var out: [UInt8] = []
        pullsChart(points: days, endingOn: end).render(into: &out)
        let html = String(decoding: out, as: UTF8.self)
        #expect(html.contains("aria-label=\"70 pulls in the last 30 days, peak 58 on 6 Dec 2026\""))
        #expect(html.contains("<table class=\"visually-hidden\">"))
        #expect(html.components(separatedBy: "<rect ").count - 1 == 2)
        #expect(html.components(separatedBy: "<tr><td>").count - 1 == 30)
    }
}
