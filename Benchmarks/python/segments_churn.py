"""k-means segments and the logistic churn model, timed side by side with scikit-learn and statsmodels.

Both tools work on the same calibration/holdout summary (weeks):

- k-means: k = 8, 10 initialisations (greedy k-means++ and Lloyd) on frequency, recency, T and
  monetary_value, each through log1p and then standardised. Clientele runs `clientele cluster`
  (whole process: reading the summary, preparing, fitting, writing the assignments);
  scikit-learn is timed on the prepared matrix already in memory (preparation included).
  Agreement: the inertia of each tool's segments, both recomputed here from their labels in
  scikit-learn's prepared space (around each segment's mean), Clientele's no higher than
  scikit-learn's, within 1e-4 relative:
  both stop Lloyd's passes when the centres move less than 1e-4 of the mean feature variance
  (scikit-learn's default `tol`, Clientele's `--tolerance`), which leaves each about that much
  above its local minimum.
- churn: churned = no purchase in the holdout window; an unpenalised logistic regression on
  the same four features and 5-fold stratified cross-validation. Clientele runs `clientele
  churn` (whole process, which also fits BG/NBD and scores its churn measures on the same
  folds); the peers are statsmodels' Logit (coefficients, standard errors) and scikit-learn's
  cross-validated AUC, timed together. Agreement: every coefficient within 1e-3 relative of
  statsmodels' (in the features' own units) and the mean of the five folds' AUCs within 0.005
  of scikit-learn's (the folds are drawn differently).

Prints the rows of compare-python.sh's table, as fits.py does.

Usage: python segments_churn.py SUMMARY.csv CLIENTELE_BINARY WORKDIR
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

summary_path, clientele, workdir = sys.argv[1:4]
features = ["frequency", "recency", "T", "monetary_value"]
summary = pd.read_csv(summary_path, dtype={"customer_id": str})
rows = []


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# k-means
assignments = os.path.join(workdir, "kmeans-assignments.csv")
ours_s, _ = timed(lambda: subprocess.run(
    [clientele, "cluster", summary_path, "--k", "8", "--n-init", "10", "--seed", "42",
     "--features", ",".join(features), "--transform", "log1p+zscore", "--output", assignments],
    check=True, stdout=subprocess.DEVNULL))


def sklearn_kmeans():
    prepared = StandardScaler().fit_transform(np.log1p(summary[features].to_numpy(dtype=float)))
    return prepared, KMeans(n_clusters=8, n_init=10, random_state=42).fit(prepared)


theirs_s, (prepared, km) = timed(sklearn_kmeans)


def inertia(labels):
    total = 0.0
    for segment in np.unique(labels):
        members = prepared[labels == segment]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


segments = pd.read_csv(assignments, dtype={"customer_id": str}).set_index("customer_id")["segment"]
ours_inertia = inertia(segments.loc[summary["customer_id"]].to_numpy())
theirs_inertia = inertia(km.labels_)
rows.append(("k-means, k = 8, 10 initialisations", "scikit-learn", theirs_s, ours_s,
             ours_inertia <= theirs_inertia * (1 + 1e-4),
             f"inertia {ours_inertia:.1f} against {theirs_inertia:.1f}, {ours_inertia / theirs_inertia - 1:+.1e}"))

# churn
model_path = os.path.join(workdir, "churn.json")
ours_s, _ = timed(lambda: subprocess.run(
    [clientele, "churn", summary_path, "--unit", "weeks", "--features", ",".join(features), "--folds", "5",
     "--output", os.path.join(workdir, "churn-scores.csv"), "--model-output", model_path],
    check=True, stdout=subprocess.DEVNULL))
with open(model_path) as f:
    ours_model = json.load(f)
ours_coefficients = {c["name"]: c["original"] for c in ours_model["coefficients"]}
ours_auc = float(np.mean(ours_model["evaluation"]["logistic"]["foldAUC"]))


def peers_churn():
    X = summary[features].to_numpy(dtype=float)
    y = (summary["frequency_holdout"] == 0).to_numpy(dtype=float)
    logit = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-10, maxiter=100, disp=0)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
    auc = cross_val_score(LogisticRegression(C=np.inf, max_iter=1000), StandardScaler().fit_transform(X), y,
                          cv=folds, scoring="roc_auc").mean()
    return logit.params, auc


theirs_s, (params, theirs_auc) = timed(peers_churn)
names = ["intercept"] + features
same = (all(abs(ours_coefficients[name] - params[i]) <= 1e-3 * abs(params[i]) for i, name in enumerate(names))
        and abs(ours_auc - theirs_auc) <= 0.005)
rows.append(("logistic churn fit + 5-fold cross-validation", "statsmodels + scikit-learn", theirs_s, ours_s, same,
             f"AUC {ours_auc:.4f} against {theirs_auc:.4f}"))

for stage, peer, theirs_s, ours_s, same, note in rows:
    verdict = f"{'yes' if same else 'NO'} ({note})"
    print(f"| {stage} | {peer} | {theirs_s:.2f} | {ours_s:.2f} | {theirs_s / ours_s:.1f} | {verdict} |")
