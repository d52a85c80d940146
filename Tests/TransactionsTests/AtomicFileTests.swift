import Foundation
import Files
import Testing
@testable import Transactions

/// Output files appear whole or not at all, together, and an existing target is treated as
/// what it is: a file replaced with its permissions kept, a link followed, a device or a named
/// pipe written to in place, a directory refused.
@Suite struct AtomicFileTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func contents(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    func mode(_ path: String) -> mode_t {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_mode : 0
    }

    @Test func aReplacedFileKeepsItsPermissions() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let path = directory + "/summary.csv"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, 0o600) == 0)
        try writeFileAtomically(Array("new\n".utf8), to: path)
        #expect(try contents(path) == "new\n")
        #expect(mode(path) & 0o7777 == 0o600)
        #expect(mode(path) & S_IFMT == S_IFREG)
        #expect(FileTree.names(in: directory) == ["summary.csv"])
    }

    /// A file made while it is written: the pieces in order, past the 8 MiB buffer; a producer
    /// that fails halfway publishes nothing and leaves no temporary file; a device that refuses
    /// the bytes stops the producer with the write's error.
    @Test func aProducedFileIsWrittenWholeOrNotAtAll() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let path = directory + "/predictions.csv"
        let piece = [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20)
        try writeFileAtomically(to: path) { emit in
            for k in 0..<5 { try emit(Array("piece \(k)\n".utf8) + piece) }
        }
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(written.count == 5 * (8 + (3 << 20)))
        #expect(written.prefix(8) == Data("piece 0\n".utf8))
        #expect(Data(written[(4 * (8 + (3 << 20)))...].prefix(8)) == Data("piece 4\n".utf8))

        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try writeFileAtomically(to: path) { emit in
                try emit(Array("half\n".utf8))
                throw Stop()
            }
        }
        #expect(FileManager.default.contents(atPath: path) == written)
        #expect(FileTree.names(in: directory) == ["predictions.csv"])

        if FileTree.exists("/dev/full") {
            nonisolated(unsafe) var emitted = 0
            #expect(throws: TransactionsError.self) {
                try writeFileAtomically(to: "/dev/full") { emit in
                    for _ in 0..<3 {
                        try emit(piece)
                        emitted += 1
                    }
                }
            }
            #expect(emitted == 0)
        }
    }

    @Test func aSymbolicLinkIsFollowedAndStays() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        try FileManager.default.createDirectory(atPath: directory + "/kept", withIntermediateDirectories: false)
        let target = directory + "/kept/target.csv", link = directory + "/link.csv"
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(symlink("kept/target.csv", link) == 0)
        try writeFileAtomically(Array("new\n".utf8), to: link)
        #expect(mode(link) & S_IFMT == S_IFLNK)
        #expect(try contents(target) == "new\n")
        #expect(FileTree.names(in: directory + "/kept") == ["target.csv"])

        // A link that leads nowhere is refused, and nothing is created.
        let dangling = directory + "/dangling.csv"
        #expect(symlink("missing/file.csv", dangling) == 0)
        #expect(throws: TransactionsError.self) { try writeFileAtomically(Array("x".utf8), to: dangling) }
        #expect(FileTree.names(in: directory)?.sorted() == ["dangling.csv", "kept", "link.csv"])
    }

    @Test func aDeviceOrANamedPipeIsWrittenToInPlace() throws {
        try writeFileAtomically(Array("nothing to keep\n".utf8), to: "/dev/null")
        #expect(mode("/dev/null") & S_IFMT == S_IFCHR)

        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let pipe = directory + "/pipe"
        #expect(mkfifo(pipe, 0o600) == 0)
        let read = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var received = Data()
        Thread.detachNewThread {
            if let handle = FileHandle(forReadingAtPath: pipe) { received = handle.readDataToEndOfFile() }
            read.signal()
        }
        try writeFilesAtomically([(pieces: [Array("one,".utf8), Array("two\n".utf8)], path: pipe)])
        read.wait()
        #expect(String(decoding: received, as: UTF8.self) == "one,two\n")
        #expect(mode(pipe) & S_IFMT == S_IFIFO)

        // A device that refuses the bytes fails the write.
        if FileTree.exists("/dev/full") {
            #expect(throws: TransactionsError.self) { try writeFileAtomically([UInt8](repeating: 1, count: 10), to: "/dev/full") }
            #expect(mode("/dev/full") & S_IFMT == S_IFCHR)
        }
    }

    /// One file given for two outputs (by two spellings of its path) is refused before
    /// anything is written.
    @Test func oneFileForTwoOutputsIsRefused() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let path = directory + "/a.csv"
        try "earlier\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect {
            try writeFilesAtomically([(pieces: [Array("one".utf8)], path: path), (pieces: [Array("two".utf8)], path: directory + "/./a.csv")])
        } throws: { error in
            "\(error)" == "\(directory)/./a.csv: is given for two outputs; give each output a file of its own"
        }
        #expect(try contents(path) == "earlier\n")
        #expect(FileTree.names(in: directory) == ["a.csv"])
    }

    @Test func aDirectoryIsRefused() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        #expect {
            try writeFileAtomically(Array("x".utf8), to: directory)
        } throws: { error in
            "\(error)" == "\(directory): is a directory; give the path of a file to write"
        }
        #expect(FileTree.names(in: directory) == [])
    }

    /// The outputs of one command: when one cannot be written, none is, and no temporary
    /// file is left.
    @Test func filesWrittenTogetherAppearTogetherOrNotAtAll() throws {
        let directory = try Self.directory()
        defer { FileTree.removeTree(directory) }
        let first = directory + "/assignments.csv", second = directory + "/profiles.json"
        try "old assignments\n".write(toFile: first, atomically: false, encoding: .utf8)
        #expect(throws: TransactionsError.self) {
            try writeFilesAtomically([(pieces: [Array("new assignments\n".utf8)], path: first),
                                      (pieces: [Array("{}".utf8)], path: directory + "/missing/profiles.json")])
        }
        #expect(try contents(first) == "old assignments\n")
        #expect(FileTree.names(in: directory) == ["assignments.csv"])

        try writeFilesAtomically([(pieces: [Array("new assignments\n".utf8)], path: first),
                                  (pieces: [Array("{}".utf8)], path: second)])
        #expect(try contents(first) == "new assignments\n" && contents(second) == "{}")
        #expect(FileTree.names(in: directory)?.sorted() == ["assignments.csv", "profiles.json"])
    }
}
