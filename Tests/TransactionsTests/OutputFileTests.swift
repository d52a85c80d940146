import Foundation
import Files
import Testing
@testable import Transactions

/// Result files written past the page cache hold exactly the bytes given, however they are
/// cut, and really leave the cache alone where the file system takes direct writes.
@Suite struct OutputFileTests {
    /// Bytes that differ from one position to the next, so a lost, doubled or moved block shows.
    static func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) >> 7) }
    }

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: [
        [0], [1], [4095], [4096], [4097], [8192, 1], [3, 5000, 4093, 17],
        // Across a full buffer (16 KiB here), on and off its boundary.
        [16_384], [16_383, 1, 16_384, 2], [40_000], [70_001, 9],
    ])
    func theFileHoldsTheBytesAppended(pieces: [Int]) throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        for direct in [true, false] {
            let path = directory + "/out-\(direct).bin"
            let file = try #require(OutputFile(creating: path, bufferBytes: 16_384, direct: direct))
            var expected: [UInt8] = []
            for (k, count) in pieces.enumerated() {
                let bytes = Self.pattern(count, seed: k)
                expected += bytes
                #expect(file.append(bytes) == 0)
            }
            #expect(file.finish() == 0)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == expected)
            if !direct { #expect(file.directBytes == 0) }
        }
    }

    @Test func anExistingFileIsReplacedWhole() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let path = directory + "/out.bin"
        try Data(Self.pattern(100_000, seed: 1)).write(to: URL(fileURLWithPath: path))
        let file = try #require(OutputFile(creating: path, bufferBytes: 8192))
        #expect(file.append(Self.pattern(5000, seed: 2)) == 0)
        #expect(file.finish() == 0)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == Self.pattern(5000, seed: 2))
    }

    @Test func aMissingDirectoryIsRefusedWithItsReason() throws {
        #expect(OutputFile(creating: "/nonexistent-\(UUID().uuidString)/out.bin") == nil)
        #expect(errno == ENOENT)
    }

    /// On ext4 (the file system of the machines Clientele is built and tested on) the blocks
    /// go to the disk directly: none of the file's whole pages is in the page cache after
    /// writing, where a cached write would leave all of them there.
    @Test func directWritesLeaveThePageCacheAlone() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        guard fileSystemType(of: directory) == "ext4" else { return }
        let path = directory + "/out.bin"
        let size = 4 << 20 + 123
        let file = try #require(OutputFile(creating: path, bufferBytes: 1 << 20))
        #expect(file.isDirect)
        #expect(file.append(Self.pattern(size, seed: 3)) == 0)
        #expect(file.finish() == 0)
        #expect(file.directBytes == size / 4096 * 4096)
        #expect(!file.isDirect)  // the tail went through the cache
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == Self.pattern(size, seed: 3))
        // Count cached pages afresh (reading the file above cached it): write it again.
        let again = try #require(OutputFile(creating: path, bufferBytes: 1 << 20))
        #expect(again.append(Self.pattern(size, seed: 4)) == 0)
        #expect(again.finish() == 0)
        #expect(cachedPages(path).prefix(size / 4096).allSatisfy { !$0 })
        #expect(cachedPages(path).last == true)
        // The same file written through the cache is in it.
        let cached = try #require(OutputFile(creating: path, bufferBytes: 1 << 20, direct: false))
        #expect(cached.append(Self.pattern(size, seed: 5)) == 0)
        #expect(cached.finish() == 0)
        #expect(cachedPages(path).allSatisfy { $0 })
    }

    /// The type of the file system `path` is on: that of the longest mount point above it.
    func fileSystemType(of path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2 else { continue }
            let point = fields[1]
            let covers = point == "/" || real == point || real.hasPrefix(point + "/")
            if covers, point.count >= (best?.point.count ?? -1) { best = (point, fields[2]) }
        }
        return best?.type
    }

    /// Whether each page of the file is in the page cache (`mincore` over a mapping of it).
    func cachedPages(_ path: String) -> [Bool] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var status = stat()
        fstat(fd, &status)
        let size = Int(status.st_size)
        guard size > 0, let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else { return [] }
        defer { munmap(mapped, size) }
        var resident = [UInt8](repeating: 0, count: (size + 4095) / 4096)
        guard mincore(mapped, size, &resident) == 0 else { return [] }
        return resident.map { $0 & 1 == 1 }
    }
}
