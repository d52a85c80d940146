"""The Python peer of the ChurnFit benchmark: scikit-learn's LogisticRegression on 1M customers
× 10 features drawn like Benchmarks/Churn's (normal, exponential and count columns, labels
from a logistic model), standardised with StandardScaler, timed fit only (best of 3).

    /tmp/clientele-bench-venv/bin/python Benchmarks/python/churn_fit.py [CUSTOMERS]
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = np.random.default_rng(42)
slopes = np.array([0.8, -0.5, 0.3, 0, 0, 0.2, -0.1, 0, 0.4, -0.6])
columns = []
for j in range(10):
    kind = j % 3
    columns.append(rng.standard_normal(n) if kind == 0 else rng.exponential(10, n) if kind == 1 else np.floor(rng.exponential(2, n)))
X = np.column_stack(columns)
shifted = np.where(np.arange(10) % 3 == 1, (X - 10) / 10, X)
y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + shifted @ slopes)))).astype(float)

for solver in ["lbfgs", "newton-cholesky"]:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        LogisticRegression(C=1e6, solver=solver, tol=1e-8, max_iter=1000).fit(StandardScaler().fit_transform(X), y)
        best = min(best, time.perf_counter() - start)
    print(f"scikit-learn {solver}: {best:.3f} s (standardisation + fit, {n} × 10)")
