import Administration
import Foundation
import IdentityCore
import Storage

/// One thing `portcullis doctor` found wrong with the stored data.
struct DoctorFinding: Sendable, Hashable {
    /// What was checked (`username`, `username-case`, `namespace`, `admins`).
    var check: String
    /// The record concerned, escaped for a terminal.
    var subject: String
    /// What is wrong and what to do about it.
    var problem: String
}

/// `portcullis doctor`: cheap checks of invariants that the code keeps for new data but that older
/// databases (or hands-on SQL) may break. Nothing is changed: an operator decides what to rename.
///
/// Records that break a rule keep working (a user with an old-style name still logs in and gets
/// tokens); the report says what to clean up before the rule can be relied on everywhere.
enum DoctorCommand {
    static func run(_ arguments: [String]) async throws {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(PortcullisCommand.usage)
            return
        }
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let findings = try await context.read { reader in try Self.findings(in: reader) }
        guard !findings.isEmpty else {
            print("no problems found")
            return
        }
        print(
            table(header: ["CHECK", "SUBJECT", "PROBLEM"], rows: findings.map { [$0.check, $0.subject, $0.problem] }),
            terminator: "")
        throw CommandFailure(.failure, "\(findings.count) problem\(findings.count == 1 ? "" : "s") found")
    }

    /// Every finding, in a stable order: usernames, case collisions, namespace names, administrators.
    static func findings(in reader: any StoreReading) throws -> [DoctorFinding] {
        let users = try reader.allUsers()
        var findings: [DoctorFinding] = []
        for user in users {
            if let problem = Username.problem(with: user.username) {
                findings.append(
                    DoctorFinding(
                        check: "username", subject: Username.quoted(user.username),
                        problem: "\(problem.message) (\(problem.code.rawValue)); it still logs in, but no new "
                            + "account could take this name"))
            }
        }
        let byKey = Dictionary(grouping: users, by: { Username.comparisonKey($0.username) })
        for (_, group) in byKey.sorted(by: { $0.key < $1.key }) where group.count > 1 {
            let names = group.sorted { $0.id.rawValue < $1.id.rawValue }.map { Username.quoted($0.username) }
            findings.append(
                DoctorFinding(
                    check: "username-case", subject: names.joined(separator: " "),
                    problem: "names differing only in case are one account now; each logs in by its exact "
                        + "spelling only: rename all but one"))
        }
        for namespace in try reader.allNamespaces() where !NamespaceNaming.isValid(namespace.name) {
            findings.append(
                DoctorFinding(
                    check: "namespace", subject: Username.quoted(namespace.name),
                    problem: "not a valid namespace name (lower-case letters, digits, '.', '_', '-' between them)"))
        }
        if !users.isEmpty, try reader.countAdmins() == 0 {
            findings.append(
                DoctorFinding(
                    check: "admins", subject: "-",
                    problem: "no enabled administrator; run 'portcullis user make-admin NAME'"))
        }
        return findings
    }
}
