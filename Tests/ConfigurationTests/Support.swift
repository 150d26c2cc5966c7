import Foundation

@testable import Configuration

/// Loads in-memory fragments named `config.d/<name>`.
func load(
    _ files: [(String, String)],
    environment: [String: String] = [:]
) throws(ConfigurationError) -> PortcullisConfiguration {
    try ConfigurationLoader.load(
        fragments: files.map { ConfigurationFragment(name: "config.d/" + $0.0, text: $0.1) },
        environment: environment
    )
}

/// The issues loading `files` reports (empty when it loads).
func issues(_ files: [(String, String)], environment: [String: String] = [:]) -> [ConfigIssue] {
    do {
        _ = try load(files, environment: environment)
        return []
    } catch {
        return error.issues
    }
}

/// The issue lines loading `files` reports.
func report(_ files: [(String, String)], environment: [String: String] = [:]) -> [String] {
    issues(files, environment: environment).map(\.description)
}

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A fresh temporary directory holding `files`.
func temporaryDirectory(_ files: [String: String]) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "portcullis-config-\(UUID().uuidString)"
    )
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for (name, text) in files {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    return directory.path
}
