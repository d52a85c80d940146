"""Expected customer summaries from lifetimes 0.11.3, for TransactionsTests.

Run from the repository root in a throw-away virtual environment outside the repository:

    python3 -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3 'pandas<2.2' 'numpy<2' 'scipy<1.14'
    /tmp/lifetimes-venv/bin/python Tests/TransactionsTests/Fixtures/make_fixtures.py
"""
import os

import pandas as pd
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

HERE = os.path.dirname(os.path.abspath(__file__))


def write(frame, name):
    frame = frame.reset_index().rename(columns={"index": "customer_id"}).sort_values("customer_id")
    frame.to_csv(os.path.join(HERE, name), index=False, float_format="%.17g")
    print(name, len(frame))


sample = pd.read_csv("datasets/cdnow/CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str,
                     names=["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"])
sample["dollar_value"] = sample["dollar_value"].astype(float)
for unit, multiplier in [("weeks", 7), ("days", 1)]:
    write(calibration_and_holdout_data(sample, "customer_id", "date", calibration_period_end="19970930",
                                       observation_period_end="19980630", freq="D", freq_multiplier=multiplier,
                                       datetime_format="%Y%m%d", monetary_value_col="dollar_value"),
          f"cdnow_sample_calibration_holdout_{unit}.csv")

master = pd.read_csv("datasets/cdnow/CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str})
# freq="M" is left out: with pandas 2 lifetimes 0.11.3 fails on it ("Unit M is not supported").
for freq, name in [("D", "days"), ("W", "weekly_periods")]:
    write(summary_data_from_transaction_data(master, "customer_id", "date", observation_period_end="19980630",
                                             freq=freq, datetime_format="%Y%m%d", monetary_value_col="dollar_value"),
          f"cdnow_master_summary_{name}.csv")
