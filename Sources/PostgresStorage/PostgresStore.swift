import Diagnostics
import Foundation
import SQLStorage
import Storage
import Synchronization
import Threading

/// How the PostgreSQL store connects.
public struct PostgresConfiguration: Sendable {
    /// A `postgresql://` URL or a libpq conninfo string (`host=… dbname=…`); a password in it is never logged.
    public var url: String
    /// libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`), overriding the URL's.
    public var sslMode: String?
    /// A file of CA certificates the server's certificate must chain to (libpq's `sslrootcert`).
    public var caFile: String?
    /// How many connections (and threads) serve transactions at once. Default: 4.
    public var poolSize: Int
    /// The longest one statement may run, waiting for the writers' lock included, before it fails with
    /// `.unavailable`. Set per transaction (`SET LOCAL`), so it holds behind PgBouncer too. Default: 30 s.
    public var statementTimeout: Duration
    /// How long connecting may take before the store answers `.unavailable`. Default: 5 s.
    public var connectTimeout: Duration
    /// The clock used for created/updated timestamps. Default: the system clock.
    public var now: @Sendable () -> Date
    /// Whether statements are prepared once per connection and kept (the default, and fastest). Turn it off
    /// behind a pooler in transaction mode that does not track prepared statements (PgBouncer before 1.21, or
    /// with `max_prepared_statements = 0`): each statement is then parsed with its parameters in one round trip.
    public var preparedStatements: Bool
    /// How often the authorization generation is read to notice what other instances committed; nil never
    /// polls. Default: 250 ms.
    public var generationPollInterval: Duration?

    /// Describes a store; only the URL is required.
    public init(
        url: String, sslMode: String? = nil, caFile: String? = nil, poolSize: Int = 4,
        statementTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(5),
        preparedStatements: Bool = true, now: @escaping @Sendable () -> Date = { Date() },
        generationPollInterval: Duration? = .milliseconds(250)
    ) {
        self.url = url
        self.sslMode = sslMode
        self.caFile = caFile
        self.poolSize = poolSize
        self.statementTimeout = statementTimeout
        self.connectTimeout = connectTimeout
        self.preparedStatements = preparedStatements
        self.now = now
        self.generationPollInterval = generationPollInterval
    }

    /// libpq keywords that override the URL's own.
    package var connectionOptions: [(keyword: String, value: String)] {
        var options: [(keyword: String, value: String)] = []
        if let sslMode { options.append(("sslmode", sslMode)) }
        if let caFile { options.append(("sslrootcert", caFile)) }
        return options
    }
}

/// The PostgreSQL backend of `Store`: the same queries as SQLite's (`SQLTransaction`) over a small pool of
/// libpq connections, with SQLite's guarantees.
///
/// - Writes are serialized, as SQLite's single writer serializes them, by a transaction-scoped advisory lock
///   (`pg_advisory_xact_lock`) taken right after BEGIN: across every instance on the database, one write
///   transaction runs at a time and each sees every earlier commit. No session state is used (no session locks,
///   no LISTEN, `SET LOCAL` only), so the store works behind PgBouncer in transaction mode.
/// - Queue claims (`claim`) run in READ COMMITTED transactions WITHOUT that lock: they take rows with
///   `FOR UPDATE … SKIP LOCKED`, so every instance's workers claim side by side (see `QueueClaiming`).
/// - Reads run in `REPEATABLE READ READ ONLY` transactions: one consistent snapshot, in parallel with a write.
/// - A lost connection fails the transaction in flight with `.unavailable` (a write whose COMMIT got no answer
///   is never reported as done) and is replaced on next use; BEGIN on a connection the server dropped is retried
///   once on a fresh one, before any of the caller's work ran.
///
/// Threading: every libpq call runs on this store's `BlockingPool` threads, never on the cooperative pool; a
/// connection is checked out by one job at a time.
public final class PostgresStore: Store, @unchecked Sendable {
    /// The highest schema version this binary knows.
    public static var latestSchemaVersion: Int { PostgresSchema.latestVersion }

    /// The advisory lock key every Portcullis writer takes: "portwrit" in ASCII (the migrator's is "portcull").
    public static let writerLockKey: Int64 = 0x706F_7274_7772_6974

    private let configuration: PostgresConfiguration
    private let logger: Logger?
    private let pool: BlockingPool
    private let slots: Checkout<ConnectionSlot>
    private let gate = PoolGate()
    private let generation = AuthorizationGenerationTracker()
    private let repositoryOrders = RepositoryOrderCache()
    private let poller = Mutex<Task<Void, Never>?>(nil)

    private init(
        configuration: PostgresConfiguration, logger: Logger?, pool: BlockingPool, slots: Checkout<ConnectionSlot>
    ) {
        self.configuration = configuration
        self.logger = logger
        self.pool = pool
        self.slots = slots
    }

    /// Connects one connection (proving the server answers and the credentials work); does not migrate.
    ///
    /// Throws `.invalidInput` for a malformed URL, `.unavailable` when the server cannot be reached.
    public static func open(_ configuration: PostgresConfiguration, logger: Logger? = nil) async throws
        -> PostgresStore
    {
        let size = max(1, configuration.poolSize)
        let pool = BlockingPool(name: "postgres", threads: size)
        let slots = Checkout((0..<size).map { _ in ConnectionSlot(configuration: configuration) })
        do {
            let version = try await pool.run {
                let slot = slots.checkOut()
                defer { slots.checkIn(slot) }
                return try slot.connection().serverVersion
            }
            logger?.info(
                "postgres store opened",
                [
                    "connections": String(size), "server": String(version),
                    "libpq": String(PostgresConnection.libraryVersion),
                ])
        } catch {
            PoolGate.retire(pool)
            throw error
        }
        let store = PostgresStore(configuration: configuration, logger: logger, pool: pool, slots: slots)
        await store.observeGeneration()
        if let interval = configuration.generationPollInterval { store.startPollingGeneration(every: interval) }
        return store
    }

    deinit {
        if !gate.isClosed { PoolGate.retire(pool) }
    }

    // MARK: Store

    /// Runs `body` in a `REPEATABLE READ READ ONLY` transaction: one snapshot, never blocking a writer.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        try await gate.submit(to: pool) { [slots, configuration, repositoryOrders] in
            try Self.transaction(
                slots: slots, kind: .read, configuration: configuration, orders: repositoryOrders, body)
        }
    }

    /// Runs `body` in a write transaction holding the writers' advisory lock; commits on return, rolls back on
    /// throw. The authorization generation is read after the commit, so this instance's caches see the change
    /// before `write` returns.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        try await gate.submit(to: pool) { [slots, configuration, repositoryOrders, generation] in
            let result = try Self.transaction(
                slots: slots, kind: .write, configuration: configuration, orders: repositoryOrders, body)
            Self.observeGeneration(slots: slots, into: generation)
            return result
        }
    }

    /// Runs `body` in a READ COMMITTED write transaction that does NOT take the writers' lock: claims lock
    /// the rows they take with `FOR UPDATE … SKIP LOCKED` (see `QueueClaiming`), which is all the exclusion
    /// they need, so the workers of every instance claim side by side instead of queueing behind each other
    /// and behind every other write of the cluster. A claimer never waits on a row (it skips locked ones) nor
    /// on the lock, so it cannot deadlock with a writer. What the claimed work then changes is written under
    /// the lock as usual (`write`), fenced by the claim.
    public func claim<T: Sendable>(_ body: @escaping @Sendable (any QueueClaiming) throws -> T) async throws -> T {
        try await gate.submit(to: pool) { [slots, configuration, repositoryOrders] in
            try Self.transaction(
                slots: slots, kind: .claim, configuration: configuration, orders: repositoryOrders, body)
        }
    }

    /// The authorization generation as last observed (see `Store.authorizationGeneration`).
    public var authorizationGeneration: AuthorizationGeneration { generation.current }

    public var authorizationCounterSeen: Int64? { generation.lastDatabaseValue }

    /// Applies the pending steps of `PostgresSchema.migrations` (see `PostgresMigrator`: several instances may
    /// run this at once; each step is applied exactly once).
    public func migrate() async throws -> MigrationReport {
        let report = try await gate.submit(to: pool) { [slots, configuration, generation] in
            defer { Self.observeGeneration(slots: slots, into: generation) }
            return try Self.withConnection(slots) { connection in
                try PostgresMigrator(connection: connection, now: configuration.now).migrate()
            }
        }
        if !report.wasUpToDate {
            logger?.notice("database migrated", ["from": String(report.fromVersion), "to": String(report.toVersion)])
        }
        return report
    }

    /// Reads the recorded schema version; proves the server answers.
    public func schemaStatus() async throws -> SchemaStatus {
        try await gate.submit(to: pool) { [slots] in
            try Self.withConnection(slots) { try PostgresMigrator(connection: $0).status() }
        }
    }

    /// Finishes queued work, then closes every connection.
    public func close() async {
        guard gate.close() else { return }
        poller.withLock { $0?.cancel() }
        // Jobs queued before this point still run (the pool is FIFO); each of these takes one slot for good.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<pool.threadCount {
                group.addTask { [pool, slots] in await pool.run { slots.checkOut().close() } }
            }
        }
        PoolGate.retire(pool)
        logger?.info("postgres store closed")
    }

    // MARK: Internals

    /// What a transaction may do, and so how it begins.
    private enum TransactionKind {
        /// A snapshot that writes nothing.
        case read
        /// A write serialized with every other by the writers' lock.
        case write
        /// A write of queue claims, outside the writers' lock.
        case claim
    }

    /// Runs `body` between BEGIN and COMMIT on a checked-out connection; any throw rolls back.
    private static func transaction<T>(
        slots: Checkout<ConnectionSlot>, kind: TransactionKind, configuration: PostgresConfiguration,
        orders: RepositoryOrderCache,
        _ body: (SQLTransaction<PostgresConnection>) throws -> T
    ) throws -> T {
        let slot = slots.checkOut()
        defer { slots.checkIn(slot) }
        let milliseconds = max(1, configuration.statementTimeout.milliseconds)
        // One round trip: BEGIN, the timeout for this transaction only, and (for a write) the writers' lock,
        // whose wait the timeout bounds.
        let begin =
            switch kind {
            case .write:
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = \(milliseconds); "
                    + "SELECT pg_advisory_xact_lock(\(writerLockKey))"
            case .claim:
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = \(milliseconds)"
            case .read:
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = \(milliseconds)"
            }
        var connection = try slot.connection()
        do {
            try Self.begin(begin, on: connection, in: slot)
        } catch let error as StoreError where error.code == .unavailable && !connection.isConnected {
            // The server restarted or failed over since this connection's last use: nothing ran yet, so one
            // fresh connection may try again.
            connection = try slot.connection()
            try Self.begin(begin, on: connection, in: slot)
        }
        let transaction = SQLTransaction(
            connection: connection, isReadOnly: kind == .read, now: configuration.now, repositoryOrders: orders)
        defer { transaction.end() }
        do {
            let result = try body(transaction)
            try connection.execute("COMMIT")
            return result
        } catch {
            abandon(connection, in: slot)
            throw error
        }
    }

    /// Opens the transaction; on failure leaves the connection clean (rolled back) or drops it.
    private static func begin(_ sql: String, on connection: PostgresConnection, in slot: ConnectionSlot) throws {
        do {
            try connection.execute(sql)
        } catch {
            abandon(connection, in: slot)
            throw error
        }
    }

    /// Rolls back whatever is open on `connection`, or drops it when that fails (the server is gone, or the
    /// COMMIT's answer was lost): a connection goes back to the pool only outside any transaction.
    private static func abandon(_ connection: PostgresConnection, in slot: ConnectionSlot) {
        if !connection.isConnected || (try? connection.execute("ROLLBACK")) == nil { slot.drop() }
    }

    /// Runs `body` with a checked-out connection outside any transaction (migrations, status).
    private static func withConnection<T>(_ slots: Checkout<ConnectionSlot>, _ body: (PostgresConnection) throws -> T)
        throws
        -> T
    {
        let slot = slots.checkOut()
        defer { slots.checkIn(slot) }
        do {
            return try body(try slot.connection())
        } catch {
            if !(slot.isHealthy) { slot.drop() }
            throw error
        }
    }

    /// Reads the counter once through the pool.
    private func observeGeneration() async {
        try? await gate.submit(to: pool) { [slots, generation] in Self.observeGeneration(slots: slots, into: generation)
        }
    }

    /// Feeds the counter into `tracker`; silent before migration 2 created its table or while the server is away.
    private static func observeGeneration(slots: Checkout<ConnectionSlot>, into tracker: AuthorizationGenerationTracker)
    {
        let value = try? withConnection(slots) { try $0.queryInt(PostgresSchema.authorizationGenerationQuery, []) }
        if let value = value ?? nil { tracker.observe(databaseValue: value) }
    }

    /// Reads the counter every `interval` until `close()`, so what other instances commit reaches
    /// `authorizationGeneration` within one interval (no LISTEN: PgBouncer's transaction mode has none).
    private func startPollingGeneration(every interval: Duration) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                let polled: Void? = try? await self.gate.submit(to: self.pool) {
                    [slots = self.slots, generation = self.generation] in
                    Self.observeGeneration(slots: slots, into: generation)
                }
                if polled == nil { return }  // closed
            }
        }
        poller.withLock { $0 = task }
    }
}

/// One place in the pool: a connection opened on first use and again after it was lost.
final class ConnectionSlot: @unchecked Sendable {
    private let configuration: PostgresConfiguration
    private var current: PostgresConnection?

    init(configuration: PostgresConfiguration) { self.configuration = configuration }

    /// The open connection, connecting first when there is none or the last one was lost.
    func connection() throws -> PostgresConnection {
        if let current, current.isConnected { return current }
        drop()
        let connection = try PostgresConnection(
            configuration.url, connectTimeout: configuration.connectTimeout, options: configuration.connectionOptions)
        connection.usesPreparedStatements = configuration.preparedStatements
        current = connection
        return connection
    }

    /// Whether the connection (if any) is still usable.
    var isHealthy: Bool { current?.isConnected ?? true }

    /// Forgets the connection (closing it), so the next use connects afresh.
    func drop() {
        current?.close()
        current = nil
    }

    /// Closes the connection for good.
    func close() { drop() }
}

extension Duration {
    /// Whole milliseconds.
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
