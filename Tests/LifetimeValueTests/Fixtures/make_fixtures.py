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
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

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
with open(os.path.join(HERE, "lifetimes_fits.json"), "w") as f:
    json.dump(fits, f, indent=2, sort_keys=True)
print(json.dumps(fits, indent=2))
