import HTTPCore
import Testing

@Suite struct ForwardedHeadersTests {
    // MARK: Addresses

    struct AddressCase: Sendable, CustomTestStringConvertible {
        var text: String
        var canonical: String?
        var testDescription: String { "\"\(text)\" → \(canonical ?? "invalid")" }
    }

    static let addressCases: [AddressCase] = [
        AddressCase(text: "192.0.2.1", canonical: "192.0.2.1"),
        AddressCase(text: "0.0.0.0", canonical: "0.0.0.0"),
        AddressCase(text: "255.255.255.255", canonical: "255.255.255.255"),
        AddressCase(text: "256.0.0.1", canonical: nil),
        AddressCase(text: "1.2.3", canonical: nil),
        AddressCase(text: "1.2.3.4.5", canonical: nil),
        AddressCase(text: "01.2.3.4", canonical: nil),
        AddressCase(text: "1.2.3.", canonical: nil),
        AddressCase(text: "00.1.2.3", canonical: nil),
        AddressCase(text: "1.2.3.04", canonical: nil),
        AddressCase(text: "1.2.3.1000", canonical: nil),
        AddressCase(text: "1.2.3.-1", canonical: nil),
        AddressCase(text: ".1.2.3", canonical: nil),
        AddressCase(text: "10.0.0.10", canonical: "10.0.0.10"),
        AddressCase(text: "1..2.3", canonical: nil),
        AddressCase(text: "+1.2.3.4", canonical: nil),
        AddressCase(text: "1.2.3.4 ", canonical: nil),
        AddressCase(text: "", canonical: nil),
        AddressCase(text: "localhost", canonical: nil),
        AddressCase(text: "::1", canonical: "::1"),
        AddressCase(text: "::", canonical: "::"),
        AddressCase(text: "2001:DB8::1", canonical: "2001:db8::1"),
        AddressCase(text: "2001:0db8:0000:0000:0000:0000:0000:0001", canonical: "2001:db8::1"),
        AddressCase(text: "2001:db8:0:0:1:0:0:1", canonical: "2001:db8::1:0:0:1"),
        AddressCase(text: "2001:db8:0:1:1:1:1:1", canonical: "2001:db8:0:1:1:1:1:1"),
        AddressCase(text: "fe80::", canonical: "fe80::"),
        AddressCase(text: "::ffff:192.0.2.1", canonical: "::ffff:192.0.2.1"),
        AddressCase(text: "64:ff9b::192.0.2.1", canonical: "64:ff9b::c000:201"),
        AddressCase(text: "1:2:3:4:5:6:7:8", canonical: "1:2:3:4:5:6:7:8"),
        AddressCase(text: "1:2:3:4:5:6:7:8:9", canonical: nil),
        AddressCase(text: "1:2:3:4:5:6:7", canonical: nil),
        AddressCase(text: "1::2::3", canonical: nil),
        AddressCase(text: ":::", canonical: nil),
        AddressCase(text: "1:2:3:4:5:6:7::8", canonical: nil),
        AddressCase(text: "12345::", canonical: nil),
        AddressCase(text: "g::1", canonical: nil),
        AddressCase(text: "::1%eth0", canonical: nil),
        AddressCase(text: "[::1]", canonical: nil),
        AddressCase(text: "::ffff:1.2.3.4.5", canonical: nil),
        AddressCase(text: "1.2.3.4::", canonical: nil),
    ]

    @Test(arguments: addressCases)
    func addressesParseStrictlyAndPrintCanonically(_ testCase: AddressCase) {
        #expect(IPAddress(testCase.text)?.description == testCase.canonical)
    }

    @Test func ipv4MappedAddressesUnmapToIPv4() {
        #expect(IPAddress("::ffff:10.1.2.3")?.unmapped == IPAddress("10.1.2.3"))
        #expect(IPAddress("::1")?.unmapped == IPAddress("::1"))
    }

    // MARK: CIDR

    struct CIDRCase: Sendable, CustomTestStringConvertible {
        var block: String
        var inside: [String]
        var outside: [String]
        var testDescription: String { block }
    }

    static let cidrCases: [CIDRCase] = [
        CIDRCase(
            block: "10.0.0.0/8", inside: ["10.0.0.0", "10.255.255.255", "::ffff:10.9.9.9"],
            outside: ["11.0.0.0", "9.255.255.255", "::a00:1"]),
        CIDRCase(block: "192.168.1.0/24", inside: ["192.168.1.77"], outside: ["192.168.2.1"]),
        CIDRCase(block: "172.16.0.0/12", inside: ["172.31.255.1"], outside: ["172.32.0.1"]),
        CIDRCase(block: "203.0.113.5", inside: ["203.0.113.5"], outside: ["203.0.113.6"]),
        CIDRCase(block: "0.0.0.0/0", inside: ["1.2.3.4", "255.255.255.255"], outside: ["::1"]),
        CIDRCase(block: "::1/128", inside: ["::1"], outside: ["::2", "127.0.0.1"]),
        CIDRCase(block: "::1", inside: ["::1"], outside: ["::"]),
        CIDRCase(block: "2001:db8::/32", inside: ["2001:db8:ffff::1"], outside: ["2001:db9::1"]),
        CIDRCase(block: "fd00::/8", inside: ["fdff::1"], outside: ["fe00::1"]),
        CIDRCase(block: "::ffff:0:0/96", inside: ["10.0.0.1", "::ffff:1.2.3.4"], outside: ["::1"]),
        CIDRCase(block: "::/0", inside: ["::1", "2001:db8::1"], outside: []),
    ]

    @Test(arguments: cidrCases)
    func blocksContainExactlyTheirAddresses(_ testCase: CIDRCase) throws {
        let block = try CIDR(parsing: testCase.block)
        for address in testCase.inside {
            #expect(block.contains(try #require(IPAddress(address))), "\(address) should be in \(testCase.block)")
        }
        for address in testCase.outside {
            #expect(!block.contains(try #require(IPAddress(address))), "\(address) should not be in \(testCase.block)")
        }
    }

    @Test(arguments: [
        ("10.0.0.1/8", "host bits are set below /8; did you mean 10.0.0.0/8?"),
        ("10.0.0.0/33", "the prefix length must be a number from 0 to 32"),
        ("::/129", "the prefix length must be a number from 0 to 128"),
        ("10.0.0.0/", "the prefix length must be a number from 0 to 32"),
        ("10.0.0.0/-1", "the prefix length must be a number from 0 to 32"),
        ("10.0.0.0/+8", "the prefix length must be a number from 0 to 32"),
        ("10.0.0.0/8/8", "the prefix length must be a number from 0 to 32"),
        ("example.com/8", "\"example.com\" is not an IPv4 or IPv6 address"),
        ("", "\"\" is not an IPv4 or IPv6 address"),
    ])
    func malformedBlocksAreRejectedWithAPreciseReason(_ text: String, _ reason: String) {
        let error = #expect(throws: CIDR.ParseError.self) { try CIDR(parsing: text) }
        #expect(error?.input == text)
        #expect(error?.reason == reason)
    }

    @Test func blocksPrintInCanonicalForm() throws {
        let v6 = try CIDR(parsing: " 2001:DB8:0::/48 ")
        let v4 = try CIDR(parsing: "192.0.2.1")
        #expect(v6.description == "2001:db8::/48")
        #expect(v4.description == "192.0.2.1/32")
    }

    // MARK: Resolution

    struct ResolutionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var peer: String
        var isTLS = false
        var headers: [(String, String)] = []
        var client: String
        var isSecure: Bool
        var testDescription: String { name }
    }

    static let trusted: [CIDR] = ["10.0.0.0/8", "::1", "2001:db8:cafe::/48"]

    static let resolutionCases: [ResolutionCase] = [
        ResolutionCase(
            name: "direct client without headers", peer: "198.51.100.1", client: "198.51.100.1", isSecure: false),
        ResolutionCase(
            name: "direct TLS client", peer: "198.51.100.1", isTLS: true, client: "198.51.100.1", isSecure: true),
        ResolutionCase(
            name: "dual-stack peer shown as IPv4", peer: "::ffff:198.51.100.1", client: "198.51.100.1", isSecure: false),
        ResolutionCase(
            name: "untrusted peer spoofing X-Forwarded-For is ignored", peer: "198.51.100.1",
            headers: [("X-Forwarded-For", "1.1.1.1")], client: "198.51.100.1", isSecure: false),
        ResolutionCase(
            name: "untrusted peer spoofing X-Forwarded-Proto is ignored", peer: "198.51.100.1",
            headers: [("X-Forwarded-Proto", "https")], client: "198.51.100.1", isSecure: false),
        ResolutionCase(
            name: "untrusted peer cannot downgrade direct TLS", peer: "198.51.100.1", isTLS: true,
            headers: [("X-Forwarded-Proto", "http")], client: "198.51.100.1", isSecure: true),
        ResolutionCase(
            name: "trusted proxy names the client", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")], client: "203.0.113.9",
            isSecure: true),
        ResolutionCase(
            name: "client-supplied hops left of the real client are ignored", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "6.6.6.6, 10.0.0.99, 203.0.113.9")], client: "203.0.113.9", isSecure: false),
        ResolutionCase(
            name: "a chain of trusted proxies is skipped", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "203.0.113.9, 10.1.1.1, 10.2.2.2")], client: "203.0.113.9", isSecure: false),
        ResolutionCase(
            name: "repeated X-Forwarded-For headers are read as one list", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9, 10.1.1.1")],
            client: "203.0.113.9", isSecure: false),
        ResolutionCase(
            name: "all-trusted chain yields the left-most hop", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "10.3.3.3, 10.4.4.4")], client: "10.3.3.3", isSecure: false),
        ResolutionCase(
            name: "garbage hop stops at the last trusted hop", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "203.0.113.9, <script>, 10.1.1.1")], client: "10.1.1.1", isSecure: false),
        ResolutionCase(
            name: "garbage as the only hop leaves the peer", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "unknown")], client: "10.0.0.2", isSecure: false),
        ResolutionCase(
            name: "empty hop stops the walk", peer: "10.0.0.2",
            headers: [("X-Forwarded-For", "203.0.113.9,,")], client: "10.0.0.2", isSecure: false),
        ResolutionCase(
            name: "trusted proxy without X-Forwarded-For leaves the peer", peer: "10.0.0.2",
            client: "10.0.0.2", isSecure: false),
        ResolutionCase(
            name: "hops with ports and brackets", peer: "::1",
            headers: [("X-Forwarded-For", "[2001:db8::7]:4711, 10.1.1.1:8080")], client: "2001:db8::7", isSecure: false),
        ResolutionCase(
            name: "IPv6 client canonicalised", peer: "::1",
            headers: [("X-Forwarded-For", "2001:DB8:0:0::7")], client: "2001:db8::7", isSecure: false),
        ResolutionCase(
            name: "IPv4-mapped peer is trusted by its IPv4 block", peer: "::ffff:10.0.0.2",
            headers: [("X-Forwarded-For", "203.0.113.9")], client: "203.0.113.9", isSecure: false),
        ResolutionCase(
            name: "IPv4-mapped client is shown as IPv4", peer: "::1",
            headers: [("X-Forwarded-For", "::ffff:203.0.113.9")], client: "203.0.113.9", isSecure: false),
        ResolutionCase(
            name: "trusted IPv6 range skips inner proxies", peer: "2001:db8:cafe::1",
            headers: [("X-Forwarded-For", "2001:db8:beef::5, 2001:db8:cafe::2")], client: "2001:db8:beef::5",
            isSecure: false),
        ResolutionCase(
            name: "trusted proxy reporting plain http over our TLS", peer: "10.0.0.2", isTLS: true,
            headers: [("X-Forwarded-Proto", "http")], client: "10.0.0.2", isSecure: false),
        ResolutionCase(
            name: "right-most proto wins", peer: "10.0.0.2",
            headers: [("X-Forwarded-Proto", "http, https")], client: "10.0.0.2", isSecure: true),
        ResolutionCase(
            name: "proto is case-insensitive", peer: "10.0.0.2",
            headers: [("X-Forwarded-Proto", " HTTPS ")], client: "10.0.0.2", isSecure: true),
        ResolutionCase(
            name: "unknown proto is ignored", peer: "10.0.0.2",
            headers: [("X-Forwarded-Proto", "gopher")], client: "10.0.0.2", isSecure: false),
        ResolutionCase(
            name: "unparseable peer is kept verbatim", peer: "unix-socket",
            headers: [("X-Forwarded-For", "1.2.3.4")], client: "unix-socket", isSecure: false),
        ResolutionCase(
            name: "address look-alike from the same /8 as a trusted proxy but untrusted peer", peer: "11.0.0.1",
            headers: [("X-Forwarded-For", "10.0.0.1")], client: "11.0.0.1", isSecure: false),
    ]

    @Test(arguments: resolutionCases)
    func clientAddressAndSchemeFollowOnlyTrustedProxies(_ testCase: ResolutionCase) {
        let middleware = ForwardedHeadersMiddleware(trustedProxies: Self.trusted)
        let resolved = middleware.resolve(
            connection: HTTPConnectionInfo(remoteAddress: testCase.peer, isTLS: testCase.isTLS),
            headers: HTTPHeaders(testCase.headers))
        #expect(resolved.clientAddress == testCase.client)
        #expect(resolved.isSecure == testCase.isSecure)
    }

    @Test func noTrustedProxiesMeansHeadersAreAlwaysIgnored() {
        let middleware = ForwardedHeadersMiddleware(trustedProxies: [])
        let resolved = middleware.resolve(
            connection: HTTPConnectionInfo(remoteAddress: "127.0.0.1"),
            headers: ["X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"])
        #expect(resolved.clientAddress == "127.0.0.1")
        #expect(!resolved.isSecure)
    }

    @Test func theMiddlewareFillsTheRequestContext() async {
        var router = Router()
        router.use(ForwardedHeadersMiddleware(trustedProxies: ["10.0.0.0/8"]))
        router.get("/") { request in .text("\(request.context.clientAddress) \(request.context.isSecure)") }
        let response = await router.respond(
            to: RoutingFixtures.request(
                .get, "/", headers: ["X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"],
                remoteAddress: "10.0.0.1"))
        #expect(RoutingFixtures.body(response) == "203.0.113.9 true")
    }
}
