/// The CRM schema, as numbered migrations written once for each database. A database
/// records the migrations it has had in `clientele_schema_migrations`; an export applies
/// the missing ones first, under the database's write lock (SQLite's `BEGIN IMMEDIATE`,
/// a PostgreSQL advisory lock), so that two exports meeting a new database do not both
/// create the tables. A migration is never edited once released: a change is a new one.
///
/// Tables (README, "CRM export", shows them with their meaning):
/// - `runs`: one row per exported job; `id` is the database's own key, kept across
///   re-exports of the job so that re-exporting leaves exactly the same rows.
/// - `segments`: one row per segment and run, the profile's columns.
/// - `customer_segments`: one row per customer and run. It has no foreign keys: PostgreSQL
///   checks those row by row during a COPY, which more than doubled the load time of a
///   million customers. The export keeps them true instead: `run_id` is the run it has just
///   written, and every segment is checked against profiles.csv (`AssignmentRows`).
/// - `current_customer_segments` (view): each customer's row from the newest run that has
///   the customer, newest by `created` then job id, which is what a CRM reads.
///
/// `"T"` keeps the literature's capital (and the assignments file's column name), so it is
/// quoted, which PostgreSQL needs to keep it from becoming `t`.
enum Dialect {
    case sqlite
    case postgres
}

struct Migration {
    let version: Int
    let summary: String
    let sqlite: [String]
    let postgres: [String]

    func statements(_ dialect: Dialect) -> [String] {
        dialect == .sqlite ? sqlite : postgres
    }
}

enum Schema {
    /// Refuses a database that records a migration this Clientele does not know: a newer
    /// Clientele's schema, whose tables this one would load rows into as if they were its own.
    static func checkKnown(_ applied: Set<Int>, location: String) throws {
        let known = Set(migrations.map(\.version))
        guard let newer = applied.subtracting(known).max() else { return }
        throw CRMStoreError.database(location, "it has schema version \(newer), newer than this Clientele's \(known.max() ?? 0); export with a Clientele that knows it")
    }

    static let migrationsTable = """
        CREATE TABLE IF NOT EXISTS clientele_schema_migrations (
            version INTEGER PRIMARY KEY,
            summary TEXT NOT NULL)
        """

    static let migrations: [Migration] = [
        Migration(
            version: 1,
            summary: "runs, segments, customer_segments and current_customer_segments",
            sqlite: [
                """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY,
                    job_id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created TEXT NOT NULL,
                    clientele_version TEXT,
                    job TEXT NOT NULL CHECK (json_valid(job)),
                    models TEXT NOT NULL CHECK (json_valid(models)),
                    k INTEGER NOT NULL)
                """,
                """
                CREATE TABLE segments (
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    segment_id INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    share REAL,
                    share_of_clv REAL,
                    mean_p_alive REAL,
                    churn_rate REAL,
                    total_clv REAL,
                    mean_clv REAL,
                    feature_statistics TEXT NOT NULL CHECK (json_valid(feature_statistics)),
                    PRIMARY KEY (run_id, segment_id)) WITHOUT ROWID
                """,
                """
                CREATE TABLE customer_segments (
                    run_id INTEGER NOT NULL,
                    customer_id TEXT NOT NULL,
                    segment INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    frequency REAL,
                    recency REAL,
                    "T" REAL,
                    monetary_value REAL,
                    expected_purchases REAL,
                    p_alive REAL,
                    churn_probability REAL,
                    clv REAL,
                    PRIMARY KEY (run_id, customer_id)) WITHOUT ROWID
                """,
                "CREATE INDEX customer_segments_by_customer ON customer_segments(customer_id)",
                currentCustomerSegments,
            ],
            postgres: [
                """
                CREATE TABLE runs (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    job_id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    created TIMESTAMPTZ NOT NULL,
                    clientele_version TEXT,
                    job JSONB NOT NULL,
                    models JSONB NOT NULL,
                    k INTEGER NOT NULL)
                """,
                """
                CREATE TABLE segments (
                    run_id BIGINT NOT NULL REFERENCES runs(id),
                    segment_id INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    share DOUBLE PRECISION,
                    share_of_clv DOUBLE PRECISION,
                    mean_p_alive DOUBLE PRECISION,
                    churn_rate DOUBLE PRECISION,
                    total_clv DOUBLE PRECISION,
                    mean_clv DOUBLE PRECISION,
                    feature_statistics JSONB NOT NULL,
                    PRIMARY KEY (run_id, segment_id))
                """,
                """
                CREATE TABLE customer_segments (
                    run_id BIGINT NOT NULL,
                    customer_id TEXT NOT NULL,
                    segment INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    frequency DOUBLE PRECISION,
                    recency DOUBLE PRECISION,
                    "T" DOUBLE PRECISION,
                    monetary_value DOUBLE PRECISION,
                    expected_purchases DOUBLE PRECISION,
                    p_alive DOUBLE PRECISION,
                    churn_probability DOUBLE PRECISION,
                    clv DOUBLE PRECISION,
                    PRIMARY KEY (run_id, customer_id))
                """,
                "CREATE INDEX customer_segments_by_customer ON customer_segments(customer_id)",
                currentCustomerSegments,
            ]),
    ]

    static let currentCustomerSegments = """
        CREATE VIEW current_customer_segments AS
        SELECT customer_id, job_id, run_id, created, segment, label, frequency, recency, "T", monetary_value,
               expected_purchases, p_alive, churn_probability, clv
        FROM (SELECT c.*, r.job_id, r.created,
                     ROW_NUMBER() OVER (PARTITION BY c.customer_id ORDER BY r.created DESC, r.job_id DESC) AS newest_first
              FROM customer_segments c JOIN runs r ON r.id = c.run_id) ranked
        WHERE newest_first = 1
        """

    /// The columns of `customer_segments` that an export fills from assignments.csv, in
    /// `AssignmentRows`' order.
    static let customerColumns = ["run_id", "customer_id", "segment", "label"] + AssignmentRows.measureColumns
}
