"""Expected lifetime-value fits and predictions from lifetimes 0.11.3, for LifetimeValueTests.

Run from the repository root in a throw-away virtual environment outside the repository:

    python3 -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3 'pandas<2.2' 'numpy<2' 'scipy<1.14'
    /tmp/lifetimes-venv/bin/python Tests/LifetimeValueTests/Fixtures/make_fixtures.py

Predictions are evaluated at lifetimes' own fitted parameters (written to lifetimes_fits.json),
so that they test the prediction formulas apart from the optimiser. lifetimes' own
log-likelihoods are left out: it fits on time rescaled to the data's longest T, so they are
not the models' log-likelihoods (the published ones are the reference for those).
"""
import json
import os

import pandas as pd
from lifetimes import (BetaGeoBetaBinomFitter, BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter,
                       ParetoNBDFitter)

HERE = os.path.dirname(os.path.abspath(__file__))
cdnow = pd.read_csv("datasets/cdnow/cdnow_customers_summary_with_transactions.csv")
x, t_x, T, zbar = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"]

fits = {}
models = {"bgnbd": BetaGeoFitter(), "mbgnbd": ModifiedBetaGeoFitter(), "pnbd": ParetoNBDFitter()}
for name, model in models.items():
    model.fit(x, t_x, T)
    fits[name] = {"params": {k: float(v) for k, v in model.params_.items()},
                  "expected_purchases_new_customer": {str(t): float(model.expected_number_of_purchases_up_to_time(t))
                                                      for t in (1, 10, 39, 78)}}
repeat = cdnow[x > 0]
spend = GammaGammaFitter()
spend.fit(repeat["x"], repeat["zbar"])
fits["gamma_gamma"] = {"params": {k: float(v) for k, v in spend.params_.items()}}

out = pd.DataFrame({"ID": cdnow["ID"], "x": x, "t_x": t_x, "T": T, "zbar": zbar})
for name, model in models.items():
    out[f"{name}_expected_39"] = model.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
    out[f"{name}_p_alive"] = model.conditional_probability_alive(x, t_x, T)
out["gg_expected_spend"] = spend.conditional_expected_average_profit(x, zbar)
for name in ("bgnbd", "pnbd"):
    out[f"clv_{name}_12m"] = spend.customer_lifetime_value(models[name], x, t_x, T, zbar, time=12,
                                                           discount_rate=0.01, freq="W").values
out.to_csv(os.path.join(HERE, "cdnow_predictions.csv"), index=False, float_format="%.17g")

# P(n purchases in (0, t]) of a new customer (BG/NBD and MBG/NBD), and of customers with a
# history in the next t (Pareto/NBD, note 028 eq. 16), for the first 40 CDNOW customers.
for name in ("bgnbd", "mbgnbd"):
    fits[name]["probability_of_n_purchases_39"] = [float(models[name].probability_of_n_purchases_up_to_time(39, n))
                                                   for n in range(8)]
pnbd_n = cdnow.head(40)[["x", "t_x", "T"]].copy()
for n in range(5):
    pnbd_n[f"p_{n}"] = [float(models["pnbd"].conditional_probability_of_n_purchases_up_to_time(n, 39, a, b, c))
                        for a, b, c in zip(pnbd_n["x"], pnbd_n["t_x"], pnbd_n["T"])]
pnbd_n.to_csv(os.path.join(HERE, "cdnow_pnbd_probability_of_n.csv"), index=False, float_format="%.17g")

# BG/BB on the donations cohort (grouped rows with weights).
donations = pd.read_csv("datasets/donations/donations.csv")
bgbb = BetaGeoBetaBinomFitter()
bgbb.fit(donations["frequency"], donations["recency"], donations["periods"], weights=donations["weights"])
first6 = bgbb.expected_number_of_transactions_in_first_n_periods(6)
fits["bgbb"] = {"params": {k: float(v) for k, v in bgbb.params_.items()},
                "customers_with_x_in_first_6": {str(int(k)): float(v) for k, v in first6["model"].items()}}
rows = donations[["frequency", "recency", "periods"]].copy()
f, r, n = rows["frequency"], rows["recency"], rows["periods"]
for m in (1, 5, 10):
    rows[f"expected_{m}"] = bgbb.conditional_expected_number_of_purchases_up_to_time(m, f, r, n)
for m in (0, 1, 5):
    rows[f"p_alive_{m}"] = bgbb.conditional_probability_alive(m, f, r, n)
rows.to_csv(os.path.join(HERE, "donations_predictions.csv"), index=False, float_format="%.17g")
# The same purchase models with lifetimes' penalizer_coef 0.1: its penalty sees α (and
# Pareto/NBD's β) in time rescaled so that the longest T is 1.
for name, model in {"bgnbd": BetaGeoFitter(penalizer_coef=0.1), "mbgnbd": ModifiedBetaGeoFitter(penalizer_coef=0.1),
                    "pnbd": ParetoNBDFitter(penalizer_coef=0.1)}.items():
    model.fit(x, t_x, T)
    fits[name]["params_penalizer_0.1"] = {k: float(v) for k, v in model.params_.items()}
with open(os.path.join(HERE, "lifetimes_fits.json"), "w") as f:
    json.dump(fits, f, indent=2, sort_keys=True)
print(json.dumps(fits, indent=2))
