#!/usr/bin/env bash
# The side-by-side comparison with the Python tools analysts use today: the same generated
# log through Clientele, polars, DuckDB and pandas + lifetimes, timed in one run, with a
# check that every tool's summary agrees with Clientele's on every customer; then, in one
# table, the model fits and scoring on the calibration summary against lifetimes, k-means
# against scikit-learn, and the logistic churn model against statsmodels and scikit-learn
# (and pymc-marketing's BG/NBD when CLIENTELE_PYMC_VENV names a virtual environment that has it:
#   python3 -m venv /tmp/clientele-pymc-venv && /tmp/clientele-pymc-venv/bin/pip install pymc-marketing).
#
# The Python tools live in a throw-away virtual environment outside the repository
# (CLIENTELE_BENCH_VENV, default $TMPDIR/clientele-bench-venv); they are benchmark peers
# only, never a dependency of Clientele.
#
# Usage: Benchmarks/compare-python.sh [CUSTOMERS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-1000000}
venv=${CLIENTELE_BENCH_VENV:-${TMPDIR:-/tmp}/clientele-bench-venv}
work=$(mktemp -d "${TMPDIR:-/tmp}/clientele-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT

[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
# Installed when one is missing, so that a virtual environment made for an earlier list gains
# what was added, and a complete one needs no network.
"$venv/bin/python" -c "import lifetimes, pandas, numpy, scipy, polars, duckdb, sklearn, statsmodels" 2>/dev/null \
  || "$venv/bin/pip" install -q -r Benchmarks/python/requirements.txt
swift build -c release --product clientele --static-swift-stdlib >/dev/null
bin=.build/release/clientele
"$bin" simulate --customers "$customers" --seed 42 --output "$work/tx.csv"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $("$bin" doctor | grep -i blas || true)"
echo "the log: $customers customers, $(($(wc -l < "$work/tx.csv") - 1)) transactions, $(du -m "$work/tx.csv" | cut -f1) MB; the stages after the summary run on its calibration summary (weeks)"
echo
# One table: each script prints its rows.
echo "| stage | peer | peer seconds | Clientele seconds | × faster | estimates agree |"
echo "| --- | --- | ---: | ---: | ---: | --- |"
"$venv/bin/python" Benchmarks/python/summaries.py "$work/tx.csv" 1997-12-31 1998-06-30 "$bin" "$work"
"$bin" summarize "$work/tx.csv" --amount-column amount --date-format yyyy-MM-dd --unit weeks \
  --calibration-end 1997-12-31 --output "$work/summary-weeks.csv" >/dev/null
"$venv/bin/python" Benchmarks/python/fits.py "$work/summary-weeks.csv" "$bin" "$work" --skip-pareto-nbd-above 200000
"$venv/bin/python" Benchmarks/python/segments_churn.py "$work/summary-weeks.csv" "$bin" "$work"
if [[ -n ${CLIENTELE_PYMC_VENV:-} ]]; then
  start=$(date +%s.%N)
  "$bin" fit bgnbd "$work/summary-weeks.csv" --unit weeks --output "$work/bgnbd.json" >/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  "$CLIENTELE_PYMC_VENV/bin/python" Benchmarks/python/pymc_fits.py "$work/summary-weeks.csv" "$work/bgnbd.json" "$seconds"
fi
