"""BG/NBD fitted by pymc-marketing (maximum a posteriori with flat priors, i.e. maximum
likelihood), timed, against Clientele's fit.

Runs in its own virtual environment (pymc-marketing wants newer numpy/scipy than lifetimes
0.11.3 accepts). Prints one row of compare-python.sh's table.

Usage: python pymc_fits.py SUMMARY.csv CLIENTELE_BGNBD_MODEL.json CLIENTELE_SECONDS
"""
import json
import sys
import time

import pandas as pd
from pymc_extras.prior import Prior
from pymc_marketing.clv import BetaGeoModel

summary_path, model_path, ours_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
summary = pd.read_csv(summary_path, dtype={"customer_id": str})
data = pd.DataFrame({"customer_id": range(len(summary)), "frequency": summary["frequency"],
                     "recency": summary["recency"], "T": summary["T"]})
start = time.perf_counter()
# Flat priors make the MAP estimate the maximum-likelihood estimate Clientele computes.
flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
model = BetaGeoModel(data=data, model_config=flat)
model.fit(method="map")
seconds = time.perf_counter() - start
result = model.fit_result
posterior = getattr(result, "posterior", result)
theirs = {k: float(posterior[k].values.mean()) for k in ("r", "alpha", "a", "b")}
with open(model_path) as f:
    ours = json.load(f)["parameters"]
same = all(abs(ours[k] - theirs[k]) <= 1e-3 * abs(ours[k]) for k in theirs)
print(f"| BG/NBD fit (MAP, flat priors) | pymc-marketing | {seconds:.2f} | {ours_s:.2f} | {seconds / ours_s:.1f} | "
      f"{'yes' if same else 'no: ' + ', '.join(f'{k} {theirs[k]:.4g}' for k in theirs)} |")
