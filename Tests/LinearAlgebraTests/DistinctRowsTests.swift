import Testing
@testable import LinearAlgebra

@Suite struct DistinctRowsTests {
    /// Rows numbered by first appearance, compared bit for bit: −0.0 is not 0.0.
    @Test func rowsAreNumberedByFirstAppearance() {
        let values: [Double] = [1, 2, 3, 4, 1, 2, 0, 0, -0.0, 0, 3, 4]
        let distinct = values.withUnsafeBufferPointer { DistinctRows(rowMajor: $0, width: 2) }
        #expect(distinct.group == [0, 1, 0, 2, 3, 1])
        #expect(distinct.first == [0, 1, 3, 4])
        #expect(distinct.counts == [2, 2, 1, 1])
        #expect(distinct.count == 4)
        // Four distinct rows of six are worth fitting on instead of the rows; four of five are not.
        #expect(distinct.worthCompressing)
        #expect(values.withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2) }?.group == distinct.group)
        let fewer = values.dropLast(2).withUnsafeBufferPointer { DistinctRows(rowMajor: $0, width: 2) }
        #expect(fewer.count == 4 && !fewer.worthCompressing)
        #expect(values.dropLast(2).withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2) } == nil)
    }

    /// `repeated` gives the grouping only when the distinct rows are at most three quarters of
    /// the rows (3 of 4 is; 4 of 5 is not), and never for no rows.
    @Test func repeatedRowsAreWorthFittingOnFromAQuarterFewer() {
        #expect(DistinctRows.repeated(columns: [[1, 2, 3, 1]])?.first == [0, 1, 2])
        #expect(DistinctRows.repeated(columns: [[1, 2, 3, 4, 1]]) == nil)
        #expect(DistinctRows.repeated(columns: [[1, 1, 1, 1]], key: [0, 1, 2, 3]) == nil)
        #expect(DistinctRows.repeated(columns: [[]]) == nil)
        #expect(!DistinctRows(columns: [[]]).worthCompressing)
    }

    /// Rows grouped beforehand by what their values are computed from: the same grouping as
    /// from the rows alone, whether the known groups are the distinct rows themselves or split
    /// some of them; a known grouping that puts unequal rows together, or that is of another
    /// table, is checked and set aside.
    @Test func knownEqualRowsGiveTheSameGrouping() {
        // Rows 0…9 of three patterns, the third (rows 3, 7, 9) equal to the first but for −0.0.
        let patterns: [[Double]] = [[1, 0], [2, 5], [1, -0.0]]
        let pattern = [0, 1, 0, 2, 1, 1, 0, 2, 0, 2]
        let values = pattern.flatMap { patterns[$0] }
        let plain = values.withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2) }
        #expect(plain?.group == [0, 1, 0, 2, 1, 1, 0, 2, 0, 2])
        let exact = DistinctRows(columns: [], key: pattern.map(UInt64.init))
        let finer = DistinctRows(columns: [], key: pattern.indices.map { UInt64(pattern[$0] * 2 + ($0 < 5 ? 0 : 1)) })
        let wrong = DistinctRows(columns: [], key: pattern.map { UInt64($0 % 2) })
        let shorter = DistinctRows(columns: [], key: pattern.dropLast().map(UInt64.init))
        #expect(finer.count == 6 && wrong.count == 2)
        for known in [exact, finer, wrong, shorter] {
            #expect(values.withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2, within: known) } == plain)
        }
        // Rows 1…3, all distinct: not worth it, nil both ways.
        let few = Array(values[2..<8])
        #expect(few.withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2) } == nil)
        let knownFew = DistinctRows(columns: [], key: pattern[1...3].map(UInt64.init))
        #expect(few.withUnsafeBufferPointer { DistinctRows.repeated(rowMajor: $0, width: 2, within: knownFew) } == nil)
    }

    /// Columns and a key per row: rows with the same values but another key stay apart.
    @Test func aKeySplitsEqualRows() {
        let columns: [[Double]] = [[1, 3, 1, 1, 3], [2, 4, 2, 2, 4]]
        let plain = DistinctRows(columns: columns)
        #expect(plain.group == [0, 1, 0, 0, 1])
        #expect(plain.counts == [3, 2])
        #expect(plain.worthCompressing)
        let keyed = DistinctRows(columns: columns, key: [0, 0, 1, 0, 0])
        #expect(keyed.group == [0, 1, 2, 0, 1])
        #expect(keyed.first == [0, 1, 2])
        #expect(keyed.counts == [2, 2, 1])
    }

    /// 200,000 rows drawn from 30,000 patterns, against a dictionary of the rows: the table
    /// grows many times over, and the same answer comes out of both ways in.
    @Test func manyRowsGroupAsADictionaryDoes() {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let patterns = (0..<30_000).map { _ in (0..<3).map { _ in Double(next() % 1000) / 8 } }
        let rows = (0..<200_000).map { _ in patterns[Int(next() % 30_000)] }
        var seen: [[Double]: Int32] = [:]
        var group: [Int32] = [], first: [Int32] = []
        for (i, row) in rows.enumerated() {
            if let number = seen[row] {
                group.append(number)
            } else {
                seen[row] = Int32(first.count)
                group.append(Int32(first.count))
                first.append(Int32(i))
            }
        }
        let flat = rows.flatMap { $0 }
        let byRows = flat.withUnsafeBufferPointer { DistinctRows(rowMajor: $0, width: 3) }
        let byColumns = DistinctRows(columns: (0..<3).map { j in rows.map { $0[j] } })
        for distinct in [byRows, byColumns] {
            #expect(distinct.group == group)
            #expect(distinct.first == first)
            #expect(distinct.counts.reduce(0, +) == 200_000)
            #expect(distinct.counts[0] == Double(group.count { $0 == 0 }))
        }
    }
}
