/// Where each configuration value was written (`file:line:column` or `$VARIABLE`), by key path, so checks
/// made after loading (files, secrets, providers' `config:` blocks) can point at the line to change.
///
/// Not part of the configuration's value: every two instances compare equal and hash alike, so two
/// configurations that differ only in where they were written are equal.
public struct ConfigOrigins: Sendable, Hashable {
    private var locations: [String: SourceLocation]

    /// No known locations: every key path is "(defaults)".
    public init() { locations = [:] }

    init(_ locations: [String: SourceLocation]) { self.locations = locations }

    /// Where `keyPath` (`storage.sqlite.path`, `registries[0].eventsSecret`) was written, else where its
    /// closest written ancestor was, else `(defaults)`.
    public func location(of keyPath: String) -> SourceLocation {
        var candidate = keyPath
        while true {
            if let location = locations[candidate] { return location }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        return SourceLocation(file: "(defaults)", line: 0, column: 0)
    }

    /// Where the value at `keyPath` came from, as `config check --origins` shows it: `file:line` of the
    /// fragment that set it, `$VARIABLE` for the environment, or `default` when neither wrote it (a key
    /// left out of a written list entry is a default too: the entry's place is not where it came from).
    public func origin(of keyPath: String) -> String {
        guard let location = locations[keyPath] else { return "default" }
        return location.isEnvironment ? location.file : "\(location.file):\(location.line)"
    }

    /// Whether `keyPath` itself was written in a fragment or the environment.
    public func isWritten(_ keyPath: String) -> Bool { locations[keyPath] != nil }

    /// Always true: origins are not part of a configuration's value.
    public static func == (lhs: ConfigOrigins, rhs: ConfigOrigins) -> Bool { true }

    /// Hashes nothing, in keeping with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {}
}
