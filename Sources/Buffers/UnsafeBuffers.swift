/// Calls `body` with a pointer to each array's elements, all valid during the call: nested
/// `withUnsafeBufferPointer` calls for a number of arrays known only when running.
public func withUnsafeBuffers<T, R>(_ arrays: [[T]], _ body: (UnsafeBufferPointer<UnsafeBufferPointer<T>>) -> R) -> R {
    var buffers: [UnsafeBufferPointer<T>] = []
    buffers.reserveCapacity(arrays.count)
    func nest(_ k: Int) -> R {
        guard k < arrays.count else { return buffers.withUnsafeBufferPointer(body) }
        return arrays[k].withUnsafeBufferPointer { buffer in
            buffers.append(buffer)
            return nest(k + 1)
        }
    }
    return nest(0)
}
