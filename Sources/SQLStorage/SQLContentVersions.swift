import Storage

extension SQLTransaction {
    package func contentVersion(ofRepository id: Repository.ID) throws -> Int {
        try first("SELECT content_version FROM repositories WHERE id = ?", [id.sqlValue]) { Int($0.int(0)) } ?? 0
    }
}
