extension PostgresSchema {
    /// Migration 9: the search index. SQLite keeps FTS5 trigram tables; PostgreSQL keeps plain tables of the same
    /// names and columns (the FTS rowid spelt `id`), each with a `pg_trgm` GIN index, so `name ILIKE '%term%'` is
    /// answered from the index for terms of three or more characters, case-insensitively, as FTS5's trigram
    /// tokenizer does. The same triggers keep them current: every insert, rename, move and delete.
    /// `pg_trgm` ships with Debian's `postgresql-15` (contrib) and is a trusted extension (PostgreSQL 13 and
    /// later), so a database owner may create it without superuser rights.
    static let searchIndex =
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TABLE search_repositories (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE search_tags (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE search_namespaces (id BIGINT PRIMARY KEY, name TEXT NOT NULL, description TEXT);
        CREATE TABLE search_teams (id BIGINT PRIMARY KEY, name TEXT NOT NULL, description TEXT);
        CREATE INDEX search_repositories_trigrams ON search_repositories USING gin (name gin_trgm_ops);
        CREATE INDEX search_tags_trigrams ON search_tags USING gin (name gin_trgm_ops);
        CREATE INDEX search_namespaces_trigrams ON search_namespaces
            USING gin (name gin_trgm_ops, description gin_trgm_ops);
        CREATE INDEX search_teams_trigrams ON search_teams USING gin (name gin_trgm_ops, description gin_trgm_ops);

        INSERT INTO search_namespaces (id, name, description) SELECT id, name, description FROM namespaces;
        INSERT INTO search_teams (id, name, description) SELECT id, name, description FROM teams;
        INSERT INTO search_repositories (id, name)
            SELECT r.id, \(repositoryFullName("r", "n")) FROM repositories r JOIN namespaces n ON n.id = r.namespace_id;
        INSERT INTO search_tags (id, name)
            SELECT t.id, \(repositoryFullName("r", "n")) || ':' || t.name
            FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN namespaces n ON n.id = r.namespace_id;

        """
        + rowTrigger(
            "teams_search_insert", "INSERT ON teams",
            "INSERT INTO search_teams (id, name, description) VALUES (NEW.id, NEW.name, NEW.description);")
        + rowTrigger(
            "teams_search_update", "UPDATE OF name, description ON teams",
            "UPDATE search_teams SET name = NEW.name, description = NEW.description WHERE id = NEW.id;")
        + rowTrigger("teams_search_delete", "DELETE ON teams", "DELETE FROM search_teams WHERE id = OLD.id;")
        + rowTrigger(
            "namespaces_search_insert", "INSERT ON namespaces",
            "INSERT INTO search_namespaces (id, name, description) VALUES (NEW.id, NEW.name, NEW.description);")
        + rowTrigger(
            "namespaces_search_update", "UPDATE OF name, description ON namespaces",
            "UPDATE search_namespaces SET name = NEW.name, description = NEW.description WHERE id = NEW.id;")
        + rowTrigger(
            "namespaces_search_rename", "UPDATE OF name, kind ON namespaces",
            when: "NEW.name IS DISTINCT FROM OLD.name OR NEW.kind IS DISTINCT FROM OLD.kind",
            """
                UPDATE search_repositories s SET name = \(repositoryFullName("r", "NEW"))
                    FROM repositories r WHERE r.id = s.id AND r.namespace_id = NEW.id;
                UPDATE search_tags s SET name = \(repositoryFullName("r", "NEW")) || ':' || t.name
                    FROM tags t JOIN repositories r ON r.id = t.repository_id
                    WHERE t.id = s.id AND r.namespace_id = NEW.id;
            """)
        + rowTrigger(
            "namespaces_search_delete", "DELETE ON namespaces", "DELETE FROM search_namespaces WHERE id = OLD.id;")
        + rowTrigger(
            "repositories_search_insert", "INSERT ON repositories",
            """
                INSERT INTO search_repositories (id, name)
                    SELECT NEW.id, \(repositoryFullName("NEW", "n")) FROM namespaces n WHERE n.id = NEW.namespace_id;
            """)
        + rowTrigger(
            "repositories_search_update", "UPDATE OF name, namespace_id ON repositories",
            when: "NEW.name IS DISTINCT FROM OLD.name OR NEW.namespace_id IS DISTINCT FROM OLD.namespace_id",
            """
                UPDATE search_repositories s SET name = \(repositoryFullName("NEW", "n"))
                    FROM namespaces n WHERE n.id = NEW.namespace_id AND s.id = NEW.id;
                UPDATE search_tags s SET name = \(repositoryFullName("NEW", "n")) || ':' || t.name
                    FROM tags t JOIN namespaces n ON n.id = NEW.namespace_id
                    WHERE t.id = s.id AND t.repository_id = NEW.id;
            """)
        + rowTrigger(
            "repositories_search_delete", "DELETE ON repositories",
            "DELETE FROM search_repositories WHERE id = OLD.id;")
        + rowTrigger(
            "tags_search_insert", "INSERT ON tags",
            """
                INSERT INTO search_tags (id, name)
                    SELECT NEW.id, \(repositoryFullName("r", "n")) || ':' || NEW.name
                    FROM repositories r JOIN namespaces n ON n.id = r.namespace_id WHERE r.id = NEW.repository_id;
            """)
        + rowTrigger(
            "tags_search_update", "UPDATE OF name, repository_id ON tags",
            when: "NEW.name IS DISTINCT FROM OLD.name OR NEW.repository_id IS DISTINCT FROM OLD.repository_id",
            """
                UPDATE search_tags s SET name = \(repositoryFullName("r", "n")) || ':' || NEW.name
                    FROM repositories r JOIN namespaces n ON n.id = r.namespace_id
                    WHERE r.id = NEW.repository_id AND s.id = NEW.id;
            """)
        + rowTrigger("tags_search_delete", "DELETE ON tags", "DELETE FROM search_tags WHERE id = OLD.id;")

    /// A repository's full name as users type it: `repo` in the global namespace, `ns/repo` elsewhere.
    static func repositoryFullName(_ repository: String, _ namespace: String) -> String {
        "CASE WHEN \(namespace).kind = 'global' THEN \(repository).name ELSE \(namespace).name || '/' || \(repository).name END"
    }

    /// Migration 10: robot accounts are in `PostgresSchema.robotAccounts`; 11: a namespace's repositories in
    /// name order straight off an index.
    static let listingIndexes = """
        CREATE INDEX repositories_namespace_name ON repositories (namespace_id, name, registry);
        """

    /// Migration 12: the counts every listing shows, kept by row-level triggers (each row adds or removes
    /// exactly one, so they are right for multi-row statements too), and a listing generation per namespace.
    static let contentCounts =
        """
        ALTER TABLE namespaces ADD COLUMN repository_count BIGINT NOT NULL DEFAULT 0 CHECK (repository_count >= 0);
        ALTER TABLE namespaces ADD COLUMN listing_generation BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE repositories ADD COLUMN tag_count BIGINT NOT NULL DEFAULT 0 CHECK (tag_count >= 0);
        ALTER TABLE repositories ADD COLUMN star_count BIGINT NOT NULL DEFAULT 0 CHECK (star_count >= 0);
        UPDATE namespaces SET repository_count = (SELECT count(*) FROM repositories r WHERE r.namespace_id = namespaces.id);
        UPDATE repositories SET
            tag_count = (SELECT count(*) FROM tags t WHERE t.repository_id = repositories.id),
            star_count = (SELECT count(*) FROM stars s WHERE s.repository_id = repositories.id);

        """
        + rowTrigger(
            "repositories_count_insert", "INSERT ON repositories",
            """
                UPDATE namespaces SET repository_count = repository_count + 1,
                    listing_generation = listing_generation + 1 WHERE id = NEW.namespace_id;
            """)
        + rowTrigger(
            "repositories_count_delete", "DELETE ON repositories",
            """
                UPDATE namespaces SET repository_count = repository_count - 1,
                    listing_generation = listing_generation + 1 WHERE id = OLD.namespace_id;
            """)
        + rowTrigger(
            "repositories_count_move", "UPDATE OF namespace_id ON repositories",
            when: "NEW.namespace_id IS DISTINCT FROM OLD.namespace_id",
            """
                UPDATE namespaces SET repository_count = repository_count - 1,
                    listing_generation = listing_generation + 1 WHERE id = OLD.namespace_id;
                UPDATE namespaces SET repository_count = repository_count + 1,
                    listing_generation = listing_generation + 1 WHERE id = NEW.namespace_id;
            """)
        + rowTrigger(
            "repositories_order_change", "UPDATE OF name, registry, created_at, updated_at ON repositories",
            "UPDATE namespaces SET listing_generation = listing_generation + 1 WHERE id = NEW.namespace_id;")
        + countTriggers(table: "tags", column: "tag_count")
        + countTriggers(table: "stars", column: "star_count")

    /// `<table>_count_insert`, `_delete` and `_move`: a repository's count of `table`'s rows in `column`.
    private static func countTriggers(table: String, column: String) -> String {
        rowTrigger(
            "\(table)_count_insert", "INSERT ON \(table)",
            "UPDATE repositories SET \(column) = \(column) + 1 WHERE id = NEW.repository_id;")
            + rowTrigger(
                "\(table)_count_delete", "DELETE ON \(table)",
                "UPDATE repositories SET \(column) = \(column) - 1 WHERE id = OLD.repository_id;")
            + rowTrigger(
                "\(table)_count_move", "UPDATE OF repository_id ON \(table)",
                when: "NEW.repository_id IS DISTINCT FROM OLD.repository_id",
                """
                    UPDATE repositories SET \(column) = \(column) - 1 WHERE id = OLD.repository_id;
                    UPDATE repositories SET \(column) = \(column) + 1 WHERE id = NEW.repository_id;
                """)
    }

    /// Migration 13: web sessions, setup codes and pulls per tag and UTC day (see `SQLiteSchema`).
    static let webSessions = """
        CREATE TABLE web_sessions (
            id           \(key),
            user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            csrf_token   TEXT NOT NULL CHECK (length(csrf_token) > 0),
            created_at   BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            expires_at   BIGINT NOT NULL,
            revoked_at   BIGINT,
            client       TEXT CHECK (length(client) <= 1024),
            address      TEXT CHECK (length(address) <= 255)
        );
        CREATE INDEX web_sessions_user ON web_sessions (user_id);

        CREATE TABLE setup_codes (
            code_hash  TEXT PRIMARY KEY CHECK (length(code_hash) > 0),
            created_at BIGINT NOT NULL
        );

        CREATE TABLE tag_pulls_daily (
            tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
            day    BIGINT NOT NULL,
            count  BIGINT NOT NULL CHECK (count > 0),
            PRIMARY KEY (tag_id, day)
        );
        """

    /// Migration 14: tags grouped by digest, and pulls per repository and day.
    ///
    /// `digest_count` changes when a (repository, digest) pair gains its first tag or loses its last. SQLite asks
    /// "is this the only tag of its digest now?" in a row trigger that runs right after each row; PostgreSQL runs
    /// row-level AFTER triggers at the end of the statement, so deleting a digest's two tags in one statement
    /// would find neither left and count the digest twice. Here one statement-level trigger per event compares
    /// the pairs the statement touched before and after it (transition tables `old_rows`/`new_rows`): a pair
    /// existed before when an old row had it or an untouched tag has it; it exists after when any tag has it.
    static let tagDigestGroups =
        """
        CREATE INDEX tags_repository_digest ON tags (repository_id, digest);
        CREATE INDEX tags_repository_recency ON tags (repository_id, updated_at DESC, digest);
        ALTER TABLE repositories ADD COLUMN digest_count BIGINT NOT NULL DEFAULT 0 CHECK (digest_count >= 0);
        UPDATE repositories SET digest_count = (
            SELECT count(DISTINCT digest) FROM tags t WHERE t.repository_id = repositories.id);

        \(digestTrigger("tags_digest_insert", "INSERT", referencing: "NEW TABLE AS new_rows", old: nil, new: "new_rows"))
        \(digestTrigger("tags_digest_delete", "DELETE", referencing: "OLD TABLE AS old_rows", old: "old_rows", new: nil))
        \(digestTrigger(
            "tags_digest_change", "UPDATE", referencing: "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            old: "old_rows", new: "new_rows"))

        CREATE TABLE repository_pulls_daily (
            repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            day           BIGINT NOT NULL,
            count         BIGINT NOT NULL CHECK (count > 0),
            PRIMARY KEY (repository_id, day)
        );
        INSERT INTO repository_pulls_daily (repository_id, day, count)
            SELECT t.repository_id, d.day, sum(d.count) FROM tag_pulls_daily d JOIN tags t ON t.id = d.tag_id
            GROUP BY t.repository_id, d.day;

        """
        + rowTrigger(
            "tag_pulls_daily_insert", "INSERT ON tag_pulls_daily",
            """
                INSERT INTO repository_pulls_daily AS p (repository_id, day, count)
                    SELECT repository_id, NEW.day, NEW.count FROM tags WHERE id = NEW.tag_id
                    ON CONFLICT (repository_id, day) DO UPDATE SET count = p.count + excluded.count;
            """)
        + generationTriggers([
            ("web_sessions_ended", "UPDATE OF revoked_at, expires_at ON web_sessions", nil),
            ("web_sessions_deleted", "DELETE ON web_sessions", nil),
            ("users_profile_changed", "UPDATE OF display_name, email ON users", nil),
        ])
        + "\n"
        + rowTrigger(
            "tag_pulls_daily_update", "UPDATE OF count ON tag_pulls_daily",
            """
                UPDATE repository_pulls_daily SET count = count + (NEW.count - OLD.count)
                    WHERE repository_id = (SELECT repository_id FROM tags WHERE id = NEW.tag_id) AND day = NEW.day;
            """)

    /// A statement-level trigger keeping `digest_count` over the pairs in the transition tables `old`/`new`.
    private static func digestTrigger(
        _ name: String, _ event: String, referencing: String, old: String?, new: String?
    ) -> String {
        let sources = [old, new].compactMap { $0 }.map { "SELECT repository_id, digest FROM \($0)" }
        let untouched = new.map { " AND t.id NOT IN (SELECT id FROM \($0))" } ?? ""
        let inOld =
            old.map {
                "EXISTS (SELECT 1 FROM \($0) o WHERE o.repository_id = p.repository_id AND o.digest = p.digest) OR "
            } ?? ""
        // SQLite's `tags_digest_change` runs only when a digest or repository changed; without a column list
        // this one runs for every UPDATE (a pull's counters too) and returns at once unless one did.
        let unchanged =
            (old != nil && new != nil)
            ? """
                IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                               WHERE n.digest IS DISTINCT FROM o.digest
                                  OR n.repository_id IS DISTINCT FROM o.repository_id) THEN
                    RETURN NULL;
                END IF;
            """ : ""
        return """
            CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
            \(unchanged)
                UPDATE repositories r SET digest_count = r.digest_count + d.delta
                FROM (
                    SELECT repository_id, sum(after - before) AS delta FROM (
                        SELECT p.repository_id,
                            CASE WHEN \(inOld)EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = p.repository_id
                                AND t.digest = p.digest\(untouched)) THEN 1 ELSE 0 END AS before,
                            CASE WHEN EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = p.repository_id
                                AND t.digest = p.digest) THEN 1 ELSE 0 END AS after
                        FROM (SELECT DISTINCT repository_id, digest FROM (\(sources.joined(separator: " UNION ALL "))) s) p
                    ) pairs GROUP BY repository_id
                ) d
                WHERE r.id = d.repository_id AND d.delta <> 0;
                RETURN NULL;
            END $$;
            CREATE TRIGGER \(name) AFTER \(event) ON tags REFERENCING \(referencing)
                FOR EACH STATEMENT EXECUTE FUNCTION \(name)();
            """
    }

    /// Migration 15: browser sign-in at external identity providers (see `SQLiteSchema`'s migration 15).
    static let federation = """
        CREATE TABLE login_states (
            state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) > 0),
            browser_hash TEXT NOT NULL CHECK (length(browser_hash) > 0),
            provider_id  TEXT NOT NULL CHECK (length(provider_id) > 0),
            intent       TEXT NOT NULL CHECK (intent IN ('sign_in', 'link')),
            user_id      BIGINT REFERENCES users (id) ON DELETE CASCADE,
            pending      TEXT NOT NULL CHECK (length(pending) <= 65536),
            next         TEXT NOT NULL CHECK (length(next) <= 2048),
            created_at   BIGINT NOT NULL,
            expires_at   BIGINT NOT NULL
        );
        CREATE INDEX login_states_expiry ON login_states (expires_at);

        CREATE TABLE federated_identities (
            link_id           BIGINT PRIMARY KEY REFERENCES identity_links (id) ON DELETE CASCADE,
            issuer            TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
            sealed_grant      TEXT,
            checked_at        BIGINT,
            failing_since     BIGINT,
            suspended_at      BIGINT,
            suspension_reason TEXT CHECK (length(suspension_reason) <= 1024),
            disabled_account  BOOLEAN NOT NULL DEFAULT FALSE
        );

        CREATE TABLE federated_sessions (
            session_id BIGINT PRIMARY KEY REFERENCES web_sessions (id) ON DELETE CASCADE,
            link_id    BIGINT NOT NULL REFERENCES identity_links (id) ON DELETE CASCADE
        );
        CREATE INDEX federated_sessions_link ON federated_sessions (link_id);

        CREATE TABLE admin_grants (
            user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            provider_id TEXT NOT NULL CHECK (length(provider_id) > 0)
        );
        """

    /// Migration 16: provider groups named as team members; adding or removing one advances the generation.
    static let teamGroupLinks =
        """
        CREATE TABLE team_group_links (
            id          \(key),
            team_id     BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
            provider_id TEXT NOT NULL CHECK (length(provider_id) BETWEEN 1 AND 64),
            group_name  TEXT NOT NULL CHECK (length(group_name) BETWEEN 1 AND 256),
            role        TEXT NOT NULL CHECK (role IN ('owner', 'contributor', 'viewer')),
            created_at  BIGINT NOT NULL,
            created_by  TEXT,
            UNIQUE (team_id, provider_id, group_name)
        );
        CREATE INDEX team_group_links_provider ON team_group_links (provider_id);

        """
        + generationTriggers([
            ("team_group_links_created", "INSERT ON team_group_links", nil),
            ("team_group_links_deleted", "DELETE ON team_group_links", nil),
        ])

    /// Migration 17: a content version per repository, moved by every change to one of its tags.
    static let contentVersions =
        """
        ALTER TABLE repositories ADD COLUMN content_version BIGINT NOT NULL DEFAULT 0;

        """
        + rowTrigger(
            "tags_content_insert", "INSERT ON tags",
            "UPDATE repositories SET content_version = content_version + 1 WHERE id = NEW.repository_id;")
        + rowTrigger(
            "tags_content_delete", "DELETE ON tags",
            "UPDATE repositories SET content_version = content_version + 1 WHERE id = OLD.repository_id;")
        + rowTrigger(
            "tags_content_update", "UPDATE ON tags",
            """
                UPDATE repositories SET content_version = content_version + 1
                    WHERE id = NEW.repository_id OR id = OLD.repository_id;
            """)
}
