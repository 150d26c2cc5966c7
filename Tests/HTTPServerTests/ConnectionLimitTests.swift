import Diagnostics
import Foundation
import HTTPCore
import TestSupport
import Testing

@testable import HTTPServer

/// Descriptors the crowd tests need: 4,000 client sockets in the crowd's child process (which
/// inherits the limit), and in this process the server's side of those it accepts, with room for the
/// rest of the suite running alongside.
private let crowdDescriptors = 10_000

/// Sends one request from `source` and returns the response.
private func request(_ path: String, port: Int, from source: String) throws -> RawResponse {
    let client = try RawClient(port: port, from: source, receiveTimeout: 30)
    client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
    return try client.readResponse()
}

/// Timeouts no test run reaches, however loaded the machine: the tests that use them count the
/// connections a server holds, and a header timeout closing a silent one would change the count.
private func withoutTimeouts(_ configuration: inout HTTPServerConfiguration) {
    configuration.headerTimeout = .seconds(600)
    configuration.idleTimeout = .seconds(600)
}

/// A request as a trusted proxy forwards it for `client`.
private func forwarded(_ path: String, _ client: String) -> String {
    "GET \(path) HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: \(client)\r\n\r\n"
}

/// Serialized, and run by `make test` in a test process of its own: while a crowd's thousands of
/// connections are being accepted, Foundation's `Process.run` anywhere in the same process can crash
/// (it lists the process's descriptors while they change).
@Suite(.serialized) struct ConnectionsPerAddressTests {
    @Test(.enabled(if: FileDescriptorLimit.allows(crowdDescriptors)))
    func oneAddressHolding4000IdleConnectionsGetsItsCapAndOtherAddressesStillGetAnswers() async throws {
        try FileDescriptorLimit.raise(to: crowdDescriptors)
        try await withServer({
            $0.eventLoops = 2
            withoutTimeouts(&$0)
        }) { server, port in
            let cap = server.configuration.maxConnectionsPerAddress
            #expect(cap == 256)
            let crowd = try await onThread { try LoopbackCrowd(count: 4000, port: port, from: "127.0.0.2") }
            try await waitUntil("the server has accepted or refused all 4,000 connections") {
                server.metrics.acceptedConnections + server.metrics.rejectedConnectionsPerAddress >= 4000
            }
            #expect(server.metrics.acceptedConnections == cap)
            #expect(server.metrics.rejectedConnectionsPerAddress == 4000 - cap)
            #expect(server.openConnections == cap)

            for (path, source) in [("/healthz", "127.0.0.1"), ("/v2/token", "127.0.0.3"), ("/healthz", "127.0.0.4")] {
                let response = try await onThread { try request(path, port: port, from: source) }
                #expect(response.status == 200, "\(path) from \(source)")
                #expect(response.text == "GET \(path)")
            }

            let fates = try await onThread { try crowd.fates() }
            #expect(fates.count(of: .held) == cap)
            #expect(fates.count(of: .refused) == 4000 - cap)
            withExtendedLifetime(crowd) {}
        }
    }

    @Test(.enabled(if: FileDescriptorLimit.allows(crowdDescriptors)))
    func severalAddressesFillingMaxConnectionsGet503UntilSlotsFreeUp() async throws {
        try FileDescriptorLimit.raise(to: crowdDescriptors)
        try await withServer({
            $0.eventLoops = 2
            $0.maxConnections = 600
            withoutTimeouts(&$0)
        }) { server, port in
            var crowds: [LoopbackCrowd] = []
            for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
                crowds.append(try await onThread { try LoopbackCrowd(count: 256, port: port, from: source) })
                // The next crowd's child process starts only once this one is accepted: Foundation's
                // Process.run lists this process's descriptors and crashed (memcpy past its buffer) when
                // the server opened descriptors while it listed them.
                let seen = 256 * crowds.count
                try await waitUntil("the server has seen \(seen) connections") {
                    server.metrics.acceptedConnections + server.metrics.rejectedConnections >= seen
                }
            }
            try await waitUntil("the server has seen all 768 connections") {
                server.metrics.acceptedConnections + server.metrics.rejectedConnections >= 768
            }
            #expect(server.openConnections == 600)
            #expect(server.metrics.rejectedConnections == 168)
            #expect(server.metrics.rejectedConnectionsPerAddress == 0)

            // Every slot is taken: a newcomer gets a cheap 503, not a hang.
            let refused = try await onThread { try request("/healthz", port: port, from: "127.0.0.1") }
            #expect(refused.status == 503)
            #expect(refused.header("Connection") == "close")

            // One crowd leaves; its slots serve others again.
            let leaving = crowds.removeFirst()
            let held = try await onThread { try leaving.fates().count(of: .held) }
            try await onThread { leaving.closeAll() }
            try await waitUntil("the server has closed the connections that left") {
                server.openConnections == 600 - held
            }
            let answered = try await onThread { try request("/healthz", port: port, from: "127.0.0.1") }
            #expect(answered.status == 200)
            withExtendedLifetime(crowds) {}
        }
    }

    @Test func silentCrowdsFromSeveralAddressesAreClosedByTheHeaderTimeout() async throws {
        try await withServer({
            $0.eventLoops = 2
            $0.headerTimeout = .seconds(1)
            $0.idleTimeout = .seconds(600)
        }) { server, port in
            var crowds: [LoopbackCrowd] = []
            for source in ["127.0.0.2", "127.0.0.3"] {
                crowds.append(try await onThread { try LoopbackCrowd(count: 100, port: port, from: source) })
                let seen = 100 * crowds.count  // as above: the next child starts once these are accepted
                try await waitUntil("the server has accepted \(seen) connections") {
                    server.metrics.acceptedConnections >= seen
                }
            }
            try await waitUntil("the header timeout has closed every silent connection") {
                server.metrics.acceptedConnections == 200 && server.openConnections == 0
            }
            for crowd in crowds {
                let fates = try await onThread { try crowd.fates() }
                #expect(
                    fates.count(of: .closedSilently) == 100,
                    "\(crowd.source): \(fates.filter { $0 != .closedSilently }.prefix(3))")
            }
            #expect(server.metrics.timedOutConnections == 200)
        }
    }

    @Test func aClosedConnectionGivesItsSlotBackToItsAddress() async throws {
        try await withServer({
            $0.maxConnectionsPerAddress = 2
            withoutTimeouts(&$0)
        }) { server, port in
            let crowd = try await onThread { try LoopbackCrowd(count: 3, port: port, from: "127.0.0.2") }
            try await waitUntil("the third connection is refused") { server.metrics.rejectedConnectionsPerAddress == 1 }
            let fates = try await onThread { try crowd.fates() }
            #expect(fates == [.held, .held, .refused])
            try await onThread { try crowd.close(first: 1) }
            try await waitUntil("the server has closed the connection that left") { server.openConnections == 1 }
            let response = try await onThread { try request("/again", port: port, from: "127.0.0.2") }
            #expect(response.status == 200)
        }
    }

    @Test func theRefusalSaysWhyAndClosesTheConnection() async throws {
        try await withServer({
            $0.maxConnectionsPerAddress = 1
            withoutTimeouts(&$0)
        }) { server, port in
            try await onThread {
                let first = try RawClient(port: port, from: "127.0.0.2")
                first.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try first.readResponse().status == 200)
                let second = try RawClient(port: port, from: "127.0.0.2")
                let refused = try second.readResponse()
                #expect(refused.status == 503)
                #expect(refused.header("Connection") == "close")
                #expect(refused.text.contains("too many connections from this address"))
                #expect(second.waitForClose())
            }
            #expect(server.metrics.rejectedConnectionsPerAddress == 1)
            #expect(server.metrics.rejectedConnections == 0)
        }
    }

    @Test func aTrustedProxyIsExemptFromThePerAddressCap() async throws {
        try await withServer({
            $0.maxConnectionsPerAddress = 2
            $0.trustedProxies = ["127.0.0.3/32"]
            withoutTimeouts(&$0)
        }) { server, port in
            let proxy = try await onThread { try LoopbackCrowd(count: 6, port: port, from: "127.0.0.3") }
            try await waitUntil("the server has seen the proxy's 6 connections") {
                server.metrics.acceptedConnections + server.metrics.rejectedConnections
                    + server.metrics.rejectedConnectionsPerAddress >= 6
            }
            let other = try await onThread { try LoopbackCrowd(count: 3, port: port, from: "127.0.0.2") }
            try await waitUntil("the server has seen all nine connections") {
                server.metrics.acceptedConnections + server.metrics.rejectedConnectionsPerAddress >= 9
            }
            #expect(try await onThread { try proxy.fates() }.count(of: .held) == 6)
            #expect(try await onThread { try other.fates() } == [.held, .held, .refused])
            let response = try await onThread { try request("/through-proxy", port: port, from: "127.0.0.3") }
            #expect(response.status == 200)
        }
    }

    @Test func throughATrustedProxyEachForwardedClientMayHaveTheCapOfRequestsInFlight() async throws {
        let gate = Gate()
        try await withServer(
            {
                $0.maxConnectionsPerAddress = 2
                $0.trustedProxies = ["127.0.0.3/32"]
                withoutTimeouts(&$0)
            }, responder: TestResponder(gate: gate)
        ) { server, port in
            // Two requests of one client held in flight, each on its own proxy connection.
            let held = (0..<2).map { _ in
                Task {
                    try await onThread { () -> RawResponse in
                        let proxy = try RawClient(port: port, from: "127.0.0.3", receiveTimeout: 60)
                        proxy.send(forwarded("/hold", "198.51.100.7"))
                        return try proxy.readResponse()
                    }
                }
            }
            try await waitUntil("both held requests are with the responder") { server.metrics.requestsHandled == 2 }
            try await onThread {
                let proxy = try RawClient(port: port, from: "127.0.0.3", receiveTimeout: 60)
                proxy.send(forwarded("/third", "198.51.100.7"))
                let refused = try proxy.readResponse()
                #expect(refused.status == 503)
                #expect(refused.header("Retry-After") == "1")
                #expect(refused.text.contains("too many requests in flight from this client"))
                // The proxy's connection stays open and serves its other clients.
                #expect(refused.header("Connection") == nil)
                proxy.send(forwarded("/other", "198.51.100.8"))
                #expect(try proxy.readResponse().text == "GET /other")
            }
            await gate.open()
            for task in held { #expect(try await task.value.text == "held") }
            // The answered requests gave their slots back.
            let again = try await onThread { () -> RawResponse in
                let proxy = try RawClient(port: port, from: "127.0.0.3", receiveTimeout: 60)
                proxy.send(forwarded("/again", "198.51.100.7"))
                return try proxy.readResponse()
            }
            #expect(again.text == "GET /again")
            #expect(server.metrics.rejectedRequestsPerForwardedClient == 1)
            #expect(server.metrics.rejectedConnectionsPerAddress == 0)
        }
    }

    // MARK: The table itself

    @Test(arguments: [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        ("2001:db8:1:2::1", "2001:db8:1:2::"),
        ("::1", "::"),
    ])
    func addressesAreCountedByTheirIPv4AddressOrIPv6Slash64(address: String, key: String) throws {
        #expect(ConnectionsPerAddress.key(for: try #require(IPAddress(address))) == IPAddress(key))
    }

    @Test func anIPv4MappedPeerShareTheCapOfItsIPv4Address() throws {
        let table = ConnectionsPerAddress(limit: 2, exempt: [])
        #expect(table.admit(IPAddress("192.0.2.7"), now: 0) == .admitted(key: IPAddress("192.0.2.7")))
        #expect(table.admit(IPAddress("::ffff:192.0.2.7"), now: 0) == .admitted(key: IPAddress("192.0.2.7")))
        guard case .refused = table.admit(IPAddress("192.0.2.7"), now: 0) else {
            Issue.record("a third connection from 192.0.2.7 was admitted")
            return
        }
        #expect(table.openConnections(from: try #require(IPAddress("::ffff:192.0.2.7"))) == 2)
    }

    @Test func aDualStackSocketAddressOfAnIPv4PeerReadsAsIPv4() throws {
        let mapped = try SocketAddress(host: "::ffff:127.0.0.2", port: 80)
        #expect(mapped.ipAddress == IPAddress("127.0.0.2"))
        #expect(try SocketAddress(host: "127.0.0.2", port: 80).ipAddress == IPAddress("127.0.0.2"))
        #expect(try SocketAddress(host: "::1", port: 80).ipAddress == IPAddress("::1"))
    }

    @Test func refusalsAreLoggedAtMostOncePerAddressPerInterval() throws {
        let table = ConnectionsPerAddress(limit: 1, exempt: [], logInterval: 1000)
        let flooder = try #require(IPAddress("192.0.2.1"))
        let other = try #require(IPAddress("192.0.2.2"))
        #expect(table.admit(flooder, now: 0) == .admitted(key: flooder))
        #expect(table.admit(other, now: 0) == .admitted(key: other))
        // (time, address, refusals the line reports or nil for no line)
        let steps: [(Int64, IPAddress, Int?)] = [
            (10, flooder, 1), (20, flooder, nil), (30, flooder, nil), (40, other, 1), (999, flooder, nil),
            (1010, flooder, 4), (1500, flooder, nil), (1600, other, 1), (2010, flooder, 2), (2041, other, nil),
            (2600, other, 2),
        ]
        for (now, address, logged) in steps {
            #expect(table.admit(address, now: now) == .refused(key: address, logRefusals: logged), "at \(now) ms")
        }
    }

    @Test func exemptAddressesAreNeverCounted() throws {
        let table = ConnectionsPerAddress(limit: 1, exempt: ["10.0.0.0/8", "2001:db8::/32"])
        for _ in 0..<5 {
            #expect(table.admit(IPAddress("10.1.2.3"), now: 0) == .exempt)
            #expect(table.admit(IPAddress("::ffff:10.1.2.3"), now: 0) == .exempt)
            #expect(table.admit(IPAddress("2001:db8::5"), now: 0) == .exempt)
        }
        #expect(table.openConnections(from: try #require(IPAddress("10.1.2.3"))) == 0)
    }

    @Test func releasingTheLastConnectionForgetsTheAddress() throws {
        let table = ConnectionsPerAddress(limit: 1, exempt: [])
        let address = try #require(IPAddress("192.0.2.1"))
        #expect(table.admit(address, now: 0) == .admitted(key: address))
        table.release(address)
        table.release(address)
        #expect(table.openConnections(from: address) == 0)
        #expect(table.admit(address, now: 0) == .admitted(key: address))
    }
}
