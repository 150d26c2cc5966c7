import Diagnostics
import Foundation
import Testing

@testable import Configuration

@Suite struct SecretTests {
    @Test func aSecretDescribesItselfAsStars() {
        let secret = Secret(.environment("DB_PASSWORD"))
        #expect(secret.description == "***")
        #expect(String(describing: secret) == "***")
        #expect(String(reflecting: secret) == "***")
        #expect("\(secret)" == "***")
    }

    @Test func aFileSecretIsReadWithTrailingNewlinesTrimmed() throws {
        let directory = try temporaryDirectory(["pw": "hunter2\n\n", "crlf": "a b\r\n", "empty": "\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Secret(.file(directory + "/pw")).reveal() == "hunter2")
        #expect(try Secret(.file(directory + "/crlf")).reveal() == "a b")
        #expect(throws: SecretError(code: .empty, reference: .file(directory + "/empty"))) {
            try Secret(.file(directory + "/empty")).reveal()
        }
        #expect(throws: SecretError(code: .fileUnreadable, reference: .file(directory + "/missing"))) {
            try Secret(.file(directory + "/missing")).reveal()
        }
    }

    @Test func anEnvironmentSecretIsReadWhenRevealedNotWhenLoaded() throws {
        let configuration = try load([
            (
                "50.yaml",
                "registries:\n  - {name: r, service: s, url: \"http://r\", eventsSecret: {env: EVENTS_TOKEN}}\n"
            )
        ])
        let secret = try #require(configuration.registries.first?.eventsSecret)
        #expect(throws: SecretError(code: .variableUnset, reference: .environment("EVENTS_TOKEN"))) {
            try secret.reveal(environment: [:])
        }
        #expect(try secret.reveal(environment: ["EVENTS_TOKEN": "t0ken"]) == "t0ken")
    }

    @Test func secretErrorsNameTheReferenceNotTheValue() {
        let error = SecretError(code: .variableUnset, reference: .environment("X"))
        #expect(error.description == "secret {env: X}: the environment variable is not set")
    }

    @Test(arguments: [
        (
            "storage:\n  postgres:\n    url: postgres://u:hunter2@db/p\n",
            "config.d/f.yaml:3:10: storage.postgres.url: secrets must be given by reference: {file: /run/secrets/NAME} or {env: VARIABLE}",
            ConfigIssue.Code.inlineSecret
        ),
        (
            "storage:\n  postgres:\n    url: {value: hunter2}\n",
            "config.d/f.yaml:3:11: storage.postgres.url.value: unknown key; a secret is {file: PATH} or {env: NAME}",
            .unknownKey
        ),
        (
            "storage:\n  postgres:\n    url: {fiel: /x}\n",
            "config.d/f.yaml:3:11: storage.postgres.url.fiel: unknown key; a secret is {file: PATH} or {env: NAME}; did you mean 'file'?",
            .unknownKey
        ),
        (
            "storage:\n  postgres:\n    url: {file: /x, env: Y}\n",
            "config.d/f.yaml:3:10: storage.postgres.url: a secret has exactly one of 'file' or 'env'",
            .invalidValue
        ),
        (
            "storage:\n  postgres:\n    url: {env: \"not a name\"}\n",
            "config.d/f.yaml:3:16: storage.postgres.url.env: 'not a name' is not an environment variable name",
            .invalidValue
        ),
    ])
    func secretsMustBeGivenByReference(text: String, expected: String, code: ConfigIssue.Code) {
        let found = issues([("f.yaml", text)])
        #expect(found.map(\.description) == [expected])
        #expect(found.first?.code == code)
        #expect(!found.map(\.description).joined().contains("hunter2"))
    }

    @Test func theRenderedConfigurationShowsReferencesNeverValues() throws {
        let configuration = try load(
            [
                ("10.yaml", "storage:\n  driver: postgres\n  postgres:\n    url: {file: /run/secrets/db}\n"),
                (
                    "40.yaml",
                    "providers:\n  - id: corp\n    type: ldap\n    config:\n      bindPassword: hunter2\n      clientSecret: {env: SSO}\n      nested: {apiToken: abc123}\n"
                ),
                ("50.yaml", "registries:\n  - {name: r, service: s, url: \"http://r\", eventsSecret: {env: EVENTS}}\n"),
            ],
            environment: ["EVENTS": "very-secret-value", "SSO": "sso-secret-value"]
        )
        let rendered = configuration.renderEffective()
        #expect(rendered.contains("url: {file: /run/secrets/db}"))
        #expect(rendered.contains("eventsSecret: {env: EVENTS}"))
        #expect(rendered.contains("clientSecret:\n"))
        #expect(rendered.contains("env: SSO"))
        for value in ["hunter2", "abc123", "very-secret-value", "sso-secret-value"] {
            #expect(!rendered.contains(value))
        }
        #expect(!String(describing: configuration).contains("hunter2"))
    }
}
