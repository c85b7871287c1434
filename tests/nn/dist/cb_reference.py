#!/usr/bin/env python3
"""Reference values for ContinuousBernoulli (tests/nn/dist/test_continuous.cpp), from mpmath.

Run: python3 tests/nn/dist/cb_reference.py  — prints the C++ table pasted into the test.
Working precision 120 digits; each function is its textbook closed form in the logit l (the limit at
l = 0), and each gradient is mpmath.diff of that closed form, so no formula of the C++ code (series,
cut points, rewritten closed forms) enters the reference. Printed to 20 significant digits.
"""
import mpmath as mp

mp.mp.dps = 120


def log_norm(l):  # log C = log(l / tanh(l/2))
    return mp.log(2) if l == 0 else mp.log(l / mp.tanh(l / 2))


def mean(l):  # E[x] = 1/(1 − e^−l) − 1/l
    return mp.mpf(1) / 2 if l == 0 else 1 / (1 - mp.exp(-l)) - 1 / l


def variance(l):  # Var[x] = 1/l² − 1/(4 sinh²(l/2))
    return mp.mpf(1) / 12 if l == 0 else 1 / l**2 - 1 / (4 * mp.sinh(l / 2) ** 2)


def entropy(l):  # H = log Z − l E[x], Z = (e^l − 1)/l
    return mp.mpf(0) if l == 0 else mp.log(mp.expm1(l) / l) - l * mean(l)


GRID = ["0", "1e-8", "-1e-8", "0.1", "-0.1", "0.19", "-0.19", "0.2", "-0.2", "0.5", "-0.5", "1", "-1", "1.999",
        "2", "-2.001", "10", "-10", "50", "-50"]

if __name__ == "__main__":
    print("// l, log C, E[x], Var[x], H, d log C/dl, dE/dl, dVar/dl, dH/dl")
    for g in GRID:
        l = mp.mpf(float(g))  # the double nearest g, as the C++ test sees it
        vals = [f(l) for f in (log_norm, mean, variance, entropy)]
        # Central differences with h = 1e-30: the closed forms lose ~2·30 digits to cancellation at
        # l = ±h and the difference quotient another 30, leaving > 50; the O(h²) error is ~1e-60.
        grads = [mp.diff(f, l, h=mp.mpf("1e-30")) for f in (log_norm, mean, variance, entropy)]
        print("    {" + ", ".join([g] + [mp.nstr(v, 20, min_fixed=0, max_fixed=0) for v in vals + grads]) + "},")
