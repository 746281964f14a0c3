import Testing
@testable import MapwardenLogic
