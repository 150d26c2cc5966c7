import Foundation
import Synchronization

/// A headless Chromium (Debian's `chromium`) driven over the W3C WebDriver protocol by its `chromedriver`,
/// for tests of the web UI in a real browser.
///
/// Each browser is its own driver process on a free loopback port, one session, and a fresh profile in a
/// temporary directory: nothing (cookies, cache, storage) carries over between tests. ``close()`` ends the
/// session, kills the driver and the browser, and removes the directory; `deinit` does the same (without
/// the polite session end) when a test threw before reaching `close()`, and ``withBrowser(javascript:colorScheme:width:height:arguments:_:)``
/// closes on every path.
///
/// ```swift
/// try await withBrowser(javascript: false) { browser in
///     try await browser.open("http://127.0.0.1:\(port)/login")
///     try await browser.find("#username").type("alice")
///     try await browser.find("button[type=submit]").click()
///     #expect(try await browser.title == "Dashboard")
/// }
/// ```
///
/// Commands wait for nothing but what the driver waits for (a navigation to load); use
/// ``find(_:timeout:)`` or ``waitUntil(timeout:_:_:)`` to wait (bounded) for something to appear.
public final class Browser: @unchecked Sendable {
    /// The `prefers-color-scheme` the pages see.
    public enum ColorScheme: String, Sendable {
        /// `prefers-color-scheme: light` matches.
        case light
        /// `prefers-color-scheme: dark` matches (and the browser's own controls are dark).
        case dark
    }

    /// Debian's chromedriver (package `chromium-driver`, same version as `chromium`).
    public static let driverExecutable = "/usr/bin/chromedriver"
    /// Chromium's own executable. Debian's `/usr/bin/chromium` is a shell wrapper that sources
    /// `/etc/chromium.d` (extensions, API keys, flags that vary by machine), so the tests skip it.
    public static let browserExecutable = "/usr/lib/chromium/chromium"

    /// Whether both executables are installed (`.ci/install-deps test` installs them).
    public static var isInstalled: Bool {
        [driverExecutable, browserExecutable].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether the tests run under CI (`CI=true`), where a missing browser is a failure.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether browser tests run here: always under CI (so a missing browser fails them), else when
    /// installed; prints a loud SKIP line once when they do not. For `@Suite(.enabled(if: Browser.shouldRun))`.
    public static let shouldRun: Bool = {
        if !isInstalled && !isCI { printSkip("browser tests") }
        return isInstalled || isCI
    }()

    /// Whether page scripts run (off: Chromium's content setting blocks them; the driver's own
    /// ``execute(_:_:)`` still works).
    public let javascript: Bool
    /// The colour scheme pages see.
    public let colorScheme: ColorScheme
    /// The driver's log (Chromium's output too), for failure messages.
    public var logFile: URL { driver.logFile }

    let connection: WebDriverConnection
    /// `/session/<id>`, the prefix of every command of this session.
    let session: String
    private let driver: ChromeDriverProcess
    private let directory: TemporaryDirectory
    private let closed = Mutex(false)

    private init(
        javascript: Bool, colorScheme: ColorScheme, connection: WebDriverConnection, session: String,
        driver: ChromeDriverProcess, directory: TemporaryDirectory
    ) {
        self.javascript = javascript
        self.colorScheme = colorScheme
        self.connection = connection
        self.session = session
        self.driver = driver
        self.directory = directory
    }

    /// Starts a headless Chromium whose viewport (what the page lays out in, in CSS pixels) is `width` ×
    /// `height`, with page scripts on or off and the given colour scheme; `arguments` are extra Chromium flags.
    ///
    /// When Chromium or chromedriver is missing it prints a loud SKIP line and returns nil, except under
    /// `CI=true`, where it throws.
    public static func start(
        javascript: Bool = true, colorScheme: ColorScheme = .light, width: Int = 1280, height: Int = 900,
        arguments: [String] = []
    ) async throws -> Browser? {
        guard isInstalled else {
            let missing = [driverExecutable, browserExecutable].filter {
                !FileManager.default.isExecutableFile(atPath: $0)
            }
            if isCI {
                throw WebDriverError(
                    command: "start", status: 0, error: "browser missing",
                    message: "\(missing.joined(separator: ", ")) missing under CI=true; `.ci/install-deps test` "
                        + "installs Debian's chromium and chromium-driver")
            }
            printSkip("a browser test")
            return nil
        }
        let directory = try TemporaryDirectory("browser")
        do {
            let home = directory.path("home"), profile = directory.path("profile")
            for folder in [home, profile] {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            // The browser inherits the driver's environment: a private HOME keeps root's (or the
            // developer's) real profile, NSS database and caches out of it; UTC and a fixed locale make dates
            // and formatting the same on every machine; no display, since it is headless.
            let driver = try ChromeDriverProcess(
                executable: driverExecutable, directory: directory.url,
                environment: ["HOME": home.path, "TZ": "UTC", "LANG": "C.UTF-8", "LANGUAGE": "en"],
                removing: ["DISPLAY", "WAYLAND_DISPLAY", "XDG_", "CHROME_", "GOOGLE_", "LC_"])
            let connection = WebDriverConnection(baseURL: driver.baseURL)
            do {
                try await driver.waitUntilReady(connection: connection, timeout: .seconds(30))
                let capabilities = Self.capabilities(
                    javascript: javascript, colorScheme: colorScheme, width: width, height: height,
                    profile: profile.path, extra: arguments)
                let answer = try await connection.send(.post, "/session", ["capabilities": capabilities])
                guard let id = (answer as? [String: Any])?["sessionId"] as? String else {
                    throw WebDriverError(
                        command: "POST /session", status: 200, error: "invalid answer",
                        message: "no sessionId in \(String(describing: answer))")
                }
                let browser = Browser(
                    javascript: javascript, colorScheme: colorScheme, connection: connection, session: "/session/\(id)",
                    driver: driver, directory: directory)
                do {
                    try await browser.resize(width: width, height: height)
                } catch {
                    await browser.close()
                    throw error
                }
                return browser
            } catch let error as WebDriverError {
                let log = driver.logTail()
                driver.stop()
                throw WebDriverError(
                    command: error.command, status: error.status, error: error.error,
                    message: error.message + "\n\(log)"
                )
            } catch {
                driver.stop()
                throw error
            }
        } catch {
            directory.remove()
            throw error
        }
    }

    /// The W3C capabilities of a new session (WebDriver §7), with Chromium's options.
    private static func capabilities(
        javascript: Bool, colorScheme: ColorScheme, width: Int, height: Int, profile: String, extra: [String]
    ) -> [String: Any] {
        var arguments = [
            // New headless mode: the real browser without a window, the same rendering as headed Chromium.
            "--headless=new",
            // Chromium's sandbox needs user namespaces or a setuid helper, neither of which root in a CI
            // container has; the pages are our own, on loopback.
            "--no-sandbox",
            // /dev/shm is 64 MB in containers; renderers crash on big pages when it fills.
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--user-data-dir=\(profile)",
            "--window-size=\(width),\(height)",
            // Overlay scrollbars take no layout width: a 375 px viewport lays out 375 px, as on a phone, and
            // screenshots are of the page alone.
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            // Nothing leaves the machine: no component updates, pings or background fetches, and no name
            // resolves but localhost and loopback addresses (the rules match address literals too, so
            // 127.0.0.1 must be excluded explicitly).
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-domain-reliability", "--no-pings", "--disable-breakpad", "--disable-extensions",
            "--no-first-run", "--no-default-browser-check",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.* , EXCLUDE [::1]",
        ]
        // Blink's preferred scheme decides `prefers-color-scheme` directly (0 dark, 1 light); for dark,
        // --force-dark-mode also darkens the browser's native controls (form fields, scrollbars).
        switch colorScheme {
        case .light: arguments.append("--blink-settings=preferredColorScheme=1")
        case .dark: arguments += ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]
        }
        arguments += extra
        var preferences: [String: Any] = ["intl.accept_languages": "en-US"]
        // The managed (policy) content setting: 2 blocks scripts on every site, as a user who turned
        // JavaScript off does; pages must still work (the UI is server-rendered).
        if !javascript { preferences["profile.managed_default_content_settings.javascript"] = 2 }
        let options: [String: Any] = ["binary": browserExecutable, "args": arguments, "prefs": preferences]
        return [
            "alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": options,
                // Dialogs stay open until a test accepts or dismisses them (the default would dismiss
                // them and fail the next command).
                "unhandledPromptBehavior": "ignore",
                "pageLoadStrategy": "normal",
                // No implicit waits (a missing element answers at once, so absence is cheap to check);
                // bounded page loads and scripts.
                "timeouts": ["implicit": 0, "pageLoad": 60_000, "script": 30_000],
            ] as [String: Any]
        ]
    }

    /// Prints the SKIP line local runs without a browser show.
    private static func printSkip(_ what: String) {
        FileHandle.standardError.write(
            Data(
                """

                *** SKIPPED \(what): Chromium is missing (\(driverExecutable), \(browserExecutable)).
                *** Install Debian's chromium and chromium-driver with `.ci/install-deps test`.


                """.utf8))
    }

    /// Ends the session (Chromium exits), kills the driver and anything left of the browser, and removes
    /// the profile; safe to call more than once. Never throws: it runs on failure paths.
    public func close() async {
        let first = closed.withLock { wasClosed in
            defer { wasClosed = true }
            return !wasClosed
        }
        guard first else { return }
        _ = try? await connection.send(.delete, session)
        driver.stop()
        await removeDirectory()
    }

    /// Removes the temporary directory once no process of the driver's group is alive (bounded). Zombies
    /// do not count: they write nothing, and a container's PID 1 may reap orphans only every second or so.
    private func removeDirectory() async {
        let deadline = ContinuousClock.now + .seconds(5)
        while ChromeDriverProcess.hasLiveMembers(group: driver.pid) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        directory.remove()
    }

    /// The process group of the driver and the browser it started (the driver's process id).
    public var processGroup: Int32 { driver.pid }

    /// Whether a process of `group` is still running (zombies aside): after ``close()``, none of a
    /// browser's ``processGroup``.
    public static func hasRunningProcesses(inGroup group: Int32) -> Bool {
        ChromeDriverProcess.hasLiveMembers(group: group)
    }

    /// The end of the driver's log (Chromium's messages included), for failure messages.
    public func logTail(_ characters: Int = 4000) -> String { driver.logTail(characters) }

    /// A browser a test dropped without ``close()`` (it threw first): kill the group and remove the profile at
    /// once. A killed process runs no more code, so nothing writes into the directory being removed.
    deinit {
        let wasClosed = closed.withLock { $0 }
        if !wasClosed {
            driver.stop()
            directory.remove()
        }
    }
}

/// Starts a browser (see ``Browser/start(javascript:colorScheme:width:height:arguments:)``), runs `body`
/// with it, and closes it whether `body` returned or threw; when it threw, first prints what the browser
/// showed (``Browser/describeFailure()``). Without Chromium it skips `body` with a loud line, except under
/// `CI=true`, where it throws.
public func withBrowser(
    javascript: Bool = true, colorScheme: Browser.ColorScheme = .light, width: Int = 1280, height: Int = 900,
    arguments: [String] = [], _ body: (Browser) async throws -> Void
) async throws {
    guard
        let browser = try await Browser.start(
            javascript: javascript, colorScheme: colorScheme, width: width, height: height, arguments: arguments)
    else { return }
    do {
        try await body(browser)
    } catch {
        FileHandle.standardError.write(Data((await browser.describeFailure() + "\n").utf8))
        await browser.close()
        throw error
    }
    await browser.close()
}
