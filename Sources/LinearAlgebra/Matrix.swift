/// A dense matrix of doubles in column-major order on one contiguous buffer: the layout
/// BLAS and LAPACK read without copying. Element (i, j) is `elements[i + j * rows]`.
public struct Matrix: Sendable, Equatable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    public var elements: [Double]

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "a matrix has no negative dimension")
        self.rows = rows
        self.columns = columns
        elements = [Double](repeating: value, count: rows * columns)
    }

    public init(rows: Int, columns: Int, columnMajor elements: [Double]) {
        precondition(elements.count == rows * columns, "\(rows)×\(columns) needs \(rows * columns) elements, got \(elements.count)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    /// A matrix written as its rows, as one writes it on paper: `Matrix([[1, 2], [3, 4]])`.
    public init(_ rowMajorRows: [[Double]]) {
        let rows = rowMajorRows.count
        let columns = rowMajorRows.first?.count ?? 0
        precondition(rowMajorRows.allSatisfy { $0.count == columns }, "every row needs \(columns) elements")
        var elements = [Double](repeating: 0, count: rows * columns)
        for (i, row) in rowMajorRows.enumerated() {
            for (j, value) in row.enumerated() { elements[i + j * rows] = value }
        }
        self.init(rows: rows, columns: columns, columnMajor: elements)
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.elements[i + i * n] = 1 }
        return m
    }

    public subscript(row: Int, column: Int) -> Double {
        get { elements[row + column * rows] }
        set { elements[row + column * rows] = newValue }
    }

    public var isSquare: Bool { rows == columns }

    public func transposed() -> Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for j in 0..<columns {
            for i in 0..<rows { t.elements[j + i * columns] = elements[i + j * rows] }
        }
        return t
    }

    /// The column `j` as an array.
    public func column(_ j: Int) -> [Double] {
        Array(elements[(j * rows)..<((j + 1) * rows)])
    }

    /// The buffer and its leading dimension (the distance between columns), for BLAS calls.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Double>, _ leadingDimension: Int) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer { try body($0, max(1, rows)) }
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Double>, _ leadingDimension: Int) throws -> R) rethrows -> R {
        let leading = max(1, rows)
        return try elements.withUnsafeMutableBufferPointer { try body($0, leading) }
    }

    public var description: String {
        (0..<rows).map { i in (0..<columns).map { j in "\(self[i, j])" }.joined(separator: " ") }.joined(separator: "\n")
    }
}
