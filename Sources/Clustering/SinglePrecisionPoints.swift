/// The centred points once more as Floats, one column-major matrix per chunk so that a chunk
/// is a gemm operand, and the certificate that lets a single-precision nearest center stand
/// for the double one.
///
/// Why: a k-means pass is a stream over the data. As Floats the data take half the bytes
/// (24 MB for 1M × 6, which a 32 MB L3 cache can hold where 48 MB of Doubles cannot). Layout:
/// for each chunk of `ChunkedWork.chunkSize` points, `chunkRows` Floats of feature 1, then of
/// feature 2, …: a chunkRows × d matrix with leading dimension `chunkRows`, the last chunk
/// padded with zeros. Eight consecutive values of one feature are one vector of eight points.
///
/// Lloyd's and Hamerly's passes take ‖c‖² − 2x·c, which orders the centers as ‖x − c‖² does:
/// one sgemm of a block of points by the centers scaled by −2 (an exact scaling), added to
/// ‖c‖² in Float (β = 1, the block first filled with the norms). Seeding takes differences,
/// Σⱼ (xⱼ − cⱼ)², in its own kernel, so that its draws are the same on every BLAS.
///
/// The bound (u = 2⁻²⁴, x and c the double-precision centred point and center, x̃ and c̃ their
/// Floats, r = ‖x‖ + ‖c‖). Rounding to Float moves each product xⱼcⱼ by at most (2u + u²)|xⱼcⱼ|,
/// u·r² in all. ‖c‖², summed in double and rounded once, is within u‖c‖²(1 + d·2⁻²⁹). The
/// gemm sums d + 1 terms, the products x̃ⱼ·2c̃ⱼ and ‖c‖²: OpenBLAS sums the products and adds
/// the norm last, the reference BLAS adds each product to the norm in turn. Whatever the
/// order, and whether or not it fuses multiply-adds (Higham, Accuracy and Stability of
/// Numerical Algorithms, §3.1; a fused multiply-add only drops roundings), the result is
/// within γ_{d+1}(‖c‖² + Σⱼ |x̃ⱼ·2c̃ⱼ|) of the exact sum, γ_{d+1} = (d + 1)·u/(1 − (d + 1)·u).
/// With Σ|xⱼcⱼ| ≤ ‖x‖‖c‖ ≤ r²/4 and ‖c‖² ≤ r² that is (d + 1)·u·3r²/2, so the computed
/// ‖c‖² − 2x·c is within (3d + 7)/2·u·r² of the exact one, to first order. Hamerly's bounds
/// add ‖x‖² (`norms`: summed in double from the Floats and rounded to a Float, within
/// 3u‖x‖²), so their distances are within (3d + 13)/2·u·r². The margin allows (2d + 9)·u·r²
/// for each distance (`certificateMargin`, and the kernel's `margin_scale`, which takes
/// r² ≤ 2‖x‖² + 2·(largest ‖c‖)²): room for the second-order terms, for the rounding of the
/// norms that enter r, and for the double-precision distances the result stands for (by
/// differences, within (d + 2)·2⁻⁵³·r²). When the nearest and second nearest Float values
/// differ by more than the margin, twice the bound, the nearest center is the one double
/// precision (by differences, lowest index among ties) would find; otherwise
/// the caller computes the point's distances in double precision. On the 1M × 6 benchmark data
/// that happened to about 10 points per million per pass.
///
/// Hazards: a coordinate too large for a Float's square (|x| beyond about 10¹⁸) would
/// overflow; `SinglePrecisionCenters.holdDistances` is then false and every point takes the
/// double-precision path. Floats too small to be normal lose relative accuracy: a coordinate
/// rounded to a subnormal moves its product by at most 2⁻¹⁵⁰‖c‖, within u‖c‖² whenever ‖c‖ ≥
/// 2⁻¹²⁶ (and negligible otherwise), and products that underflow lose at most 2⁻¹⁵⁰ each, which
/// the margin's absolute term d·2⁻¹²⁰ covers.
struct SinglePrecisionPoints {
    /// Rows of every chunk's matrix: its leading dimension.
    static let chunkRows = ChunkedWork.chunkSize

    let chunks: Int
    let dimension: Int
    let values: UnsafeMutablePointer<Float>
    /// ‖x‖² of each point's Floats, summed in double and rounded to a Float (0 in the
    /// padding), so that the passes need not recompute it; the margin's factor 1 + 2⁻²⁰ covers
    /// the rounding.
    let norms: UnsafeMutablePointer<Float>

    /// Copies the row-major `points` (count × dimension Doubles) chunk by chunk.
    init(_ points: UnsafePointer<Double>, count: Int, dimension d: Int) {
        chunks = (count + Self.chunkRows - 1) / Self.chunkRows
        dimension = d
        let capacity = max(1, chunks * d * Self.chunkRows)
        values = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        norms = .allocate(capacity: max(1, chunks * Self.chunkRows))
        norms.initialize(repeating: 0, count: max(1, chunks * Self.chunkRows))
        // Column by column, so that the writes run along the matrix.
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: Self.chunkRows)
        defer { sums.deallocate() }
        for chunk in 0..<chunks {
            let (matrix, first) = (values + chunk * d * Self.chunkRows, chunk * Self.chunkRows)
            let rows = min(Self.chunkRows, count - first)
            sums.initialize(repeating: 0, count: rows)
            for j in 0..<d {
                let (column, source) = (matrix + j * Self.chunkRows, points + first * d + j)
                for row in 0..<rows {
                    let x = Float(source[row * d])
                    column[row] = x
                    sums[row] += Double(x) * Double(x)
                }
            }
            for row in 0..<rows { norms[first + row] = Float(sums[row]) }
        }
    }

    func deallocate() { UnsafeMutableRawPointer(values).deallocate(); norms.deallocate() }

    /// Points in all chunks, padding included.
    var paddedCount: Int { chunks * Self.chunkRows }

    @inline(__always)
    private static func offset(point i: Int, feature j: Int, dimension d: Int) -> Int {
        let (chunk, row) = i.quotientAndRemainder(dividingBy: chunkRows)
        return (chunk * d + j) * chunkRows + row
    }

    /// The matrix of the chunk that starts at point `i` (a multiple of `chunkRows`).
    func chunk(startingAt i: Int) -> UnsafePointer<Float> {
        UnsafePointer(values + (i / Self.chunkRows) * dimension * Self.chunkRows)
    }

    /// Copies point `i` into row `row` of the column-major matrix at `target`, whose leading
    /// dimension is `chunkRows` (a gather of scattered points).
    @inline(__always)
    func copy(point i: Int, to target: UnsafeMutablePointer<Float>, row: Int) {
        let source = values + Self.offset(point: i, feature: 0, dimension: dimension)
        for j in 0..<dimension { target[j * Self.chunkRows + row] = source[j * Self.chunkRows] }
    }

    /// Σⱼ (xⱼ − cⱼ)² for point `i` and a Float center, in the order the seeding pass takes, so
    /// that it equals the value that pass gives the point.
    @inline(__always)
    func squaredDistance(point i: Int, to center: UnsafePointer<Float>) -> Float {
        let x = values + Self.offset(point: i, feature: 0, dimension: dimension)
        var sum: Float = 0
        for j in 0..<dimension {
            let difference = x[j * Self.chunkRows] - center[j]
            sum += difference * difference
        }
        return sum
    }

    /// How far apart the nearest and second nearest Float distances must be for the nearest
    /// to be certain: twice the error bound of each, for a point of squared norm `pointNorm`
    /// (from its Floats).
    @inline(__always)
    static func certificateMargin(pointNorm: Double, largestCenterNorm: Double, dimension: Int) -> Double {
        let r = pointNorm.squareRoot() * (1 + 0x1p-20) + largestCenterNorm
        return 2 * (Double(marginFactor(dimension: dimension)) * 0x1p-24 * r * r + Double(dimension) * 0x1p-120)
    }

    /// `certificateMargin`'s factor of r² for the relabelling kernel (its `margin_scale`),
    /// which bounds r² itself and computes the margin in Float: raised by 2⁻¹⁰ so that the
    /// kernel's own roundings never make its margin the smaller.
    static func kernelMarginScale(dimension: Int) -> Float {
        Float(2 * marginFactor(dimension: dimension)) * 0x1p-24 * (1 + 0x1p-10)
    }

    /// The margin's allowance for each distance, in units of u·r² (the bound above).
    private static func marginFactor(dimension: Int) -> Int { 2 * dimension + 9 }
}

/// The centers as Floats, for the single-precision passes: −2c, row-major k × d (the d × k
/// column-major gemm operand), the squared norms ‖c‖², and the largest center norm (in double
/// precision) for the certificate.
struct SinglePrecisionCenters {
    let scaled: UnsafeMutablePointer<Float>
    let norms: UnsafeMutablePointer<Float>
    private(set) var largestNorm = 0.0
    /// Whether every Float distance between these centers and the points stays finite with
    /// room to spare: (largest point coordinate + largest center coordinate)² · d < 10³⁷.
    private(set) var holdDistances = false

    init(capacity: Int, dimension: Int) {
        scaled = .allocate(capacity: max(1, capacity * dimension))
        norms = .allocate(capacity: max(1, capacity))
    }

    mutating func update(from centers: UnsafePointer<Double>, count k: Int, dimension d: Int, largestPointCoordinate: Double) {
        var (largest, largestCoordinate) = (0.0, 0.0)
        for c in 0..<k {
            var norm = 0.0
            for j in 0..<d {
                let x = centers[c * d + j]
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

    func deallocate() { scaled.deallocate(); norms.deallocate() }
}
