import Foundation
import TestSupport
import Threading

/// Several `portcullis serve` processes on one real PostgreSQL database, behind a loopback round robin
/// (`RoundRobinBalancer`), sharing one config.d as instances of one deployment share their configuration and
/// keys; optionally with the real registry trusting them through the balancer.
///
/// The sandbox's public URL and token realm are the balancer's; each instance listens on a port of its own,
/// which tests also call directly to address one instance.
final class Cluster {
    /// One `serve` process.
    struct Instance {
        let label: String
        let port: Int
        let process: BackgroundProcess
        var url: String { "http://127.0.0.1:\(port)" }

        /// `/readyz` as JSON, or nil when it does not answer.
        func readiness() async -> [String: Any]? {
            guard let answer = try? await HTTP.request(url + "/readyz?format=json") else { return nil }
            return answer.json
        }

        /// The database's authorization change counter as this instance last read it.
        func authorizationCounter() async -> Int? { await readiness()?["authorizationCounter"] as? Int }

        /// Whether this instance reads `counter` (or later) within 30 s: it has then seen every change up to it.
        func hasRead(_ counter: Int) async throws -> Bool {
            try await waitUntil(seconds: 30) { (await authorizationCounter() ?? 0) >= counter }
        }
    }

    /// The threads the blocking libpq calls of the harness run on.
    private static let pool = BlockingPool(name: "cluster-harness", threads: 1)

    let postgres: PostgresServer
    let portcullis: Portcullis
    let balancer: RoundRobinBalancer
    let registry: Registry?
    let scratch: TemporaryDirectory
    private(set) var instances: [Instance] = []
    private let ports: [Int]

    private init(
        postgres: PostgresServer, portcullis: Portcullis, balancer: RoundRobinBalancer, registry: Registry?,
        scratch: TemporaryDirectory, ports: [Int]
    ) {
        self.postgres = postgres
        self.portcullis = portcullis
        self.balancer = balancer
        self.registry = registry
        self.scratch = scratch
        self.ports = ports
    }

    /// A PostgreSQL server with an empty database, the sandbox configured for it, and the balancer in front of
    /// `count` instance ports; nothing migrated, no key, no instance started. With `seeded`, the Stack's cast
    /// is seeded and a signing key generated (as an operator provisions one for a deployment); with `registry`
    /// as well, the registry is started, trusting the key and sending clients to the balancer's realm.
    static func prepare(instances count: Int, seeded: Bool = false, registry withRegistry: Bool = false) async throws
        -> Cluster
    {
        try Peers.require()
        let postgres = try await PostgresServer.start(label: "cluster")
        do {
            let url = try await pool.run { try postgres.createDatabase("cluster") }
            var ports: [Int] = []
            while ports.count < count + 1 {
                let port = try freePort()
                if !ports.contains(port) { ports.append(port) }
            }
            let registryPort = ports.removeLast()
            let balancer = try RoundRobinBalancer(backends: ports)
            let service = "cluster-registry.test", issuer = "portcullis-cluster"
            let portcullis = try Portcullis(
                port: balancer.port, service: service, issuer: issuer, registryURL: "http://127.0.0.1:\(registryPort)")
            portcullis.extraEnvironment = ["TEST_DATABASE_URL": url]
            try portcullis.writeConfig(
                "90-postgres.yaml",
                """
                storage:
                  driver: postgres
                  postgres:
                    url: {env: TEST_DATABASE_URL}
                    poolSize: 4
                    statementTimeout: 30s
                  leaseDuration: 3s

                """)
            try portcullis.configureSigningKeys([Portcullis.defaultKey])
            var registry: Registry?
            if seeded || withRegistry {
                try await Stack.seed(portcullis)
                try await portcullis.generateKey(.ec)
            }
            if withRegistry {
                let bundle = portcullis.directory.path("rootcertbundle.pem")
                try portcullis.writeBundle(of: [Portcullis.defaultKey.certificate], to: bundle)
                registry = try Registry(
                    port: registryPort, realm: portcullis.realm, service: service, issuer: issuer,
                    rootCertificateBundle: bundle.path)
                try await registry!.start()
            }
            return Cluster(
                postgres: postgres, portcullis: portcullis, balancer: balancer, registry: registry,
                scratch: try TemporaryDirectory("cluster-scratch"), ports: ports)
        } catch {
            postgres.remove()
            throw error
        }
    }

    /// Starts every instance at once (no instance waits for another) and returns when all answer `/readyz`
    /// with 200.
    func startAll() async throws {
        let started = try ports.enumerated().map { index, port in
            let label = "instance-\(index + 1)"
            let process = try BackgroundProcess(
                name: "portcullis-\(label)", executable: portcullisExecutable.path,
                arguments: ["serve", "--config", portcullis.configDirectory.path],
                environment: portcullis.environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"]) { $1 },
                removing: ["PORTCULLIS_"], directory: portcullis.directory.url,
                logFile: portcullis.directory.path("\(label).log"))
            return Instance(label: label, port: port, process: process)
        }
        instances = started
        for instance in started {
            let ready = try await waitUntil(seconds: 120) {
                guard instance.process.isRunning else { return false }
                return (try? await HTTP.request(instance.url + "/readyz"))?.status == 200
            }
            guard ready else { throw HarnessError("\(instance.label) never became ready\n\(logs())") }
        }
    }

    /// The ends of every instance's log, for failure messages.
    func logs() -> String {
        instances.map { "--- \($0.label)\n\($0.process.logTail())" }.joined(separator: "\n")
            + (registry.map { "\n--- registry\n" + $0.logTail() } ?? "")
    }

    /// The whole log of one instance.
    func log(of instance: Instance) -> String {
        (try? String(contentsOf: instance.process.logFile, encoding: .utf8)) ?? ""
    }

    /// Stops every process and removes every directory.
    func stop() {
        for instance in instances where instance.process.isRunning { instance.process.stop() }
        registry?.stop()
        balancer.stop()
        portcullis.stop()
        postgres.remove()
        scratch.remove()
    }
}
