import Testing
@testable import MapwardenLogic

private let G: UInt64 = 1 << 30
private let page: UInt64 = 4096
private let heap = Window(base: 0x5000_0000_0000, size: 4 * G)

/// A page-sized buffer holding h encoded (the rest zero, as in a fresh file).
private func encoded(_ h: BackingHeader) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Int(page))
    bytes.withUnsafeMutableBytes { h.encode($0.baseAddress!) }
    return bytes
}

/// decode on a buffer: the header or the mismatch.
private func decoded(_ bytes: [UInt8], window: Window = heap, pageSize: UInt64 = page)
    -> Result<BackingHeader, BackingHeader.Mismatch> {
    bytes.withUnsafeBytes { raw in
        do throws(BackingHeader.Mismatch) {
            return .success(try BackingHeader.decode(raw.baseAddress!, window: window, pageSize: pageSize))
        } catch {
            return .failure(error)
        }
    }
}

private func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) }
}

private func le64(_ b: [UInt8], _ at: Int) -> UInt64 {
    (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) }
}

private func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

private func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) {
    for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

private func describe(_ m: BackingHeader.Mismatch, window: Window = heap, pageSize: UInt64 = page) -> String {
    render { BackingHeader.describe(m, window: window, pageSize: pageSize, into: &$0) }
}

private func path(_ backing: Backing, _ p: String, name: String = "heap", cwd: String = "/home/u") -> String {
    let keep = KeptBytes()
    let s = WindowSpec(name: windowName(name)!, window: heap, backing: backing, path: keep(p),
                       key: Bytes("MAPWARDEN_WINDOW_HEAP"), value: .empty, origin: .environment)
    return render { BackingHeader.appendPath(of: s, cwd: keep(cwd), into: &$0) }
}

@Suite struct BackingHeaderTests {
    @Test func freshHeader() {
        let h = BackingHeader(window: heap, pageSize: page)
        #expect(h.version == 1 && BackingHeader.currentVersion == 1)
        #expect(h.headerSize == 4096)
        #expect(h.base == heap.base && h.size == heap.size)
        #expect(h.state == .open)
        #expect(h.lastPid == 0 && h.opens == 0)
        #expect(BackingHeader.encodedBytes == 56)
    }

    @Test func encodedLayoutIsLittleEndianAsDocumented() {
        var h = BackingHeader(window: heap, pageSize: page)
        h.state = .open
        h.lastPid = 0x1234_5678
        h.opens = 0x0102_0304_0506_0708
        let b = encoded(h)
        #expect(Array(b[0..<8]) == Array("MAPWARDN".utf8))
        #expect(le32(b, 8) == 1)
        #expect(le32(b, 12) == 4096)
        #expect(le64(b, 16) == 0x5000_0000_0000)
        #expect(le64(b, 24) == 4 * G)
        #expect(le32(b, 32) == 1)
        #expect(le32(b, 36) == 0)
        #expect(le64(b, 40) == 0x1234_5678)
        #expect(Array(b[48..<56]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(b[56...].allSatisfy { $0 == 0 }) // nothing beyond the 56 bytes
        h.state = .closed
        #expect(le32(encoded(h), 32) == 0)
    }

    @Test func encodeWritesZeroIntoTheReservedField() {
        var b = [UInt8](repeating: 0xAA, count: 64)
        b.withUnsafeMutableBytes { BackingHeader(window: heap, pageSize: page).encode($0.baseAddress!) }
        #expect(le32(b, 36) == 0)
        #expect(Array(b[56..<64]) == [UInt8](repeating: 0xAA, count: 8))
    }

    @Test func roundTrip() {
        for state in [BackingHeader.State.closed, .open] {
            var h = BackingHeader(window: heap, pageSize: page)
            h.state = state
            h.lastPid = 4_194_304
            h.opens = UInt64.max
            #expect(decoded(encoded(h)) == .success(h))
        }
        // Another page size and window.
        let w = Window(base: 0x10000, size: 0x30000)
        var h = BackingHeader(window: w, pageSize: 65536)
        h.lastPid = 7
        h.opens = 3
        #expect(h.headerSize == 65536)
        var b = [UInt8](repeating: 0, count: 64)
        b.withUnsafeMutableBytes { h.encode($0.baseAddress!) }
        #expect(decoded(b, window: w, pageSize: 65536) == .success(h))
    }

    @Test func decodeReadsAnUnalignedBuffer() {
        var h = BackingHeader(window: heap, pageSize: page)
        h.lastPid = 99
        let b = [0xFF] + encoded(h)
        let r = b.withUnsafeBytes { raw -> BackingHeader? in
            try? BackingHeader.decode(raw.baseAddress! + 1, window: heap, pageSize: page)
        }
        #expect(r == h)
    }

    @Test func eachMismatch() {
        let good = encoded(BackingHeader(window: heap, pageSize: page))
        var b = good
        b[7] = 0x4D // "MAPWARDM"
        #expect(decoded(b) == .failure(.magic))
        #expect(decoded([UInt8](repeating: 0, count: 4096)) == .failure(.magic)) // an empty (zeroed) file

        b = good; put32(&b, 8, 2)
        #expect(decoded(b) == .failure(.version(2)))
        b = good; put32(&b, 8, 0)
        #expect(decoded(b) == .failure(.version(0)))

        // Made with another page size, or the page size differs now.
        b = good; put32(&b, 12, 65536)
        #expect(decoded(b) == .failure(.headerSize(65536)))
        #expect(decoded(good, pageSize: 16384) == .failure(.headerSize(4096)))

        b = good; put64(&b, 16, 0x5100_0000_0000)
        #expect(decoded(b) == .failure(.base(0x5100_0000_0000)))
        #expect(decoded(good, window: Window(base: 0x6000_0000_0000, size: heap.size)) == .failure(.base(0x5000_0000_0000)))

        b = good; put64(&b, 24, 2 * G)
        #expect(decoded(b) == .failure(.size(2 * G)))
        #expect(decoded(good, window: Window(base: heap.base, size: 8 * G)) == .failure(.size(4 * G)))

        b = good; put32(&b, 32, 2)
        #expect(decoded(b) == .failure(.state(2)))
        b = good; put32(&b, 32, 0xFFFF_FFFF)
        #expect(decoded(b) == .failure(.state(0xFFFF_FFFF)))

        // The reserved field is not checked.
        b = good; put32(&b, 36, 0xDEAD)
        #expect((try? decoded(b).get()) != nil)
    }

    /// The first field that does not fit is the one reported.
    @Test func mismatchesAreCheckedInLayoutOrder() {
        var b = encoded(BackingHeader(window: heap, pageSize: page))
        put32(&b, 8, 9)
        put64(&b, 16, 0x1000)
        put32(&b, 32, 5)
        #expect(decoded(b) == .failure(.version(9)))
        put32(&b, 8, 1)
        #expect(decoded(b) == .failure(.base(0x1000)))
        put64(&b, 16, heap.base)
        #expect(decoded(b) == .failure(.state(5)))
    }

    @Test func describeTexts() {
        #expect(describe(.magic) == "it is not a mapwarden window file (no MAPWARDN header)")
        #expect(describe(.version(7)) == "its header is version 7, this mapwarden reads version 1")
        #expect(describe(.headerSize(65536)) == "it was made with a page size of 65536, not 4096")
        #expect(describe(.base(0x5000_0000_0000), window: Window(base: 0x5100_0000_0000, size: G))
                == "it was made for base 0x500000000000, not 0x510000000000")
        #expect(describe(.size(2 * G)) == "it was made for size 2147483648 (2G), not 4294967296 (4G)")
        #expect(describe(.size(12288), window: Window(base: heap.base, size: 4096))
                == "it was made for size 12288 (12K), not 4096 (4K)")
        #expect(describe(.state(3)) == "its header has an unknown state 3")
    }

    @Test func fileSizeAndOffsets() {
        let h = BackingHeader(window: heap, pageSize: page)
        #expect(h.fileSize == 4096 + 4 * G)
        #expect(h.fileOffset(of: heap.base) == 4096)
        #expect(h.fileOffset(of: heap.base + 0x1234_000) == 4096 + 0x1234_000)
        #expect(h.fileOffset(of: heap.end - 4096) == h.fileSize - 4096)
        let big = BackingHeader(window: Window(base: 0x10000, size: 0x20000), pageSize: 65536)
        #expect(big.fileSize == 0x30000)
        #expect(big.fileOffset(of: 0x20000) == 0x20000)
    }

    @Test func sharedPaths() {
        #expect(path(.shared, "") == "/dev/shm/mapwarden.heap")
        #expect(path(.shared, "", name: "IPC_2") == "/dev/shm/mapwarden.ipc_2")
        #expect(path(.shared, "seg") == "/dev/shm/seg")
        #expect(path(.shared, "my.seg") == "/dev/shm/my.seg")
        #expect(path(.shared, "/run/user/1000/seg") == "/run/user/1000/seg")
        #expect(path(.shared, "/dev/shm/x") == "/dev/shm/x")
        // Relative with a '/': against the working directory, one '/' between.
        #expect(path(.shared, "dir/seg", cwd: "/home/u") == "/home/u/dir/seg")
        #expect(path(.shared, "dir/seg", cwd: "/home/u/") == "/home/u/dir/seg")
        #expect(path(.shared, "./seg", cwd: "/") == "/./seg")
        #expect(path(.shared, "dir/seg", cwd: "/") == "/dir/seg")
    }

    @Test func persistentPaths() {
        #expect(path(.persistent, "/var/tmp/heap.mw") == "/var/tmp/heap.mw")
        // No '/' is still a regular file in the working directory, not /dev/shm.
        #expect(path(.persistent, "heap.mw", cwd: "/var/tmp") == "/var/tmp/heap.mw")
        #expect(path(.persistent, "heap.mw", cwd: "/var/tmp/") == "/var/tmp/heap.mw")
        #expect(path(.persistent, "data/heap.mw", cwd: "/srv") == "/srv/data/heap.mw")
        #expect(path(.persistent, "heap.mw", cwd: "/") == "/heap.mw")
    }
}
