#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A synthetic transaction log drawn from the BG/NBD purchase process with Gamma-Gamma
/// spend, from known parameters and a seed: the data of the benchmarks and of recovery tests.
///
/// Each customer joins on a day drawn uniformly from the first `cohortDays` of the log and
/// buys then. While active, purchases follow a Poisson process with rate λ ~ Gamma(r, α)
/// per week; after every purchase the customer drops out with probability p ~ Beta(a, b)
/// (Fader, Hardie & Lee 2005, §2). Each purchase's value is Gamma(p, ν) with
/// ν ~ Gamma(q, γ) per customer (Fader, Hardie & Lee 2005b, the Gamma-Gamma note).
public struct SyntheticTransactionLog: Sendable {
    public struct Parameters: Sendable, Equatable {
        public var r = 0.25, alpha = 4.0, a = 0.8, b = 2.5
        public var p = 6.25, q = 3.74, gamma = 15.44
        public init() {}
    }

    public enum Order: String, Sendable, CaseIterable {
        /// Rows sorted by date, as a point-of-sale export is.
        case date
        /// Each customer's rows together.
        case customer
    }

    public var customers: Int
    public var seed: UInt64
    public var parameters = Parameters()
    /// The log covers this many days from `startDay`.
    public var days = 546
    /// Customers join during the first days of the log.
    public var cohortDays = 90
    public var order = Order.date
    /// 1997-01-01, like CDNOW.
    public var startYear = 1997

    public init(customers: Int, seed: UInt64) {
        self.customers = customers
        self.seed = seed
    }

    struct Row {
        var customer: Int32
        var day: Int32
        var cents: Int64
    }

    /// The rows, each customer drawn from its own stream so that the log is the same
    /// whatever order customers are drawn in.
    func rows() -> [Row] {
        var rows: [Row] = []
        rows.reserveCapacity(customers * 3)
        for c in 0..<customers {
            var random = SeededRandom(seed: seed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15)
            let lambda = random.gamma(shape: parameters.r, rate: parameters.alpha) / 7
            let dropout = random.beta(parameters.a, parameters.b)
            let nu = random.gamma(shape: parameters.q, rate: parameters.gamma)
            var time = Double(Int(random.uniform() * Double(cohortDays)))
            while true {
                let value = random.gamma(shape: parameters.p, rate: nu)
                rows.append(Row(customer: Int32(c), day: Int32(time), cents: Int64((value * 100).rounded())))
                if random.uniform() < dropout { break }
                time += random.exponential(rate: lambda)
                if time >= Double(days) { break }
            }
        }
        if order == .date {
            // A stable counting sort by day keeps each day's rows in customer order.
            var starts = [Int](repeating: 0, count: days + 1)
            for row in rows { starts[Int(row.day) + 1] += 1 }
            for d in 0..<days { starts[d + 1] += starts[d] }
            var sorted = rows
            for row in rows {
                sorted[starts[Int(row.day)]] = row
                starts[Int(row.day)] += 1
            }
            rows = sorted
        }
        return rows
    }

    /// The log as CSV: `customer_id,date,amount`, dates `yyyy-MM-dd`, amounts with cents.
    public func csvBytes() -> [UInt8] {
        let rows = rows()
        let dayTexts = (0..<days).map { d -> [UInt8] in
            var text = Array(dateText(dayOffset: d).utf8)
            text.append(UInt8(ascii: ","))
            return text
        }
        var out = Array("customer_id,date,amount\n".utf8)
        out.reserveCapacity(rows.count * 28)
        for row in rows {
            appendID(Int(row.customer), to: &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: dayTexts[Int(row.day)])
            appendCents(row.cents, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    private func appendID(_ customer: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "C"))
        var digits = [UInt8](repeating: 48, count: 8)
        var v = customer
        for i in stride(from: 7, through: 0, by: -1) {
            digits[i] = UInt8(48 + v % 10)
            v /= 10
        }
        out.append(contentsOf: digits)
    }

    private func appendCents(_ cents: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: String(cents / 100).utf8)
        out.append(UInt8(ascii: "."))
        let rest = Int(cents % 100)
        out.append(UInt8(48 + rest / 10))
        out.append(UInt8(48 + rest % 10))
    }

    private func dateText(dayOffset: Int) -> String {
        var t = tm()
        t.tm_year = Int32(startYear - 1900)
        t.tm_mon = 0
        t.tm_mday = Int32(1 + dayOffset)
        t.tm_hour = 12
        var seconds = timegm(&t)
        var normalised = tm()
        gmtime_r(&seconds, &normalised)
        func pad(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(normalised.tm_year + 1900)-\(pad(normalised.tm_mon + 1))-\(pad(normalised.tm_mday))"
    }
}
