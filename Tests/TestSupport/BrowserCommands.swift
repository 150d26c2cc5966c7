import Foundation
import HTTPClient

// Navigation, elements, scripts, dialogs, cookies and waiting: one method per WebDriver command
// (WebDriver §10–§16), named for the call site.

extension Browser {
    // MARK: Navigation

    /// Loads `url` and waits until the page has loaded (its `load` event), as a user typing it would.
    public func open(_ url: String) async throws {
        try await connection.send(.post, session + "/url", ["url": url], what: url)
    }

    /// The address of the page shown (after redirects).
    public var currentURL: String {
        get async throws { try await string(.get, "/url") }
    }

    /// The page's `<title>`.
    public var title: String {
        get async throws { try await string(.get, "/title") }
    }

    /// The page's DOM serialised as HTML (as it is now, scripts' changes included).
    public var pageSource: String {
        get async throws { try await string(.get, "/source") }
    }

    /// Goes back in history, as the Back button does.
    public func back() async throws { try await connection.send(.post, session + "/back") }

    /// Goes forward in history.
    public func forward() async throws { try await connection.send(.post, session + "/forward") }

    /// Reloads the page (a form POST is not resent: Chromium asks, and the driver answers no).
    public func refresh() async throws { try await connection.send(.post, session + "/refresh") }

    // MARK: Elements

    /// The first element matching the CSS `selector`, waiting up to `timeout` for one to appear; throws
    /// `no such element` (with the page's address) when none does.
    public func find(_ selector: String, timeout: Duration = .seconds(10)) async throws -> WebElement {
        try await WebElement.find(.css(selector), from: session, browser: self, timeout: timeout)
    }

    /// Every element matching the CSS `selector` now, in document order (empty when none: no waiting).
    public func findAll(_ selector: String) async throws -> [WebElement] {
        try await WebElement.findAll(.css(selector), from: session, browser: self)
    }

    /// The first link whose visible text is exactly `text`, waiting up to `timeout` for one to appear.
    public func findLink(_ text: String, timeout: Duration = .seconds(10)) async throws -> WebElement {
        try await WebElement.find(.linkText(text), from: session, browser: self, timeout: timeout)
    }

    /// Whether an element matches the CSS `selector` now (no waiting).
    public func exists(_ selector: String) async throws -> Bool { try await !findAll(selector).isEmpty }

    /// The element that has the focus (`document.activeElement`).
    public func focusedElement() async throws -> WebElement {
        let value = try await connection.send(.get, session + "/element/active")
        guard let element = WebElement(reference: value, browser: self) else {
            throw WebDriverError(
                command: "GET \(session)/element/active", status: 200, error: "invalid answer",
                message: "not an element: \(String(describing: value))")
        }
        return element
    }

    // MARK: Scripts

    /// Runs `script` as the body of a function in the page (`return` gives the result; `arguments[i]` are
    /// `arguments`, where a ``WebElement`` becomes the DOM element) and returns its result as JSON values
    /// (`String`, `Int`/`Double` as `NSNumber`, `Bool`, `[Any]`, `[String: Any]`, ``WebElement``; nil for
    /// null or undefined).
    ///
    /// It runs even with page scripts off: the driver evaluates it, not the page.
    @discardableResult
    public func execute(_ script: String, _ arguments: [any Sendable] = []) async throws -> Any? {
        let value = try await connection.send(
            .post, session + "/execute/sync", ["script": script, "args": arguments.map(WebElement.encode)],
            what: String(script.prefix(80)))
        return WebElement.decode(value, browser: self)
    }

    /// Runs `script` (see ``execute(_:_:)``) and returns its result as `T` (`String`, `Int`, `Double`,
    /// `Bool`, `[String]`, …); throws when the result is of another type.
    public func execute<T>(_ script: String, _ arguments: [any Sendable] = [], as type: T.Type) async throws -> T {
        let value = try await execute(script, arguments)
        guard let typed = value as? T else {
            throw WebDriverError(
                command: "POST \(session)/execute/sync (\(script.prefix(80)))", status: 200, error: "unexpected result",
                message: "expected \(T.self), got \(String(describing: value))")
        }
        return typed
    }

    // MARK: Dialogs

    /// The text of the open `alert()`, `confirm()` or `prompt()`, or nil when none is open.
    public var alertText: String? {
        get async throws {
            do {
                return try await connection.send(.get, session + "/alert/text") as? String
            } catch let error as WebDriverError where error.error == "no such alert" {
                return nil
            }
        }
    }

    /// Accepts the open dialog (OK), waiting up to `timeout` for one to open; returns its text.
    @discardableResult
    public func acceptAlert(timeout: Duration = .seconds(10)) async throws -> String {
        let text = try await waitForAlert(timeout: timeout)
        try await connection.send(.post, session + "/alert/accept")
        return text
    }

    /// Dismisses the open dialog (Cancel), waiting up to `timeout` for one to open; returns its text.
    @discardableResult
    public func dismissAlert(timeout: Duration = .seconds(10)) async throws -> String {
        let text = try await waitForAlert(timeout: timeout)
        try await connection.send(.post, session + "/alert/dismiss")
        return text
    }

    /// Types `answer` into the open `prompt()` and accepts it; returns the prompt's text.
    @discardableResult
    public func answerPrompt(_ answer: String, timeout: Duration = .seconds(10)) async throws -> String {
        let text = try await waitForAlert(timeout: timeout)
        try await connection.send(.post, session + "/alert/text", ["text": answer])
        try await connection.send(.post, session + "/alert/accept")
        return text
    }

    /// The open dialog's text, waiting up to `timeout` for one.
    private func waitForAlert(timeout: Duration) async throws -> String {
        var text: String?
        try await waitUntil(timeout: timeout, "a dialog to open") {
            text = try await alertText
            return text != nil
        }
        return text ?? ""
    }

    // MARK: Cookies

    /// The cookies the page at the current address can see (HttpOnly ones included).
    public func cookies() async throws -> [BrowserCookie] {
        let value = try await connection.send(.get, session + "/cookie")
        return ((value as? [Any]) ?? []).compactMap { BrowserCookie(json: $0) }
    }

    /// The cookie `name` of the current address, or nil.
    public func cookie(named name: String) async throws -> BrowserCookie? {
        try await cookies().first { $0.name == name }
    }

    /// Sets a cookie for the current page's host (open a page of that host first).
    public func addCookie(_ cookie: BrowserCookie) async throws {
        try await connection.send(.post, session + "/cookie", ["cookie": cookie.json], what: cookie.name)
    }

    /// Deletes the cookie `name` of the current address.
    public func deleteCookie(named name: String) async throws {
        let escaped = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
        try await connection.send(.delete, session + "/cookie/" + escaped, what: name)
    }

    /// Deletes every cookie of the current address (a signed-out browser, without closing it).
    public func deleteAllCookies() async throws { try await connection.send(.delete, session + "/cookie") }

    // MARK: Waiting

    /// Polls `condition` every 50 ms until it holds, for at most `timeout`; throws a `timeout` error
    /// naming `description`, the page's address and the condition's last error otherwise.
    ///
    /// A condition that throws counts as not holding yet (the element may not exist yet).
    public func waitUntil(
        timeout: Duration = .seconds(10), _ description: String = "the condition",
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while true {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let address = (try? await currentURL) ?? "(unknown)"
        throw WebDriverError(
            command: "wait", status: 0, error: "timeout",
            message: "\(description) did not happen within \(timeout) on \(address)"
                + (lastError.map { "; last error: \($0)" } ?? ""))
    }

    // MARK: Window

    /// The viewport's size in CSS pixels (`innerWidth` × `innerHeight`).
    public func viewportSize() async throws -> (width: Int, height: Int) {
        let sizes = try await execute("return [window.innerWidth, window.innerHeight]", as: [Int].self)
        guard sizes.count == 2 else {
            throw WebDriverError(
                command: "viewport size", status: 0, error: "unexpected result", message: "\(sizes)")
        }
        return (sizes[0], sizes[1])
    }

    /// Resizes the window so that the viewport is `width` × `height` CSS pixels (the window's own frame
    /// differs between versions, so it measures and corrects, at most three times).
    public func resize(width: Int, height: Int) async throws {
        for _ in 0..<3 {
            let viewport = try await viewportSize()
            if viewport == (width, height) { return }
            let rect = try await connection.send(.get, session + "/window/rect") as? [String: Any]
            let windowWidth = (rect?["width"] as? Int) ?? width, windowHeight = (rect?["height"] as? Int) ?? height
            try await connection.send(
                .post, session + "/window/rect",
                [
                    "width": max(1, windowWidth + width - viewport.width),
                    "height": max(1, windowHeight + height - viewport.height),
                ], what: "\(width)x\(height)")
        }
        let viewport = try await viewportSize()
        guard viewport == (width, height) else {
            throw WebDriverError(
                command: "resize", status: 0, error: "unexpected result",
                message: "asked for a \(width)x\(height) viewport, got \(viewport.width)x\(viewport.height)")
        }
    }

    // MARK: Helpers

    /// A command's value as a string.
    func string(_ method: OutboundRequest.Method, _ path: String) async throws -> String {
        let value = try await connection.send(method, session + path)
        guard let text = value as? String else {
            throw WebDriverError(
                command: "\(method) \(session)\(path)", status: 200, error: "unexpected result",
                message: "expected a string, got \(String(describing: value))")
        }
        return text
    }
}
