import Diagnostics
import Foundation
import SQLStorage
import Storage
import Synchronization
import Threading

/// How the embedded SQLite store is opened.
public struct SQLiteConfiguration: Sendable {
    /// Where the database lives.
    public enum Location: Sendable, Hashable {
        /// A database file (created if missing); its `-wal` and `-shm` files sit next to it.
        case file(String)
        /// A private in-memory database, gone at `close()`; for tests. Reads use the writer connection.
        case inMemory
    }

    /// Where the database lives.
    public var location: Location
    /// How long a connection waits for a lock held by another connection or process before the
    /// operation fails with `.unavailable`. Default: 5 seconds.
    public var busyTimeout: Duration
    /// How many read-only connections serve `read` in parallel with the writer. Default: 2.
    /// Ignored for `.inMemory`.
    public var readerCount: Int
    /// The clock used for created/updated timestamps. Default: the system clock.
    public var now: @Sendable () -> Date
    /// How often a file store reads the authorization generation to notice changes other processes
    /// (the CLI beside a running server) committed; nil never polls. Default: 250 ms.
    /// Ignored for `.inMemory`, which no other process can open.
    public var generationPollInterval: Duration?

    /// Describes a store; only the location is required.
    public init(
        location: Location, busyTimeout: Duration = .seconds(5), readerCount: Int = 2,
        now: @escaping @Sendable () -> Date = { Date() }, generationPollInterval: Duration? = .milliseconds(250)
    ) {
        self.location = location
        self.busyTimeout = busyTimeout
        self.readerCount = readerCount
        self.now = now
        self.generationPollInterval = generationPollInterval
    }
}

/// The embedded SQLite backend of `Store`: one writer connection serialized on its own thread and
/// a few read-only connections on a reader pool, all in WAL mode so reads never wait for a write.
///
/// Threading: every SQLite call runs on this store's dedicated `BlockingPool` threads, never on the
/// cooperative pool. Connections are opened with `SQLITE_OPEN_NOMUTEX`; the writer belongs to the
/// single writer thread, and a reader is checked out by exactly one job at a time.
public final class SQLiteStore: Store, @unchecked Sendable {
    /// The highest schema version this binary knows.
    public static var latestSchemaVersion: Int { SQLiteSchema.latestVersion }

    private let configuration: SQLiteConfiguration
    private let logger: Logger?
    private let writerPool: BlockingPool
    private let writer: SQLiteConnection
    private let readerPool: BlockingPool?
    private let readers: Checkout<SQLiteConnection>?
    private let gate = PoolGate()
    private let generation = AuthorizationGenerationTracker()
    private let repositoryOrders = RepositoryOrderCache()
    private let poller = Mutex<Task<Void, Never>?>(nil)

    private init(
        configuration: SQLiteConfiguration, logger: Logger?, writerPool: BlockingPool, writer: SQLiteConnection,
        readerPool: BlockingPool?, readers: Checkout<SQLiteConnection>?
    ) {
        self.configuration = configuration
        self.logger = logger
        self.writerPool = writerPool
        self.writer = writer
        self.readerPool = readerPool
        self.readers = readers
    }

    /// Opens (creating if missing) the database and its connections; does not migrate.
    ///
    /// Throws `.unavailable` when the file cannot be opened or switched to WAL, `.corrupt` when it is
    /// not a SQLite database. Call `migrate()` before serving.
    public static func open(_ configuration: SQLiteConfiguration, logger: Logger? = nil) async throws -> SQLiteStore {
        let timeout = configuration.busyTimeout.components
        let milliseconds = min(
            Int64(Int32.max), max(0, timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000))
        let path: String
        let readerCount: Int
        switch configuration.location {
        case .file(let file):
            path = file
            readerCount = max(0, configuration.readerCount)
        case .inMemory:
            path = ":memory:"
            readerCount = 0
        }
        let writerPool = BlockingPool(name: "sqlite-writer", threads: 1)
        let readerPool = readerCount > 0 ? BlockingPool(name: "sqlite-reader", threads: readerCount) : nil
        do {
            let writer = try await writerPool.run {
                try SQLiteConnection(
                    SQLiteOpenOptions(
                        path: path, readOnlyQueries: false, busyTimeoutMilliseconds: Int32(milliseconds),
                        createIfMissing: true))
            }
            var readers: Checkout<SQLiteConnection>?
            if let readerPool {
                do {
                    let connections = try await readerPool.run {
                        try (0..<readerCount).map { _ in
                            try SQLiteConnection(
                                SQLiteOpenOptions(
                                    path: path, readOnlyQueries: true,
                                    busyTimeoutMilliseconds: Int32(milliseconds), createIfMissing: false))
                        }
                    }
                    readers = Checkout(connections)
                } catch {
                    await writerPool.run { writer.close() }
                    throw error
                }
            }
            logger?.info(
                "sqlite store opened",
                ["path": path, "readers": String(readerCount), "sqlite": sqliteLibraryVersion()])
            let store = SQLiteStore(
                configuration: configuration, logger: logger, writerPool: writerPool, writer: writer,
                readerPool: readerPool, readers: readers)
            await store.observeGeneration()
            if readerPool != nil, let interval = configuration.generationPollInterval {
                store.startPollingGeneration(every: interval)
            }
            return store
        } catch {
            PoolGate.retire(writerPool)
            if let readerPool { PoolGate.retire(readerPool) }
            throw error
        }
    }

    deinit {
        // Only reached without `close()` when the owner forgot it; the pools must not be freed
        // under their idle threads (see `PoolGate.retire`).
        if !gate.isClosed {
            PoolGate.retire(writerPool)
            if let readerPool { PoolGate.retire(readerPool) }
        }
    }

    // MARK: Store

    /// Runs `body` in a deferred read transaction on a reader connection (the writer's thread for in-memory stores).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        guard let readerPool, let readers else {
            // In-memory databases are private to one connection: reads share the writer thread.
            return try await gate.submit(to: writerPool) { [writer, configuration, repositoryOrders] in
                try Self.transaction(
                    on: writer, begin: "BEGIN", readOnly: true, now: configuration.now, orders: repositoryOrders, body)
            }
        }
        return try await gate.submit(to: readerPool) { [configuration, repositoryOrders] in
            let connection = readers.checkOut()
            defer { readers.checkIn(connection) }
            return try Self.transaction(
                on: connection, begin: "BEGIN", readOnly: true, now: configuration.now, orders: repositoryOrders, body)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction on the single writer thread; commits on return, rolls back on throw.
    ///
    /// The authorization generation is read after the commit, on the writer thread, so a change that
    /// matters to cached decisions is visible in `authorizationGeneration` before this returns.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        return try await gate.submit(to: writerPool) { [writer, configuration, generation, repositoryOrders] in
            defer { Self.observeGeneration(on: writer, into: generation) }
            // IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN (after the
            // busy timeout) instead of half-way through the closure.
            return try Self.transaction(
                on: writer, begin: "BEGIN IMMEDIATE", readOnly: false, now: configuration.now, orders: repositoryOrders,
                body)
        }
    }

    /// The authorization generation as last observed (see `Store.authorizationGeneration`).
    public var authorizationGeneration: AuthorizationGeneration { generation.current }

    public var authorizationCounterSeen: Int64? { generation.lastDatabaseValue }

    /// Applies the pending steps of `SQLiteSchema.migrations`, each in its own transaction.
    public func migrate() async throws -> MigrationReport {
        let report = try await gate.submit(to: writerPool) { [writer, configuration, generation] in
            defer { Self.observeGeneration(on: writer, into: generation) }
            return try SQLiteMigrator(
                connection: writer, migrations: SQLiteSchema.migrations, now: configuration.now
            ).migrate()
        }
        if !report.wasUpToDate {
            logger?.notice(
                "database migrated",
                ["from": String(report.fromVersion), "to": String(report.toVersion)])
        }
        return report
    }

    /// Reads the recorded schema version; proves the database file is reachable and readable.
    public func schemaStatus() async throws -> SchemaStatus {
        return try await gate.submit(to: writerPool) { [writer] in
            try SQLiteMigrator(connection: writer, migrations: SQLiteSchema.migrations, now: { Date() }).status()
        }
    }

    /// Finishes queued work, checkpoints the WAL into the main file and closes every connection.
    public func close() async {
        guard gate.close() else { return }
        poller.withLock { $0?.cancel() }
        // Jobs queued before this point still run: both pools are FIFO.
        await writerPool.run { [writer] in
            // Fold the WAL back into the main file so a clean shutdown leaves one self-contained file.
            try? writer.exec("PRAGMA wal_checkpoint(TRUNCATE)")
            writer.close()
        }
        if let readerPool, let readers {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<readerPool.threadCount {
                    group.addTask { await readerPool.run { readers.checkOut().close() } }
                }
            }
        }
        PoolGate.retire(writerPool)
        if let readerPool { PoolGate.retire(readerPool) }
        logger?.info("sqlite store closed")
    }

    // MARK: Diagnostics

    /// Runs `PRAGMA integrity_check` on the writer connection; returns `["ok"]` for a healthy file.
    public func integrityCheck() async throws -> [String] {
        return try await gate.submit(to: writerPool) { [writer] in
            var lines: [String] = []
            try writer.query("PRAGMA integrity_check") { lines.append($0.text(0)) }
            return lines
        }
    }

    // MARK: Internals

    /// Reads the generation counter on the writer connection (after a commit, or at open).
    private func observeGeneration() async {
        try? await gate.submit(to: writerPool) { [writer, generation] in
            Self.observeGeneration(on: writer, into: generation)
        }
    }

    /// Feeds the counter into `tracker`; silent before migration 2 created the counter's table.
    private static func observeGeneration(on connection: SQLiteConnection, into tracker: AuthorizationGenerationTracker)
    {
        if let value = try? connection.queryInt(SQLiteSchema.authorizationGenerationQuery) {
            tracker.observe(databaseValue: value)
        }
    }

    /// Reads the counter on a reader connection every `interval` until `close()`, so changes committed by
    /// other processes reach `authorizationGeneration` within one interval.
    private func startPollingGeneration(every interval: Duration) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, let readerPool = self.readerPool, let readers = self.readers else { return }
                let polled: Void? = try? await self.gate.submit(to: readerPool) { [generation = self.generation] in
                    let connection = readers.checkOut()
                    defer { readers.checkIn(connection) }
                    Self.observeGeneration(on: connection, into: generation)
                }
                if polled == nil { return }  // closed
            }
        }
        poller.withLock { $0 = task }
    }

    /// Runs `body` between `begin` and COMMIT on the calling pool thread; any throw rolls back.
    private static func transaction<T>(
        on connection: SQLiteConnection, begin: String, readOnly: Bool, now: @escaping @Sendable () -> Date,
        orders: RepositoryOrderCache, _ body: (SQLiteTransaction) throws -> T
    ) throws -> T {
        // BEGIN and COMMIT run as cached statements: through sqlite3_exec they were parsed again on every
        // transaction, a twentieth of a small API request's time.
        try connection.run(begin)
        let transaction = SQLiteTransaction(
            connection: connection, isReadOnly: readOnly, now: now, repositoryOrders: orders)
        defer { transaction.end() }
        do {
            let result = try body(transaction)
            try connection.run("COMMIT")
            return result
        } catch {
            // After some errors (SQLITE_FULL, IOERR) SQLite already rolled back; ROLLBACK then
            // fails harmlessly with "no transaction is active".
            try? connection.exec("ROLLBACK")
            throw error
        }
    }
}
