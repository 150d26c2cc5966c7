// The CI issuer for `.ci/bench-workload` (`make bench`): the tests' CIIssuer on 127.0.0.1 (discovery and a JWKS
// listing one RSA and one P-256 key), and two GitHub-shaped job tokens for the bench policy, one RS256 and one
// ES256, valid for an hour. It prints `issuer <url>`, `rs256 <jwt>`, `es256 <jwt>`, `ready`, serves until its
// standard input closes, then prints `jwks-fetches <n>` (a warm JWKS: the server fetched it once, not per login)
// and stops. Built only with PORTCULLIS_BENCH=1, in release.
import CryptoCore
import Foundation
import TestSupport

/// Writes `line` to standard output at once (the script waits for `ready`; print's buffer would hold it).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let audience = CommandLine.arguments.dropFirst().first ?? "https://registry.bench"
let issuer = try CIIssuer()
let claims = issuer.github(audience: audience, lifetime: 3600)
say("issuer \(issuer.issuer)")
say("rs256 \(issuer.sign(claims, algorithm: .rs256))")
say("es256 \(issuer.sign(claims, algorithm: .es256))")
say("ready")
while readLine() != nil {}
say("jwks-fetches \(issuer.server.jwksFetches)")
await issuer.stop()
