import Testing
import Threading

@Suite struct WakeSignalTests {
    @Test func aWakeUpBeforeTheWaitIsKeptAndATimeoutIsNotAWakeUp() async {
        #expect(await WakeSignal().wait(upTo: .milliseconds(10)) == false)
        let signal = WakeSignal()
        signal.signal()
        #expect(await signal.wait(upTo: .seconds(30)))
    }
}
