import LinearAlgebra

/// The data one k-means fit works on, prepared once for all initializations: points centred
/// on their (unweighted) mean — each point counted `multiplicity` times when it stands for
/// that many equal rows — the same as Floats in chunk matrices for the passes, the sample
/// weights, and the chunking shared by every pass.
///
/// Buffers are raw allocations owned by this object, read concurrently by the chunk workers
/// and never resized, so that no copy-on-write or exclusivity check runs in the hot loops.
final class KMeansProblem: @unchecked Sendable {
    let count: Int
    let dimension: Int
    let work: ChunkedWork
    let points: UnsafeMutableBufferPointer<Double>
    /// nil when every weight is 1.
    let weights: UnsafeMutableBufferPointer<Double>?
    let mean: [Double]
    /// Mean over features of the population variance, the scale of the tolerance (scikit-learn's).
    let meanFeatureVariance: Double
    /// Total weight of each chunk, for drawing the first center.
    let chunkWeights: [Double]
    /// The centred points as Floats, for the assignment and seeding passes.
    let singles: SinglePrecisionPoints
    /// The largest absolute centred coordinate, which says whether Float distances could
    /// overflow (`SinglePrecisionCenters.holdDistances`).
    let largestCoordinate: Double

    /// `data` is consumed: when the caller hands it over (`consume`), its row-major values are
    /// freed once centred, before the Floats are made — 400 MB fewer at the peak of a
    /// 10M-customer, 5-feature segmentation.
    init(_ data: consuming FeatureMatrix, weights: [Double]?, multiplicity: [Double]? = nil, threads: Int?) {
        count = data.count
        dimension = data.dimension
        let work = ChunkedWork(points: data.count, threads: threads)
        self.work = work
        let (n, d) = (count, dimension)
        // The mean, then the centred copy with its variance and largest coordinate: two passes
        // over the chunks, summed per chunk and added in chunk order.
        let sums = ChunkPartials(chunks: work.chunkCount, width: d)
        data.values.withUnsafeBufferPointer { values in
            work.forEachChunk { _, chunk, range in
                let slot = sums.slot(chunk)
                for i in range {
                    let m = multiplicity?[i] ?? 1
                    for j in 0..<d { slot[j] += m * values[i * d + j] }
                }
            }
        }
        let rows = multiplicity?.reduce(0, +) ?? Double(n)
        let mean = sums.total(chunks: work.chunkCount).map { $0 / rows }
        self.mean = mean
        let points = UnsafeMutableBufferPointer<Double>.allocate(capacity: n * d)
        self.points = points
        let moments = ChunkPartials(chunks: work.chunkCount, width: d + 1)
        data.values.withUnsafeBufferPointer { values in
            work.forEachChunk { _, chunk, range in
                let slot = moments.slot(chunk)
                for i in range {
                    let m = multiplicity?[i] ?? 1
                    for j in 0..<d {
                        let centred = values[i * d + j] - mean[j]
                        points[i * d + j] = centred
                        slot[j] += m * centred * centred
                        slot[d] = max(slot[d], abs(centred))
                    }
                }
            }
        }
        // The last entry of each chunk's partials is its largest coordinate, taken by max.
        let variance = moments.total(chunks: work.chunkCount).prefix(d)
        let largest = (0..<work.chunkCount).reduce(0.0) { max($0, moments.buffer[$1 * (d + 1) + d]) }
        sums.deallocate()
        moments.deallocate()
        largestCoordinate = largest
        _ = consume data
        singles = SinglePrecisionPoints(points.baseAddress!, count: n, dimension: d)
        meanFeatureVariance = variance.reduce(0, +) / (rows * Double(d))
        if let weights {
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            _ = buffer.initialize(from: weights)
            self.weights = buffer
        } else {
            self.weights = nil
        }
        chunkWeights = (0..<work.chunkCount).map { chunk in
            guard let weights else { return Double(work.range(chunk).count) }
            return work.range(chunk).reduce(0) { $0 + weights[$1] }
        }
    }

    /// The problem on `data`'s distinct rows when enough rows repeat (`DistinctRows`), each
    /// weighted by its rows' total weight and centred as the rows are, with the distinct row of
    /// each row; otherwise the problem on the rows themselves and nil. `equalRows`: a grouping
    /// of rows known to be equal, which spares hashing all but its groups' first rows (see
    /// `DistinctRows.repeated(rowMajor:width:within:)`; the answer is the same).
    static func onDistinctRows(_ data: consuming FeatureMatrix, weights: [Double]?, threads: Int?, merging: Bool = true,
                               equalRows: DistinctRows? = nil) -> (problem: KMeansProblem, rowGroups: [Int32]?) {
        let d = data.dimension
        let found = merging ? data.values.withUnsafeBufferPointer { values in
            equalRows.map { DistinctRows.repeated(rowMajor: values, width: d, within: $0) }
                ?? DistinctRows.repeated(rowMajor: values, width: d)
        } : nil
        guard let distinct = found else {
            return (KMeansProblem(consume data, weights: weights, threads: threads), nil)
        }
        var groupWeights = distinct.counts
        if let weights {
            groupWeights = [Double](repeating: 0, count: distinct.count)
            for (i, g) in distinct.group.enumerated() { groupWeights[Int(g)] += weights[i] }
        }
        let compressed = data.rows(distinct.first)
        _ = consume data
        return (KMeansProblem(compressed, weights: groupWeights, multiplicity: distinct.counts, threads: threads), distinct.group)
    }

    /// `onDistinctRows(_:weights:threads:merging:equalRows:)` with `equalRows` `known`, on data
    /// given by the first rows of `known`'s groups alone (row g of `firstRows` stands for every
    /// row of group g): the same problem and grouping, with no table of every row.
    static func onDistinctRows(firstRows data: consuming FeatureMatrix, of known: DistinctRows,
                               threads: Int?) -> (problem: KMeansProblem, rowGroups: [Int32]?) {
        let found = data.values.withUnsafeBufferPointer { DistinctRows.repeated(firstRows: $0, width: data.dimension, of: known) }
        guard let (distinct, firstRowOf) = found else {
            // Not worth merging: the problem on every row, each with its group's values.
            let every = data.rows(known.group)
            _ = consume data
            return (KMeansProblem(every, weights: nil, threads: threads), nil)
        }
        let compressed = data.rows(firstRowOf)
        _ = consume data
        return (KMeansProblem(compressed, weights: distinct.counts, multiplicity: distinct.counts, threads: threads), distinct.group)
    }

    deinit {
        points.deallocate()
        singles.deallocate()
        weights?.deallocate()
    }

    @inline(__always)
    func weight(_ i: Int) -> Double { weights?[i] ?? 1 }

    @inline(__always)
    func point(_ i: Int) -> UnsafePointer<Double> { UnsafePointer(points.baseAddress! + i * dimension) }

    /// Draws the index i with probability value(i) / Σ value, given each chunk's total and a
    /// uniform `fraction` in (0, 1): the chunk is found from the totals, then the point by a
    /// running sum inside it, so a draw reads one chunk, not n values.
    func draw(fraction: Double, chunkTotals: [Double], value: (Int) -> Double) -> Int {
        let target = fraction * chunkTotals.reduce(0, +)
        var before = 0.0
        var lastPositive = 0
        for chunk in 0..<chunkTotals.count where chunkTotals[chunk] > 0 {
            if before + chunkTotals[chunk] > target || chunk == chunkTotals.count - 1 {
                var running = before
                for i in work.range(chunk) {
                    let v = value(i)
                    guard v > 0 else { continue }
                    running += v
                    lastPositive = i
                    if running > target { return i }
                }
            }
            before += chunkTotals[chunk]
        }
        return lastPositive
    }
}

/// Per-chunk partial sums laid out side by side, added in chunk order.
struct ChunkPartials {
    let width: Int
    let buffer: UnsafeMutableBufferPointer<Double>

    init(chunks: Int, width: Int) {
        self.width = width
        buffer = .allocate(capacity: chunks * width)
    }

    func slot(_ chunk: Int) -> UnsafeMutablePointer<Double> {
        let slot = buffer.baseAddress! + chunk * width
        slot.initialize(repeating: 0, count: width)
        return slot
    }

    /// Σ over chunks of each of the `width` entries, chunk 0 first.
    func total(chunks: Int) -> [Double] {
        var total = [Double](repeating: 0, count: width)
        for chunk in 0..<chunks {
            for j in 0..<width { total[j] += buffer[chunk * width + j] }
        }
        return total
    }

    func deallocate() { buffer.deallocate() }
}
