import Testing
@testable import MapwardenLogic

func hex(_ s: String) -> UInt64? { withBytes(s) { Numbers.parseHex($0) } }
func size(_ s: String) -> UInt64? { withBytes(s) { Numbers.parseSize($0) } }

@Suite struct NumbersTests {
    @Test func hexAddresses() {
        #expect(hex("0") == 0)
        #expect(hex("1000") == 0x1000)
        #expect(hex("0x1000") == 0x1000)
        #expect(hex("0X1000") == 0x1000)
        #expect(hex("deadBEEF") == 0xDEAD_BEEF)
        #expect(hex("0x4000_0000_0000") == 0x4000_0000_0000)
        #expect(hex("0xFFFFFFFFFFFFFFFF") == UInt64.max)
        #expect(hex("0x0000000000000000001") == 1) // leading zeros do not overflow
    }

    @Test func hexRejectsOverflowAndGarbage() {
        #expect(hex("0xFFFFFFFFFFFFFFFFF") == nil)
        #expect(hex("10000000000000000") == nil)
        for bad in ["", "0x", "0x_", "_1", "1_", "0x_1", "g", "0x1g", "12 34", " 12", "-1", "+1", "0x0x1", "1.0"] {
            #expect(hex(bad) == nil, "\(bad)")
        }
    }

    @Test func decimalSizes() {
        #expect(size("0") == 0)
        #expect(size("4096") == 4096)
        #expect(size("1_000_000") == 1_000_000)
        #expect(size("18446744073709551615") == UInt64.max)
        #expect(size("0x1000") == 0x1000)
        #expect(size("0xffff") == 0xFFFF)
        #expect(size("0x1B") == 0x1B) // a hex digit, not a unit
    }

    @Test func unitSuffixes() {
        let table: [(String, UInt64)] = [
            ("1K", 1 << 10), ("1k", 1 << 10), ("1KB", 1 << 10), ("1kb", 1 << 10), ("1KiB", 1 << 10), ("1kIb", 1 << 10),
            ("3M", 3 << 20), ("3MB", 3 << 20), ("3MiB", 3 << 20),
            ("5G", 5 << 30), ("5gb", 5 << 30), ("5GiB", 5 << 30),
            ("7T", 7 << 40), ("7TB", 7 << 40), ("7tib", 7 << 40),
            ("0x10K", 16 << 10), ("0x2G", 2 << 30),
            ("1_024K", 1 << 20),
            ("16777215T", 16_777_215 << 40), // the largest T that fits
        ]
        for (text, value) in table {
            #expect(size(text) == value, "\(text)")
        }
    }

    /// "decimal or 0x hex, optionally followed by one of K, M, G, T": hex
    /// digits a-f before the unit must not make a valid size unparsable.
    @Test func hexSizeWithLetterDigitsAndUnit() {
        #expect(size("0x1ffK") == 0x1FF << 10)
        #expect(size("0xaM") == 0xA << 20)
        #expect(size("0xfGiB") == 0xF << 30)
    }

    @Test func sizeRejectsOverflow() {
        #expect(size("18446744073709551616") == nil)
        #expect(size("16777216T") == nil)
        #expect(size("17000000T") == nil)
        #expect(size("17179869184G") == nil) // 2^34 G = 2^64
        #expect(size("0x10000000000000000") == nil)
        #expect(size("0xFFFFFFFFFFFFFFFFK") == nil)
    }

    @Test func sizeRejectsGarbage() {
        for bad in ["", "K", "KB", "0x", "x", "1X", "1KK", "1KiBB", "1Ki", "1iB", "1B", "1PB", "1E", "1 K", " 1", "1.5K",
                    "-1", "+1", "1K1", "K1", "_1", "1_", "abc", "1bK"] {
            #expect(size(bad) == nil, "\(bad)")
        }
    }
}
