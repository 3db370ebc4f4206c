#!/usr/bin/python3
"""Reference for the explicit-rating benchmark: a biased baseline
(global mean + user and item biases, alternating ridge solves, the
"BaselineOnly" predictor of Koren 2010) on MovieLens 100K splits, so the
matrix-factorisation RMSE has a yardstick computed in the same run.

Usage: mf_reference.py DIR   (DIR holds u1.base … u5.test)
Prints "split<TAB>rmse" per split.
"""
import sys

import numpy as np


def load(path):
    a = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    return a[:, 0], a[:, 1], a[:, 2].astype(np.float64)


def baseline(u, i, r, reg_u=15.0, reg_i=10.0, sweeps=10):
    mu = r.mean()
    bu = np.zeros(u.max() + 1)
    bi = np.zeros(i.max() + 1)
    for _ in range(sweeps):
        bi = np.bincount(i, r - mu - bu[u], minlength=bi.size) / (reg_i + np.bincount(i, minlength=bi.size))
        bu = np.bincount(u, r - mu - bi[i], minlength=bu.size) / (reg_u + np.bincount(u, minlength=bu.size))
    return mu, bu, bi


def main():
    d = sys.argv[1]
    for s in range(1, 6):
        u, i, r = load(f"{d}/u{s}.base")
        mu, bu, bi = baseline(u, i, r)
        tu, ti, tr = load(f"{d}/u{s}.test")
        pu = np.where(tu < bu.size, bu[np.minimum(tu, bu.size - 1)], 0.0)
        pi = np.where(ti < bi.size, bi[np.minimum(ti, bi.size - 1)], 0.0)
        p = np.clip(mu + pu + pi, 1, 5)
        print(f"u{s}\t{np.sqrt(np.mean((p - tr) ** 2)):.4f}")


if __name__ == "__main__":
    main()
