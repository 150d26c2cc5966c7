import Testing
import Threading

@Suite struct BoundedCacheTests {
    @Test func theCacheNeverHoldsMoreThanItsCapacity() {
        let cache = BoundedCache<Int, String>(capacity: 5)
        for key in 0..<100 {
            cache.insert("v\(key)", for: key)
            #expect(cache.count <= 5)
        }
        #expect(cache.count == 5)
        // The newest insert always survives the eviction it caused.
        #expect(cache.value(for: 99) == "v99")
    }

    @Test func theOldestEntryIsEvictedFirstAndRemovedKeysAreSkipped() {
        let cache = BoundedCache<String, Int>(capacity: 3)
        for (value, key) in ["a", "b", "c", "d"].enumerated() { cache.insert(value, for: key) }
        #expect(cache.value(for: "a") == nil)
        // Replacing a value keeps its place in line; a removed key leaves none behind it.
        cache.insert(10, for: "b")
        cache.remove("c")
        cache.insert(4, for: "e")
        #expect(cache.count == 3)
        cache.insert(5, for: "f")
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "d") == 3 && cache.value(for: "e") == 4 && cache.value(for: "f") == 5)
    }

    @Test func aFloodOfDistinctKeysWithRemovalsAndReinsertsKeepsTheNewest() {
        let cache = BoundedCache<Int, Int>(capacity: 100)
        for key in 0..<100_000 {
            cache.insert(key, for: key)
            if key % 3 == 0 { cache.remove(key - 1) }
            if key % 5 == 0 { cache.insert(key, for: key - 2) }
        }
        #expect(cache.count <= 100)
        #expect(cache.value(for: 99_999) == 99_999)
        #expect(cache.value(for: 0) == nil)
    }

    @Test func aCapacityBelowOneStillHoldsOneEntry() {
        let cache = BoundedCache<String, Int>(capacity: 0)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        #expect(cache.count == 1)
        #expect(cache.value(for: "b") == 2)
    }

    @Test func replacingAnExistingKeyAtCapacityEvictsNothing() {
        let cache = BoundedCache<String, Int>(capacity: 3)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        cache.insert(3, for: "c")
        cache.insert(30, for: "c")
        cache.insert(10, for: "a")
        #expect(cache.count == 3)
        #expect(cache.value(for: "a") == 10)
        #expect(cache.value(for: "b") == 2)
        #expect(cache.value(for: "c") == 30)
    }

    @Test func modifyChangesAStoredValueInPlaceAndReturnsTheClosuresResult() {
        let cache = BoundedCache<String, [Int]>(capacity: 2)
        cache.insert([1], for: "a")
        let count = cache.modify("a") { list -> Int in
            list.append(2)
            return list.count
        }
        #expect(count == 2)
        #expect(cache.value(for: "a") == [1, 2])
    }

    @Test func modifyOfAMissingKeyReturnsNilAndStoresNothing() {
        let cache = BoundedCache<String, Int>(capacity: 2)
        var called = false
        let result: Bool? = cache.modify("missing") { _ in
            called = true
            return true
        }
        #expect(result == nil)
        #expect(!called)
        #expect(cache.count == 0)
    }

    @Test func removeForgetsOneKeyAndIgnoresUnknownOnes() {
        let cache = BoundedCache<String, Int>(capacity: 2)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        cache.remove("a")
        cache.remove("zzz")
        #expect(cache.value(for: "a") == nil)
        #expect(cache.value(for: "b") == 2)
        #expect(cache.count == 1)
    }

    @Test func concurrentUseFromManyTasksStaysWithinCapacity() async {
        let cache = BoundedCache<Int, Int>(capacity: 64)
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var withinBounds = true
                    for step in 0..<2_000 {
                        let key = (task * 131 + step * 17) % 500
                        switch step % 4 {
                        case 0, 1: cache.insert(step, for: key)
                        case 2: _ = cache.modify(key) { $0 += 1 }
                        default: cache.remove(key)
                        }
                        _ = cache.value(for: key)
                        if cache.count > 64 { withinBounds = false }
                    }
                    return withinBounds
                }
            }
            for await withinBounds in group { #expect(withinBounds) }
        }
        #expect(cache.count <= 64)
    }
}
