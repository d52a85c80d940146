import Testing
@testable import LifetimeValue
