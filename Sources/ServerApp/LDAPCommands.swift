import Diagnostics
import Foundation
import IdentityCore
import IdentityMapping
import Storage
import Threading
import TokenAuthority

/// `portcullis ldap …`
enum LDAPCommands {
    /// `ldap sync [--provider ID] [--dry-run]`: syncs group → team memberships of every linked account (and
    /// pre-provisions group members when configured) now, printing each change; `--dry-run` writes nothing.
    static func sync(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["dry-run"])
        let dryRun = parsed.flag("dry-run")
        let only = parsed.option("provider")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        try await context.withStore { store in
            let ioPool = BlockingPool(name: "io", threads: 4)
            let audit = StoreAuditRecorder(store: store, logger: context.logger.named("audit"))
            let providers = try TokenAuthorityAssembly.makeProviders(
                context.configuration.providers, store: store, ioPool: ioPool, cpuPool: context.cpuPool, audit: audit,
                logger: context.logger)
            do {
                try await run(providers: providers, only: only, dryRun: dryRun, store: store, context: context)
            } catch {
                for provider in providers { await provider.shutdown() }
                throw error
            }
            for provider in providers { await provider.shutdown() }
        }
    }

    private static func run(
        providers: [any IdentityProvider], only: String?, dryRun: Bool, store: any Store, context: AppContext
    ) async throws {
        let mapping = try IdentityMappingAssembly(
            settings: context.configuration.providers, providers: providers, store: store,
            logger: context.logger, reservedUsernames: WorkloadIdentityAssembly.reservedUsernames(context.configuration)
        )
        var syncers = mapping.syncers
        if let only {
            syncers = syncers.filter { $0.provider.rawValue == only }
            guard !syncers.isEmpty else {
                throw CommandFailure(
                    .dataError, "no enabled provider '\(only)' that lists groups (type ldap) is configured")
            }
        }
        guard !syncers.isEmpty else {
            throw CommandFailure(.dataError, "no enabled provider that lists groups (type ldap) is configured")
        }
        for entry in syncers {
            let report: GroupSyncReport
            do {
                report = try await entry.syncer.run(dryRun: dryRun)
            } catch let error as ProviderError {
                throw CommandFailure(.unavailable, "\(entry.provider): the directory could not be read: \(error)")
            }
            print(InertText.escapedLines(render(report)), terminator: "")
        }
    }

    /// The report as the command prints it: a heading per provider, one line per change, then notes.
    static func render(_ report: GroupSyncReport) -> String {
        var lines = [
            "\(report.provider): \(report.accountsChecked) linked account(s) checked"
                + (report.dryRun ? " (dry run: nothing written)" : "")
        ]
        if report.entries.isEmpty { lines.append("  no changes") }
        lines += report.entries.map { "  " + ($0.description) }
        lines += report.notes.map { "  note: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }
}
