import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Namespace pages: list, detail, create, edit, delete")
struct NamespacePageTests {
    @Test(
        "The namespace list shows what each person may see",
        arguments: [
            ("root", ["acme", "secret"]), ("olivia", ["acme"]), ("carl", ["acme"]), ("vera", ["acme"]),
            ("eve", ["acme"]),
        ])
    func listShowsVisibleNamespaces(_ person: String, _ visible: [String]) async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser(person).get("/namespaces")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "namespaces"))
        for name in ["acme", "secret"] {
            #expect(page.contains("href=\"/namespaces/\(name)\"") == visible.contains(name), "\(person) \(name)")
        }
        #expect(page.contains("badge protected"))
    }

    @Test("Visitors see public namespaces only, and protected acme sends them to sign in")
    func visitorsSeePublicOnly() async throws {
        let fixture = try await WebFixture()
        let list = await fixture.visitor.get("/namespaces")
        #expect(list.status == 200)
        #expect(!list.contains("href=\"/namespaces/acme\""))
        let acme = await fixture.visitor.get("/namespaces/acme")
        #expect(acme.status == 303)
        #expect(acme.location?.hasPrefix("/sign-in?next=") == true)
    }

    @Test("The list filters with ?q= on the server and asks for three characters")
    func listFilters() async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let found = await root.get("/namespaces?q=acm")
        #expect(found.status == 200)
        #expect(found.contains("href=\"/namespaces/acme\""))
        #expect(!found.contains("href=\"/namespaces/secret\""))
        let short = await root.get("/namespaces?q=ac")
        #expect(short.hasElement(id: "filter-notice"))
    }

    @Test("The list is paginated 25 a page with sort links")
    func listPaginates() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            let team = try writer.team(named: "acme")!
            for index in 0..<30 {
                _ = try writer.createNamespace(
                    name: String(format: "bulk-%02d", index), team: team.id, visibility: .protected)
            }
        }
        let root = try await fixture.browser("root")
        let first = await root.get("/namespaces")
        #expect(first.count("<tr><td class=\"name\">") == 25)
        #expect(first.contains("rel=\"next\""))
        #expect(first.contains("href=\"/namespaces?sort=created_at\""))
        let second = await root.get("/namespaces?page=2")
        #expect(second.status == 200)
        #expect(second.count("<tr><td class=\"name\">") == 8)
        #expect(second.contains("26–33 of 33"))
        let sorted = await root.get("/namespaces?sort=name&order=desc")
        let secret = sorted.html.range(of: "/namespaces/secret\"")?.lowerBound
        let bulk = sorted.html.range(of: "/namespaces/bulk-29\"")?.lowerBound
        #expect(secret != nil && bulk != nil && secret! < bulk!)
    }

    @Test(
        "A namespace page shows its facts, repositories and activity, and Edit and Delete only when permitted",
        arguments: [
            ("root", true, true), ("olivia", true, true), ("carl", false, false), ("vera", false, false),
            ("eve", false, false),
        ])
    func namespacePageByRole(_ person: String, _ mayEdit: Bool, _ mayDelete: Bool) async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser(person).get("/namespaces/acme")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "namespace-facts"))
        #expect(page.hasElement(id: "repositories"))
        #expect(page.contains("href=\"/repositories/acme/api\""))
        #expect(page.contains("href=\"/repositories/acme/tools/lint\""))
        #expect(page.contains("href=\"/teams/acme\""))
        #expect(page.contains("href=\"/namespaces/acme/edit\"") == mayEdit)
        #expect(page.contains("href=\"/namespaces/acme/delete\"") == mayDelete)
        #expect(page.hasElement(id: "webhooks-section") == (person != "eve"))
        #expect(page.postForms.allSatisfy { $0.hasCSRF })
    }

    @Test("An unknown or invisible namespace is 404")
    func unknownIs404() async throws {
        let fixture = try await WebFixture()
        let eve = try await fixture.browser("eve")
        #expect(await eve.get("/namespaces/nope").status == 404)
        #expect(await eve.get("/namespaces/secret").status == 404)
        #expect(await eve.get("/namespaces/secret/edit").status == 404)
    }

    @Test("The global namespace lists busybox with a link without a namespace prefix")
    func globalNamespace() async throws {
        let fixture = try await WebFixture()
        let global = try await fixture.store.read { try $0.globalNamespace()! }
        let page = await fixture.visitor.get("/namespaces/\(global.name)")
        #expect(page.status == 200)
        #expect(page.contains("href=\"/repositories/busybox\""))
    }

    @Test("The owner edits description, visibility and team; what was typed is kept on error")
    func ownerEdits() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let form = await olivia.get("/namespaces/acme/edit")
        #expect(form.status == 200)
        #expect(form.hasElement(id: "edit-namespace"))
        #expect(form.postForms.allSatisfy { $0.hasCSRF })
        let saved = await olivia.post(
            "/namespaces/acme/edit", [("description", "Images of acme"), ("visibility", "public"), ("team", "acme")])
        #expect(saved.status == 303)
        #expect(saved.location == "/namespaces/acme")
        let namespace = try await fixture.store.read { try $0.namespace(named: "acme")! }
        #expect(namespace.description == "Images of acme")
        #expect(namespace.visibility == .public)
        let tooLong = await olivia.post("/namespaces/acme/edit", [("description", String(repeating: "x", count: 5000))])
        #expect(tooLong.status == 422)
        #expect(tooLong.hasElement(id: "edit-error"))
        #expect(tooLong.contains(String(repeating: "x", count: 5000)))
    }

    @Test("A viewer sees no edit form and a forged edit is refused with 403", arguments: ["vera", "carl", "eve"])
    func viewerCannotEdit(_ person: String) async throws {
        let fixture = try await WebFixture()
        let client = try await fixture.browser(person)
        #expect(await client.get("/namespaces/acme/edit").status == 403)
        let forged = await client.post("/namespaces/acme/edit", [("description", "pwned"), ("visibility", "public")])
        #expect(forged.status == 403)
        let namespace = try await fixture.store.read { try $0.namespace(named: "acme")! }
        #expect(namespace.description != "pwned")
        #expect(namespace.visibility == .protected)
    }

    @Test("A POST without the CSRF token changes nothing")
    func editNeedsCSRF() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let forged = await olivia.post("/namespaces/acme/edit", [("description", "csrf")], csrf: "wrong-token")
        #expect(forged.status == 403)
        let namespace = try await fixture.store.read { try $0.namespace(named: "acme")! }
        #expect(namespace.description != "csrf")
    }

    @Test("Creating a namespace: the form lists permitted teams, errors sit next to the name")
    func createNamespace() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let form = await olivia.get("/namespaces/new")
        #expect(form.status == 200)
        #expect(form.contains("<option value=\"acme\""))
        #expect(!form.contains("<option value=\"ops\""))
        let bad = await olivia.post(
            "/namespaces/new", [("name", "Bad Name"), ("team", "acme"), ("visibility", "private")])
        #expect(bad.status == 422)
        #expect(bad.hasElement(id: "field-name-error"))
        #expect(bad.contains("value=\"Bad Name\""))
        let made = await olivia.post(
            "/namespaces/new",
            [("name", "acme-tools"), ("team", "acme"), ("visibility", "private"), ("description", "")])
        #expect(made.status == 303)
        #expect(made.location == "/namespaces/acme-tools")
        let taken = await olivia.post(
            "/namespaces/new", [("name", "acme"), ("team", "acme"), ("visibility", "private")])
        #expect(taken.status == 409)
        #expect(try await fixture.browser("vera").get("/namespaces/new").status == 403)
        #expect(await fixture.visitor.get("/namespaces/new").status == 303)
    }

    @Test("Deleting a namespace: the confirmation names what goes, or what must go first")
    func deleteNamespace() async throws {
        let fixture = try await WebFixture()
        let olivia = try await fixture.browser("olivia")
        let blocked = await olivia.get("/namespaces/acme/delete")
        #expect(blocked.status == 200)
        #expect(blocked.hasElement(id: "blocking-repositories"))
        #expect(blocked.contentPostForms.isEmpty)
        _ = await olivia.post("/namespaces/new", [("name", "scratch"), ("team", "acme"), ("visibility", "private")])
        let confirm = await olivia.get("/namespaces/scratch/delete")
        #expect(confirm.hasElement(id: "what-goes"))
        #expect(confirm.contentPostForms.map(\.action) == ["/namespaces/scratch/delete"])
        #expect(confirm.postForms.allSatisfy { $0.hasCSRF })
        let forged = try await fixture.browser("vera").post("/namespaces/scratch/delete", [])
        #expect(forged.status == 404 || forged.status == 403)
        #expect(try await fixture.store.read { try $0.namespace(named: "scratch") } != nil)
        let deleted = await olivia.post("/namespaces/scratch/delete", [])
        #expect(deleted.status == 303)
        #expect(try await fixture.store.read { try $0.namespace(named: "scratch") } == nil)
        let refused = await olivia.post("/namespaces/acme/delete", [])
        #expect(refused.status == 409 || refused.status == 422)
    }

    @Test("A namespace's repositories are paginated 25 a page")
    func repositoriesPaginate() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            let acme = try writer.namespace(named: "acme")!
            for index in 0..<30 {
                _ = try writer.createRepository(name: String(format: "svc-%02d", index), in: acme.id, registry: "local")
            }
        }
        let carl = try await fixture.browser("carl")
        let first = await carl.get("/namespaces/acme")
        #expect(first.count("<td class=\"name\"><a href=\"/repositories/acme/") == 25)
        #expect(first.contains("href=\"/namespaces/acme?page=2\""))
        let second = await carl.get("/namespaces/acme?page=2")
        #expect(second.status == 200)
        #expect(second.count("<td class=\"name\"><a href=\"/repositories/acme/") == 7)
        #expect(second.contains("26–32 of 32"))
    }
}
