@testable import Webhooks

/// Exercises the worker's internal wake-up signal.
struct WakeSignalProbe {
    func waitTimesOut() async -> Bool {
        await WakeSignal().wait(upTo: .milliseconds(10)) == false
    }

    func signalThenWait() async -> Bool {
        let signal = WakeSignal()
        signal.signal()
        return await signal.wait(upTo: .seconds(30))
    }
}
