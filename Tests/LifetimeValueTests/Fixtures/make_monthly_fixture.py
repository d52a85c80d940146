"""BG/NBD and MBG/NBD fitted by lifetimes 0.11.3 on the CDNOW master log in calendar months
(calibration to 1997-12-31), for LifetimeValueTests: a summary on which BG/NBD's likelihood
has a second maximum on the ridge a, b → ∞ besides the one inside.

The monthly summary is built here with pandas (lifetimes' own freq='M' is refused by pandas
2): per customer, the months with a purchase up to the calibration end; frequency is their
number less one, recency the months from the first to the last, T from the first to the
calibration end's month. Run from the repository root in a throw-away virtual environment
outside the repository:

    python3 -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3 'pandas<2.2' 'numpy<2' 'scipy<1.14'
    /tmp/lifetimes-venv/bin/python Tests/LifetimeValueTests/Fixtures/make_monthly_fixture.py
"""
import json
import os

import pandas as pd
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter

HERE = os.path.dirname(os.path.abspath(__file__))
log = pd.read_csv("datasets/cdnow/CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str})
log["date"] = pd.to_datetime(log["date"].astype(str), format="%Y%m%d")
calibration_end = pd.Timestamp("1997-12-31")
months = log[log["date"] <= calibration_end].assign(month=lambda d: d["date"].dt.to_period("M").map(lambda p: p.ordinal))
per_customer = months.groupby("customer_id")["month"]
first, last, count = per_customer.min(), per_customer.max(), per_customer.nunique()
end = pd.Period(calibration_end, "M").ordinal
summary = pd.DataFrame({"frequency": count - 1, "recency": last - first, "T": end - first})

fits = {"customers": int(len(summary))}
for name, model in {"bgnbd": BetaGeoFitter(), "mbgnbd": ModifiedBetaGeoFitter()}.items():
    model.fit(summary["frequency"], summary["recency"], summary["T"])
    fits[name] = {k: float(v) for k, v in model.params_.items()}
with open(os.path.join(HERE, "cdnow_monthly_fits.json"), "w") as f:
    json.dump(fits, f, indent=1, sort_keys=True)
    f.write("\n")
