import Administration
import CryptoCore
import Diagnostics
import Foundation
import SQLiteStorage
import Storage

/// `portcullis search`, `star`, `unstar`, `starred`: parse, call `SearchService`/`StarService`, print.
enum SearchCommands {
    /// Runs `search`, `star`, `unstar` or `starred` with the arguments after the command's name.
    static func run(_ command: String, _ arguments: [String]) async throws {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(PortcullisCommand.usage)
            return
        }
        switch command {
        case "star": try await star(arguments)
        case "unstar": try await unstar(arguments)
        case "starred": try await starred(arguments)
        default: try await search(arguments)
        }
    }

    /// `search QUERY [--as USER] [--kind repository,tag,namespace,team] [--page N] [--per-page N]`: without
    /// `--as` the operator at the shell searches as an administrator (they can read the database anyway).
    static func search(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let query = try parsed.positional(0, "search query")
        let actor = parsed.option("as")
        let kindList = parsed.option("kind")
        let page = try pageRequest(&parsed)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        var kinds: Set<SearchKind>?
        if let kindList {
            kinds = try Set(
                kindList.split(separator: ",").map { name in
                    guard let kind = SearchKind(rawValue: String(name)) else {
                        throw CommandFailure(.usage, "--kind takes repository, tag, namespace or team, not '\(name)'")
                    }
                    return kind
                })
        }
        let results = try await withSearchErrors {
            try await context.withStore { store in
                let caller = try await caller(actor, in: store, defaultAdministrator: true)
                return try await SearchService(
                    store: store, anonymousBrowsing: context.configuration.policy.anonymousBrowsing
                ).search(query, as: caller, kinds: kinds, page: page)
            }
        }
        var rows: [[String]] = []
        for kind in SearchKind.allCases {
            guard let section = results.sections[kind] else { continue }
            for hit in section.hits {
                rows.append([kind.rawValue, printable(hit.name), detail(hit)])
            }
            printError(
                "\(kind.rawValue): \(section.hits.count) shown of \(section.isTotalExact ? "" : "at least ")\(section.total)"
            )
        }
        print(table(header: ["KIND", "NAME", "DETAIL"], rows: rows), terminator: "")
    }

    /// `star NS/REPO --as USER [--registry NAME]`.
    static func star(_ arguments: [String]) async throws { try await change(arguments, starring: true) }

    /// `unstar NS/REPO --as USER [--registry NAME]`.
    static func unstar(_ arguments: [String]) async throws { try await change(arguments, starring: false) }

    /// `starred --as USER [--page N] [--per-page N]`: the user's starred repositories.
    static func starred(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        guard let actor = parsed.option("as") else { throw CommandFailure(.usage, "say whose stars with --as USER") }
        let page = try pageRequest(&parsed)
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let found = try await withSearchErrors {
            try await context.withStore { store in
                try await StarService(store: store).starred(
                    as: try await caller(actor, in: store, defaultAdministrator: false), page: page)
            }
        }
        let rows = found.hits.map { [printable($0.name), String($0.starCount ?? 0)] }
        print(table(header: ["REPOSITORY", "STARS"], rows: rows), terminator: "")
    }

    private static func change(_ arguments: [String], starring: Bool) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let reference = try parsed.positional(0, "repository (NS/REPO)")
        guard let actor = parsed.option("as") else {
            throw CommandFailure(.usage, "say who stars with --as USER")
        }
        let registry = parsed.option("registry")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 1)
        let result = try await withSearchErrors {
            try await context.withStore { store in
                let caller = try await caller(actor, in: store, defaultAdministrator: false)
                let stars = StarService(store: store)
                return starring
                    ? try await stars.star(reference, registry: registry, as: caller)
                    : try await stars.unstar(reference, registry: registry, as: caller)
            }
        }
        let state = result.isStarred ? "starred" : "not starred"
        print(
            "\(printable(result.name)) is \(state) by \(printable(actor))\(result.changed ? "" : " (unchanged)"); "
                + "\(result.starCount) star\(result.starCount == 1 ? "" : "s")")
    }

    private static func caller(_ username: String?, in store: any Store, defaultAdministrator: Bool) async throws
        -> Caller
    {
        guard let username else {
            return defaultAdministrator ? Caller.operatorAtShell : .anonymous
        }
        guard let user = try await store.read({ try $0.user(named: username) }) else {
            throw CommandFailure(.dataError, "no user named \(printable(username))")
        }
        guard user.isEnabled else { throw CommandFailure(.dataError, "user \(printable(username)) is disabled") }
        return Caller(user)
    }

    private static func pageRequest(_ parsed: inout ParsedArguments) throws -> PageNumber {
        var page = PageNumber()
        for (name, keyPath) in [("page", \PageNumber.page), ("per-page", \PageNumber.perPage)] {
            guard let text = parsed.option(name) else { continue }
            guard let value = Int(text) else { throw CommandFailure(.usage, "--\(name) must be a number") }
            page[keyPath: keyPath] = value
        }
        return page
    }

    private static func detail(_ hit: SearchHit) -> String {
        switch hit.kind {
        case .repository: "\(hit.visibility?.rawValue ?? "-"), \(hit.starCount ?? 0) stars"
        case .tag: hit.digest.map { printable($0) } ?? "-"
        case .namespace:
            "\(hit.visibility?.rawValue ?? "-")\(hit.description.map { ", " + printable($0, limit: 80) } ?? "")"
        case .team: hit.description.map { printable($0, limit: 80) } ?? "-"
        }
    }

    private static func printable(_ text: String, limit: Int = 200) -> String { InertText.escaped(text, limit: limit) }

    private static func withSearchErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SearchError {
            switch error.code {
            case .repositoryNotFound, .ambiguousRepository: throw CommandFailure(.dataError, error.reason)
            default: throw CommandFailure(.usage, error.reason)
            }
        }
    }
}

/// `portcullis db seed`: fills the database with deterministic rows for tests and benchmarks.
enum SeedCommand {
    /// `db seed [--repositories N] [--tags N] [--users N] [--teams N] [--crowded-namespace N] [--busy-repository N]
    /// [--seed-name-prefix P] [--batch N]`.
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        func count(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = parsed.option(name) else { return fallback }
            guard let value = Int(text), (0...100_000_000).contains(value) else {
                throw CommandFailure(.usage, "--\(name) must be a number from 0 to 100000000")
            }
            return value
        }
        let repositories = try count("repositories", 100)
        let tags = try count("tags", 1000)
        let users = try count("users", 10)
        let teams = try count("teams", 10)
        let crowded = try count("crowded-namespace", 0)
        let busy = try count("busy-repository", 0)
        let batch = try count("batch", 10_000)
        guard crowded <= repositories else {
            throw CommandFailure(.usage, "--crowded-namespace cannot exceed --repositories (\(repositories))")
        }
        guard busy <= tags else { throw CommandFailure(.usage, "--busy-repository cannot exceed --tags (\(tags))") }
        let prefix = parsed.option("seed-name-prefix") ?? ""
        guard prefix.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw CommandFailure(.usage, "--seed-name-prefix takes lowercase letters, digits, '-' and '_'")
        }
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        let digestPrefix = prefix
        let plan = SeedPlan(
            teams: teams, users: users, repositories: repositories, tags: tags, prefix: prefix,
            crowdedNamespaceRepositories: crowded, busyRepositoryTags: busy, batchSize: max(1, batch),
            digest: { "sha256:" + Hex.encode(Digest.sha256("\(digestPrefix)tag\($0)")) })
        let report = try await context.withStore { store in
            guard let sqlite = store as? SQLiteStore else {
                throw CommandFailure(.configuration, "db seed works on the SQLite store only")
            }
            return try await sqlite.seed(plan)
        }
        for table in report.rows.keys.sorted() { print("\(table): \(report.rows[table] ?? 0)") }
        let seconds = report.duration.inSeconds
        print(String(format: "seeded %d rows in %.1f s (%.0f rows/s)", report.totalRows, seconds, report.rowsPerSecond))
    }
}

/// `portcullis db search-timing QUERY… [--kind K] [--as USER | --viewer admin] [--iterations N]`: times
/// store-level searches (`make bench` quotes them; see `.ci/bench-search`), printing one line per query:
/// `<query> hits=<n> total=<n>[+] p50_ms=<x> p99_ms=<y>`.
enum SearchTimingCommand {
    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: [])
        let queries = parsed.positionals
        guard !queries.isEmpty else { throw CommandFailure(.usage, "missing search query") }
        let kindName = parsed.option("kind") ?? SearchKind.tag.rawValue
        guard let kind = SearchKind(rawValue: kindName) else {
            throw CommandFailure(.usage, "--kind takes repository, tag, namespace or team")
        }
        let actor = parsed.option("as")
        let asAdministrator = parsed.option("viewer") == "admin"
        let iterationText = parsed.option("iterations") ?? "200"
        guard let iterations = Int(iterationText), (1...100_000).contains(iterations) else {
            throw CommandFailure(.usage, "--iterations must be a number from 1 to 100000")
        }
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: queries.count)
        try await context.withStore { store in
            var viewer = asAdministrator ? SearchViewer.administrator : .anonymous
            if let actor {
                guard let user = try await store.read({ try $0.user(named: actor) }) else {
                    throw CommandFailure(.dataError, "no user named \(InertText.escaped(actor))")
                }
                viewer = user.isAdmin ? .administrator : .user(user.id)
            }
            let clock = ContinuousClock()
            for query in queries {
                let request = SearchRequest(text: query, kind: kind, viewer: viewer)
                var samples: [Double] = []
                var page = SearchPage(hits: [], total: 0, isTotalExact: true)
                for _ in 0..<iterations {
                    let start = clock.now
                    page = try await store.read { try $0.search(request) }
                    let elapsed = clock.now - start
                    samples.append(
                        Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                }
                samples.sort()
                let p50 = samples[samples.count / 2]
                let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
                let timing = String(format: "p50_ms=%.3f p99_ms=%.3f", p50, p99)
                print(
                    "\(InertText.escaped(query)) hits=\(page.hits.count) "
                        + "total=\(page.total)\(page.isTotalExact ? "" : "+") \(timing)")
            }
        }
    }
}
