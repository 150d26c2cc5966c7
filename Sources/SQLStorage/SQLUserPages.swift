import Storage

extension SQLTransaction {
    package func users(in order: UserOrder, descending: Bool, offset: Int, limit: Int) throws -> [User] {
        // The column comes from a closed enum, never from the request; ties go by id so pages never overlap.
        let column =
            switch order {
            case .username: "username"
            case .createdAt: "created_at"
            case .lastLoginAt: "last_login_at"
            }
        let direction = descending ? "DESC" : "ASC"
        return try rows(
            "SELECT \(Self.userColumns) FROM users ORDER BY \(column) \(direction), id \(direction) LIMIT ? OFFSET ?",
            [limit.sqlValue, offset.sqlValue], Self.decodeUser)
    }

    package func countUsers() throws -> Int { try count("SELECT count(*) FROM users") }
}
