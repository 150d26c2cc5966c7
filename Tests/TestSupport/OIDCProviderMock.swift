import Foundation
import HTTPClient

/// The real OpenID provider `oidc-provider-mock` (PyPI, installed by `.ci/install-deps test` into
/// `.build/oidc-provider-venv`) on a free loopback port, with three predefined users:
/// alice (groups `registry-admins`, `developers`), bob (`developers`) and carol (no groups, email not verified).
///
/// Facts the tests rely on: the issuer is `http://127.0.0.1:<port>` (never `localhost`); the JWKS has one RSA
/// key made at every start; ID tokens carry no `kid`; any client id and any non-empty secret are accepted;
/// a login is a GET of the authorization URL then a POST of `sub=<user>` to the same URL (``authorize(_:as:)``).
public final class OIDCProviderMock: @unchecked Sendable {
    /// A predefined user.
    public struct User: Sendable {
        /// The `sub` (also `preferred_username`).
        public var subject: String
        /// The `email`.
        public var email: String
        /// Whether the email is verified.
        public var emailVerified: Bool
        /// The `name`.
        public var name: String
        /// The `groups` claim.
        public var groups: [String]

        /// The JSON the mock takes in `--user-claims`.
        var claimsJSON: String {
            let groupList = groups.map { "\"\($0)\"" }.joined(separator: ",")
            return #"{"sub":"\#(subject)","email":"\#(email)","email_verified":\#(emailVerified),"#
                + #""name":"\#(name)","preferred_username":"\#(subject)","groups":[\#(groupList)]}"#
        }
    }

    /// alice: registry-admins and developers.
    public static let alice = User(
        subject: "alice", email: "alice@example.org", emailVerified: true, name: "Alice Liddell",
        groups: ["registry-admins", "developers"])
    /// bob: developers.
    public static let bob = User(
        subject: "bob", email: "bob@example.org", emailVerified: true, name: "Bob Bäcker", groups: ["developers"])
    /// carol: no groups, email not verified.
    public static let carol = User(
        subject: "carol", email: "carol@example.org", emailVerified: false, name: "Carol Danvers", groups: [])

    /// The Python of the virtual environment `.ci/install-deps test` makes.
    public static let python = packageRoot.appendingPathComponent(".build/oidc-provider-venv/bin/python").path

    /// Whether the mock is installed.
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && FileManager.default.fileExists(
                atPath: packageRoot.appendingPathComponent(".build/oidc-provider-venv/lib").path)
    }

    /// Whether suites against the mock run: always under `CI=true` (a missing mock then fails them), else
    /// only when installed, with a loud note when skipped.
    public static let shouldRun: Bool = {
        let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
        if !isInstalled && !isCI {
            FileHandle.standardError.write(
                Data(
                    "\n*** oidc-provider-mock tests SKIPPED: \(python) is missing (run .ci/install-deps test).\n\n"
                        .utf8))
        }
        return isInstalled || isCI
    }()

    /// The running process.
    public let process: BackgroundProcess
    /// The port it listens on at 127.0.0.1.
    public let port: Int
    private let directory: TemporaryDirectory
    private let http: CurlHTTPClient

    /// The issuer (`http://127.0.0.1:<port>`, no trailing slash).
    public var issuer: String { "http://127.0.0.1:\(port)" }

    /// Starts the mock and waits (bounded) until its discovery document answers.
    ///
    /// - Throws: when the mock is not installed, or did not answer within 30 s (with its log).
    public static func start(
        label: String = "oidc", users: [User] = [alice, bob, carol], tokenMaxAge: Int = 3600
    ) async throws -> OIDCProviderMock {
        guard isInstalled else { throw OIDCPeerError("oidc-provider-mock is not installed at \(python)") }
        let mock = try OIDCProviderMock(label: label, users: users, tokenMaxAge: tokenMaxAge)
        let ready = try await waitUntil(seconds: 30) {
            guard mock.process.isRunning else { return false }
            let response = try await mock.http.send(
                OutboundRequest(url: mock.issuer + "/.well-known/openid-configuration"))
            return response.status == 200
        }
        guard ready else {
            let log = mock.process.logTail()
            mock.stop()
            throw OIDCPeerError("oidc-provider-mock did not answer discovery within 30 s\n\(log)")
        }
        return mock
    }

    private init(label: String, users: [User], tokenMaxAge: Int) throws {
        directory = try TemporaryDirectory(label)
        port = try freePort()
        var configuration = CurlHTTPClient.Configuration()
        configuration.connectTimeout = .seconds(2)
        configuration.timeout = .seconds(5)
        http = CurlHTTPClient(configuration: configuration)
        var arguments = [
            "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", String(port), "--token-max-age",
            String(tokenMaxAge),
        ]
        for user in users { arguments += ["--user-claims", user.claimsJSON] }
        process = try BackgroundProcess(
            name: "oidc-provider-mock", executable: Self.python, arguments: arguments,
            environment: ["PYTHONUNBUFFERED": "1"], removing: [], directory: directory.url,
            logFile: directory.path("oidc-provider-mock.log"))
    }

    /// Signs `user` in at `authorizationURL` without a browser (GET the form, POST `sub` to the same URL) and
    /// returns the callback's query parameters (`code`, `state`, or `error`).
    public func authorize(_ authorizationURL: URL, as user: String, deny: Bool = false) async throws -> [String: String]
    {
        let form = try await http.send(OutboundRequest(url: authorizationURL.absoluteString))
        guard form.status == 200 else { throw OIDCPeerError("the authorization form answered HTTP \(form.status)") }
        let body = deny ? "sub=\(user)&action=deny" : "sub=\(user)"
        let answer = try await http.send(
            OutboundRequest(
                method: .post, url: authorizationURL.absoluteString,
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8)))
        guard answer.status == 302, let location = answer.header("Location"),
            let components = URLComponents(string: location)
        else { throw OIDCPeerError("the authorization POST answered HTTP \(answer.status), not a redirect") }
        var values: [String: String] = [:]
        for item in components.queryItems ?? [] { values[item.name] = item.value ?? "" }
        return values
    }

    /// Revokes every token of `subject` at the mock (`POST /users/<sub>/revoke-tokens`): its refresh tokens then
    /// get `invalid_grant`.
    public func revokeTokens(of subject: String) async throws {
        let answer = try await http.send(
            OutboundRequest(method: .post, url: issuer + "/users/\(subject)/revoke-tokens", body: []))
        guard (200..<300).contains(answer.status) else {
            throw OIDCPeerError("revoke-tokens answered HTTP \(answer.status)")
        }
    }

    /// Kills the mock and removes its directory.
    public func stop() {
        process.stop()
        directory.remove()
    }

    deinit { process.stop() }
}

/// A failure of a test peer's harness.
public struct OIDCPeerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
