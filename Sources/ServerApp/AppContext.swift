import Configuration
import Diagnostics
import Foundation
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
        configDirectory = ConfigurationLoader.directory(
            commandLineValue: arguments.option("config"), environment: environment)
        do {
            configuration = try ConfigurationLoader.load(directory: configDirectory, environment: environment)
        } catch {
            throw CommandFailure(.configuration, "invalid configuration in \(configDirectory):\n\(error)")
        }
        let level = LogLevel(rawValue: configuration.log.level.rawValue) ?? .info
        logger = Logger(
            label: "portcullis", level: quiet ? max(level, .warning) : level,
            format: LogFormat(rawValue: configuration.log.format.rawValue) ?? .logfmt)
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
            throw CommandFailure(
                .configuration,
                "storage.driver 'postgres' is not available in this release yet; use 'sqlite'")
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

    /// Applies pending migrations and creates what every database needs (the global namespace).
    func bringUpToDate(_ store: any Store) async throws(CommandFailure) -> MigrationReport {
        do {
            let report = try await store.migrate()
            try await store.write { try Accounts.ensureGlobalNamespace(in: $0) }
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
