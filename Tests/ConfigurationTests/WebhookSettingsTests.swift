import Foundation
import Testing

@testable import Configuration

@Suite struct WebhookSettingsTests {
    @Test func theDefaultsAreTheDocumentedOnes() throws {
        let webhooks = try load([("00.yaml", "")]).webhooks
        #expect(webhooks.timeout == .seconds(10))
        #expect(webhooks.maxAttempts == 8)
        #expect(webhooks.initialBackoff == .seconds(10))
        #expect(webhooks.maxBackoff == .seconds(3600))
        #expect(webhooks.responseExcerptLength == 1024)
        #expect(webhooks.pollInterval == .seconds(5))
        #expect(webhooks.retention == .seconds(30 * 86400))
    }

    @Test func everyKeyIsDocumentedWithItsDefaultAndVariable() throws {
        let keys = Dictionary(uniqueKeysWithValues: ConfigurationSchema.allKeys.map { ($0.path, $0) })
        let expected = [
            ("webhooks.timeout", "10s", "PORTCULLIS_WEBHOOKS_TIMEOUT"),
            ("webhooks.maxAttempts", "8", "PORTCULLIS_WEBHOOKS_MAX_ATTEMPTS"),
            ("webhooks.initialBackoff", "10s", "PORTCULLIS_WEBHOOKS_INITIAL_BACKOFF"),
            ("webhooks.maxBackoff", "1h", "PORTCULLIS_WEBHOOKS_MAX_BACKOFF"),
            ("webhooks.responseExcerptLength", "1KiB", "PORTCULLIS_WEBHOOKS_RESPONSE_EXCERPT_LENGTH"),
            ("webhooks.pollInterval", "5s", "PORTCULLIS_WEBHOOKS_POLL_INTERVAL"),
            ("webhooks.retention", "720h", "PORTCULLIS_WEBHOOKS_RETENTION"),
        ]
        for (path, value, variable) in expected {
            let key = try #require(keys[path], "\(path) is not documented")
            #expect(key.defaultValue == value, "\(path)")
            #expect(key.environmentVariable == variable, "\(path)")
            #expect(!key.summary.isEmpty)
        }
    }

    @Test func valuesAreReadFromFilesAndTheEnvironment() throws {
        let configuration = try load(
            [
                (
                    "70-webhooks.yaml",
                    """
                    webhooks:
                      timeout: 3s
                      maxAttempts: 4
                      initialBackoff: 500ms
                      maxBackoff: 2m
                      responseExcerptLength: 2KiB
                    """
                )
            ], environment: ["PORTCULLIS_WEBHOOKS_POLL_INTERVAL": "250ms"])
        #expect(configuration.webhooks.timeout == .seconds(3))
        #expect(configuration.webhooks.maxAttempts == 4)
        #expect(configuration.webhooks.initialBackoff == .milliseconds(500))
        #expect(configuration.webhooks.maxBackoff == .seconds(120))
        #expect(configuration.webhooks.responseExcerptLength == 2048)
        #expect(configuration.webhooks.pollInterval == .milliseconds(250))
    }

    @Test(arguments: ["maxAttempts: 0", "timeout: 0s", "responseExcerptLength: 1GiB", "retries: 3"])
    func outOfRangeAndUnknownKeysAreRefused(line: String) {
        #expect(throws: ConfigurationError.self) { try load([("70-webhooks.yaml", "webhooks:\n  \(line)\n")]) }
    }
}
