import Storage
import Testing
import Webhooks

@Suite struct WebhookRulesTests {
    @Test(arguments: ["https://hooks.example/in", "http://127.0.0.1:8080/x?y=1", "https://[::1]/"])
    func acceptableURLsPass(url: String) throws {
        try WebhookRules.validateURL(url)
    }

    @Test(arguments: [
        "", "ftp://hooks.example/", "hooks.example/in", "https://user:pw@hooks.example/", "https:///path",
        "https://hooks.example/a b", "https://hooks.example/#frag", "HTTPS://hooks.example/", "https://x/\u{0}",
    ])
    func unacceptableURLsAreRefusedWithTheirCode(url: String) {
        #expect(throws: WebhookError.invalidURL) { try WebhookRules.validateURL(url) }
    }

    @Test func headersAreParsedFromNameColonValue() throws {
        let header = try WebhookRules.parseHeader("Authorization:  Bearer abc ")
        #expect(header == WebhookHeader(name: "Authorization", value: "Bearer abc"))
    }

    @Test(arguments: [
        "Host: evil", "Content-Length: 1", "connection: close", "Transfer-Encoding: chunked", "Upgrade: h2c",
        "X-Portcullis-Signature: sha256=00", "Content-Type: text/plain", "TE: trailers",
    ])
    func hopByHopAndPortcullisHeadersAreForbidden(text: String) {
        #expect(throws: WebhookError.forbiddenHeader) { try WebhookRules.parseHeader(text) }
    }

    @Test(arguments: ["no colon", ": empty", "Bad Name: x", "X-A: line\r\nInjected: yes", "X-A: nul\u{0}"])
    func malformedHeadersAreRefused(text: String) {
        #expect(throws: WebhookError.invalidHeader) { try WebhookRules.parseHeader(text) }
    }

    @Test func eventsAndFormatsParseStrictly() throws {
        #expect(try WebhookRules.parseEvents("delete,push,push") == [.push, .delete])
        #expect(throws: WebhookError.invalidEvents) { try WebhookRules.parseEvents("push,pull") }
        #expect(throws: WebhookError.invalidEvents) { try WebhookRules.parseEvents("") }
        #expect(try WebhookRules.parseFormat("cloudevents") == .cloudevents)
        #expect(throws: WebhookError.invalidFormat) { try WebhookRules.parseFormat("xml") }
    }
}
