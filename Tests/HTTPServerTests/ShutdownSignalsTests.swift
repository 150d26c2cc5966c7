import Glibc
import HTTPServer
import Synchronization
import Testing

@Suite struct ShutdownSignalsTests {
    @Test func interruptSignalReachesTheHandlerInsteadOfKillingTheProcess() async throws {
        let received = Atomic<Int32>(0)
        let signals = ShutdownSignals.install { number in received.store(number, ordering: .relaxed) }
        defer { signals.cancel() }
        // To the process, not this thread: pool threads block SIGINT, and a thread-directed signal
        // would stay pending there.
        kill(getpid(), SIGINT)
        for _ in 0..<100 where received.load(ordering: .relaxed) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(received.load(ordering: .relaxed) == SIGINT)
    }
}
