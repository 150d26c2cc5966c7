import CPQ
import Foundation
import Storage

/// One libpq connection: what `PostgresStore` pools and the migrator runs on.
///
/// Threading: libpq calls block (connect, query), so every method here is synchronous and must run
/// on a `BlockingPool` thread, never on the cooperative pool. A connection must be used by one
/// thread at a time (libpq is thread-safe only across distinct connections).
///
/// Errors: every failure is a `StoreError` with code `.unavailable` (cannot connect, server gone),
/// `.invalidInput` (malformed connection string) or `.internal` (a statement failed); the message
/// carries libpq's own text, with the password never included.
public final class PostgresConnection: @unchecked Sendable {
    /// The libpq connection; nil once closed.
    private(set) var handle: OpaquePointer?
    /// Names of the statements prepared on this connection, by SQL text (see `PostgresStatements.swift`).
    var preparedStatements: [String: String] = [:]
    /// Rows changed by the last statement run through `run`.
    var lastChanges = 0
    /// Whether statements are prepared once and kept (faster) or sent unnamed each time (for a pooler in
    /// transaction mode that cannot carry prepared statements between server connections).
    var usesPreparedStatements = true

    /// Connects with a conninfo string (`host=… port=… dbname=…`) or a `postgresql://` URL.
    ///
    /// `connectTimeout` bounds the TCP/TLS connect (libpq's `connect_timeout`, whole seconds, at
    /// least 2 as libpq requires); `statementTimeout`, when given, bounds every statement server-side.
    ///
    /// `options` adds libpq keywords that override the string's own (`sslmode`, `sslrootcert`, …).
    public init(
        _ connectionString: String, connectTimeout: Duration = .seconds(5), statementTimeout: Duration? = nil,
        options: [(keyword: String, value: String)] = []
    ) throws {
        // Validate first: with expand_dbname, a string that is neither conninfo nor a URL would
        // silently be taken as a bare database name.
        var parseError: UnsafeMutablePointer<CChar>?
        if let parsed = PQconninfoParse(connectionString, &parseError) {
            PQconninfoFree(parsed)
        } else {
            let reason = parseError.map { String(cString: $0) } ?? "out of memory"
            if let parseError { PQfreemem(parseError) }
            let trimmed = Self.redact(reason.trimmingCharacters(in: .whitespacesAndNewlines), connectionString)
            throw StoreError(.invalidInput, "invalid PostgreSQL connection string: \(trimmed)", reason: trimmed)
        }
        let seconds = max(2, connectTimeout.components.seconds)
        var keywords = ["dbname", "connect_timeout", "application_name"]
        var values = [connectionString, String(seconds), "portcullis"]
        if let statementTimeout {
            let milliseconds =
                statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds
                / 1_000_000_000_000_000
            keywords.append("options")
            values.append("-c statement_timeout=\(max(1, milliseconds))")
        }
        for option in options {
            keywords.append(option.keyword)
            values.append(option.value)
        }
        // With expand_dbname=1, libpq parses the "dbname" value as a full conninfo string or URL;
        // the keywords after it override what it says about timeouts.
        let connection = Self.withCStringArray(keywords) { keywordPointers in
            Self.withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw StoreError(.unavailable, "could not allocate a PostgreSQL connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.redact(Self.message(connection), connectionString)
            // libpq allocates the connection object even when connecting fails; it must be freed.
            PQfinish(connection)
            throw StoreError(.unavailable, "cannot connect to PostgreSQL: \(reason)", reason: reason)
        }
        handle = connection
    }

    deinit { close() }

    /// Closes the connection; safe to call more than once.
    public func close() {
        preparedStatements.removeAll()
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Whether the connection is open and healthy as far as libpq knows.
    public var isConnected: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// The server's version number (for example 150004 for 15.4), or 0 when closed.
    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Runs one or more SQL statements without parameters and ignores their rows.
    public func execute(_ sql: String) throws {
        _ = try query(sql)
    }

    /// Runs `SELECT 1`, proving the server answers.
    public func ping() throws {
        let rows = try query("SELECT 1")
        guard rows.first?.first == "1" else {
            throw StoreError(.internal, "PostgreSQL answered SELECT 1 unexpectedly")
        }
    }

    /// Runs a statement and returns its rows as text (`nil` for SQL NULL).
    public func query(_ sql: String) throws -> [[String?]] {
        guard let handle else { throw StoreError(.closed, "the PostgreSQL connection is closed") }
        guard let result = PQexec(handle, sql) else {
            let reason = Self.message(handle)
            throw StoreError(.unavailable, "PostgreSQL did not answer: \(reason)", reason: reason)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            var rows: [[String?]] = []
            let rowCount = PQntuples(result)
            let columnCount = PQnfields(result)
            rows.reserveCapacity(Int(rowCount))
            for row in 0..<rowCount {
                rows.append(
                    (0..<columnCount).map { column in
                        PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                    })
            }
            return rows
        default:
            // Lost connections, busy servers and timeouts keep their meaning; anything else here is a script (a
            // migration, BEGIN or COMMIT) that failed, shown with PostgreSQL's own message.
            let mapped = Self.statementError(result, handle)
            if mapped.code == .unavailable || mapped.code == .conflict { throw mapped }
            let primary =
                PQresultErrorField(result, Int32(Character("M").asciiValue ?? 0)).map { String(cString: $0) }
                ?? mapped.message
            throw StoreError(.internal, "PostgreSQL statement failed: \(primary)", reason: mapped.reason)
        }
    }

    /// The version of the linked libpq (for example 150018).
    public static var libraryVersion: Int { Int(PQlibVersion()) }

    /// Some libpq parse errors quote the whole URI; never let its password reach a log or a user.
    static func redact(_ message: String, _ connectionString: String) -> String {
        hidingPasswords(
            of: connectionString, in: message.replacingOccurrences(of: connectionString, with: "<connection string>"))
    }

    /// `text` with every password `connectionString` carries (a URL's `user:password@`, a `password=` field of
    /// conninfo or of a URL's query) replaced by `***`: for showing the string itself, or a message quoting it.
    public static func hidingPasswords(of connectionString: String, in text: String) -> String {
        var passwords: [Substring] = []
        if let scheme = connectionString.range(of: "://") {
            let rest = connectionString[scheme.upperBound...]
            if let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                passwords.append(rest[rest.index(after: colon)..<at])
            }
        }
        for field in connectionString.split(whereSeparator: { $0 == " " || $0 == "&" || $0 == "?" })
        where field.hasPrefix("password=") {
            passwords.append(field.dropFirst("password=".count))
        }
        var result = text
        // The longest first: a password inside another must not leave the longer one half shown.
        for password in passwords.sorted(by: { $0.count > $1.count }) where !password.isEmpty {
            result = result.replacingOccurrences(of: String(password), with: "***")
        }
        return result
    }

    private static func message(_ connection: OpaquePointer) -> String {
        guard let text = PQerrorMessage(connection) else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Passes `strings` as a NULL-terminated `const char * const *` valid for the duration of `body`.
    private static func withCStringArray<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
    ) -> R {
        let duplicates = strings.map { strdup($0) }
        defer { for duplicate in duplicates { free(duplicate) } }
        let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
