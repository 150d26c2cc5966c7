import SQLStorage

/// The backend-neutral queries (`SQLTransaction`) over a SQLite connection: what `read`/`write` closures get.
/// Extensions on this name add SQLite-only queries; portable ones belong on `SQLTransaction` itself.
typealias SQLiteTransaction = SQLTransaction<SQLiteConnection>
