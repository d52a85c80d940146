@testable import CRMStore
import Foundation
import Testing

/// What `--database` accepts, where the PostgreSQL password comes from (libpq's rules, worked
/// by hand), and the errors that bad result files give: the file, the line, the column and
/// what was expected.
@Suite struct ResultFileTests {
    @Test func databaseLocationsAreReadAsDocumented() throws {
        #expect(try DatabaseLocation(parsing: "sqlite:crm.db") == .sqlite(path: "crm.db"))
        #expect(try DatabaseLocation(parsing: "postgres://crm@db.example.com:6432/sales?sslmode=require")
                == .postgres(PostgresServer(user: "crm", host: "db.example.com", port: 6432, database: "sales", tls: .require)))
        #expect(try DatabaseLocation(parsing: "postgresql://crm@127.0.0.1/sales")
                == .postgres(PostgresServer(user: "crm", host: "127.0.0.1", port: 5432, database: "sales", tls: .disable)))
        #expect(throws: CRMStoreError.location("the URL holds a password; put it in PGPASSWORD or ~/.pgpass instead")) {
            try DatabaseLocation(parsing: "postgres://crm:secret@db/sales")
        }
        #expect(throws: CRMStoreError.self) { try DatabaseLocation(parsing: "mysql://crm@db/sales") }
        #expect(throws: CRMStoreError.self) { try DatabaseLocation(parsing: "postgres://crm@db/sales?sslmode=sometimes") }
        #expect(throws: CRMStoreError.self) { try DatabaseLocation(parsing: "postgres://db/sales") }
        // A port that would wrap round, an IPv6 address, a user that only looks like a password.
        for port in ["0", "65536", "99999", "99999999999999999999"] {
            #expect(throws: CRMStoreError.location("the port must be 1…65535, got \(port)")) {
                try DatabaseLocation(parsing: "postgres://crm@127.0.0.1:\(port)/crm")
            }
        }
        let ipv6 = try DatabaseLocation(parsing: "postgres://crm@[::1]:5433/crm")
        #expect(ipv6 == .postgres(PostgresServer(user: "crm", host: "::1", port: 5433, database: "crm")))
        #expect(ipv6.description == "postgres://crm@[::1]:5433/crm")
        let encoded = try DatabaseLocation(parsing: "postgres://u%3Asecret@127.0.0.1/my%20db")
        #expect(encoded == .postgres(PostgresServer(user: "u:secret", host: "127.0.0.1", database: "my db")))
        #expect(encoded.description == "postgres://u%3Asecret@127.0.0.1:5432/my%20db")
        // Decoded once: `%2541` is the text `%41`, not `A`.
        let once = try DatabaseLocation(parsing: "postgres://a%2541@[::1]:1/d%2541")
        #expect(once == .postgres(PostgresServer(user: "a%41", host: "::1", port: 1, database: "d%41")))
        #expect(once.description == "postgres://a%2541@[::1]:1/d%2541")
    }

    @Test func thePasswordComesFromPGPASSWORDThenThePasswordFile() throws {
        let server = PostgresServer(user: "crm", host: "db.example.com", port: 5433, database: "sales")
        let file = try temporaryDirectory() + "/pgpass"
        try """
            # comments and lines for other servers are passed over
            other.example.com:5433:sales:crm:not-this-one
            db.example.com:5432:sales:crm:wrong-port
            db.example.com:5433:*:crm:pa\\:ss\\\\word
            *:*:*:*:fallback
            """.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)

        #expect(PostgresPassword.lookup(for: server, environment: ["PGPASSWORD": "from-env", "PGPASSFILE": file]) == "from-env")
        #expect(PostgresPassword.lookup(for: server, environment: ["PGPASSFILE": file]) == "pa:ss\\word")
        var elsewhere = server
        elsewhere.host = "replica.example.com"
        #expect(PostgresPassword.lookup(for: elsewhere, environment: ["PGPASSFILE": file]) == "fallback")
        let home = (file as NSString).deletingLastPathComponent
        try FileManager.default.moveItem(atPath: file, toPath: home + "/.pgpass")
        #expect(PostgresPassword.lookup(for: server, environment: ["HOME": home]) == "pa:ss\\word")

        // A password file that others may read is ignored, as libpq ignores it.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: home + "/.pgpass")
        #expect(PostgresPassword.lookup(for: server, environment: ["HOME": home]) == nil)
    }

    /// A result without its job.json is refused with the system's reason, as for any file.
    @Test func aMissingJobFileIsRefusedWithTheReason() throws {
        let result = try makeResult(customers: 20)
        try FileManager.default.removeItem(atPath: result + "/job.json")
        let database = try temporaryDirectory() + "/crm.db"
        #expect(throws: CRMStoreError.file(result + "/job.json", "cannot read: No such file or directory")) {
            try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
        }
    }

    /// A result file that is a FIFO (or a device) is refused at once, not waited on.
    @Test(.timeLimit(.minutes(1))) func aResultFileThatIsNotARegularFileIsRefusedWithoutWaiting() throws {
        let database = try temporaryDirectory() + "/crm.db"
        for name in ["job.json", "profiles.csv", "assignments.csv", "models/bgnbd.json"] {
            let result = try makeResult(customers: 20)
            try FileManager.default.removeItem(atPath: result + "/" + name)
            #expect(mkfifo(result + "/" + name, 0o644) == 0)
            #expect(throws: CRMStoreError.file(result + "/" + name, "cannot read: not a regular file: a FIFO")) {
                try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
            }
        }
    }

    @Test func aBadAssignmentsFileIsReportedWhereItIsWrong() throws {
        let result = try makeResult(customers: 20)
        let path = result + "/assignments.csv"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        func expectError(_ content: [String], _ expected: CRMStoreError) throws {
            try (content.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let database = try temporaryDirectory() + "/crm.db"
            #expect(throws: expected) { try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database)) }
        }
        let header = lines[0]
        try expectError([header.replacingOccurrences(of: ",clv", with: "")] + lines.dropFirst(),
                        .record(path, line: 1, "missing column clv; expected " + header))
        try expectError([header + ",extra"] + lines.dropFirst(),
                        .field(path, line: 1, column: "extra", "unexpected; expected " + header))
        try expectError(Array(lines.prefix(4)) + ["C1,7,champions,1,2,3,4,5,0.5,0.5,10"],
                        .field(path, line: 5, column: "segment",
                               "expected one of the segment ids of profiles.csv (0, 1, 2, 3), got \"7\""))
        try expectError(Array(lines.prefix(3)) + ["C1,0,hibernating,1,2,3,4,5,0.5,0.5,10"],
                        .field(path, line: 4, column: "segment_label",
                               "expected \"champions\", the label of segment 0 in profiles.csv, got \"hibernating\""))
        try expectError(Array(lines.prefix(2)) + [",0,champions,1,2,3,4,5,0.5,0.5,10"],
                        .field(path, line: 3, column: "customer_id", "empty; expected the customer's id"))
        try expectError(Array(lines.prefix(2)) + ["C1,0,champions,1,2,3,4,5,inf,0.5,10"],
                        .field(path, line: 3, column: "p_alive", "expected a finite number, empty or nan, got \"inf\""))
        // Values no result holds, as an edited file can: a probability above 1, a negative count.
        try expectError(Array(lines.prefix(2)) + ["C1,0,champions,1,2,3,4,5,1.5,0.5,10"],
                        .field(path, line: 3, column: "p_alive", "expected a probability in [0, 1], got \"1.5\""))
        try expectError(Array(lines.prefix(2)) + ["C1,0,champions,-1,2,3,4,5,0.5,0.5,10"],
                        .field(path, line: 3, column: "frequency", "expected a count ≥ 0, got \"-1\""))
        // An id in Latin-1 (é as the lone byte E9), as an edited file can hold.
        try Data(Array((Array(lines.prefix(2)).joined(separator: "\n") + "\ncaf").utf8) + [0xE9] + Array(",0,champions,1,2,3,4,5,0.5,0.5,10\n".utf8))
            .write(to: URL(fileURLWithPath: path))
        #expect(throws: CRMStoreError.field(path, line: 3, column: "customer_id",
                                            #"customer id "caf\xE9" is not UTF-8; convert the file first (for a Latin-1 file: iconv -f latin1 -t utf-8)"#)) {
            try CRMExporter.export(resultDirectory: result, database: .sqlite(path: try temporaryDirectory() + "/crm.db"))
        }
        try expectError(Array(lines.prefix(2)) + ["C1,0,champions,1,2,3"],
                        .record(path, line: 3, "6 fields; expected 11"))
        try expectError(Array(lines.prefix(2)) + ["C1,0,\"champions,1,2,3,4,5,0.5,0.5,10"],
                        .record(path, line: 3, "a quoted field is not closed"))
    }

    @Test func aBadProfileOrJobFileIsReportedWhereItIsWrong() throws {
        let result = try makeResult(customers: 20)
        let database = try temporaryDirectory() + "/crm.db"
        let profiles = result + "/profiles.csv"
        let original = try String(contentsOfFile: profiles, encoding: .utf8)
        try original.replacingOccurrences(of: "id,label,", with: "id,label,rfm_score,")
            .write(toFile: profiles, atomically: true, encoding: .utf8)
        #expect(throws: CRMStoreError.field(profiles, line: 1, column: "rfm_score",
                                            "unexpected; profile columns beyond id,label,size,share,share_of_clv,mean_p_alive,churn_rate,total_clv,mean_clv are <mean|median|centroid>_<feature>")) {
            try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
        }
        try original.write(toFile: profiles, atomically: true, encoding: .utf8)
        try #"{"models": {}}"#.write(toFile: result + "/job.json", atomically: true, encoding: .utf8)
        #expect(throws: CRMStoreError.file(result + "/job.json", "key name: expected a string")) {
            try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
        }
        // A file cut short says so, and where JSON breaks is given by line and column.
        try #"{"name": "#.write(toFile: result + "/job.json", atomically: true, encoding: .utf8)
        #expect(throws: CRMStoreError.file(result + "/job.json", "it ends before its JSON is complete (a file cut short?)")) {
            try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database))
        }
        try "{\n  \"name\": x\n}".write(toFile: result + "/job.json", atomically: true, encoding: .utf8)
        let broken = try #require(throws: CRMStoreError.self) { try CRMExporter.export(resultDirectory: result, database: .sqlite(path: database)) }
        #expect("\(broken)".hasPrefix("\(result)/job.json: line 2, column 11: not valid JSON"), "\(broken)")
        #expect(!FileManager.default.fileExists(atPath: database), "nothing is created for a result that cannot be read")
    }

    @Test func profileStatisticsFollowTheFeaturesWhateverTheyAre() throws {
        let path = try temporaryDirectory() + "/profiles.csv"
        try #"""
            id,label,size,share,share_of_clv,mean_tenure,median_tenure,mean_p_alive,median_p_alive,churn_rate,total_clv,mean_clv
            0,"loyal, ""gold""",3,0.75,0.9,12.5,12,0.8,0.85,0.1,90,30
            1,lapsed,1,0.25,0.1,2,2,0.2,nan,,10,10
            """#.write(toFile: path, atomically: true, encoding: .utf8)
        let segments = try SegmentProfile.read(path: path)
        #expect(segments.map(\.label) == ["loyal, \"gold\"", "lapsed"])
        #expect(segments.map(\.featureStatistics) == [
            #"{"tenure":{"mean":12.5,"median":12.0},"p_alive":{"mean":0.8,"median":0.85}}"#,
            #"{"tenure":{"mean":2.0,"median":2.0},"p_alive":{"mean":0.2,"median":null}}"#,
        ])
        #expect(segments[1].churnRate == nil)
        #expect(segments[0].shareOfCLV == 0.9)

        // mean_clv given twice (as the fixed column and the feature's mean) must agree.
        try """
            id,label,size,share,share_of_clv,mean_p_alive,churn_rate,total_clv,mean_clv,median_clv,mean_clv
            0,all,2,1,1,0.5,0.1,20,10,10,10
            1,none,0,0,0,,,0,0,0,1
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CRMStoreError.field(path, line: 3, column: "mean_clv", "appears twice with different values")) {
            try SegmentProfile.read(path: path)
        }
    }
}
