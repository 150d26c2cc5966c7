import Diagnostics
import Testing

@Suite struct JSONTextTests {
    @Test func aStringMapBecomesAnObjectWithSortedKeysAndNoneForNothing() {
        #expect(JSONText.object(sortingKeys: ["b": "x/y", "a": "say \"hi\""]) == #"{"a":"say \"hi\"","b":"x/y"}"#)
        #expect(JSONText.object(sortingKeys: [:]) == nil)
    }
}
