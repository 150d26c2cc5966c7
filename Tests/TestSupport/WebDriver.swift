import Foundation
import HTTPClient

/// A W3C WebDriver command that failed: which command, the driver's error code and its message.
///
/// The driver answers errors as `{"value": {"error": "no such element", "message": "…"}}` with a 4xx or
/// 5xx status (WebDriver §6.6); a transport failure (the driver gone) has status 0 and error `transport`.
public struct WebDriverError: Error, CustomStringConvertible {
    /// The command, as `METHOD /path` (`POST /session/…/element`), with what it was asked to do.
    public let command: String
    /// The HTTP status of the answer (0 when there was none).
    public let status: Int
    /// The W3C error code (`no such element`, `unexpected alert open`, `timeout`, …).
    public let error: String
    /// The driver's message (first lines only: chromedriver appends a long stack trace).
    public let message: String

    /// Describes a failed command.
    public init(command: String, status: Int, error: String, message: String) {
        self.command = command
        self.status = status
        self.error = error
        self.message = message
    }

    public var description: String {
        "WebDriver command \(command) failed: \(error)" + (status == 0 ? "" : " (HTTP \(status))") + ": \(message)"
    }
}

/// The element reference key of the W3C protocol (WebDriver §12.1).
let webElementKey = "element-6066-11e4-a52e-4f735466cecf"

/// Sends WebDriver commands to one driver process over loopback HTTP and unwraps the `value` of the answer.
///
/// The protocol is synchronous per command, so each call is one HTTP exchange through the project's own
/// libcurl client; JSON goes through `JSONSerialization` because the driver's values are untyped.
struct WebDriverConnection: Sendable {
    /// `http://127.0.0.1:<port>`.
    let baseURL: String
    let client: CurlHTTPClient

    init(baseURL: String) {
        self.baseURL = baseURL
        var configuration = CurlHTTPClient.Configuration()
        configuration.connectTimeout = .seconds(5)
        // A navigation waits for the page to load (bounded by the session's page-load timeout, which is
        // shorter), and a full-page screenshot is a large base64 string.
        configuration.timeout = .seconds(120)
        configuration.maxResponseBytes = 256 << 20
        configuration.userAgent = "Portcullis-tests"
        client = CurlHTTPClient(configuration: configuration)
    }

    /// Sends `method path` with `body` (JSON) and returns the answer's `value` (nil for JSON null).
    ///
    /// `what` names the command in errors when the path alone would not say it (the selector looked for).
    @discardableResult
    func send(
        _ method: OutboundRequest.Method, _ path: String, _ body: [String: Any]? = nil, what: String? = nil
    ) async throws -> Any? {
        let command = "\(method) \(path)" + (what.map { " (\($0))" } ?? "")
        var payload: [UInt8]?
        if let body {
            payload = Array(try JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes]))
        } else if method == .post {
            // Every POST carries a JSON object, even commands without parameters (`{}`).
            payload = Array("{}".utf8)
        }
        let response: InboundResponse
        do {
            response = try await client.send(
                OutboundRequest(
                    method: method, url: baseURL + path,
                    headers: payload == nil ? [] : [("Content-Type", "application/json; charset=utf-8")],
                    body: payload))
        } catch {
            throw WebDriverError(command: command, status: 0, error: "transport", message: "\(error)")
        }
        let decoded = try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        let value = (decoded as? [String: Any])?["value"]
        guard (200..<300).contains(response.status) else {
            let details = value as? [String: Any]
            let message = (details?["message"] as? String) ?? response.bodyText
            throw WebDriverError(
                command: command, status: response.status, error: (details?["error"] as? String) ?? "unknown error",
                message: Self.firstLines(message))
        }
        guard let decoded else {
            throw WebDriverError(
                command: command, status: response.status, error: "invalid answer",
                message: "not JSON: \(Self.firstLines(response.bodyText))")
        }
        guard let object = decoded as? [String: Any], object.keys.contains("value") else {
            throw WebDriverError(
                command: command, status: response.status, error: "invalid answer",
                message: "no \"value\" in \(Self.firstLines(response.bodyText))")
        }
        return value is NSNull ? nil : value
    }

    /// The first few lines of a driver message (chromedriver follows the message with a native stack trace).
    private static func firstLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).prefix(4).joined(separator: "\n")
    }
}
