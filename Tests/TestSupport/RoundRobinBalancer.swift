import Foundation

/// A TCP load balancer on loopback that hands each new connection to the next backend in turn, as an L4
/// balancer (HAProxy in TCP mode, a cloud network load balancer) does: every request of a kept-alive
/// connection goes to the same instance, each new connection to the next one.
///
/// The sockets live in a python3 child process (as `LoopbackCrowd`'s do), so the test process stays free of
/// them. It counts the connections it gave each backend; `connections()` asks it.
public final class RoundRobinBalancer: @unchecked Sendable {
    /// The port clients connect to.
    public let port: Int
    private let process: ChildProcess
    private let lock = NSLock()
    private var lines = ChildLineReader()

    /// Starts a balancer on a free loopback port in front of `backends` (ports on 127.0.0.1).
    public init(backends: [Int]) throws {
        process = try ChildProcess(
            "/usr/bin/env", ["python3", "-c", Self.script] + backends.map(String.init), input: .pipe, output: .pipe,
            errors: .null)
        let ready = try Self.readLine(process, &lines)
        guard ready.hasPrefix("ready "), let port = Int(ready.dropFirst(6)) else {
            process.terminate()
            throw LoopbackError("the balancer did not start: \(ready)")
        }
        self.port = port
    }

    deinit { stop() }

    /// The URL of the balancer, `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// How many connections each backend was given so far, in the order of `backends`. Blocking: one round
    /// trip to the child.
    public func connections() throws -> [Int] {
        try lock.withLock {
            guard let input = process.input else { throw LoopbackError("the balancer is stopped") }
            try input.write(contentsOf: Data("count\n".utf8))
            return try Self.readLine(process, &lines).split(separator: " ").compactMap { Int($0) }
        }
    }

    /// Stops the balancer (closing its standard input ends it) and waits for it.
    public func stop() {
        try? process.input?.close()
        process.terminate()
        process.waitUntilExit()
    }

    private static func readLine(_ process: ChildProcess, _ lines: inout ChildLineReader) throws -> String {
        guard let output = process.output, let line = lines.next(from: output) else {
            throw LoopbackError("the balancer exited")
        }
        return line
    }

    private static let script = """
        import asyncio, socket, sys
        backends = [int(p) for p in sys.argv[1:]]
        counts = [0] * len(backends)
        turn = 0

        async def pipe(reader, writer):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    writer.write(data)
                    await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
            except Exception:
                pass

        async def handle(client_reader, client_writer):
            global turn
            index = turn % len(backends)
            turn += 1
            counts[index] += 1
            try:
                backend_reader, backend_writer = await asyncio.open_connection('127.0.0.1', backends[index])
            except Exception:
                client_writer.close()
                return
            await asyncio.gather(pipe(client_reader, backend_writer), pipe(backend_reader, client_writer))
            backend_writer.close()
            client_writer.close()

        async def main():
            server = await asyncio.start_server(handle, '127.0.0.1', 0)
            print('ready %d' % server.sockets[0].getsockname()[1], flush=True)
            loop = asyncio.get_running_loop()
            control = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(control), sys.stdin)
            while await control.readline():
                print(' '.join(str(count) for count in counts), flush=True)

        asyncio.run(main())
        """
}
