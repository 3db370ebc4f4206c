#!/usr/bin/python3
"""Reference implementations of fashionrec's collaborative-filtering models.

numpy/scipy versions of the temporal split, the ranking metrics and the
popularity, PureSVD, EASE and item-KNN (cosine) recommenders, written from
the papers rather than from the C code, so the benchmark (test/bench) can
show the extension's figures next to independent ones from the same run.

Protocol (the same as the extension's evaluation):
  * every rating is one interaction of weight 1;
  * per user, ratings ordered by (timestamp, item, rating); the last
    floor(n * test_percent / 100) go to the test set, the rest to training;
  * candidates are the items seen in training, minus the user's own
    training items; ties in score are broken by item id ascending;
  * NDCG@k with binary relevance, log2 discount, ideal DCG over
    min(|relevant|, k); P@k = hits / k; averaged over users with at least
    one test interaction.

Usage: reference_cf.py [u.data] [--k 10] [--test-percent 20]
                       [--factors 64] [--lambda 500] [--neighbors 100]
                       [--models popularity,svd,ease,itemknn]
Prints "model<TAB>ndcg<TAB>precision" per model (rounded to 4 places).
"""

import argparse
import os
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

DEFAULT_DATA = "/work/shared/data/movielens-100k/u.data"


def load_split(path, test_percent):
    raw = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2, 3))
    users, items, ratings, ts = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
    # lexsort: last key is primary -> user, timestamp, item, rating
    order = np.lexsort((ratings, items, ts, users))
    users, items = users[order], items[order]
    train, test = [], {}
    start = 0
    n = len(users)
    while start < n:
        end = start
        while end < n and users[end] == users[start]:
            end += 1
        cnt = end - start
        n_test = cnt * test_percent // 100
        cut = end - n_test
        train.append((users[start:cut], items[start:cut]))
        if n_test > 0:
            test[int(users[start])] = set(int(i) for i in items[cut:end])
        start = end
    tu = np.concatenate([t[0] for t in train])
    ti = np.concatenate([t[1] for t in train])
    user_ids = np.unique(tu)
    item_ids = np.unique(ti)
    u_idx = np.searchsorted(user_ids, tu)
    i_idx = np.searchsorted(item_ids, ti)
    x = sp.csr_matrix((np.ones(len(tu)), (u_idx, i_idx)),
                      shape=(len(user_ids), len(item_ids)))
    x.sum_duplicates()
    return x, user_ids, item_ids, test


def top_k(scores, k):
    """Indices of the k best scores; ties by index (= item id) ascending."""
    idx = np.arange(len(scores))
    # lexsort: primary -score, secondary index
    order = np.lexsort((idx, -scores))
    return order[:k]


def evaluate(name, score_fn, x, user_ids, item_ids, test, k):
    ndcg_sum = 0.0
    prec_sum = 0.0
    n_users = 0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for u, uid in enumerate(user_ids):
        rel = test.get(int(uid))
        if not rel:
            continue
        scores = np.asarray(score_fn(u), dtype=np.float64).ravel().copy()
        seen = x.indices[x.indptr[u]:x.indptr[u + 1]]
        scores[seen] = -np.inf
        top = top_k(scores, k)
        # only as many candidates as exist that are not seen
        top = top[:max(0, min(k, len(scores) - len(seen)))]
        hits = np.array([int(item_ids[i]) in rel for i in top], dtype=float)
        dcg = float(np.sum(hits * discounts[:len(hits)]))
        idcg = float(np.sum(discounts[:min(len(rel), k)]))
        ndcg_sum += dcg / idcg
        prec_sum += hits.sum() / k
        n_users += 1
    return ndcg_sum / n_users, prec_sum / n_users


def model_popularity(x, args):
    pop = np.asarray(x.sum(axis=0)).ravel()
    return lambda u: pop


def model_svd(x, args):
    # PureSVD (Cremonesi et al. 2010): scores = x_u V V^T
    xd = x.astype(np.float64)
    _, _, vt = spla.svds(xd, k=args.factors, random_state=0)
    v = vt.T
    return lambda u: (xd[u] @ v) @ v.T


def model_ease(x, args):
    # EASE (Steck 2019): B = I - P diag(1/diag P), P = (X^T X + lambda I)^-1
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += args.lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return lambda u: x[u] @ b


def model_itemknn(x, args):
    # item-item cosine on binary co-occurrence, top-K neighbours per item
    xb = x.copy()
    xb.data[:] = 1.0
    co = (xb.T @ xb).toarray().astype(np.float64)
    norms = np.sqrt(np.diag(co))
    norms[norms == 0] = 1.0
    sim = co / norms[:, None] / norms[None, :]
    np.fill_diagonal(sim, 0.0)
    k = args.neighbors
    n = sim.shape[0]
    if k < n:
        idx = np.arange(n)
        for i in range(n):
            # keep the k largest, ties by item index ascending
            order = np.lexsort((idx, -sim[i]))
            sim[i, order[k:]] = 0.0
    s = sp.csr_matrix(sim)
    return lambda u: (xb[u] @ s).toarray()


MODELS = {
    "popularity": model_popularity,
    "svd": model_svd,
    "ease": model_ease,
    "itemknn": model_itemknn,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=DEFAULT_DATA)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--test-percent", type=int, default=20)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--lambda", dest="lam", type=float, default=500.0)
    ap.add_argument("--neighbors", type=int, default=100)
    ap.add_argument("--models", default="popularity,svd,ease,itemknn")
    args = ap.parse_args()

    if not os.path.exists(args.data):
        print("reference_cf.py: %s not found, skipping" % args.data, file=sys.stderr)
        return 0
    x, user_ids, item_ids, test = load_split(args.data, args.test_percent)
    print("model\tndcg\tprecision")
    for name in args.models.split(","):
        score_fn = MODELS[name](x, args)
        ndcg, prec = evaluate(name, score_fn, x, user_ids, item_ids, test, args.k)
        print("%s\t%.4f\t%.4f" % (name, ndcg, prec))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
