/// The centred points once more as Floats, laid out for distances eight points at a time, and
/// the certificate that lets a single-precision nearest center stand for the double one.
///
/// Why: a k-means pass is a stream over the data. As Floats the data take half the bytes
/// (24 MB for 1M × 6, which a 32 MB L3 cache can hold where 48 MB of Doubles cannot), and
/// a vector of eight Floats holds one feature of eight points, so one subtraction and one
/// multiply-add serve eight points and no transposition is needed. Layout: blocks of eight
/// points, feature by feature, `[block][feature][lane]`; the last block is padded with zeros.
///
/// Seeding and Hamerly take distances by differences, Σⱼ (xⱼ − cⱼ)²; Lloyd's relabelling
/// pass (CClusteringKernels) takes ‖c‖² − 2x·c, which orders the centers the same way and
/// whose error on centred data is within the same bound. The bound, for differences
/// (u = 2⁻²⁴): rounding x and c to Float moves each difference by at most 2u(|xⱼ| + |cⱼ|),
/// and summing d squares in Float adds at most d·u of the sum; with r = ‖x‖ + ‖c‖ ≥ √D the
/// computed distance is within (d + 5)·u·r² of the true D. `certificateMargin` takes
/// (d + 9)·u·r², r from the point's norm and the largest center norm, which also covers the
/// rounding of the norms and of the double-precision distances the result stands for. When
/// the nearest and second nearest Float distances differ by more than twice that, the nearest
/// center is the one double precision (by differences, lowest index among ties) would find;
/// otherwise the caller computes the point's distances in double precision. On the 1M × 6
/// benchmark data that happened to about 10 points per million per pass.
///
/// Hazards: a coordinate too large for a Float's square (|x| beyond about 10¹⁸) would
/// overflow; `SinglePrecisionCenters.holdDistances` is then false and every point takes the
/// double-precision path. Floats too small to be normal lose relative accuracy; the margin
/// carries an absolute term for them.
struct SinglePrecisionPoints {
    static let lanes = 8
    typealias Lanes = SIMD8<Float>

    let blocks: Int
    let dimension: Int
    let values: UnsafeMutablePointer<Float>

    /// Blocks the row-major `points` (count × dimension Doubles).
    init(_ points: UnsafePointer<Double>, count: Int, dimension d: Int) {
        blocks = (count + Self.lanes - 1) / Self.lanes
        dimension = d
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, blocks * d * Self.lanes) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        values = raw.bindMemory(to: Float.self, capacity: max(1, blocks * d * Self.lanes))
        values.initialize(repeating: 0, count: blocks * d * Self.lanes)
        for i in 0..<count {
            let (block, lane) = i.quotientAndRemainder(dividingBy: Self.lanes)
            for j in 0..<d { values[(block * d + j) * Self.lanes + lane] = Float(points[i * d + j]) }
        }
    }

    func deallocate() { UnsafeMutableRawPointer(values).deallocate() }

    /// The block holding point `i` (a multiple of 8 starts a block).
    func block(startingAt i: Int) -> UnsafePointer<Float> {
        UnsafePointer(values + (i / Self.lanes) * dimension * Self.lanes)
    }

    /// Copies point `i` into lane `lane` of the blocks at `target` (a gather of scattered points).
    @inline(__always)
    func copy(point i: Int, to target: UnsafeMutablePointer<Float>, lane: Int) {
        let (block, from) = i.quotientAndRemainder(dividingBy: Self.lanes)
        let source = values + block * dimension * Self.lanes + from
        let (targetBlock, targetLane) = lane.quotientAndRemainder(dividingBy: Self.lanes)
        let destination = target + targetBlock * dimension * Self.lanes + targetLane
        for j in 0..<dimension { destination[j * Self.lanes] = source[j * Self.lanes] }
    }

    /// Σⱼ (xⱼ − cⱼ)² for point `i` and a Float center, in the order the blocks' vectors take,
    /// so that it equals the value the block computation gives that point.
    @inline(__always)
    func squaredDistance(point i: Int, to center: UnsafePointer<Float>) -> Float {
        let (block, lane) = i.quotientAndRemainder(dividingBy: Self.lanes)
        let x = values + block * dimension * Self.lanes + lane
        var sum: Float = 0
        for j in 0..<dimension {
            let difference = x[j * Self.lanes] - center[j]
            sum += difference * difference
        }
        return sum
    }

    /// How far apart the nearest and second nearest Float distances must be for the nearest
    /// to be certain: twice the error bound of each, for a point of squared norm `pointNorm`.
    @inline(__always)
    static func certificateMargin(pointNorm: Float, largestCenterNorm: Double, dimension: Int) -> Double {
        let r = Double(pointNorm).squareRoot() * (1 + 0x1p-20) + largestCenterNorm
        return 2 * (Double(dimension + 9) * 0x1p-24 * r * r + Double(dimension) * 0x1p-120)
    }
}

/// The centers as Floats, for the single-precision passes: row-major k × d, the same scaled
/// by −2 and the squared norms (for the relabelling pass's ‖c‖² − 2x·c), and the largest
/// center norm (in double precision) for the certificate.
struct SinglePrecisionCenters {
    let values: UnsafeMutablePointer<Float>
    let scaled: UnsafeMutablePointer<Float>
    let norms: UnsafeMutablePointer<Float>
    private(set) var largestNorm = 0.0
    /// Whether every Float distance between these centers and the points stays finite with
    /// room to spare: (largest point coordinate + largest center coordinate)² · d < 10³⁷.
    private(set) var holdDistances = false

    init(capacity: Int, dimension: Int) {
        values = .allocate(capacity: max(1, capacity * dimension))
        scaled = .allocate(capacity: max(1, capacity * dimension))
        norms = .allocate(capacity: max(1, capacity))
    }

    mutating func update(from centers: UnsafePointer<Double>, count k: Int, dimension d: Int, largestPointCoordinate: Double) {
        var (largest, largestCoordinate) = (0.0, 0.0)
        for c in 0..<k {
            var norm = 0.0
            for j in 0..<d {
                let x = centers[c * d + j]
                values[c * d + j] = Float(x)
                scaled[c * d + j] = -2 * Float(x)
                norm += x * x
                largestCoordinate = max(largestCoordinate, abs(x))
            }
            norms[c] = Float(norm)
            largest = max(largest, norm)
        }
        largestNorm = largest.squareRoot()
        let reach = largestPointCoordinate + largestCoordinate
        holdDistances = reach * reach * Double(d) < 1e37
    }

    func deallocate() { values.deallocate(); scaled.deallocate(); norms.deallocate() }
}

/// Σⱼ (xⱼ − cⱼ)² for the eight points of one block and one center.
@inline(__always)
func blockSquaredDistances(_ block: UnsafePointer<Float>, dimension d: Int,
                                   center: UnsafePointer<Float>) -> SinglePrecisionPoints.Lanes {
    let raw = UnsafeRawPointer(block)
    var sum = SinglePrecisionPoints.Lanes()
    for j in 0..<d {
        let difference = raw.loadUnaligned(fromByteOffset: j * 32, as: SinglePrecisionPoints.Lanes.self)
            - SinglePrecisionPoints.Lanes(repeating: center[j])
        sum += difference * difference
    }
    return sum
}

/// For `blocks` blocks of points: each point's nearest of `k` centers (the lowest index among
/// ties), the Float squared distances to it and to the second nearest, and the point's squared
/// norm, all written point by point.
func singlePrecisionNearestTwo(_ points: UnsafePointer<Float>, blocks: Int, dimension d: Int,
                               centers: UnsafePointer<Float>, k: Int,
                               nearest: UnsafeMutablePointer<Int32>, best: UnsafeMutablePointer<Float>,
                               second: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>) {
    typealias Lanes = SinglePrecisionPoints.Lanes
    let lanes = SinglePrecisionPoints.lanes
    for b in 0..<blocks {
        let block = points + b * d * lanes
        var closest = Lanes(repeating: .infinity)
        var runnerUp = Lanes(repeating: .infinity)
        var index = SIMD8<Int32>(repeating: 0)
        for c in 0..<k {
            let distance = blockSquaredDistances(block, dimension: d, center: centers + c * d)
            // Selects, not the generic pointwiseMin and pointwiseMax, which are not inlined.
            let closer = distance .< closest
            runnerUp.replace(with: distance, where: distance .< runnerUp)
            runnerUp.replace(with: closest, where: closer)
            closest.replace(with: distance, where: closer)
            index.replace(with: Int32(c), where: closer)
        }
        var norm = Lanes()
        let raw = UnsafeRawPointer(block)
        for j in 0..<d {
            let x = raw.loadUnaligned(fromByteOffset: j * 32, as: Lanes.self)
            norm += x * x
        }
        let out = b * lanes
        UnsafeMutableRawPointer(nearest + out).storeBytes(of: index, as: SIMD8<Int32>.self)
        UnsafeMutableRawPointer(best + out).storeBytes(of: closest, as: Lanes.self)
        UnsafeMutableRawPointer(second + out).storeBytes(of: runnerUp, as: Lanes.self)
        UnsafeMutableRawPointer(norms + out).storeBytes(of: norm, as: Lanes.self)
    }
}

/// For `blocks` blocks of points: the Float squared distance of each point to each of
/// `count` centers, written point by point (`count` values per point).
func singlePrecisionSquaredDistances(_ points: UnsafePointer<Float>, blocks: Int, dimension d: Int,
                                     centers: UnsafePointer<Float>, count: Int, into distances: UnsafeMutablePointer<Float>) {
    let lanes = SinglePrecisionPoints.lanes
    for b in 0..<blocks {
        let block = points + b * d * lanes
        for c in 0..<count {
            let distance = blockSquaredDistances(block, dimension: d, center: centers + c * d)
            for lane in 0..<lanes { distances[(b * lanes + lane) * count + c] = distance[lane] }
        }
    }
}
