import Foundation
import Storage

// The robot-account part of `StoreReading`/`StoreWriting` on both SQL backends (migration 10's table). Actions and
// namespaces are stored as comma-separated sorted lists: names of either never contain a comma.
extension SQLTransaction {
    private static var robotColumns: String {
        """
        id, team_id, name, secret_hash, prefix, actions, namespaces, note, created_by_id, created_by_name,
        created_at, expires_at, last_used_at, revoked_at
        """
    }

    private static func list(_ text: String?) -> [String]? {
        text.map { $0.split(separator: ",").map(String.init) }
    }

    private static func decodeRobot(_ row: Connection.Row) -> RobotAccount {
        RobotAccount(
            id: row.id(0), teamID: row.id(1), name: row.text(2), secretHash: row.text(3), prefix: row.text(4),
            actions: list(row.text(5)) ?? [], namespaces: list(row.optionalText(6)), note: row.optionalText(7),
            createdByID: row.optionalID(8), createdByName: row.text(9),
            createdAt: row.date(10), expiresAt: row.date(11), lastUsedAt: row.optionalDate(12),
            revokedAt: row.optionalDate(13))
    }

    package func robotAccount(secretHash: String) throws -> RobotAccount? {
        try first(
            "SELECT \(Self.robotColumns) FROM robot_accounts WHERE secret_hash = ?", [secretHash.sqlValue],
            Self.decodeRobot)
    }

    package func robotAccount(id: RobotAccount.ID) throws -> RobotAccount? {
        try first(
            "SELECT \(Self.robotColumns) FROM robot_accounts WHERE id = ?", [id.sqlValue], Self.decodeRobot)
    }

    package func robotAccount(named name: String, inTeam teamID: Team.ID) throws -> RobotAccount? {
        try first(
            "SELECT \(Self.robotColumns) FROM robot_accounts WHERE team_id = ? AND name = ?",
            [teamID.sqlValue, name.sqlValue], Self.decodeRobot)
    }

    package func robotAccounts(ofTeam teamID: Team.ID) throws -> [RobotAccount] {
        try rows(
            "SELECT \(Self.robotColumns) FROM robot_accounts WHERE team_id = ? ORDER BY name", [teamID.sqlValue],
            Self.decodeRobot)
    }

    package func createRobotAccount(_ robot: NewRobotAccount) throws -> RobotAccount {
        try requireName(robot.name, "robot name")
        try requireName(robot.secretHash, "token hash")
        let id = try insert(
            """
            INSERT INTO robot_accounts (team_id, name, secret_hash, prefix, actions, namespaces, note, created_by_id,
                created_by_name, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                robot.teamID.sqlValue, robot.name.sqlValue, robot.secretHash.sqlValue, robot.prefix.sqlValue,
                robot.actions.joined(separator: ",").sqlValue,
                robot.namespaces.map { $0.joined(separator: ",") }.sqlValue,
                robot.note.sqlValue, robot.createdByID.sqlValue, robot.createdByName.sqlValue,
                now().sqlValue, robot.expiresAt.sqlValue,
            ])
        return try requireFound(
            try first(
                "SELECT \(Self.robotColumns) FROM robot_accounts WHERE id = ?", [id.sqlValue], Self.decodeRobot),
            "robot account")
    }

    package func touchRobotAccount(_ robotID: RobotAccount.ID, at date: Date) throws {
        try change(
            "robot account", "UPDATE robot_accounts SET last_used_at = ? WHERE id = ?",
            [date.sqlValue, robotID.sqlValue])
    }

    package func revokeRobotAccount(_ robotID: RobotAccount.ID, at date: Date) throws {
        try change(
            "robot account", "UPDATE robot_accounts SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            [date.sqlValue, robotID.sqlValue])
    }
}
