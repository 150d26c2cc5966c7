import Storage

// The people listings of `StoreReading` on both SQL backends: the accounts page of the admin UI with its search.
extension SQLTransaction {
    package func userPage(matching text: String?, offset: Int, limit: Int) throws -> StorePage<User> {
        guard offset >= 0, limit >= 0 else {
            throw StoreError(.invalidInput, "offset and limit must not be negative", subject: "page")
        }
        // instr() rather than LIKE: the text is matched literally, so `%` and `_` need no escaping. The users
        // table is small next to tags (thousands of rows), so a scan per page is cheap.
        let (condition, values): (String, [SQLValue]) =
            if let text, !text.isEmpty {
                (
                    " WHERE "
                        + ["username", "coalesce(email, '')", "coalesce(display_name, '')"].map {
                            "\(dialect.position(of: "lower(?1)", in: "lower(\($0))")) > 0"
                        }.joined(separator: " OR "), [text.sqlValue]
                )
            } else {
                ("", [])
            }
        let placeholderBase = values.count
        let items = try rows(
            "SELECT \(Self.userColumns) FROM users\(condition) ORDER BY username, id LIMIT ?\(placeholderBase + 1)"
                + " OFFSET ?\(placeholderBase + 2)", values + [limit.sqlValue, offset.sqlValue], Self.decodeUser)
        let total = try count("SELECT count(*) FROM users\(condition)", values)
        return StorePage(items: items, total: total)
    }
}
