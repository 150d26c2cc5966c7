import Administration
import Authorization
import Foundation
import HTTPCore
import RESTAPI
import Storage

/// The API fixture with content: team `webteam` (alice owns it) owning the public namespace `web` with
/// `web/app` (tags `latest` and `v1` on one digest, `v2` on another) and the nested `web/group/tool`; team
/// `ops` (no members) owning the private namespace `secret` with `secret/vault`; `spare` (alice owns it, no
/// namespace); the global namespace with `busybox`.
struct ContentFixture {
    let api: APIFixture
    let digestA = "sha256:" + String(repeating: "a", count: 64)
    let digestB = "sha256:" + String(repeating: "b", count: 64)

    init(settings: ResourcePolicySettings = ResourcePolicySettings(), deleter: (any APIRepositoryDeleting)? = nil)
        async throws
    {
        api = try await APIFixture(settings: settings, deleter: deleter)
        let alice = api.alice.id
        let (a, b) = (digestA, digestB)
        try await api.store.write { writer in
            let web = try writer.createTeam(name: "webteam", description: "The web people", isHidden: false)
            _ = try writer.addTeamMember(team: web.id, user: alice, role: .owner)
            let spare = try writer.createTeam(name: "spare", description: nil, isHidden: false)
            _ = try writer.addTeamMember(team: spare.id, user: alice, role: .owner)
            let ops = try writer.createTeam(name: "ops", description: nil, isHidden: false)
            let webNamespace = try writer.createNamespace(name: "web", team: web.id, visibility: .public)
            let secret = try writer.createNamespace(name: "secret", team: ops.id, visibility: .private)
            let app = try writer.createRepository(name: "app", in: webNamespace.id, registry: "local")
            _ = try writer.createRepository(name: "group/tool", in: webNamespace.id, registry: "local")
            let vault = try writer.createRepository(name: "vault", in: secret.id, registry: "local")
            let global = try writer.ensureGlobalNamespace(named: NamespaceNaming.globalNamespaceName).namespace
            let busybox = try writer.createRepository(name: "busybox", in: global.id, registry: "local")
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            for (index, (tag, digest, size)) in [("latest", b, 300), ("v1", a, 100), ("v2", b, 300)].enumerated() {
                _ = try writer.recordTagPush(
                    TagPush(
                        repositoryID: app.id, name: tag, digest: digest,
                        mediaType: "application/vnd.oci.image.index.v1+json", size: Int64(size), pushedByID: alice,
                        pushedByName: "alice", platforms: ["linux/amd64", "linux/arm64"],
                        pushedAt: start.addingTimeInterval(Double(index) * 60)))
            }
            _ = try writer.recordTagPush(TagPush(repositoryID: vault.id, name: "latest", digest: a))
            _ = try writer.recordTagPush(TagPush(repositoryID: busybox.id, name: "latest", digest: a))
        }
    }

    var alice: HTTPHeaders { APIFixture.bearer(api.aliceToken) }
    var root: HTTPHeaders { APIFixture.bearer(api.rootToken) }
    var pull: HTTPHeaders { APIFixture.bearer(api.pullToken) }

    func send(_ method: HTTPMethod, _ path: String, _ headers: HTTPHeaders = HTTPHeaders(), body: String? = nil)
        async -> Answer
    {
        await api.send(method, "/api/v1" + path, headers: headers, body: body)
    }

    /// The names of a list answer's items (`name` or `full_name` as asked).
    static func names(_ answer: Answer, _ key: String = "name") -> [String] {
        guard case .array(let items)? = answer.json else { return [] }
        return items.compactMap { $0[key]?.stringValue }
    }
}
