import Administration
import Foundation
import SQLiteStorage
import Storage
import Testing

@Suite struct FirstRunSetupTests {
    private func setup(_ fixture: Fixture) -> FirstRunSetup {
        FirstRunSetup(store: fixture.store, hashing: Fixture.pool)
    }

    @Test func aPrintedCodeCreatesTheFirstAdministratorOnceAndEndsSetup() async throws {
        let fixture = try await Fixture.make()
        let setup = setup(fixture)
        #expect(try await setup.isNeeded())
        let setupCode = try #require(try await setup.issueCode())
        #expect(setupCode.wholeMatch(of: /[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}/) != nil)

        // Case, dashes and spaces do not matter.
        let typed = " " + setupCode.lowercased().replacingOccurrences(of: "-", with: " ") + " "
        let details = try await setup.createAdministrator(
            code: typed, username: "root", password: Password("a long secret"), email: "root@example.test")
        #expect(details.account.isAdmin && details.account.hasPassword && details.personalNamespace == "root")
        #expect(try await !setup.isNeeded())
        #expect(try await setup.issueCode() == nil)
        #expect(
            await code {
                try await setup.createAdministrator(
                    code: setupCode, username: "mallory", password: Password("a long secret"), email: nil)
            } == .setupAlreadyDone)
        #expect(try await fixture.auditActions().filter { $0.hasPrefix("setup.") } == ["setup.administrator_created"])
        #expect(try await fixture.store.read { try $0.countUsers() } == 1)
        await fixture.close()
    }

    @Test func aWrongCodeCreatesNothing() async throws {
        let fixture = try await Fixture.make()
        let setup = setup(fixture)
        let setupCode = try #require(try await setup.issueCode())
        let wrong = setupCode.first == "2" ? "3" + setupCode.dropFirst() : "2" + setupCode.dropFirst()
        for attempt in [wrong, "", "not a code", setupCode + "A", String(repeating: "é", count: 16)] {
            #expect(
                await code {
                    try await setup.createAdministrator(
                        code: attempt, username: "root", password: Password("a long secret"), email: nil)
                } == .setupCodeRejected, "\(attempt)")
        }
        #expect(try await setup.isNeeded())
        await fixture.close()
    }

    @Test func theAccountRulesApplyAsWhenAnAdministratorCreatesAnAccount() async throws {
        let fixture = try await Fixture.make()
        let setup = setup(fixture)
        let setupCode = try #require(try await setup.issueCode())
        #expect(
            await code {
                try await setup.createAdministrator(
                    code: setupCode, username: "root", password: Password("short"), email: nil)
            } == .invalidPassword)
        #expect(
            await code {
                try await setup.createAdministrator(
                    code: setupCode, username: "no spaces allowed", password: Password("a long secret"), email: nil)
            } == .invalidUsername)
        #expect(
            await code {
                try await setup.createAdministrator(
                    code: setupCode, username: "root", password: Password("a long secret"), email: "nowhere")
            } == .invalidEmail)
        // Nothing was used up.
        _ = try await setup.createAdministrator(
            code: setupCode, username: "root", password: Password("a long secret"), email: nil)
        await fixture.close()
    }

    @Test func everyInstancesCodeWorksUntilOneIsUsed() async throws {
        let fixture = try await Fixture.make()
        let first = setup(fixture), second = setup(fixture)
        let firstCode = try #require(try await first.issueCode())
        let secondCode = try #require(try await second.issueCode())
        #expect(firstCode != secondCode)
        _ = try await first.createAdministrator(
            code: secondCode, username: "root", password: Password("a long secret"), email: nil)
        #expect(
            await code {
                try await second.createAdministrator(
                    code: firstCode, username: "other", password: Password("a long secret"), email: nil)
            } == .setupAlreadyDone)
        #expect(
            try await fixture.store.read { try $0.setupCodeExists(hash: String(repeating: "0", count: 64)) } == false)
        await fixture.close()
    }

    @Test func concurrentAttemptsFromTwoInstancesCreateOnlyOneAdministrator() async throws {
        let fixture = try await Fixture.make()
        // A second server process on the same database file: its own connections, its own code.
        let otherStore = try await SQLiteStore.open(
            SQLiteConfiguration(location: .file(fixture.directory.appendingPathComponent("db.sqlite3").path)))
        let instances = [setup(fixture), FirstRunSetup(store: otherStore, hashing: Fixture.pool)]
        let codes = [
            try #require(try await instances[0].issueCode()), try #require(try await instances[1].issueCode()),
        ]
        let attempts = [("first", 0, 0), ("second", 1, 1), ("third", 0, 1), ("fourth", 1, 0)]
        let outcomes = await withTaskGroup(of: AdministrationError.Code?.self) { group in
            for (name, instance, code) in attempts {
                group.addTask {
                    do {
                        _ = try await instances[instance].createAdministrator(
                            code: codes[code], username: name, password: Password("a long secret"), email: nil)
                        return nil
                    } catch let error as AdministrationError {
                        return error.code
                    } catch {
                        return .forbidden
                    }
                }
            }
            return await group.reduce(into: [AdministrationError.Code?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1)
        #expect(outcomes.compactMap { $0 }.allSatisfy { $0 == .setupAlreadyDone })
        #expect(try await fixture.store.read { try $0.countUsers() } == 1)
        #expect(try await fixture.store.read { try $0.countAdmins() } == 1)
        await otherStore.close()
        await fixture.close()
    }
}
