import Storage

/// The SQLite schema as ordered migration steps. Append new steps; never edit an applied one.
///
/// Conventions: timestamps are INTEGER milliseconds since 1970 UTC; booleans are INTEGER 0/1 with
/// a CHECK; enumerations are TEXT with a CHECK listing the raw values of the Swift enum; text that
/// is compared for identity (usernames, names) uses the default BINARY collation, so uniqueness is
/// case-sensitive exactly as the registry's names are. (Usernames are also unique regardless of case,
/// but that is checked where accounts are created, so databases holding older collisions still open.)
///
/// ON DELETE choices:
/// - what only exists for its parent goes with it (CASCADE): identity links, memberships, stars and
///   tokens with their user; repositories, tags and stars with their namespace or repository;
/// - history keeps the name when the actor goes (SET NULL + a copied name column): tag authors,
///   audit actors, the owner of a personal namespace (which then becomes an orphan, as in Portus);
/// - a team cannot be deleted while it owns namespaces (RESTRICT): images must not lose their owner
///   silently.
enum SQLiteSchema {
    /// Every migration, in version order.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "initial schema", sql: initialSchema),
        Migration(version: 2, name: "authorization generation", sql: authorizationGeneration),
        Migration(version: 3, name: "synced team memberships", sql: syncedMemberships),
        Migration(version: 4, name: "registry contents per registry", sql: registryContents),
        Migration(version: 5, name: "outgoing webhooks", sql: webhooks),
        Migration(version: 6, name: "lockout per account and address", sql: addressLockout),
        Migration(version: 7, name: "refresh token clients", sql: refreshTokenClients),
        Migration(version: 8, name: "audit counts and retention", sql: auditVolume),
        Migration(version: 9, name: "search index", sql: searchIndex),
        Migration(version: 10, name: "robot accounts", sql: robotAccounts),
        Migration(version: 11, name: "repository listing index", sql: listingIndexes),
        Migration(version: 12, name: "content counts", sql: contentCounts),
        Migration(version: 13, name: "web sessions, setup codes and daily pulls", sql: webSessions),
        Migration(version: 14, name: "tag digest groups", sql: tagDigestGroups),
        Migration(version: 15, name: "federated sign-in", sql: federation),
        Migration(version: 16, name: "team group links", sql: teamGroupLinks),
        Migration(version: 17, name: "repository content versions", sql: contentVersions),
        Migration(version: 18, name: "workload identity", sql: workloadIdentity),
        Migration(version: 19, name: "leases and shared guessing counters", sql: leases),
        Migration(version: 20, name: "queues claimed by every instance", sql: queues),
    ]

    /// The highest version this binary knows.
    static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Created outside the numbered steps so the version can be read before anything else.
    static let bookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT;
        """

    private static let initialSchema = """
        CREATE TABLE users (
            id                 INTEGER PRIMARY KEY,
            username           TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 255),
            email              TEXT,
            display_name       TEXT,
            password_hash      TEXT,
            is_admin           INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
            is_enabled         INTEGER NOT NULL DEFAULT 1 CHECK (is_enabled IN (0, 1)),
            failed_login_count INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
            locked_until       INTEGER,
            created_at         INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL,
            last_login_at      INTEGER
        ) STRICT;
        CREATE INDEX users_admins ON users (is_admin) WHERE is_admin = 1;

        CREATE TABLE identity_links (
            id           INTEGER PRIMARY KEY,
            provider_id  TEXT NOT NULL CHECK (length(provider_id) > 0),
            subject      TEXT NOT NULL CHECK (length(subject) > 0),
            user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at   INTEGER NOT NULL,
            last_seen_at INTEGER,
            UNIQUE (provider_id, subject)
        ) STRICT;
        CREATE INDEX identity_links_user ON identity_links (user_id);

        CREATE TABLE teams (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
            description TEXT,
            is_hidden   INTEGER NOT NULL DEFAULT 0 CHECK (is_hidden IN (0, 1)),
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE team_members (
            team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
            user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            role       TEXT NOT NULL CHECK (role IN ('viewer', 'contributor', 'owner')),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (team_id, user_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX team_members_user ON team_members (user_id);

        CREATE TABLE namespaces (
            id                INTEGER PRIMARY KEY,
            name              TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
            team_id           INTEGER NOT NULL REFERENCES teams (id) ON DELETE RESTRICT,
            visibility        TEXT NOT NULL CHECK (visibility IN ('private', 'protected', 'public')),
            kind              TEXT NOT NULL CHECK (kind IN ('global', 'personal', 'regular')),
            personal_owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
            description       TEXT,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            CHECK (kind = 'personal' OR personal_owner_id IS NULL),
            CHECK (kind <> 'global' OR visibility <> 'private')
        ) STRICT;
        CREATE INDEX namespaces_team ON namespaces (team_id);
        CREATE UNIQUE INDEX namespaces_one_global ON namespaces (kind) WHERE kind = 'global';
        CREATE UNIQUE INDEX namespaces_one_personal ON namespaces (personal_owner_id)
            WHERE personal_owner_id IS NOT NULL;

        CREATE TABLE repositories (
            id           INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
            name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
            description  TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL,
            UNIQUE (namespace_id, name)
        ) STRICT;

        CREATE TABLE tags (
            id             INTEGER PRIMARY KEY,
            repository_id  INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
            digest         TEXT NOT NULL CHECK (length(digest) > 0),
            media_type     TEXT,
            size           INTEGER CHECK (size >= 0),
            pushed_by_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
            pushed_by_name TEXT,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL,
            UNIQUE (repository_id, name)
        ) STRICT;
        CREATE INDEX tags_pushed_by ON tags (pushed_by_id) WHERE pushed_by_id IS NOT NULL;
        CREATE INDEX tags_digest ON tags (digest);

        CREATE TABLE stars (
            user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            created_at    INTEGER NOT NULL,
            PRIMARY KEY (user_id, repository_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX stars_repository ON stars (repository_id);

        CREATE TABLE application_tokens (
            id           INTEGER PRIMARY KEY,
            owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
            secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            prefix       TEXT NOT NULL,
            scope        TEXT,
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER,
            last_used_at INTEGER,
            revoked_at   INTEGER,
            UNIQUE (owner_id, name)
        ) STRICT;

        CREATE TABLE refresh_tokens (
            id           INTEGER PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            service      TEXT NOT NULL,
            secret_hash  TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            created_at   INTEGER NOT NULL,
            last_used_at INTEGER,
            revoked_at   INTEGER
        ) STRICT;
        CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

        CREATE TABLE registry_events (
            id           INTEGER PRIMARY KEY,
            event_id     TEXT NOT NULL UNIQUE CHECK (length(event_id) > 0),
            payload      TEXT NOT NULL,
            received_at  INTEGER NOT NULL,
            state        TEXT NOT NULL CHECK (state IN ('pending', 'processed', 'failed', 'ignored')),
            processed_at INTEGER,
            attempts     INTEGER NOT NULL DEFAULT 0,
            last_error   TEXT
        ) STRICT;
        CREATE INDEX registry_events_state ON registry_events (state, id);

        CREATE TABLE audit_events (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            time       INTEGER NOT NULL,
            actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
            actor_name TEXT,
            action     TEXT NOT NULL CHECK (length(action) > 0),
            target     TEXT,
            outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
            client_ip  TEXT,
            detail     TEXT
        ) STRICT;
        CREATE INDEX audit_events_time ON audit_events (time);
        CREATE INDEX audit_events_actor ON audit_events (actor_id) WHERE actor_id IS NOT NULL;
        """

    /// One counter that triggers advance whenever an authorization-relevant row changes, in any process
    /// (the server, or the CLI beside it). `AuthorizationCache`s compare it instead of re-reading accounts,
    /// memberships and namespaces for every token request. Login bookkeeping columns (`last_login_at`,
    /// failure counts, `last_used_at`, `last_seen_at`) are left out on purpose: they change on the hot path.
    private static let authorizationGeneration = """
        CREATE TABLE authorization_generation (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            value INTEGER NOT NULL
        ) STRICT;
        INSERT INTO authorization_generation (id, value) VALUES (1, 1);
        """
        + generationTriggers([
            ("users_created", "INSERT ON users"), ("users_deleted", "DELETE ON users"),
            ("users_changed", "UPDATE OF username, password_hash, is_admin, is_enabled ON users"),
            // Every failed login writes locked_until; only a lock that starts or ends counts.
            ("users_lock_changed", "UPDATE OF locked_until ON users WHEN NEW.locked_until IS NOT OLD.locked_until"),
            ("identity_links_created", "INSERT ON identity_links"),
            ("identity_links_deleted", "DELETE ON identity_links"),
            ("identity_links_changed", "UPDATE OF provider_id, subject, user_id ON identity_links"),
            ("teams_deleted", "DELETE ON teams"),
            ("team_members_created", "INSERT ON team_members"), ("team_members_deleted", "DELETE ON team_members"),
            ("team_members_changed", "UPDATE ON team_members"),
            ("namespaces_created", "INSERT ON namespaces"), ("namespaces_deleted", "DELETE ON namespaces"),
            ("namespaces_changed", "UPDATE OF name, team_id, visibility, kind, personal_owner_id ON namespaces"),
            ("application_tokens_created", "INSERT ON application_tokens"),
            ("application_tokens_deleted", "DELETE ON application_tokens"),
            (
                "application_tokens_changed",
                "UPDATE OF owner_id, secret_hash, scope, expires_at, revoked_at ON application_tokens"
            ),
        ])

    /// Which provider's group sync made a membership (NULL: added by hand). Authoritative sync removes
    /// only memberships it made, so a member added by hand to a synced team stays.
    private static let syncedMemberships = """
        ALTER TABLE team_members ADD COLUMN synced_from TEXT CHECK (synced_from IS NULL OR length(synced_from) > 0);
        CREATE INDEX team_members_synced ON team_members (synced_from) WHERE synced_from IS NOT NULL;
        """

    /// Repositories and events become per registry (a name or event id is unique only within its registry), and
    /// tags gain platforms and pull counters. SQLite cannot change a table's UNIQUE constraint in place, so the
    /// affected tables are rebuilt. With foreign keys on (they cannot be switched off inside the migration's
    /// transaction) dropping a parent would cascade into its children, so the children are rebuilt too and the old
    /// tables are dropped children first; the renames then repoint the new tables' references. Rows stored before
    /// this step get the registry name '' (one unnamed registry).
    private static let registryContents = """
        CREATE TABLE repositories_v4 (
            id           INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
            name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
            registry     TEXT NOT NULL DEFAULT '',
            description  TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL,
            UNIQUE (registry, namespace_id, name)
        ) STRICT;
        INSERT INTO repositories_v4 (id, namespace_id, name, registry, description, created_at, updated_at)
            SELECT id, namespace_id, name, '', description, created_at, updated_at FROM repositories;

        CREATE TABLE tags_v4 (
            id             INTEGER PRIMARY KEY,
            repository_id  INTEGER NOT NULL REFERENCES repositories_v4 (id) ON DELETE CASCADE,
            name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
            digest         TEXT NOT NULL CHECK (length(digest) > 0),
            media_type     TEXT,
            size           INTEGER CHECK (size >= 0),
            platforms      TEXT,
            pushed_by_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
            pushed_by_name TEXT,
            pull_count     INTEGER NOT NULL DEFAULT 0 CHECK (pull_count >= 0),
            last_pulled_at INTEGER,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL,
            UNIQUE (repository_id, name)
        ) STRICT;
        INSERT INTO tags_v4 (id, repository_id, name, digest, media_type, size, pushed_by_id, pushed_by_name,
                             created_at, updated_at)
            SELECT id, repository_id, name, digest, media_type, size, pushed_by_id, pushed_by_name,
                   created_at, updated_at FROM tags;

        CREATE TABLE stars_v4 (
            user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            repository_id INTEGER NOT NULL REFERENCES repositories_v4 (id) ON DELETE CASCADE,
            created_at    INTEGER NOT NULL,
            PRIMARY KEY (user_id, repository_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO stars_v4 (user_id, repository_id, created_at)
            SELECT user_id, repository_id, created_at FROM stars;

        CREATE TABLE registry_events_v4 (
            id           INTEGER PRIMARY KEY,
            registry     TEXT NOT NULL DEFAULT '',
            event_id     TEXT NOT NULL CHECK (length(event_id) > 0),
            payload      TEXT NOT NULL,
            received_at  INTEGER NOT NULL,
            state        TEXT NOT NULL CHECK (state IN ('pending', 'processed', 'failed', 'ignored')),
            processed_at INTEGER,
            attempts     INTEGER NOT NULL DEFAULT 0,
            last_error   TEXT,
            UNIQUE (registry, event_id)
        ) STRICT;
        INSERT INTO registry_events_v4 (id, registry, event_id, payload, received_at, state, processed_at, attempts,
                                        last_error)
            SELECT id, '', event_id, payload, received_at, state, processed_at, attempts, last_error
            FROM registry_events;

        DROP TABLE stars;
        DROP TABLE tags;
        DROP TABLE repositories;
        DROP TABLE registry_events;
        ALTER TABLE repositories_v4 RENAME TO repositories;
        ALTER TABLE tags_v4 RENAME TO tags;
        ALTER TABLE stars_v4 RENAME TO stars;
        ALTER TABLE registry_events_v4 RENAME TO registry_events;

        CREATE INDEX repositories_namespace ON repositories (namespace_id);
        CREATE INDEX tags_pushed_by ON tags (pushed_by_id) WHERE pushed_by_id IS NOT NULL;
        CREATE INDEX tags_digest ON tags (digest);
        CREATE INDEX stars_repository ON stars (repository_id);
        CREATE INDEX registry_events_state ON registry_events (state, id);
        """

    /// Outgoing webhooks of namespaces, their queued deliveries and each delivery's attempt log.
    /// Deliveries keep the exact body they were queued with (TEXT: bodies are rendered JSON, so UTF-8),
    /// and go with their webhook; the secret is stored as is because signing needs it (see `Webhook.secret`).
    private static let webhooks = """
        CREATE TABLE webhooks (
            id           INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
            url          TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
            format       TEXT NOT NULL CHECK (format IN ('json', 'cloudevents')),
            events       TEXT NOT NULL CHECK (length(events) > 0),
            is_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (is_enabled IN (0, 1)),
            secret       TEXT NOT NULL CHECK (length(secret) > 0),
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX webhooks_namespace ON webhooks (namespace_id);

        CREATE TABLE webhook_headers (
            webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            name       TEXT NOT NULL CHECK (length(name) > 0),
            value      TEXT NOT NULL,
            PRIMARY KEY (webhook_id, position)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE webhook_deliveries (
            id               INTEGER PRIMARY KEY,
            webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            change_id        TEXT NOT NULL,
            event            TEXT NOT NULL CHECK (event IN ('push', 'delete')),
            content_type     TEXT NOT NULL,
            body             TEXT NOT NULL,
            state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'retrying')),
            attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at  INTEGER,
            last_status      INTEGER,
            last_latency_ms  INTEGER,
            response_excerpt TEXT,
            last_error       TEXT,
            redelivery_of    INTEGER REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            delivered_at     INTEGER
        ) STRICT;
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
            WHERE state IN ('pending', 'retrying');
        CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
        CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at)
            WHERE state IN ('delivered', 'failed');

        CREATE TABLE webhook_attempts (
            id               INTEGER PRIMARY KEY,
            delivery_id      INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            number           INTEGER NOT NULL CHECK (number >= 1),
            attempted_at     INTEGER NOT NULL,
            status           INTEGER,
            latency_ms       INTEGER NOT NULL CHECK (latency_ms >= 0),
            response_excerpt TEXT,
            error            TEXT,
            UNIQUE (delivery_id, number)
        ) STRICT;
        """

    /// What asked for each refresh token (the user agent), so `token refresh list` can tell them apart.
    /// Expiry is not stored: it follows from the times and the configured limits, so tightening the limits
    /// applies to tokens already issued. (Webhook secrets and header values become sealed text in the same
    /// TEXT columns at the first start after this version: no schema change.)
    private static let refreshTokenClients = """
        ALTER TABLE refresh_tokens ADD COLUMN client TEXT;
        """

    /// Lockout per account and client address (`AddressLoginState`); a lock set or lifted here changes what
    /// the password providers' caches may answer, so it advances the authorization generation, as a lock on
    /// `users` does.
    private static let addressLockout =
        """
        CREATE TABLE login_address_states (
            user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            client_address  TEXT NOT NULL CHECK (length(client_address) BETWEEN 1 AND 255),
            failed_count    INTEGER NOT NULL DEFAULT 0 CHECK (failed_count >= 0),
            lock_count      INTEGER NOT NULL DEFAULT 0 CHECK (lock_count >= 0),
            locked_until    INTEGER,
            last_failure_at INTEGER,
            last_success_at INTEGER,
            PRIMARY KEY (user_id, client_address)
        ) STRICT, WITHOUT ROWID;

        """
        + generationTriggers([
            (
                "login_address_lock_set",
                "INSERT ON login_address_states WHEN NEW.locked_until IS NOT NULL"
            ),
            (
                "login_address_lock_changed",
                "UPDATE OF locked_until ON login_address_states WHEN NEW.locked_until IS NOT OLD.locked_until"
            ),
            ("login_address_lock_deleted", "DELETE ON login_address_states WHEN OLD.locked_until IS NOT NULL"),
        ])

    /// Robot accounts: tokens owned by a team (`RobotAccount`). They go with their team (CASCADE); the
    /// account that made one may go without it (SET NULL, the name is copied). A robot always expires.
    /// Creating, revoking or re-scoping one changes what the token providers' caches may answer.
    private static let robotAccounts =
        """
        CREATE TABLE robot_accounts (
            id              INTEGER PRIMARY KEY,
            team_id         INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
            name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
            secret_hash     TEXT NOT NULL UNIQUE CHECK (length(secret_hash) > 0),
            prefix          TEXT NOT NULL,
            actions         TEXT NOT NULL CHECK (length(actions) > 0),
            namespaces      TEXT,
            note            TEXT,
            created_by_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
            created_by_name TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            last_used_at    INTEGER,
            revoked_at      INTEGER,
            UNIQUE (team_id, name)
        ) STRICT;
        CREATE INDEX robot_accounts_created_by ON robot_accounts (created_by_id) WHERE created_by_id IS NOT NULL;

        """
        + generationTriggers([
            ("robot_accounts_created", "INSERT ON robot_accounts"),
            ("robot_accounts_deleted", "DELETE ON robot_accounts"),
            (
                "robot_accounts_changed",
                "UPDATE OF team_id, secret_hash, actions, namespaces, expires_at, revoked_at ON robot_accounts"
            ),
        ])

    /// `AFTER <event>` triggers, each named `<name>_authorization`, that advance the authorization generation.
    static func generationTriggers(_ triggers: [(name: String, event: String)]) -> String {
        triggers.map { trigger in
            """
            CREATE TRIGGER \(trigger.name)_authorization AFTER \(trigger.event) BEGIN
                UPDATE authorization_generation SET value = value + 1 WHERE id = 1;
            END;
            """
        }.joined(separator: "\n")
    }

    /// Reads the counter kept by the triggers above.
    static let authorizationGenerationQuery = "SELECT value FROM authorization_generation WHERE id = 1"
}
