/// RFM scores and the named segments of the usual recency × frequency grid.
///
/// Scores: each of R, F and M is 1…5 by quintile of rank: a customer scores
/// 1 + ⌊5 · (share of customers with a strictly worse value)⌋. Equal values always share a
/// score (ties go to the lower quintile, so the worst value scores 1), and the score does not
/// depend on row order. Worse means a longer time since the last purchase for R, fewer
/// purchases for F, a lower spend for M. Heavily tied data (most customers with frequency 0)
/// leave some scores unused rather than splitting equal customers.
///
/// Segments come from R and F alone (M is reported beside them), on this grid:
/// ```
///          F=1            F=2            F=3            F=4            F=5
/// R=5  New customers  Potential loy. Potential loy. Champions      Champions
/// R=4  Promising      Potential loy. Potential loy. Loyal          Loyal
/// R=3  About to sleep About to sleep Need attention Loyal          Loyal
/// R=2  Hibernating    Hibernating    At risk        At risk        Can't lose them
/// R=1  Lost           Hibernating    At risk        At risk        Can't lose them
/// ```
/// the grid widely used by CRM tools, with "Lost" split off the coldest cell of Hibernating.
public enum RFMSegment: String, Sendable, Codable, CaseIterable {
    case champions = "Champions"
    case loyalCustomers = "Loyal customers"
    case potentialLoyalists = "Potential loyalists"
    case newCustomers = "New customers"
    case promising = "Promising"
    case needAttention = "Need attention"
    case aboutToSleep = "About to sleep"
    case atRisk = "At risk"
    case cantLoseThem = "Can't lose them"
    case hibernating = "Hibernating"
    case lost = "Lost"

    /// The segment of a recency score and a frequency score, both 1…5.
    public init(recencyScore r: Int, frequencyScore f: Int) {
        precondition((1...5).contains(r) && (1...5).contains(f), "RFM scores are 1…5")
        switch (r, f) {
        case (5, 4...5): self = .champions
        case (3...4, 4...5): self = .loyalCustomers
        case (4...5, 2...3): self = .potentialLoyalists
        case (5, 1): self = .newCustomers
        case (4, 1): self = .promising
        case (3, 3): self = .needAttention
        case (3, 1...2): self = .aboutToSleep
        case (1...2, 3...4): self = .atRisk
        case (1...2, 5): self = .cantLoseThem
        case (1, 1): self = .lost
        default: self = .hibernating
        }
    }
}

/// Each customer's R, F and M scores and segment.
public struct RFMScores: Sendable, Codable, Equatable {
    public let recency: [Int]
    public let frequency: [Int]
    public let monetary: [Int]
    public let segments: [RFMSegment]

    /// `timeSinceLastPurchase` is T − recency in a customer summary's terms (lower is better);
    /// `frequency` and `monetary` are better when higher. All three of equal length, finite.
    public init(timeSinceLastPurchase: [Double], frequency: [Double], monetary: [Double]) throws {
        let n = timeSinceLastPurchase.count
        guard frequency.count == n, monetary.count == n else {
            throw ClusteringError.invalidArgument("RFM needs recency, frequency and monetary columns of one length")
        }
        for (name, column) in [("time since last purchase", timeSinceLastPurchase), ("frequency", frequency), ("monetary", monetary)] {
            if let row = column.firstIndex(where: { !$0.isFinite }) {
                throw ClusteringError.nonFiniteValue(row: row + 1, feature: name, value: column[row])
            }
        }
        // T and recency in weeks are days / 7, and T − recency of one gap in days differs
        // between customers in its last bits (15.714285714285701 and …722 for 110 days): gaps
        // are compared to 10⁻⁹ of a unit, far below any real difference (a day in months is
        // 0.03), so that equal gaps share a score whatever the unit.
        recency = Self.quintileScores(timeSinceLastPurchase.map { -($0 * 1e9).rounded() })
        self.frequency = Self.quintileScores(frequency)
        self.monetary = Self.quintileScores(monetary)
        segments = zip(recency, self.frequency).map { RFMSegment(recencyScore: $0, frequencyScore: $1) }
    }

    /// Each customer's segment as a number, the index of its segment in `RFMSegment.allCases`,
    /// for `SegmentProfile.profiles(labels:names:features:outcomes:)`.
    public var segmentIndices: [Int] {
        segments.map { RFMSegment.allCases.firstIndex(of: $0)! }
    }

    /// 1 + ⌊5 · (number of strictly smaller values) / n⌋ for each value (higher is better).
    static func quintileScores(_ values: [Double]) -> [Int] {
        let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var scores = [Int](repeating: 0, count: values.count)
        var smaller = 0
        for (position, i) in order.enumerated() {
            if position > 0 && values[i] != values[order[position - 1]] { smaller = position }
            scores[i] = 1 + (5 * smaller) / values.count
        }
        return scores
    }
}
