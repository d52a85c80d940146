import Foundation
import Testing
@testable import Clustering

@Suite struct SegmentTests {
    /// Ten customers: a score is 1 + ⌊5 · (strictly worse customers) / 10⌋, equal values share it.
    @Test func quintileScoresHandleTies() throws {
        #expect(RFMScores.quintileScores([5, 1, 2, 2, 2, 9, 9, 3, 4, 0]) == [4, 1, 2, 2, 2, 5, 5, 3, 4, 1])
        #expect(RFMScores.quintileScores([0, 0, 0, 0]) == [1, 1, 1, 1])
    }

    @Test func segmentsFollowTheGrid() throws {
        let expected: [[RFMSegment]] = [
            [.lost, .hibernating, .atRisk, .atRisk, .cantLoseThem],
            [.hibernating, .hibernating, .atRisk, .atRisk, .cantLoseThem],
            [.aboutToSleep, .aboutToSleep, .needAttention, .loyalCustomers, .loyalCustomers],
            [.promising, .potentialLoyalists, .potentialLoyalists, .loyalCustomers, .loyalCustomers],
            [.newCustomers, .potentialLoyalists, .potentialLoyalists, .champions, .champions],
        ]
        for r in 1...5 {
            for f in 1...5 { #expect(RFMSegment(recencyScore: r, frequencyScore: f) == expected[r - 1][f - 1]) }
        }
        #expect(Set(expected.joined()).count == RFMSegment.allCases.count)
    }

    @Test func rfmScoresRankRecencyByTimeSinceLastPurchase() throws {
        let scores = try RFMScores(timeSinceLastPurchase: [1, 100, 50, 3, 70],
                                   frequency: [9, 0, 2, 1, 8], monetary: [40, 0, 15, 10, 90])
        #expect(scores.recency == [5, 1, 3, 4, 2])
        #expect(scores.frequency == [5, 1, 3, 2, 4])
        #expect(scores.monetary == [4, 1, 3, 2, 5])
        #expect(scores.segments == [.champions, .lost, .needAttention, .potentialLoyalists, .atRisk])
        #expect(throws: ClusteringError.nonFiniteValue(row: 2, feature: "frequency", value: .infinity)) {
            try RFMScores(timeSinceLastPurchase: [1, 2], frequency: [1, .infinity], monetary: [1, 1])
        }
    }

    /// One gap of 110 days in weeks, as T − recency gives it for customers whose first and last
    /// purchases fall on other days: equal to the last bits, and scored alike, as in days.
    @Test func equalGapsInWeeksShareARecencyScore() throws {
        let firsts = [3.0, 40, 77, 150, 201]
        let gaps = firsts.map { first in (first + 300) / 7 - (first + 190) / 7 } + [1, 2, 30, 40, 50]
        #expect(Set(gaps.prefix(5)).count > 1, "the arithmetic must show the noise for the test to mean anything")
        let weeks = try RFMScores(timeSinceLastPurchase: gaps, frequency: Array(repeating: 1, count: 10), monetary: Array(repeating: 1, count: 10))
        let days = try RFMScores(timeSinceLastPurchase: gaps.map { ($0 * 7).rounded() }, frequency: Array(repeating: 1, count: 10),
                                 monetary: Array(repeating: 1, count: 10))
        #expect(Set(weeks.recency.prefix(5)).count == 1)
        #expect(weeks.recency == days.recency)
    }

    /// Six customers in two segments, counted by hand.
    @Test func profilesSummariseEachSegment() throws {
        let labels = [0, 0, 0, 1, 1, 1]
        let monetary = [10.0, 20, 60, 200, 300, 400]
        let frequency = [1.0, 1, 4, 8, 9, 10]
        let clv = [5.0, 5, 10, 100, 200, 180]
        let profiles = try SegmentProfile.profiles(
            labels: labels, centroids: [[30, 2], [300, 9]],
            features: [("monetary_value", monetary), ("frequency", frequency)],
            outcomes: .init(clv: clv, pAlive: [0.5, 0.5, 0.8, 0.9, 1, 0.8], churn: [1, 0, 0, 0, 0, 1]))
        #expect(profiles.map(\.size) == [3, 3])
        #expect(profiles.map(\.share) == [0.5, 0.5])
        #expect(profiles[0].features[0].mean == 30 && profiles[0].features[0].median == 20)
        #expect(profiles[1].features[1].median == 9 && profiles[1].features[1].centroid == 9)
        // The report's percentiles (as numpy's linear interpolation has them) come with the
        // median, which is their middle one; the profile's saved form leaves them out.
        #expect(profiles[0].features[0].percentiles == [11, 15, 20, 40, 56])
        #expect(profiles.allSatisfy { $0.features.allSatisfy { $0.percentiles[2] == $0.median } })
        let saved = String(decoding: try JSONEncoder().encode(profiles), as: UTF8.self)
        #expect(saved.contains("\"median\"") && !saved.contains("percentiles"))
        #expect(try JSONDecoder().decode([SegmentProfile].self, from: Data(saved.utf8)) == profiles)
        #expect(profiles[0].totalCLV == 20 && profiles[1].meanCLV == 160)
        #expect(profiles[0].shareOfCLV == 0.04 && profiles[1].shareOfCLV == 0.96)
        #expect(abs(profiles[0].meanPAlive! - 0.6) < 1e-15 && abs(profiles[1].churnRate! - 1.0 / 3) < 1e-15)
        // A centroid that undoing the transforms leaves a rounding outside its members' values
        // (all 0, or all 9) is reported within them: no frequency of −4e-14.
        let rounded = try SegmentProfile.profiles(
            labels: [0, 0, 1, 1], centroids: [[-4.26e-14, 1], [9.000000000000002, 2]],
            features: [("frequency", [0, 0, 9, 9]), ("recency", [1, 1, 1, 3])], outcomes: .init())
        #expect(rounded.map { $0.features[0].centroid } == [0, 9] && rounded.map { $0.features[1].centroid } == [1, 2])
        // Further out than rounding (k-means stopped at its cap before the last reassignment):
        // reported as it is, not hidden.
        let stale = try SegmentProfile.profiles(labels: [0, 0, 1, 1], centroids: [[0.5, 1], [9, 2]],
                                                features: [("frequency", [0, 0, 9, 9]), ("recency", [1, 1, 1, 3])], outcomes: .init())
        #expect(stale[0].features[0].centroid == 0.5)
        // |z| of frequency 2 (0.97) beats that of monetary value 30 (0.91), so frequency comes first.
        #expect(profiles.map(\.label) == ["Infrequent · Low value", "Frequent · High value"])
    }

    /// Segments large enough for the percentiles' one-pass selection (32768 values or more)
    /// get the order statistics a sort gives, with numpy's linear interpolation between them.
    @Test func largeSegmentsPercentilesAreThoseOfTheSortedValues() throws {
        var generator = SystemRandomNumberGenerator()
        let n = 100_000
        let labels = (0..<n).map { $0 % 3 == 0 ? 1 : 0 }
        // Many ties (whole numbers) in one feature, none in the other.
        let counts = (0..<n).map { _ in Double(Int.random(in: 0..<40, using: &generator)) }
        let spend = (0..<n).map { _ in Double.random(in: 0..<1000, using: &generator) }
        let profiles = try SegmentProfile.profiles(labels: labels, centroids: [[20, 500], [20, 500]],
                                                   features: [("frequency", counts), ("monetary_value", spend)])
        for profile in profiles {
            for (j, column) in [counts, spend].enumerated() {
                let sorted = zip(labels, column).filter { $0.0 == profile.id }.map(\.1).sorted()
                let expected = SegmentProfile.FeatureSummary.percentileLevels.map { q -> Double in
                    let h = Double(sorted.count - 1) * q, low = Int(h.rounded(.down))
                    return low + 1 < sorted.count ? sorted[low] + (h - Double(low)) * (sorted[low + 1] - sorted[low]) : sorted[low]
                }
                #expect(profile.features[j].percentiles == expected)
            }
        }
    }

    /// One-time buyers have P(alive) 1 under BG/NBD whatever their churn: a segment of them
    /// is not called "Likely alive"; repeat buyers with a high P(alive) still are.
    @Test func oneTimeBuyersAreNotCalledLikelyAlive() throws {
        let frequency = [0.0, 0, 0, 0, 5, 6, 1, 2], pAlive = [1.0, 1, 1, 1, 0.9, 0.95, 0.1, 0.2]
        let labels = SegmentProfile.segmentLabels(
            centroids: [[1, 0], [0.925, 5.5], [0.15, 1.5]], features: [("p_alive", pAlive), ("frequency", frequency)])
        #expect(labels == ["One-time buyers", "Frequent · Likely alive", "Likely lapsed"])
        let withRecency = SegmentProfile.segmentLabels(
            centroids: [[1, 0, 0], [0.925, 5.5, 40]], features: [("p_alive", pAlive), ("frequency", frequency),
                                                              ("recency", [0, 0, 0, 0, 40, 40, 30, 30])])
        #expect(withRecency == ["One-time buyers · Short purchase span", "Frequent · Long purchase span"])
        // The members' mean decides, not a centroid that a log1p step put below it: 65
        // customers with frequency 0 and 35 with 2 (mean 0.7) are not one-time buyers.
        let mixed = [Double](repeating: 0, count: 65) + [Double](repeating: 2, count: 35)
        let profiles = try SegmentProfile.profiles(labels: [Int](repeating: 0, count: 100), centroids: [[0.47]],
                                                   features: [("frequency", mixed)], outcomes: .init())
        #expect(profiles[0].label == "Typical")
        let withoutFrequency = SegmentProfile.segmentLabels(centroids: [[1], [0.15]], features: [("p_alive", pAlive)])
        #expect(withoutFrequency == ["Likely alive", "Likely lapsed"])
    }

    @Test func labelsAreDistinct() throws {
        let scale = [1.0, 2, 3, 4, 5, 6, 7, 8]
        let labels = SegmentProfile.segmentLabels(
            centroids: [[7.5, 7, 6], [7.5, 7, 2], [7.5, 7, 6], [4.5, 4.5, 4.5], [4.5, 4.5, 4.5]],
            features: [("monetary_value", scale), ("recency", scale), ("frequency", scale)])
        #expect(labels == ["High value · Long purchase span", "High value · Long purchase span · Infrequent",
                           "High value · Long purchase span · Frequent", "Typical", "Typical (4)"])
    }
}

extension SegmentTests {
    /// RFM as the segmentation method: the five customers of `rfmScoresRankRecencyByTime…`
    /// profiled under their segment names, each segment's centroid its means.
    @Test func rfmSegmentsHaveProfiles() throws {
        let gap = [1.0, 100, 50, 3, 70], frequency = [9.0, 0, 2, 1, 8], monetary = [40.0, 0, 15, 10, 90]
        let scores = try RFMScores(timeSinceLastPurchase: gap, frequency: frequency, monetary: monetary)
        let profiles = try SegmentProfile.profiles(
            labels: scores.segmentIndices, names: RFMSegment.allCases.map(\.rawValue),
            features: [("frequency", frequency), ("monetary_value", monetary)], outcomes: .init(clv: [50, 0, 20, 10, 20]))
        #expect(profiles.map(\.label) == ["Champions", "Potential loyalists", "Need attention", "At risk", "Lost"])
        #expect(profiles.map(\.id) == [0, 2, 5, 7, 10])
        #expect(profiles.allSatisfy { $0.size == 1 && $0.share == 0.2 })
        #expect(profiles[0].features[1].centroid == 40 && profiles[0].shareOfCLV == 0.5)
    }
}
