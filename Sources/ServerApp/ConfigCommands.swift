import Configuration
import Foundation
import Storage

/// `portcullis config check [--origins]`: validates config.d exactly as `serve` does before it starts (files,
/// providers `config:` blocks, keys, secrets, file modes) and prints the effective configuration; with
/// `--origins`, each value's line ends with where it was set (`# config.d/99-local.yaml:3`, `# $PORTCULLIS_…`,
/// `# default`), as `git config --show-origin` does.
enum ConfigCommands {
    static func check(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["origins"])
        let origins = parsed.flag("origins")
        // Exactly what `serve` checks before it starts, every problem at once (StartupValidation).
        let context = try await AppContext.validatedForStart(&parsed, quiet: true, warnings: true)
        try parsed.finish(maxPositionals: 0)
        // Where the database exists, trust policies must not bear a user's name (as `serve` refuses).
        try await WorkloadIdentityAssembly.checkNameClashes(context)
        // Secrets appear as their {file:}/{env:} references, never as values.
        print("# effective configuration from \(context.configDirectory)")
        let configuration = context.configuration
        print(
            origins ? configuration.renderEffectiveWithOrigins() : configuration.renderEffective(), terminator: "")
        printError("configuration OK")
    }
}

extension ConfigCommands {
    /// `portcullis config keys`: every configuration key with its type, default and environment
    /// variable, as the Markdown table the README carries.
    static func keys(_ arguments: [String]) async throws {
        let parsed = try ParsedArguments(arguments, flagNames: [])
        try parsed.finish(maxPositionals: 0)
        print(ConfigurationSchema.markdownTable(), terminator: "")
    }
}

/// `portcullis db migrate`: applies pending schema migrations; `db status`: where the schema stands.
enum DatabaseCommands {
    /// Prints the driver and the schema version without changing anything (an empty database stays empty).
    static func status(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let status = try await context.withStore(migrate: false) { store in try await store.schemaStatus() }
        print("driver: \(context.configuration.storage.driver.rawValue)")
        print(status.summary)
    }

    static func migrate(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let report = try await context.withStore(migrate: false) { store in try await context.bringUpToDate(store) }
        if report.applied.isEmpty {
            print("database is up to date at schema version \(report.toVersion)")
        } else {
            for step in report.applied { print("applied migration \(step.version): \(step.name)") }
            print("database migrated from schema version \(report.fromVersion) to \(report.toVersion)")
        }
    }
}
