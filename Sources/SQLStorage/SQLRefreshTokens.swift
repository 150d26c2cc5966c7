import Foundation
import Storage

// The refresh-token part of `StoreReading`/`StoreWriting` on both SQL backends (the `client` column is migration 7's).
extension SQLTransaction {
    private static var refreshTokenColumns: String {
        "id, user_id, service, secret_hash, created_at, last_used_at, revoked_at, client"
    }

    private static func decodeRefreshToken(_ row: Connection.Row) -> RefreshToken {
        RefreshToken(
            id: row.id(0), userID: row.id(1), service: row.text(2), secretHash: row.text(3), createdAt: row.date(4),
            lastUsedAt: row.optionalDate(5), revokedAt: row.optionalDate(6), client: row.optionalText(7))
    }

    package func refreshToken(secretHash: String) throws -> RefreshToken? {
        try first(
            "SELECT \(Self.refreshTokenColumns) FROM refresh_tokens WHERE secret_hash = ?", [secretHash.sqlValue],
            Self.decodeRefreshToken)
    }

    package func refreshTokens(of userID: User.ID) throws -> [RefreshToken] {
        try rows(
            """
            SELECT \(Self.refreshTokenColumns) FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL
            ORDER BY created_at, id
            """, [userID.sqlValue], Self.decodeRefreshToken)
    }

    package func createRefreshToken(userID: User.ID, service: String, secretHash: String, client: String?) throws
        -> RefreshToken
    {
        try requireName(secretHash, "token hash")
        let id = try insert(
            "INSERT INTO refresh_tokens (user_id, service, secret_hash, created_at, client) VALUES (?, ?, ?, ?, ?)",
            [userID.sqlValue, service.sqlValue, secretHash.sqlValue, now().sqlValue, client.sqlValue])
        return try requireFound(
            try first(
                "SELECT \(Self.refreshTokenColumns) FROM refresh_tokens WHERE id = ?", [id.sqlValue],
                Self.decodeRefreshToken), "refresh token")
    }

    package func touchRefreshToken(_ tokenID: RefreshToken.ID, at date: Date) throws {
        try change(
            "refresh token", "UPDATE refresh_tokens SET last_used_at = ? WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    package func revokeRefreshToken(_ tokenID: RefreshToken.ID, at date: Date) throws {
        try change(
            "refresh token", "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    package func revokeRefreshTokens(of userID: User.ID, at date: Date) throws -> Int {
        try affected(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            [date.sqlValue, userID.sqlValue])
    }

    package func pruneRefreshTokens(createdBefore: Date, idleBefore: Date) throws -> Int {
        try affected(
            """
            DELETE FROM refresh_tokens
            WHERE revoked_at IS NOT NULL OR created_at < ? OR coalesce(last_used_at, created_at) < ?
            """, [createdBefore.sqlValue, idleBefore.sqlValue])
    }
}
