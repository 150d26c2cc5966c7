import Diagnostics
import Testing

@Suite struct DurationSecondsTests {
    @Test func aDurationIsItsFractionalSeconds() {
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.seconds(-2).inSeconds == -2)
    }
}
