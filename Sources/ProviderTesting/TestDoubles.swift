import Diagnostics
import Foundation
import IdentityCore
import Storage
import Synchronization
import Threading

/// A clock tests move by hand, so lockouts, expiry and caches are tested without sleeping.
///
/// Threading: safe to read and move from any task.
public final class FixedClock: Sendable {
    private let current: Mutex<Date>

    /// A clock stopped at `date` (by default a fixed instant in 2027, far from any real "now").
    public init(_ date: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(date)
    }

    /// The clock's time.
    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }

    /// Sets the clock to `date`.
    public func set(_ date: Date) { current.withLock { $0 = date } }

    /// The clock as the `now` closure a `ProviderContext` takes.
    public var function: @Sendable () -> Date { { self.now() } }
}

/// An audit sink that keeps every event in memory for assertions.
///
/// Threading: safe to record into and read from any task.
public final class RecordingAudit: AuditRecording {
    private let recorded = Mutex<[NewAuditEvent]>([])

    /// An empty recorder.
    public init() {}

    /// Keeps `event`.
    public func record(_ event: NewAuditEvent) async { recorded.withLock { $0.append(event) } }

    /// Every event recorded so far, oldest first.
    public var events: [NewAuditEvent] { recorded.withLock { $0 } }

    /// The recorded events whose action is `action`.
    public func events(action: String) -> [NewAuditEvent] { events.filter { $0.action == action } }

    /// Forgets every recorded event.
    public func reset() { recorded.withLock { $0.removeAll() } }
}

/// A log sink that drops every line (tests keep standard error quiet).
public struct DiscardingLogSink: LogSink {
    /// A sink that drops everything.
    public init() {}
    /// Drops `line`.
    public func write(line: String) {}
}

/// Builds `ProviderContext`s for provider tests around a real store.
///
/// `ProviderTesting` depends only on `IdentityCore`, so the caller opens the store: in tests,
/// `SQLiteStore.open(.init(location: .inMemory))` followed by `migrate()`.
public enum TestProviderContext {
    /// Shared CPU threads for password hashing in tests (created once, never shut down).
    public static let cpuPool = BlockingPool(name: "test-cpu", threads: 2)
    /// Shared I/O threads for tests (created once, never shut down).
    public static let ioPool = BlockingPool(name: "test-io", threads: 2)

    /// A context over `store` with the given clock and audit recorder and a silent logger.
    public static func make(
        store: any Store, clock: FixedClock = FixedClock(), audit: RecordingAudit = RecordingAudit(),
        logLevel: LogLevel = .error
    ) -> ProviderContext {
        ProviderContext(
            logger: Logger(label: "provider-test", level: logLevel, sink: DiscardingLogSink()), store: store,
            ioPool: ioPool, cpuPool: cpuPool, audit: audit, now: clock.function)
    }
}
