import Administration
import Foundation
import HTTPCore
import Storage
import Testing

@Suite("Administration pages")
struct AdminPageTests {
    static let adminPaths = [
        "/admin/users", "/admin/users/olivia", "/admin/users/olivia/delete", "/admin/registries", "/admin/providers",
        "/admin/audit", "/admin/audit.csv", "/admin/workload-identity",
    ]

    @Test(
        "Visitors are sent to sign in from every people page",
        arguments: adminPaths + ["/teams", "/teams/acme", "/profile", "/profile/tokens", "/profile/sessions"])
    func visitorsSignIn(_ path: String) async throws {
        let fixture = try await WebFixture()
        let page = await fixture.visitor.get(path)
        #expect(page.status == 303)
        #expect(page.location?.hasPrefix("/sign-in?next=") == true)
    }

    @Test(
        "A signed-in non-administrator gets a 403 page on the admin pages that says why",
        arguments: ["olivia", "carl", "vera", "eve"])
    func nonAdminsRefused(_ username: String) async throws {
        let fixture = try await WebFixture()
        let browser = try await fixture.browser(username)
        for path in Self.adminPaths {
            let page = await browser.get(path)
            #expect(page.status == 403, "\(path)")
            #expect(page.contains("Only administrators may open this page."), "\(path)")
        }
        let forged = await browser.post("/admin/users/vera/admin", [("admin", "true")])
        #expect(forged.status == 403)
        #expect(try await fixture.store.read { try $0.user(named: "vera")!.isAdmin } == false)
    }

    @Test("The users page lists accounts with their badges, pages them and finds them by name, e-mail or display name")
    func usersListed() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            try writer.setDisplayName("Olivia Owner", for: fixture.users["olivia"]!.id)
            try writer.setEnabled(false, for: fixture.users["eve"]!.id)
            for index in 0..<30 { _ = try writer.createUser(NewUser(username: String(format: "user%02d", index))) }
        }
        let root = try await fixture.browser("root")
        let page = await root.get("/admin/users")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "users"))
        #expect(page.contains("1–25 of 35"))
        #expect(page.contains("badge admin"))
        #expect(page.postFormsCarryCSRF())
        #expect(page.hasElement(id: "create-user-form"))
        let byName = await root.get("/admin/users?q=Owner")
        #expect(byName.contains("href=\"/admin/users/olivia\""))
        #expect(!byName.contains("href=\"/admin/users/root\""))
        let byMail = await root.get("/admin/users?q=eve%40example")
        #expect(byMail.contains("href=\"/admin/users/eve\""))
        #expect(byMail.contains("badge disabled"))
        let none = await root.get("/admin/users?q=%25")
        #expect(none.contains("No user matches"))
    }

    @Test("Display names and e-mails with markup are shown as text on the users pages")
    func accountMarkupEscaped() async throws {
        let fixture = try await WebFixture()
        try await fixture.store.write { writer in
            try writer.setDisplayName(markup, for: fixture.users["carl"]!.id)
            try writer.setEmail(markup, for: fixture.users["vera"]!.id)
        }
        let root = try await fixture.browser("root")
        #expect(await root.get("/admin/users").escapesMarkup)
        #expect(await root.get("/admin/users/carl").escapesMarkup)
        #expect(await root.get("/admin/users/vera").escapesMarkup)
        #expect(await root.get("/admin/users/carl/delete").escapesMarkup)
    }

    @Test("An administrator creates a local user; a taken name is shown next to the field")
    func userCreation() async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let created = await root.post(
            "/admin/users",
            [
                ("username", "dave"), ("display_name", "Dave"), ("email", "dave@example.org"),
                ("password", "a long password"),
            ])
        #expect(created.status == 303)
        #expect(created.location == "/admin/users/dave")
        let dave = try await fixture.store.read { try $0.user(named: "dave") }
        #expect(dave?.passwordHash != nil)
        #expect(dave?.isAdmin == false)
        let taken = await root.post("/admin/users", [("username", "dave"), ("password", "a long password")])
        #expect(taken.status == 409)
        #expect(taken.hasElement(id: "field-username-error"))
        let short = await root.post("/admin/users", [("username", "erin"), ("password", "short")])
        #expect(short.status == 422)
        #expect(short.hasElement(id: "field-password-error"))
        #expect(!short.contains("value=\"short\""))
    }

    @Test("Disabling, enabling, granting and revoking admin, resetting a password and deleting work from the user page")
    func userActions() async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let page = await root.get("/admin/users/carl")
        #expect(page.status == 200)
        for id in ["enabled-form", "admin-form", "password-form", "danger-zone"] { #expect(page.hasElement(id: id)) }
        #expect(page.postFormsCarryCSRF(minimum: 3))
        func user() async throws -> User? { try await fixture.store.read { try $0.user(named: "carl") } }
        _ = await root.post("/admin/users/carl/enabled", [("enabled", "false")])
        #expect(try await user()?.isEnabled == false)
        _ = await root.post("/admin/users/carl/enabled", [("enabled", "true")])
        #expect(try await user()?.isEnabled == true)
        _ = await root.post("/admin/users/carl/admin", [("admin", "true")])
        #expect(try await user()?.isAdmin == true)
        _ = await root.post("/admin/users/carl/admin", [("admin", "false")])
        #expect(try await user()?.isAdmin == false)
        let reset = await root.post("/admin/users/carl/password", [("password", "another long one")])
        #expect(reset.flash?.hasPrefix("Password of carl set") == true)
        #expect(try await user()?.passwordHash != nil)
        let confirm = await root.get("/admin/users/carl/delete")
        #expect(confirm.contains("They leave"))
        #expect(confirm.postFormsCarryCSRF())
        let deleted = await root.post("/admin/users/carl/delete", [])
        #expect(deleted.location == "/admin/users")
        #expect(try await user() == nil)
    }

    @Test("An administrator's own page offers no admin or delete buttons, and the service's refusals are messages")
    func ownAccountGuarded() async throws {
        let fixture = try await WebFixture()
        let root = try await fixture.browser("root")
        let page = await root.get("/admin/users/root")
        #expect(!page.hasElement(id: "admin-form"))
        #expect(!page.hasElement(id: "danger-zone"))
        let refused = await root.post("/admin/users/root/admin", [("admin", "false")])
        #expect(refused.flash == "Administrators cannot change their own admin flag.")
        let lastAdmin = await root.post("/admin/users/root/delete", [])
        #expect(lastAdmin.flash == "Root is the last enabled administrator.")
        #expect(try await fixture.store.read { try $0.user(named: "root")?.isAdmin } == true)
    }

    @Test("The audit page filters by actor, action, outcome and time, and pages on the server")
    func auditFilters() async throws {
        let fixture = try await WebFixture()
        try await seedAudit(fixture)
        let root = try await fixture.browser("root")
        let all = await root.get("/admin/audit")
        #expect(all.status == 200)
        #expect(all.hasElement(id: "audit-filters"))
        let total = try await eventCount(fixture)
        #expect(total >= 63)
        #expect(all.contains("1–50 of \(total)"))
        #expect(all.contains("href=\"/admin/audit.csv\""))
        let byActor = await root.get("/admin/audit?actor=olivia")
        #expect(byActor.count("<code>team.add_member</code>") == 1)
        #expect(!byActor.contains("<code>ui.sign_in</code>"))
        let denied = await root.get("/admin/audit?outcome=denied")
        #expect(denied.count("badge warning\">denied") == 50)
        #expect(denied.contains("1–50 of 60"))
        #expect(await root.get("/admin/audit?outcome=denied&page=2").count("badge warning\">denied") == 10)
        #expect(!denied.contains("badge success"))
        let family = await root.get("/admin/audit?action=team.*&outcome=success")
        #expect(family.count("<code>team.") == 2)
        let dated = await root.get("/admin/audit?since=2023-11-14&until=2023-11-14")
        #expect(dated.contains("<code>team.add_member</code>"))
        #expect(!dated.contains("<code>ui.sign_in</code>"))
        #expect(dated.contains("href=\"/admin/audit.csv?since=2023-11-14&amp;until=2023-11-14\""))
        let bad = await root.get("/admin/audit?since=yesterday")
        #expect(bad.status == 422)
        #expect(bad.hasElement(id: "field-since-error"))
    }

    @Test("Audit details, actors and targets with markup are shown as text")
    func auditMarkupEscaped() async throws {
        let fixture = try await WebFixture()
        _ = try await fixture.store.write { writer in
            try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "team.update", outcome: .success, actorName: markup, target: markup, detail: markup))
        }
        #expect(try await fixture.browser("root").get("/admin/audit").escapesMarkup)
    }

    @Test("The CSV export is CSV with the page's filters, and defuses spreadsheet formulas")
    func auditCSV() async throws {
        let fixture = try await WebFixture()
        try await seedAudit(fixture)
        _ = try await fixture.store.write { writer in
            try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "team.update", outcome: .success, actorName: "=cmd|' /C calc'!A0", target: "@SUM(1+1)",
                    detail: "+1\n-2"))
        }
        let root = try await fixture.browser("root")
        let csv = await root.get("/admin/audit.csv")
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type") == "text/csv; charset=utf-8; header=present")
        #expect(csv.header("Content-Disposition")?.hasPrefix("attachment") == true)
        #expect(csv.html.hasPrefix(AuditQueries.csvColumns.joined(separator: ",") + "\r\n"))
        #expect(csv.contains("'=cmd|"))
        #expect(csv.contains("'@SUM(1+1)"))
        #expect(csv.contains("\"'+1\n'-2\""))
        #expect(!csv.contains(",=cmd"))
        #expect(csv.count("\r\n") == (try await eventCount(fixture)) + 1)
        let filtered = await root.get("/admin/audit.csv?outcome=success&action=team.*")
        #expect(filtered.count("\r\n") == 4)
        #expect(await root.get("/admin/audit.csv?until=soon").status == 400)
    }

    @Test("The registries page shows each registry's state and last sync, and Sync now starts one")
    func registries() async throws {
        let registries = FixtureRegistries(problem: markup)
        let fixture = try await WebFixture(registries: registries)
        let root = try await fixture.browser("root")
        let page = await root.get("/admin/registries")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "registries"))
        #expect(page.contains("badge success\">reachable"))
        #expect(page.contains("badge danger\">unreachable"))
        #expect(page.contains("2 repositories created, 3 tags added"))
        #expect(page.contains("badge info\">syncing"))
        #expect(page.escapesMarkup)
        #expect(page.postFormsCarryCSRF(minimum: 2))
        let started = await root.post("/admin/registries/local/sync", [])
        #expect(started.flash == "Sync of local started. Reload to see how it ends.")
        #expect(registries.synced.withLock { $0 } == ["local by root"])
        let running = await root.post("/admin/registries/mirror/sync", [])
        #expect(running.flash == "A catalog sync of mirror is running already; try again later.")
        let forged = await root.post("/admin/registries/local/sync", [], csrf: "forged-token-0123456789")
        #expect(forged.status == 403)
        #expect(registries.synced.withLock { $0.count } == 1)
    }

    @Test("Without registries the page says how to add one")
    func noRegistries() async throws {
        let fixture = try await WebFixture()
        let page = try await fixture.browser("root").get("/admin/registries")
        #expect(page.contains("No registry is configured"))
    }

    @Test("The providers page lists providers in order with their type and health, provider messages as text")
    func providers() async throws {
        let fixture = try await WebFixture(
            providerHealth: FixtureProviderHealth(message: markup), providers: fixtureProviders)
        let page = try await fixture.browser("root").get("/admin/providers")
        #expect(page.status == 200)
        #expect(page.hasElement(id: "providers"))
        let local = try #require(page.html.range(of: "Local accounts"))
        let ldap = try #require(page.html.range(of: "Corporate LDAP"))
        #expect(local.lowerBound < ldap.lowerBound)
        #expect(page.contains("badge danger\">unhealthy"))
        #expect(page.contains("nothing to check"))
        #expect(page.escapesMarkup)
    }

    /// Every audit event stored now (signing in may record some too).
    private func eventCount(_ fixture: WebFixture) async throws -> Int {
        try await fixture.store.read { try $0.auditEvents(matching: AuditEventFilter(), offset: 0, limit: 1).total }
    }

    /// 60 denied sign-ins, a team change by olivia on 2023-11-14, one by root and a failed disable: 63 events.
    private func seedAudit(_ fixture: WebFixture) async throws {
        try await fixture.store.write { writer in
            for index in 0..<60 {
                _ = try writer.appendAuditEvent(
                    NewAuditEvent(
                        action: "ui.sign_in", outcome: .denied, actorName: "mallory", clientIP: "192.0.2.\(index)",
                        time: Date(timeIntervalSince1970: 1_700_100_000 + Double(index))))
            }
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "team.add_member", outcome: .success, actorName: "olivia", target: "team:acme",
                    detail: "{\"member\":\"carl\"}", time: Date(timeIntervalSince1970: 1_699_970_000)))
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "team.create", outcome: .success, actorName: "root", target: "team:ops",
                    time: Date(timeIntervalSince1970: 1_700_200_000)))
            _ = try writer.appendAuditEvent(
                NewAuditEvent(
                    action: "user.disable", outcome: .failure, actorName: "root", target: "user:eve",
                    time: Date(timeIntervalSince1970: 1_700_200_100)))
        }
    }
}
