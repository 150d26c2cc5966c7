import Administration
import CryptoCore
import Diagnostics
import Foundation
import IdentityCore
import PortusImport
import PostgresStorage
import Storage
import Threading
import TokenAuthority
import Webhooks

/// `portcullis import …`: bringing another system's data in.
enum ImportCommands {
    /// `import portus --database URL [--dry-run] [--strict] [--registry NAME] [--ldap-provider ID]`: reads a
    /// Portus 2.4 PostgreSQL database in one read-only snapshot, finds its LDAP users in the configured LDAP
    /// provider, and imports it into the configured store in one transaction; prints what it did (or,
    /// `--dry-run`, would do). The URL's password is never printed.
    static func portus(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["dry-run", "strict"])
        guard let url = parsed.option("database")?.trimmingCharacters(in: .whitespacesAndNewlines), !url.isEmpty
        else {
            throw CommandFailure(.usage, "import portus needs --database postgres://USER@HOST/DATABASE")
        }
        let dryRun = parsed.flag("dry-run")
        let strict = parsed.flag("strict")
        let registryName = parsed.option("registry")
        let ldapProvider = parsed.option("ldap-provider")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)

        // The registry the repositories are recorded under: --registry, or the only configured one.
        let registry = try context.configuration.registry(named: registryName).name
        let snapshot = try await readSnapshot(url)
        let sealer = try sealer(context, dryRun: dryRun)
        var options = PortusImportOptions(
            registry: registry, reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(context.configuration),
            sealer: sealer, actor: Caller.operator(login: NSUserName()).auditName, dryRun: dryRun, strict: strict)
        let report = try await context.withStore { store in
            options.directoryLinks = try await directoryLinks(
                for: snapshot, providerID: ldapProvider, store: store, context: context)
            return try await PortusImporter.run(snapshot, options: options, into: store)
        }
        print(InertText.escapedLines(report.rendered(dryRun: dryRun)), terminator: "")
        if let notice = retentionNotice(snapshot, context) { print(notice) }
        if strict, report.total(.refused) > 0 {
            let error = PortusImportError(
                .refusedRows, "\(report.total(.refused)) Portus record(s) refused under --strict; nothing was imported")
            throw CommandFailure(.dataError, "\(error)")
        }
    }

    /// A warning when imported activities are older than `audit.retention.admin`: `serve`'s pruning would delete
    /// them at its next run.
    private static func retentionNotice(_ snapshot: PortusSnapshot, _ context: AppContext) -> String? {
        let retention = context.configuration.audit.retention.admin
        guard retention > .zero else { return nil }
        let cutoff = Date().addingTimeInterval(-Double(retention.components.seconds))
        let old = snapshot.activities.filter { ($0.createdAt ?? .distantFuture) < cutoff }.count
        guard old > 0 else { return nil }
        return "note: \(old) Portus activit\(old == 1 ? "y is" : "ies are") older than audit.retention.admin "
            + "(\(retention.components.seconds / 86_400) days): serve's audit pruning deletes \(old == 1 ? "it" : "them") "
            + "at its next run. To keep them, archive them first (portcullis audit archive --before DATE) or set "
            + "audit.retention.admin to 0 (keep for ever); see docs/migrating-from-portus.md."
    }

    /// The directory identities of Portus's LDAP users (no local password), found by username in `--ldap-provider`
    /// or the only configured provider that can look users up; none configured leaves them unlinked (reported).
    private static func directoryLinks(
        for snapshot: PortusSnapshot, providerID: String?, store: any Store, context: AppContext
    ) async throws -> [String: PortusDirectoryLink] {
        let usernames = snapshot.users.filter(\.isLDAPAccount).map(\.username)
        guard !usernames.isEmpty || providerID != nil else { return [:] }
        let providers = try TokenAuthorityAssembly.makeProviders(
            context.configuration.providers, store: store, ioPool: BlockingPool(name: "io", threads: 2),
            cpuPool: context.cpuPool, audit: StoreAuditRecorder(store: store, logger: context.logger.named("audit")),
            logger: context.logger)
        do {
            let links = try await directoryLinks(usernames, in: providers, chosen: providerID)
            for provider in providers { await provider.shutdown() }
            return links
        } catch {
            for provider in providers { await provider.shutdown() }
            throw error
        }
    }

    private static func directoryLinks(
        _ usernames: [String], in providers: [any IdentityProvider], chosen providerID: String?
    ) async throws -> [String: PortusDirectoryLink] {
        let lookups = providers.compactMap { $0 as? any DirectoryUserLookup }
        let directory: any DirectoryUserLookup
        if let providerID {
            guard let found = lookups.first(where: { $0.id.rawValue == providerID }) else {
                throw CommandFailure(.dataError, "no enabled provider '\(providerID)' that finds users (type ldap)")
            }
            directory = found
        } else if lookups.count == 1 {
            directory = lookups[0]
        } else if lookups.isEmpty {
            return [:]
        } else {
            throw CommandFailure(
                .usage,
                "several LDAP providers are configured; choose the one Portus used with --ldap-provider "
                    + lookups.map(\.id.rawValue).joined(separator: "|"))
        }
        var links: [String: PortusDirectoryLink] = [:]
        for username in usernames {
            do {
                if let identity = try await directory.identity(forUsername: username) {
                    links[username] = PortusDirectoryLink(
                        providerID: identity.provider.rawValue, subject: identity.subject)
                }
            } catch let error as ProviderError {
                throw CommandFailure(
                    .unavailable, "\(directory.id.rawValue): the directory could not be read: \(error)")
            }
        }
        return links
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
