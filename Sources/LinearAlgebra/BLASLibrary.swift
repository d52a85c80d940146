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
        guard let maps = fopen("/proc/self/maps", "r") else { return [] }
        defer { fclose(maps) }
        var files: [String] = []
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), maps) != nil {
            let length = line.firstIndex(of: 0) ?? line.count
            let text = String(decoding: line[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingTrailingNewline
            guard let slash = text.firstIndex(of: "/") else { continue }
            let path = String(text[slash...])
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if matches(name), !files.contains(path) { files.append(path) }
        }
        return files
    }

    /// One line: `OpenBLAS 0.3.21 … (2 threads), /usr/lib/…/libblas.so.3` or `reference BLAS, …`.
    public static var description: String {
        let file = loadedFiles.first ?? "no BLAS file found in the memory map"
        guard let config = symbol("openblas_get_config") else {
            return "reference BLAS (no OpenBLAS symbols), \(file)"
        }
        let getConfig = unsafeBitCast(config, to: (@convention(c) () -> UnsafePointer<CChar>?).self)
        let text = getConfig().map { String(cString: $0) } ?? "OpenBLAS"
        var threads = ""
        if let count = symbol("openblas_get_num_threads") {
            let getThreads = unsafeBitCast(count, to: (@convention(c) () -> Int32).self)
            threads = " (\(getThreads()) threads)"
        }
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
