import Testing
@testable import MapwardenLogic

@Suite struct StackDepotTests {
    /// Runs body with a depot over `bytes` of zeroed storage.
    func withDepot(bytes: Int, _ body: (inout StackDepot) -> Void) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        defer { storage.deallocate() }
        var depot = StackDepot(storage: storage, capacity: bytes)
        body(&depot)
    }

    func intern(_ d: inout StackDepot, _ frames: [UInt64]) -> UInt32? {
        frames.withUnsafeBufferPointer { d.intern($0.baseAddress!, depth: frames.count) }
    }

    func frames(_ d: StackDepot, _ id: UInt32) -> [UInt64] {
        let (p, n) = d.frames(id)
        return p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
    }

    @Test func identicalStacksShareAnID() {
        withDepot(bytes: 1 << 20) { d in
            let a = intern(&d, [1, 2, 3])!
            let b = intern(&d, [1, 2, 4])!
            let c = intern(&d, [1, 2, 3])!
            #expect(a != 0 && b != 0 && a == c && a != b)
            #expect(d.count == 2)
            #expect(frames(d, a) == [1, 2, 3])
            #expect(frames(d, b) == [1, 2, 4])
        }
    }

    @Test func prefixesAreDistinct() {
        withDepot(bytes: 1 << 20) { d in
            let long = intern(&d, [7, 8, 9])!
            let short = intern(&d, [7, 8])!
            #expect(long != short)
            #expect(frames(d, short) == [7, 8])
        }
    }

    @Test func emptyStackIsIDZero() {
        withDepot(bytes: 1 << 20) { d in
            #expect(intern(&d, []) == 0)
            #expect(frames(d, 0) == [])
        }
    }

    @Test func fullDepotAsksToGrowAndKeepsWorkingAfter() {
        let size = StackDepot.bucketBytes + StackDepot.recordBytes(depth: 2)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: size * 2, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: size * 2)
        defer { storage.deallocate() }
        var d = StackDepot(storage: storage, capacity: size)
        let first = intern(&d, [1, 2])
        #expect(first != nil)
        #expect(intern(&d, [3, 4]) == nil)     // new, no room
        #expect(intern(&d, [1, 2]) == first)   // known: no room needed
        d.storageGrew(to: size * 2)
        let second = intern(&d, [3, 4])
        #expect(second != nil && second != first)
        #expect(frames(d, second!) == [3, 4])
    }

    @Test func manyStacksAgainstADictionary() {
        withDepot(bytes: 8 << 20) { d in
            var model: [[UInt64]: UInt32] = [:]
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<20000 {
                let depth = Int.random(in: 1...6, using: &rng)
                let stack = (0..<depth).map { _ in UInt64.random(in: 0..<8, using: &rng) }
                let id = intern(&d, stack)!
                if let known = model[stack] { #expect(known == id) } else { model[stack] = id }
            }
            #expect(d.count == model.count)
            for (stack, id) in model { #expect(frames(d, id) == stack) }
        }
    }
}
