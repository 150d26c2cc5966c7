import Foundation

/// One configuration fragment held in memory: its display name (normally its path) and its YAML text.
public struct ConfigurationFragment: Sendable, Hashable {
    /// The path shown in issues (`config.d/00-server.yaml`); fragments load in byte-wise order of it.
    public var name: String
    /// The YAML text.
    public var text: String

    /// Creates a fragment.
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// Loads `config.d/*.yaml` fragments and `PORTCULLIS_*` variables into a validated
/// ``PortcullisConfiguration``, reporting every problem at once.
///
/// Order of precedence: environment variable > later fragment > earlier fragment > default. Fragments
/// merge key by key (``FragmentMerge``): mappings merge, lists and scalars replace, and entries of
/// `registries` and `providers` are matched by `name` and `id`.
public enum ConfigurationLoader {
    /// The variable naming the configuration directory when `--config` is not given.
    public static let directoryVariable = "PORTCULLIS_CONFIG"
    /// The directory used when neither `--config` nor `PORTCULLIS_CONFIG` is given.
    public static let defaultDirectory = "config.d"

    /// The directory to load: the `--config` value, else `PORTCULLIS_CONFIG`, else `config.d`.
    public static func directory(commandLineValue: String?, environment: [String: String]) -> String {
        if let commandLineValue, !commandLineValue.isEmpty { return commandLineValue }
        if let value = environment[directoryVariable], !value.isEmpty { return value }
        return defaultDirectory
    }

    /// The fragment paths in `directory` in load order: `*.yaml` and `*.yml`, byte-wise sorted,
    /// skipping hidden files and anything else (`*.example`, editor backups).
    ///
    /// - Throws: ``ConfigurationError`` when the directory cannot be listed.
    public static func fragmentPaths(in directory: String) throws(ConfigurationError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigurationError(
                ConfigIssue(
                    .unreadable,
                    at: SourceLocation(file: directory, line: 0, column: 0),
                    keyPath: "",
                    message: "cannot list the configuration directory (set --config DIR or \(directoryVariable))"
                )
            )
        }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return
            names
            .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { prefix + $0 }
    }

    /// Loads every fragment of `directory` and applies `environment`.
    ///
    /// - Throws: ``ConfigurationError`` with every issue found: unreadable or malformed files,
    ///   unknown keys, wrong types, invalid values, duplicate sections or ids, bad variables.
    public static func load(
        directory: String,
        environment: [String: String]
    ) throws(ConfigurationError) -> PortcullisConfiguration {
        let report = inspect(directory: directory, environment: environment)
        guard report.issues.isEmpty, let configuration = report.configuration else {
            throw ConfigurationError(report.issues)
        }
        return configuration
    }

    /// Loads every fragment of `directory` as ``load(directory:environment:)`` does, but returns the
    /// configuration as far as it could be decoded together with every issue, so `config check` and
    /// `serve` can run their further checks (files, secrets, providers) and report all problems at once.
    /// The configuration is nil only when no fragment could be listed.
    public static func inspect(directory: String, environment: [String: String]) -> ConfigurationReport {
        do {
            return try inspectOrThrow(directory: directory, environment: environment)
        } catch {
            return ConfigurationReport(configuration: nil, issues: error.issues)
        }
    }

    private static func inspectOrThrow(
        directory: String,
        environment: [String: String]
    ) throws(ConfigurationError) -> ConfigurationReport {
        let paths = try fragmentPaths(in: directory)
        guard !paths.isEmpty else {
            throw ConfigurationError(
                ConfigIssue(
                    .unreadable,
                    at: SourceLocation(file: directory, line: 0, column: 0),
                    keyPath: "",
                    message: "no *.yaml fragments in the configuration directory"
                )
            )
        }
        var log = IssueLog()
        var sources: [(name: String, bytes: [UInt8])] = []
        for path in paths {
            if let data = FileManager.default.contents(atPath: path) {
                sources.append((path, Array(data)))
            } else {
                log.add(.unreadable, at: SourceLocation(file: path, line: 0, column: 0), "", "cannot read the fragment")
            }
        }
        return decode(sources: sources, environment: environment, log: log)
    }

    /// Loads in-memory fragments (sorted byte-wise by name, as files would be) and applies
    /// `environment`; the test and tooling twin of ``load(directory:environment:)``.
    ///
    /// - Throws: ``ConfigurationError`` with every issue found.
    public static func load(
        fragments: [ConfigurationFragment],
        environment: [String: String] = [:]
    ) throws(ConfigurationError) -> PortcullisConfiguration {
        let sorted = fragments.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let report = decode(
            sources: sorted.map { ($0.name, Array($0.text.utf8)) },
            environment: environment,
            log: IssueLog()
        )
        guard report.issues.isEmpty, let configuration = report.configuration else {
            throw ConfigurationError(report.issues)
        }
        return configuration
    }

    private static func decode(
        sources: [(name: String, bytes: [UInt8])],
        environment: [String: String],
        log initialLog: IssueLog
    ) -> ConfigurationReport {
        var state = DecodeState()
        state.log = initialLog
        var documents: [(name: String, root: ConfigNode)] = []
        for source in sources {
            switch YAMLParser.parse(source.bytes, file: source.name) {
            case .success(let root?): documents.append((source.name, root))
            case .success(nil): break
            case .failure(let error): state.log.append(contentsOf: error)
            }
        }
        var configuration = PortcullisConfiguration()
        configuration.fragments = sources.map(\.name)
        let merged = FragmentMerge.merge(documents, log: &state.log)
        // Every value merged keeps where it was written, inside providers' `config:` blocks too, so the
        // origins name the fragment that set it (decoding records the same places for what it reads).
        recordLocations(of: merged, at: "", into: &state.locations)
        decodeMapping(merged, into: &configuration, fields: PortcullisConfiguration.fields, path: "", state: &state)
        for field in PortcullisConfiguration.fields {
            field.applyEnvironment(&configuration, field.key, environment, &state)
        }
        checkUnknownVariables(environment, state: &state)
        Validation.check(configuration, state: &state)
        configuration.origins = ConfigOrigins(state.locations)
        return ConfigurationReport(
            configuration: configuration, issues: sorted(state.log.issues, fragments: sources.map(\.name)))
    }

    /// Issues in reading order: by fragment load order, then line and column; environment and defaults last.
    public static func sorted(_ issues: [ConfigIssue], fragments: [String]) -> [ConfigIssue] {
        let rank = Dictionary(fragments.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return issues.enumerated().sorted { a, b in
            let left = (rank[a.element.file] ?? Int.max, a.element.line, a.element.column, a.offset)
            let right = (rank[b.element.file] ?? Int.max, b.element.line, b.element.column, b.offset)
            return left < right
        }.map(\.element)
    }

    /// Notes where every node below `node` was written, by key path (`providers[1].config.url`).
    private static func recordLocations(
        of node: ConfigNode, at path: String, into locations: inout [String: SourceLocation]
    ) {
        if !path.isEmpty { locations[path] = node.location }
        switch node.kind {
        case .scalar: break
        case .sequence(let items):
            for (index, item) in items.enumerated() {
                recordLocations(of: item, at: "\(path)[\(index)]", into: &locations)
            }
        case .mapping(let entries):
            for entry in entries { recordLocations(of: entry.value, at: join(path, entry.key), into: &locations) }
        }
    }

    /// Reports `PORTCULLIS_<SECTION>_*` variables that match no key, with the closest known one.
    private static func checkUnknownVariables(_ environment: [String: String], state: inout DecodeState) {
        let keys = ConfigurationSchema.allKeys
        let known = Set(keys.compactMap(\.environmentVariable))
        // Lists inside sections (token.signingKeys) have no variable either; say so rather than suggest.
        let lists = Set(
            keys.filter { $0.environmentVariable == nil && !$0.path.contains("[]") }
                .map { ConfigurationSchema.environmentVariable(for: $0.path) })
        let sections = PortcullisConfiguration.fields.map(\.key)
        for name in environment.keys.sorted() where name.hasPrefix("PORTCULLIS_") {
            if name == directoryVariable || known.contains(name) || state.secretVariables.contains(name) { continue }
            let rest = name.dropFirst("PORTCULLIS_".count)
            guard
                let section = sections.first(where: { rest.hasPrefix($0.uppercased() + "_") || rest == $0.uppercased() }
                )
            else {
                continue
            }
            let message: String
            if PortcullisConfiguration.listSections.contains(section) || lists.contains(name) {
                message = "this variable names a list, which cannot be set from the environment; edit a fragment"
            } else {
                message = "no configuration key has this variable" + Suggestion.hint(for: name, in: known.sorted())
            }
            state.log.add(.unknownEnvironmentVariable, at: .environment(name), "", message)
        }
    }
}

/// What loading found: the configuration as far as it could be decoded, and every issue in reading order.
public struct ConfigurationReport: Sendable {
    /// The decoded configuration (defaults where a value was wrong); nil when no fragment could be read.
    public var configuration: PortcullisConfiguration?
    /// Every problem found; empty when the configuration is valid.
    public var issues: [ConfigIssue]

    /// Creates a report.
    public init(configuration: PortcullisConfiguration?, issues: [ConfigIssue]) {
        self.configuration = configuration
        self.issues = issues
    }
}

/// Checks that span several keys, after files and environment are applied.
enum Validation {
    static func check(_ configuration: PortcullisConfiguration, state: inout DecodeState) {
        let tls = configuration.server.tls
        if (tls.certificate == nil) != (tls.key == nil) {
            let (present, missing) = tls.certificate == nil ? ("key", "certificate") : ("certificate", "key")
            state.log.add(
                .missingKey,
                at: location("server.tls.\(present)", state),
                "server.tls.\(missing)",
                "server.tls.\(present) is set, so server.tls.\(missing) is required too (set both or neither)"
            )
        }
        if configuration.storage.driver == .postgres && configuration.storage.postgres.url == nil {
            state.log.add(
                .missingKey,
                at: location("storage.driver", state),
                "storage.postgres.url",
                "the postgres driver needs storage.postgres.url ({file: PATH} or {env: NAME})"
            )
        }
        unique(
            configuration.registries.map(\.name),
            list: "registries",
            key: "name",
            what: "registry name",
            state: &state
        )
        unique(
            configuration.registries.map(\.service),
            list: "registries",
            key: "service",
            what: "registry service",
            state: &state
        )
        unique(configuration.providers.map(\.id), list: "providers", key: "id", what: "provider id", state: &state)
        let workload = configuration.workloadIdentity
        unique(
            workload.issuers.map(\.name), list: "workloadIdentity.issuers", key: "name", what: "workload issuer name",
            state: &state)
        unique(
            workload.policies.map(\.name), list: "workloadIdentity.policies", key: "name", what: "trust policy name",
            state: &state)
        WorkloadIdentityRules.check(workload, state: &state, location: location)
    }

    private static func unique(_ values: [String], list: String, key: String, what: String, state: inout DecodeState) {
        var firstIndex: [String: Int] = [:]
        for (index, value) in values.enumerated() where !value.isEmpty {
            if let first = firstIndex[value] {
                state.log.add(
                    .duplicateIdentifier,
                    at: location("\(list)[\(index)].\(key)", state),
                    "\(list)[\(index)].\(key)",
                    "duplicate \(what) '\(value)' (first defined at \(location("\(list)[\(first)].\(key)", state)))"
                )
            } else {
                firstIndex[value] = index
            }
        }
    }

    /// Where `path` was set, else its closest set ancestor, else nowhere in particular.
    private static func location(_ path: String, _ state: DecodeState) -> SourceLocation {
        var candidate = path
        while true {
            if let location = state.locations[candidate] { return location }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        return SourceLocation(file: "(defaults)", line: 0, column: 0)
    }
}
