#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The write end of the pipe the signal handler writes to (the handler, a C function, can
/// reach only global state).
nonisolated(unsafe) private var stopSignalPipe: Int32 = -1

/// SIGTERM and SIGINT as requests to stop, from the moment they are installed.
///
/// A handler set with `sigaction` writes a byte to a pipe (all a signal handler may safely
/// do) and a thread of its own hands each byte to the caller, so a signal that arrives before
/// the caller is ready waits in the pipe. A Dispatch signal source could not promise that: it
/// is registered asynchronously, and the signal had to be ignored until then, so a SIGTERM in
/// a worker's first milliseconds, right after it opened the queue, was dropped and the worker
/// ran on.
enum StopSignals {
    /// Installs the handler for `signals` and unblocks them on the calling thread, which must
    /// outlive the command (its main thread); `onSignal` runs, on a thread of its own, once for
    /// each signal that arrives from now on.
    static func install(_ signals: [Int32], onSignal: @escaping @Sendable () -> Void) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { fatalError("cannot make a pipe for signals: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        stopSignalPipe = ends[1]
        let handler: @convention(c) (Int32) -> Void = { _ in
            var byte: UInt8 = 1
            _ = write(stopSignalPipe, &byte, 1)
        }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handler
        #else
        action.__sigaction_u.__sa_handler = handler
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for signal in signals { sigaction(signal, &action, nil) }
        // A process inherits its parent's blocked signals; a worker spawned from a thread that
        // blocks them (Foundation's `Process` from a Dispatch thread does) would hold them
        // pending forever. This thread, which lives as long as the command, takes them.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in signals { sigaddset(&unblocked, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        let readEnd = ends[0]
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while true {
                let got = read(readEnd, &byte, 1)
                if got == 1 { onSignal() } else if got < 0, errno == EINTR { continue } else { return }
            }
        }
    }
}
