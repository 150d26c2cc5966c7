import DatabaseCopy
import Diagnostics
import Foundation
import PostgresStorage
import SQLStorage
import SQLiteStorage
import Storage
import Threading

/// `portcullis db copy --to TARGET [--replace] [--dry-run]`: the configured database (the source, which may be
/// serving) copied into another database, SQLite or PostgreSQL, and verified table by table (see
/// `DatabaseCopier` and docs/postgresql.md, "Moving from SQLite to PostgreSQL").
enum DatabaseCopyCommand {
    /// The thread the copy's blocking calls run on (never the cooperative pool); one copy per process.
    private static let pool = BlockingPool(name: "db-copy", threads: 1)

    /// A database named on the command line or by the configuration.
    enum Location {
        /// A SQLite file.
        case sqlite(path: String)
        /// A PostgreSQL database: a URL or conninfo (a secret) and libpq options from the configuration.
        case postgres(url: String, options: [(keyword: String, value: String)])

        /// `--to`: `postgres://…` or `postgresql://…`, `sqlite:PATH`, or a path ending `.sqlite`, `.sqlite3` or `.db`.
        init(target: String) throws(CommandFailure) {
            if target.hasPrefix("postgres://") || target.hasPrefix("postgresql://") {
                self = .postgres(url: target, options: [])
            } else if target.hasPrefix("sqlite:") {
                var path = String(target.dropFirst("sqlite:".count))
                // `sqlite:///var/x.db` (URL-style, empty host) is the path `/var/x.db`.
                if path.hasPrefix("//") { path.removeFirst(2) }
                guard !path.isEmpty else { throw CommandFailure(.usage, "--to sqlite: needs a path") }
                self = .sqlite(path: path)
            } else if [".sqlite", ".sqlite3", ".db"].contains(where: target.hasSuffix) {
                self = .sqlite(path: target)
            } else {
                throw CommandFailure(
                    .usage,
                    "--to must be postgres://…, postgresql://…, sqlite:PATH or a path ending .sqlite, .sqlite3 or .db")
            }
        }

        /// How it is shown: the kind and the path, or the URL with its password replaced by `***`.
        var shown: String {
            switch self {
            case .sqlite(let path): "sqlite:\(path)"
            case .postgres(let url, _): PostgresConnection.hidingPasswords(of: url, in: url)
            }
        }

        /// `text` with this location's password (if any) replaced by `***`.
        func hidingPassword(in text: String) -> String {
            switch self {
            case .sqlite: text
            case .postgres(let url, _): PostgresConnection.hidingPasswords(of: url, in: text)
            }
        }

        /// Opens the endpoint (on the calling blocking thread); a target file is created when missing. A dry run
        /// creates nothing: a target file that does not exist yet is checked as the empty database it would be.
        func open(asTarget: Bool, isDryRun: Bool) throws -> any CopyEndpoint {
            switch self {
            case .sqlite(let path) where asTarget && isDryRun && !FileManager.default.fileExists(atPath: path):
                return try SQLiteCopyEndpoint(path: ":memory:", createIfMissing: true, readOnly: true)
            case .sqlite(let path):
                if asTarget && !isDryRun {
                    let directory = (path as NSString).deletingLastPathComponent
                    if !directory.isEmpty {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    }
                }
                return try SQLiteCopyEndpoint(
                    path: path, createIfMissing: asTarget && !isDryRun, readOnly: !asTarget || isDryRun)
            case .postgres(let url, let options):
                return try PostgresCopyEndpoint(url: url, options: options)
            }
        }
    }

    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["replace", "dry-run"])
        let context = try AppContext(&parsed)
        guard let to = parsed.option("to") else {
            throw CommandFailure(.usage, "db copy needs --to postgres://… or --to sqlite:PATH")
        }
        let replacesData = parsed.flag("replace")
        let isDryRun = parsed.flag("dry-run")
        try parsed.finish(maxPositionals: 0)
        let target = try Location(target: to)
        let source = try sourceLocation(context)
        let hide = { (text: String) in target.hidingPassword(in: source.hidingPassword(in: text)) }

        print("source: \(source.shown)")
        print("target: \(target.shown)\(isDryRun ? " (dry run: nothing is written)" : "")")
        let report: CopyReport
        do {
            report = try await pool.run {
                let copier = DatabaseCopier(
                    schemaVersion: SQLiteStore.latestSchemaVersion,
                    freshRowCounts: try SQLiteCopyEndpoint.freshlyMigratedRowCounts(), replacesData: replacesData,
                    isDryRun: isDryRun)
                let from = try source.open(asTarget: false, isDryRun: isDryRun)
                defer { from.close() }
                let into = try target.open(asTarget: true, isDryRun: isDryRun)
                defer { into.close() }
                return try copier.copy(from: from, to: into)
            }
        } catch let error as DatabaseCopyError {
            let status: ExitStatus =
                error.code == .targetNotEmpty || error.code == .sameDatabase ? .dataError : .failure
            throw CommandFailure(status, hide("\(error)"))
        } catch let error as StoreError {
            let status: ExitStatus = error.code == .unavailable ? .unavailable : .failure
            throw CommandFailure(status, hide("db copy failed, the target is as it was: \(error)"))
        } catch {
            throw CommandFailure(.failure, hide("db copy failed, the target is as it was: \(error)"))
        }
        print(render(report), terminator: "")
        let mismatched = report.mismatchedTables
        guard mismatched.isEmpty else {
            let error = DatabaseCopyError(
                .verificationFailed,
                "the target differs from the source in \(mismatched.joined(separator: ", ")); the copy was rolled "
                    + "back, the target is as it was")
            throw CommandFailure(.failure, "\(error)")
        }
    }

    /// The configured store, as `serve` opens it.
    private static func sourceLocation(_ context: AppContext) throws(CommandFailure) -> Location {
        switch context.configuration.storage.driver {
        case .sqlite:
            return .sqlite(path: context.configuration.storage.sqlite.path)
        case .postgres:
            let settings = context.configuration.storage.postgres
            let configuration = PostgresConfiguration(
                url: try context.postgresURL(), sslMode: settings.sslMode?.rawValue, caFile: settings.caFile)
            return .postgres(url: configuration.url, options: configuration.connectionOptions)
        }
    }

    /// The per-table lines and the summary.
    static func render(_ report: CopyReport) -> String {
        let rows = report.tables.map { table -> [String] in
            let result: String
            if report.isDryRun {
                result = "would copy"
            } else if table.matches {
                result = "ok"
            } else {
                result =
                    "DIFFERS: target \(table.targetRows ?? 0) rows, \(String((table.targetChecksum ?? "").prefix(16)))"
            }
            return [table.name, String(table.rows), String(table.checksum.prefix(16)), result]
        }
        var text = table(header: ["TABLE", "ROWS", "CHECKSUM", "RESULT"], rows: rows)
        let total = report.tables.reduce(0) { $0 + $1.rows }
        if report.isDryRun {
            text +=
                "would copy \(report.tables.count) tables, \(total) rows at schema version \(report.schemaVersion)\n"
        } else if report.isCommitted {
            text +=
                "copied \(report.tables.count) tables, \(total) rows at schema version \(report.schemaVersion): "
                + "every row count and checksum matches\n"
        }
        return text
    }
}
