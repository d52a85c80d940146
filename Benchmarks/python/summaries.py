"""Transactions -> calibration/holdout summaries, timed side by side.

Each tool reads the same CSV, builds the summary with lifetimes' meaning (daily periods,
durations in days, monetary value = mean of the repeat days) and writes it as CSV. Then
every tool's result is compared with Clientele's on every customer. Prints a row of
compare-python.sh's table per peer.

Usage: python summaries.py TX.csv CALIBRATION_END OBSERVATION_END CLIENTELE_BINARY WORKDIR [tool ...]
"""
import os
import subprocess
import sys
import time

import pandas as pd

path, cal_end, obs_end, clientele, workdir = sys.argv[1:6]
tools = sys.argv[6:] or ["clientele", "polars", "duckdb", "pandas+lifetimes"]
COLUMNS = ["frequency", "recency", "T", "monetary_value", "frequency_holdout", "monetary_value_holdout"]


def run_clientele(out):
    subprocess.run([clientele, "summarize", path, "--amount-column", "amount", "--date-format", "yyyy-MM-dd",
                    "--calibration-end", cal_end, "--observation-end", obs_end, "--output", out],
                   check=True, stdout=subprocess.DEVNULL)


def run_polars(out):
    import polars as pl
    cal = pl.lit(cal_end).str.to_date()
    obs = pl.lit(obs_end).str.to_date()
    df = pl.read_csv(path, schema_overrides={"customer_id": pl.Utf8, "date": pl.Date})
    daily = df.filter(pl.col("date") <= obs).group_by(["customer_id", "date"]).agg(pl.col("amount").sum())
    calibration = (daily.filter(pl.col("date") <= cal).group_by("customer_id").agg(
        first=pl.col("date").min(), last=pl.col("date").max(), n=pl.len(),
        total=pl.col("amount").sum(), first_amount=pl.col("amount").sort_by("date").first()))
    summary = calibration.select(
        "customer_id",
        frequency=pl.col("n") - 1,
        recency=(pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64),
        T=(cal - pl.col("first")).dt.total_days().cast(pl.Float64),
        monetary_value=pl.when(pl.col("n") > 1).then((pl.col("total") - pl.col("first_amount")) / (pl.col("n") - 1)).otherwise(0.0))
    # lifetimes' holdout spend is the mean of the holdout rows, not of the holdout days.
    holdout = df.filter((pl.col("date") > cal) & (pl.col("date") <= obs)).group_by("customer_id").agg(
        frequency_holdout=pl.col("date").n_unique(), monetary_value_holdout=pl.col("amount").mean())
    result = summary.join(holdout, on="customer_id", how="left").with_columns(
        pl.col("frequency_holdout").fill_null(0), pl.col("monetary_value_holdout").fill_null(0.0),
        duration_holdout=(obs - cal).dt.total_days().cast(pl.Float64))
    result.write_csv(out)


def run_duckdb(out):
    import duckdb
    duckdb.sql(f"""
        COPY (
        WITH rows AS (
            SELECT * FROM read_csv('{path}', types={{'customer_id': 'VARCHAR', 'date': 'DATE'}})
            WHERE date <= DATE '{obs_end}'),
        daily AS (SELECT customer_id, date, sum(amount) AS amount FROM rows GROUP BY customer_id, date),
        calibration AS (
            SELECT customer_id, min(date) AS first, max(date) AS last, count(*) AS n, sum(amount) AS total,
                   arg_min(amount, date) AS first_amount
            FROM daily WHERE date <= DATE '{cal_end}' GROUP BY customer_id),
        holdout AS (
            SELECT customer_id, count(DISTINCT date) AS frequency_holdout, avg(amount) AS monetary_value_holdout
            FROM rows WHERE date > DATE '{cal_end}' GROUP BY customer_id)
        SELECT c.customer_id, n - 1 AS frequency, CAST(last - first AS DOUBLE) AS recency,
               CAST(DATE '{cal_end}' - first AS DOUBLE) AS T,
               CASE WHEN n > 1 THEN (total - first_amount) / (n - 1) ELSE 0 END AS monetary_value,
               coalesce(frequency_holdout, 0) AS frequency_holdout,
               coalesce(monetary_value_holdout, 0) AS monetary_value_holdout,
               CAST(DATE '{obs_end}' - DATE '{cal_end}' AS DOUBLE) AS duration_holdout
        FROM calibration c LEFT JOIN holdout h USING (customer_id)
        ) TO '{out}' (HEADER, DELIMITER ',')""")


def run_lifetimes(out):
    from lifetimes.utils import calibration_and_holdout_data
    df = pd.read_csv(path, dtype={"customer_id": str})
    summary = calibration_and_holdout_data(df, "customer_id", "date", calibration_period_end=cal_end,
                                           observation_period_end=obs_end, monetary_value_col="amount")
    summary = summary.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T",
                                      "monetary_value_cal": "monetary_value"})
    summary.to_csv(out)


RUNNERS = {"clientele": run_clientele, "polars": run_polars, "duckdb": run_duckdb, "pandas+lifetimes": run_lifetimes}


def load(out):
    return pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id").sort_index()


def agrees(reference, other):
    if len(reference) != len(other) or not reference.index.equals(other.index):
        return "no (customers differ)"
    for column in COLUMNS:
        a, b = reference[column].to_numpy(float), other[column].to_numpy(float)
        if not (abs(a - b) <= 1e-6 * (1 + abs(a))).all():
            return f"no ({column})"
    return "yes"


results = {}
for tool in tools:
    out = os.path.join(workdir, f"summary-{tool}.csv")
    started = time.perf_counter()
    RUNNERS[tool](out)
    results[tool] = (time.perf_counter() - started, out)

# One row per peer of the table compare-python.sh prints (fits.py's columns).
reference = load(results["clientele"][1]) if "clientele" in results else None
base = results["clientele"][0] if "clientele" in results else None
for tool, (seconds, out) in results.items():
    if tool == "clientele":
        continue
    ours = f"{base:.2f}" if base else "—"
    ratio = f"{seconds / base:.1f}" if base else "—"
    agreement = "—" if reference is None else agrees(reference, load(out))
    print(f"| transactions → calibration/holdout summary (read, summarise, write CSV) | {tool} | {seconds:.2f} | {ours} | {ratio} | {agreement} |")
