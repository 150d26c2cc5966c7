import Diagnostics
import Synchronization
import Testing

@Suite struct MetricsTests {
    @Test func anEmptyRegistryExposesNothing() {
        #expect(MetricsRegistry().exposition() == "")
    }

    @Test func countersGaugesAndHistogramsRenderInTheTextFormat() {
        let registry = MetricsRegistry()
        let requests = registry.counter(
            "http_requests_total", help: "Requests served.", labelNames: ["method", "status"])
        requests.labels("GET", "200").increment()
        requests.labels("GET", "200").increment(by: 2)
        requests.labels("POST", "401").increment()
        requests.labels("DELETE", "204").increment(by: 0.5)
        registry.gauge("open_connections", help: "Open connections.").set(7)
        let latency = registry.histogram("latency_seconds", help: "Latency.", buckets: [0.1, 1, 2.5])
        latency.observe(0.05)
        latency.observe(0.1)
        latency.observe(2)
        latency.observe(30)
        #expect(
            registry.exposition() == """
                # HELP http_requests_total Requests served.
                # TYPE http_requests_total counter
                http_requests_total{method="DELETE",status="204"} 0.5
                http_requests_total{method="GET",status="200"} 3
                http_requests_total{method="POST",status="401"} 1
                # HELP latency_seconds Latency.
                # TYPE latency_seconds histogram
                latency_seconds_bucket{le="0.1"} 2
                latency_seconds_bucket{le="1"} 2
                latency_seconds_bucket{le="2.5"} 3
                latency_seconds_bucket{le="+Inf"} 4
                latency_seconds_sum 32.15
                latency_seconds_count 4
                # HELP open_connections Open connections.
                # TYPE open_connections gauge
                open_connections 7

                """)
    }

    @Test func labelledHistogramsPutLeLast() {
        let registry = MetricsRegistry()
        let family = registry.histogram("d_seconds", help: "D.", labelNames: ["route"], buckets: [1])
        family.labels("/b").observe(.milliseconds(1500))
        family.labels("/a").observe(.milliseconds(500))
        #expect(
            registry.exposition() == """
                # HELP d_seconds D.
                # TYPE d_seconds histogram
                d_seconds_bucket{route="/a",le="1"} 1
                d_seconds_bucket{route="/a",le="+Inf"} 1
                d_seconds_sum{route="/a"} 0.5
                d_seconds_count{route="/a"} 1
                d_seconds_bucket{route="/b",le="1"} 0
                d_seconds_bucket{route="/b",le="+Inf"} 1
                d_seconds_sum{route="/b"} 1.5
                d_seconds_count{route="/b"} 1

                """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let registry = MetricsRegistry()
        registry.counter("c_total", help: "A \\ backslash\nand a newline.", labelNames: ["v"])
            .labels("quote \" backslash \\ newline \n end").increment()
        #expect(
            registry.exposition() == #"""
                # HELP c_total A \\ backslash\nand a newline.
                # TYPE c_total counter
                c_total{v="quote \" backslash \\ newline \n end"} 1

                """#)
    }

    @Test func callbackGaugesAreReadAtScrapeTime() {
        let registry = MetricsRegistry()
        let depth = Mutex<Double>(3)
        registry.gauge("pool_queue_depth", help: "Jobs waiting.", labels: ["pool": "crypto"]) {
            depth.withLock { $0 }
        }
        registry.gauge("pool_queue_depth", help: "Jobs waiting.", labels: ["pool": "blocking"]) { 1 }
        registry.gauge("connections", help: "Open.") { 12 }
        let expected = { (crypto: String) in
            """
            # HELP connections Open.
            # TYPE connections gauge
            connections 12
            # HELP pool_queue_depth Jobs waiting.
            # TYPE pool_queue_depth gauge
            pool_queue_depth{pool="blocking"} 1
            pool_queue_depth{pool="crypto"} \(crypto)

            """
        }
        #expect(registry.exposition() == expected("3"))
        depth.withLock { $0 = 4.25 }
        #expect(registry.exposition() == expected("4.25"))
    }

    @Test func registeringACallbackAgainReplacesIt() {
        let registry = MetricsRegistry()
        registry.gauge("g", help: "G.") { 1 }
        registry.gauge("g", help: "G.") { 2 }
        #expect(registry.exposition().hasSuffix("g 2\n"))
    }

    @Test func registrationIsIdempotent() {
        let registry = MetricsRegistry()
        let first = registry.counter("x_total", help: "X.")
        let second = registry.counter("x_total", help: "X.")
        first.increment()
        second.increment()
        #expect(first === second)
        #expect(first.value == 2)
        let histogram = registry.histogram("h", help: "H.", labelNames: ["a"], buckets: [1, 2])
        #expect(histogram === registry.histogram("h", help: "H.", labelNames: ["a"], buckets: [2, 1]))
    }

    @Test func labelledFamiliesWithoutSeriesAreLeftOut() {
        let registry = MetricsRegistry()
        _ = registry.counter("unused_total", help: "Nothing yet.", labelNames: ["a"])
        registry.counter("used_total", help: "Used.").increment()
        #expect(registry.exposition() == "# HELP used_total Used.\n# TYPE used_total counter\nused_total 1\n")
    }

    @Test func countersIgnoreNegativeAndNaNIncrements() {
        let counter = MetricsRegistry().counter("c_total", help: "C.")
        counter.increment(by: -5)
        counter.increment(by: .nan)
        counter.increment()
        #expect(counter.value == 1)
    }

    @Test func gaugesGoUpAndDown() {
        let gauge = MetricsRegistry().gauge("g", help: "G.")
        gauge.increment()
        gauge.increment(by: 2.5)
        gauge.decrement()
        #expect(gauge.value == 2.5)
        gauge.set(-1)
        #expect(gauge.value == -1)
    }

    @Test(arguments: [
        (0.0, "0"), (1.0, "1"), (-3.0, "-3"), (0.005, "0.005"), (2.5, "2.5"), (1e-7, "1e-07"),
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (1e20, "1e+20"),
    ])
    func valuesAreFormattedLikeTheGoClient(_ value: Double, _ text: String) {
        let registry = MetricsRegistry()
        registry.gauge("v", help: "V.").set(value)
        #expect(registry.exposition().hasSuffix("v \(text)\n"))
    }

    @Test func histogramsIgnoreNaNAndCountBoundaryValuesInTheirBucket() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram("h", help: "H.", buckets: [1])
        histogram.observe(1)
        histogram.observe(.nan)
        #expect(histogram.count == 1)
        #expect(registry.exposition().contains(#"h_bucket{le="1"} 1"#))
    }

    @Test func defaultBucketsMatchThePrometheusClients() {
        let text = { () -> String in
            let registry = MetricsRegistry()
            registry.histogram("h", help: "H.").observe(0.3)
            return registry.exposition()
        }()
        let bounds = text.split(separator: "\n").compactMap { line -> Substring? in
            guard let start = line.firstRange(of: "le=\"")?.upperBound else { return nil }
            return line[start...].prefix { $0 != "\"" }
        }
        #expect(bounds == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"])
    }

    @Test func concurrentUpdatesAreNotLost() async {
        let registry = MetricsRegistry()
        let counter = registry.counter("c_total", help: "C.", labelNames: ["worker"])
        let histogram = registry.histogram("h", help: "H.")
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for _ in 0..<1000 {
                        counter.labels(String(worker % 2)).increment()
                        histogram.observe(0.01)
                    }
                }
            }
        }
        #expect(counter.labels("0").value + counter.labels("1").value == 8000)
        #expect(histogram.count == 8000)
    }

    @Test func theContentTypeIsTheTextFormatVersion() {
        #expect(MetricsRegistry.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }
}

@Suite struct MetricsRegistrationTests {
    @Test func anInvalidMetricNameStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = MetricsRegistry().counter("http-requests", help: "Bad name.")
        }
    }

    @Test func reusingANameWithAnotherTypeStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let registry = MetricsRegistry()
            _ = registry.counter("thing", help: "A counter.")
            _ = registry.gauge("thing", help: "Now a gauge.")
        }
    }

    @Test func theWrongNumberOfLabelValuesStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = MetricsRegistry().counter("c_total", help: "C.", labelNames: ["a", "b"]).labels("only-one")
        }
    }
}
