import Foundation
import Testing

@testable import Configuration

@Suite struct NotificationSettingsTests {
    @Test func theNotificationDefaultsAreTheDocumentedOnes() throws {
        let configuration = try load([("00.yaml", "")])
        #expect(configuration.notifications.path == "/v2/webhooks/events")
        #expect(configuration.notifications.maxBodyBytes == 1_048_576)
        #expect(configuration.notifications.pollInterval == .seconds(5))
    }

    @Test func theNotificationKeysAreReadFromAFragment() throws {
        let configuration = try load([
            (
                "60-notifications.yaml",
                """
                notifications:
                  path: /hooks/registry
                  maxBodyBytes: 256KiB
                  pollInterval: 250ms
                """
            )
        ])
        #expect(configuration.notifications.path == "/hooks/registry")
        #expect(configuration.notifications.maxBodyBytes == 256 * 1024)
        #expect(configuration.notifications.pollInterval == .milliseconds(250))
    }

    @Test func outOfRangeNotificationValuesAreReportedByKey() {
        let lines = report([
            (
                "60.yaml",
                """
                notifications:
                  path: no-slash
                  maxBodyBytes: 10
                  pollInterval: 1ms
                """
            )
        ])
        #expect(lines.count == 3)
        #expect(lines.contains { $0.contains("notifications.path") })
        #expect(lines.contains { $0.contains("notifications.maxBodyBytes") })
        #expect(lines.contains { $0.contains("notifications.pollInterval") })
    }
}
