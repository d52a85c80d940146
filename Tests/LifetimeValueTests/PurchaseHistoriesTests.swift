import Testing
@testable import LifetimeValue

/// The grouping of customers into distinct purchase histories.
@Suite struct PurchaseHistoriesTests {
    /// The distinct histories are those a dictionary finds, numbered in order of first
    /// appearance, with their customers counted and each customer mapped back: here with many
    /// repeats, and more distinct histories than the table starts with room for, so that it
    /// grows.
    @Test func customersGroupAsADictionaryGroupsThem() throws {
        let n = 300_000
        // A multiplicative hash spreads 150,001 histories over the customers, many repeated.
        let history = (0..<n).map { i in (i &* 2_654_435_761) % 150_001 }
        let frequency = history.map { Double($0 % 7) }
        let recency = history.map { $0 % 7 == 0 ? 0 : Double($0 % 53) / 7 }
        let T = history.map { 53.0 / 7 + Double($0 / 371) }
        let histories = try PurchaseHistories(frequency: frequency, recency: recency, T: T)

        var number: [[UInt64]: Int] = [:], firsts: [Int] = [], counts: [Double] = []
        var rows: [Int32] = []
        for i in 0..<n {
            let key = [frequency[i].bitPattern, recency[i].bitPattern, T[i].bitPattern]
            if let known = number[key] {
                counts[known] += 1
                rows.append(Int32(known))
            } else {
                number[key] = firsts.count
                rows.append(Int32(firsts.count))
                firsts.append(i)
                counts.append(1)
            }
        }
        #expect(histories.distinctCount == firsts.count && firsts.count > 1 << 16)
        #expect(histories.customerRows == rows)
        #expect(histories.weight == counts)
        #expect(histories.frequency == firsts.map { frequency[$0] })
        #expect(histories.recency == firsts.map { recency[$0] })
        #expect(histories.T == firsts.map { T[$0] })
        #expect(histories.customerCount == Double(n))
    }
}
