import Administration
import Foundation
import SQLiteStorage
import Storage
import Testing

/// Fills a SQLite database with realistic content for the screenshots in `docs/screenshots/` (run by hand:
/// `PORTCULLIS_SCREENSHOT_DB=/tmp/shots/var/portcullis.sqlite3 swift test --filter ScreenshotSeed`, then serve
/// that database and take the pictures; docs/web-ui.md says how). Skipped unless the variable is set.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PORTCULLIS_SCREENSHOT_DB"] != nil))
struct ScreenshotSeed {
    @Test("Seeds namespaces, repositories, tags, pulls and history for the screenshots")
    func seed() async throws {
        let path = try #require(ProcessInfo.processInfo.environment["PORTCULLIS_SCREENSHOT_DB"])
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        _ = try await store.migrate()
        let now = Date()
        @Sendable func ago(_ hours: Double) -> Date { now.addingTimeInterval(-hours * 3600) }
        @Sendable func digest(_ seed: String) -> String {
            "sha256:" + String(repeating: seed, count: 64 / seed.count + 1).prefix(64)
        }
        try await store.write { writer in
            var users: [String: User] = [:]
            for (name, admin) in [("admin", true), ("olivia", false), ("carl", false), ("vera", false)] {
                users[name] =
                    try writer.user(named: name)
                    ?? writer.createUser(NewUser(username: name, email: "\(name)@example.org", isAdmin: admin))
            }
            let team = try writer.createTeam(name: "acme", description: "The acme platform team", isHidden: false)
            _ = try writer.addTeamMember(team: team.id, user: users["olivia"]!.id, role: .owner)
            _ = try writer.addTeamMember(team: team.id, user: users["carl"]!.id, role: .contributor)
            _ = try writer.addTeamMember(team: team.id, user: users["vera"]!.id, role: .viewer)
            let data = try writer.createTeam(name: "data", description: "Data engineering", isHidden: false)
            _ = try writer.addTeamMember(team: data.id, user: users["olivia"]!.id, role: .owner)
            let acme = try writer.createNamespace(
                name: "acme", team: team.id, visibility: .protected, kind: .regular, personalOwner: nil,
                description: "Images of the acme platform: API, web front end and build tools.")
            _ = try writer.createNamespace(
                name: "data-pipelines", team: data.id, visibility: .private, kind: .regular, personalOwner: nil,
                description: "Batch jobs and their runtime images.")
            _ = try writer.createNamespace(
                name: "public-tools", team: team.id, visibility: .public, kind: .regular, personalOwner: nil,
                description: "Tools anyone may pull.")
            let api = try writer.createRepository(name: "api", in: acme.id, registry: "local")
            try writer.setDescription(
                "The acme REST API server (Go). Multi-arch images for amd64 and arm64.", forRepository: api.id)
            let web = try writer.createRepository(name: "web", in: acme.id, registry: "local")
            let lint = try writer.createRepository(name: "tools/lint", in: acme.id, registry: "local")
            let index = "application/vnd.oci.image.index.v1+json"
            let image = "application/vnd.oci.image.manifest.v1+json"
            let docker = "application/vnd.docker.distribution.manifest.v2+json"
            let pushes: [(Repository, String, String, String, Int64, String, [String], Double)] = [
                (api, "1.4.2", digest("7f3a9c"), index, 48_392_118, "carl", ["linux/amd64", "linux/arm64"], 3),
                (api, "1.4", digest("7f3a9c"), index, 48_392_118, "carl", ["linux/amd64", "linux/arm64"], 3),
                (api, "latest", digest("7f3a9c"), index, 48_392_118, "carl", ["linux/amd64", "linux/arm64"], 3),
                (api, "1.4.1", digest("c41d20"), index, 48_120_004, "olivia", ["linux/amd64", "linux/arm64"], 50),
                (api, "1.3.9", digest("0be5e1"), docker, 46_881_310, "olivia", [], 24 * 12),
                (api, "pr-1289", digest("9e8812"), image, 48_511_002, "ci-bot", [], 1),
                (web, "2.0.0", digest("aa41f7"), image, 23_100_220, "carl", [], 30),
                (web, "latest", digest("aa41f7"), image, 23_100_220, "carl", [], 30),
                (lint, "0.9.1", digest("5d20b4"), docker, 8_123_456, "olivia", [], 24 * 40),
            ]
            for (repository, tag, hash, type, size, by, platforms, hours) in pushes {
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: repository.id, name: tag, digest: hash, mediaType: type, size: size,
                        pushedByID: users[by]?.id, pushedByName: by, platforms: platforms, pushedAt: ago(hours)))
                _ = try writer.appendAuditEvent(
                    NewAuditEvent(
                        action: "tag.push", outcome: .success, actorName: by,
                        target: "tag:acme/\(repository.name):\(tag)", detail: "{\"digest\":\"\(hash)\"}"))
            }
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "namespace.change_visibility", outcome: .success, actorName: "olivia",
                    target: "namespace:acme", detail: "{\"new\":\"protected\",\"old\":\"private\"}"))
            let global = try writer.ensureGlobalNamespace(named: NamespaceNaming.globalNamespaceName).namespace
            let busybox = try writer.createRepository(name: "busybox", in: global.id, registry: "local")
            _ = try writer.recordTagPush(
                TagPush(
                    repositoryID: busybox.id, name: "1.36", digest: digest("b05b0x"), mediaType: index,
                    size: 2_155_012, pushedByName: "admin", platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"],
                    pushedAt: ago(24 * 9)))
            _ = try writer.star(api.id, by: users["vera"]!.id)
            _ = try writer.star(api.id, by: users["carl"]!.id)
        }
        await store.close()
    }
}
