"""Vectors and the FAISS reference for test/bench/ann.sh.

    ann.py vectors N DIM SEED OUT.tsv   clustered unit vectors as (item, '{...}') rows
    ann.py faiss IN.tsv LISTS QUERIES PROBES...
        FAISS IndexIVFFlat (inner product, single thread) over the same rows:
        per probes, recall@10 against FAISS's exact search and ms per query
        (one query per search call, as a serving call is), tab-separated

Run with Debian's python3 (python3-faiss, python3-numpy).
"""
import sys
import time

import numpy as np


def vectors(n, dim, seed, out):
    # about sqrt(n) clusters of unequal size and spread: a catalog's
    # categories, not a uniform cloud that no index can partition
    rng = np.random.default_rng(seed)
    n_clusters = max(1, int(np.sqrt(n)))
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    weights = rng.pareto(1.5, n_clusters) + 1
    which = rng.choice(n_clusters, size=n, p=weights / weights.sum())
    spread = rng.uniform(0.3, 0.9, n_clusters).astype(np.float32)
    x = centres[which] + spread[which, None] * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    with open(out, "w") as f:
        for i in range(n):
            f.write("%d\t{%s}\n" % (i + 1, ",".join("%.5f" % v for v in x[i])))


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            _, v = line.rstrip("\n").split("\t")
            rows.append(np.array(v[1:-1].split(","), dtype=np.float32))
    return np.vstack(rows)


def reference(path, lists, n_queries, probes):
    import faiss

    faiss.omp_set_num_threads(1)
    x = load(path)
    n, dim = x.shape
    # the same queries as the SQL side: items 1, 1 + step, ... (ids are rows + 1)
    step = n // n_queries
    q = x[0:step * n_queries:step]
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    _, exact = flat.search(q, 11)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    started = time.time()
    index.train(x)
    index.add(x)
    print("build\t%.1f" % (time.time() - started))
    for p in probes:
        index.nprobe = p
        hits = 0
        started = time.time()
        for j in range(len(q)):
            _, got = index.search(q[j:j + 1], 11)
            # similar_items never returns the item itself: drop it from both
            want = [i for i in exact[j] if i != j * step][:10]
            have = [i for i in got[0] if i != j * step and i >= 0][:10]
            hits += len(set(want) & set(have))
        ms = (time.time() - started) * 1000 / len(q)
        print("%d\t%.4f\t%.3f" % (p, hits / (10.0 * len(q)), ms))


if __name__ == "__main__":
    if sys.argv[1] == "vectors":
        vectors(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        reference(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [int(p) for p in sys.argv[5:]])
