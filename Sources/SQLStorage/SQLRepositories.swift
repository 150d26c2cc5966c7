import Foundation
import Storage

// Repositories, tags and stars on both SQL backends: part of `SQLTransaction`.
extension SQLTransaction {
    // MARK: Repositories, tags, stars

    package static var repositoryColumns: String {
        "id, namespace_id, name, registry, description, created_at, updated_at"
    }

    package static func decodeRepository(_ row: Connection.Row) -> Repository {
        Repository(
            id: row.id(0), namespaceID: row.id(1), name: row.text(2), registry: row.text(3),
            description: row.optionalText(4), createdAt: row.date(5), updatedAt: row.date(6))
    }

    package func repository(named name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository? {
        try first(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE registry = ? AND namespace_id = ? AND name = ?",
            [registry.sqlValue, namespaceID.sqlValue, name.sqlValue], Self.decodeRepository)
    }

    package func repository(id: Repository.ID) throws -> Repository? {
        try first(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE id = ?", [id.sqlValue], Self.decodeRepository)
    }

    package func repositories(in namespaceID: Namespace.ID) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE namespace_id = ? ORDER BY name, registry",
            [namespaceID.sqlValue], Self.decodeRepository)
    }

    package func repositories(ofRegistry registry: String) throws -> [Repository] {
        try rows(
            "SELECT \(Self.repositoryColumns) FROM repositories WHERE registry = ? ORDER BY id",
            [registry.sqlValue], Self.decodeRepository)
    }

    package static var tagColumns: String {
        """
        id, repository_id, name, digest, media_type, size, pushed_by_id, pushed_by_name, platforms, pull_count,
        last_pulled_at, created_at, updated_at
        """
    }

    package static func decodeTag(_ row: Connection.Row) -> Tag {
        Tag(
            id: row.id(0), repositoryID: row.id(1), name: row.text(2), digest: row.text(3),
            mediaType: row.optionalText(4), size: row.optionalInt(5), pushedByID: row.optionalID(6),
            pushedByName: row.optionalText(7), platforms: decodePlatforms(row.optionalText(8)),
            pullCount: Int(row.int(9)), lastPulledAt: row.optionalDate(10), createdAt: row.date(11),
            updatedAt: row.date(12))
    }

    /// Platforms are stored as a JSON array so any text a manifest names survives unchanged.
    private static func encodePlatforms(_ platforms: [String]) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        guard !platforms.isEmpty, let data = try? encoder.encode(platforms) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func decodePlatforms(_ text: String?) -> [String] {
        guard let text, let platforms = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            return []
        }
        return platforms
    }

    package func tag(named name: String, in repositoryID: Repository.ID) throws -> Tag? {
        try first(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? AND name = ?",
            [repositoryID.sqlValue, name.sqlValue], Self.decodeTag)
    }

    package func tags(in repositoryID: Repository.ID) throws -> [Tag] {
        try rows(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? ORDER BY name", [repositoryID.sqlValue],
            Self.decodeTag)
    }

    package func tags(withDigest digest: String, in repositoryID: Repository.ID) throws -> [Tag] {
        try rows(
            "SELECT \(Self.tagColumns) FROM tags WHERE repository_id = ? AND digest = ? ORDER BY name",
            [repositoryID.sqlValue, digest.sqlValue], Self.decodeTag)
    }

    package func hasStarred(_ userID: User.ID, _ repositoryID: Repository.ID) throws -> Bool {
        try count(
            "SELECT count(*) FROM stars WHERE user_id = ? AND repository_id = ?",
            [userID.sqlValue, repositoryID.sqlValue]) > 0
    }

    package func starCount(of repositoryID: Repository.ID) throws -> Int {
        // Kept by migration 12's triggers.
        try count("SELECT star_count FROM repositories WHERE id = ?", [repositoryID.sqlValue])
    }

    package func createRepository(name: String, in namespaceID: Namespace.ID, registry: String) throws -> Repository {
        try requireName(name, "repository name")
        let time = now()
        let id = try insert(
            "INSERT INTO repositories (namespace_id, name, registry, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [namespaceID.sqlValue, name.sqlValue, registry.sqlValue, time.sqlValue, time.sqlValue])
        return try requireFound(try repository(id: Repository.ID(id)), "repository")
    }

    package func deleteRepository(_ repositoryID: Repository.ID) throws {
        try change("repository", "DELETE FROM repositories WHERE id = ?", [repositoryID.sqlValue])
    }

    package func recordTagPush(_ push: TagPush) throws -> Tag {
        try requireName(push.name, "tag name")
        try requireName(push.digest, "digest")
        let time = push.pushedAt ?? now()
        try checkWritable()
        // An upsert keeps the tag's id, creation time and pull counters when it moves to a new manifest.
        try connection.run(
            """
            INSERT INTO tags (repository_id, name, digest, media_type, size, platforms, pushed_by_id, pushed_by_name,
                              created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (repository_id, name) DO UPDATE SET
                digest = excluded.digest, media_type = excluded.media_type, size = excluded.size,
                platforms = excluded.platforms, pushed_by_id = excluded.pushed_by_id,
                pushed_by_name = excluded.pushed_by_name, updated_at = excluded.updated_at
            """,
            [
                push.repositoryID.sqlValue, push.name.sqlValue, push.digest.sqlValue, push.mediaType.sqlValue,
                push.size.sqlValue, Self.encodePlatforms(push.platforms).sqlValue, push.pushedByID.sqlValue,
                push.pushedByName.sqlValue, time.sqlValue, time.sqlValue,
            ])
        return try requireFound(try tag(named: push.name, in: push.repositoryID), "tag")
    }

    package func deleteTag(_ tagID: Tag.ID) throws {
        try change("tag", "DELETE FROM tags WHERE id = ?", [tagID.sqlValue])
    }

    package func recordPull(ofTag tagID: Tag.ID, at date: Date) throws {
        // Events may arrive out of order; the last-pulled time never moves backwards.
        try change(
            "tag",
            """
            UPDATE tags SET pull_count = pull_count + 1,
                last_pulled_at = CASE WHEN last_pulled_at IS NULL OR last_pulled_at < ?1 THEN ?1 ELSE last_pulled_at END
            WHERE id = ?2
            """, [date.sqlValue, tagID.sqlValue])
        // The chart of pulls per day (migration 13): counted by the pull's own day, whatever order events come in.
        try countDailyPull(ofTag: tagID, at: date)
    }

    package func star(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool {
        try affected(
            "INSERT INTO stars (user_id, repository_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [userID.sqlValue, repositoryID.sqlValue, now().sqlValue]) > 0
    }

    package func unstar(_ repositoryID: Repository.ID, by userID: User.ID) throws -> Bool {
        try affected(
            "DELETE FROM stars WHERE user_id = ? AND repository_id = ?", [userID.sqlValue, repositoryID.sqlValue]) > 0
    }
}
