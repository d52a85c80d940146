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
