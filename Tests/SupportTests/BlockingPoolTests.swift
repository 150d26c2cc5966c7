import Foundation
import Testing
import Threading

@Suite struct BlockingPoolTests {
    @Test func jobsBlockedInCCodeLeaveTheCooperativePoolFreeForOtherTasks() async throws {
        // More blocked jobs than the cooperative pool has threads: if the pool ran them there, the
        // task that releases them could never start, and every job would time out instead.
        let width = ProcessInfo.processInfo.activeProcessorCount + 2
        let pool = BlockingPool(name: "test-io", threads: width)
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let jobs = (0..<width).map { _ in
            Task { await pool.run { gate.wait(timeout: .now() + 30) == .success } }
        }
        await Task { for _ in 0..<width { gate.signal() } }.value
        for job in jobs { #expect(await job.value, "a blocked job was released by a task, not by its timeout") }
    }

    @Test func aPoolWithANicenessRunsItsJobsAtThatPriorityAndLeavesTheCallerAlone() async {
        let pool = BlockingPool(name: "test-nice", threads: 1, niceness: 7)
        defer { pool.shutdown() }
        let inside = await pool.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        #expect(inside == 7)
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == 0)
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
