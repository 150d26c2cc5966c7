import Diagnostics
import Foundation
import SQLiteStorage
import Storage
import TestSupport
import Testing

@testable import ServerApp

/// Attacker-chosen text in what an operator reads: made inert in terminals, RFC 4180 and formula-safe in
/// CSV, and CSV files owner-only.
@Suite struct InertTextTests {
    @Test(arguments: [
        ("plain name", "plain name"), ("Zoë 名前", "Zoë 名前"), ("a\u{1B}[2Jb", "a\\x1b[2Jb"), ("one\ntwo", "one\\ntwo"),
        ("cr\rlf", "cr\\rlf"), ("tab\there", "tab\\there"), ("nul\u{0}", "nul\\x00"), ("del\u{7F}", "del\\x7f"),
        ("csi\u{9B}31m", "csi\\x9b31m"), ("nel\u{85}", "nel\\x85"), ("evil\u{202E}txt.exe", "evil\\u{202e}txt.exe"),
        ("line\u{2028}sep", "line\\u{2028}sep"), ("iso\u{2066}late\u{2069}", "iso\\u{2066}late\\u{2069}"),
        ("mark\u{200F}", "mark\\u{200f}"), ("back\\slash", "back\\slash"),
    ])
    func dangerousCharactersAreEscapedVisiblyAndTheRestIsKept(input: String, expected: String) {
        #expect(InertText.escaped(input) == expected)
        #expect(InertText.isInert(InertText.escaped(input)))
    }

    @Test func longTextIsCutAtTheLimitWithAnEllipsis() {
        #expect(InertText.escaped(String(repeating: "a", count: 10), limit: 4) == "aaaa…")
        #expect(InertText.escaped("\u{1B}\u{1B}\u{1B}", limit: 2) == "\\x1b\\x1b…")
    }

    @Test func theAccessLogAndTheWebhookCommandsUseTheSameFunction() {
        let hostile = "curl\u{1B}]0;pwned\u{07}\r\nfake=1 \u{202E}"
        #expect(WebhookCommands.printable(hostile) == InertText.escaped(hostile))
        #expect(
            Table.json([["name": "a\u{1B}b\n"]]).contains("\\u001b")
                || Table.json([["name": "a\u{1B}b\n"]]).contains("\\u001B"))
    }

    @Test func tablesEscapeEveryCellSoNoRowCanBeForged() {
        let rendered = table(header: ["NAME", "EMAIL"], rows: [["eve\n\u{1B}[31madmin", "x@y"], ["bob", "b@y"]])
        #expect(rendered.split(separator: "\n").count == 3)
        #expect(!rendered.unicodeScalars.contains("\u{1B}"))
    }
}

@Suite struct CSVTests {
    @Test(arguments: [
        ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("@SUM(1)", "'@SUM(1)"), ("+1", "'+1"), ("-1", "'-1"),
        ("\tx", "'\tx"), ("\rx", "\"'\rx\""), ("ok\n=1+1", "\"ok\n'=1+1\""), ("ok\r\n@x", "\"ok\r\n'@x\""),
        ("a=b", "a=b"), ("", ""), ("esc\u{1B}[2J", "esc\\x1b[2J"), ("nul\u{0}", "nul\\x00"),
    ])
    func fieldsAreQuotedPerRFC4180FormulasAreDefusedAndControlsEscaped(value: String, expected: String) {
        #expect(CSV.field(value) == expected)
    }

    @Test func recordsEndInCRLF() {
        #expect(CSV.record(["a", "b,c"]) == "a,\"b,c\"\r\n")
    }
}

/// The real binary's output, read back as bytes.
@Suite(.serialized) struct OperatorOutputTests {
    static let hostileActor =
        "eve\u{1B}[2J\u{1B}]0;owned\u{07}\r\n2026-01-01T00:00:00Z  success  token.issue  actor=admin"
    static let hostileScope = "repository:team/app:pull\u{202E}lluh\u{2028}x"
    static let hostileDetail =
        #"{"user_agent":"docker/1.0 "# + "\u{1B}[31mred\u{9B}\u{7F}\u{0}" + #"","reason":"x\ny"}"#

    /// Appends `events` to the sandbox's database the way the server would, then closes it.
    private func append(_ events: [NewAuditEvent], in sandbox: Sandbox) async throws {
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        let store = try await SQLiteStore.open(
            SQLiteConfiguration(location: .file(sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path)))
        try await store.write { writer in _ = try writer.appendAuditEvents(events) }
        await store.close()
    }

    @Test func auditTailPrintsHostileUsernamesUserAgentsAndScopesInert() async throws {
        let sandbox = try Sandbox()
        try await append(
            [
                NewAuditEvent(
                    action: "token.issue", outcome: .denied, actorName: Self.hostileActor, target: Self.hostileScope,
                    clientIP: "127.0.0.1", detail: Self.hostileDetail),
                NewAuditEvent(action: "user.create", outcome: .success, actorName: "admin", target: "user:bob"),
            ], in: sandbox)
        let result = try await sandbox.portcullis(["audit", "tail"])
        #expect(result.status == 0, "\(result.stderr)")
        let bytes = result.stdoutBytes
        #expect(!bytes.contains(0x1B), "no ESC reaches the terminal")
        #expect(!bytes.contains(0x0D) && !bytes.contains(0x07) && !bytes.contains(0x7F) && !bytes.contains(0))
        #expect(bytes.filter { $0 == 0x0A }.count == 2, "one line per event, none forged")
        #expect(
            !contains(bytes, [0xE2, 0x80, 0xAE]) && !contains(bytes, [0xE2, 0x80, 0xA8]), "no bidi override or LS")
        #expect(!contains(bytes, [0xC2, 0x9B]), "no C1 CSI")
        let text = result.stdout
        #expect(text.contains(#"eve\x1b[2J\x1b]0;owned\x07\r\n2026-01-01T00:00:00Z"#))
        #expect(text.contains(#"pull\u{202e}lluh\u{2028}x"#))
        // The audit log itself keeps a NUL as U+FFFD (PostgreSQL cannot store one), printed as it is.
        #expect(text.contains(#"\x1b[31mred\x9b\x7f"# + "\u{FFFD}"))
    }

    @Test func userListEscapesHostileNamesInEveryCell() async throws {
        let sandbox = try Sandbox()
        #expect(try await sandbox.portcullis(["db", "migrate"]).status == 0)
        let store = try await SQLiteStore.open(
            SQLiteConfiguration(location: .file(sandbox.root.appendingPathComponent("var/portcullis.sqlite3").path)))
        _ = try await store.write { writer in
            try writer.createUser(
                NewUser(
                    username: "mallory\u{1B}[8m", email: "m@x\r\nroot  root@x  admin", displayName: nil,
                    passwordHash: nil, isAdmin: false))
        }
        await store.close()
        let result = try await sandbox.portcullis(["user", "list"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdoutBytes.contains(0x1B) && !result.stdoutBytes.contains(0x0D))
        #expect(result.stdoutBytes.filter { $0 == 0x0A }.count == 2, "a header and one row")
        #expect(result.stdout.contains(#"mallory\x1b[8m"#))
    }

    @Test func auditExportWritesRFC4180WithFormulasDefusedInAFileOfMode0600UnderUmask000() async throws {
        let sandbox = try Sandbox()
        let payloads = [
            "=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@HYPERLINK(\"http://x\")", "\tleading tab", "\rleading cr",
            "fine\n=1+1\r\n+2\r-3", "quote \"and\", comma", "esc\u{1B}[2J nul\u{0} bidi\u{202E}",
        ]
        try await append(
            payloads.map { NewAuditEvent(action: "token.issue", outcome: .denied, actorName: $0, target: $0) },
            in: sandbox)
        let output = sandbox.root.appendingPathComponent("export.csv").path
        // An existing, world-readable file is replaced, and the new one is owner-only anyway.
        _ = FileManager.default.createFile(
            atPath: output, contents: Data("old".utf8), attributes: [.posixPermissions: 0o666])
        let result = try await Processes.run(
            "/bin/sh",
            [
                "-c", "umask 000 && exec \"$0\" \"$@\"", portcullisExecutable.path, "audit", "export", "--csv",
                "--output",
                output, "--config", sandbox.configDirectory.path,
            ],
            removing: ["PORTCULLIS_"], directory: sandbox.root)
        #expect(result.status == 0, "\(result.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(!bytes.contains(0x1B) && !bytes.contains(0))
        #expect(Array(bytes.prefix(while: { $0 != 0x0A }).suffix(1)) == [0x0D], "records end in CRLF")
        // A strict RFC 4180 reader gives back each payload, defused and with controls escaped.
        let parsed = try await Processes.run(
            "/usr/bin/python3",
            [
                "-c",
                "import csv, json, sys\nwith open(sys.argv[1], newline='') as f:\n"
                    + "    rows = list(csv.reader(f, strict=True))\nprint(json.dumps(rows))",
                output,
            ])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let rows = try JSONDecoder().decode([[String]].self, from: Data(parsed.stdout.utf8))
        #expect(rows.first == AuditCommands.columns)
        let expected = [
            "'=cmd|' /C calc'!A0", "'+SUM(1,2)", "'-2+3", "'@HYPERLINK(\"http://x\")", "'\tleading tab",
            "'\rleading cr",
            "fine\n'=1+1\r\n'+2\r'-3", "quote \"and\", comma", "esc\\x1b[2J nul\u{FFFD} bidi\\u{202e}",
        ]
        #expect(rows.dropFirst().map { $0[2] } == expected, "actor column")
        #expect(rows.dropFirst().map { $0[4] } == expected, "target column")
        #expect(rows.dropFirst().allSatisfy { $0.count == AuditCommands.columns.count })
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
