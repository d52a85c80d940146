"""Reference k-means fits and cluster-quality scores from scikit-learn 1.9.1, for ClusteringTests.

Run from the repository root with the benchmark environment (numpy 1.26, scikit-learn 1.9.1):

    /tmp/clientele-bench-venv/bin/python Tests/ClusteringTests/Fixtures/make_fixtures.py

Writes one CSV per data set (the features, and `weight` where the case is weighted) and
sklearn_kmeans.json: per case the k, n_init, scikit-learn's inertia and labels, and
silhouette, Calinski-Harabasz and Davies-Bouldin scores of those labels.
The CDNOW case is the shipped summary, each column through log1p and then z-scored with the
population standard deviation, which is what Clustering's `log1p` then `zScore` transforms do.
"""
import json
import os

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

HERE = os.path.dirname(os.path.abspath(__file__))
cases = {}


def record(name, X, k, n_init=10, weight=None, seed=0, write=True):
    if write:
        frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(X.shape[1])])
        if weight is not None:
            frame["weight"] = weight
        frame.to_csv(os.path.join(HERE, f"{name}.csv"), index=False, float_format="%.17g")
    best = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X, sample_weight=weight)
    labels = best.labels_
    entry = {"data": f"{name}.csv", "k": k, "n_init": n_init, "inertia": float(best.inertia_), "n_iter": int(best.n_iter_),
             "labels": [int(v) for v in labels], "weighted": weight is not None}
    if k > 1:
        entry.update(silhouette=float(silhouette_score(X, labels)),
                     calinski_harabasz=float(calinski_harabasz_score(X, labels)),
                     davies_bouldin=float(davies_bouldin_score(X, labels)))
    cases[f"{name}_k{k}"] = entry


X, _ = make_blobs(n_samples=3000, centers=5, n_features=3, cluster_std=1.5, random_state=7)
record("blobs", X, 5)
record("blobs", X, 8)
iris = load_iris().data
record("iris", iris, 3)
record("iris", iris, 6)
rng = np.random.default_rng(11)
Xw, _ = make_blobs(n_samples=1500, centers=4, n_features=2, cluster_std=2.0, random_state=3)
record("weighted", Xw, 4, weight=rng.gamma(2.0, 1.0, size=len(Xw)))
single = np.concatenate([rng.normal(0, 1, 400), rng.normal(6, 1, 300), rng.normal(12, 2, 300)]).reshape(-1, 1)
record("one_feature", single, 3)
summary = pd.read_csv("datasets/cdnow/cdnow_customers_summary_with_transactions.csv")
raw = summary[["x", "t_x", "T", "zbar"]].to_numpy(dtype=float)
logged = np.log1p(raw)
scaled = (logged - logged.mean(axis=0)) / logged.std(axis=0)
pd.DataFrame(raw, columns=["frequency", "recency", "T", "monetary_value"]).to_csv(
    os.path.join(HERE, "cdnow_features.csv"), index=False, float_format="%.17g")
record("cdnow_scaled", scaled, 4, write=False)
record("cdnow_scaled", scaled, 8, write=False)

with open(os.path.join(HERE, "sklearn_kmeans.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print({name: (c["inertia"], c.get("silhouette")) for name, c in cases.items()})
