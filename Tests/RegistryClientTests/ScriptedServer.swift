import Foundation
import HTTPClient
import RegistryClient
import TestSupport

/// A misbehaving registry on loopback: a small Python HTTP server whose first path component picks the
/// fault (5xx then success, a Link loop, an oversized or slow page, a dropped connection…).
///
/// A real server over real sockets, not a test double of `HTTPFetching`. Python rather than
/// Sources/HTTPServer because this test target does not depend on HTTPServer (Package.swift).
/// `GET /_hits/<mode>` answers how many requests that mode has seen; any POST is recorded as a
/// registry notification envelope, listed by `GET /_envelopes`.
final class ScriptedServer {
    static let python = "/usr/bin/python3"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: python) }

    let port: Int
    private let directory: TemporaryDirectory
    private let process: BackgroundProcess

    var origin: String { "http://127.0.0.1:\(port)" }

    init() async throws {
        port = try freePort()
        directory = try TemporaryDirectory("scripted-registry")
        let script = directory.path("server.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        process = try BackgroundProcess(
            name: "scripted-registry", executable: Self.python, arguments: [script.path, String(port)],
            environment: [:], removing: [], directory: directory.url, logFile: directory.path("server.log"))
        let http = CurlHTTPClient()
        let probe = "\(origin)/_hits/none"
        let up = try await waitUntil(seconds: 120) { try await http.send(OutboundRequest(url: probe)).status == 200 }
        guard up else { throw PushError("the scripted server did not start\n\(process.logTail())") }
    }

    /// A client for `mode`'s base URL, with fast retries.
    func client(
        _ mode: String, tokens: any RegistryTokenSource = HandSignedTokens(),
        configure: (inout HTTPRegistryClient.Configuration) -> Void = { _ in }
    ) -> HTTPRegistryClient {
        var configuration = HTTPRegistryClient.Configuration(name: "scripted", baseURL: "\(origin)/\(mode)")
        configuration.initialBackoff = .milliseconds(10)
        configuration.maxBackoff = .milliseconds(50)
        configure(&configuration)
        return HTTPRegistryClient(configuration: configuration, http: CurlHTTPClient(), tokens: tokens)
    }

    /// How many requests `mode` has answered so far.
    func hits(_ mode: String) async throws -> Int {
        let answer = try await CurlHTTPClient().send(OutboundRequest(url: "\(origin)/_hits/\(mode)"))
        return Int(answer.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The notification envelopes POSTed so far: Authorization header, Content-Type and parsed body.
    func envelopes() async throws -> [[String: Any]] {
        let answer = try await CurlHTTPClient().send(OutboundRequest(url: "\(origin)/_envelopes"))
        return (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]) ?? []
    }

    func logTail() -> String { process.logTail() }

    deinit {
        process.stop()
        directory.remove()
    }

    private static let script = #"""
        import json, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hits = {}
        envelopes = []
        lock = threading.Lock()
        port = int(sys.argv[1])

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def page(self, names, link=None):
                headers = [("Content-Type", "application/json")]
                if link:
                    headers.append(("Link", link))
                self.answer(200, json.dumps({"repositories": names}).encode(), headers)

            def do_POST(self):
                # The notifications receiver: records each envelope with its Authorization header.
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    hits["events"] = hits.get("events", 0) + 1
                    envelopes.append({"authorization": self.headers.get("Authorization", ""),
                                      "contentType": self.headers.get("Content-Type", ""),
                                      "body": json.loads(body or b"{}")})
                self.answer(200)

            def do_HEAD(self):
                self.do_GET()

            def do_DELETE(self):
                self.do_GET()

            def do_GET(self):
                path, _, query = self.path.partition("?")
                mode = path.split("/")[1]
                if mode == "_envelopes":
                    with lock:
                        return self.answer(200, json.dumps(envelopes).encode())
                if mode == "_hits":
                    with lock:
                        count = hits.get(path.split("/")[2], 0)
                    return self.answer(200, str(count).encode())
                with lock:
                    hits[mode] = hits.get(mode, 0) + 1
                    count = hits[mode]
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"no token"}]}')
                if mode == "flaky":
                    if count <= 2:
                        return self.answer(503, b'{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}')
                    return self.page(["after/retries"])
                if mode == "broken":
                    return self.answer(500, b"internal trouble")
                if mode == "teapot":
                    return self.answer(400, b'{"errors":[{"code":"NAME_INVALID","message":"nope"}]}')
                if mode == "refused":
                    return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad token"}]}')
                if mode == "dropfirst":
                    if count == 1:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    return self.page(["after/drop"])
                if mode == "loop":
                    return self.page(["x/%d" % count], "</loop/v2/_catalog?last=x&n=2>; rel=\"next\"")
                if mode == "paged":
                    if "last=" not in query:
                        return self.page(["a/1", "a/2"], "<http://127.0.0.1:%d/paged/v2/_catalog?last=a%%2F2&n=2>; rel=\"next\"" % port)
                    if "last=a%2F2" in query:
                        return self.page(["b/3", "b/4"], "<?last=b%2F4&n=2>; rel=\"next\"")
                    return self.page(["c/5"])
                if mode == "tagpages":
                    tags = {"": (["1.0", "1.1"], "2"), "1.1": (["2.0", "2.1"], "4"), "2.1": (["3.0"], None)}
                    last = query.partition("last=")[2].partition("&")[0]
                    names, following = tags.get(last, ([], None))
                    headers = [("Content-Type", "application/json")]
                    if following:
                        headers.append(("Link", "</tagpages/v2/ns/app/tags/list?n=2&last=%s>; rel=\"next\"" % names[-1]))
                    return self.answer(200, json.dumps({"name": "ns/app", "tags": names}).encode(), headers)
                if mode == "foreign":
                    return self.page(["a/1"], "<http://127.0.0.2:%d/foreign/v2/_catalog?last=a&n=2>; rel=\"next\"" % port)
                if mode == "partial":
                    if "last=" not in query:
                        return self.page(["a/1"], "</partial/v2/_catalog?last=a&n=2>; rel=\"next\"")
                    return self.answer(500, b"second page failed")
                if mode == "big":
                    return self.page(["r/%06d" % i for i in range(20000)])
                if mode == "slow":
                    time.sleep(3)
                    return self.page(["too/late"])
                if mode == "garbage":
                    return self.answer(200, b"<html>not json</html>", [("Content-Type", "text/html")])
                if mode == "liar":
                    body = b'{"schemaVersion":2}'
                    return self.answer(200, body, [
                        ("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                        ("Docker-Content-Digest", "sha256:" + "0" * 64)])
                if mode == "nodigest":
                    return self.answer(200, b"", [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
                return self.answer(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}')

        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#
}
