#!/usr/bin/python3
"""Reference for the cold-start user protocol of hybrid_coldstart.sh.

numpy versions of the MovieLens 100K cold-user split, of the popularity and
content (genre flags, cosine) models folded in on the first n ratings, and
of NDCG@10 and AUC, written from the protocol rather than from the SQL, so
the benchmark can print independent figures for two of its rows.

Protocol:
  * a user is held out when the signed 32-bit integer of the first 8 hex
    digits of md5('fashionrec' || user_id) is a multiple of 5;
  * models see the ratings of the other users, each of weight 1;
  * a held-out user's ratings are ordered by (timestamp, item, rating); the
    first n are revealed, the rest are the truth;
  * ranked: every item of u.item but the revealed ones; a model lists the
    items it knows (popularity: items with a training rating; content:
    every item) by score, ties by item id ascending; items it does not list
    share the ranks after the listed ones;
  * NDCG@10 (binary, log2, ideal over min(|truth|, 10)) and AUC per user,
    averaged over users.

Usage: coldstart_reference.py DIR   (the movielens-100k directory)
Prints "model<TAB>n<TAB>users<TAB>ndcg<TAB>auc" per model and n.
"""

import hashlib
import sys

import numpy as np


def held_out(user_id):
    h = int(hashlib.md5(("fashionrec%d" % user_id).encode()).hexdigest()[:8], 16)
    if h >= 1 << 31:
        h -= 1 << 32
    return h % 5 == 0


def ndcg10(ranked, truth):
    dcg = sum(1.0 / np.log2(i + 2) for i, x in enumerate(ranked[:10]) if x in truth)
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(len(truth), 10)))
    return dcg / idcg


def auc(ranked, truth, m):
    pos = {x: i + 1 for i, x in enumerate(ranked)}
    listed = len(ranked)
    p = len(truth)
    above = sum(m - pos.get(x, (listed + 1 + m) / 2.0) for x in truth)
    return (above - p * (p - 1) / 2.0) / (p * (m - p))


def main():
    d = sys.argv[1]
    raw = np.loadtxt(d + "/u.data", dtype=np.int64)
    genres = {}
    with open(d + "/u.item", encoding="latin-1") as f:
        for line in f:
            parts = line.rstrip("\n").split("|")
            genres[int(parts[0])] = np.array([float(g) for g in parts[5:24]])
    items = np.array(sorted(genres))
    vec = np.array([genres[i] for i in items])
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    cold = np.array([held_out(int(u)) for u in raw[:, 0]])
    train = raw[~cold]

    counts = {}
    for i in train[:, 1]:
        counts[int(i)] = counts.get(int(i), 0) + 1
    pop_order = sorted(counts, key=lambda i: (-counts[i], i))

    test = raw[cold]
    order = np.lexsort((test[:, 2], test[:, 1], test[:, 3], test[:, 0]))
    test = test[order]
    users = {}
    for u, i in test[:, :2]:
        users.setdefault(int(u), []).append(int(i))

    for model in ("popularity", "content"):
        for n in (1, 3, 5):
            nd, au = [], []
            for u, hist in users.items():
                revealed, truth = hist[:n], set(hist[n:])
                m = len(items) - n
                if model == "popularity":
                    ranked = [i for i in pop_order if i not in revealed]
                else:
                    idx = np.searchsorted(items, revealed)
                    profile = vec[idx].sum(axis=0)
                    profile /= np.linalg.norm(profile)
                    s = vec @ profile
                    o = np.lexsort((items, -s))
                    ranked = [int(items[j]) for j in o if int(items[j]) not in revealed]
                nd.append(ndcg10(ranked, truth))
                au.append(auc(ranked, truth, m))
            print("%s\t%d\t%d\t%.4f\t%.4f" % (model, n, len(users), np.mean(nd), np.mean(au)))


if __name__ == "__main__":
    main()
