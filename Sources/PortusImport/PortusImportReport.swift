import Foundation

/// The kinds of Portus records the import carries over, in the order it handles them.
public enum PortusRecordKind: String, Sendable, Hashable, CaseIterable {
    /// A row of `users`.
    case user
    /// A row of `teams`.
    case team
    /// A row of `team_users`.
    case member
    /// A row of `namespaces`.
    case namespace
    /// A row of `repositories`.
    case repository
    /// A row of `tags`.
    case tag
    /// A row of `stars`.
    case star
    /// A row of `webhooks` with its headers.
    case webhook
    /// A row of `activities`, as an audit event.
    case activity
}

/// What the import did with one Portus record.
public enum PortusImportOutcome: String, Sendable, Hashable, CaseIterable {
    /// Created in Portcullis (or, in a dry run, would be).
    case created
    /// Already in Portcullis, and completed (an LDAP account linked to its directory identity).
    case updated
    /// Already in Portcullis (matched by its natural key, see docs/migrating-from-portus.md): left as it is.
    case present
    /// Deliberately not carried over (the `portus` user, a tag whose deletion was under way, …).
    case skipped
    /// Refused by Portcullis's rules (an invalid name, a missing owner); the reason says which.
    case refused
}

/// One line of the report: a record, what happened to it, and why when that is not obvious.
public struct PortusImportEntry: Sendable, Hashable {
    /// The kind of record.
    public var kind: PortusRecordKind
    /// How the operator recognises it (`alice`, `dev/app:1.0`, `alice in backend`).
    public var name: String
    /// What happened.
    public var outcome: PortusImportOutcome
    /// Why, or what changed on the way (a renamed team, a dropped address); empty when nothing to say.
    public var notes: [String]
}

/// What an import did, or (dry run) would do.
public struct PortusImportReport: Sendable {
    /// Every record handled, in the order handled (activities are only counted, refused ones excepted).
    public var entries: [PortusImportEntry] = []
    /// How many records of each kind ended each way.
    public var counts: [PortusRecordKind: [PortusImportOutcome: Int]] = [:]
    /// Users whose Portus application tokens cannot be carried over, with the tokens' labels.
    public var unrecoverableTokens: [(username: String, applications: [String])] = []
    /// Portus tables not imported, with their row counts.
    public var notImported: [(table: String, rows: Int)] = []
    /// Whether nothing was written (a dry run, or `--strict` with refused rows).
    public var rolledBack = false
    /// The Portus database's newest Rails migration, when it records one (`20190109112643` for 2.4).
    public var portusSchemaVersion: String?

    /// An empty report.
    public init() {}

    /// How many records of `kind` ended as `outcome`.
    public func count(_ kind: PortusRecordKind, _ outcome: PortusImportOutcome) -> Int {
        counts[kind]?[outcome] ?? 0
    }

    /// Whether the import created or completed anything.
    public var changed: Bool { total(.created) + total(.updated) > 0 }

    /// How many records of any kind ended as `outcome`.
    public func total(_ outcome: PortusImportOutcome) -> Int {
        PortusRecordKind.allCases.reduce(0) { $0 + count($1, outcome) }
    }

    /// Notes one record; `listed` false counts it without a line (activities, which can be many).
    mutating func note(
        _ kind: PortusRecordKind, _ name: String, _ outcome: PortusImportOutcome, _ notes: [String] = [],
        listed: Bool = true
    ) {
        counts[kind, default: [:]][outcome, default: 0] += 1
        if listed { entries.append(PortusImportEntry(kind: kind, name: name, outcome: outcome, notes: notes)) }
    }

    /// The report as the command prints it: a count table, then the records created, skipped and refused
    /// (records already present are only counted), then what cannot be carried over.
    public func rendered(dryRun: Bool) -> String {
        var lines: [String] = []
        let verb = dryRun ? "would be " : ""
        let schema = portusSchemaVersion.map { " (Portus schema \($0))" } ?? ""
        lines.append(
            dryRun
                ? "Portus import\(schema), dry run: nothing was written"
                : rolledBack
                    ? "Portus import\(schema) refused (--strict): nothing was written" : "Portus import\(schema)")
        lines.append("")
        let header =
            "kind".padding(toLength: 12, withPad: " ", startingAt: 0) + "created  updated  present  skipped  refused"
        lines.append(header)
        for kind in PortusRecordKind.allCases {
            let cells = PortusImportOutcome.allCases.map { outcome in
                let text = String(count(kind, outcome))
                return String(repeating: " ", count: max(0, 7 - text.count)) + text
            }
            lines.append(
                kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + cells.joined(separator: "  "))
        }
        for outcome in [PortusImportOutcome.created, .updated, .skipped, .refused] {
            let listed = entries.filter { $0.outcome == outcome }
            guard !listed.isEmpty else { continue }
            lines.append("")
            lines.append("\(outcome == .created || outcome == .updated ? verb : "")\(outcome.rawValue):")
            for entry in listed {
                let notes = entry.notes.isEmpty ? "" : ": " + entry.notes.joined(separator: "; ")
                lines.append("  \(entry.kind.rawValue) \(entry.name)\(notes)")
            }
        }
        if !unrecoverableTokens.isEmpty {
            lines.append("")
            lines.append(
                "application tokens not carried over (Portus kept only bcrypt hashes, which cannot be turned back "
                    + "into tokens): ask each user to create new ones (portcullis token create, or the profile page)")
            for (username, applications) in unrecoverableTokens {
                lines.append("  \(username): \(applications.count) token(s): \(applications.joined(separator: ", "))")
            }
        }
        let leftOver = notImported.filter { $0.rows > 0 }
        if !leftOver.isEmpty {
            lines.append("")
            lines.append("not imported (no Portcullis counterpart; see docs/migrating-from-portus.md):")
            for (table, rows) in leftOver { lines.append("  \(table): \(rows) row(s)") }
        }
        lines.append("")
        if !changed {
            lines.append("nothing to import: Portcullis already holds everything this Portus database has")
        } else {
            lines.append(
                "\(total(.created)) record(s) \(dryRun || rolledBack ? "would be " : "")imported, "
                    + "\(total(.updated)) completed")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
