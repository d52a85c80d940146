import Testing
@testable import Transactions
