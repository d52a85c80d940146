/// Quantiles interpolated linearly between order statistics (Hyndman & Fan's type 7, numpy's
/// and pandas' default): for q, the position q(n − 1) between the sorted values at its floor
/// and the next, and NaN for no values.
///
/// The order statistics are found by selection (Hoare's quickselect, median-of-three pivots)
/// rather than a full sort: a profile's medians and the report's percentiles are a handful of
/// order statistics of a million values, which selection finds in a few passes where a sort
/// compares each value about twenty times. The result equals the sorted computation bit for
/// bit. A value that is NaN has no place in an order, so values holding one are sorted as
/// before, whatever the sort makes of them.
public func quantiles(of values: [Double], at levels: [Double]) -> [Double] {
    var values = values
    return quantiles(reordering: &values, at: levels)
}

/// `quantiles(of:at:)` that works in `values` itself, leaving them reordered: for a caller
/// done with them, it saves the copy.
public func quantiles(reordering values: inout [Double], at levels: [Double]) -> [Double] {
    guard !values.isEmpty else { return levels.map { _ in .nan } }
    if values.contains(where: \.isNaN) {
        values.sort()
        return levels.map { level in
            let (below, above, fraction) = orderPositions(level, count: values.count)
            return values[below] + fraction * (values[above] - values[below])
        }
    }
    return values.withUnsafeMutableBufferPointer { buffer in
        // Each level's order statistics are selected within what is right of the last one
        // found: everything left of a selected position is no larger than it.
        var settled = 0
        var results = [Double](repeating: .nan, count: levels.count)
        for index in levels.indices.sorted(by: { levels[$0] < levels[$1] }) {
            let (below, above, fraction) = orderPositions(levels[index], count: buffer.count)
            select(below, in: buffer, from: settled)
            settled = below
            // After selecting `below`, the next order statistic is the least value right of it.
            let next = above == below ? buffer[below] : buffer[(below + 1)...].min()!
            results[index] = buffer[below] + fraction * (next - buffer[below])
        }
        return results
    }
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

/// Rearranges `values[start...]` so that position k holds the value a sort would put there,
/// with no larger value before it and no smaller one after.
private func select(_ k: Int, in values: UnsafeMutableBufferPointer<Double>, from start: Int) {
    var (low, high) = (start, values.count - 1)
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
