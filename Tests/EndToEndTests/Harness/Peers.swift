import Foundation
import TestSupport
import Testing

/// Thrown when the harness cannot bring a peer up or a step it depends on fails.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Peers

/// The external programs the suite drives, and what to do when they are missing: skip loudly on a
/// developer machine, fail in CI (`CI=true`), where a silently skipped suite would prove nothing.
enum Peers {
    static let registry = "/usr/bin/docker-registry"
    static let skopeo = "/usr/bin/skopeo"
    static let curl = "/usr/bin/curl"
    static let tar = "/usr/bin/tar"
    static let gzip = "/usr/bin/gzip"

    static var missing: [String] {
        [registry, skopeo, curl, tar, gzip].filter { !FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether the suite runs: always in CI (so missing peers fail), else only with every peer present.
    static let shouldRun: Bool = {
        let absent = Peers.missing
        if !absent.isEmpty && !isCI {
            FileHandle.standardError.write(
                Data(
                    """

                    *** EndToEndTests SKIPPED: missing \(absent.joined(separator: ", ")).
                    *** Install the test peers with `.ci/install-deps test` (Debian packages docker-registry, skopeo).


                    """.utf8))
        }
        return absent.isEmpty || isCI
    }()

    static let skipComment: Comment =
        "docker-registry or skopeo missing: run .ci/install-deps test (fails instead when CI=true)"

    /// Fails the test (in CI) when a peer is missing.
    static func require() throws {
        let absent = Peers.missing
        guard absent.isEmpty else {
            throw HarnessError("end-to-end peers missing: \(absent.joined(separator: ", ")); run .ci/install-deps test")
        }
        guard FileManager.default.isExecutableFile(atPath: portcullisExecutable.path) else {
            throw HarnessError("no portcullis binary at \(portcullisExecutable.path); run swift build first")
        }
    }
}
