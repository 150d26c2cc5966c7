import Foundation
import Testing
import Threading

@Suite struct BlockingPoolTests {
    @Test func aBlockingJobDoesNotDelayATinyTaskStartedAfterIt() async throws {
        let pool = BlockingPool(name: "test-io", threads: 4)
        defer { pool.shutdown() }
        async let blocked: Void = pool.run { usleep(300_000) }
        async let blocked2: Void = pool.run { usleep(300_000) }
        let start = ContinuousClock.now
        let tiny = await Task { ContinuousClock.now }.value
        // Not a timing assertion on the pool's speed: the tiny task must not wait for the 300 ms jobs.
        #expect(tiny - start < .milliseconds(250))
        _ = await (blocked, blocked2)
    }

    @Test func errorsThrownByAJobReachTheCaller() async {
        struct Boom: Error {}
        let pool = BlockingPool(name: "test-err", threads: 1)
        defer { pool.shutdown() }
        await #expect(throws: Boom.self) { try await pool.run { () throws -> Int in throw Boom() } }
    }

    @Test func jobsRunInSubmissionOrderOnASingleThread() async {
        let pool = BlockingPool(name: "test-fifo", threads: 1)
        defer { pool.shutdown() }
        var results: [Int] = []
        for i in 0..<50 { results.append(await pool.run { i }) }
        #expect(results == Array(0..<50))
    }
}
