import Foundation
import Storage
import Testing

@Suite("The repository page's pulls per day")
struct PullChartPageTests {
    @Test("Pulls recorded by the registry's notifications appear in the repository page's chart")
    func recordedPullsAreCharted() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            let namespace = try writer.namespace(named: "acme")!
            let repository = try writer.repositories(named: "api", in: namespace.id)[0]
            let tag = try writer.tag(named: "v1", in: repository.id)!
            for hoursAgo in [1.0, 2.0, 30.0] {
                try writer.recordPull(ofTag: tag.id, at: Date().addingTimeInterval(-hoursAgo * 3600))
            }
        }
        let page = try await fixture.browser("vera").get("/repositories/acme/api")
        #expect(page.status == 200)
        #expect(page.contains("3 pulls in the last 30 days"))
    }

    @Test("A pull or a push recorded after a view shows at the next view, and each viewer gets their own controls")
    func aRenderedListingFollowsTheTags() async throws {
        let fixture = try await WebFixture()
        let vera = try await fixture.browser("vera")
        let before = await vera.get("/repositories/acme/api")
        #expect(before.contains("No pulls in the last 30 days"))
        #expect(!before.hasElement(id: "tags-form"))
        try await fixture.store.write { writer in
            let namespace = try writer.namespace(named: "acme")!
            let repository = try writer.repositories(named: "api", in: namespace.id)[0]
            let tag = try writer.tag(named: "v1", in: repository.id)!
            try writer.recordPull(ofTag: tag.id, at: Date())
            _ = try writer.recordTagPush(
                TagPush(repositoryID: repository.id, name: "v3", digest: "sha256:" + String(repeating: "c", count: 64)))
        }
        let after = await vera.get("/repositories/acme/api")
        #expect(after.contains("1 pull in the last 30 days"))
        #expect(after.count("data-digest=\"") == 3)
        #expect(after.contains("/repositories/acme/api/-/tags/v3"))
        // The same listing, seen next by someone who may delete: the checkboxes are theirs alone.
        let olivia = await (try await fixture.browser("olivia")).get("/repositories/acme/api")
        #expect(olivia.hasElement(id: "tags-form"))
        #expect(olivia.contains("name=\"tag\" value=\"v3\""))
        #expect(olivia.postForms.allSatisfy { $0.hasCSRF })
        let again = await vera.get("/repositories/acme/api")
        #expect(!again.hasElement(id: "tags-form"))
        #expect(!again.contains("name=\"tag\""))
    }
}
