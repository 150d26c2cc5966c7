import Diagnostics
import Foundation
import SQLStorage
import Storage

/// What `SQLiteStore.seed` writes: deterministic shapes derived from counters, for tests and benchmarks.
///
/// For `teams` T, `users` U, `repositories` R and `tags` N (names start with `prefix`):
/// - team `j` (`<prefix>team<j>`, described) owns namespace `<prefix>ns<j>`, whose visibility cycles public,
///   protected, private with `j`;
/// - user `i` (`<prefix>user<i>`, no password: external-only) gets a hidden personal team and a private personal
///   namespace of the same name, and joins team `i mod T`: as owner when `i < T`, else as contributor when
///   `i` is a multiple of 3, else as viewer;
/// - repository `k` (`repo<k>`) lives in namespace `k mod T`, except the last `crowdedNamespaceRepositories`
///   (`k >= R - C`), which all live in namespace 0, so that one namespace's list runs to many pages;
/// - the tags are spread evenly over the repositories (the first `N mod R` get one more); with
///   `busyRepositoryTags` B > 0, repository 0 holds the first B tags and the rest are spread evenly over the
///   other repositories, so that one repository's tag list is long at any scale. Inside a repository tag `m`
///   is `latest` for `m = 0`, `v<m/100>.<m/10 mod 10>.<m mod 10>` below 1000, `build-<m>` beyond, and its
///   digest is `digest(n)` for the tag's overall counter `n`.
///
/// The same plan on an empty database always yields the same names, ids and digests.
public struct SeedPlan: Sendable {
    /// Visible teams (each with one namespace); at least 1 when there are repositories.
    public var teams: Int
    /// Users (each with a personal team and namespace).
    public var users: Int
    /// Repositories.
    public var repositories: Int
    /// Tags.
    public var tags: Int
    /// What every seeded name starts with, so a database can be seeded twice.
    public var prefix: String
    /// The manifest digest of the tag with this overall counter (`sha256:` and 64 hex digits).
    public var digest: @Sendable (Int) -> String
    /// Rows per transaction.
    public var batchSize: Int
    /// How many of the repositories (the last ones) live in namespace 0 instead of `k mod teams`: a benchmark's
    /// deep page of one namespace's repository list needs a namespace that long.
    public var crowdedNamespaceRepositories: Int
    /// How many tags repository 0 holds (0: its even share), so a benchmark's tag page is full at any scale.
    public var busyRepositoryTags: Int

    /// Describes a seeding run.
    public init(
        teams: Int, users: Int, repositories: Int, tags: Int, prefix: String = "",
        crowdedNamespaceRepositories: Int = 0, busyRepositoryTags: Int = 0,
        batchSize: Int = 10_000, digest: @escaping @Sendable (Int) -> String
    ) {
        self.teams = teams
        self.users = users
        self.repositories = repositories
        self.tags = tags
        self.prefix = prefix
        self.crowdedNamespaceRepositories = crowdedNamespaceRepositories
        self.busyRepositoryTags = busyRepositoryTags
        self.batchSize = batchSize
        self.digest = digest
    }

    /// The index (among the seeded teams) of the namespace holding repository `k`.
    public func namespaceIndex(ofRepository k: Int) -> Int {
        k >= repositories - crowdedNamespaceRepositories ? 0 : k % teams
    }

    /// Which repository tag `n` (overall) goes to, and its index `m` inside it: the first `extra` repositories of
    /// the even spread get one tag more than the others.
    public func placement(ofTag n: Int) -> (repository: Int, index: Int) {
        // With a busy repository (and others to spread the rest over), repository 0 takes the first tags.
        let busy = repositories > 1 ? busyRepositoryTags : 0
        if n < busy { return (0, n) }
        let first = busy > 0 ? 1 : 0
        let spread = tags - busy, count = repositories - first
        let perRepository = spread / count, extra = spread % count
        let k = n - busy, bigShare = extra * (perRepository + 1)
        if k < bigShare { return (first + k / (perRepository + 1), k % (perRepository + 1)) }
        return (first + extra + (k - bigShare) / perRepository, (k - bigShare) % perRepository)
    }

    /// The name of tag `m` inside its repository.
    public static func tagName(_ m: Int) -> String {
        if m == 0 { return "latest" }
        if m < 1000 { return "v\(m / 100).\(m / 10 % 10).\(m % 10)" }
        return "build-\(m)"
    }
}

/// What a seeding run wrote, and how fast.
public struct SeedReport: Sendable, Hashable {
    /// Rows written per table (`users`, `teams`, `team_members`, `namespaces`, `repositories`, `tags`).
    public var rows: [String: Int]
    /// How long it took.
    public var duration: Duration

    /// Every row written.
    public var totalRows: Int { rows.values.reduce(0, +) }
    /// Rows per second.
    public var rowsPerSecond: Double {
        let seconds = duration.inSeconds
        return seconds > 0 ? Double(totalRows) / seconds : 0
    }
}

extension SQLiteStore {
    /// Fills the database as `plan` says, one write transaction per `batchSize` rows with statements prepared
    /// once (the connection caches them); the search index follows through its triggers and is merged
    /// (FTS5 `optimize`) at the end.
    ///
    /// Throws `.invalidInput` for negative counts or repositories without teams, `.conflict` when a name is
    /// already taken (seed again with another prefix); batches written before a failure stay.
    public func seed(_ plan: SeedPlan) async throws -> SeedReport {
        guard plan.teams >= 0, plan.users >= 0, plan.repositories >= 0, plan.tags >= 0, plan.batchSize > 0 else {
            throw StoreError(.invalidInput, "seed counts must not be negative", subject: "seed")
        }
        guard plan.repositories == 0 || plan.teams > 0 else {
            throw StoreError(.invalidInput, "repositories need at least one team", subject: "teams")
        }
        guard plan.tags == 0 || plan.repositories > 0 else {
            throw StoreError(.invalidInput, "tags need at least one repository", subject: "repositories")
        }
        guard (0...plan.repositories).contains(plan.crowdedNamespaceRepositories) else {
            throw StoreError(
                .invalidInput, "the crowded namespace cannot hold more repositories than are seeded",
                subject: "crowdedNamespaceRepositories")
        }
        guard (0...plan.tags).contains(plan.busyRepositoryTags) else {
            throw StoreError(
                .invalidInput, "the busy repository cannot hold more tags than are seeded",
                subject: "busyRepositoryTags")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var rows: [String: Int] = [:]

        var seededTeams: [(team: Int64, namespace: Int64)] = []
        for batch in Self.batches(plan.teams, plan.batchSize) {
            seededTeams += try await seedBatch { transaction in
                try batch.map { j in
                    let team = try transaction.insert(
                        "INSERT INTO teams (name, description, is_hidden, created_at, updated_at) VALUES (?, ?, 0, ?, ?)",
                        [
                            "\(plan.prefix)team\(j)".sqlValue, "Seeded team \(j)".sqlValue, transaction.now().sqlValue,
                            transaction.now().sqlValue,
                        ])
                    let visibility = ["public", "protected", "private"][j % 3]
                    let namespace = try transaction.insert(
                        """
                        INSERT INTO namespaces (name, team_id, visibility, kind, description, created_at, updated_at)
                        VALUES (?, ?, ?, 'regular', ?, ?, ?)
                        """,
                        [
                            "\(plan.prefix)ns\(j)".sqlValue, team.sqlValue, visibility.sqlValue,
                            "Seeded \(visibility) namespace \(j)".sqlValue, transaction.now().sqlValue,
                            transaction.now().sqlValue,
                        ])
                    return (team, namespace)
                }
            }
        }
        rows["teams", default: 0] += plan.teams
        rows["namespaces", default: 0] += plan.teams
        let teams = seededTeams

        for batch in Self.batches(plan.users, plan.batchSize) {
            try await seedBatch { transaction in
                for i in batch {
                    let name = "\(plan.prefix)user\(i)"
                    let time = transaction.now().sqlValue
                    let user = try transaction.insert(
                        "INSERT INTO users (username, created_at, updated_at) VALUES (?, ?, ?)",
                        [name.sqlValue, time, time])
                    let personal = try transaction.insert(
                        "INSERT INTO teams (name, description, is_hidden, created_at, updated_at) VALUES (?, NULL, 1, ?, ?)",
                        [name.sqlValue, time, time])
                    try transaction.connection.run(
                        "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)",
                        [personal.sqlValue, user.sqlValue, time])
                    _ = try transaction.insert(
                        """
                        INSERT INTO namespaces (name, team_id, visibility, kind, personal_owner_id, description,
                                                created_at, updated_at)
                        VALUES (?, ?, 'private', 'personal', ?, ?, ?, ?)
                        """,
                        [
                            name.sqlValue, personal.sqlValue, user.sqlValue,
                            "This personal namespace belongs to \(name).".sqlValue, time, time,
                        ])
                    if !teams.isEmpty {
                        let role = i < teams.count ? "owner" : (i % 3 == 0 ? "contributor" : "viewer")
                        try transaction.connection.run(
                            "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
                            [teams[i % teams.count].team.sqlValue, user.sqlValue, role.sqlValue, time])
                    }
                }
            }
        }
        rows["users", default: 0] += plan.users
        rows["teams", default: 0] += plan.users
        rows["namespaces", default: 0] += plan.users
        rows["team_members", default: 0] += plan.users + (plan.teams > 0 ? plan.users : 0)

        var repositories: [Int64] = []
        repositories.reserveCapacity(plan.repositories)
        for batch in Self.batches(plan.repositories, plan.batchSize) {
            repositories += try await seedBatch { transaction in
                try batch.map { k in
                    try transaction.insert(
                        "INSERT INTO repositories (namespace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                        [
                            teams[plan.namespaceIndex(ofRepository: k)].namespace.sqlValue, "repo\(k)".sqlValue,
                            transaction.now().sqlValue, transaction.now().sqlValue,
                        ])
                }
            }
        }
        rows["repositories", default: 0] += plan.repositories

        let repositoryIDs = repositories
        for batch in Self.batches(plan.tags, plan.batchSize) {
            try await seedBatch { transaction in
                let time = transaction.now().sqlValue
                for n in batch {
                    let (k, m) = plan.placement(ofTag: n)
                    try transaction.connection.run(
                        """
                        INSERT INTO tags (repository_id, name, digest, media_type, size, created_at, updated_at)
                        VALUES (?, ?, ?, 'application/vnd.oci.image.manifest.v1+json', ?, ?, ?)
                        """,
                        [
                            repositoryIDs[k].sqlValue, SeedPlan.tagName(m).sqlValue, plan.digest(n).sqlValue,
                            (1_000_000 + n % 1000 * 4096).sqlValue, time, time,
                        ])
                }
            }
        }
        rows["tags", default: 0] += plan.tags
        // A bulk load leaves the index in many small segments (one per batch and merge level); merging them once,
        // as a long-lived database's automerge eventually does, keeps each trigram's posting list in one piece.
        try await seedBatch { transaction in
            for table in ["search_repositories", "search_tags", "search_namespaces", "search_teams"] {
                try transaction.connection.run("INSERT INTO \(table) (\(table)) VALUES ('optimize')")
            }
        }
        return SeedReport(rows: rows, duration: clock.now - start)
    }

    /// Runs one batch in one write transaction with the SQLite plumbing at hand.
    @discardableResult
    private func seedBatch<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) throws -> T) async throws -> T {
        try await write { writer in
            guard let transaction = writer as? SQLiteTransaction else {
                throw StoreError(.internal, "seeding needs an SQLite transaction")
            }
            try transaction.checkWritable()
            return try body(transaction)
        }
    }

    private static func batches(_ count: Int, _ size: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }
}
