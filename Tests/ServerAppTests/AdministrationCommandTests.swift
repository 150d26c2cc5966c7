import Foundation
import TestSupport
import Testing

/// The administration commands through the built `portcullis` executable: parse, call the service, print.
@Suite(.serialized) struct AdministrationCommandTests {
    @Test func usersAreShownDisabledEnabledAndDeletedFromTheCommandLine() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["user", "create", "root", "--admin", "--no-password"]).status == 0)
        #expect(
            try await sandbox.portcullis(["user", "create", "erin", "--no-password", "--email", "e@x"]).status == 0)
        let shown = try await sandbox.portcullis(["user", "show", "erin"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("personal namespace") && shown.stdout.contains("e@x"))
        #expect(try await sandbox.portcullis(["user", "disable", "erin"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "show", "erin"]).stdout.contains("disabled"))
        #expect(try await sandbox.portcullis(["user", "enable", "erin"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "show", "erin"]).stdout.contains("enabled"))
        let paged = try await sandbox.portcullis(["user", "list", "--limit", "1", "--sort", "username", "--desc"])
        #expect(paged.status == 0 && paged.stdout.contains("root"), "\(paged.stderr)")
        #expect(paged.stdout.contains("(1 of 2 shown; continue with --offset 1)"), "\(paged.stdout)")
        let lastAdmin = try await sandbox.portcullis(["user", "delete", "root"])
        #expect(
            lastAdmin.status == 65 && lastAdmin.stderr.contains("last enabled administrator"), "\(lastAdmin.stderr)")
        #expect(try await sandbox.portcullis(["user", "delete", "erin"]).status == 0)
        #expect(try await sandbox.portcullis(["user", "show", "erin"]).status == 65)
        #expect(try await sandbox.portcullis(["user", "list", "--limit", "0"]).status == 64)
        #expect(try await sandbox.portcullis(["user", "list", "--sort", "password"]).status == 64)
    }

    @Test("Provider groups are named as team members, listed and removed from the command line")
    func providerGroupsAreManagedFromTheCommandLine() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["user", "create", "carol", "--no-password"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "create", "qa", "--owner", "carol"]).status == 0)
        let added = try await sandbox.portcullis([
            "team", "add-group", "qa", "--provider", "corp", "--group", "acme/qa", "--role", "contributor",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("acme/qa of corp is a member of qa as contributor"), "\(added.stdout)")
        let twice = try await sandbox.portcullis([
            "team", "add-group", "qa", "--provider", "corp", "--group", "acme/qa",
        ])
        #expect(twice.status == 65 && twice.stderr.contains("already"), "\(twice.stderr)")
        let wildcard = try await sandbox.portcullis([
            "team", "add-group", "qa", "--provider", "corp", "--group", "acme/*",
        ])
        #expect(wildcard.status != 0 && wildcard.stderr.contains("no * or ?"), "\(wildcard.stderr)")
        let unnamed = try await sandbox.portcullis(["team", "add-group", "qa", "--group", "acme/qa"])
        #expect(unnamed.status == 64 && unnamed.stderr.contains("--provider ID --group NAME"), "\(unnamed.stderr)")
        let listed = try await sandbox.portcullis(["team", "groups", "qa"])
        #expect(listed.status == 0 && listed.stdout.contains("corp") && listed.stdout.contains("acme/qa"))
        #expect(listed.stdout.contains("contributor"), "\(listed.stdout)")
        let removed = try await sandbox.portcullis([
            "team", "remove-group", "qa", "--provider", "corp", "--group", "acme/qa",
        ])
        #expect(removed.status == 0, "\(removed.stderr)")
        let gone = try await sandbox.portcullis([
            "team", "remove-group", "qa", "--provider", "corp", "--group", "acme/qa",
        ])
        #expect(gone.status == 65 && gone.stderr.contains("no such provider group"), "\(gone.stderr)")
        let tail = try await sandbox.portcullis(["audit", "tail", "--lines", "20"])
        #expect(tail.stdout.contains("team.add_group") && tail.stdout.contains("team.remove_group"))
    }

    @Test func teamsAreListedShownAndTheirMembersManagedWithPortusRules() async throws {
        let sandbox = try Sandbox()
        for name in ["carol", "dave", "root"] {
            #expect(try await sandbox.portcullis(["user", "create", name, "--no-password"]).status == 0)
        }
        #expect(try await sandbox.portcullis(["user", "make-admin", "root"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "create", "qa", "--owner", "carol"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "add-member", "qa", "dave"]).status == 0)
        let admin = try await sandbox.portcullis(["team", "add-member", "qa", "root", "--role", "viewer"])
        #expect(admin.status == 0 && admin.stdout.contains("as owner"), "\(admin.stdout)")
        #expect(try await sandbox.portcullis(["team", "set-role", "qa", "dave", "contributor"]).status == 0)
        let demote = try await sandbox.portcullis(["team", "set-role", "qa", "root", "viewer"])
        #expect(demote.status == 65 && demote.stderr.contains("administrator"), "\(demote.stderr)")
        #expect(try await sandbox.portcullis(["team", "remove-member", "qa", "root"]).status == 0)
        let last = try await sandbox.portcullis(["team", "remove-member", "qa", "carol"])
        #expect(last.status == 65 && last.stderr.contains("only owner"), "\(last.stderr)")
        let hidden = try await sandbox.portcullis(["team", "add-member", "carol", "dave"])
        #expect(hidden.status == 65 && hidden.stderr.contains("take no members"), "\(hidden.stderr)")
        let shown = try await sandbox.portcullis(["team", "show", "qa"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("carol") && shown.stdout.contains("contributor"))
        let listed = try await sandbox.portcullis(["team", "list"])
        #expect(listed.stdout.contains("qa") && !listed.stdout.contains("carol "), "personal teams stay hidden")
        let tail = try await sandbox.portcullis(["audit", "tail", "--lines", "50"])
        #expect(tail.stdout.contains("team.change_member_role") && tail.stdout.contains("team.remove_member"))
        let search = try await sandbox.portcullis(["audit", "search", "--action", "team.*", "--limit", "2"])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains("team.remove_member") && search.stdout.contains("cli:"), "\(search.stdout)")
        #expect(search.stdout.contains("(2 of 5 shown; continue with --offset 2)"), "\(search.stdout)")
        #expect(try await sandbox.portcullis(["audit", "search", "--since", "yesterday"]).status == 64)
    }

    @Test func namespacesAreListedShownTransferredAndRepositoriesShown() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["user", "create", "carol", "--no-password"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "create", "qa", "--owner", "carol"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "create", "ops", "--owner", "carol"]).status == 0)
        #expect(try await sandbox.portcullis(["namespace", "create", "images", "--team", "qa"]).status == 0)
        let listed = try await sandbox.portcullis(["namespace", "list"])
        #expect(listed.status == 0 && listed.stdout.contains("images") && listed.stdout.contains("portcullis-global"))
        #expect(try await sandbox.portcullis(["namespace", "transfer", "images", "ops"]).status == 0)
        let shown = try await sandbox.portcullis(["namespace", "show", "images"])
        #expect(shown.stdout.contains("ops"), "\(shown.stdout)")
        let personal = try await sandbox.portcullis(["namespace", "transfer", "carol", "ops"])
        #expect(personal.status == 65 && personal.stderr.contains("personal"), "\(personal.stderr)")
        let missing = try await sandbox.portcullis(["repository", "show", "images/app"])
        #expect(missing.status == 65 && missing.stderr.contains("no repository"), "\(missing.stderr)")
        let teamDelete = try await sandbox.portcullis(["team", "delete", "ops"])
        #expect(teamDelete.status == 65 && teamDelete.stderr.contains("owns images"), "\(teamDelete.stderr)")
        #expect(
            try await sandbox.portcullis(["team", "update", "qa", "--name", "quality", "--description", "QA"]).status
                == 0)
        #expect(try await sandbox.portcullis(["team", "show", "quality"]).stdout.contains("description: QA"))
        #expect(try await sandbox.portcullis(["team", "update", "quality"]).status == 64)
        #expect(try await sandbox.portcullis(["namespace", "delete", "images"]).status == 0)
        #expect(try await sandbox.portcullis(["team", "delete", "ops"]).status == 0)
    }
}

/// Hostile input to the administration commands: a clear refusal with exit 65, nothing half-written.
@Suite(.serialized) struct AdministrationHostileInputTests {
    @Test(arguments: [
        ["team", "create", "../etc"], ["team", "create", "qa", "--description", "bell\u{7}"],
        ["namespace", "create", "a/b", "--team", "owners"], ["namespace", "create", "x\u{1B}[2J", "--team", "owners"],
        ["team", "add-member", "owners", "nobody"], ["team", "set-role", "owners", "nobody", "owner"],
        ["namespace", "transfer", "missing", "owners"], ["repository", "show", "../../etc/passwd"],
        ["user", "show", "nobody"],
    ])
    func badNamesAndTextAreRefusedWithExit65AndAnInertMessage(arguments: [String]) async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["team", "create", "owners"]).status == 0)
        let result = try await sandbox.portcullis(arguments)
        #expect(result.status == 65, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(!result.stderr.contains("constraint"), "a clear message, not a database error")
        let teams = try await sandbox.portcullis(["team", "list"])
        #expect(teams.stdout.split(separator: "\n").count == 2, "only the header and owners: \(teams.stdout)")
    }
}
