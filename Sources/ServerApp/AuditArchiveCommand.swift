import Diagnostics
import Foundation
import HTTPServer
import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// `portcullis audit archive --before DATE [--output PATH] [--gzip]`: writes every audit event that
/// happened before DATE to a JSON Lines file (one event per line, counts included), and only once that
/// file is complete and on disk (fsynced, file and directory), deletes those events from the database in
/// batches of 1,000 rows per transaction.
///
/// `--before` is required: an archive is an explicit decision, and the retention job prunes without one.
/// The file is created owner-only (0600) and never overwrites an existing file. `--gzip` compresses
/// through the system's `gzip` program (no compression library is linked in). If anything fails while
/// writing, the partial file is removed and nothing is deleted.
enum AuditArchiveCommand {
    /// Rows read per page and deleted per transaction.
    static let batchSize = 1_000

    static func run(_ arguments: [String]) async throws {
        var parsed = try ParsedArguments(arguments, flagNames: ["gzip"])
        let beforeText = parsed.option("before")
        let output = parsed.option("output")
        let gzip = parsed.flag("gzip")
        let context = try AppContext(&parsed)
        try parsed.finish(maxPositionals: 0)
        guard let beforeText else { throw CommandFailure(.usage, "--before DATE is required (2026-01-31 or RFC 3339)") }
        guard let before = parseDate(beforeText) else {
            throw CommandFailure(.usage, "--before: '\(beforeText)' is not a date (2026-01-31 or 2026-01-31T12:00:00Z)")
        }
        let path = output ?? "portcullis-audit-before-\(beforeText.prefix(10)).jsonl" + (gzip ? ".gz" : "")
        let result = try await context.withStore { store in
            try await archive(store: store, before: before, to: path, gzip: gzip)
        }
        if result.events == 0 {
            print("no audit events before \(RFC3339.format(before)); nothing written")
        } else {
            print(
                "archived \(result.events) audit events (\(result.requests) requests counted) before "
                    + "\(RFC3339.format(before)) to \(path); deleted \(result.deleted) from the database")
        }
    }

    /// What an archive run did.
    struct Result: Equatable {
        /// Lines written.
        var events: Int
        /// The sum of their counts (coalesced repeats included).
        var requests: Int
        /// Rows deleted afterwards.
        var deleted: Int
    }

    /// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
    static func parseDate(_ text: String) -> Date? {
        if text.count == 10, let date = RFC3339.date(from: text + "T00:00:00Z") { return date }
        return RFC3339.date(from: text)
    }

    /// Writes the events before `before` to `path` (gzip-compressed when asked), syncs it, then deletes
    /// exactly the rows written. Throws (having deleted nothing, and removed the partial file) when
    /// writing fails.
    static func archive(store: any Store, before: Date, to path: String, gzip: Bool) async throws -> Result {
        let file = try ArchiveFile(path: path, gzip: gzip)
        var events = 0
        var requests = 0
        var lastID: AuditEvent.ID?
        do {
            while true {
                let after = lastID
                let page = try await store.read { reader in
                    try reader.auditEvents(before: before, after: after, limit: batchSize)
                }
                guard let last = page.last else { break }
                var text = ""
                for event in page {
                    text += jsonLine(event)
                    text += "\n"
                    requests += event.count
                }
                try file.write(Array(text.utf8))
                events += page.count
                lastID = last.id
                if page.count < batchSize { break }
            }
            try file.finish()
        } catch {
            file.abandon()
            throw CommandFailure(
                .cannotCreate, "cannot write \(path): \(error); the archive was removed and nothing was deleted")
        }
        guard let lastID else {
            file.abandon()
            return Result(events: 0, requests: 0, deleted: 0)
        }
        var deleted = 0
        while true {
            let count = try await store.write { writer in
                try writer.pruneAuditEvents(before: before, throughID: lastID, limit: batchSize)
            }
            deleted += count
            if count < batchSize { break }
            await Task.yield()
        }
        return Result(events: events, requests: requests, deleted: deleted)
    }

    /// One event as a JSON object on one line; the detail stays the JSON text it was stored as.
    static func jsonLine(_ event: AuditEvent) -> String {
        var members: [(String, String)] = [
            ("id", String(event.id.rawValue)), ("time", JSONText.quoted(RFC3339.format(event.time))),
        ]
        if let lastTime = event.lastTime { members.append(("lastTime", JSONText.quoted(RFC3339.format(lastTime)))) }
        members.append(("count", String(event.count)))
        if let actorID = event.actorID { members.append(("actorID", String(actorID.rawValue))) }
        if let actor = event.actorName { members.append(("actor", JSONText.quoted(actor))) }
        members.append(("action", JSONText.quoted(event.action)))
        if let target = event.target { members.append(("target", JSONText.quoted(target))) }
        members.append(("outcome", JSONText.quoted(event.outcome.rawValue)))
        if let clientIP = event.clientIP { members.append(("clientIP", JSONText.quoted(clientIP))) }
        if let detail = event.detail { members.append(("detail", JSONText.quoted(detail))) }
        return "{" + members.map { JSONText.quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}

/// The archive being written: a new owner-only file, fed directly or through a `gzip` child process.
private final class ArchiveFile {
    private let path: String
    private let descriptor: Int32
    private var gzip: Process?
    private var pipe: Pipe?
    private var isOpen = true

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String, gzip: Bool) throws(CommandFailure) {
        self.path = path
        // O_EXCL: an archive never replaces a file (an earlier archive, or anything else).
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CommandFailure(.cannotCreate, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        // Whatever the umask, the archive is owner-only: it names users and addresses.
        fchmod(descriptor, 0o600)
        guard gzip else { return }
        // A gzip that dies must fail the write, not kill this process with SIGPIPE.
        ShutdownSignals.ignoreBrokenPipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c"]
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        do { try process.run() } catch {
            abandon()
            throw CommandFailure(.unavailable, "cannot run gzip: \(error)")
        }
        self.gzip = process
        self.pipe = pipe
    }

    func write(_ bytes: [UInt8]) throws {
        if let pipe {
            try pipe.fileHandleForWriting.write(contentsOf: bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    /// Ends compression, syncs the file and its directory, and closes it.
    func finish() throws {
        if let gzip, let pipe {
            try pipe.fileHandleForWriting.close()
            gzip.waitUntilExit()
            self.gzip = nil
            guard gzip.terminationReason == .exit, gzip.terminationStatus == 0 else {
                throw Failure(description: "gzip exited with status \(gzip.terminationStatus)")
            }
        }
        guard fsync(descriptor) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
        isOpen = false
        guard close(descriptor) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
        // The new directory entry must be durable too before rows are deleted.
        let directory = (path as NSString).deletingLastPathComponent
        let handle = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if handle >= 0 {
            defer { close(handle) }
            guard fsync(handle) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
        }
    }

    /// Stops writing and removes the file.
    func abandon() {
        if let gzip {
            try? pipe?.fileHandleForWriting.close()
            gzip.waitUntilExit()
            self.gzip = nil
        }
        if isOpen { close(descriptor) }
        isOpen = false
        unlink(path)
    }
}
