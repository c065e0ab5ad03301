#!/usr/bin/env python3
"""Reference values for FedPilot's RDP privacy accountant (Sources/Privacy).

Usage (from anywhere; the script builds its own virtualenv on first use):

    python3 scripts/make_accountant_fixture.py [--out Tests/PrivacyTests/Fixtures/accountant.json]

The virtualenv lives at <repo>/.venv-privacy (git-ignored by `.venv*/`; override with
PRIVACY_VENV) and holds the pinned reference libraries from PyPI:

  * dp-accounting 0.6.0 (Google): `dp_accounting.rdp.RdpAccountant` on a
    `PoissonSampledDpEvent(q, GaussianDpEvent(sigma))` self-composed `rounds` times, then
    `get_epsilon_and_optimal_order(delta)` -> `dp_accounting_epsilon`, `dp_accounting_order`.
  * opacus 1.6.0 (Meta), installed with --no-deps: only its pure-Python module
    opacus/accountants/analysis/rdp.py (math, numpy, scipy) is loaded, by file path, so torch
    is not needed. `compute_rdp` + `get_privacy_spent` -> `opacus_epsilon`, `opacus_order`.
  * mpmath: single-step RDP by direct numerical integration of A_alpha (`quadrature_rdp`), the
    arbiter where the two libraries disagree (see below).

Both are run on the SAME order grid as RDPAccountant.defaultOrders (ORDERS below; the Swift tests
check that the grids are equal) and both use the same RDP -> (eps, delta) conversion, the improved
one of Balle et al. 2020 (Thm 21) / Canonne-Kamath-Steinke 2020 (Prop 12):

    eps(alpha) = rdp(alpha) + log((alpha-1)/alpha) - (log(delta) + log(alpha)) / (alpha-1)

minimized over alpha. dp-accounting additionally returns eps = 0 for an order where
delta^2 > 1 - exp(-rdp) (the KL bound) and clamps at 0; the Swift accountant does the same.

The two libraries differ in one place: for FRACTIONAL orders dp-accounting 0.6.0 sums the
absolute values of the binomial series of Mironov et al. 2019, Sec. 3.3 (`_log_comb` is gammaln, so
the sign of C(alpha, i) is dropped for i > alpha + 1), which over-estimates A_alpha (a valid, more
conservative bound) and gives up on an order (inf) when that series has not converged after 1000
terms. Opacus (like the Swift code) keeps the signs, i.e. computes the integral itself, and agrees
with the quadrature. For integer orders both use the same closed form. So the exact reference is
opacus_epsilon, and dp_accounting_epsilon is an upper bound (equal when the optimal order's RDP
comes from the closed form or a converged series; up to 2.2x larger at q = 0.5, sigma = 0.5,
1000 rounds).
"""
import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PRIVACY_VENV", ROOT / ".venv-privacy"))
PINS = ["dp-accounting==0.6.0", "numpy==2.4.6", "scipy==1.17.1", "mpmath==1.4.1", "absl-py==2.5.1"]
OPACUS_PIN = "opacus==1.6.0"

# Must equal RDPAccountant.defaultOrders (Sources/Privacy/RDPAccountant.swift).
ORDERS = ([1 + x / 10.0 for x in range(1, 100)] + [float(a) for a in range(11, 64)]
          + [64.0, 72.0, 80.0, 88.0, 96.0, 112.0, 128.0, 160.0, 192.0, 224.0, 256.0, 320.0,
             384.0, 448.0, 512.0, 768.0, 1024.0])

SAMPLE_RATES = [1.0, 0.5, 0.1, 0.01, 0.001]
NOISES = [0.5, 0.8, 1.0, 2.0, 5.0]
ROUNDS = [1, 10, 100, 1000]
DELTAS = [1e-5, 1e-6]

# Single-step RDP is recorded at these orders (fractional and integer, small and large).
RDP_ORDERS = [1.1, 1.5, 2.0, 2.5, 3.7, 5.0, 7.3, 10.9, 16.0, 32.0, 63.0, 128.0, 512.0, 1024.0]

# Orders up to which single-step RDP is also computed by numerical integration (larger ones are integers,
# where both libraries use the same finite closed form).
QUADRATURE_MAX_ORDER = 10.9

# Runs whose sigma / q change part-way: (sigma, q, rounds) segments composed in order.
HETEROGENEOUS = [
    [(1.0, 0.01, 100), (0.8, 0.01, 50), (2.0, 0.1, 10)],
    [(0.5, 0.001, 1000), (5.0, 0.5, 10)],
    [(1.0, 1.0, 5), (1.0, 0.1, 100), (1.5, 0.05, 200)],
    [(2.0, 0.01, 500), (2.0, 0.01, 500)],
]

# Calibration references: dp_accounting.mechanism_calibration.calibrate_dp_mechanism (Brent, tol 1e-6).
CALIBRATE = [
    # (target_epsilon, delta, q, rounds)
    (1.0, 1e-5, 0.01, 1000),
    (3.0, 1e-6, 0.1, 100),
    (8.0, 1e-5, 0.5, 50),
    (0.5, 1e-5, 1.0, 1),
    (2.0, 1e-5, 0.001, 10000),
]


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def bootstrap():
    """Create/refresh the venv and re-run this script with its interpreter."""
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating virtualenv at {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    pip = [str(py), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.check_call(pip + PINS)
    subprocess.check_call(pip + ["--no-deps", OPACUS_PIN])
    os.execv(str(py), [str(py), __file__] + sys.argv[1:])


def load_opacus_rdp():
    """opacus/accountants/analysis/rdp.py, loaded by path (importing `opacus` would import torch)."""
    import importlib.metadata as md
    dist = md.distribution("opacus")
    path = Path(dist.locate_file("opacus/accountants/analysis/rdp.py"))
    spec = importlib.util.spec_from_file_location("opacus_rdp_analysis", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "Tests/PrivacyTests/Fixtures/accountant.json"))
    args = parser.parse_args()

    import logging
    import warnings
    import importlib.metadata as md
    import numpy as np
    import dp_accounting
    from dp_accounting import dp_event
    from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib
    from dp_accounting.mechanism_calibration import calibrate_dp_mechanism, ExplicitBracketInterval

    logging.getLogger("absl").setLevel(logging.ERROR)  # "failed to converge ... excluding this order"
    warnings.filterwarnings("ignore")                    # opacus: "optimal order is the largest alpha"
    opacus_rdp = load_opacus_rdp()

    def event(q, sigma, rounds):
        return dp_event.SelfComposedDpEvent(
            dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), rounds)

    def dp_eps(events, delta):
        acc = rdp_lib.RdpAccountant(orders=ORDERS)
        for e in events:
            acc.compose(e)
        eps, order = acc.get_epsilon_and_optimal_order(delta)
        return float(eps), float(order)

    def opacus_eps(segments, delta):
        rdp = np.zeros(len(ORDERS))
        for sigma, q, rounds in segments:
            rdp = rdp + opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=rounds, orders=ORDERS)
        eps, order = opacus_rdp.get_privacy_spent(orders=ORDERS, rdp=rdp, delta=delta)
        return float(eps), float(order)

    cases = []
    for q in SAMPLE_RATES:
        for sigma in NOISES:
            for rounds in ROUNDS:
                for delta in DELTAS:
                    eps, order = dp_eps([event(q, sigma, rounds)], delta)
                    o_eps, o_order = opacus_eps([(sigma, q, rounds)], delta)
                    cases.append({
                        "sample_rate": q, "noise": sigma, "rounds": rounds, "delta": delta,
                        "dp_accounting_epsilon": finite_or_none(eps), "dp_accounting_order": order,
                        "opacus_epsilon": finite_or_none(o_eps), "opacus_order": o_order,
                    })
                    print(f"q={q:<6} sigma={sigma:<4} T={rounds:<5} delta={delta:g}: eps={eps:.6g} @ {order:g}"
                          f"  opacus {o_eps:.6g} @ {o_order:g}", file=sys.stderr)

    rdp_single = []
    for q in SAMPLE_RATES:
        for sigma in NOISES:
            dp_vals = rdp_lib._compute_rdp_poisson_subsampled_gaussian(q, sigma, RDP_ORDERS)
            op_vals = opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=RDP_ORDERS)
            rdp_single.append({
                "sample_rate": q, "noise": sigma, "orders": RDP_ORDERS,
                "dp_accounting_rdp": [finite_or_none(v) for v in dp_vals],
                "opacus_rdp": [finite_or_none(v) for v in op_vals],
            })

    # Arbiter between the two libraries: log A_alpha by direct numerical integration (mpmath, 30 digits),
    # A_alpha - 1 = E_{z~N(0,sigma^2)}[(1 - q + q exp((2z-1)/(2 sigma^2)))^alpha - 1], so that tiny
    # RDP values keep their relative precision.
    import mpmath as mp
    mp.mp.dps = 30

    def rdp_quadrature(q, sigma, alpha):
        q, s, a = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)
        f = lambda z: mp.npdf(z, 0, s) * ((1 - q + q * mp.e ** ((2 * z - 1) / (2 * s * s))) ** a - 1)
        points = sorted(set([-20 * s, mp.mpf(0), mp.mpf(0.5), a / 2, a, a + 20 * s]))
        return float(mp.log1p(mp.quad(f, [-mp.inf] + points + [mp.inf])) / (a - 1))

    for row in rdp_single:
        q, sigma = row["sample_rate"], row["noise"]
        if q == 1.0:
            row["quadrature_rdp"] = [a / (2 * sigma * sigma) for a in RDP_ORDERS]
        else:
            row["quadrature_rdp"] = [None if a > QUADRATURE_MAX_ORDER else rdp_quadrature(q, sigma, a)
                                     for a in RDP_ORDERS]

    heterogeneous = []
    for segments in HETEROGENEOUS:
        for delta in DELTAS:
            eps, order = dp_eps([event(q, s, n) for s, q, n in segments], delta)
            o_eps, o_order = opacus_eps(segments, delta)
            heterogeneous.append({
                "segments": [{"noise": s, "sample_rate": q, "rounds": n} for s, q, n in segments],
                "delta": delta, "dp_accounting_epsilon": finite_or_none(eps), "dp_accounting_order": order,
                "opacus_epsilon": finite_or_none(o_eps), "opacus_order": o_order,
            })

    calibration = []
    for target, delta, q, rounds in CALIBRATE:
        sigma = calibrate_dp_mechanism(
            lambda: rdp_lib.RdpAccountant(orders=ORDERS),
            lambda s, q=q, rounds=rounds: event(q, s, rounds),
            target, delta, bracket_interval=ExplicitBracketInterval(0.05, 100.0))
        eps, _ = dp_eps([event(q, sigma, rounds)], delta)
        calibration.append({"target_epsilon": target, "delta": delta, "sample_rate": q, "rounds": rounds,
                            "dp_accounting_noise": float(sigma), "dp_accounting_epsilon_at_noise": eps})

    fixture = {
        "generator": "scripts/make_accountant_fixture.py",
        "reference": {
            "dp_accounting": f"dp-accounting {md.version('dp-accounting')} "
                       "(dp_accounting.rdp.RdpAccountant, PoissonSampledDpEvent(GaussianDpEvent), "
                       "get_epsilon_and_optimal_order)",
            "opacus": f"opacus {md.version('opacus')} "
                         "(opacus/accountants/analysis/rdp.py: compute_rdp, get_privacy_spent)",
            "exact": "opacus (signed series) = quadrature_rdp; the Swift accountant is tested against it",
            "numpy": np.__version__, "scipy": md.version("scipy"), "python": sys.version.split()[0],
            "conversion": "improved RDP->DP (Balle et al. 2020 Thm 21 / Canonne-Kamath-Steinke 2020 Prop 12): "
                          "eps = rdp + log((a-1)/a) - (log(delta) + log(a))/(a-1), min over orders; "
                          "dp-accounting also applies the KL bound (eps = 0 if delta^2 > 1 - exp(-rdp)) "
                          "and clamps at 0; opacus does neither",
            "fractional_orders": "dp-accounting sums |terms| of the Sec. 3.3 series (conservative, "
                                 "inf after 1000 unconverged terms); opacus keeps the signs (exact)",
            "quadrature": f"rdp_single_step.quadrature_rdp: mpmath {md.version('mpmath')} quad, 30 digits, "
                          f"orders <= {QUADRATURE_MAX_ORDER}; q = 1 rows are alpha / (2 sigma^2)",
        },
        "orders": ORDERS,
        "cases": cases,
        "rdp_single_step": rdp_single,
        "heterogeneous": heterogeneous,
        "calibration": calibration,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {len(cases)} cases, {len(rdp_single)} rdp rows, {len(heterogeneous)} heterogeneous, "
          f"{len(calibration)} calibration to {out}", file=sys.stderr)


if __name__ == "__main__":
    if not in_venv():
        bootstrap()
    main()
