import ArgumentParser
import Simulation
import Transactions

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic transaction log drawn from BG/NBD purchases and Gamma-Gamma spend.",
        discussion: """
            The same customers and seed always give the same file. The benchmarks use it; it is \
            also a way to try Clientele at any scale.

            Example (1M customers, about 2.65M transactions, 71 MB):
              clientele simulate --customers 1000000 --seed 42 --output tx.csv
            """)

    @Option(parsing: .unconditional, help: "How many customers.")
    var customers: Int

    @Option(parsing: .unconditional, help: "The random seed.")
    var seed: UInt64 = 42

    @Option(help: "Row order: date (like a point-of-sale export) or customer.")
    var order = "date"

    @Option(help: "Where to write the CSV (customer_id,date,amount).")
    var output: String

    func validate() throws {
        // The log is made in memory before it is written, about 70 bytes a customer.
        guard (1...50_000_000).contains(customers) else {
            throw ValidationError("--customers must be from 1 to 50000000 (the log is made in memory, about 70 bytes a customer)")
        }
        guard SyntheticTransactionLog.Order(rawValue: order) != nil else {
            throw ValidationError("--order must be date or customer (got \"\(order)\")")
        }
    }

    func run() throws {
        Report.route(outputs: [output])
        var log = SyntheticTransactionLog(customers: customers, seed: seed)
        log.order = SyntheticTransactionLog.Order(rawValue: order) ?? .date
        let bytes = log.csvBytes()
        try writeFileAtomically(bytes, to: output)
        reportLine("\(customers) customers, \(bytes.count) bytes → \(output)")
    }
}
