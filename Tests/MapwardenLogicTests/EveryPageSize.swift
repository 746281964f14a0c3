import Testing

/// Runs every test of a suite three times: with PlanWorld.P (the page size
/// of the plan, registry and placement tests) at 4 KiB, 16 KiB and 64 KiB,
/// as arm64 kernels have them. A failure's message names the page size
/// where the test says it (the plan tests use P).
struct EveryPageSize: SuiteTrait, TestTrait, TestScoping {
    static let sizes: [UInt64] = [4096, 16384, 65536]
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        for size in EveryPageSize.sizes {
            try await PlanWorld.$P.withValue(size) { try await function() }
        }
    }
}

extension Trait where Self == EveryPageSize {
    /// The suite's tests run with 4, 16 and 64 KiB pages.
    static var everyPageSize: Self { Self() }
}
