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
