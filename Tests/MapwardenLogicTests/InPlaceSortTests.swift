import Testing
@testable import MapwardenLogic

@Suite struct InPlaceSortTests {
    @Test func sortsLikeTheStandardLibrary() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            var values = (0..<count).map { _ in Int.random(in: -50...50, using: &generator) }
            let expected = values.sorted()
            values.withUnsafeMutableBufferPointer { InPlaceSort.sort($0.baseAddress!, count: count, by: <) }
            #expect(values == expected)
        }
    }

    @Test func descendingOrder() {
        var values = [3, 1, 4, 1, 5, 9, 2, 6]
        values.withUnsafeMutableBufferPointer { InPlaceSort.sort($0.baseAddress!, count: $0.count, by: >) }
        #expect(values == [9, 6, 5, 4, 3, 2, 1, 1])
    }
}
