import CryptoCore
import Foundation
import TestSupport

/// A response read by curl: status, headers (names lower-cased, repeated ones kept) and body.
struct HTTPResult: CustomStringConvertible {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of the header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    /// The body as a JSON object, or nil.
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    var description: String {
        "HTTP \(status) \(headers.map { "\($0.name): \($0.value)" }.joined(separator: "; ")) body: \(text.prefix(2000))"
    }
}

/// Plain HTTP/1.1 requests through curl (one process each: no client state, no connection reuse,
/// exactly what goes over the wire is what the command line says).
enum HTTP {
    /// Sends one request. `basic` credentials travel in a curl config on standard input, so they
    /// never appear in a process listing; `body` is sent with `Transfer-Encoding: chunked` when
    /// `chunked` is set (the way skopeo and docker POST to the token endpoint). `from` is the loopback source
    /// address to send from (`127.0.0.5`), so one test can be many clients.
    static func request(
        _ url: String, method: String = "GET", headers: [String] = [], basic: (user: String, password: String)? = nil,
        body: String? = nil, chunked: Bool = false, from source: String? = nil
    ) async throws -> HTTPResult {
        let scratch = try TemporaryDirectory("curl")
        defer { scratch.remove() }
        let headerFile = scratch.path("headers"), bodyFile = scratch.path("body")
        var arguments = [
            "-sS", "-m", "120", "-X", method, "-D", headerFile.path, "-o", bodyFile.path, "-w", "%{http_code}",
        ]
        if method == "HEAD" {
            arguments = ["-sS", "-m", "120", "-I", "-D", headerFile.path, "-o", bodyFile.path, "-w", "%{http_code}"]
        }
        if let source { arguments += ["--interface", source] }
        for header in headers { arguments += ["-H", header] }
        var input: String?
        if let basic {
            arguments += ["-K", "-"]
            input = "user = \"\(curlEscape(basic.user)):\(curlEscape(basic.password))\"\n"
        } else if let body {
            if chunked { arguments += ["-H", "Transfer-Encoding: chunked"] }
            arguments += ["--data-binary", "@-"]
            input = body
        }
        if basic != nil, let body {
            // Both on stdin would collide; a body next to Basic credentials goes in a file.
            let bodyInput = scratch.path("request-body")
            try Data(body.utf8).write(to: bodyInput)
            if chunked { arguments += ["-H", "Transfer-Encoding: chunked"] }
            arguments += ["--data-binary", "@\(bodyInput.path)"]
        }
        arguments.append(url)
        // A guard against a hang, not a timing assertion: on a loaded 2-core CI machine a request that hashes a password
        // on the lower-priority CPU pool can take tens of seconds while Chromium and the rest of the suite run.
        let result = try await Processes.run(Peers.curl, arguments, input: input, timeout: 130)
        guard result.status == 0, let status = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HarnessError("curl \(method) \(url) failed: \(result)")
        }
        let rawHeaders = (try? String(contentsOf: headerFile, encoding: .utf8)) ?? ""
        var parsed: [(name: String, value: String)] = []
        for line in rawHeaders.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.hasPrefix("HTTP/") {
                parsed.removeAll()  // a 100 Continue block is followed by the real one
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            parsed.append(
                (
                    String(line[..<colon]).lowercased(),
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                ))
        }
        return HTTPResult(status: status, headers: parsed, body: (try? Data(contentsOf: bodyFile)) ?? Data())
    }

    private static func curlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// `name=value&…` with RFC 3986 unreserved characters kept and everything else percent-encoded.
    static func formEncode(_ pairs: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return pairs.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
    }
}

/// A JWT split into its decoded header and claims (no verification: the registry does that).
struct DecodedJWT {
    let header: [String: Any]
    let claims: [String: Any]

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = Base64URL.decode(String(parts[0])),
            let claimBytes = Base64URL.decode(String(parts[1])),
            let header = try JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            let claims = try JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any]
        else { throw HarnessError("not a JWT: \(token.prefix(40))…") }
        self.header = header
        self.claims = claims
    }

    var algorithm: String? { header["alg"] as? String }
    var keyID: String? { header["kid"] as? String }
}

/// Parses an RFC 3339 timestamp, with or without fractional seconds.
func parseRFC3339(_ text: String) -> Date? {
    let plain = ISO8601DateFormatter()
    plain.formatOptions = [.withInternetDateTime]
    if let date = plain.date(from: text) { return date }
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return fractional.date(from: text)
}
