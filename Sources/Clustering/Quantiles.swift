/// Quantiles interpolated linearly between order statistics (Hyndman & Fan's type 7, numpy's
/// and pandas' default): for q, the position q(n − 1) between the sorted values at its floor
/// and the next, and NaN for no values.
///
/// The order statistics are found by selection rather than a full sort: a profile's medians
/// and the report's percentiles are a handful of order statistics of a million values. From
/// 32,768 values on, one pass over brackets that a sample puts around them copies the few
/// percent of values that can hold them (`bracketed`); otherwise, or when the sample misled,
/// quickselect (Hoare's, median-of-three pivots) finds them among all the values, each within
/// the stretch between those already found. The result equals the sorted computation bit
/// for bit. A value that is NaN has no place in an order, so values holding one are sorted as
/// before, whatever the sort makes of them.
public func quantiles(of values: [Double], at levels: [Double]) -> [Double] {
    var values = values
    return quantiles(reordering: &values, at: levels)
}

/// `quantiles(of:at:)` that may work in `values` itself, leaving them reordered (or not, when
/// the bracketing pass found the order statistics): for a caller done with them, it saves
/// the copy.
public func quantiles(reordering values: inout [Double], at levels: [Double]) -> [Double] {
    guard !values.isEmpty else { return levels.map { _ in .nan } }
    let orders = levels.map { orderPositions($0, count: values.count) }
    let positions = Set(orders.flatMap { [$0.below, $0.above] }).sorted()
    let found: [Double]
    if values.contains(where: \.isNaN) {
        values.sort()
        found = positions.map { values[$0] }
    } else {
        found = values.withUnsafeMutableBufferPointer { buffer in
            bracketed(positions, of: UnsafeBufferPointer(buffer)) ?? {
                select(positions[...], in: buffer, within: 0..<buffer.count)
                return positions.map { buffer[$0] }
            }()
        }
    }
    let value = Dictionary(uniqueKeysWithValues: zip(positions, found))
    return orders.map { value[$0.below]! + $0.fraction * (value[$0.above]! - value[$0.below]!) }
}

/// The order statistics at `positions` (ascending) of many values, from one pass over them
/// (Floyd and Rivest's idea, 1975): a sorted sample at a fixed stride brackets each position
/// between two sample values a few standard deviations of the sample's rank away; one pass
/// counts the values below each bracket and those equal to its ends, and copies those
/// strictly inside; selection finishes on the copies, a few percent of the values. A
/// bracket's ends are counted, not copied, so that a run of equal values (customers' data
/// have long ones: every one-time buyer's frequency is 0) costs no copies unless it lies
/// strictly inside a bracket. nil, for the caller to select among all values, when the values
/// are too few to sample, or a position falls outside its bracket or the copies outgrow their
/// room (a sample unlike the values).
private func bracketed(_ positions: [Int], of values: UnsafeBufferPointer<Double>) -> [Double]? {
    let n = values.count
    guard n >= 1 << 15 else { return nil }
    let sampleSize = min(1 << 14, n / 32), stride = n / sampleSize
    let sample = (0..<sampleSize).map { values[$0 * stride] }.sorted()
    var brackets: [(low: Double, high: Double, positions: [Int])] = []
    for p in positions {
        // The sample's rank of the value at p, and four of its standard deviations
        // (√(m q(1 − q)) for q = p/n, at most 64) and a little more each way.
        let rank = p * sampleSize / n
        let q = Double(p) / Double(n)
        let margin = Int(4 * (Double(sampleSize) * q * (1 - q)).squareRoot()) + 16
        let low = rank - margin < 0 ? -Double.infinity : sample[rank - margin]
        let high = rank + margin >= sampleSize ? Double.infinity : sample[rank + margin]
        if let last = brackets.last, low <= last.high {
            brackets[brackets.count - 1].high = max(last.high, high)
            brackets[brackets.count - 1].positions.append(p)
        } else {
            brackets.append((low, high, [p]))
        }
    }
    // A bracket from −∞ to ∞ (levels near 0 and 1 merging their brackets across all values)
    // would copy everything.
    if brackets.count == 1 && brackets[0].low == -.infinity && brackets[0].high == .infinity { return nil }
    // Per bracket: the values outside every bracket below it (`gaps`), those equal to its
    // low and its high end, and those strictly inside, copied in order.
    let capacity = n / 2
    let inside = UnsafeMutableBufferPointer<Double>.allocate(capacity: capacity)
    defer { inside.deallocate() }
    let (lows, highs) = (brackets.map(\.low), brackets.map(\.high))
    var gaps = [Int](repeating: 0, count: brackets.count + 1)
    var atLow = [Int](repeating: 0, count: brackets.count)
    var atHigh = atLow, copied = atLow
    var count = 0
    // Through raw buffers: the pass is the selection's cost, and the arrays' bounds and
    // uniqueness checks were a third of it.
    let fits = lows.withUnsafeBufferPointer { lows in highs.withUnsafeBufferPointer { highs in
        gaps.withUnsafeMutableBufferPointer { gaps in atLow.withUnsafeMutableBufferPointer { atLow in
            atHigh.withUnsafeMutableBufferPointer { atHigh in copied.withUnsafeMutableBufferPointer { copied in
                let bracketCount = highs.count
                for x in values {
                    var j = 0
                    while j < bracketCount && x > highs[j] { j += 1 }
                    if j == bracketCount || x < lows[j] {
                        gaps[j] += 1
                    } else if x == lows[j] {
                        atLow[j] += 1
                    } else if x == highs[j] {
                        atHigh[j] += 1
                    } else {
                        guard count < capacity else { return false }
                        inside[count] = x
                        count += 1
                        copied[j] += 1
                    }
                }
                return true
            } }
        } }
    } }
    guard fits else { return nil }
    // Bracket j's values, in order: its low end atLow[j] times, its copies, its high end.
    var found = [Double?](repeating: nil, count: positions.count)
    var wanted: [(index: Int, rank: Int)] = []
    var below = 0, copiedBelow = 0, index = 0
    for (j, bracket) in brackets.enumerated() {
        below += gaps[j]
        for p in bracket.positions {
            let r = p - below
            if r >= 0 && r < atLow[j] {
                found[index] = lows[j]
            } else if r >= atLow[j] && r < atLow[j] + copied[j] {
                wanted.append((index, copiedBelow + r - atLow[j]))
            } else if r >= atLow[j] + copied[j] && r < atLow[j] + copied[j] + atHigh[j] {
                found[index] = highs[j]
            } else {
                return nil
            }
            index += 1
        }
        below += atLow[j] + copied[j] + atHigh[j]
        copiedBelow += copied[j]
    }
    let copies = UnsafeMutableBufferPointer(rebasing: inside[..<count])
    select(wanted.map(\.rank)[...], in: copies, within: 0..<count)
    for (index, rank) in wanted { found[index] = copies[rank] }
    return found.map { $0! }
}

/// The q-quantile (see `quantiles(of:at:)`).
public func quantile(of values: [Double], _ level: Double) -> Double {
    quantiles(of: values, at: [level])[0]
}

private func orderPositions(_ level: Double, count: Int) -> (below: Int, above: Int, fraction: Double) {
    let position = level * Double(count - 1)
    let below = Int(position.rounded(.down))
    return (below, min(below + 1, count - 1), position - Double(below))
}

/// Rearranges `values[range]` so that each of `positions` (ascending, inside `range`) holds the
/// value a sort would put there, with no larger value before it and no smaller one after.
///
/// The middle position is selected first and the others within the part on their side of
/// it, so that each selection works on a stretch bounded by the positions already found, not
/// on everything to the end: a position next to one already found (the order statistic above
/// a quantile's floor) is the least or the largest value of its stretch, a scan.
private func select(_ positions: ArraySlice<Int>, in values: UnsafeMutableBufferPointer<Double>, within range: Range<Int>) {
    guard !positions.isEmpty else { return }
    let middle = positions.startIndex + positions.count / 2, k = positions[middle]
    if k == range.lowerBound || k == range.upperBound - 1 {
        // The first least (or largest) value, as a scan meets it.
        let least = k == range.lowerBound
        var found = range.lowerBound
        for i in range.dropFirst() where least ? values[i] < values[found] : values[found] < values[i] { found = i }
        values.swapAt(k, found)
    } else {
        select(k, in: values, within: range)
    }
    select(positions[..<middle], in: values, within: range.lowerBound..<k)
    select(positions[(middle + 1)...], in: values, within: (k + 1)..<range.upperBound)
}

/// Rearranges `values[range]` so that position k holds the value a sort would put there,
/// with no larger value before it and no smaller one after.
private func select(_ k: Int, in values: UnsafeMutableBufferPointer<Double>, within range: Range<Int>) {
    var (low, high) = (range.lowerBound, range.upperBound - 1)
    while high > low {
        let middle = low + (high - low) / 2
        // Median of three as the pivot, which also guards the scans below.
        if values[middle] < values[low] { values.swapAt(middle, low) }
        if values[high] < values[low] { values.swapAt(high, low) }
        if values[high] < values[middle] { values.swapAt(high, middle) }
        let pivot = values[middle]
        var (i, j) = (low, high)
        while i <= j {
            while values[i] < pivot { i += 1 }
            while pivot < values[j] { j -= 1 }
            if i <= j {
                values.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if k <= j {
            high = j
        } else if k >= i {
            low = i
        } else {
            return
        }
    }
}
