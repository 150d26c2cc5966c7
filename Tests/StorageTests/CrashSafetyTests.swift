import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

/// Crash safety of acknowledged commits, tested with a real `kill -9`.
///
/// Swift cannot safely `fork()`, and Package.swift has no helper executable, so the test bundle
/// re-executes itself: the parent test runs `<this test binary> --testing-library swift-testing
/// --filter <child test>` with `PORTCULLIS_CRASH_WRITER=<database path>` set. In that child process
/// the child test writes transactions in a loop and, after each `write` returns (the commit is
/// acknowledged), appends the record's number to `<database>.acks` with one `write(2)`. The parent
/// waits until enough commits were acknowledged, sleeps a random few milliseconds so the kill lands
/// anywhere (mid-transaction, mid-checkpoint), sends SIGKILL, then reopens the database and checks
/// `PRAGMA integrity_check`, that every acknowledged record is present, and that no transaction is
/// half-applied. Without the environment variable the child test does nothing, so a normal
/// `swift test` run stays fast.
///
/// What this proves and what it does not: a process crash (the realistic failure of a server) loses
/// no acknowledged commit with `synchronous=NORMAL` in WAL mode, because committed WAL frames are in
/// the kernel's page cache. A power cut is not simulated; see the comment at the PRAGMA.
@Suite struct CrashSafetyTests {
    static let databaseVariable = "PORTCULLIS_CRASH_WRITER"
    static let firstNumberVariable = "PORTCULLIS_CRASH_FIRST"
    static let childTestName = "writesAndAcknowledgesUntilKilledWhenRunAsTheCrashChild"

    @Test func writesAndAcknowledgesUntilKilledWhenRunAsTheCrashChild() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = environment[Self.databaseVariable] else { return }  // not the child: nothing to do
        let first = Int(environment[Self.firstNumberVariable] ?? "0") ?? 0
        let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        let acks = open(path + ".acks", O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard acks >= 0 else {
            Issue.record("cannot open the ack file")
            return
        }
        // Bounded even if the parent never kills us: about a minute of writes at most.
        let deadline = Date().addingTimeInterval(60)
        var number = first
        while Date() < deadline {
            let current = number
            try await store.write { w in
                let user = try w.createUser(NewUser(username: "crash-\(current)", passwordHash: "h"))
                let team = try w.createTeam(name: "crash-team-\(current)", description: nil, isHidden: true)
                _ = try w.addTeamMember(team: team.id, user: user.id, role: .owner)
                _ = try w.appendAuditEvent(
                    NewAuditEvent(
                        action: "crash.write", outcome: .success, actorID: user.id, target: "crash-\(current)"))
            }
            let line = Array("\(current)\n".utf8)
            _ = line.withUnsafeBytes { write(acks, $0.baseAddress, $0.count) }
            number += 1
        }
        close(acks)
        await store.close()
    }

    @Test(.timeLimit(.minutes(10)))
    func acknowledgedCommitsSurviveKillDashNineAndTheFileStaysIntact() async throws {
        guard ProcessInfo.processInfo.environment[Self.databaseVariable] == nil else { return }  // we are the child
        let executable = CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: executable), executable.hasSuffix(".xctest") else {
            Issue.record("cannot re-execute the test bundle at \(executable); run this suite through `swift test`")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("crash.sqlite")
        let setup = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
        _ = try await setup.migrate()
        await setup.close()

        var acknowledged = Set<Int>()
        var nextNumber = 0
        for round in 0..<3 {
            var environment = ProcessInfo.processInfo.environment
            environment[Self.databaseVariable] = path
            environment[Self.firstNumberVariable] = String(nextNumber)
            let process = try ChildProcess(
                executable, ["--testing-library", "swift-testing", "--filter", Self.childTestName],
                environment: environment)

            // Wait for a few hundred acknowledged commits, bounded in time.
            let target = acknowledged.count + 300
            let deadline = Date().addingTimeInterval(60)
            while try readAcknowledged(path).count < target && process.isRunning && Date() < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
            kill(process.pid, SIGKILL)
            let exitDeadline = Date().addingTimeInterval(20)
            while process.isRunning && Date() < exitDeadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!process.isRunning, "round \(round): the child did not die")
            #expect(process.wasKilledBySignal, "round \(round): the child exited by itself")

            acknowledged = try readAcknowledged(path)
            #expect(acknowledged.count >= target, "round \(round): only \(acknowledged.count) commits acknowledged")

            let store = try await SQLiteStore.open(SQLiteConfiguration(location: .file(path)))
            #expect(try await store.integrityCheck() == ["ok"])
            let acknowledgedNow = acknowledged
            let (missing, users, teams, memberships, audits) = try await store.read { r in
                let users = try r.allUsers().filter { $0.username.hasPrefix("crash-") }
                let names = Set(users.map(\.username))
                let missing = acknowledgedNow.filter { !names.contains("crash-\($0)") }
                let teams = try r.allTeams(includingHidden: true).filter { $0.name.hasPrefix("crash-team-") }
                var memberships = 0
                for user in users { memberships += try r.memberships(of: user.id).count }
                let audits = try r.auditEvents(limit: 1_000_000, before: nil).filter { $0.action == "crash.write" }
                return (missing, users.count, teams.count, memberships, audits.count)
            }
            #expect(missing.isEmpty, "round \(round): acknowledged commits lost: \(missing.sorted().prefix(10))")
            // Every transaction is all-or-nothing: each user came with exactly one team, membership and audit line.
            #expect(teams == users && memberships == users && audits == users)
            // At most the one commit in flight at each kill exists without an acknowledgement.
            #expect(
                users >= acknowledged.count && users <= acknowledged.count + round + 1,
                "round \(round): \(users) users for \(acknowledged.count) acknowledgements")
            nextNumber = (try await store.read { try $0.allUsers().count }) + 10
            await store.close()
        }
    }

    /// The complete lines of the ack file (a torn last line is ignored).
    private func readAcknowledged(_ path: String) throws -> Set<Int> {
        guard let data = FileManager.default.contents(atPath: path + ".acks") else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // whatever follows the last newline is incomplete
        return Set(lines.compactMap { Int($0) })
    }
}
