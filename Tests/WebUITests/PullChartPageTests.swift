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
}
