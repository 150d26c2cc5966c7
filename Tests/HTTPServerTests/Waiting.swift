import Foundation
import Testing

/// Waits until `condition` holds, checking every 10 ms, and fails the test with `what` if it does
/// not within `timeout` (generous: the deadline only bounds a broken run, it is not a measurement).
func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else {
            Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
            throw RawClientError(description: "timed out waiting until \(what)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
