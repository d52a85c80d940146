#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinearAlgebra

/// Which BLAS this process actually runs, found at run time.
///
/// Clientele links the generic `libblas.so.3`; Debian's alternatives decide whether that is
/// the reference BLAS or OpenBLAS. OpenBLAS exports `openblas_get_config`; the reference
/// BLAS does not. The files come from the process's memory map, which names what the
/// dynamic linker loaded after following the alternatives' links.
public enum BLASLibrary {
    public static var isOpenBLAS: Bool { symbol("openblas_get_config") != nil }

    /// The BLAS library files mapped into this process, as the dynamic linker resolved them
    /// (read from `/proc/self/maps`; empty where that does not exist).
    public static var loadedFiles: [String] { mappedFiles { $0.contains("blas") } }

    /// The LAPACK library files mapped into this process.
    public static var loadedLAPACKFiles: [String] { mappedFiles { $0.contains("lapack") } }

    private static func mappedFiles(named matches: (String) -> Bool) -> [String] {
        var files: [String] = []
        forEachLine(of: "/proc/self/maps") { text in
            guard let slash = text.firstIndex(of: "/") else { return true }
            let path = String(text[slash...])
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if matches(name), !files.contains(path) { files.append(path) }
            return true
        }
        return files
    }

    /// Calls `body` with each line of a text file (without its newline) until it returns
    /// false; nothing when the file cannot be opened. Lines are read with the C library, as
    /// this module does not link Foundation.
    private static func forEachLine(of path: String, _ body: (String) -> Bool) {
        guard let file = fopen(path, "r") else { return }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1 << 14)
        while fgets(&line, Int32(line.count), file) != nil {
            let length = line.firstIndex(of: 0) ?? line.count
            guard body(String(decoding: line[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingTrailingNewline) else { return }
        }
    }

    /// The threads OpenBLAS may use for one call, or nil with the reference BLAS.
    public static var threadCount: Int? {
        symbol("openblas_get_num_threads").map { Int(unsafeBitCast($0, to: (@convention(c) () -> Int32).self)()) }
    }

    /// The variables OpenBLAS reads its thread count from, in the order it reads them.
    public static let threadVariables = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"]

    /// The thread count the environment asks OpenBLAS for: the first of `threadVariables`
    /// that holds a positive number (read as OpenBLAS reads it, its leading digits), or nil.
    /// OpenBLAS takes an empty variable or 0 as unset.
    public static func requestedThreads(_ environment: [String: String]) -> Int? {
        for name in threadVariables {
            guard let value = environment[name] else { continue }
            let digits = value.drop { $0 == " " }.prefix { $0.isASCII && $0.isNumber }
            if let count = Int(digits), count > 0 { return count }
        }
        return nil
    }

    /// Keeps every BLAS call on the thread that makes it, unless the environment asks for a
    /// thread count through one of `threadVariables` (then OpenBLAS does as it says). Clientele splits its numerics
    /// across the cores itself, a block of rows per worker, so OpenBLAS's own threads could
    /// only compete with those workers; worse, after each call they share they spin in
    /// `sched_yield` waiting for the next. On a 1M-customer job that spinning took 0.14 s of
    /// CPU, a sixth of the churn model's, for no work. The helper threads OpenBLAS started as
    /// it loaded are stopped too (`blas_thread_shutdown_`): a call of one thread never hands
    /// them work, but they spun in `sched_yield` for their first 0.1 s all the same, a core
    /// taken from the transaction log's reader. Returns whether the count was set (false
    /// with the reference BLAS, which has no threads).
    @discardableResult
    public static func keepCallsOnTheirThread() -> Bool {
        let environment = threadVariables.reduce(into: [String: String]()) { found, name in
            if let value = getenv(name) { found[name] = String(cString: value) }
        }
        guard requestedThreads(environment) == nil,
              let set = symbol("openblas_set_num_threads")
        else { return false }
        unsafeBitCast(set, to: (@convention(c) (Int32) -> Void).self)(1)
        // Only OpenBLAS's own pool (the pthreads build; a serial build has none, and OpenMP's
        // threads are libgomp's). OpenBLAS starts it again by itself should a call ever want
        // more than one thread.
        if hasThreadPool, let shutdown = symbol("blas_thread_shutdown_") {
            _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
        }
        return true
    }

    /// Whether this is OpenBLAS built with its own pool of threads (`openblas_get_parallel`
    /// 1: pthreads; 0 is the serial build, 2 OpenMP's).
    private static var hasThreadPool: Bool {
        symbol("openblas_get_parallel").map { unsafeBitCast($0, to: (@convention(c) () -> Int32).self)() == 1 } ?? false
    }

    /// Whether OpenBLAS's own pool of helper threads is running (its `blas_server_avail`);
    /// nil with the reference BLAS or an OpenBLAS without such a pool (serial or OpenMP).
    public static var helperThreadsRunning: Bool? {
        guard hasThreadPool else { return nil }
        return symbol("blas_server_avail").map { $0.assumingMemoryBound(to: Int32.self).pointee != 0 }
    }

    /// The kernels OpenBLAS chose for this CPU (`openblas_get_corename`, e.g. "Haswell"), or
    /// nil with the reference BLAS.
    public static var coreName: String? {
        symbol("openblas_get_corename").flatMap {
            unsafeBitCast($0, to: (@convention(c) () -> UnsafePointer<CChar>?).self)().map { String(cString: $0) }
        }
    }

    /// The instruction-set flags of the CPU (`/proc/cpuinfo`'s first "flags" line; empty
    /// where that does not exist).
    public static var cpuFlags: Set<String> {
        var flags: Set<String> = []
        forEachLine(of: "/proc/cpuinfo") { text in
            guard text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") else { return true }
            flags = Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
            return false
        }
        return flags
    }

    /// The kernels to ask OpenBLAS for (its `OPENBLAS_CORETYPE`) when it has fallen back to
    /// its generic ones, "Prescott" (SSE3), on a CPU newer than it knows: OpenBLAS 0.3.21 does
    /// so on the Xeon of the README's "Performance" (family 6, model 207), which has AVX-512.
    /// "SkylakeX" for a CPU with AVX-512 (F, CD, BW, DQ, VL), "Haswell" for one with AVX2 and
    /// FMA; nil when OpenBLAS chose other kernels, when the environment already names a core
    /// type, or when the CPU has neither.
    /// The flags are read only when OpenBLAS fell back and nothing is requested.
    public static func betterCoreType(chosen: String?, cpuFlags readFlags: @autoclosure () -> Set<String>, requested: String?) -> String? {
        guard requested == nil, chosen?.lowercased() == "prescott" else { return nil }
        let flags = readFlags()
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if flags.contains("avx2"), flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// `betterCoreType` for this process: the kernels OpenBLAS chose, this CPU's flags and the
    /// environment's `OPENBLAS_CORETYPE`.
    public static var suggestedCoreType: String? {
        betterCoreType(chosen: coreName, cpuFlags: cpuFlags, requested: getenv("OPENBLAS_CORETYPE").map { String(cString: $0) })
    }

    /// One line: `OpenBLAS 0.3.21 … (1 thread per call, no helper threads), /usr/lib/…/libblas.so.3`
    /// or `reference BLAS, …`.
    public static var description: String {
        let file = loadedFiles.first ?? "no BLAS file found in the memory map"
        guard let config = symbol("openblas_get_config") else {
            return "reference BLAS (no OpenBLAS symbols), \(file)"
        }
        let getConfig = unsafeBitCast(config, to: (@convention(c) () -> UnsafePointer<CChar>?).self)
        let text = getConfig().map { String(cString: $0) } ?? "OpenBLAS"
        let idle = helperThreadsRunning == false ? ", no helper threads" : ""
        let threads = threadCount.map { " (\($0) thread\($0 == 1 ? "" : "s") per call\(idle))" } ?? ""
        return "OpenBLAS \(text.hasPrefix("OpenBLAS ") ? String(text.dropFirst(9)) : text)\(threads), \(file)"
    }

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        // A null handle is glibc's RTLD_DEFAULT: every object the process has loaded.
        dlsym(nil, name)
    }
}

private extension String {
    var trimmingTrailingNewline: String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
