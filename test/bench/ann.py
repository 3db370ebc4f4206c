"""Vectors and the FAISS reference for test/bench/ann.sh.

    ann.py vectors N DIM SEED OUT.tsv   clustered unit vectors as (item, '{...}') rows
    ann.py faiss IN.tsv LISTS QUERIES PROBES...
        FAISS IndexIVFFlat (inner product, single thread) over the same rows:
        per probes, recall@10 against FAISS's exact search and ms per query
        (one query per search call, as a serving call is), tab-separated
    ann.py faiss-users ITEMS.tsv USERS.tsv LISTS PROBES...
        the same over item factors, queried by user vectors: USERS.tsv rows
        are (user, '{vector}', '{seen item ids}'), and seen items are left
        out of both searches, as recommend() leaves them out
    ann.py raw ITEMS.tsv USERS.tsv DIR
        the same two files as DIR/items.f32 and DIR/users.f32 (float32 rows)
        and DIR/seen.txt (per user: the count, then the seen items' rows),
        for test/bench/ivf_build.c's factors mode

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


def ivf(x, lists):
    """FAISS's exact index and its IVF index over x, with the IVF build time."""
    import faiss

    faiss.omp_set_num_threads(1)
    dim = x.shape[1]
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    started = time.time()
    index.train(x)
    index.add(x)
    return flat, index, quantizer, time.time() - started


def reference(path, lists, n_queries, probes):
    x = load(path)
    n = x.shape[0]
    # the same queries as the SQL side: items 1, 1 + step, ... (ids are rows + 1)
    step = n // n_queries
    q = x[0:step * n_queries:step]
    flat, index, _quantizer, seconds = ivf(x, lists)
    _, exact = flat.search(q, 11)
    print("build\t%.1f" % seconds)
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


def load_users(items_path, users_path):
    ids = []
    rows = []
    with open(items_path) as f:
        for line in f:
            i, v = line.rstrip("\n").split("\t")
            ids.append(int(i))
            rows.append(np.array(v[1:-1].split(","), dtype=np.float32))
    x = np.vstack(rows)
    row_of = {i: r for r, i in enumerate(ids)}
    q = []
    seen = []
    with open(users_path) as f:
        for line in f:
            _, v, s = line.rstrip("\n").split("\t")
            q.append(np.array(v[1:-1].split(","), dtype=np.float32))
            seen.append({row_of[int(i)] for i in s[1:-1].split(",") if i})
    return x, np.vstack(q), seen


def raw(items_path, users_path, out):
    x, q, seen = load_users(items_path, users_path)
    x.tofile(out + "/items.f32")
    q.tofile(out + "/users.f32")
    with open(out + "/seen.txt", "w") as f:
        for s in seen:
            f.write(" ".join(str(i) for i in [len(s)] + sorted(s)) + "\n")


def reference_users(items_path, users_path, lists, probes):
    x, q, seen = load_users(items_path, users_path)
    flat, index, _quantizer, seconds = ivf(x, lists)
    print("build\t%.1f" % seconds)

    def top10(found, skip):
        return [i for i in found if i >= 0 and i not in skip][:10]

    want = [top10(flat.search(q[j:j + 1], 10 + len(seen[j]))[1][0], seen[j]) for j in range(len(q))]
    for p in probes:
        index.nprobe = p
        hits = 0
        started = time.time()
        for j in range(len(q)):
            # as many more as the user has seen, so that 10 unseen remain
            _, got = index.search(q[j:j + 1], 10 + len(seen[j]))
            hits += len(set(want[j]) & set(top10(got[0], seen[j])))
        ms = (time.time() - started) * 1000 / len(q)
        print("%d\t%.4f\t%.3f" % (p, hits / (10.0 * len(q)), ms))


if __name__ == "__main__":
    if sys.argv[1] == "vectors":
        vectors(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "raw":
        raw(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "faiss-users":
        reference_users(sys.argv[2], sys.argv[3], int(sys.argv[4]), [int(p) for p in sys.argv[5:]])
    else:
        reference(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [int(p) for p in sys.argv[5:]])
