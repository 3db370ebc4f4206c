#!/usr/bin/python3
"""scikit-learn's TfidfVectorizer on the tokens PostgreSQL produced, next to
fashionrec's tfidf_fit()/tfidf() output (test/bench/tfidf_myntra.sh).

    tfidf_reference.py TOKENS.csv VECTORS.csv TERMS.csv REPEATS [SIMILAR_QUERIES]

TOKENS.csv   id, lexemes joined by U+001F, each repeated once per position
VECTORS.csv  id, fashionrec's svec text ({i:v,...}/dim, 1-based)
TERMS.csv    feature, term (fashionrec's vocabulary)

Prints tab-separated key/value lines: the best fit_transform time over
REPEATS runs, whether the vocabularies are identical, the largest absolute
difference between the two matrices, and with SIMILAR_QUERIES the mean time
of a "more like this" query in scipy (one sparse matrix-vector product over
all rows, then the top 10).
"""
import csv
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

SEP = "\x1f"
csv.field_size_limit(1 << 30)


def analyzer(doc):
    # PostgreSQL already tokenised and stemmed: split, nothing else
    return doc.split(SEP) if doc else []


def read_tokens(path):
    ids, docs = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            ids.append(int(row[0]))
            docs.append(row[1])
    return ids, docs


def parse_svec(text):
    body, dim = text.rsplit("/", 1)
    body = body.strip()[1:-1]
    entries = []
    if body:
        for pair in body.split(","):
            i, v = pair.split(":")
            entries.append((int(i) - 1, float(v)))
    return int(dim), entries


def main():
    tokens_path, vectors_path, terms_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    similar_queries = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    ids, docs = read_tokens(tokens_path)

    best = float("inf")
    for _ in range(repeats):
        vec = TfidfVectorizer(analyzer=analyzer)
        t0 = time.perf_counter()
        X = vec.fit_transform(docs)
        best = min(best, time.perf_counter() - t0)
    X = X.tocsr()
    names = list(vec.get_feature_names_out())

    with open(terms_path, newline="", encoding="utf-8") as f:
        terms = [row[1] for row in sorted(csv.reader(f), key=lambda r: int(r[0]))]
    vocab_equal = terms == names

    row_of = {i: r for r, i in enumerate(ids)}
    max_diff = 0.0
    compared = 0
    dim_ok = True
    with open(vectors_path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            dim, entries = parse_svec(row[1])
            dim_ok &= dim == len(names)
            r = row_of[int(row[0])]
            ref = dict(zip(X.indices[X.indptr[r]:X.indptr[r + 1]], X.data[X.indptr[r]:X.indptr[r + 1]]))
            got = dict(entries)
            for k in set(ref) | set(got):
                max_diff = max(max_diff, abs(ref.get(k, 0.0) - got.get(k, 0.0)))
            compared += 1

    print(f"sklearn_seconds\t{best:.4f}")
    print(f"documents\t{len(docs)}")
    print(f"tokens\t{sum(len(analyzer(d)) for d in docs)}")
    print(f"features\t{len(names)}")
    print(f"nnz\t{X.nnz}")
    print(f"vocabulary_equal\t{'yes' if vocab_equal and dim_ok else 'NO'}")
    print(f"rows_compared\t{compared}")
    print(f"max_abs_diff\t{max_diff:.3g}")

    if similar_queries:
        # "more like this" with scipy: one sparse product against every row, then the top 10
        rows = np.random.default_rng(0).choice(X.shape[0], similar_queries, replace=False)
        t0 = time.perf_counter()
        for r in rows:
            s = (X @ X[r].T).toarray().ravel()
            s[r] = -np.inf
            top = np.argpartition(-s, 10)[:10]
            top = top[np.argsort(-s[top], kind="stable")]
        print(f"scipy_similar_ms\t{(time.perf_counter() - t0) * 1000 / similar_queries:.3f}")


if __name__ == "__main__":
    main()
