import Foundation
import Storage

// Application tokens and registry events on both SQL backends: part of `SQLTransaction`.
extension SQLTransaction {
    // MARK: Tokens

    private static var applicationTokenColumns: String {
        """
        id, owner_id, name, secret_hash, prefix, scope, created_at, expires_at, last_used_at, revoked_at
        """
    }

    private static func decodeApplicationToken(_ row: Connection.Row) -> ApplicationToken {
        ApplicationToken(
            id: row.id(0), ownerID: row.id(1), name: row.text(2), secretHash: row.text(3), prefix: row.text(4),
            scope: row.optionalText(5), createdAt: row.date(6), expiresAt: row.optionalDate(7),
            lastUsedAt: row.optionalDate(8), revokedAt: row.optionalDate(9))
    }

    package func applicationToken(secretHash: String) throws -> ApplicationToken? {
        try first(
            "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE secret_hash = ?",
            [secretHash.sqlValue], Self.decodeApplicationToken)
    }

    package func applicationTokens(ownedBy userID: User.ID) throws -> [ApplicationToken] {
        try rows(
            "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE owner_id = ? ORDER BY name",
            [userID.sqlValue], Self.decodeApplicationToken)
    }

    package func createApplicationToken(_ token: NewApplicationToken) throws -> ApplicationToken {
        try requireName(token.name, "token name")
        try requireName(token.secretHash, "token hash")
        let id = try insert(
            """
            INSERT INTO application_tokens (owner_id, name, secret_hash, prefix, scope, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                token.ownerID.sqlValue, token.name.sqlValue, token.secretHash.sqlValue, token.prefix.sqlValue,
                token.scope.sqlValue, now().sqlValue, token.expiresAt.sqlValue,
            ])
        return try requireFound(
            try first(
                "SELECT \(Self.applicationTokenColumns) FROM application_tokens WHERE id = ?", [id.sqlValue],
                Self.decodeApplicationToken), "application token")
    }

    package func touchApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws {
        try change(
            "application token", "UPDATE application_tokens SET last_used_at = ? WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    package func revokeApplicationToken(_ tokenID: ApplicationToken.ID, at date: Date) throws {
        try change(
            "application token", "UPDATE application_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, tokenID.sqlValue])
    }

    // MARK: Events

    static var registryEventColumns: String {
        """
        id, event_id, registry, payload, received_at, state, processed_at, attempts, last_error
        """
    }

    static func decodeRegistryEvent(_ row: Connection.Row) -> RegistryEvent {
        RegistryEvent(
            id: row.id(0), eventID: row.text(1), registry: row.text(2), payload: row.text(3), receivedAt: row.date(4),
            state: RegistryEventState(rawValue: row.text(5)) ?? .pending, processedAt: row.optionalDate(6),
            attempts: Int(row.int(7)), lastError: row.optionalText(8))
    }

    package func registryEvent(eventID: String, registry: String) throws -> RegistryEvent? {
        try first(
            "SELECT \(Self.registryEventColumns) FROM registry_events WHERE registry = ? AND event_id = ?",
            [registry.sqlValue, eventID.sqlValue], Self.decodeRegistryEvent)
    }

    package func registryEvents(in state: RegistryEventState, limit: Int) throws -> [RegistryEvent] {
        try rows(
            "SELECT \(Self.registryEventColumns) FROM registry_events WHERE state = ? ORDER BY id LIMIT ?",
            [state.rawValue.sqlValue, max(0, limit).sqlValue], Self.decodeRegistryEvent)
    }

    package func recordRegistryEvent(eventID: String, registry: String, repository: String, payload: String) throws
        -> RegistryEventInsertion
    {
        try requireName(eventID, "event id")
        let inserted = try affected(
            """
            INSERT INTO registry_events (registry, event_id, repository, payload, received_at, state)
            VALUES (?, ?, ?, ?, ?, 'pending')
            ON CONFLICT (registry, event_id) DO NOTHING
            """, [registry.sqlValue, eventID.sqlValue, repository.sqlValue, payload.sqlValue, now().sqlValue])
        let event = try requireFound(try registryEvent(eventID: eventID, registry: registry), "registry event")
        return inserted > 0 ? .inserted(event) : .duplicate(event)
    }

    package func setState(_ state: RegistryEventState, ofRegistryEvent eventID: RegistryEvent.ID, error: String?) throws
    {
        let processedAt: Date? = state == .pending ? nil : now()
        try change(
            "registry event",
            "UPDATE registry_events SET state = ?, processed_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            [state.rawValue.sqlValue, processedAt.sqlValue, error.sqlValue, eventID.sqlValue])
    }

    package func pruneRegistryEvents(finishedBefore date: Date) throws -> Int {
        try affected(
            "DELETE FROM registry_events WHERE state != 'pending' AND coalesce(processed_at, received_at) < ?",
            [date.sqlValue])
    }
}
