import Foundation

/// A real PgBouncer (Debian's `pgbouncer`) in **transaction pooling mode** in front of a test `PostgresServer`, on a
/// free loopback port: each client transaction may run on another server connection, which is what the store's
/// "no session state" rule is for.
public final class PgBouncer: @unchecked Sendable {
    /// Where Debian installs it.
    public static let executable = "/usr/sbin/pgbouncer"

    /// Whether PgBouncer is installed here.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// Whether PgBouncer tests run: always under CI (a missing PgBouncer fails them), else only when installed.
    public static var shouldRun: Bool { isInstalled || PostgresServer.isCI }

    /// The port on 127.0.0.1.
    public let port: Int
    private let directory: TemporaryDirectory
    private let process: BackgroundProcess

    private init(port: Int, directory: TemporaryDirectory, process: BackgroundProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// A libpq connection string for `database` through the pooler, as the superuser `postgres`.
    public func connectionString(database: String) -> String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=\(database)"
    }

    /// Starts PgBouncer in front of `server` with at most `serverConnections` server connections per database,
    /// and waits until it accepts a query.
    public static func start(pooling server: PostgresServer, serverConnections: Int = 2) async throws -> PgBouncer {
        guard isInstalled else {
            throw PostgresServerError(
                "PgBouncer is not installed at \(executable); `.ci/install-deps test` installs it")
        }
        let directory = try TemporaryDirectory("pgbouncer")
        do {
            // PgBouncer refuses to run as root; as root it reads its files, then becomes `nobody` (-u).
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.url.path)
            let port = try freePort()
            let users = directory.path("users.txt")
            try "\"postgres\" \"\"\n".write(to: users, atomically: true, encoding: .utf8)
            let configuration = directory.path("pgbouncer.ini")
            try """
            [databases]
            * = host=127.0.0.1 port=\(server.port)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(users.path)
            pool_mode = transaction
            default_pool_size = \(serverConnections)
            max_client_conn = 200
            ignore_startup_parameters = extra_float_digits
            server_reset_query =
            """.write(to: configuration, atomically: true, encoding: .utf8)
            for file in [users, configuration] {
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
            }
            let asRoot = getuid() == 0
            let process = try BackgroundProcess(
                name: "pgbouncer", executable: executable,
                arguments: (asRoot ? ["-u", PostgresServer.unprivilegedUser] : []) + [configuration.path],
                environment: [:], removing: ["PG"], directory: directory.url,
                logFile: directory.path("pgbouncer.log"))
            let bouncer = PgBouncer(port: port, directory: directory, process: process)
            let ready = try await waitUntil(seconds: 60) {
                guard process.isRunning else { return false }
                let probe = try await Processes.run(
                    "\(PostgresServer.binDirectory)/pg_isready",
                    ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", "2"],
                    removing: ["PG"])
                return probe.succeeded
            }
            guard ready else {
                let log = process.logTail()
                bouncer.stop()
                throw PostgresServerError("PgBouncer did not start on port \(port):\n\(log)")
            }
            return bouncer
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Stops PgBouncer and deletes its files; safe to call more than once.
    public func stop() {
        process.stop()
        directory.remove()
    }
}
