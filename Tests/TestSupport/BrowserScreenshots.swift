import Foundation
import Synchronization

// Screenshots as PNG files, for people to look at (the issue keeps the key ones under docs/screenshots/);
// tests assert on the DOM, never on pixels.

extension Browser {
    /// Where ``screenshot(named:fullPage:)`` writes: `PORTCULLIS_SCREENSHOT_DIR` when set, else
    /// `.build/screenshots` in the package.
    public static var screenshotDirectory: URL {
        if let configured = ProcessInfo.processInfo.environment["PORTCULLIS_SCREENSHOT_DIR"], !configured.isEmpty {
            return URL(fileURLWithPath: configured, isDirectory: true)
        }
        return packageRoot.appendingPathComponent(".build/screenshots", isDirectory: true)
    }

    /// Writes a PNG of the page to `url` (replacing it): the whole page when `fullPage`, else the viewport.
    ///
    /// WebDriver's screenshot command captures the viewport only (an element screenshot is clipped to it
    /// too), so a full page is taken by growing the viewport to the document's height (at most 16,384 px,
    /// Chromium's largest texture), taking the screenshot and restoring the size: only standard commands.
    /// Layouts sized by the viewport (`min-height: 100vh`) stretch to that height.
    public func screenshot(to url: URL, fullPage: Bool = true) async throws {
        let png = try await screenshotPNG(fullPage: fullPage)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try png.write(to: url, options: .atomic)
    }

    /// Writes `<name>.png` into ``screenshotDirectory`` (see ``screenshot(to:fullPage:)``) and returns its URL.
    @discardableResult
    public func screenshot(named name: String, fullPage: Bool = true) async throws -> URL {
        let url = Self.screenshotDirectory.appendingPathComponent(name + ".png")
        try await screenshot(to: url, fullPage: fullPage)
        return url
    }

    /// Writes `<name>-<width>.png` for each of `widths` (the viewport resized to each, then back) and returns
    /// the files: the issue asks for every page at 1280 and 375 px.
    @discardableResult
    public func screenshots(named name: String, widths: [Int] = [1280, 375], fullPage: Bool = true) async throws
        -> [URL]
    {
        let original = try await viewportSize()
        var files: [URL] = []
        do {
            for width in widths {
                try await resize(width: width, height: original.height)
                files.append(try await screenshot(named: "\(name)-\(width)", fullPage: fullPage))
            }
        } catch {
            try? await resize(width: original.width, height: original.height)
            throw error
        }
        try await resize(width: original.width, height: original.height)
        return files
    }

    /// The PNG bytes of the viewport, or of the whole page.
    public func screenshotPNG(fullPage: Bool = true) async throws -> Data {
        guard fullPage else { return try await viewportPNG() }
        let viewport = try await viewportSize()
        let documentHeight = try await execute(
            """
            const root = document.documentElement, body = document.body;
            return Math.ceil(Math.max(root.scrollHeight, root.offsetHeight, body ? body.scrollHeight : 0));
            """, as: Int.self)
        let height = min(documentHeight, 16_384)
        guard height > viewport.height else { return try await viewportPNG() }
        try await resize(width: viewport.width, height: height)
        let png: Data
        do {
            png = try await viewportPNG()
        } catch {
            try? await resize(width: viewport.width, height: viewport.height)
            throw error
        }
        try await resize(width: viewport.width, height: viewport.height)
        return png
    }

    /// `GET …/screenshot`: the viewport as a base64 PNG.
    private func viewportPNG() async throws -> Data {
        let encoded = try await string(.get, "/screenshot")
        guard let png = Data(base64Encoded: encoded), png.starts(with: [0x89, 0x50, 0x4E, 0x47]) else {
            throw WebDriverError(
                command: "GET \(session)/screenshot", status: 200, error: "unexpected result",
                message: "not a base64 PNG (\(encoded.prefix(40))…)")
        }
        return png
    }

    /// What the browser shows, for a failed test's output: the address, the title, the start of the visible
    /// text, and a full-page screenshot written as `failure-<n>.png` into ``screenshotDirectory`` (numbered
    /// per test process). Never throws: each part that fails is left out.
    public func describeFailure() async -> String {
        var lines = ["*** The browser showed, when the test failed:"]
        // An open dialog blocks every other command until it is answered.
        if let dialog = try? await alertText { lines.append("    open dialog: \(dialog)") }
        lines.append("    address: " + ((try? await currentURL) ?? "(unknown)"))
        if let title = try? await title { lines.append("    title: \(title)") }
        if let text = try? await execute("return document.body ? document.body.innerText : ''", as: String.self) {
            lines.append("    text: " + text.prefix(1500).split(separator: "\n").joined(separator: "\n          "))
        }
        let number = failureScreenshots.add(1, ordering: .relaxed).newValue
        if let file = try? await screenshot(named: "failure-\(number)") {
            lines.append("    screenshot: \(file.path)")
        }
        lines.append("    the end of the driver's log:")
        lines.append(logTail(1500))
        return lines.joined(separator: "\n")
    }
}

/// How many failure screenshots this process has written, for their names.
private let failureScreenshots = Atomic<Int>(0)
