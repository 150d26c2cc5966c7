import Diagnostics
import Foundation

/// A `chromedriver` on a free loopback port. It runs in a process group of its own (Foundation's doing), which
/// the Chromium it launches (browser, zygotes, renderers) inherits, so one signal to the group ends them all.
///
/// Chromium's crash handlers (`chrome_crashpad_handler`) start sessions of their own, but they exit when the
/// browser they watch is gone.
final class ChromeDriverProcess {
    /// `http://127.0.0.1:<port>`.
    let baseURL: String
    private let process: BackgroundProcess

    /// Starts `executable` in `directory`, logging (its own and Chromium's output) to `chromedriver.log`
    /// there, with the inherited environment less the variables starting with `prefixes`, plus `environment`;
    /// the driver passes its environment on to Chromium.
    init(executable: String, directory: URL, environment: [String: String], removing prefixes: [String]) throws {
        let port = try freePort()
        baseURL = "http://127.0.0.1:\(port)"
        // Only loopback clients (the driver's default, stated for the reader).
        process = try BackgroundProcess(
            name: "chromedriver", executable: executable,
            arguments: ["--port=\(port)", "--allowed-ips=127.0.0.1", "--log-level=INFO"], environment: environment,
            removing: prefixes, directory: directory, logFile: directory.appendingPathComponent("chromedriver.log"))
    }

    /// The driver's process id, which is also its process group's id.
    var pid: Int32 { process.pid }
    /// The log file.
    var logFile: URL { process.logFile }

    /// Waits (bounded) until `GET /status` says the driver is ready for new sessions; ends early, and
    /// throws with the log, when the driver exits (a port taken, a missing library).
    func waitUntilReady(connection: WebDriverConnection, timeout: Duration) async throws {
        let process = process
        let ready = try await waitUntil(seconds: timeout.inSeconds) {
            guard process.isRunning else { return true }
            let status = try await connection.send(.get, "/status") as? [String: Any]
            return status?["ready"] as? Bool == true
        }
        guard ready, process.isRunning else {
            let log = logTail()
            stop()
            throw WebDriverError(
                command: "GET /status", status: 0, error: "driver not ready",
                message: "chromedriver at \(baseURL) did not become ready within \(timeout)\n\(log)")
        }
    }

    /// The end of the log, for failure messages.
    func logTail(_ characters: Int = 4000) -> String { process.logTail(characters) }

    /// Kills the driver and the browser (the whole group) and reaps the driver; safe to call more than once.
    func stop() { process.stopGroup() }

    /// Whether a process of group `group` is still running (not a zombie), from `/proc/<pid>/stat`.
    static func hasLiveMembers(group: Int32) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        return entries.contains { entry in
            guard Int32(entry) != nil,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return false }
            // After "pid (comm)": state, ppid, pgrp; comm may hold spaces and parentheses, hence the last ")".
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }
    }

    deinit { stop() }
}
