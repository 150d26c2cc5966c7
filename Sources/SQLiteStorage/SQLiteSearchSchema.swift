extension SQLiteSchema {
    /// Migration 9: the search index. One FTS5 table per result section, tokenized into trigrams so any
    /// substring of three or more characters is answered from the index (case-insensitively) instead of by
    /// reading every row. Each index row's rowid is its record's id, so an index row is found, changed and
    /// deleted through the rowid b-tree, never by a scan.
    ///
    /// The tables keep their own copy of the text (not `content=''`): a contentless table needs the old text to
    /// delete a row, which a rename of a namespace would have to reconstruct for every tag below it.
    ///
    /// Triggers keep the index current in the same transaction as the change, whoever makes it (store methods,
    /// the seeding command, an operator's SQL): every insert, rename, move and delete. Deletes that cascade
    /// (a namespace's repositories, a repository's tags) fire the child tables' delete triggers. Hidden teams are
    /// indexed too and filtered out by the query, so hiding a team needs no trigger of its own.
    static let searchIndex = """
        CREATE VIRTUAL TABLE search_repositories USING fts5(name, tokenize = 'trigram');
        CREATE VIRTUAL TABLE search_tags USING fts5(name, tokenize = 'trigram');
        CREATE VIRTUAL TABLE search_namespaces USING fts5(name, description, tokenize = 'trigram');
        CREATE VIRTUAL TABLE search_teams USING fts5(name, description, tokenize = 'trigram');

        INSERT INTO search_namespaces (rowid, name, description) SELECT id, name, description FROM namespaces;
        INSERT INTO search_teams (rowid, name, description) SELECT id, name, description FROM teams;
        INSERT INTO search_repositories (rowid, name)
            SELECT r.id, \(repositoryFullName("r", "n")) FROM repositories r JOIN namespaces n ON n.id = r.namespace_id;
        INSERT INTO search_tags (rowid, name)
            SELECT t.id, \(repositoryFullName("r", "n")) || ':' || t.name
            FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN namespaces n ON n.id = r.namespace_id;

        CREATE TRIGGER teams_search_insert AFTER INSERT ON teams BEGIN
            INSERT INTO search_teams (rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
        END;
        CREATE TRIGGER teams_search_update AFTER UPDATE OF name, description ON teams BEGIN
            UPDATE search_teams SET name = NEW.name, description = NEW.description WHERE rowid = NEW.id;
        END;
        CREATE TRIGGER teams_search_delete AFTER DELETE ON teams BEGIN
            DELETE FROM search_teams WHERE rowid = OLD.id;
        END;

        CREATE TRIGGER namespaces_search_insert AFTER INSERT ON namespaces BEGIN
            INSERT INTO search_namespaces (rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
        END;
        CREATE TRIGGER namespaces_search_update AFTER UPDATE OF name, description ON namespaces BEGIN
            UPDATE search_namespaces SET name = NEW.name, description = NEW.description WHERE rowid = NEW.id;
        END;
        CREATE TRIGGER namespaces_search_rename AFTER UPDATE OF name, kind ON namespaces
            WHEN NEW.name IS NOT OLD.name OR NEW.kind IS NOT OLD.kind BEGIN
            UPDATE search_repositories
                SET name = (SELECT \(repositoryFullName("r", "NEW")) FROM repositories r WHERE r.id = search_repositories.rowid)
                WHERE rowid IN (SELECT id FROM repositories WHERE namespace_id = NEW.id);
            UPDATE search_tags
                SET name = (SELECT \(repositoryFullName("r", "NEW")) || ':' || t.name
                            FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE t.id = search_tags.rowid)
                WHERE rowid IN (SELECT t.id FROM tags t JOIN repositories r ON r.id = t.repository_id
                                WHERE r.namespace_id = NEW.id);
        END;
        CREATE TRIGGER namespaces_search_delete AFTER DELETE ON namespaces BEGIN
            DELETE FROM search_namespaces WHERE rowid = OLD.id;
        END;

        CREATE TRIGGER repositories_search_insert AFTER INSERT ON repositories BEGIN
            INSERT INTO search_repositories (rowid, name)
                SELECT NEW.id, \(repositoryFullName("NEW", "n")) FROM namespaces n WHERE n.id = NEW.namespace_id;
        END;
        CREATE TRIGGER repositories_search_update AFTER UPDATE OF name, namespace_id ON repositories
            WHEN NEW.name IS NOT OLD.name OR NEW.namespace_id IS NOT OLD.namespace_id BEGIN
            UPDATE search_repositories
                SET name = (SELECT \(repositoryFullName("NEW", "n")) FROM namespaces n WHERE n.id = NEW.namespace_id)
                WHERE rowid = NEW.id;
            UPDATE search_tags
                SET name = (SELECT \(repositoryFullName("NEW", "n")) || ':' || t.name
                            FROM tags t JOIN namespaces n ON n.id = NEW.namespace_id WHERE t.id = search_tags.rowid)
                WHERE rowid IN (SELECT id FROM tags WHERE repository_id = NEW.id);
        END;
        CREATE TRIGGER repositories_search_delete AFTER DELETE ON repositories BEGIN
            DELETE FROM search_repositories WHERE rowid = OLD.id;
        END;

        CREATE TRIGGER tags_search_insert AFTER INSERT ON tags BEGIN
            INSERT INTO search_tags (rowid, name)
                SELECT NEW.id, \(repositoryFullName("r", "n")) || ':' || NEW.name
                FROM repositories r JOIN namespaces n ON n.id = r.namespace_id WHERE r.id = NEW.repository_id;
        END;
        CREATE TRIGGER tags_search_update AFTER UPDATE OF name, repository_id ON tags
            WHEN NEW.name IS NOT OLD.name OR NEW.repository_id IS NOT OLD.repository_id BEGIN
            UPDATE search_tags
                SET name = (SELECT \(repositoryFullName("r", "n")) || ':' || NEW.name
                            FROM repositories r JOIN namespaces n ON n.id = r.namespace_id
                            WHERE r.id = NEW.repository_id)
                WHERE rowid = NEW.id;
        END;
        CREATE TRIGGER tags_search_delete AFTER DELETE ON tags BEGIN
            DELETE FROM search_tags WHERE rowid = OLD.id;
        END;
        """

    /// The SQL for a repository's full name as users type it: `repo` in the global namespace (`busybox`),
    /// `ns/repo` elsewhere; `repository` and `namespace` are the table aliases (or `NEW`).
    static func repositoryFullName(_ repository: String, _ namespace: String) -> String {
        "CASE WHEN \(namespace).kind = 'global' THEN \(repository).name ELSE \(namespace).name || '/' || \(repository).name END"
    }
}
