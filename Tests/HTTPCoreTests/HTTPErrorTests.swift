import HTTPCore
import Testing

@Suite struct HTTPErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var error: HTTPError
        var status: Int
        var code: String
        var headers: [String: String] = [:]
        var testDescription: String { code }
    }

    static let cases: [Case] = [
        Case(error: .badRequest(), status: 400, code: "BAD_REQUEST"),
        Case(
            error: .unauthorized(challenge: #"Bearer realm="https://auth.example/v2/token",service="registry""#),
            status: 401, code: "UNAUTHORIZED",
            headers: ["WWW-Authenticate": #"Bearer realm="https://auth.example/v2/token",service="registry""#]),
        Case(error: .forbidden(), status: 403, code: "DENIED"),
        Case(error: .notFound(), status: 404, code: "NOT_FOUND"),
        Case(
            error: .methodNotAllowed(allowed: [.get, .head]), status: 405, code: "METHOD_NOT_ALLOWED",
            headers: ["Allow": "GET, HEAD"]),
        Case(error: .conflict("Name taken."), status: 409, code: "CONFLICT"),
        Case(error: .bodyTooLarge(limit: 65536), status: 413, code: "BODY_TOO_LARGE"),
        Case(error: .unsupportedMediaType(), status: 415, code: "UNSUPPORTED_MEDIA_TYPE"),
        Case(
            error: .tooManyRequests(retryAfterSeconds: 30), status: 429, code: "TOO_MANY_REQUESTS",
            headers: ["Retry-After": "30"]),
        Case(error: .internalServerError, status: 500, code: "INTERNAL_ERROR"),
        Case(
            error: .serviceUnavailable(retryAfterSeconds: 5), status: 503, code: "UNAVAILABLE",
            headers: ["Retry-After": "5"]),
    ]

    @Test(arguments: cases)
    func commonErrorsHaveStableCodesStatusesAndHeaders(_ testCase: Case) {
        let response = testCase.error.response()
        #expect(response.status.code == testCase.status)
        #expect(testCase.error.code == testCase.code)
        #expect(response.headers["Content-Type"] == "application/json")
        for (name, value) in testCase.headers {
            #expect(response.headers[name] == value)
        }
        #expect(RoutingFixtures.body(response).hasPrefix(#"{"errors":[{"code":"\#(testCase.code)","message":""#))
    }

    @Test func everyExtraHeaderIsSentEvenWhenNamesRepeat() {
        let error = HTTPError(
            .unauthorized, code: "UNAUTHORIZED", message: "Log in.",
            headers: HTTPHeaders([
                ("WWW-Authenticate", #"Basic realm="x""#), ("WWW-Authenticate", #"Bearer realm="y""#),
            ]))
        #expect(
            error.response().headers.values(for: "WWW-Authenticate") == [#"Basic realm="x""#, #"Bearer realm="y""#])
    }

    @Test func anExtraContentTypeReplacesTheJSONOne() {
        let error = HTTPError(
            .badRequest, code: "BAD_REQUEST", message: "x", headers: ["Content-Type": "application/problem+json"])
        #expect(error.response().headers.values(for: "Content-Type") == ["application/problem+json"])
    }

    @Test func theBodyIsTheRegistryErrorDocument() {
        let error = HTTPError.bodyTooLarge(limit: 1024)
        #expect(
            RoutingFixtures.body(error.response())
                == #"{"errors":[{"code":"BODY_TOO_LARGE","message":"The request body exceeds the limit of 1024 bytes."}]}"#
        )
    }

    @Test func messagesAreJSONEscaped() {
        let error = HTTPError(.badRequest, code: "BAD_SCOPE", message: "bad \"scope\"\n\\ \u{01}")
        #expect(
            RoutingFixtures.body(error.response())
                == #"{"errors":[{"code":"BAD_SCOPE","message":"bad \"scope\"\n\\ \u0001"}]}"#)
    }

    @Test func severalErrorsShareOneDocument() {
        let document = HTTPError.errorDocument([.notFound("a"), .forbidden("b")])
        #expect(
            String(decoding: document, as: UTF8.self)
                == #"{"errors":[{"code":"NOT_FOUND","message":"a"},{"code":"DENIED","message":"b"}]}"#)
    }

    @Test func equalityComparesCodeAndStatusOnly() {
        #expect(HTTPError.notFound("one") == HTTPError.notFound("two"))
        #expect(HTTPError.notFound() != HTTPError.forbidden())
        #expect(throws: HTTPError.notFound()) { throw HTTPError.notFound("whatever") }
    }

    @Test func theDescriptionNamesStatusCodeAndMessageForLogs() {
        #expect(HTTPError.notFound("gone").description == "HTTPError(404 NOT_FOUND: gone)")
    }

    @Test func customConformersAnswerWithTheirOwnResponse() async {
        struct Teapot: HTTPResponseError {
            var status: HTTPStatus { HTTPStatus(code: 418, reasonPhrase: "I'm a teapot") }
            func response() -> HTTPResponse { .text("short and stout", status: status) }
        }
        var router = Router()
        router.get("/coffee") { _ in throw Teapot() }
        let response = await router.respond(to: RoutingFixtures.request(.get, "/coffee"))
        #expect(response.status.code == 418)
        #expect(RoutingFixtures.body(response) == "short and stout")
    }
}
