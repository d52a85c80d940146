import Testing
@testable import Segmentation

/// What the report computes beside the stages.
@Suite struct ReportDataTests {
    /// The P(alive) map's frequency range reads the 99th percentile from counts; it is the
    /// sorted frequencies' value at (n − 1) · 99 / 100, or one past the cap when that is above.
    @Test func theNinetyNinthPercentileOfFrequenciesIsTheSortedOne() {
        for n in [1, 2, 99, 100, 101, 1_000, 12_345] {
            for spread in [3, 45, 500] {
                // Spread out by a multiplicative hash, skewed towards small counts as purchases are.
                let frequency = (0..<n).map { i in (i &* 2_654_435_761 % 1_000_003) % (spread + 1) * ((i % 3) == 0 ? 1 : 0) }
                let sorted = frequency.sorted()
                let expected = sorted[(n - 1) * 99 / 100]
                #expect(AliveMap.percentile99(frequency, above: 40) == min(expected, 41), "n \(n), spread \(spread)")
            }
        }
        #expect(AliveMap.percentile99([], above: 40) == 0)
        #expect(AliveMap.percentile99([Int](repeating: 0, count: 98) + [7, 50], above: 40) == 7)
    }
}
