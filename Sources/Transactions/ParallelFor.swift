import Dispatch

/// A value handed to worker threads whose safety the caller guarantees: each iteration
/// writes only its own slots and reads memory nobody writes meanwhile.
struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
}

/// Runs `body(0..<iterations)` on Dispatch's worker threads and returns when all are done.
/// The iterations must not share mutable state; results go into per-iteration slots.
public func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    if iterations == 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let shared = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: iterations) { i in shared.value(i) }
    }
}
