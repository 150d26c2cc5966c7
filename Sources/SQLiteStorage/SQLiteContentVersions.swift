import Storage

extension SQLiteSchema {
    /// Migration 17: a content version per repository, for caches of what the repository page renders.
    ///
    /// `repositories.content_version` goes up whenever one of the repository's tags is added, changed (a push,
    /// a pull's counters, its author's account deleted) or removed, by triggers: every writer moves it, however
    /// the change is made and on whichever instance, so a reader that finds the number it saw before knows the
    /// tag listing and the pull counters are as they were. A tag moved between repositories moves both. The
    /// pulls per day change only together with a tag's counters (`recordPull` writes both), so they need no
    /// trigger of their own.
    static let contentVersions = """
        ALTER TABLE repositories ADD COLUMN content_version INTEGER NOT NULL DEFAULT 0;
        CREATE TRIGGER tags_content_insert AFTER INSERT ON tags BEGIN
            UPDATE repositories SET content_version = content_version + 1 WHERE id = NEW.repository_id;
        END;
        CREATE TRIGGER tags_content_delete AFTER DELETE ON tags BEGIN
            UPDATE repositories SET content_version = content_version + 1 WHERE id = OLD.repository_id;
        END;
        CREATE TRIGGER tags_content_update AFTER UPDATE ON tags BEGIN
            UPDATE repositories SET content_version = content_version + 1
                WHERE id = NEW.repository_id OR id = OLD.repository_id;
        END;
        """
}
