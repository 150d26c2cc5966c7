import Foundation

/// An element of the page a ``Browser`` shows, by the driver's reference (WebDriver §12).
///
/// A reference goes stale when the page navigates or the element leaves the DOM: find it again then.
public struct WebElement: Sendable, CustomStringConvertible {
    /// The driver's id of the element.
    public let id: String
    /// What found it, for error messages (`css "#name"`).
    public let locator: String
    let browser: Browser

    /// A WebDriver location strategy.
    enum Strategy {
        case css(String)
        case linkText(String)

        var json: [String: Any] {
            switch self {
            case .css(let selector): ["using": "css selector", "value": selector]
            case .linkText(let text): ["using": "link text", "value": text]
            }
        }

        var description: String {
            switch self {
            case .css(let selector): "css \"\(selector)\""
            case .linkText(let text): "link \"\(text)\""
            }
        }
    }

    init(id: String, locator: String, browser: Browser) {
        self.id = id
        self.locator = locator
        self.browser = browser
    }

    /// An element from a `{"element-6066-…": id}` reference, or nil when `reference` is not one.
    init?(reference: Any?, locator: String = "script result", browser: Browser) {
        guard let id = (reference as? [String: Any])?[webElementKey] as? String else { return nil }
        self.init(id: id, locator: locator, browser: browser)
    }

    public var description: String { "element \(locator)" }

    private var path: String { browser.session + "/element/" + id }

    // MARK: Reading

    /// The rendered text, as a user sees it (hidden parts left out, whitespace collapsed).
    public var text: String {
        get async throws { try await browser.string(.get, "/element/\(id)/text") }
    }

    /// The HTML attribute `name` as written in the markup (nil when absent).
    public func attribute(_ name: String) async throws -> String? {
        try await browser.connection.send(.get, path + "/attribute/" + name, what: "\(locator) [\(name)]") as? String
    }

    /// The DOM property `name` (`value` of a field as typed, `checked`), as a JSON value or nil.
    public func property(_ name: String) async throws -> Any? {
        try await browser.connection.send(.get, path + "/property/" + name, what: "\(locator) .\(name)")
    }

    /// The computed value of the CSS property `name` (`color` is `rgba(…)`).
    public func cssValue(_ name: String) async throws -> String {
        try await browser.string(.get, "/element/\(id)/css/\(name)")
    }

    /// The lower-case tag name (`input`).
    public var tagName: String {
        get async throws { try await browser.string(.get, "/element/\(id)/name") }
    }

    /// Whether the element is rendered visibly (WebDriver's "element displayedness").
    public var isDisplayed: Bool {
        get async throws { try await browser.connection.send(.get, path + "/displayed") as? Bool ?? false }
    }

    /// Whether a form control is enabled.
    public var isEnabled: Bool {
        get async throws { try await browser.connection.send(.get, path + "/enabled") as? Bool ?? false }
    }

    /// Whether a checkbox, radio button or option is selected.
    public var isSelected: Bool {
        get async throws { try await browser.connection.send(.get, path + "/selected") as? Bool ?? false }
    }

    // MARK: Acting

    /// Clicks the element's centre as a user would (scrolling it into view first); a link or submit
    /// button then navigates, and the driver waits for the new page to load.
    public func click() async throws {
        try await browser.connection.send(.post, path + "/click", what: locator)
    }

    /// Keys `type(_:)` sends as key presses rather than text (WebDriver §17.4.2 code points).
    public enum Key {
        /// Enter: submits the form of a focused text field.
        public static let enter = "\u{E007}"
        /// Tab: moves the focus to the next control.
        public static let tab = "\u{E004}"
        /// Escape: closes a `<dialog>` opened modally.
        public static let escape = "\u{E00C}"
        /// Backspace.
        public static let backspace = "\u{E003}"
    }

    /// Types `text` into the element (focusing it first), after what it already holds; ``Key`` values in it
    /// are pressed as keys (`field.type("alice" + WebElement.Key.enter)`).
    public func type(_ text: String) async throws {
        try await browser.connection.send(.post, path + "/value", ["text": text], what: locator)
    }

    /// Empties a text field or text area.
    public func clear() async throws {
        try await browser.connection.send(.post, path + "/clear", what: locator)
    }

    // MARK: Descendants

    /// The first descendant matching the CSS `selector`, waiting up to `timeout` for one.
    public func find(_ selector: String, timeout: Duration = .seconds(10)) async throws -> WebElement {
        try await Self.find(.css(selector), from: path, browser: browser, timeout: timeout)
    }

    /// Every descendant matching the CSS `selector` now, in document order.
    public func findAll(_ selector: String) async throws -> [WebElement] {
        try await Self.findAll(.css(selector), from: path, browser: browser)
    }

    // MARK: Finding

    /// The first element `strategy` finds under `scope` (the session or an element), polling every 50 ms
    /// for at most `timeout`.
    static func find(_ strategy: Strategy, from scope: String, browser: Browser, timeout: Duration) async throws
        -> WebElement
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let first = try await findAll(strategy, from: scope, browser: browser).first { return first }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let address = (try? await browser.currentURL) ?? "(unknown)"
        throw WebDriverError(
            command: "POST \(scope)/element (\(strategy.description))", status: 404, error: "no such element",
            message: "no element matches \(strategy.description) on \(address) within \(timeout)")
    }

    /// Every element `strategy` finds under `scope` now.
    static func findAll(_ strategy: Strategy, from scope: String, browser: Browser) async throws -> [WebElement] {
        let value = try await browser.connection.send(
            .post, scope + "/elements", strategy.json, what: strategy.description)
        return ((value as? [Any]) ?? []).compactMap {
            WebElement(reference: $0, locator: strategy.description, browser: browser)
        }
    }

    // MARK: Script values

    /// A script argument as JSON, with elements as W3C references.
    static func encode(_ value: any Sendable) -> Any {
        switch value {
        case let element as WebElement: [webElementKey: element.id]
        case let array as [any Sendable]: array.map(encode)
        case let object as [String: any Sendable]: object.mapValues(encode)
        case Optional<any Sendable>.none: NSNull()
        default: value
        }
    }

    /// A script result with element references turned into elements.
    static func decode(_ value: Any?, browser: Browser) -> Any? {
        switch value {
        case let object as [String: Any]:
            if let element = WebElement(reference: object, browser: browser) { return element }
            return object.mapValues { decode($0, browser: browser) ?? NSNull() }
        case let array as [Any]:
            return array.map { decode($0, browser: browser) ?? NSNull() }
        default:
            return value
        }
    }
}

/// A cookie as the browser holds it (WebDriver §14 cookie serialisation).
public struct BrowserCookie: Sendable, Equatable {
    /// The name.
    public var name: String
    /// The value.
    public var value: String
    /// The path it is sent for.
    public var path: String
    /// The domain (a host-only cookie shows its host).
    public var domain: String?
    /// Whether it is sent over HTTPS only.
    public var secure: Bool
    /// Whether scripts cannot read it.
    public var httpOnly: Bool
    /// `Strict`, `Lax` or `None`.
    public var sameSite: String?
    /// Expiry in seconds since 1970, or nil for a session cookie.
    public var expiry: Int?

    /// Describes a cookie; the defaults give a session cookie for `/` of the current host.
    public init(
        name: String, value: String, path: String = "/", domain: String? = nil, secure: Bool = false,
        httpOnly: Bool = false, sameSite: String? = nil, expiry: Int? = nil
    ) {
        self.name = name
        self.value = value
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
        self.expiry = expiry
    }

    init?(json: Any) {
        guard let object = json as? [String: Any], let name = object["name"] as? String,
            let value = object["value"] as? String
        else { return nil }
        self.init(
            name: name, value: value, path: (object["path"] as? String) ?? "/", domain: object["domain"] as? String,
            secure: (object["secure"] as? Bool) ?? false, httpOnly: (object["httpOnly"] as? Bool) ?? false,
            sameSite: object["sameSite"] as? String, expiry: object["expiry"] as? Int)
    }

    var json: [String: Any] {
        var object: [String: Any] = [
            "name": name, "value": value, "path": path, "secure": secure, "httpOnly": httpOnly,
        ]
        if let domain { object["domain"] = domain }
        if let sameSite { object["sameSite"] = sameSite }
        if let expiry { object["expiry"] = expiry }
        return object
    }
}
