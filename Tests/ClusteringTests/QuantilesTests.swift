import Testing
import Simulation
@testable import Clustering

/// Quantiles by selection against the definition on sorted values, and against numpy.
@Suite struct QuantilesTests {
    /// numpy.quantile([7, 1, 3, 5], [0, 0.25, 0.5, 0.9, 1]) and of [2.5] and of [].
    @Test func matchesNumpysLinearInterpolation() {
        #expect(quantiles(of: [7, 1, 3, 5], at: [0, 0.25, 0.5, 0.9, 1]) == [1, 2.5, 4, 6.4, 7])
        #expect(quantiles(of: [2.5], at: [0.1, 0.5]) == [2.5, 2.5])
        #expect(quantile(of: [], 0.5).isNaN)
    }

    /// Selection gives the same bits as interpolating the sorted values, whatever the ties,
    /// signs, sizes and the order in which levels are asked.
    @Test func equalsTheSortedComputation() {
        var random = SeededRandom(seed: 7)
        let levels = [0.95, 0.05, 0.5, 0.25, 0.75, 0, 1, 0.999]
        for n in [1, 2, 3, 5, 10, 31, 1000, 20_001] {
            for distinct in [2, 50, 1_000_000] {
                let values = (0..<n).map { _ in Double(Int.random(in: 0..<distinct, using: &random)) * 0.37 - 3 }
                #expect(quantiles(of: values, at: levels) == sortedQuantiles(values, levels), "n \(n), \(distinct) distinct")
            }
        }
    }

    /// Enough values for the one pass over brackets from a sample: the same bits as the sorted
    /// computation with long runs of ties, signed zeros and infinities, all values equal, in
    /// sorted and reversed order, and when the values' order fools the sample (every value it
    /// reads is 0), which falls back to selecting among all of them; from the smallest count
    /// that takes the pass on.
    @Test func manyValuesEqualTheSortedComputation() {
        var random = SeededRandom(seed: 11)
        let levels = [0.95, 0.05, 0.5, 0.25, 0.75, 0, 1, 0.999]
        let special: [Double] = [-.infinity, -0.0, 0.0, .infinity, 1, -1]
        for n in [32_768, 32_769, 262_145] {
            var cases: [(String, [Double])] = [2, 50, 1_000_000].map { distinct in
                ("\(distinct) distinct", (0..<n).map { _ in Double(Int.random(in: 0..<distinct, using: &random)) * 0.37 - 3 })
            }
            let sorted = (0..<n).map { _ in Double.random(in: -1...1, using: &random) }.sorted()
            cases += [("signed zeros and infinities", (0..<n).map { _ in special[Int.random(in: 0..<special.count, using: &random)] }),
                      ("all equal", Array(repeating: 2.5, count: n)), ("sorted", sorted), ("reversed", sorted.reversed()),
                      // The sample reads every 32nd value (n / min(2¹⁴, n / 32)) from the first.
                      ("fooling the sample", (0..<n).map { $0 % (n / min(1 << 14, n / 32)) == 0 ? 0 : Double($0) })]
            for (name, values) in cases {
                let expected = sortedQuantiles(values, levels).map(\.bitPattern)
                #expect(quantiles(of: values, at: levels).map(\.bitPattern) == expected, "n \(n), \(name)")
                #expect(quantiles(of: values, at: [0.5]).map(\.bitPattern) == [expected[2]], "n \(n), \(name), the median alone")
            }
        }
    }

    /// The definition: each level's position q(n − 1) interpolated between the sorted values.
    private func sortedQuantiles(_ values: [Double], _ levels: [Double]) -> [Double] {
        let sorted = values.sorted(), n = values.count
        return levels.map { q in
            let position = q * Double(n - 1)
            let below = Int(position.rounded(.down)), above = min(below + 1, n - 1)
            return sorted[below] + (position - Double(below)) * (sorted[above] - sorted[below])
        }
    }
}
