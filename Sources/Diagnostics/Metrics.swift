import Foundation
import Synchronization

/// A value that only goes up (requests served, bytes sent), exported as a Prometheus `counter`.
///
/// Thread-safe: `increment` is a lock-free compare-and-swap, so it is cheap on the request path.
public final class Counter: Sendable {
    private let bits = Atomic<UInt64>(0)

    init() {}

    /// Adds `amount` (default 1); negative and NaN amounts are ignored, since a counter never decreases.
    public func increment(by amount: Double = 1) {
        guard amount > 0 else { return }
        bits.add(amount)
    }

    /// The current total.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// A value that goes up and down (open connections, queue depth), exported as a Prometheus `gauge`.
///
/// Thread-safe and lock-free.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0)

    init() {}

    /// Replaces the value.
    public func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }

    /// Adds `amount` (default 1).
    public func increment(by amount: Double = 1) { bits.add(amount) }

    /// Subtracts `amount` (default 1).
    public func decrement(by amount: Double = 1) { bits.add(-amount) }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// A distribution of observed values (latencies, sizes) counted into fixed buckets, exported as a
/// Prometheus `histogram` with cumulative `_bucket`, `_sum` and `_count` series.
///
/// Thread-safe: one short lock per observation.
public final class Histogram: Sendable {
    /// The Prometheus client default buckets, in seconds: 5 ms to 10 s.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// The finite bucket upper bounds, ascending; the `+Inf` bucket is implicit.
    public let upperBounds: [Double]

    struct State {
        /// Per-bucket (not cumulative) counts; the last slot is the `+Inf` bucket.
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private let state: Mutex<State>

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        state = Mutex(State(counts: Array(repeating: 0, count: upperBounds.count + 1)))
    }

    /// Records one value; NaN is ignored so that one bad sample cannot poison `_sum` forever.
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        // Few buckets: a linear scan beats a binary search and needs no allocation.
        var index = 0
        while index < upperBounds.count && value > upperBounds[index] { index += 1 }
        state.withLock { state in
            state.counts[index] &+= 1
            state.sum += value
            state.count &+= 1
        }
    }

    /// Records a duration in seconds, the Prometheus base unit.
    public func observe(_ duration: Duration) {
        observe(duration.inSeconds)
    }

    /// The number of observations so far.
    public var count: UInt64 { state.withLock { $0.count } }

    /// The sum of observations so far.
    public var sum: Double { state.withLock { $0.sum } }

    func snapshot() -> State { state.withLock { $0 } }
}

/// A metric split by label values (`method`, `route`, `status`); each distinct combination is its own
/// child series, created on first use.
///
/// Thread-safe. Keep label values low-cardinality (route patterns, not raw paths): every combination is
/// kept for the life of the process.
public final class MetricFamily<Metric: AnyObject & Sendable>: Sendable {
    /// The metric name.
    public let name: String
    /// The label names, in the order `labels(_:)` takes values.
    public let labelNames: [String]
    private let make: @Sendable () -> Metric
    private let children: Mutex<[[String]: Metric]>

    init(name: String, labelNames: [String], make: @escaping @Sendable () -> Metric) {
        self.name = name
        self.labelNames = labelNames
        self.make = make
        children = Mutex([:])
    }

    /// The child series for these label values, one per label name, in order.
    public func labels(_ values: String...) -> Metric { labels(values) }

    /// The child series for these label values, one per label name, in order.
    public func labels(_ values: [String]) -> Metric {
        precondition(
            values.count == labelNames.count,
            "metric \(name) takes \(labelNames.count) label values, got \(values.count)")
        return children.withLock { children in
            if let existing = children[values] { return existing }
            let created = make()
            children[values] = created
            return created
        }
    }

    /// Every child series with its label values, sorted by label values for stable output.
    func sortedChildren() -> [(values: [String], metric: Metric)] {
        let all = children.withLock { children in children.map { (values: $0.key, metric: $0.value) } }
        return all.sorted { $0.values.lexicographicallyPrecedes($1.values) }
    }
}

/// The set of metrics a process exports, rendered on demand in the Prometheus text format 0.0.4.
///
/// Thread-safe. Registration is idempotent: asking again for a metric with the same name, type and label
/// names returns the one already registered, so components can look their metrics up without sharing
/// handles. Registering a name again with a different type or label names is a programming error and
/// stops the process (metric names and labels are fixed in code, never taken from input).
///
/// ```swift
/// let registry = MetricsRegistry()
/// let logins = registry.counter("portcullis_logins_total", help: "Logins.", labelNames: ["provider"])
/// logins.labels("ldap").increment()
/// registry.gauge("portcullis_open_connections", help: "Open client connections.") { Double(server.open) }
/// ```
public final class MetricsRegistry: Sendable {
    /// The `Content-Type` of `exposition()`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    enum Family: Sendable {
        case counter(MetricFamily<Counter>)
        case gauge(MetricFamily<Gauge>)
        case histogram(MetricFamily<Histogram>, buckets: [Double])
        case callbacks(labelNames: [String], series: [[String]: @Sendable () -> Double])

        var typeName: String {
            switch self {
            case .counter: "counter"
            case .gauge, .callbacks: "gauge"
            case .histogram: "histogram"
            }
        }
    }

    struct Entry: Sendable {
        var help: String
        var family: Family
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Creates an empty registry.
    public init() {}

    // MARK: Counters

    /// The unlabelled counter `name`, registered on first use.
    public func counter(_ name: String, help: String) -> Counter {
        counter(name, help: help, labelNames: []).labels([])
    }

    /// The counter family `name` split by `labelNames`, registered on first use.
    public func counter(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Counter> {
        register(name, help: help, labelNames: labelNames) { existing in
            if let existing {
                guard case .counter(let family) = existing else { return nil }
                return (existing, family)
            }
            let family = MetricFamily(name: name, labelNames: labelNames) { Counter() }
            return (.counter(family), family)
        }
    }

    // MARK: Gauges

    /// The unlabelled gauge `name`, registered on first use.
    public func gauge(_ name: String, help: String) -> Gauge {
        gauge(name, help: help, labelNames: []).labels([])
    }

    /// The gauge family `name` split by `labelNames`, registered on first use.
    public func gauge(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Gauge> {
        register(name, help: help, labelNames: labelNames) { existing in
            if let existing {
                guard case .gauge(let family) = existing else { return nil }
                return (existing, family)
            }
            let family = MetricFamily(name: name, labelNames: labelNames) { Gauge() }
            return (.gauge(family), family)
        }
    }

    /// Registers a gauge whose value `read` computes at every scrape (open connections, queue depths).
    ///
    /// Several callbacks can share one name with different `labels` (one per blocking pool, say); they
    /// must all use the same label names. Registering the same name and labels again replaces the
    /// callback. `read` runs on the scraping task without any registry lock held, so it may be slow-ish,
    /// but must not block.
    public func gauge(
        _ name: String, help: String, labels: [String: String] = [:],
        _ read: @escaping @Sendable () -> Double
    ) {
        let labelNames = labels.keys.sorted()
        let values = labelNames.map { labels[$0]! }
        let _: Void = register(name, help: help, labelNames: labelNames) { existing in
            guard let existing else { return (.callbacks(labelNames: labelNames, series: [values: read]), ()) }
            guard case .callbacks(_, var series) = existing else { return nil }
            series[values] = read
            return (.callbacks(labelNames: labelNames, series: series), ())
        }
    }

    // MARK: Histograms

    /// The unlabelled histogram `name` with `buckets` (finite upper bounds), registered on first use.
    public func histogram(_ name: String, help: String, buckets: [Double] = Histogram.defaultBuckets) -> Histogram {
        histogram(name, help: help, labelNames: [], buckets: buckets).labels([])
    }

    /// The histogram family `name` split by `labelNames`, with `buckets` (finite upper bounds),
    /// registered on first use.
    public func histogram(
        _ name: String, help: String, labelNames: [String], buckets: [Double] = Histogram.defaultBuckets
    ) -> MetricFamily<Histogram> {
        let bounds = Array(Set(buckets.filter { $0.isFinite })).sorted()
        precondition(!labelNames.contains("le"), "histogram \(name) may not use the reserved label name le")
        return register(name, help: help, labelNames: labelNames) { existing in
            if let existing {
                guard case .histogram(let family, let existingBounds) = existing, existingBounds == bounds else {
                    return nil
                }
                return (existing, family)
            }
            let family = MetricFamily(name: name, labelNames: labelNames) { Histogram(upperBounds: bounds) }
            return (.histogram(family, buckets: bounds), family)
        }
    }

    // MARK: Exposition

    /// Every metric in the Prometheus text format 0.0.4: families sorted by name, series sorted by label
    /// values, `HELP` and `TYPE` lines first; families with no series yet are left out.
    public func exposition() -> String {
        let snapshot = entries.withLock { entries in entries.sorted { $0.key < $1.key } }
        var out = ""
        for (name, entry) in snapshot {
            var body = ""
            switch entry.family {
            case .counter(let family):
                for (values, counter) in family.sortedChildren() {
                    Self.appendSample(&body, name, family.labelNames, values, counter.value)
                }
            case .gauge(let family):
                for (values, gauge) in family.sortedChildren() {
                    Self.appendSample(&body, name, family.labelNames, values, gauge.value)
                }
            case .callbacks(let labelNames, let series):
                for (values, read) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                    Self.appendSample(&body, name, labelNames, values, read())
                }
            case .histogram(let family, let bounds):
                let bucketLabels = family.labelNames + ["le"]
                for (values, histogram) in family.sortedChildren() {
                    let state = histogram.snapshot()
                    var cumulative: UInt64 = 0
                    for (index, bound) in bounds.enumerated() {
                        cumulative &+= state.counts[index]
                        Self.appendSample(
                            &body, name + "_bucket", bucketLabels, values + [Self.format(bound)],
                            Double(cumulative))
                    }
                    Self.appendSample(&body, name + "_bucket", bucketLabels, values + ["+Inf"], Double(state.count))
                    Self.appendSample(&body, name + "_sum", family.labelNames, values, state.sum)
                    Self.appendSample(&body, name + "_count", family.labelNames, values, Double(state.count))
                }
            }
            guard !body.isEmpty else { continue }
            out += "# HELP \(name) \(Self.escapeHelp(entry.help))\n# TYPE \(name) \(entry.family.typeName)\n"
            out += body
        }
        return out
    }

    // MARK: Internals

    /// Looks up or creates `name` under the registry lock; `resolve` returns nil when the existing
    /// family does not match the request.
    private func register<Result>(
        _ name: String, help: String, labelNames: [String],
        _ resolve: (Family?) -> (Family, Result)?
    ) -> Result {
        precondition(Self.isValidMetricName(name), "invalid metric name \(name)")
        for label in labelNames {
            precondition(Self.isValidLabelName(label), "invalid label name \(label) for metric \(name)")
        }
        precondition(Set(labelNames).count == labelNames.count, "duplicate label names for metric \(name)")
        return entries.withLock { entries in
            let existing = entries[name]
            if let existing {
                precondition(
                    Self.labelNames(of: existing.family) == labelNames,
                    "metric \(name) is already registered with labels \(Self.labelNames(of: existing.family))")
            }
            guard let (family, result) = resolve(existing?.family) else {
                preconditionFailure("metric \(name) is already registered as a different type or with other buckets")
            }
            entries[name] = Entry(help: existing?.help ?? help, family: family)
            return result
        }
    }

    private static func labelNames(of family: Family) -> [String] {
        switch family {
        case .counter(let family): family.labelNames
        case .gauge(let family): family.labelNames
        case .histogram(let family, _): family.labelNames
        case .callbacks(let labelNames, _): labelNames
        }
    }

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func appendSample(
        _ out: inout String, _ name: String, _ labelNames: [String], _ values: [String], _ value: Double
    ) {
        out += name
        if !labelNames.isEmpty {
            out += "{"
            for (index, label) in labelNames.enumerated() {
                if index > 0 { out += "," }
                out += label
                out += "=\""
                out += escapeLabelValue(values[index])
                out += "\""
            }
            out += "}"
        }
        out += " "
        out += format(value)
        out += "\n"
    }

    /// Formats a sample value or bucket bound as the Go client does: integers without a fraction,
    /// `+Inf`, `-Inf` and `NaN` spelled out.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Help text escapes backslash and line feed.
    static func escapeHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension Atomic where Value == UInt64 {
    /// Adds to a `Double` stored as its bit pattern, retrying when another thread got there first.
    fileprivate func add(_ amount: Double) {
        var current = load(ordering: .relaxed)
        while true {
            let updated = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = compareExchange(
                expected: current, desired: updated, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds, as `Date` arithmetic and Prometheus want it.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
