/// Wakes the worker when a job arrives in `incoming/`, through Linux inotify.
///
/// Only a hint: inotify does not see renames made by other hosts on a shared (NFS) queue, so
/// the worker polls as well, at its poll interval. Where inotify is missing (other systems,
/// exhausted watches) `start` returns nil and polling alone serves.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

final class DirectoryWatcher: Sendable {
    private let descriptor: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts watching `directory`; `onChange` runs on the watcher's thread after each batch
    /// of events (a file renamed or written into the directory).
    static func start(_ directory: String, onChange: @escaping @Sendable () -> Void) -> DirectoryWatcher? {
        #if os(Linux)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        guard inotify_add_watch(fd, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0 else {
            close(fd)
            return nil
        }
        let watcher = DirectoryWatcher(descriptor: fd)
        Thread.detachNewThread { watcher.loop(onChange) }
        return watcher
        #else
        return nil
        #endif
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    private func loop(_ onChange: @Sendable () -> Void) {
        var events = [UInt8](repeating: 0, count: 4096)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while !stopped.load(ordering: .relaxed) {
            // A short timeout so that `stop` is noticed without closing the descriptor under
            // a blocked reader.
            guard poll(&poller, 1, 200) > 0 else { continue }
            var changed = false
            while events.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 { changed = true }
            if changed { onChange() }
        }
        finished.signal()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
        close(descriptor)
    }
}
