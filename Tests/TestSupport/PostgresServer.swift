import Foundation
import PostgresStorage
import Synchronization

/// A real PostgreSQL 15 (Debian's `postgresql-15`) in a temporary directory on a free loopback port, for the
/// PostgreSQL tests: started by ``start(label:)``, one database per test by ``createDatabase(_:)``, stopped and
/// deleted by ``remove()``; ``restart()`` stops and starts it on the same files and port, as an operator would.
///
/// PostgreSQL refuses to run as root, and CI runs as root: then `initdb` and `postgres` run as `nobody`
/// (through `setpriv`), owning only the data directory. The server listens on 127.0.0.1 only, with no Unix
/// socket, trusts every local connection (user `postgres`, no password: the cluster lives for one test run),
/// and runs with `fsync` off (nothing in it must survive a crash of the machine).
///
/// Readiness is a condition: `pg_isready` says the server accepts connections, tried for at most 60 seconds.
public final class PostgresServer: @unchecked Sendable {
    /// Where Debian installs the PostgreSQL 15 programs.
    public static let binDirectory = "/usr/lib/postgresql/15/bin"
    /// The unprivileged account the server runs as when the tests run as root.
    public static let unprivilegedUser = "nobody"

    /// Whether PostgreSQL 15 is installed here.
    public static var isInstalled: Bool {
        ["initdb", "postgres"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(binDirectory)/\($0)") }
    }

    /// Whether the tests run under CI (`CI=true`), where a missing PostgreSQL is a failure.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether PostgreSQL suites run: always under CI (so a missing PostgreSQL fails them), else only when
    /// installed, with a loud note when they do not. For `@Suite(.enabled(if: PostgresServer.shouldRun))`.
    public static let shouldRun: Bool = {
        if !isInstalled && !isCI {
            FileHandle.standardError.write(
                Data(
                    """

                    *** PostgreSQL tests SKIPPED: \(binDirectory)/postgres is missing.
                    *** Install the test peers with `.ci/install-deps test` (Debian package postgresql-15).


                    """.utf8))
        }
        return isInstalled || isCI
    }()

    /// The instance's files: `data/` (the cluster), the logs.
    public let directory: TemporaryDirectory
    /// The port on 127.0.0.1.
    public let port: Int
    /// Starts the postmaster (the same programs, files and settings each time); the argument numbers the log.
    private let launch: @Sendable (Int) throws -> BackgroundProcess
    private let lock = NSLock()
    private var current: BackgroundProcess
    private var starts = 1
    private let databaseCount = Mutex(0)

    /// The running postmaster.
    private var process: BackgroundProcess { lock.withLock { current } }

    private init(
        directory: TemporaryDirectory, port: Int, launch: @escaping @Sendable (Int) throws -> BackgroundProcess
    ) throws {
        self.directory = directory
        self.port = port
        self.launch = launch
        current = try launch(1)
    }

    /// A libpq connection string for `database` as the superuser `postgres`.
    public func connectionString(database: String = "postgres") -> String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=\(database)"
    }

    /// Creates a cluster, starts the server and waits until it answers.
    ///
    /// - Throws: `PostgresServerError` naming the step that failed, with the tool's output or the server's log.
    public static func start(label: String = "postgres") async throws -> PostgresServer {
        guard isInstalled else {
            throw PostgresServerError(
                "PostgreSQL 15 is not installed at \(binDirectory); `.ci/install-deps test` installs postgresql-15")
        }
        reapOrphans()
        let directory = try TemporaryDirectory("postgres-\(label)")
        do {
            let data = directory.path("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: false)
            let account = try runAccount()
            if let account {
                // initdb wants an empty data directory owned by the account it runs as, readable by nobody else.
                guard chown(data.path, account.uid, account.gid) == 0 else {
                    throw PostgresServerError("cannot hand \(data.path) to \(unprivilegedUser): errno \(errno)")
                }
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: data.path)
            let initdb = try await Processes.run(
                account == nil ? "\(binDirectory)/initdb" : "/usr/bin/setpriv",
                asAccount(account, "\(binDirectory)/initdb")
                    + ["-D", data.path, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                removing: ["PG", "LC_", "LANG"], directory: directory.url, timeout: 120)
            guard initdb.succeeded else { throw PostgresServerError("initdb failed: \(initdb)") }

            let port = try freePort()
            let settings = [
                "listen_addresses=127.0.0.1", "port=\(port)", "unix_socket_directories=", "fsync=off",
                "synchronous_commit=off", "full_page_writes=off", "max_connections=60", "shared_buffers=32MB",
                "dynamic_shared_memory_type=mmap", "log_min_messages=warning",
            ]
            let arguments = ["-D", data.path] + settings.flatMap { ["-c", $0] }
            let root = directory.url
            let server = try PostgresServer(directory: directory, port: port) { run in
                try BackgroundProcess(
                    name: "postgres",
                    executable: account == nil ? "\(binDirectory)/postgres" : "/usr/bin/setpriv",
                    arguments: asAccount(account, "\(binDirectory)/postgres") + arguments,
                    environment: [:], removing: ["PG", "LC_", "LANG"], directory: root,
                    logFile: root.appendingPathComponent(run == 1 ? "postgres.log" : "postgres-\(run).log"))
            }
            do {
                try await server.waitUntilReady()
            } catch {
                server.remove()
                throw error
            }
            return server
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Creates an empty database named after `label` and a counter (unique in this server) and returns its
    /// connection string; it goes with the server. Blocks on libpq: call it on a `BlockingPool` thread.
    public func createDatabase(_ label: String) throws -> String {
        let number = databaseCount.withLock { count -> Int in
            count += 1
            return count
        }
        let safe = String(label.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(40))
        let name = "t\(number)_\(safe)"
        let admin = try PostgresConnection(connectionString(), connectTimeout: .seconds(5))
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(name)")
        return connectionString(database: name)
    }

    /// Stops the server (a fast shutdown, which removes its shared memory; killed after 30 s) and deletes its
    /// files. Safe to call more than once.
    public func remove() {
        stop()
        directory.remove()
    }

    /// Stops the server with a fast shutdown (every session ends; committed transactions are kept, as after any
    /// clean restart) and starts it again on the same files and port, then waits until it answers.
    public func restart() async throws {
        stop()
        try lock.withLock {
            starts += 1
            current = try launch(starts)
        }
        try await waitUntilReady()
    }

    /// A fast shutdown of the running postmaster (SIGINT), killed with its process group after 30 s.
    private func stop() {
        let process = self.process
        if process.isRunning {
            kill(process.pid, SIGINT)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(20_000) }
        }
        process.stopGroup()
    }

    /// Waits (a condition, at most 60 s) until `pg_isready` says the server accepts connections.
    private func waitUntilReady() async throws {
        let process = self.process
        let port = self.port
        let ready = try await waitUntil(seconds: 60) {
            guard process.isRunning else { return false }
            let probe = try await Processes.run(
                "\(Self.binDirectory)/pg_isready",
                ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", "2"],
                removing: ["PG"], timeout: 10)
            return probe.succeeded
        }
        guard ready else {
            throw PostgresServerError(
                "PostgreSQL did not answer on 127.0.0.1:\(port) within 60 s\n\(process.logTail())")
        }
    }

    /// The account to run PostgreSQL as: nobody when we are root (PostgreSQL refuses root), else ourselves.
    private static func runAccount() throws -> (uid: uid_t, gid: gid_t)? {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam(unprivilegedUser) else {
            throw PostgresServerError(
                "running as root and there is no \(unprivilegedUser) account to run PostgreSQL as")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// `setpriv` arguments that run `program` as `account` (nothing when running as ourselves).
    private static func asAccount(_ account: (uid: uid_t, gid: gid_t)?, _ program: String) -> [String] {
        guard let account else { return [] }
        return ["--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", "--", program]
    }

    /// Stops the servers of earlier test runs that crashed before stopping them, and deletes their files.
    ///
    /// Only a live postmaster whose parent is gone (reparented to PID 1) and whose data directory is in one of
    /// our temporary directories is touched: another test run's servers are left alone.
    static func reapOrphans() {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix("portcullis-e2e-postgres-") {
            let directory = temporary.appendingPathComponent(name)
            guard
                let pid = orphanedPeer(
                    pidFile: directory.appendingPathComponent("data/postmaster.pid"),
                    commandMark: directory.appendingPathComponent("data").path)
            else { continue }
            kill(pid, SIGQUIT)
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

/// A PostgreSQL test server could not be set up.
public struct PostgresServerError: Error, CustomStringConvertible {
    /// What failed, with the tool's output or the server's log.
    public let description: String

    init(_ description: String) { self.description = description }
}
