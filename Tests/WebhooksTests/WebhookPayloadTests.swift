import Foundation
import RegistryCore
import Storage
import Testing
import Webhooks

@Suite struct WebhookPayloadTests {
    private func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theJSONBodyCarriesEveryDocumentedField() async throws {
        let fixture = try await Fixture.make()
        let rendered = WebhookPayload.render(fixture.change(), namespace: "alpha", format: .json)
        #expect(rendered.contentType == "application/json")
        let body = try object(rendered.body)
        #expect(body["id"] as? String == "event-1")
        #expect(body["type"] as? String == "push")
        #expect(body["occurredAt"] as? String == "2027-01-15T08:00:00Z")
        #expect(body["registry"] as? String == "main")
        #expect(body["namespace"] as? String == "alpha")
        #expect(body["repository"] as? String == "alpha/app")
        #expect(body["tags"] as? [String] == ["1.0"])
        #expect((body["digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(body["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        #expect(body["size"] as? Int == 12345)
        #expect(body["actor"] as? String == "alice")
    }

    @Test func unknownFieldsAreNullAndDeletesSayDelete() async throws {
        let fixture = try await Fixture.make()
        var change = fixture.change(.delete)
        change.mediaType = nil
        change.size = nil
        change.actor = nil
        let body = try object(WebhookPayload.render(change, namespace: "alpha", format: .json).body)
        #expect(body["type"] as? String == "delete")
        #expect(body["mediaType"] is NSNull && body["size"] is NSNull && body["actor"] is NSNull)
    }

    @Test func theCloudEventsBodyIsStructuredModeWithTheJSONObjectAsData() async throws {
        let fixture = try await Fixture.make()
        let change = fixture.change()
        let rendered = WebhookPayload.render(change, namespace: "alpha", format: .cloudevents)
        #expect(rendered.contentType == "application/cloudevents+json")
        let event = try object(rendered.body)
        #expect(event["specversion"] as? String == "1.0")
        #expect(event["id"] as? String == "event-1")
        #expect(event["source"] as? String == "/registries/main")
        #expect(event["type"] as? String == "io.portcullis.repository.push")
        #expect(event["time"] as? String == "2027-01-15T08:00:00Z")
        #expect(event["datacontenttype"] as? String == "application/json")
        let data = try #require(event["data"] as? [String: Any])
        #expect(data["repository"] as? String == "alpha/app")
    }

    @Test func hostileNamesAreEscapedIntoValidJSON() async throws {
        let fixture = try await Fixture.make()
        var change = fixture.change()
        change.actor = "mallory\"},\"type\":\"delete\n"
        let body = try object(WebhookPayload.render(change, namespace: "alpha", format: .json).body)
        #expect(body["type"] as? String == "push")
        #expect(body["actor"] as? String == change.actor)
    }

    @Test func aSignatureVerifiesOnlyWithTheSameSecretAndBody() {
        let body = Array("{\"a\":1}".utf8)
        let header = WebhookSignature.header(for: body, secret: "right")
        #expect(header.hasPrefix("sha256=") && header.count == 7 + 64)
        #expect(WebhookSignature.verify(header: header, body: body, secret: "right"))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "wrong"))
        #expect(!WebhookSignature.verify(header: header, body: Array("{\"a\":2}".utf8), secret: "right"))
        #expect(!WebhookSignature.verify(header: nil, body: body, secret: "right"))
    }

    @Test func generatedSecretsAre32RandomBytesInHex() {
        let first = WebhookSecret.generate(), second = WebhookSecret.generate()
        #expect(first.count == 64 && first != second)
        #expect(first.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }
}
