import Administration
import Configuration
import Diagnostics
import Foundation
import PostgresStorage
import SQLiteStorage
import Storage
import Threading

/// What every command starts from: the validated configuration and a logger built from it.
struct AppContext {
    /// The directory the configuration was read from.
    let configDirectory: String
    /// The validated, merged configuration.
    let configuration: PortcullisConfiguration
    /// The process logger, at the configured level and format.
    let logger: Logger
    /// Threads for CPU-heavy work (password hashing): one core fewer than the machine has (at least one),
    /// at a lower priority, so 100 logins paying bcrypt at once leave a core to request handling
    /// (application-token and cached logins keep their latency); it doubles as an admission limit.
    let cpuPool = BlockingPool(
        name: "cpu", threads: max(1, ProcessInfo.processInfo.activeProcessorCount - 1), niceness: 10)

    /// Loads the configuration named by `--config`, `PORTCULLIS_CONFIG` or `./config.d`; every problem
    /// found is reported at once as a configuration failure.
    /// Administration commands pass `quiet` so routine store messages (opened, closed) stay out of
    /// their output; warnings and errors still show.
    init(_ arguments: inout ParsedArguments, quiet: Bool = true) throws(CommandFailure) {
        let environment = ProcessInfo.processInfo.environment
        let directory = ConfigurationLoader.directory(
            commandLineValue: arguments.option("config"), environment: environment)
        let configuration: PortcullisConfiguration
        do {
            configuration = try ConfigurationLoader.load(directory: directory, environment: environment)
        } catch {
            throw CommandFailure(.configuration, "invalid configuration in \(directory):\n\(error)")
        }
        self.init(directory: directory, configuration: configuration, quiet: quiet)
    }

    private init(directory: String, configuration: PortcullisConfiguration, quiet: Bool) {
        configDirectory = directory
        self.configuration = configuration
        let level = LogLevel(rawValue: configuration.log.level.rawValue) ?? .info
        logger = Logger(
            label: "portcullis", level: quiet ? max(level, .warning) : level,
            format: LogFormat(rawValue: configuration.log.format.rawValue) ?? .logfmt)
    }

    /// Loads the configuration and makes every check `serve` makes before it starts
    /// (``StartupValidation``), reporting the problems of both at once: `serve` and `config check` start
    /// here, so they accept and refuse the same configurations. `checkLogger` receives the providers'
    /// start-up warnings (`serve` passes a silent one: it makes the providers again and warns then).
    static func validatedForStart(
        _ arguments: inout ParsedArguments, quiet: Bool, warnings: Bool
    ) async throws(CommandFailure) -> AppContext {
        let environment = ProcessInfo.processInfo.environment
        let directory = ConfigurationLoader.directory(
            commandLineValue: arguments.option("config"), environment: environment)
        let report = ConfigurationLoader.inspect(directory: directory, environment: environment)
        guard let configuration = report.configuration else {
            throw CommandFailure(
                .configuration,
                "invalid configuration in \(directory):\n\(ConfigurationError(report.issues))")
        }
        let context = AppContext(directory: directory, configuration: configuration, quiet: quiet)
        let checkLogger = warnings ? context.logger : Logger(label: "portcullis", level: .error, sink: SilentLogSink())
        let startIssues = await StartupValidation.issues(configuration, environment: environment, logger: checkLogger)
        let issues = ConfigurationLoader.sorted(report.issues + startIssues, fragments: configuration.fragments)
        guard issues.isEmpty else {
            var message = "invalid configuration in \(directory):\n\(ConfigurationError(issues))"
            if let chmod = StartupValidation.chmodCommand(configuration) {
                message += "\nto make the files owner-only, run: \(chmod)"
            }
            throw CommandFailure(.configuration, message)
        }
        return context
    }

    /// Opens the configured store and brings its schema up to date.
    func openStore(migrate: Bool = true) async throws(CommandFailure) -> any Store {
        let store: any Store
        switch configuration.storage.driver {
        case .sqlite:
            let path = configuration.storage.sqlite.path
            do {
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
                // The database holds password hashes: create it owner-only; SQLite gives its -wal and
                // -shm files the same mode.
                if !FileManager.default.fileExists(atPath: path) {
                    _ = FileManager.default.createFile(
                        atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
                }
                store = try await SQLiteStore.open(
                    SQLiteConfiguration(location: .file(path), busyTimeout: configuration.storage.sqlite.busyTimeout),
                    logger: logger.named("storage"))
            } catch {
                throw CommandFailure(.unavailable, "cannot open the SQLite database \(path): \(error)")
            }
        case .postgres:
            store = try await openPostgresStore()
        }
        if migrate {
            do {
                _ = try await bringUpToDate(store)
            } catch {
                await store.close()
                throw error
            }
        }
        return store
    }

    /// Connects the PostgreSQL store (`storage.postgres`); the URL is revealed here only, never logged.
    private func openPostgresStore() async throws(CommandFailure) -> any Store {
        let settings = configuration.storage.postgres
        let url = try postgresURL()
        do {
            return try await PostgresStore.open(
                PostgresConfiguration(
                    url: url, sslMode: settings.sslMode?.rawValue,
                    caFile: settings.caFile, poolSize: settings.poolSize, statementTimeout: settings.statementTimeout,
                    preparedStatements: settings.preparedStatements),
                logger: logger.named("storage"))
        } catch {
            throw CommandFailure(.unavailable, "cannot open the PostgreSQL database: \(error)")
        }
    }

    /// The configured `storage.postgres.url`, revealed (never log or print it).
    func postgresURL() throws(CommandFailure) -> String {
        guard let reference = configuration.storage.postgres.url else {
            throw CommandFailure(.configuration, "storage.postgres.url is required with the postgres driver")
        }
        do { return try reference.reveal().trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw CommandFailure(.configuration, "storage.postgres.url: \(error)")
        }
    }

    /// Applies pending migrations and creates what every database needs (the global namespace).
    func bringUpToDate(_ store: any Store) async throws(CommandFailure) -> MigrationReport {
        do {
            let report = try await store.migrate()
            try await store.write { _ = try $0.ensureGlobalNamespace(named: NamespaceNaming.globalNamespaceName) }
            return report
        } catch {
            throw CommandFailure(.unavailable, "database migration failed: \(error)")
        }
    }

    /// Opens the store, runs `body` in one write transaction, and closes the store again.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        try await withStore { try await $0.write(body) }
    }

    /// Opens the store, runs `body` in one read transaction, and closes the store again.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        try await withStore { try await $0.read(body) }
    }

    /// Opens the store, runs `body` with it (store errors become command failures), and closes it again.
    func withStore<T>(migrate: Bool = true, _ body: (any Store) async throws -> T) async throws -> T {
        let store = try await openStore(migrate: migrate)
        do {
            let result = try await mapStoreErrors { try await body(store) }
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

/// Drops every line: the logger of providers made only to be checked, whose warnings `serve` repeats
/// when it makes them for real.
private struct SilentLogSink: LogSink {
    func write(line: String) {}
}
