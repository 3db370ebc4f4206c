#!/usr/bin/python3
"""Reference for ALS training speed: implicit-feedback ALS with the
conjugate-gradient solver of the `implicit` library (Takacs et al. 2011;
implicit's least_squares_cg and calculate_loss, which this follows step by
step), written with numpy/scipy and vectorised over all rows of a half-sweep
at once, so the time measures the algorithm and not a Python loop.

Per half-sweep, as implicit: G = Y^T Y + lambda I once; each row warm-starts
from its previous factors; the residual r = Y^T C_u p_u - (G + Y^T (C_u - I) Y) x_u
and then cg_steps steps, a row stopping once its squared residual is below
1e-20; a row without entries gets zeros.  Users first, then items, as
implicit's fit().  The confidence is c = 1 + alpha * r (the data given to
implicit would be that c; the preference is 1 where r > 0).

Vectorised: the per-entry dot products y_i . x_u are gathered in chunks of
entries (einsum over the gathered rows), and the sums over a row's entries
are one scipy CSR x dense product.  BLAS (the k x k products) runs on one
thread: OPENBLAS_NUM_THREADS=1 is set before numpy loads, and threadpoolctl
says which library and kernel numpy uses.

Usage: als_cg_reference.py FILE [--factors 64 --iterations 5 ...]
       als_cg_reference.py --check        (CG against exact solves, small data)
FILE: CSV lines "user,item,weight" (ids any integers), as psql's \\copy writes.
Prints the BLAS in use, the shape, per-iteration loss and seconds (wall and
CPU), their means over iterations 2.. and the process's peak resident memory.
"""
import argparse
import os
import resource
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

CG_EPS = 1e-20
# entries gathered at once: two chunk x k float32 temporaries (64 MB each at k = 64)
CHUNK = 1 << 18


def blas_description():
    return "; ".join(
        f"{d['internal_api']} {d['version']} kernel {d.get('architecture', '?')}, "
        f"{d['num_threads']} thread(s)" for d in threadpool_info() if d["user_api"] == "blas")


class Side:
    """One orientation of the confidence matrix (users x items or its transpose)."""

    def __init__(self, m):
        self.m = m                                   # CSR, data = c
        self.n = m.shape[0]
        self.rows = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(m.indptr))
        self.c = m.data.astype(np.float32)
        self.cm1 = self.c - 1.0
        self.empty = np.diff(m.indptr) == 0
        # a CSR with this pattern whose data is rewritten for each product
        self.w = sp.csr_matrix((np.empty_like(self.c), m.indices, m.indptr), shape=m.shape)
        # gather buffers, reused: fresh arrays this large would be fresh
        # mappings, page-faulted on every chunk
        self.ga = self.gy = None

    def entry_dots(self, a, y):
        """d_j = a[row_j] . y[col_j] for every stored entry j."""
        out = np.empty(self.c.size, dtype=np.float32)
        idx = self.m.indices
        if self.ga is None or self.ga.shape[1] != a.shape[1]:
            self.ga = np.empty((min(CHUNK, out.size), a.shape[1]), dtype=np.float32)
            self.gy = np.empty_like(self.ga)
        for s in range(0, out.size, CHUNK):
            e = min(s + CHUNK, out.size)
            ga = np.take(a, self.rows[s:e], axis=0, out=self.ga[:e - s], mode="clip")
            gy = np.take(y, idx[s:e], axis=0, out=self.gy[:e - s], mode="clip")
            np.einsum("ij,ij->i", ga, gy, out=out[s:e])
        return out

    def weighted_sum(self, weights, y):
        """row u: sum over its entries j of weights_j y[col_j]."""
        self.w.data[:] = weights
        return self.w @ y


def cg_half_sweep(side, x, y, regularization, steps):
    """implicit's least_squares_cg for every row of x at once (x updated in place)."""
    k = x.shape[1]
    gram = (y.T @ y + regularization * np.eye(k, dtype=np.float32)).astype(np.float32)
    x[side.empty] = 0.0
    # r = sum c y - G x - sum (c - 1)(y . x) y
    r = side.weighted_sum(side.c - side.cm1 * side.entry_dots(x, y), y) - x @ gram
    r[side.empty] = 0.0
    p = r.copy()
    ap = np.empty_like(r)
    rs = np.einsum("ij,ij->i", r, r)
    for _ in range(steps):
        # a row stops for good once its residual is small (implicit's break):
        # its alpha is 0 from then on, so its p no longer matters
        active = rs >= CG_EPS
        if not active.any():
            break
        np.matmul(p, gram, out=ap)
        ap += side.weighted_sum(side.cm1 * side.entry_dots(p, y), y)
        pap = np.einsum("ij,ij->i", p, ap)
        alpha = np.divide(rs, pap, out=np.zeros_like(rs), where=active)
        x += alpha[:, None] * p
        ap *= alpha[:, None]
        r -= ap
        rsnew = np.einsum("ij,ij->i", r, r)
        go_on = active & (rsnew >= CG_EPS)
        beta = np.divide(rsnew, rs, out=np.zeros_like(rs), where=go_on)
        p *= beta[:, None]
        p += r
        rs = np.where(active, rsnew, rs)


def loss(side, x, y, regularization):
    """implicit's calculate_loss: weighted squared error over all pairs plus
    the ridge term, over the total confidence of all pairs."""
    d = side.entry_dots(x, y).astype(np.float64)
    c = side.c.astype(np.float64)
    yty = (y.T @ y).astype(np.float64)
    x64 = x.astype(np.float64)
    total = np.einsum("ij,ij->", x64 @ yty, x64)
    total += np.sum(c - 2.0 * c * d + (c - 1.0) * d * d)
    total += regularization * (np.sum(x64 * x64) + np.sum(y.astype(np.float64) ** 2))
    n_users, n_items = side.m.shape
    return total / (np.sum(c) + n_users * n_items - c.size)


def fit(cui, factors, iterations, regularization, cg_steps, seed, report=print):
    users, items = Side(cui), Side(cui.T.tocsr())
    rng = np.random.default_rng(seed)
    # implicit's start: uniform in [0, 0.01)
    x = (rng.random((cui.shape[0], factors), dtype=np.float32) * 0.01).astype(np.float32)
    y = (rng.random((cui.shape[1], factors), dtype=np.float32) * 0.01).astype(np.float32)
    seconds = []
    cpu = []
    losses = []
    for it in range(iterations):
        t0, c0 = time.perf_counter(), time.process_time()
        cg_half_sweep(users, x, y, regularization, cg_steps)
        cg_half_sweep(items, y, x, regularization, cg_steps)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        losses.append(loss(users, x, y, regularization))
        report(f"iteration {it + 1} of {iterations}: loss {losses[-1]:.6f}, "
               f"{seconds[-1]:.3f} s ({cpu[-1]:.3f} s CPU)")
    return x, y, losses, seconds, cpu


def load(path, alpha):
    a = np.loadtxt(path, delimiter=",", dtype=[("u", "i8"), ("i", "i8"), ("w", "f8")], ndmin=1)
    uids, u = np.unique(a["u"], return_inverse=True)
    iids, i = np.unique(a["i"], return_inverse=True)
    # duplicate pairs are summed before the confidence, as fashionrec does
    m = sp.coo_matrix((a["w"], (u, i)), shape=(uids.size, iids.size)).tocsr()
    m.sum_duplicates()
    m.data = (1.0 + alpha * np.maximum(m.data, 0.0)).astype(np.float32)
    return m


def check():
    """Many CG steps must reach the exact per-row solution; the loss of
    exact alternating solves must not rise; a CG fit's loss must fall."""
    rng = np.random.default_rng(1)
    n_u, n_i, k, reg = 60, 40, 8, 0.1
    dense = (rng.random((n_u, n_i)) < 0.2) * rng.integers(1, 5, (n_u, n_i))
    dense[5] = 0                                  # a user without data
    cui = sp.csr_matrix(dense.astype(np.float32))
    cui.data = 1.0 + 2.0 * cui.data
    side = Side(cui)
    x = rng.random((n_u, k), dtype=np.float32) * 0.1
    y = rng.random((n_i, k), dtype=np.float32)
    exact = np.zeros_like(x)
    c_full = np.ones((n_u, n_i))
    c_full[dense > 0] = 1.0 + 2.0 * dense[dense > 0]
    for u in range(n_u):
        if dense[u].any():
            a = (y.T * c_full[u]) @ y + reg * np.eye(k)
            exact[u] = np.linalg.solve(a, y.T @ (c_full[u] * (dense[u] > 0)))
    cg_half_sweep(side, x, y, reg, steps=3 * k)
    err = np.abs(x - exact).max() / np.abs(exact).max()
    _, _, losses, _, _ = fit(cui, k, 6, reg, 3, 7, report=lambda s: None)
    falls = all(b <= a * (1 + 1e-6) for a, b in zip(losses, losses[1:]))
    print(f"check: CG ({3 * k} steps) vs exact solve, max relative error {err:.2e}; "
          f"losses {' '.join(f'{v:.5f}' for v in losses)}")
    ok = err < 1e-3 and falls and losses[-1] < losses[0]
    print("check: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--regularization", type=float, default=0.05)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--cg-steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(f"numpy {np.__version__}, scipy BLAS: {blas_description()}")
    if args.check:
        return check()
    if not args.file:
        ap.error("FILE or --check")
    t0 = time.perf_counter()
    cui = load(args.file, args.alpha)
    print(f"loaded {cui.shape[0]} users x {cui.shape[1]} items, {cui.nnz} pairs "
          f"in {time.perf_counter() - t0:.1f} s")
    _, _, losses, seconds, cpu = fit(cui, args.factors, args.iterations, args.regularization,
                                     args.cg_steps, args.seed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the first iteration also maps the work arrays: the mean is over the rest
    steady = slice(1 if len(seconds) > 1 else 0, None)
    print(f"reference: {np.mean(seconds[steady]):.3f} s per iteration ({np.mean(cpu[steady]):.3f} s CPU), "
          f"final loss {losses[-1]:.6f}, peak memory {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
