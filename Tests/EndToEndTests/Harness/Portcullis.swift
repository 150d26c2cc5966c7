import CryptoCore
import Foundation
import TestSupport

/// A `portcullis` sandbox: a copy of the repository's config.d with this test's registry and
/// listener, a database and keys under `var/`, the administration commands, and `serve`.
final class Portcullis {
    /// The signing key types the token endpoint supports (the key type picks ES256 or RS256).
    enum KeyType: String, CaseIterable, CustomStringConvertible {
        case ec, rsa
        var description: String { self == .ec ? "ES256" : "RS256" }
    }

    let directory: TemporaryDirectory
    let port: Int
    let service: String
    let issuer: String
    private var server: BackgroundProcess?
    /// More variables for every command and `serve` of this sandbox (a database URL the config refers to).
    var extraEnvironment: [String: String] = [:]

    var configDirectory: URL { directory.path("config.d") }
    var url: String { "http://127.0.0.1:\(port)" }
    var realm: String { url + "/v2/token" }

    /// The environment every command of this sandbox runs with: configuration overrides only
    /// (inherited `PORTCULLIS_*` variables are dropped so the developer's shell cannot leak in).
    var environment: [String: String] {
        [
            "PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)",
            "PORTCULLIS_SERVER_PUBLIC_URL": url,
            "PORTCULLIS_TOKEN_ISSUER": issuer,
            "PORTCULLIS_LOG_LEVEL": "debug",
        ].merging(extraEnvironment) { $1 }
    }

    /// Creates the sandbox: the shipped config.d without its sample registry, plus
    /// `60-test-registry.yaml` naming the registry this portcullis issues tokens for.
    init(port: Int, service: String, issuer: String, registryURL: String) throws {
        self.port = port
        self.service = service
        self.issuer = issuer
        directory = try TemporaryDirectory("portcullis")
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("config.d"), to: configDirectory)
        try? FileManager.default.removeItem(at: configDirectory.appendingPathComponent("50-registries.yaml"))
        try writeConfig(
            "60-test-registry.yaml",
            """
            registries:
              - name: e2e
                service: \(service)
                url: \(registryURL)

            """)
    }

    /// Writes (or replaces) one config.d fragment.
    func writeConfig(_ name: String, _ text: String) throws {
        try text.write(to: configDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Declares `slapd` as the `corp-ldap` provider in `45-ldap.yaml`, its service password in an owner-only
    /// file of the sandbox (serve refuses secret files that group or others may read), then `mapping`.
    func configureDirectory(_ slapd: Slapd, mapping: String) throws {
        let passwordFile = directory.path("ldap-bind-password")
        try Slapd.servicePassword.write(to: passwordFile, atomically: true, encoding: .utf8)
        guard chmod(passwordFile.path, 0o600) == 0 else { throw CocoaError(.fileWriteNoPermission) }
        try writeConfig(
            "45-ldap.yaml", slapd.providerFragment(bindPassword: "{file: \(passwordFile.path)}", mapping: mapping))
    }

    /// Replaces the token fragment so that exactly `signingKeys` (paths relative to the sandbox) sign.
    func configureSigningKeys(_ keys: [(key: String, certificate: String)]) throws {
        let list = keys.map { "    - key: \($0.key)\n      certificate: \($0.certificate)" }.joined(separator: "\n")
        try writeConfig(
            "20-token.yaml", "token:\n  issuer: \(issuer)\n  lifetime: 5m\n  signingKeys:\n\(list)\n  path: /v2/token\n"
        )
    }

    /// Runs `portcullis ARGUMENTS --config <sandbox>/config.d` in the sandbox.
    @discardableResult
    func run(_ arguments: [String], input: String? = nil, timeout: Double = 60) async throws -> ProcessResult {
        try await Processes.run(
            portcullisExecutable.path, arguments + ["--config", configDirectory.path], input: input,
            environment: environment, removing: ["PORTCULLIS_"], directory: directory.url, timeout: timeout)
    }

    /// Runs a command that must succeed and returns its result.
    @discardableResult
    func must(_ arguments: [String], input: String? = nil) async throws -> ProcessResult {
        let result = try await run(arguments, input: input)
        guard result.succeeded else {
            throw HarnessError("portcullis \(arguments.joined(separator: " ")) failed: \(result)")
        }
        return result
    }

    // MARK: Administration

    /// The default signing pair's paths, relative to the sandbox.
    static let defaultKey = (key: "var/keys/signing-key.pem", certificate: "var/keys/signing-cert.pem")

    /// `keys generate` for the default pair (or `paths`).
    func generateKey(_ type: KeyType, paths: (key: String, certificate: String) = Portcullis.defaultKey) async throws {
        try await must([
            "keys", "generate", "--type", type.rawValue, "--key", paths.key, "--certificate", paths.certificate,
        ])
    }

    /// The certificate at `path` (relative to the sandbox).
    func certificate(_ path: String) throws -> Certificate {
        try Certificate(pem: String(contentsOf: directory.path(path), encoding: .utf8))
    }

    /// Concatenates certificate files into a rootcertbundle (what the registry trusts).
    func writeBundle(of certificates: [String], to destination: URL) throws {
        let pems = try certificates.map { try String(contentsOf: directory.path($0), encoding: .utf8) }
        try pems.joined(separator: "\n").write(to: destination, atomically: true, encoding: .utf8)
    }

    func createUser(_ name: String, password: String, admin: Bool = false) async throws {
        try await must(
            ["user", "create", name, "--password-stdin"] + (admin ? ["--admin"] : []), input: password + "\n")
    }

    func createTeam(_ name: String, owner: String) async throws {
        try await must(["team", "create", name, "--owner", owner])
    }

    func addMember(team: String, user: String, role: String) async throws {
        try await must(["team", "add-member", team, user, "--role", role])
    }

    func createNamespace(_ name: String, team: String) async throws {
        try await must(["namespace", "create", name, "--team", team])
    }

    func setVisibility(_ namespace: String, _ visibility: String) async throws {
        try await must(["namespace", "set-visibility", namespace, visibility])
    }

    /// `portcullis token create USER NAME [EXTRA…]`: the plaintext application token, which the
    /// command prints alone on the last line of standard output.
    func createApplicationToken(user: String, name: String, extra: [String] = []) async throws -> String {
        let result = try await must(["token", "create", user, name] + extra)
        let token = result.lastLine
        guard !token.isEmpty, !token.contains(" ") else {
            throw HarnessError("token create printed no token on its last line: \(result)")
        }
        return token
    }

    // MARK: Server

    /// Starts `portcullis serve` and waits for `/healthz`.
    func start() async throws {
        let server = try BackgroundProcess(
            name: "portcullis", executable: portcullisExecutable.path,
            arguments: ["serve", "--config", configDirectory.path], environment: environment,
            removing: ["PORTCULLIS_"], directory: directory.url, logFile: directory.path("portcullis.log"))
        self.server = server
        let healthy = try await waitUntil(seconds: 120) {
            guard server.isRunning else { return false }
            return try await HTTP.request(url + "/healthz").status == 200
        }
        guard healthy else {
            let log = server.logTail()
            stop()
            throw HarnessError("portcullis serve on port \(port) never answered /healthz\n\(log)")
        }
    }

    /// Stops `serve` and starts it again on the same sandbox, database and port: how a changed config.d takes
    /// effect (the server reads its configuration once, at start).
    func restart() async throws {
        server?.stop()
        server = nil
        try await start()
    }

    /// `GET /v2/token` with the given query (service is added) and optional Basic credentials.
    func tokenRequest(
        scopes: [String] = [], user: (name: String, password: String)? = nil, extra: [(String, String)] = [],
        from source: String? = nil
    ) async throws -> HTTPResult {
        var query: [(String, String)] = [("service", service)]
        if let user { query.append(("account", user.name)) }
        query += scopes.map { ("scope", $0) }
        query += extra
        return try await HTTP.request(
            realm + "?" + HTTP.formEncode(query), basic: user.map { ($0.name, $0.password) }, from: source)
    }

    /// A bearer token for `scopes`, failing unless the endpoint answers 200 with one.
    func token(scopes: [String], user: (name: String, password: String)?) async throws -> String {
        let answer = try await tokenRequest(scopes: scopes, user: user)
        guard answer.status == 200, let token = (answer.json?["token"] ?? answer.json?["access_token"]) as? String
        else {
            throw HarnessError("GET \(realm) for \(scopes) as \(user?.name ?? "anonymous"): \(answer)\n\(logTail())")
        }
        return token
    }

    func logTail(_ characters: Int = 4000) -> String { server?.logTail(characters) ?? "(portcullis not started)" }

    /// Kills the server and removes the sandbox.
    func stop() {
        server?.stop()
        server = nil
        directory.remove()
    }

    deinit { stop() }
}
