// The CI issuer for `.ci/bench-workload` (`make bench`): the tests' CIIssuer on 127.0.0.1 (discovery and a JWKS
// listing one RSA and one P-256 key), and two GitHub-shaped job tokens for the bench policy, one RS256 and one
// ES256, valid for an hour. It prints `issuer <url>`, `rs256 <jwt>`, `es256 <jwt>`, `ready`, serves until its
// standard input closes, then prints `jwks-fetches <n>` (a warm JWKS: the server fetched it once, not per login)
// and stops. Built only with PORTCULLIS_BENCH=1, in release.
//
// `WorkloadBench <audience> <policy> <count> <directory>` also writes `<directory>/rs256.headers` and
// `es256.headers`: <count> `Authorization` header values each (`Basic base64(<policy>:<jwt>)`), every token
// with its own `jti`, so a run that presents each once verifies every login (none is a token seen before).
import CryptoCore
import Foundation
import JOSE
import TestSupport

/// Writes `line` to standard output at once (the script waits for `ready`; print's buffer would hold it).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = Array(CommandLine.arguments.dropFirst())
let audience = arguments.first ?? "https://registry.bench"
let issuer = try CIIssuer()
let claims = issuer.github(audience: audience, lifetime: 3600)
say("issuer \(issuer.issuer)")
say("rs256 \(issuer.sign(claims, algorithm: .rs256))")
say("es256 \(issuer.sign(claims, algorithm: .es256))")
if arguments.count == 4, let count = Int(arguments[2]), count > 0 {
    let policy = arguments[1]
    let directory = URL(fileURLWithPath: arguments[3])
    for (name, algorithm) in [("rs256", SigningAlgorithm.rs256), ("es256", .es256)] {
        let jtis = (0..<count).map { _ in issuer.nextJTI() }
        // Signed on every core: tens of thousands of RSA signatures take a while on one.
        let lines = UnsafeMutableBufferPointer<String>.allocate(capacity: count)
        lines.initialize(repeating: "")
        nonisolated(unsafe) let output = lines
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let jwt = issuer.sign(claims.with("jti", jtis[index]), algorithm: algorithm)
            output[index] = "Basic " + Data("\(policy):\(jwt)".utf8).base64EncodedString()
        }
        try (lines.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("\(name).headers"), atomically: true, encoding: .utf8)
        lines.deinitialize()
        lines.deallocate()
    }
}
say("ready")
while readLine() != nil {}
say("jwks-fetches \(issuer.server.jwksFetches)")
await issuer.stop()
