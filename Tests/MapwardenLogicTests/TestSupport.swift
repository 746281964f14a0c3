// Helpers shared by the unit tests: the logic works on borrowed `Bytes` and
// writes into caller-provided `TextBuffer`s, so tests convert at the edges.
@testable import MapwardenLogic

/// Runs body with the UTF-8 bytes of s, borrowed for the duration of the call.
func withBytes<R>(_ s: String, _ body: (Bytes) throws -> R) rethrows -> R {
    let a = Array(s.utf8)
    return try a.withUnsafeBufferPointer { try body(Bytes($0)) }
}

/// Two strings as Bytes at once.
func withBytes<R>(_ s: String, _ t: String, _ body: (Bytes, Bytes) throws -> R) rethrows -> R {
    try withBytes(s) { a in try withBytes(t) { b in try body(a, b) } }
}

/// Copies borrowed bytes into a String (the bytes are ASCII/UTF-8 in tests).
func string(_ b: Bytes) -> String {
    guard let base = b.base, b.count > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: base, count: b.count), as: UTF8.self)
}

/// Builds text in a TextBuffer of the given capacity and returns it as a String.
func render(capacity: Int = 4096, _ body: (inout TextBuffer) -> Void) -> String {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity, 1))
    defer { p.deallocate() }
    var out = TextBuffer(p, capacity: capacity)
    body(&out)
    return string(out.bytes)
}

/// A ConfigError copied out of its borrowed buffers.
struct SeenError: Equatable, CustomStringConvertible {
    var problem: ConfigError.Problem
    var origin: ConfigError.Origin
    var key: String
    var value: String

    init(_ e: ConfigError) {
        problem = e.problem
        origin = e.origin
        key = string(e.key)
        value = string(e.value)
    }

    init(_ problem: ConfigError.Problem, _ origin: ConfigError.Origin, key: String, value: String) {
        self.problem = problem
        self.origin = origin
        self.key = key
        self.value = value
    }

    var description: String { "\(problem) at \(origin) key=\(key) value=\(value)" }
}

/// The text of a `.notOneOf` choice list, or nil for any other problem.
func choices(_ p: ConfigError.Problem) -> String? {
    if case .notOneOf(let s) = p { return s.description }
    return nil
}
