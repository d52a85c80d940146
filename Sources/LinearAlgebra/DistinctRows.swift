import Buffers

/// The distinct rows of a table of doubles, compared bit for bit, numbered in order of first
/// appearance, with each row's number and each distinct row's count.
///
/// Customer data repeat themselves: every one-time buyer of a cohort has the same frequency,
/// recency, T and spend, and so the same features, and one-time buyers are most customers of
/// most shops. A fit whose objective is a sum over rows (k-means' inertia, a logistic
/// log-likelihood) can run on the distinct rows with their counts as weights and reach the
/// same optimum with less work.
///
/// Rows are equal when every value has the same bits (0.0 and −0.0 differ, which only costs a
/// missed merge); a hash picks where to look, and rows whose hashes agree are still compared
/// value by value. An open-addressing table does the grouping in one pass.
public struct DistinctRows: Sendable, Equatable {
    /// The distinct row of each row.
    public let group: [Int32]
    /// The first row of each distinct row.
    public let first: [Int32]
    /// How many rows each distinct row stands for.
    public let counts: [Double]
    /// The sum of the slots read ahead, kept so that those reads are not optimised away.
    private let readAhead: UInt64

    public var count: Int { first.count }

    /// The same grouping (whatever was read ahead to make it).
    public static func == (a: DistinctRows, b: DistinctRows) -> Bool {
        (a.group, a.first, a.counts) == (b.group, b.first, b.counts)
    }

    /// The distinct rows of a row-major `rows × width` table.
    public init(rowMajor values: UnsafeBufferPointer<Double>, width: Int) {
        self.init(rowMajor: values, width: width, limit: nil)!
    }

    /// The distinct rows of a row-major table when they are worth fitting on instead of the
    /// rows (`worthCompressing`); nil otherwise, given up as soon as too many are found.
    public static func repeated(rowMajor values: UnsafeBufferPointer<Double>, width: Int) -> DistinctRows? {
        DistinctRows(rowMajor: values, width: width, limit: Self.limit(rows: width == 0 ? 0 : values.count / width))
            .flatMap { $0.worthCompressing ? $0 : nil }
    }

    /// `repeated(rowMajor:width:)` for a table whose rows `known` has already grouped by
    /// something they are functions of (customers by their history and spend, for columns
    /// computed from those): the same answer, from hashing only each known group's first row.
    /// Every row is checked against its known group's first row, bit for bit; when one
    /// differs, or `known` is not numbered in order of first appearance, the table is grouped
    /// row by row instead.
    public static func repeated(rowMajor values: UnsafeBufferPointer<Double>, width: Int,
                                within known: DistinctRows) -> DistinctRows? {
        let rows = width == 0 ? 0 : values.count / width
        guard known.group.count == rows, known.holds(rowMajor: values, width: width) else {
            return repeated(rowMajor: values, width: width)
        }
        // The first appearance of a row's values is the first row of its known group, so the
        // known groups' first rows, in order, number the distinct rows as the rows would.
        guard let inner = DistinctRows(rowMajor: values, width: width, limit: Self.limit(rows: rows), rowsAt: known.first) else {
            return nil
        }
        return merging(inner, into: known)?.rows
    }

    /// `repeated(rowMajor:width:within:)` for a table given by its known groups' first rows
    /// alone: row g of `firstRows` is the table's row `known.first[g]`, and the caller knows
    /// every row of the table to hold its group's first row's values (as `within` checks them)
    /// and `known` to be numbered in order of first appearance. The same answer, with each
    /// distinct row's place among `firstRows` (`firstRowOf`), without the table itself.
    public static func repeated(firstRows: UnsafeBufferPointer<Double>, width: Int,
                                of known: DistinctRows) -> (rows: DistinctRows, firstRowOf: [Int32])? {
        precondition(firstRows.count == known.count * width, "one first row per known group")
        guard let inner = DistinctRows(rowMajor: firstRows, width: width, limit: Self.limit(rows: known.group.count)) else {
            return nil
        }
        return merging(inner, into: known)
    }

    /// The grouping of a table's rows from its known groups and the distinct rows among the
    /// known groups' first rows (`inner`, in the known groups' order); nil when not worth
    /// compressing. `firstRowOf`: each distinct row's known group.
    private static func merging(_ inner: DistinctRows, into known: DistinctRows) -> (rows: DistinctRows, firstRowOf: [Int32])? {
        var counts = [Double](repeating: 0, count: inner.count)
        for (g, count) in known.counts.enumerated() { counts[Int(inner.group[g])] += count }
        let merged = DistinctRows(group: known.group.map { inner.group[Int($0)] }, first: inner.first.map { known.first[Int($0)] },
                                  counts: counts)
        return merged.worthCompressing ? (merged, inner.first) : nil
    }

    /// Whether the groups are numbered in order of first appearance (each group's first row
    /// after the one before's), as a grouping made row by row is.
    public var numberedInOrder: Bool { zip(first, first.dropFirst()).allSatisfy { $0 < $1 } }

    private init(group: [Int32], first: [Int32], counts: [Double]) {
        (self.group, self.first, self.counts, readAhead) = (group, first, counts, 0)
    }

    /// Whether every row of the table has its group's first row's values, bit for bit, and
    /// the groups are numbered in order of first appearance.
    private func holds(rowMajor values: UnsafeBufferPointer<Double>, width: Int) -> Bool {
        guard numberedInOrder else { return false }
        for (i, g) in group.enumerated() {
            let row = Int(first[Int(g)])
            if row == i { continue }
            guard row < i else { return false }
            for j in 0..<width where values[i * width + j].bitPattern != values[row * width + j].bitPattern { return false }
        }
        return true
    }

    /// `rowsAt`: the table's rows to group, in that order (nil: all of them).
    private init?(rowMajor values: UnsafeBufferPointer<Double>, width: Int, limit: Int?, rowsAt: [Int32]? = nil) {
        let rows = rowsAt?.count ?? (width == 0 ? 0 : values.count / width)
        let base = values.baseAddress
        /// Where the i-th row to group starts: a plain function, not a closure value chosen at
        /// run time, so that the hash and the comparison (the grouping's hot loop) inline it.
        func start(_ i: Int) -> Int { (rowsAt.map { Int($0[i]) } ?? i) * width }
        self.init(rows: rows, limit: limit, hash: { i in
            let row = start(i)
            var h: UInt64 = 0
            for j in 0..<width { h = Self.mix(h, base![row + j].bitPattern) }
            return h
        }, equal: { a, b in
            let (x, y) = (start(a), start(b))
            for j in 0..<width where base![x + j].bitPattern != base![y + j].bitPattern { return false }
            return true
        })
    }

    /// The distinct rows of a table given by its columns (each `rows` long) and, optionally, a
    /// whole-number key per row that must also agree (such as a fold).
    public init(columns: [[Double]], key: [UInt64]? = nil) {
        self.init(columns: columns, key: key, limit: nil)!
    }

    /// The distinct rows of a table given by its columns when they are worth fitting on
    /// instead of the rows (`worthCompressing`); nil otherwise, given up as soon as too many
    /// are found.
    public static func repeated(columns: [[Double]], key: [UInt64]? = nil) -> DistinctRows? {
        DistinctRows(columns: columns, key: key, limit: Self.limit(rows: columns.first?.count ?? key?.count ?? 0))
            .flatMap { $0.worthCompressing ? $0 : nil }
    }

    private init?(columns: [[Double]], key: [UInt64]?, limit: Int?) {
        let rows = columns.first?.count ?? key?.count ?? 0
        precondition(columns.allSatisfy { $0.count == rows } && (key?.count ?? rows) == rows, "columns of one length")
        // Hashed column by column, each column read in order.
        var hashes = key.map { $0.map { Self.mix(0, $0) } } ?? [UInt64](repeating: 0, count: rows)
        hashes.withUnsafeMutableBufferPointer { hashes in
            for column in columns {
                column.withUnsafeBufferPointer { column in
                    for i in 0..<rows { hashes[i] = Self.mix(hashes[i], column[i].bitPattern) }
                }
            }
        }
        // The columns are compared through pointers held for the whole grouping: walking the
        // array of arrays retained and released each column at every comparison.
        let grouped = withUnsafeBuffers(columns) { columns in
            Self.grouping(rows: rows, limit: limit, hash: { hashes[$0] }, equal: { a, b in
                if let key, key[a] != key[b] { return false }
                for column in columns where column[a].bitPattern != column[b].bitPattern { return false }
                return true
            })
        }
        guard let grouped else { return nil }
        (group, first, counts, readAhead) = grouped
    }

    /// nil as soon as more than `limit` distinct rows are found.
    private init?(rows: Int, limit: Int?, hash: (Int) -> UInt64, equal: (Int, Int) -> Bool) {
        guard let grouped = Self.grouping(rows: rows, limit: limit, hash: hash, equal: equal) else { return nil }
        (group, first, counts, readAhead) = grouped
    }

    /// Each row's distinct row, each distinct row's first row and count, and the sum of the
    /// slots read ahead; nil as soon as more than `limit` distinct rows are found.
    private static func grouping(rows: Int, limit: Int?, hash: (Int) -> UInt64, equal: (Int, Int) -> Bool)
        -> (group: [Int32], first: [Int32], counts: [Double], readAhead: UInt64)? {
        precondition(rows < Int(Int32.max), "rows are numbered in 32 bits")
        // A slot holds a distinct row's number + 1 in its low 32 bits (0: empty) and the high
        // half of its hash above, so that most probes settle on the slot alone. The table grows
        // with the distinct rows, which are often far fewer than the rows.
        var size = 1024
        var slots = [UInt64](repeating: 0, count: size)
        var group = [Int32](repeating: 0, count: rows)
        var first: [Int32] = [], counts: [Double] = [], hashes: [UInt64] = []
        // Rows go in batches: the batch's slots are read first, all at once, so that their cache
        // misses overlap instead of stalling the inserts one after another.
        let batch = 16
        var batchHashes = [UInt64](repeating: 0, count: batch)
        var touched: UInt64 = 0
        let complete = group.withUnsafeMutableBufferPointer { group -> Bool in
            for start in stride(from: 0, to: rows, by: batch) {
                let end = min(rows, start + batch)
                slots.withUnsafeBufferPointer { slots in
                    for i in start..<end {
                        let h = hash(i)
                        batchHashes[i - start] = h
                        touched &+= slots[Int(truncatingIfNeeded: h) & (size - 1)]
                    }
                }
                for i in start..<end {
                    if first.count * 2 >= size {
                        size *= 2
                        slots = [UInt64](repeating: 0, count: size)
                        slots.withUnsafeMutableBufferPointer { slots in
                            for (number, h) in hashes.enumerated() {
                                var at = Int(truncatingIfNeeded: h) & (size - 1)
                                while slots[at] != 0 { at = (at + 1) & (size - 1) }
                                slots[at] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(number + 1)
                            }
                        }
                    }
                    let h = batchHashes[i - start], tag = h & 0xFFFF_FFFF_0000_0000
                    var at = Int(truncatingIfNeeded: h) & (size - 1)
                    let found: Int32? = slots.withUnsafeMutableBufferPointer { slots in
                        while true {
                            let slot = slots[at]
                            if slot == 0 {
                                slots[at] = tag | UInt64(first.count + 1)
                                return nil
                            }
                            let number = Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                            if slot & 0xFFFF_FFFF_0000_0000 == tag, equal(Int(first[Int(number)]), i) { return number }
                            at = (at + 1) & (size - 1)
                        }
                    }
                    if let found {
                        group[i] = found
                        counts[Int(found)] += 1
                    } else {
                        if let limit, first.count >= limit { return false }
                        group[i] = Int32(first.count)
                        first.append(Int32(i))
                        counts.append(1)
                        hashes.append(h)
                    }
                }
            }
            return true
        }
        guard complete else { return nil }
        return (group, first, counts, touched)
    }

    /// The most distinct rows worth fitting on instead of `rows` rows: three quarters of them
    /// (the grouping and the copy cost about what a quarter of the rows saves), none of none.
    private static func limit(rows: Int) -> Int { max(0, rows * 3 / 4) }

    /// Folds a value into a running hash (the finaliser of SplitMix64 after an xor), so that
    /// the low bits that pick a slot depend on every bit of every value.
    @inline(__always)
    static func mix(_ h: UInt64, _ value: UInt64) -> UInt64 {
        var z = (h ^ value) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether fitting on the distinct rows saves enough to pay for the grouping and the copy:
    /// at least a quarter fewer rows, and some rows.
    public var worthCompressing: Bool { count <= Self.limit(rows: group.count) && count < group.count }
}
