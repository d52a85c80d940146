/// Non-contractual purchase histories — frequency x, recency tₓ and age T of each customer
/// — compressed to distinct rows with weights, since many customers share one history (every
/// one-time buyer of a cohort has x = 0, tₓ = 0 and the same T). Likelihoods and their
/// gradients are sums over the distinct rows.
public struct PurchaseHistories: Sendable, Equatable {
    public private(set) var frequency: [Double] = []
    public private(set) var recency: [Double] = []
    public private(set) var T: [Double] = []
    /// How many customers share each row.
    public private(set) var weight: [Double] = []
    /// The number of customers (the sum of the weights).
    public private(set) var customerCount: Double = 0

    public init(frequency: [Double], recency: [Double], T: [Double], weights: [Double]? = nil) throws {
        guard frequency.count == recency.count, recency.count == T.count, weights.map({ $0.count == T.count }) ?? true else {
            throw LifetimeValueError.invalidData("frequency, recency, T and weights must have one value per customer")
        }
        var rowOf: [Key: Int] = [:]
        rowOf.reserveCapacity(min(frequency.count, 1 << 16))
        for i in frequency.indices {
            let (x, tx, t) = (frequency[i], recency[i], T[i])
            let w = weights?[i] ?? 1
            guard x >= 0, x.rounded() == x, tx >= 0, t >= tx, t.isFinite, w >= 0, w.isFinite else {
                throw LifetimeValueError.invalidData(
                    "customer \(i + 1): frequency \(x), recency \(tx), T \(t) is not a purchase history (need whole frequency ≥ 0 and 0 ≤ recency ≤ T)")
            }
            if x == 0, tx != 0 {
                throw LifetimeValueError.invalidData("customer \(i + 1): recency \(tx) with no repeat purchase (it must be 0)")
            }
            let key = Key(x: x.bitPattern, tx: tx.bitPattern, t: t.bitPattern)
            if let row = rowOf[key] {
                self.weight[row] += w
            } else {
                rowOf[key] = self.frequency.count
                self.frequency.append(x)
                self.recency.append(tx)
                self.T.append(t)
                self.weight.append(w)
            }
            customerCount += w
        }
    }

    public var distinctCount: Int { frequency.count }

    /// The customers' mean age T, the time scale of sensible starting values for a fit.
    public var meanT: Double {
        var sum = 0.0
        for i in 0..<distinctCount { sum += T[i] * weight[i] }
        return sum / max(1, customerCount)
    }

    private struct Key: Hashable {
        var x: UInt64
        var tx: UInt64
        var t: UInt64
    }
}

/// Why a model could not be fitted or used.
public enum LifetimeValueError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidData(String)
    case invalidParameters(String)
    case didNotConverge(String)
    case invalidModelFile(String)

    public var description: String {
        switch self {
        case .invalidData(let message): return "invalid data: \(message)"
        case .invalidParameters(let message): return "invalid parameters: \(message)"
        case .didNotConverge(let message): return "the fit did not converge: \(message)"
        case .invalidModelFile(let message): return "invalid model file: \(message)"
        }
    }
}
