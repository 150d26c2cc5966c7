// The per-address connection cap, shared by every event loop of a server: with SO_REUSEPORT a client's
// connections land on any loop, so a per-loop count would let one address hold `loops × cap` slots.

import HTTPCore
import Synchronization

/// Counts the open connections of each client address across the server's event loops and refuses
/// one beyond `limit`, so that one client cannot hold every slot of `maxConnections`.
///
/// Addresses are counted as the kernel reports the peer: an IPv4-mapped IPv6 address as its IPv4
/// address, and IPv6 addresses per /64 (the smallest block a site is given, so one host cannot
/// dodge the cap by rotating through its own prefix). Peers in `exempt` (trusted reverse proxies,
/// which carry many clients' connections) are never counted. An entry exists only while its address
/// has a connection open, so the table holds at most `maxConnections` entries.
///
/// Refusals are logged at most once per address per `logInterval`; the line says how many were
/// refused since the previous one, so a flood costs one line a minute per address, not one per
/// connection. Thread-safe: every method takes one short lock.
final class ConnectionsPerAddress: Sendable {
    /// What the accepting loop does with a new connection.
    enum Admission: Equatable {
        /// Keep it; the caller must `release(key)` when it closes (nil key: an address of another
        /// family, not counted).
        case admitted(key: IPAddress?)
        /// Keep it: the peer is in `exempt` (a trusted proxy) and is not counted.
        case exempt
        /// Refuse it; `logRefusals` is the number of refusals to report now, or nil to stay quiet.
        case refused(key: IPAddress, logRefusals: Int?)
    }

    private struct State: ~Copyable {
        var open: [IPAddress: Int] = [:]
        /// Per refusing address: when its last line went out, and the refusals since.
        var logged: [IPAddress: (at: Int64, since: Int)] = [:]
    }

    /// The most connections one address may have open; at least 1.
    let limit: Int
    /// Addresses that are never counted.
    let exempt: [CIDR]
    /// At most one log line per address per this many milliseconds.
    let logInterval: Int64
    /// Bounds the log-throttle table; refusals from addresses beyond it are counted but not logged.
    private let maxLoggedAddresses = 4096
    private let state = Mutex(State())

    /// Creates an empty table.
    init(limit: Int, exempt: [CIDR], logInterval: Int64 = 60_000) {
        self.limit = max(1, limit)
        self.exempt = exempt
        self.logInterval = logInterval
    }

    /// The address the cap counts `address` under: IPv4 as is, IPv6 as its /64.
    static func key(for address: IPAddress) -> IPAddress {
        switch address.unmapped {
        case .v4(let value): return .v4(value)
        case .v6(let value): return .v6(value & ~UInt128(0) << 64)
        }
    }

    /// Text naming a key in logs: `192.0.2.1` or `2001:db8::/64`.
    static func describe(_ key: IPAddress) -> String {
        if case .v6 = key { return "\(key)/64" }
        return key.description
    }

    /// Counts a new connection from `address` (nil: an unknown family, never counted), or refuses it
    /// when its address already holds `limit`; `now` is the monotonic clock in milliseconds.
    func admit(_ address: IPAddress?, now: Int64) -> Admission {
        guard let address else { return .admitted(key: nil) }
        if exempt.contains(where: { $0.contains(address) }) { return .exempt }
        let key = Self.key(for: address)
        return state.withLock { state -> Admission in
            let count = state.open[key, default: 0]
            if count < limit {
                state.open[key] = count + 1
                return .admitted(key: key)
            }
            if var entry = state.logged[key] {
                entry.since += 1
                guard now - entry.at >= logInterval else {
                    state.logged[key] = entry
                    return .refused(key: key, logRefusals: nil)
                }
                state.logged[key] = (now, 0)
                return .refused(key: key, logRefusals: entry.since)
            }
            if state.logged.count >= maxLoggedAddresses {
                state.logged = state.logged.filter { now - $0.value.at < logInterval }
                guard state.logged.count < maxLoggedAddresses else { return .refused(key: key, logRefusals: nil) }
            }
            state.logged[key] = (now, 0)
            return .refused(key: key, logRefusals: 1)
        }
    }

    /// Forgets one closed connection counted under `key`.
    func release(_ key: IPAddress) {
        state.withLock { state in
            guard let count = state.open[key] else { return }
            state.open[key] = count > 1 ? count - 1 : nil
        }
    }

    /// The connections counted under `address`'s key now (for tests and diagnostics).
    func openConnections(from address: IPAddress) -> Int {
        let key = Self.key(for: address)
        return state.withLock { $0.open[key, default: 0] }
    }
}

/// The per-client limits every event loop of a server shares.
///
/// Behind a trusted proxy the client's address arrives only with each request, so the cap there is
/// on requests in flight per forwarded client (resolved from `X-Forwarded-For` exactly as
/// `ForwardedHeadersMiddleware` resolves it for the responder), with the same limit: a client that
/// could hold `limit` connections directly may have `limit` requests in flight through a proxy.
/// Requests answered on the event loop (`immediateResponse`) hold nothing and are not counted.
struct ClientLimits: Sendable {
    /// Open connections per peer address; trusted proxies exempt.
    let connections: ConnectionsPerAddress
    /// Requests in flight per forwarded client, on connections from trusted proxies.
    let requestsThroughProxies: ConnectionsPerAddress
    /// Resolves the forwarded client of a request from a trusted proxy.
    let forwarded: ForwardedHeadersMiddleware

    init(limit: Int, trustedProxies: [CIDR]) {
        connections = ConnectionsPerAddress(limit: limit, exempt: trustedProxies)
        requestsThroughProxies = ConnectionsPerAddress(limit: limit, exempt: [])
        forwarded = ForwardedHeadersMiddleware(trustedProxies: trustedProxies)
    }
}
