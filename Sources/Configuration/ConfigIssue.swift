import Diagnostics

/// One problem found while loading the configuration, located at `file:line:column` and a key path.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable kind of problem; tests and tooling match on it, never on the text.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The directory or a fragment could not be read.
        case unreadable = "config.unreadable"
        /// The YAML is malformed.
        case syntax = "config.syntax"
        /// Valid YAML that configuration does not accept (anchors, aliases, tags, several documents).
        case unsupportedYAML = "config.unsupported_yaml"
        /// The same key written twice in one mapping.
        case duplicateKey = "config.duplicate_key"
        /// Two providers with the same `id`, or two registries with the same `name`, in one fragment (across
        /// fragments the later entry overrides the earlier key by key).
        case duplicateIdentifier = "config.duplicate_identifier"
        /// A key the schema does not know.
        case unknownKey = "config.unknown_key"
        /// A `PORTCULLIS_*` environment variable that matches no key.
        case unknownEnvironmentVariable = "config.unknown_environment_variable"
        /// A value of the wrong shape or type (a list where a mapping belongs, `yes` for a boolean).
        case wrongType = "config.wrong_type"
        /// A required key is absent.
        case missingKey = "config.missing_key"
        /// A value of the right type that is not acceptable (port out of range, unknown enum value).
        case invalidValue = "config.invalid_value"
        /// A secret written inline instead of `{file: …}` or `{env: …}`.
        case inlineSecret = "config.inline_secret"
        /// A shared secret too short to resist guessing (under 16 bytes).
        case weakSecret = "config.weak_secret"
        /// A file the configuration names (a signing key, a certificate, a TLS key) is missing or unreadable.
        case missingFile = "config.missing_file"
        /// A database, key or secret file is open to group or others.
        case looseFileMode = "config.loose_file_mode"
    }

    /// The kind of problem.
    public var code: Code
    /// The fragment path, or `$NAME` for an environment variable.
    public var file: String
    /// The 1-based line (0 for an environment variable).
    public var line: Int
    /// The 1-based column (0 for an environment variable).
    public var column: Int
    /// The dotted key path (`server.publicURL`, `providers[1].id`); empty for file-level problems.
    public var keyPath: String
    /// What is wrong, and how to fix it when that is known.
    public var message: String

    /// Creates an issue at `location`.
    public init(_ code: Code, at location: SourceLocation, keyPath: String, message: String) {
        self.code = code
        self.file = location.file
        self.line = location.line
        self.column = location.column
        self.keyPath = keyPath
        self.message = message
    }

    /// Where the issue is.
    public var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    /// `config.d/00-server.yaml:3:5: server.publcURL: unknown key; did you mean 'publicURL'?`
    public var description: String {
        keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// Every problem found while loading the configuration, reported together.
public struct ConfigurationError: CodedError, Sendable, Hashable {
    /// The one code of a configuration that does not load; each issue carries its own finer code.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The configuration has at least one issue.
        case invalid = "config.invalid"
    }

    /// The problems in the order they were found (file order, then environment).
    public var issues: [ConfigIssue]

    /// Creates an error from several issues.
    public init(_ issues: [ConfigIssue]) { self.issues = issues }

    /// Creates an error from one issue.
    public init(_ issue: ConfigIssue) { self.issues = [issue] }

    /// Always `.invalid`: the issues say what is wrong.
    public var code: Code { .invalid }

    /// One issue a line (what `description` shows, without the code).
    public var reason: String { issues.map(\.description).joined(separator: "\n") }

    /// One issue a line, ready for standard error: each line locates one problem, so no code in front.
    public var description: String { reason }

    /// Two configuration errors are equal when they list the same issues (every one has the same code).
    public static func == (lhs: ConfigurationError, rhs: ConfigurationError) -> Bool { lhs.issues == rhs.issues }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) { hasher.combine(issues) }
}

/// Collects issues while a decoder keeps going, so one run reports every problem.
struct IssueLog {
    var issues: [ConfigIssue] = []

    mutating func add(_ code: ConfigIssue.Code, at location: SourceLocation, _ keyPath: String, _ message: String) {
        issues.append(ConfigIssue(code, at: location, keyPath: keyPath, message: message))
    }

    mutating func append(contentsOf error: ConfigurationError) { issues += error.issues }
}

/// Suggests the closest known name for a misspelt one.
enum Suggestion {
    /// The candidate closest to `name`, if it is close enough to be a likely typo; matching ignores
    /// case and `_`/`-` so Portus-style `public_url` finds `publicURL`.
    static func closest(to name: String, in candidates: [String]) -> String? {
        // Long names are not typos of short keys, and bound the quadratic distance on hostile input.
        guard name.count <= 64 else { return nil }
        let folded = fold(name)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(folded, fold(candidate))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        // A truncated name (`warn` for `warning`) is a likely slip even when far in edits.
        if folded.count >= 3, let extended = candidates.first(where: { fold($0).starts(with: folded) }) {
            if best == nil || best!.distance > max(2, folded.count / 3) { return extended }
        }
        guard let best else { return nil }
        let tolerance = max(2, folded.count / 3)
        return best.distance <= tolerance ? best.candidate : nil
    }

    /// `; did you mean 'x'?` or the empty string.
    static func hint(for name: String, in candidates: [String]) -> String {
        closest(to: name, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    private static func fold(_ text: String) -> [Character] {
        Array(text.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    /// Levenshtein distance with two rolling rows.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
