import Foundation
import TestSupport
import Testing

/// Whether the real-slapd suites run: always in CI (so a missing slapd fails them), else only when
/// slapd is installed, with a loud note when it is not.
enum SlapdPeer {
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static let shouldRun: Bool = {
        if !Slapd.isInstalled && !isCI {
            FileHandle.standardError.write(
                Data(
                    """

                    *** LDAPTests (real slapd) SKIPPED: \(Slapd.executable) is missing.
                    *** Install the test peers with `.ci/install-deps test` (Debian packages slapd, ldap-utils).


                    """.utf8))
        }
        return Slapd.isInstalled || isCI
    }()
}

/// The slapd of the suite being run, set by the `.slapd` trait.
enum SlapdFixture {
    @TaskLocal static var current: Slapd?

    /// The suite's slapd; fails the test when the trait did not start one.
    static func require() throws -> Slapd {
        guard let current else { throw SlapdError("no slapd for this test (the suite lacks the .slapd trait)") }
        return current
    }
}

/// Starts one slapd for a whole suite and stops it when the suite ends.
struct SlapdSuiteTrait: SuiteTrait, TestScoping {
    let label: String

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let slapd = try await Slapd.start(label: label)
        defer { slapd.remove() }
        try await SlapdFixture.$current.withValue(slapd) { try await function() }
    }
}

extension Trait where Self == SlapdSuiteTrait {
    /// One real slapd for the suite (skipped loudly without slapd, failing under `CI=true`).
    static func slapd(_ label: String) -> Self { SlapdSuiteTrait(label: label) }
}
