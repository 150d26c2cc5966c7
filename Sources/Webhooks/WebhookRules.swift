import Diagnostics
import Foundation
import Storage

/// The checks a webhook's URL, headers and events pass before they are stored.
public enum WebhookRules {
    /// The longest URL accepted.
    public static let maxURLLength = 2048
    /// The most custom headers one webhook may carry.
    public static let maxHeaders = 32
    /// The longest header value accepted.
    public static let maxHeaderValueLength = 4096

    /// Header names refused (lowercased): connection-level fields a client must own, and the fields
    /// Portcullis sets itself, which a custom header could otherwise duplicate or spoof.
    public static let forbiddenHeaderNames: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade", "content-length", "host", "expect",
        "content-type", "x-portcullis-signature", "x-portcullis-delivery", "x-portcullis-event",
    ]

    /// Checks a delivery URL: absolute `http`/`https` with a host, no credentials (use a header), no
    /// fragment, no whitespace or control characters.
    public static func validateURL(_ text: String) throws(WebhookError) {
        guard !text.isEmpty, text.utf8.count <= maxURLLength else {
            throw WebhookError(.invalidURL, "the URL must have 1 to \(maxURLLength) characters")
        }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw WebhookError(.invalidURL, "the URL must be printable ASCII without spaces (percent-encode the rest)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else {
            throw WebhookError(.invalidURL, "the URL must start with http:// or https://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw WebhookError(.invalidURL, "the URL has no host")
        }
        guard components.user == nil, components.password == nil else {
            throw WebhookError(.invalidURL, "the URL must not carry credentials; send them with --header instead")
        }
        guard components.fragment == nil else { throw WebhookError(.invalidURL, "the URL must not have a fragment") }
        // The store's CHECK wants the scheme in lowercase.
        guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
            throw WebhookError(.invalidURL, "write the scheme in lowercase (http:// or https://)")
        }
    }

    /// Parses one `Name: value` header as given on the command line, and checks it.
    public static func parseHeader(_ text: String) throws(WebhookError) -> WebhookHeader {
        guard let colon = text.firstIndex(of: ":") else {
            throw WebhookError(.invalidHeader, "a header is written 'Name: value'")
        }
        let name = String(text[..<colon])
        let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        let header = WebhookHeader(name: name, value: value)
        try validateHeader(header)
        return header
    }

    /// Checks a header: a token name that is not forbidden, and a value without control characters.
    public static func validateHeader(_ header: WebhookHeader) throws(WebhookError) {
        let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        guard !header.name.isEmpty, header.name.utf8.count <= 256, header.name.utf8.allSatisfy(tokenCharacters.contains)
        else {
            throw WebhookError(.invalidHeader, "'\(printable(header.name))' is not a valid header name")
        }
        guard !forbiddenHeaderNames.contains(header.name.lowercased()) else {
            throw WebhookError(.forbiddenHeader, "the header '\(header.name)' is set by Portcullis or the connection")
        }
        guard header.value.utf8.count <= maxHeaderValueLength,
            header.value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) })
        else {
            throw WebhookError(
                .invalidHeader,
                "the value of '\(header.name)' must have at most \(maxHeaderValueLength) bytes and no control characters"
            )
        }
    }

    /// Checks a whole header list (each header, and the count).
    public static func validateHeaders(_ headers: [WebhookHeader]) throws(WebhookError) {
        guard headers.count <= maxHeaders else {
            throw WebhookError(.invalidHeader, "at most \(maxHeaders) headers per webhook")
        }
        for header in headers { try validateHeader(header) }
    }

    /// Parses a comma-separated event list such as `push,delete`.
    public static func parseEvents(_ text: String) throws(WebhookError) -> [WebhookEvent] {
        var events: Set<WebhookEvent> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = item.trimmingCharacters(in: .whitespaces)
            guard let event = WebhookEvent(rawValue: name) else {
                throw WebhookError(
                    .invalidEvents,
                    "unknown event '\(printable(name))'; expected: "
                        + WebhookEvent.allCases.map(\.rawValue).joined(separator: ", "))
            }
            events.insert(event)
        }
        guard !events.isEmpty else { throw WebhookError(.invalidEvents, "name at least one event") }
        return events.sorted()
    }

    /// Parses a format name.
    public static func parseFormat(_ text: String) throws(WebhookError) -> WebhookFormat {
        guard let format = WebhookFormat(rawValue: text) else {
            throw WebhookError(
                .invalidFormat,
                "unknown format '\(printable(text))'; expected: "
                    + WebhookFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return format
    }

    /// Hostile input echoed in a message: escaped visibly (``InertText``) and bounded, as every operator line is.
    private static func printable(_ text: String) -> String { InertText.escaped(text, limit: 64) }
}
