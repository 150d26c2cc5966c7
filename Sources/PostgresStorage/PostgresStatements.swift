import CPQ
import Foundation
import SQLStorage
import Storage

/// The backend-neutral queries run on PostgreSQL: prepared statements (one per distinct SQL text, prepared on
/// first use and kept for the connection's life), parameters and results in text format.
extension PostgresConnection: SQLConnection {
    /// PostgreSQL's spellings.
    package var dialect: SQLDialect { .postgres }

    /// Runs a query and hands each row to `row` until it answers false.
    package func scan(_ sql: String, _ values: [SQLValue], while row: (PostgresRow) throws -> Bool) throws {
        let result = try executePrepared(sql, values)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var index: Int32 = 0
        while index < count {
            guard try row(PostgresRow(result: result, row: index)) else { return }
            index += 1
        }
    }

    /// Runs a statement that returns no rows, remembering how many rows it touched.
    package func run(_ sql: String, _ values: [SQLValue]) throws {
        let result = try executePrepared(sql, values)
        defer { PQclear(result) }
        lastChanges = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
    }

    /// Rows changed by the last `run`.
    package var changes: Int { lastChanges }

    /// Runs an INSERT with `RETURNING id` and returns the new id.
    package func insert(_ sql: String, _ values: [SQLValue]) throws -> Int64 {
        guard let id = try insert(sql, values, rows: 1).first else {
            throw StoreError(.internal, "an INSERT returned no id")
        }
        return id
    }

    /// Runs a multi-row INSERT with `RETURNING id`; PostgreSQL returns the rows in VALUES order.
    package func insert(_ sql: String, _ values: [SQLValue], rows count: Int) throws -> [Int64] {
        var ids: [Int64] = []
        ids.reserveCapacity(count)
        try scan(sql + " RETURNING id", values) { row in
            ids.append(row.int(0))
            return true
        }
        lastChanges = ids.count
        return ids
    }

    /// Prepares `sql` on first use (placeholders translated to `$n`), then executes it with `values` as text.
    private func executePrepared(_ sql: String, _ values: [SQLValue]) throws -> OpaquePointer {
        guard let handle else { throw StoreError(.closed, "the PostgreSQL connection is closed") }
        guard usesPreparedStatements else { return try executeUnnamed(Self.numberedPlaceholders(sql), values, handle) }
        let name: String
        if let prepared = preparedStatements[sql] {
            name = prepared
        } else {
            name = "p\(preparedStatements.count + 1)"
            let translated = Self.numberedPlaceholders(sql)
            guard let result = PQprepare(handle, name, translated, 0, nil) else {
                throw Self.connectionError(handle)
            }
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw Self.statementError(result, handle) }
            preparedStatements[sql] = name
        }
        let texts = try Self.texts(values)
        let result = Self.withOptionalCStrings(texts) { pointers in
            PQexecPrepared(handle, name, Int32(texts.count), pointers, nil, nil, 0)
        }
        return try Self.checked(result, handle)
    }

    /// Parses, binds and executes in one round trip without naming a statement: nothing is left on the server
    /// session, for a pooler that hands each transaction another server connection.
    private func executeUnnamed(_ sql: String, _ values: [SQLValue], _ handle: OpaquePointer) throws -> OpaquePointer {
        let texts = try Self.texts(values)
        let result = Self.withOptionalCStrings(texts) { pointers in
            PQexecParams(handle, sql, Int32(texts.count), nil, pointers, nil, nil, 0)
        }
        return try Self.checked(result, handle)
    }

    /// Parameters in text format (PostgreSQL infers each one's type from where it stands).
    ///
    /// - Throws: `StoreError(.invalidInput)` for text holding a NUL: PostgreSQL text cannot hold one, and libpq
    ///   reads parameters as C strings, so it would silently cut the value there ("a\0b" stored, and looked up,
    ///   as "a"). Refused instead, so no value is ever shortened into another.
    private static func texts(_ values: [SQLValue]) throws -> [String?] {
        try values.map { value in
            switch value {
            case .null: return nil
            case .integer(let number): return String(number)
            case .real(let number): return String(number)
            case .text(let text):
                guard !text.utf8.contains(0) else {
                    throw StoreError(
                        .invalidInput, "a text value holds a NUL character, which PostgreSQL cannot store",
                        reason: "NUL in a text parameter")
                }
                return text
            case .blob(let bytes): return "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
            }
        }
    }

    /// The result of a statement that succeeded; otherwise the error, with the result freed.
    private static func checked(_ result: OpaquePointer?, _ handle: OpaquePointer) throws -> OpaquePointer {
        guard let result else { throw connectionError(handle) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            defer { PQclear(result) }
            throw statementError(result, handle)
        }
    }

    /// `?` → `$1`, `$2`, … in order, `?N` → `$N`; question marks inside quoted literals and identifiers stay.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var quote: Character?
        var characters = sql.makeIterator()
        var pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                output.append(character)
                if character == open { quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                output.append(character)
            } else if character == "?" {
                var digits = ""
                while let digit = pending, digit.isASCII, digit.isNumber {
                    digits.append(digit)
                    pending = characters.next()
                }
                if digits.isEmpty {
                    output += "$\(next)"
                    next += 1
                } else {
                    output += "$" + digits
                }
            } else {
                output.append(character)
            }
        }
        return output
    }

    /// The connection is gone (or never answered): the operation may be retried on a new connection.
    static func connectionError(_ handle: OpaquePointer) -> StoreError {
        let reason = PQerrorMessage(handle).map { String(cString: $0) } ?? "no answer"
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return StoreError(.unavailable, "the PostgreSQL server cannot be reached", reason: trimmed)
    }

    /// Maps a failed statement's SQLSTATE to a `StoreError` whose message never carries row values.
    static func statementError(_ result: OpaquePointer, _ handle: OpaquePointer) -> StoreError {
        let field = { (code: Character) -> String? in
            PQresultErrorField(result, Int32(code.asciiValue ?? 0)).map { String(cString: $0) }
        }
        let reason = (PQresultErrorMessage(result).map { String(cString: $0) } ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(handle) != CONNECTION_OK {
            return StoreError(.unavailable, "the PostgreSQL server cannot be reached", reason: reason)
        }
        let state = field("C") ?? ""
        switch state {
        case "23505":
            let subject = uniqueSubject(table: field("t"), detail: field("D"))
            return StoreError(
                .conflict, "\(subject ?? "a unique value") is already taken", subject: subject,
                reason: field("n") ?? reason)
        case "23503":
            return StoreError(
                .constraintViolated, "a referenced record is missing or the record is still in use",
                reason: field("n") ?? reason)
        case _ where state.hasPrefix("23"):
            return StoreError(.constraintViolated, "a value violates a database rule", reason: field("n") ?? reason)
        case "40001", "40P01", "55P03":
            return StoreError(.unavailable, "the database is busy; try again", reason: reason)
        case "57014":
            return StoreError(.unavailable, "a database statement took too long and was cancelled", reason: reason)
        case "42P01", "42703":
            return StoreError(
                .schemaMissing, "the database schema is missing or outdated; run `portcullis db migrate`",
                reason: reason)
        case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"):
            return StoreError(.unavailable, "the PostgreSQL server cannot serve requests now", reason: reason)
        case _ where state.hasPrefix("22"):
            return StoreError(.invalidInput, "a value was rejected by the database", reason: reason)
        default:
            // PostgreSQL's primary message (a syntax or schema error names no row values); the migrator shows it.
            let primary = field("M") ?? reason
            return StoreError(.internal, "PostgreSQL statement failed: \(primary)", reason: "\(state): \(reason)")
        }
    }

    /// `users` and `Key (username)=(…) already exists.` → `users.username`, the spelling SQLite's errors give
    /// (column names only: the value in the detail never leaves this function).
    static func uniqueSubject(table: String?, detail: String?) -> String? {
        guard let table, let detail, let open = detail.range(of: "Key ("),
            let close = detail.range(of: ")=", range: open.upperBound..<detail.endIndex)
        else { return table }
        let columns = detail[open.upperBound..<close.lowerBound].split(separator: ",").map {
            "\(table).\($0.trimmingCharacters(in: .whitespaces))"
        }
        return columns.joined(separator: ", ")
    }

    /// Passes `strings` as a `const char * const *` (NULL entries for nil) valid for the duration of `body`.
    private static func withOptionalCStrings<R>(
        _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let duplicates = strings.map { $0.flatMap { strdup($0) } }
        defer { for duplicate in duplicates { free(duplicate) } }
        let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// One row of a text-format result, valid only inside the `scan` callback.
package struct PostgresRow: SQLRow {
    fileprivate let result: OpaquePointer
    fileprivate let row: Int32

    package func isNull(_ column: Int32) -> Bool { PQgetisnull(result, row, column) == 1 }

    package func int(_ column: Int32) -> Int64 {
        guard let bytes = PQgetvalue(result, row, column) else { return 0 }
        // Booleans arrive as 't'/'f'; numbers in decimal.
        switch bytes.pointee {
        case CChar(UInt8(ascii: "t")): return 1
        case CChar(UInt8(ascii: "f")): return 0
        default: return strtoll(bytes, nil, 10)
        }
    }

    package func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }

    package func bool(_ column: Int32) -> Bool { int(column) != 0 }

    package func text(_ column: Int32) -> String { optionalText(column) ?? "" }

    package func optionalText(_ column: Int32) -> String? {
        guard !isNull(column), let bytes = PQgetvalue(result, row, column) else { return nil }
        let count = Int(PQgetlength(result, row, column))
        return bytes.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    package func date(_ column: Int32) -> Date { Date(timeIntervalSince1970: Double(int(column)) / 1000) }

    package func optionalDate(_ column: Int32) -> Date? { isNull(column) ? nil : date(column) }

    /// Text-format results carry no type, so the catalog's `kind` says how to read the column.
    package func value(_ column: Int32, as kind: CopyColumnKind) -> SQLValue {
        guard !isNull(column) else { return .null }
        switch kind {
        case .integer, .boolean: return .integer(int(column))
        case .real: return Double(text(column)).map(SQLValue.real) ?? .text(text(column))
        case .blob: return .blob(Self.bytes(fromHex: text(column)))
        case .text, .any: return .text(text(column))
        }
    }

    /// bytea's text output (`\x0a1b…`, PostgreSQL's default `bytea_output = hex`) as bytes.
    static func bytes(fromHex text: String) -> [UInt8] {
        var digits = Array(text.utf8.dropFirst(2))
        if digits.count % 2 == 1 { digits.removeLast() }
        func nibble(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: digit &- UInt8(ascii: "A") &+ 10
            }
        }
        return stride(from: 0, to: digits.count, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }
}
