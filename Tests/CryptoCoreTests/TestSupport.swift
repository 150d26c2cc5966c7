import CryptoCore
import Foundation
import TestSupport

/// Runs command-line tools (the `openssl` CLI, python3) for cross-checks, in a private temp directory.
final class Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cryptocore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }

    func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// Runs `tool` with `arguments` in the scratch directory on its own thread (never blocking the
    /// cooperative pool other tests share); returns exit status and combined output.
    @discardableResult
    func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let directory = self.directory
        return try await offload { try Scratch.runBlocking(tool, arguments, in: directory) }
    }

    private static func runBlocking(
        _ tool: String, _ arguments: [String], in directory: URL
    ) throws -> (status: Int32, output: String) {
        let process = try ChildProcess(
            "/usr/bin/env", [tool] + arguments, directory: directory.path, output: .pipe, errors: .standardOutput)
        let output = process.output.map(readToEnd) ?? Data()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

/// Minimal DER for ECDSA-Sig-Value, written independently of CryptoCore so the CLI checks are real.
enum TestDER {
    static func ecdsaSignature(raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }

    static func rawSignature(der: [UInt8]) -> [UInt8]? {
        guard der.count > 2, der[0] == 0x30 else { return nil }
        var index = 2
        var output: [UInt8] = []
        for _ in 0..<2 {
            guard index + 2 <= der.count, der[index] == 0x02 else { return nil }
            let length = Int(der[index + 1])
            guard index + 2 + length <= der.count else { return nil }
            let value = Array(der[(index + 2)..<(index + 2 + length)].drop { $0 == 0 })
            guard value.count <= 32 else { return nil }
            output += [UInt8](repeating: 0, count: 32 - value.count) + value
            index += 2 + length
        }
        return output
    }
}
