import Administration
import Diagnostics
import Foundation
import Storage

/// `portcullis audit tail|export`: the audit log of token requests, logins and administration.
enum AuditCommands {
    static let columns = AuditQueries.csvColumns

    /// `audit tail [-n N] [--follow]`: the newest events, oldest first; `--follow` keeps printing new ones.
    static func tail(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["follow"])
        let countText = parsed.option("lines") ?? parsed.option("n") ?? "20"
        let follow = parsed.flag("follow")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        guard let count = Int(countText), (1...10_000).contains(count) else {
            throw CommandFailure(.usage, "--lines must be a number from 1 to 10000")
        }
        try await context.withStore { store in
            var last = try await store.read { reader in
                let events = try reader.auditEvents(limit: count, before: nil)
                for event in events.reversed() { print(line(event)) }
                return events.first?.id
            }
            while follow {
                try await Task.sleep(for: .seconds(1))
                let cursor = last
                let newer = try await store.read { try events(newerThan: cursor, in: $0) }
                for event in newer.reversed() { print(line(event)) }
                fflush(nil)  // flushes every stream; `stdout` itself is not concurrency-safe to name
                if let newest = newer.first { last = newest.id }
            }
        }
    }

    /// Every event newer than `id` (all of them when nil), newest first, read page by page so a burst
    /// of more than one page between two polls loses nothing.
    static func events(newerThan id: AuditEvent.ID?, in reader: any StoreReading) throws -> [AuditEvent] {
        var found: [AuditEvent] = []
        var before: AuditEvent.ID?
        while true {
            let page = try reader.auditEvents(limit: 1000, before: before)
            let fresh = page.prefix { id == nil || $0.id > id! }
            found.append(contentsOf: fresh)
            if fresh.count < page.count || page.count < 1000 { return found }
            before = page.last?.id
        }
    }

    /// `audit export --csv [--output PATH]`: every event, oldest first, as RFC 4180 CSV (see ``CSV``); a file
    /// is written owner-only (0600) whatever the umask.
    static func export(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["csv"])
        let csv = parsed.flag("csv")
        let output = parsed.option("output")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        guard csv else { throw CommandFailure(.usage, "choose a format: --csv") }
        let everything = try await context.withStore { store in
            try await store.read { try AuditCommands.events(newerThan: nil, in: $0) }
        }
        var text = columns.joined(separator: ",") + "\r\n"
        for event in everything.reversed() {
            text += fields(event).map(csvField).joined(separator: ",") + "\r\n"
        }
        if let output {
            try OwnerOnlyFile.write(Array(text.utf8), to: output)
        } else {
            print(text, terminator: "")
        }
    }

    static func fields(_ event: AuditEvent) -> [String] { AuditQueries.csvFields(event) }

    /// One event as one line of `audit tail`; every field is made inert (``InertText``), so a username,
    /// user agent or scope cannot forge a line or drive the terminal.
    static func line(_ event: AuditEvent) -> String {
        let f = fields(event).map { InertText.escaped($0) }
        return
            "\(f[1])  \(f[5].padding(toLength: 7, withPad: " ", startingAt: 0))  \(f[3])  actor=\(f[2].isEmpty ? "-" : f[2])"
            + "  target=\(f[4].isEmpty ? "-" : f[4])  ip=\(f[6].isEmpty ? "-" : f[6])"
            + (f[7].isEmpty ? "" : "  \(f[7])")
            // A coalesced line: how many identical issuances it stands for, and when the last one was.
            + (event.count > 1 ? "  count=\(f[8]) last=\(f[9])" : "")
    }

    /// One field of the CSV export (``CSV/field(_:)``: RFC 4180 quoting, formulas defused, controls escaped).
    static func csvField(_ value: String) -> String { CSV.field(value) }
}
