"""Reference logistic fits and metrics for ChurnTests, from statsmodels and scikit-learn.

Run from the repository root (the Python stack of the benchmark venv; numpy, pandas,
scikit-learn 1.9.1, statsmodels 0.15.0):

    swift run clientele summarize datasets/cdnow/CDNOW_master.txt --delimiter whitespace \
      --amount-column dollar_value --date-format yyyyMMdd --unit weeks \
      --calibration-end 1997-09-30 --observation-end 1998-06-30 --output /tmp/cdnow-holdout.csv
    /tmp/clientele-bench-venv/bin/python Tests/ChurnTests/Fixtures/make_fixtures.py /tmp/cdnow-holdout.csv

It writes `cdnow_attributes.csv` (made-up attributes for every CDNOW customer: a region,
categorical, and an age, numeric; seeded, so the file is reproducible) and
`logistic_references.json`. The label is churn = no purchase in the holdout
(frequency_holdout == 0). Features: frequency, recency, T, monetary_value, then the region
one-hot against its first level in sorted order ("east"), then age.

- statsmodels `Logit` (unpenalised) on the features in their own units: coefficients,
  standard errors, log-likelihood.
- scikit-learn `LogisticRegression(C, class_weight)` on the features standardised with
  `StandardScaler` (Clientele penalises standardised coefficients): its objective is
  C · Σ wᵢ loss + ½‖β‖² with the intercept unpenalised, Clientele's with λ = 1/C. Fitted by
  `newton-cholesky` to a gradient of 1e-13, so that the optimum, not the solver's tolerance,
  is compared. Metrics of its in-sample probabilities: roc_auc_score, log_loss,
  brier_score_loss.
- roc_auc_score of −frequency (a score full of ties), and log_loss / brier_score_loss of a
  score with exact 0s and 1s (clipped by log_loss).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
summary = pd.read_csv(sys.argv[1], dtype={"customer_id": str})

rng = np.random.default_rng(2024)
regions = np.array(["east", "north", "south", "west"])
attributes = pd.DataFrame({
    "customer_id": summary["customer_id"],
    "region": regions[rng.integers(0, 4, len(summary))],
    "age": rng.integers(18, 80, len(summary)),
})
attributes.to_csv(os.path.join(HERE, "cdnow_attributes.csv"), index=False)

y = (summary["frequency_holdout"] == 0).astype(float).to_numpy()
X = summary[["frequency", "recency", "T", "monetary_value"]].copy()
for level in ["north", "south", "west"]:
    X[f"region={level}"] = (attributes["region"] == level).astype(float)
X["age"] = attributes["age"].astype(float)
names = list(X.columns)

logit = sm.Logit(y, sm.add_constant(X.to_numpy())).fit(method="newton", tol=1e-14, maxiter=100, disp=False)
references = {
    "features": names,
    "customers": int(len(y)),
    "churned": int(y.sum()),
    "statsmodels": {
        "coefficients": [float(v) for v in logit.params],
        "standard_errors": [float(v) for v in logit.bse],
        "log_likelihood": float(logit.llf),
    },
    "sklearn": [],
}

scaled = StandardScaler().fit_transform(X.to_numpy())
for C, class_weight in [(0.01, None), (1.0, "balanced"), (1e6, None)]:
    model = LogisticRegression(C=C, class_weight=class_weight, solver="newton-cholesky", tol=1e-13, max_iter=1000)
    model.fit(scaled, y)
    p = model.predict_proba(scaled)[:, 1]
    references["sklearn"].append({
        "C": C,
        "class_weight": class_weight or "none",
        "coefficients": [float(model.intercept_[0])] + [float(v) for v in model.coef_[0]],
        "roc_auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p)),
        "brier": float(brier_score_loss(y, p)),
    })

hard = np.where(summary["frequency"] == 0, 1.0, np.where(summary["frequency"] > 5, 0.0, 0.4))
references["metrics"] = {
    "roc_auc_negative_frequency": float(roc_auc_score(y, -summary["frequency"])),
    "log_loss_hard": float(log_loss(y, hard)),
    "brier_hard": float(brier_score_loss(y, hard)),
}

with open(os.path.join(HERE, "logistic_references.json"), "w") as f:
    json.dump(references, f, indent=2)
    f.write("\n")
