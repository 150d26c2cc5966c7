extension SQLiteSchema {
    /// Migration 11: a namespace's repositories in name order straight off an index. The API lists them by name
    /// (`namespaces/{ns}/repositories`), and without this index SQLite read every repository of the namespace,
    /// computed each one's tag and star counts and sorted them all to return 25: about 10 ms for page 400 of a
    /// 10,000-repository namespace, against 0.3 ms with it (`make bench`, `.ci/bench-api`). `repositories_namespace`
    /// stays: it is narrower, so counting a namespace's repositories reads fewer pages.
    static let listingIndexes = """
        CREATE INDEX repositories_namespace_name ON repositories (namespace_id, name, registry);
        """
}

extension SQLiteSchema {
    /// Migration 12: the counts every listing shows, kept beside the rows they count, and a generation per
    /// namespace that changes whenever the order of its repositories may have (`RepositoryOrderCache`). Counting a namespace's
    /// 10,000 repositories for `X-Total-Count` read 10,000 index entries on every page (0.35 ms, more than the
    /// rest of the page); a repository's tag and star counts were a subquery per listed row. Triggers keep the
    /// counts, so every path that adds, moves or removes a row (catalog sync, deletion, cascades, `db seed`)
    /// keeps them right without knowing about them; the migration fills them once from the rows.
    static let contentCounts = """
        ALTER TABLE namespaces ADD COLUMN repository_count INTEGER NOT NULL DEFAULT 0 CHECK (repository_count >= 0);
        ALTER TABLE namespaces ADD COLUMN listing_generation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE repositories ADD COLUMN tag_count INTEGER NOT NULL DEFAULT 0 CHECK (tag_count >= 0);
        ALTER TABLE repositories ADD COLUMN star_count INTEGER NOT NULL DEFAULT 0 CHECK (star_count >= 0);
        UPDATE namespaces SET repository_count = (SELECT count(*) FROM repositories r WHERE r.namespace_id = namespaces.id);
        UPDATE repositories SET
            tag_count = (SELECT count(*) FROM tags t WHERE t.repository_id = repositories.id),
            star_count = (SELECT count(*) FROM stars s WHERE s.repository_id = repositories.id);

        CREATE TRIGGER repositories_count_insert AFTER INSERT ON repositories BEGIN
            UPDATE namespaces SET repository_count = repository_count + 1, listing_generation = listing_generation + 1
                WHERE id = NEW.namespace_id;
        END;
        CREATE TRIGGER repositories_count_delete AFTER DELETE ON repositories BEGIN
            UPDATE namespaces SET repository_count = repository_count - 1, listing_generation = listing_generation + 1
                WHERE id = OLD.namespace_id;
        END;
        CREATE TRIGGER repositories_count_move AFTER UPDATE OF namespace_id ON repositories
            WHEN NEW.namespace_id IS NOT OLD.namespace_id BEGIN
            UPDATE namespaces SET repository_count = repository_count - 1, listing_generation = listing_generation + 1
                WHERE id = OLD.namespace_id;
            UPDATE namespaces SET repository_count = repository_count + 1, listing_generation = listing_generation + 1
                WHERE id = NEW.namespace_id;
        END;
        CREATE TRIGGER repositories_order_change AFTER UPDATE OF name, registry, created_at, updated_at ON repositories
        BEGIN
            UPDATE namespaces SET listing_generation = listing_generation + 1 WHERE id = NEW.namespace_id;
        END;

        CREATE TRIGGER tags_count_insert AFTER INSERT ON tags BEGIN
            UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
        END;
        CREATE TRIGGER tags_count_delete AFTER DELETE ON tags BEGIN
            UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
        END;
        CREATE TRIGGER tags_count_move AFTER UPDATE OF repository_id ON tags
            WHEN NEW.repository_id IS NOT OLD.repository_id BEGIN
            UPDATE repositories SET tag_count = tag_count - 1 WHERE id = OLD.repository_id;
            UPDATE repositories SET tag_count = tag_count + 1 WHERE id = NEW.repository_id;
        END;

        CREATE TRIGGER stars_count_insert AFTER INSERT ON stars BEGIN
            UPDATE repositories SET star_count = star_count + 1 WHERE id = NEW.repository_id;
        END;
        CREATE TRIGGER stars_count_delete AFTER DELETE ON stars BEGIN
            UPDATE repositories SET star_count = star_count - 1 WHERE id = OLD.repository_id;
        END;
        CREATE TRIGGER stars_count_move AFTER UPDATE OF repository_id ON stars
            WHEN NEW.repository_id IS NOT OLD.repository_id BEGIN
            UPDATE repositories SET star_count = star_count - 1 WHERE id = OLD.repository_id;
            UPDATE repositories SET star_count = star_count + 1 WHERE id = NEW.repository_id;
        END;
        """
}

extension SQLiteSchema {
    /// Migration 14: a repository's tags grouped by digest, newest push first, without reading every tag. The web
    /// UI's repository page grouped and counted all of a repository's tags on every view (`GROUP BY digest ORDER BY
    /// max(updated_at)` and `count(DISTINCT digest)`: 30 ms for a 10,000-tag repository, `make bench`). Now the
    /// digests are counted by triggers beside `tag_count`, and a page walks `tags_repository_recency` from the newest
    /// push until it has seen enough digests; `tags_repository_digest` answers the triggers' "is this the digest's
    /// first or last tag?" from the index. Pulls per day are also summed per repository by a trigger
    /// (`repository_pulls_daily`): the page's chart joined every tag of the repository to its daily rows (3 ms for
    /// 10,000 tags). A repository's history keeps the pulls of tags deleted since; it goes with the repository.
    /// Ending or deleting a web session and changing an account's profile advance the authorization generation,
    /// so `WebSessionService` can keep resolved sessions while it holds.
    static let tagDigestGroups = """
        CREATE INDEX tags_repository_digest ON tags (repository_id, digest);
        CREATE INDEX tags_repository_recency ON tags (repository_id, updated_at DESC, digest);
        ALTER TABLE repositories ADD COLUMN digest_count INTEGER NOT NULL DEFAULT 0 CHECK (digest_count >= 0);
        UPDATE repositories SET digest_count = (
            SELECT count(DISTINCT digest) FROM tags t WHERE t.repository_id = repositories.id);

        CREATE TRIGGER tags_digest_insert AFTER INSERT ON tags
            WHEN (SELECT count(*) FROM tags WHERE repository_id = NEW.repository_id AND digest = NEW.digest) = 1
        BEGIN
            UPDATE repositories SET digest_count = digest_count + 1 WHERE id = NEW.repository_id;
        END;
        CREATE TRIGGER tags_digest_delete AFTER DELETE ON tags
            WHEN NOT EXISTS (SELECT 1 FROM tags WHERE repository_id = OLD.repository_id AND digest = OLD.digest)
        BEGIN
            UPDATE repositories SET digest_count = digest_count - 1 WHERE id = OLD.repository_id;
        END;
        CREATE TRIGGER tags_digest_change AFTER UPDATE OF digest, repository_id ON tags
            WHEN NEW.digest IS NOT OLD.digest OR NEW.repository_id IS NOT OLD.repository_id
        BEGIN
            UPDATE repositories SET digest_count = digest_count - 1 WHERE id = OLD.repository_id
                AND NOT EXISTS (SELECT 1 FROM tags WHERE repository_id = OLD.repository_id AND digest = OLD.digest);
            UPDATE repositories SET digest_count = digest_count + 1 WHERE id = NEW.repository_id
                AND (SELECT count(*) FROM tags WHERE repository_id = NEW.repository_id AND digest = NEW.digest) = 1;
        END;

        CREATE TABLE repository_pulls_daily (
            repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            day           INTEGER NOT NULL,
            count         INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (repository_id, day)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO repository_pulls_daily (repository_id, day, count)
            SELECT t.repository_id, d.day, sum(d.count) FROM tag_pulls_daily d JOIN tags t ON t.id = d.tag_id
            GROUP BY t.repository_id, d.day;
        CREATE TRIGGER tag_pulls_daily_insert AFTER INSERT ON tag_pulls_daily BEGIN
            INSERT INTO repository_pulls_daily (repository_id, day, count)
                SELECT repository_id, NEW.day, NEW.count FROM tags WHERE id = NEW.tag_id
                ON CONFLICT (repository_id, day) DO UPDATE SET count = count + excluded.count;
        END;
        CREATE TRIGGER web_sessions_ended_authorization AFTER UPDATE OF revoked_at, expires_at ON web_sessions BEGIN
            UPDATE authorization_generation SET value = value + 1 WHERE id = 1;
        END;
        CREATE TRIGGER web_sessions_deleted_authorization AFTER DELETE ON web_sessions BEGIN
            UPDATE authorization_generation SET value = value + 1 WHERE id = 1;
        END;
        CREATE TRIGGER users_profile_changed_authorization AFTER UPDATE OF display_name, email ON users BEGIN
            UPDATE authorization_generation SET value = value + 1 WHERE id = 1;
        END;
        CREATE TRIGGER tag_pulls_daily_update AFTER UPDATE OF count ON tag_pulls_daily BEGIN
            UPDATE repository_pulls_daily SET count = count + (NEW.count - OLD.count)
                WHERE repository_id = (SELECT repository_id FROM tags WHERE id = NEW.tag_id) AND day = NEW.day;
        END;
        """
}
