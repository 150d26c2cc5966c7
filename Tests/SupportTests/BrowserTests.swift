import Diagnostics
import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

/// The browser test support against a real headless Chromium: a few static pages from our own HTTP server on
/// loopback, driven through chromedriver. Serialized: each test starts a browser, and the machine's cores
/// are shared with the rest of the suite.
@Suite(.serialized, .enabled(if: Browser.shouldRun))
struct BrowserTests {
    @Test(arguments: [false, true])
    func aFormIsFilledInPostedAndItsAnswerRead(pressingEnter: Bool) async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/")
                #expect(try await browser.title == "Browser self-test")
                let field = try await browser.find("#name")
                try await field.type("Ada <Lovelace>")
                #expect(try await field.property("value") as? String == "Ada <Lovelace>")
                #expect(try await field.attribute("name") == "name")
                if pressingEnter {
                    try await field.type(WebElement.Key.enter)
                } else {
                    try await browser.find("#send").click()
                }
                #expect(try await browser.find("#greeting").text == "Hello, Ada <Lovelace>")
                #expect(try await browser.find("#method").text == "POST")
                #expect(try await browser.currentURL == base + "/submit")
                #expect(try await browser.pageSource.contains("Hello, Ada &lt;Lovelace&gt;"))
            }
        }
    }

    @Test func clickingALinkOpensItsPage() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/")
                try await browser.findLink("Next page").click()
                #expect(try await browser.find("h1").text == "Next page")
                #expect(try await browser.title == "Next")
                #expect(try await browser.currentURL == base + "/next")
                try await browser.back()
                #expect(try await browser.title == "Browser self-test")
            }
        }
    }

    @Test(arguments: [true, false])
    func aConfirmDialogIsAcceptedOrDismissed(accepting: Bool) async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/")
                #expect(try await browser.alertText == nil)
                try await browser.find("#delete").click()
                let text = try await accepting ? browser.acceptAlert() : browser.dismissAlert()
                #expect(text == "Delete the tag?")
                #expect(try await browser.alertText == nil)
                #expect(try await browser.find("#answer").text == (accepting ? "accepted" : "dismissed"))
            }
        }
    }

    @Test(arguments: [true, false])
    func scriptsSetTextOnlyWithJavaScriptOn(javascript: Bool) async throws {
        try await withPages { base in
            try await withBrowser(javascript: javascript) { browser in
                try await browser.open(base + "/")
                let text = try await browser.find("#scripted").text
                #expect(text == (javascript ? "set by script" : "written by the server"))
                // The driver's own scripts run either way: tests can always inspect the page.
                #expect(try await browser.execute("return 6 * 7", as: Int.self) == 42)
                #expect(try await browser.execute("return document.title", as: String.self) == "Browser self-test")
            }
        }
    }

    @Test func aStrictContentSecurityPolicyStopsPageScriptsButNotTheDriver() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/strict")
                // The web UI's policy (no inline script): the page's own script is refused...
                #expect(try await browser.find("#scripted").text == "written by the server")
                // ...while the driver's scripts, clicks and screenshots are not pages' scripts and still work.
                #expect(try await browser.execute("return document.querySelectorAll('p').length", as: Int.self) == 1)
                try await browser.find("#send").click()
                #expect(try await browser.find("#greeting").text == "Hello, policy")
                #expect(try await !browser.screenshotPNG().isEmpty)
            }
        }
    }

    @Test(arguments: [Browser.ColorScheme.light, .dark])
    func theColourSchemeDecidesWhichColoursTheStyleSheetGives(scheme: Browser.ColorScheme) async throws {
        try await withPages { base in
            try await withBrowser(colorScheme: scheme) { browser in
                let expected = scheme == .dark ? "rgba(255, 255, 255, 1)" : "rgba(0, 0, 0, 1)"
                // A second page too: the preference holds across navigations, not only for the first page.
                for path in ["/scheme", "/scheme?again"] {
                    try await browser.open(base + path)
                    #expect(try await browser.find("#probe").cssValue("color") == expected)
                    let dark = try await browser.execute(
                        "return matchMedia('(prefers-color-scheme: dark)').matches", as: Bool.self)
                    #expect(dark == (scheme == .dark))
                }
            }
        }
    }

    @Test(arguments: [1280, 375])
    func aScreenshotIsAPNGOfTheRequestedWidth(width: Int) async throws {
        try await withPages { base in
            try await withBrowser(width: width, height: 700) { browser in
                #expect(try await browser.viewportSize() == (width, 700))
                try await browser.open(base + "/tall")
                let directory = try TemporaryDirectory("screenshots")
                defer { directory.remove() }

                let viewport = directory.path("viewport.png")
                try await browser.screenshot(to: viewport, fullPage: false)
                #expect(try pngSize(viewport) == PNGSize(width: width, height: 700))

                let page = directory.path("page.png")
                try await browser.screenshot(to: page)
                let documentHeight = try await browser.execute(
                    "return document.documentElement.scrollHeight", as: Int.self)
                #expect(documentHeight > 2000)
                #expect(try pngSize(page) == PNGSize(width: width, height: documentHeight))
                #expect(try await browser.viewportSize() == (width, 700), "the viewport is restored")
            }
        }
    }

    @Test func screenshotsAtSeveralWidthsGoToTheScreenshotDirectory() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/next")
                let files = try await browser.screenshots(named: "browser-self-test", widths: [1280, 375])
                #expect(files.map(\.lastPathComponent) == ["browser-self-test-1280.png", "browser-self-test-375.png"])
                #expect(files.allSatisfy { $0.deletingLastPathComponent().path == Browser.screenshotDirectory.path })
                #expect(try files.map { try pngSize($0).width } == [1280, 375])
                #expect(try await browser.viewportSize() == (1280, 900))
            }
        }
    }

    @Test func cookiesTheServerSetsAreVisibleAndCanBeDeleted() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/cookie")
                let session = try #require(try await browser.cookie(named: "session"))
                #expect(session.value == "abc123")
                #expect(session.httpOnly)
                #expect(session.sameSite == "Lax")
                #expect(try await browser.cookie(named: "theme")?.value == "dark")
                // HttpOnly keeps it from scripts, not from the browser.
                #expect(try await browser.execute("return document.cookie", as: String.self) == "theme=dark")

                try await browser.deleteAllCookies()
                #expect(try await browser.cookies().isEmpty)
                try await browser.addCookie(BrowserCookie(name: "added", value: "by-test"))
                try await browser.open(base + "/echo-cookies")
                #expect(try await browser.find("#cookies").text == "added=by-test")
            }
        }
    }

    @Test func driverErrorsNameTheCommandAndTheDriversMessage() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/")
                let missing = await #expect(throws: WebDriverError.self) {
                    try await browser.find("#nowhere", timeout: .zero)
                }
                #expect(missing?.error == "no such element")
                #expect(missing?.description.contains("#nowhere") == true)

                let invalid = await #expect(throws: WebDriverError.self) { try await browser.findAll("p[") }
                #expect(invalid?.error == "invalid selector")
                #expect(invalid?.command.contains("/elements") == true)
                #expect(invalid?.message.isEmpty == false)

                let script = await #expect(throws: WebDriverError.self) {
                    try await browser.execute("throw new Error('boom from the page')")
                }
                #expect(script?.error == "javascript error")
                #expect(script?.message.contains("boom from the page") == true)

                let waited = await #expect(throws: WebDriverError.self) {
                    try await browser.waitUntil(timeout: .zero, "the impossible") { false }
                }
                #expect(waited?.error == "timeout")
                #expect(waited?.message.contains("the impossible") == true)

                // Names outside loopback never resolve: a page cannot reach beyond the machine.
                let outside = await #expect(throws: WebDriverError.self) {
                    try await browser.open("http://example.com/")
                }
                #expect(outside?.message.contains("ERR_NAME_NOT_RESOLVED") == true)
            }
        }
    }

    @Test func aFailureIsDescribedByWhatTheBrowserShowed() async throws {
        try await withPages { base in
            try await withBrowser { browser in
                try await browser.open(base + "/")
                try await browser.find("#delete").click()
                let withDialog = await browser.describeFailure()
                #expect(withDialog.contains("open dialog: Delete the tag?"))
                try await browser.dismissAlert()

                try await browser.open(base + "/next")
                let description = await browser.describeFailure()
                #expect(description.contains("address: \(base)/next"))
                #expect(description.contains("title: Next"))
                #expect(description.contains("text: Next page"))
                let line = try #require(description.split(separator: "\n").first { $0.contains("screenshot: ") })
                let file = String(line.split(separator: "screenshot: ").last ?? "")
                #expect(file.hasPrefix(Browser.screenshotDirectory.path + "/failure-"))
                #expect(FileManager.default.fileExists(atPath: file))
            }
        }
    }

    @Test func closingEndsTheDriverAndRemovesTheProfile() async throws {
        guard let browser = try await Browser.start() else { return }
        let log = browser.logFile
        #expect(FileManager.default.fileExists(atPath: log.path))
        await browser.close()
        await browser.close()
        #expect(!FileManager.default.fileExists(atPath: log.deletingLastPathComponent().path))
        let error = await #expect(throws: WebDriverError.self) { try await browser.title }
        #expect(error?.error == "transport")
        #expect(!Browser.hasRunningProcesses(inGroup: browser.processGroup))
    }

    @Test func aBrowserDroppedWithoutClosingStillEndsItsProcessesAndProfile() async throws {
        /// Starts a browser and lets go of it without closing it, as a test that throws does.
        func startAndDrop() async throws -> (group: Int32, directory: URL)? {
            guard let browser = try await Browser.start() else { return nil }
            #expect(Browser.hasRunningProcesses(inGroup: browser.processGroup))
            return (browser.processGroup, browser.logFile.deletingLastPathComponent())
        }
        guard let dropped = try await startAndDrop() else { return }
        #expect(try await waitUntil(seconds: 10) { !Browser.hasRunningProcesses(inGroup: dropped.group) })
        #expect(!FileManager.default.fileExists(atPath: dropped.directory.path))
    }
}

// MARK: - Pages

/// Serves the self-test's pages from our own HTTP server on an ephemeral loopback port, runs `body` with
/// the base URL, then shuts the server down.
private func withPages(_ body: (String) async throws -> Void) async throws {
    var router = Router(logger: Logger(label: "browser-pages", level: .error))
    router.get("/") { _ in html(indexPage) }
    router.get("/next") { _ in html("<title>Next</title><h1>Next page</h1>") }
    router.post("/submit") { request in
        let form = URLEncodedForm.decode(request.body) ?? []
        let name = form.first { $0.name == "name" }?.value ?? ""
        return html(
            "<title>Sent</title><p id=greeting>Hello, \(escaped(name))</p><p id=method>\(request.method)</p>")
    }
    router.get("/cookie") { _ in
        var response = html("<title>Cookies</title><p>set</p>")
        response.headers.add(name: "Set-Cookie", value: "session=abc123; Path=/; HttpOnly; SameSite=Lax")
        response.headers.add(name: "Set-Cookie", value: "theme=dark; Path=/")
        return response
    }
    router.get("/echo-cookies") { request in
        html("<title>Echo</title><p id=cookies>\(escaped(request.headers["Cookie"] ?? ""))</p>")
    }
    router.get("/scheme") { _ in html(schemePage) }
    router.get("/strict") { _ in
        var response = html(
            "<title>Strict</title><p id=scripted>written by the server</p>"
                + "<script>document.getElementById('scripted').textContent = 'set by script'</script>"
                + "<form method=post action=/submit><input name=name value=policy><button id=send>Send</button></form>")
        response.headers.add(name: "Content-Security-Policy", value: strictPolicy)
        return response
    }
    router.get("/tall") { _ in
        html(
            "<title>Tall</title><style>body{margin:0}div{height:600px}</style>"
                + String(repeating: "<div>x</div>", count: 5))
    }
    let server = HTTPServer(
        configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1), responder: router,
        logger: Logger(label: "browser-pages", level: .error))
    let port = try server.start()
    do {
        try await body("http://127.0.0.1:\(port)")
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await server.shutdown(gracePeriod: .seconds(1))
}

private let indexPage = """
    <!doctype html>
    <html lang=en><head><meta charset=utf-8><title>Browser self-test</title></head>
    <body>
    <p id=scripted>written by the server</p>
    <script>document.getElementById('scripted').textContent = 'set by script'</script>
    <form method=post action=/submit><input id=name name=name><button id=send type=submit>Send</button></form>
    <p><a href=/next>Next page</a></p>
    <button id=delete type=button
      onclick="document.getElementById('answer').textContent = confirm('Delete the tag?') ? 'accepted' : 'dismissed'"
    >Delete</button>
    <p id=answer>not asked</p>
    </body></html>
    """

/// The web UI's Content-Security-Policy (WebUI.contentSecurityPolicy), copied: this target does not depend on it.
private let strictPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

private let schemePage = """
    <!doctype html>
    <html lang=en><head><meta charset=utf-8><title>Scheme</title>
    <style>
    #probe { color: rgb(0, 0, 0) }
    @media (prefers-color-scheme: dark) { #probe { color: rgb(255, 255, 255) } }
    </style></head>
    <body><p id=probe>colour</p></body></html>
    """

private func html(_ text: String) -> HTTPResponse {
    HTTPResponse(
        status: .ok, headers: ["Content-Type": "text/html; charset=utf-8"],
        body: Array((text.hasPrefix("<!doctype") ? text : "<!doctype html>" + text).utf8))
}

private func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

// MARK: - PNG

private struct PNGSize: Equatable {
    var width: Int
    var height: Int
}

/// The width and height in a PNG's IHDR chunk (bytes 16–23, big-endian), after checking the signature.
private func pngSize(_ url: URL) throws -> PNGSize {
    let bytes = [UInt8](try Data(contentsOf: url))
    try #require(bytes.count > 24 && bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    let number = { (offset: Int) in bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
    return PNGSize(width: number(16), height: number(20))
}
