import Administration
import CryptoCore
import Diagnostics
import Foundation
import PortusImport
import PostgresStorage
import Threading
import Webhooks

/// `portcullis import …`: bringing another system's data in.
enum ImportCommands {
    /// `import portus --database URL [--dry-run] [--strict] [--registry NAME]`: reads a Portus 2.4 PostgreSQL
    /// database in one read-only snapshot and imports it into the configured store in one transaction; prints
    /// what it did (or, `--dry-run`, would do). The URL's password is never printed.
    static func portus(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["dry-run", "strict"])
        guard let url = parsed.option("database")?.trimmingCharacters(in: .whitespacesAndNewlines), !url.isEmpty
        else {
            throw CommandFailure(.usage, "import portus needs --database postgres://USER@HOST/DATABASE")
        }
        let dryRun = parsed.flag("dry-run")
        let strict = parsed.flag("strict")
        let registryName = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)

        let registry = try chooseRegistry(registryName, context)
        let snapshot = try await readSnapshot(url)
        let sealer = try sealer(context, dryRun: dryRun)
        let options = PortusImportOptions(
            registry: registry, reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(context.configuration),
            sealer: sealer, actor: Caller.operator(login: NSUserName()).auditName, dryRun: dryRun, strict: strict)
        let report = try await context.withStore { store in
            try await PortusImporter.run(snapshot, options: options, into: store)
        }
        print(InertText.escapedLines(report.rendered(dryRun: dryRun)), terminator: "")
        if strict, report.total(.refused) > 0 {
            let error = PortusImportError(
                .refusedRows, "\(report.total(.refused)) Portus record(s) refused under --strict; nothing was imported")
            throw CommandFailure(.dataError, "\(error)")
        }
    }

    /// `--registry`, or the only configured registry; the repositories are recorded as that registry's.
    private static func chooseRegistry(_ name: String?, _ context: AppContext) throws(CommandFailure) -> String {
        let names = context.configuration.registries.map(\.name)
        if let name {
            guard names.contains(name) else {
                throw CommandFailure(
                    .dataError, "no registry named '\(name)'; configured: \(names.joined(separator: ", "))")
            }
            return name
        }
        guard names.count == 1 else {
            throw CommandFailure(
                .usage,
                names.isEmpty
                    ? "no registry is configured (add the one Portus served under registries:)"
                    : "several registries are configured; choose the one Portus served with --registry "
                        + names.joined(separator: "|"))
        }
        return names[0]
    }

    /// Reads the Portus database in one read-only, repeatable-read transaction, on a blocking thread.
    private static func readSnapshot(_ url: String) async throws -> PortusSnapshot {
        let pool = BlockingPool(name: "portus", threads: 1)
        do {
            return try await pool.run {
                let connection = try PostgresConnection(url, connectTimeout: .seconds(10))
                defer { connection.close() }
                try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let snapshot = try PortusSnapshot.read(from: PortusDatabase(connection: connection))
                try connection.execute("COMMIT")
                return snapshot
            }
        } catch let error as PortusImportError {
            throw CommandFailure(.dataError, "cannot import from the Portus database: \(error)")
        } catch {
            // PostgresConnection's messages never carry the URL's password (it redacts them).
            throw CommandFailure(.unavailable, "cannot read the Portus database: \(error)")
        }
    }

    /// The sealer of imported webhooks' headers: `webhooks.secretsKey`, created when missing as `webhook create`
    /// does; a dry run writes no key and seals with a throwaway one (nothing it seals is kept).
    private static func sealer(_ context: AppContext, dryRun: Bool) throws(CommandFailure) -> WebhookSecretSealer {
        if dryRun {
            return (try? WebhooksAssembly.sealer(context.configuration.webhooks, createKeyIfMissing: false) { _ in })
                ?? WebhookSecretSealer(key: AEADKey.generate())
        }
        return try WebhooksAssembly.sealer(context.configuration.webhooks, createKeyIfMissing: true) { printError($0) }
    }
}

/// The Portus database as the import's row port: libpq stays behind PostgresStorage's connection.
private struct PortusDatabase: PortusRowSource {
    let connection: PostgresConnection

    func query(_ sql: String) throws -> [[String?]] { try connection.query(sql) }
}
