#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPrefetch
import Transactions

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
    /// The distinct ages and recencies, and each row's index into them: a cohort has a few
    /// hundred of each, so likelihoods take their logarithms once per value, not per row.
    private(set) var ages: [Double] = []
    private(set) var ageIndex: [Int32] = []
    private(set) var recencies: [Double] = []
    private(set) var recencyIndex: [Int32] = []
    /// The distinct row of each customer, in the customers' order, so that what is computed
    /// once per row can be handed back to every customer (`CustomerScores(histories:…)`).
    public private(set) var customerRows: [Int32] = []

    public init(frequency: [Double], recency: [Double], T: [Double], weights: [Double]? = nil) throws {
        guard frequency.count == recency.count, recency.count == T.count, weights.map({ $0.count == T.count }) ?? true else {
            throw LifetimeValueError.invalidData("frequency, recency, T and weights must have one value per customer")
        }
        // The table starts small and grows with the distinct rows, which are far fewer than
        // the customers: a table sized for ten million customers would be 128 MB of slots
        // probed at random.
        var rows = DistinctKeys(capacity: min(frequency.count, 1 << 16))
        customerRows.reserveCapacity(frequency.count)
        var ageKeys = DistinctKeys(capacity: 1024), recencyKeys = DistinctKeys(capacity: 1024)
        // The table lies at random in memory, as the customers land on it: the slot of the
        // customer `ahead` places on is asked for now, and the key that slot names half as
        // far ahead, so that both misses of a lookup overlap the lookups before it.
        let ahead = 16
        let key = { (i: Int) in SIMD4(frequency[i].bitPattern, recency[i].bitPattern, T[i].bitPattern, 0) }
        for i in frequency.indices {
            if i + ahead < frequency.count { rows.prefetchSlot(key(i + ahead)) }
            if i + ahead / 2 < frequency.count { rows.prefetchKey(key(i + ahead / 2)) }
            let (x, tx, t) = (frequency[i], recency[i], T[i])
            let w = weights?[i] ?? 1
            guard x >= 0, x.rounded() == x, tx >= 0, t >= tx, t.isFinite, w >= 0, w.isFinite else {
                throw LifetimeValueError.invalidData(
                    "customer \(i + 1): frequency \(x), recency \(tx), T \(t) is not a purchase history (need whole frequency ≥ 0 and 0 ≤ recency ≤ T)")
            }
            if x == 0, tx != 0 {
                throw LifetimeValueError.invalidData("customer \(i + 1): recency \(tx) with no repeat purchase (it must be 0)")
            }
            let (row, isNew) = rows.insert(SIMD4(x.bitPattern, tx.bitPattern, t.bitPattern, 0))
            customerRows.append(row)
            if isNew {
                self.frequency.append(x)
                self.recency.append(tx)
                self.T.append(t)
                self.weight.append(w)
                let (age, newAge) = ageKeys.insert(SIMD4(t.bitPattern, 0, 0, 0))
                if newAge { ages.append(t) }
                ageIndex.append(age)
                let (last, newRecency) = recencyKeys.insert(SIMD4(tx.bitPattern, 0, 0, 0))
                if newRecency { recencies.append(tx) }
                recencyIndex.append(last)
            } else {
                self.weight[Int(row)] += w
            }
            customerCount += w
        }
    }

    /// The distinct histories of a summary's customers (its frequency, recency and T columns).
    public init(_ summary: CustomerSummary) throws {
        try self.init(frequency: summary.frequency.map(Double.init), recency: summary.recency, T: summary.T)
    }

    public var distinctCount: Int { frequency.count }

    /// ln(α + T) of each distinct age and ln(α + tₓ) of each distinct recency, for likelihoods
    /// that read them per row through `ageIndex` and `recencyIndex`.
    func logarithms(shiftedBy alpha: Double) -> (ages: [Double], recencies: [Double]) {
        (ages.map { log(alpha + $0) }, recencies.map { log(alpha + $0) })
    }

    /// The customers' mean age T, the time scale of sensible starting values for a fit.
    public var meanT: Double {
        var sum = 0.0
        for i in 0..<distinctCount { sum += T[i] * weight[i] }
        return sum / max(1, customerCount)
    }

    /// The longest age T, the unit lifetimes rescales time by before it fits and penalises;
    /// at least 1e-150, so that its inverse square stays finite when every T is 0.
    public var longestT: Double {
        max(T.prefix(distinctCount).max() ?? 1, 1e-150)
    }

    /// For large data, the subsample whose fit starts the fit of the whole (see
    /// `MaximumLikelihood.fit(_:start:subsample:)`); nil where a direct fit is cheap anyway.
    var warmStart: PurchaseHistories? {
        distinctCount > 50_000 ? subsample(rows: 10_000) : nil
    }

    /// Every k-th distinct row, weighted up so that the subsample stands for as many customers
    /// as the whole: a cheap stand-in whose fit starts the fit of the whole near its optimum.
    /// It stands for no customer in particular, so its `customerRows` is empty.
    func subsample(rows wanted: Int) -> PurchaseHistories {
        let stride = max(1, distinctCount / max(1, wanted))
        var sample = self
        let picked = Swift.stride(from: 0, to: distinctCount, by: stride)
        sample.frequency = picked.map { frequency[$0] }
        sample.recency = picked.map { recency[$0] }
        sample.T = picked.map { T[$0] }
        let total = picked.reduce(0.0) { $0 + weight[$1] }
        sample.weight = picked.map { weight[$0] * customerCount / total }
        sample.ageIndex = picked.map { ageIndex[$0] }
        sample.recencyIndex = picked.map { recencyIndex[$0] }
        sample.customerRows = []
        return sample
    }
}

/// An open-addressing set of 256-bit keys that hands out dense indices in insertion order:
/// the grouping of a million histories takes a few tens of milliseconds, where the standard
/// Dictionary with its seeded SipHash takes several times longer.
struct DistinctKeys {
    private var slots: [Int32]
    private var keys: [SIMD4<UInt64>] = []
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// The key's index, and whether it was new.
    mutating func insert(_ key: SIMD4<UInt64>) -> (Int32, Bool) {
        if keys.count * 2 >= slots.count { grow() }
        var slot = Self.hash(key) & mask
        while true {
            let found = slots[slot]
            if found < 0 {
                slots[slot] = Int32(keys.count)
                keys.append(key)
                return (Int32(keys.count - 1), true)
            }
            if keys[Int(found)] == key { return (found, false) }
            slot = (slot + 1) & mask
        }
    }

    /// Asks for the slot `key` hashes to, soon to be read by `insert`.
    @inline(__always)
    func prefetchSlot(_ key: SIMD4<UInt64>) {
        slots.withUnsafeBufferPointer { clientele_prefetch($0.baseAddress! + (Self.hash(key) & mask)) }
    }

    /// Asks for the key held in the slot `key` hashes to (already fetched by `prefetchSlot`),
    /// which `insert` compares with `key`.
    @inline(__always)
    func prefetchKey(_ key: SIMD4<UInt64>) {
        let found = slots[Self.hash(key) & mask]
        if found >= 0 { keys.withUnsafeBufferPointer { clientele_prefetch($0.baseAddress! + Int(found)) } }
    }

    private static func hash(_ key: SIMD4<UInt64>) -> Int {
        var h = key[0] &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 29) ^ key[1]) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 32) ^ key[2]) &* 0x94D0_49BB_1331_11EB
        h = (h ^ (h >> 29) ^ key[3]) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for (index, key) in keys.enumerated() {
            var slot = Self.hash(key) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
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
