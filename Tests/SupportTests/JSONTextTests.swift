import Diagnostics
import Testing

@Suite struct JSONTextTests {
    @Test func aStringMapBecomesAnObjectWithSortedKeysAndNoneForNothing() {
        #expect(JSONText.object(sortingKeys: ["b": "x/y", "a": "say \"hi\""]) == #"{"a":"say \"hi\"","b":"x/y"}"#)
        #expect(JSONText.object(sortingKeys: [:]) == nil)
    }
}

@Suite struct DurationSecondsTests {
    @Test func aDurationIsItsFractionalSeconds() {
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.seconds(-2).inSeconds == -2)
    }
}
