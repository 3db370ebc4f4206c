#!/usr/bin/python3
"""Generate the type-input fuzz cases that test/fuzz/types.sh runs.

Writes into OUTDIR one SQL script per family; each statement is independent,
so psql (without ON_ERROR_STOP) reports every ERROR and goes on.  The
families:

  svec_text.sql    random and mutated text literals cast to svec (and svec(n)),
                   the same strings as tfidf_vocab literals, real[] casts, the
                   helpers and operators on pairs of random vectors
  svec_bin.sql     \\copy ... (FORMAT binary) of random svec wire values (one
                   file per value, so each is its own COPY: svec_recv)
                   and of mutated valid tfidf_vocab values (tfidf_vocab_recv),
                   when --vocab names a binary COPY file of one
  images.sql       dominant_colors / color_histogram / image_info over random
                   bytes, mutated PNGs and JPEGs, and headers declaring huge
                   sizes (with valid CRCs, so only the size check can refuse)
  train.sql        train() with random jsonb params per algorithm
  serving.sql      recommend() and friends with random k, ids, arrays, contexts, versions

Deterministic for a given --seed.
"""
import argparse
import json
import os
import random
import struct
import zlib

FLOAT_WORDS = ["0", "1", "-1", "0.5", "1e-45", "3.4028235e38", "3.5e38", "-3.5e38", "1e39",
               "NaN", "nan", "Infinity", "-Infinity", "inf", "1e", "e5", "--1", "0x10", ".",
               "1.2.3", "", " ", "9" * 40, "-0", "+1", "1e-50"]
INT_WORDS = ["0", "1", "2", "-1", "7", "10", "1000000000", "1000000001", "2147483647",
             "2147483648", "-2147483648", "4294967297", "99999999999999999999", "", "+3",
             "1.5", "a", " 3", "0x1"]


def sql_str(s):
    """A standard-conforming string literal (no backslash escapes)."""
    return "'" + s.replace("'", "''") + "'"


def rand_svec_text(r):
    dim = r.choice([r.randint(1, 20), r.choice(INT_WORDS)])
    n = r.randint(0, 6)
    idx = sorted(r.sample(range(1, 25), n)) if r.random() < 0.7 else [r.randint(-3, 30) for _ in range(n)]
    parts = []
    for i in idx:
        key = str(i) if r.random() < 0.85 else r.choice(INT_WORDS)
        val = repr(r.uniform(-10, 10)) if r.random() < 0.7 else r.choice(FLOAT_WORDS)
        parts.append(f"{key}:{val}")
    return "{" + ",".join(parts) + "}/" + str(dim)


def mutate(r, s, alphabet="{}:/,.-+eE0123456789 \t\nNaIf"):
    s = list(s)
    for _ in range(r.randint(1, 4)):
        op = r.random()
        pos = r.randint(0, len(s))
        if op < 0.3 and s:
            del s[min(pos, len(s) - 1)]
        elif op < 0.6:
            s.insert(pos, r.choice(alphabet))
        elif op < 0.8 and s:
            s[min(pos, len(s) - 1)] = r.choice(alphabet)
        else:
            s.insert(pos, r.choice(["{", "}", "/", ":", ",", "9999999999", "NaN", "\u00e9", "   "]))
    return "".join(s)


def random_text(r):
    n = r.choice([0, 1, 2, 5, 20, 200])
    return "".join(chr(r.choice([r.randint(32, 126), r.randint(32, 126), 0xe9, 0x4e2d, 0x1f600]))
                   for _ in range(n))


def svec_text_cases(r, n):
    out = ["SET search_path = fashionrec, public;"]
    valid = ["{1:0.5,7:0.25}/10", "{}/5", "{3:1.5,5:-2e-3}/6", "{1000000000:1}/1000000000"]
    for _ in range(n):
        c = r.random()
        if c < 0.35:
            s = rand_svec_text(r)
        elif c < 0.75:
            s = mutate(r, r.choice(valid + [rand_svec_text(r)]))
        else:
            s = random_text(r)
        typmod = r.choice(["", "", "", f"({r.choice(INT_WORDS[:9])})"])
        typmod = typmod if typmod.strip("()").lstrip("-").isdigit() else ""
        out.append(f"SELECT {sql_str(s)}::svec{typmod}::text;")
        out.append(f"SELECT {sql_str(s)}::tfidf_vocab::text;")
    # casts from arrays: NULL elements, NaN, multi-dimensional, empty, lower bounds
    elems = ["0", "1", "-2.5", "NULL", "'NaN'", "'Infinity'", "3.4e38", "1e-40"]
    for _ in range(n // 4):
        k = r.randint(0, 6)
        arr = "ARRAY[" + ",".join(r.choice(elems) for _ in range(k)) + "]::real[]" if k else "'{}'::real[]"
        if r.random() < 0.15:
            arr = "'{{1,2},{3,4}}'::real[]"
        if r.random() < 0.1:
            arr = "'[5:6]={1,2}'::real[]"
        out.append(f"SELECT {arr}::svec::text, ({arr}::svec)::real[];")
    # helpers and operators on pairs of (mostly valid) random vectors
    for _ in range(n // 2):
        a, b = rand_svec_text(r), rand_svec_text(r)
        op = r.choice(["<=>", "<#>", "<->"])
        out.append(f"SELECT {sql_str(a)}::svec OPERATOR(fashionrec.{op}) {sql_str(b)}::svec;")
        out.append(f"SELECT dims(v), nnz(v), l2_normalize(v)::text, v::real[] IS NOT NULL "
                   f"FROM (SELECT {sql_str(a)}::svec AS v) s;")
    return out


def copy_file(values):
    """A binary COPY file with one column per row, values as raw bytes."""
    body = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
    for v in values:
        body += struct.pack("!h", 1) + struct.pack("!i", len(v)) + v
    return body + struct.pack("!h", -1)


def rand_svec_wire(r):
    dim = r.choice([r.randint(1, 50), 0, -1, 1000000000, 1000000001, 2 ** 31 - 1, -2 ** 31])
    nnz = r.choice([r.randint(0, 8), 0, -1, 2 ** 31 - 1, 1 << 28, dim if -2 ** 31 <= dim < 2 ** 31 else 0])
    reserved = 0 if r.random() < 0.85 else r.randint(-5, 5)
    real_n = nnz if 0 <= nnz <= 16 else r.randint(0, 8)
    idx = sorted(r.sample(range(0, 60), real_n)) if r.random() < 0.6 else [r.randint(-5, 70) for _ in range(real_n)]
    vals = []
    for _ in range(real_n):
        vals.append(r.choice([r.uniform(-5, 5), 0.0, float("nan"), float("inf"), -float("inf"), 1e-45]))
    b = struct.pack("!iii", dim, nnz, reserved)
    b += b"".join(struct.pack("!i", i) for i in idx) + b"".join(struct.pack("!f", v) for v in vals)
    c = r.random()
    if c < 0.15:
        b = b[:r.randint(0, len(b))]               # truncated
    elif c < 0.25:
        b += bytes(r.randint(0, 255) for _ in range(r.randint(1, 9)))   # trailing garbage
    elif c < 0.35:
        b = bytes(r.randint(0, 255) for _ in range(r.randint(0, 40)))   # noise
    return b


def bin_cases(r, n, outdir, table, make_value):
    out = []
    d = os.path.join(outdir, table)
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        path = os.path.join(d, f"{i:05d}.bin")
        with open(path, "wb") as f:
            f.write(copy_file([make_value(r)]))
        out.append(f"\\copy {table} FROM '{path}' WITH (FORMAT binary)")
    out.append(f"SELECT count(*) AS {table}_rows FROM {table};")
    return out


def vocab_mutator(valid):
    def make(r):
        b = bytearray(r.choice(valid))
        c = r.random()
        if c < 0.4:
            for _ in range(r.randint(1, 5)):
                b[r.randrange(len(b))] = r.randint(0, 255)
        elif c < 0.6:
            i = r.randrange(max(1, len(b) - 4))
            b[i:i + 4] = struct.pack("!i", r.choice([-1, 0, 2 ** 31 - 1, 1 << 24, 3]))
        elif c < 0.8:
            b = b[:r.randint(0, len(b))]
        else:
            b += bytes(r.randint(0, 255) for _ in range(r.randint(1, 12)))
        return bytes(b)
    return make


def read_copy_values(path):
    """The values of a one-column binary COPY file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 11 + 4
    (ext,) = struct.unpack_from("!i", data, pos)
    pos += 4 + ext
    out = []
    while True:
        (nf,) = struct.unpack_from("!h", data, pos)
        pos += 2
        if nf == -1:
            return out
        (ln,) = struct.unpack_from("!i", data, pos)
        pos += 4
        out.append(data[pos:pos + ln])
        pos += ln


def png_chunk(kind, data):
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data) & 0xffffffff)


def make_png(w, h, pixels=None, declared=None):
    """An RGB PNG; declared=(W, H) writes another size into a valid IHDR."""
    W, H = declared or (w, h)
    raw = b""
    for y in range(h):
        raw += b"\x00" + (pixels[y] if pixels else bytes((x * 37 + y * 11) % 256 for x in range(3 * w)))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack("!IIBBBBB", W, H, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def jpeg_samples(r):
    try:
        import io
        from PIL import Image
    except ImportError:
        return []
    out = []
    for w, h, mode in [(16, 16, "RGB"), (9, 5, "RGB"), (8, 8, "L"), (40, 24, "CMYK")]:
        img = Image.new(mode, (w, h))
        img.putdata([tuple(r.randint(0, 255) for _ in range(len(mode))) if mode != "L" else r.randint(0, 255)
                     for _ in range(w * h)])
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80, progressive=(w == 40))
        out.append(buf.getvalue())
    return out


def sof_resized(jpeg, W, H):
    i = jpeg.find(b"\xff\xc0")
    if i < 0:
        i = jpeg.find(b"\xff\xc2")
    if i < 0:
        return jpeg
    return jpeg[:i + 5] + struct.pack("!HH", H, W) + jpeg[i + 9:]


def image_cases(r, n):
    pngs = [make_png(4, 3), make_png(17, 9), make_png(1, 1)]
    jpegs = jpeg_samples(r)
    seeds = pngs + jpegs
    out = []
    for _ in range(n):
        c = r.random()
        if c < 0.15:
            img = bytes(r.randint(0, 255) for _ in range(r.randint(0, 300)))
        elif c < 0.3 and seeds:
            img = bytearray(r.choice(seeds))
            for _ in range(r.randint(1, 6)):
                img[r.randrange(len(img))] = r.randint(0, 255)
            img = bytes(img)
        elif c < 0.4 and seeds:
            s = r.choice(seeds)
            img = s[:r.randint(0, len(s))]
        elif c < 0.55:
            big = r.choice([(100000, 100000), (2 ** 31 - 1, 1), (1, 2 ** 31 - 1), (70000, 1000),
                            (5000, 10001), (0, 5), (5, 0), (2 ** 32 - 1, 2 ** 32 - 1)])
            img = make_png(4, 3, declared=big)
        elif c < 0.65 and jpegs:
            big = r.choice([(65535, 65535), (20000, 20000), (0, 16), (16, 0), (65000, 800)])
            img = sof_resized(r.choice(jpegs), *big)
        elif c < 0.75:
            # pixels for a smaller image than the header says, or the reverse
            img = make_png(r.randint(1, 6), r.randint(1, 6), declared=(r.randint(1, 9), r.randint(1, 9)))
        else:
            img = r.choice(seeds) if seeds else make_png(3, 3)
        lit = "'\\x" + img.hex() + "'::bytea"
        # mostly valid k and bins, so most cases reach the decoder
        k = r.choice(["5", "1", "3", "8", "32"] * 3 + ["0", "-1", "33", "2147483647", "NULL"])
        bins = r.choice(["8", "2", "4", "16"] * 3 + ["1", "17", "0", "-5", "2147483647"])
        bg = r.choice(["true", "false"])
        f = r.random()
        if f < 0.45:
            out.append(f"SELECT count(*), sum(share) > 0 FROM fashionrec.dominant_colors({lit}, {k}, {bg}, "
                       f"{r.randint(-5, 10 ** 12)});")
        elif f < 0.85:
            out.append(f"SELECT array_length(fashionrec.color_histogram({lit}, {bins}, {bg}), 1);")
        else:
            out.append(f"SELECT (fashionrec.image_info({lit})).*;")
    # encode_png's own inputs
    for _ in range(n // 10):
        w, h = r.choice([0, 1, 3, -1, 70000, 2 ** 31 - 1]), r.choice([0, 1, 2, -3, 70000])
        data = bytes(r.randint(0, 255) for _ in range(r.choice([0, 3, 9, 18, 50])))
        out.append(f"SELECT length(fashionrec.encode_png({w}, {h}, '\\x{data.hex()}'::bytea));")
    return out


def rand_json_value(r, depth=0):
    c = r.random()
    if c < 0.25:
        return r.choice([0, 1, 2, 3, 10, 64, -1, -100, 2 ** 31, 2 ** 53, 10 ** 30, 4096, 100000])
    if c < 0.45:
        return r.choice([0.0, 0.5, 1e-9, -0.5, 1.5, 2.5, 1e300, -1e300, 0.999, 1e6])
    if c < 0.6:
        return r.choice(["", "cosine", "bm25", "cg", "cholesky", "sgd", "als", "english", "simple",
                         "x" * 300, "1", "none", "log", "[\"a\"]", "SELECT 1", "buys", "fz_buys",
                         "minmax", "zscore", "rank", "title", "color", "popularity", "item_id"])
    if c < 0.7:
        return r.choice([True, False, None])
    if c < 0.8 and depth < 2:
        return [rand_json_value(r, depth + 1) for _ in range(r.randint(0, 3))]
    if c < 0.9 and depth < 2:
        return {r.choice(["a", "title", "color", "weight", "cf"]): rand_json_value(r, depth + 1)
                for _ in range(r.randint(0, 3))}
    return r.randint(-5, 50)


# values of the right type and range for the parameters whose names say it, so
# that most trainings get past the parser into the algorithm
PLAUSIBLE = {
    "factors": [1, 2, 4, 8, 16], "iterations": [1, 2, 3], "epochs": [1, 2], "cg_steps": [1, 3],
    "neighbors": [1, 5, 50], "max_items": [10, 100], "seed": [0, 1, 12345],
    "oversampling": [0, 5], "power_iterations": [0, 2], "window": [1, 3], "max_neighbors": [1, 10],
    "recent_items": [1, 5], "max_features": [1, 10, 1000], "history_n0": [0, 1, 5],
    "regularization": [0.0, 0.01, 1.0], "bias_regularization": [0.0, 0.1], "alpha": [1.0, 40.0],
    "learning_rate": [0.001, 0.05], "lambda": [0.1, 100.0, 500.0], "shrinkage": [0.0, 10.0],
    "bm25_k1": [1.2], "bm25_b": [0.75], "half_life_days": [1.0, 30.0], "popularity_exponent": [0.0, 0.5],
    "session_gap_minutes": [30, 1], "recency_decay": [0.5, 1.0], "ridge_lambda": [1.0],
    "min_df": [1, 2, 0.1], "max_df": [1.0, 0.5, 50], "min_user_interactions": [1, 3],
    "min_item_interactions": [1, 3], "confidence": ["linear", "log"], "solver": ["cg", "cholesky", "sgd", "als"],
    "similarity": ["cosine", "jaccard", "bm25", "asymmetric"], "normalization": ["none", "user", "item", "minmax"],
    "normalize": [True, False], "sublinear_tf": [True, False], "use_idf": [True, False],
    "smooth_idf": [True, False], "config": ["english", "simple"], "text_column": ["title", "2"],
    "attribute_columns": ["colour", "[\"colour\"]"], "weights": ["{\"colour\": 2.0}", "{\"title\": 1}"],
    "weight_column": ["rating"], "time_column": ["bought"], "user_column": ["customer"],
    "item_column": ["product"], "interactions": ["fz_buys", "SELECT customer, product FROM fz_buys"], "cold_start": ["popularity", "content"],
}

SOURCE_PARAMS = ["user_column", "item_column", "weight_column", "time_column", "context_column",
                 "interactions", "min_user_interactions", "min_item_interactions"]


def train_cases(r, n, algorithms):
    sources = {"default": ["fz_buys", "SELECT customer, product FROM fz_buys",
                           "SELECT customer, product, rating FROM fz_buys WHERE rating > 2",
                           "SELECT customer, product, 1.0, bought FROM fz_buys",
                           "fz_no_such_table", "SELECT 1", "SELECT NULL::bigint, NULL::bigint",
                           "SELECT customer::text, product FROM fz_buys", "fz_items"],
               "content": ["fz_items", "SELECT id, title FROM fz_items", "SELECT id, vec FROM fz_items",
                           "SELECT id, title, colour FROM fz_items", "fz_buys", "SELECT id, NULL::text FROM fz_items"]}
    out = ["SET statement_timeout = '3s';", "SET client_min_messages = warning;"]
    names = sorted(algorithms)
    for i in range(n):
        alg = r.choice(names) if r.random() < 0.97 else r.choice(["no_such_algorithm", "", "ALS"])
        # mostly the algorithm's own parameters: source parameters have their own tests
        keys = algorithms.get(alg, []) * 3 + SOURCE_PARAMS
        params = {}
        for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3])):
            key = r.choice(keys) if r.random() < 0.95 else r.choice(["nope", "", "Factors", "x" * 70])
            # plausible values half the time, so trainings get past the parser
            params[key] = (r.choice(PLAUSIBLE.get(key, [1, 2, 0.1, True, "title"]))
                           if r.random() < 0.7 else rand_json_value(r))
        kind = "content" if alg in ("tfidf", "attributes", "embedding") else "default"
        src = r.choice(sources[kind] if r.random() < 0.85 else sources["default"] + sources["content"])
        pj = json.dumps(params) if r.random() < 0.95 else r.choice(["[]", "1", "\"s\"", "null"])
        out.append(f"SELECT fashionrec.train('fz-{alg[:20]}', {sql_str(alg)}, {sql_str(src)}, "
                   f"{sql_str(pj)}::jsonb) > 0;")
    out.append("RESET statement_timeout;")
    return out


def serving_cases(r, n):
    models = ["fz-pop", "fz-knn", "fz-als", "fz-ease", "fz-svd", "fz-mf", "fz-none", ""]
    ints = ["0", "1", "5", "-1", "2147483647", "-2147483648", "NULL", "1000000"]
    ids = ["1", "0", "-1", "42", "9223372036854775807", "-9223372036854775808", "NULL", "3"]
    arrays = ["NULL", "'{}'", "'{1,2,3}'", "'{NULL,1}'", "'{{1,2},{3,4}}'", "'[0:1]={5,6}'",
              "(SELECT array_agg(g) FROM generate_series(1, 3000) g)", "'{-1,9223372036854775807}'"]
    reals = ["NULL", "'{}'", "'{1}'", "'{1,NaN}'", "'{1,2,3}'", "'{NULL,1}'", "'{Infinity,-1}'"]
    contexts = ["NULL", "'summer'", "''", "'x' || repeat('y', 3000)"]
    out = ["SET statement_timeout = '5s';"]
    for _ in range(n):
        m = sql_str(r.choice(models))
        f = r.randint(0, 9)
        # the serving API's positional order: (name, subject, k, exclude_seen,
        # candidates, exclude, context, version), each taking what it uses
        if f == 0:
            out.append(f"SELECT count(*) FROM fashionrec.recommend({m}, {r.choice(ids)}, {r.choice(ints)}, "
                       f"{r.choice(['true', 'false', 'NULL'])}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(arrays)}::bigint[], {r.choice(contexts)}, {r.choice(ints)});")
        elif f == 1:
            out.append(f"SELECT count(*) FROM fashionrec.similar_items({m}, {r.choice(ids)}, {r.choice(ints)}, "
                       f"{r.choice(arrays)}::bigint[], {r.choice(arrays)}::bigint[], {r.choice(ints)});")
        elif f == 2:
            out.append(f"SELECT count(*) FROM fashionrec.recommend_for_items({m}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(ints)}, {r.choice(['true', 'false'])}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(arrays)}::bigint[], {r.choice(contexts)}, {r.choice(ints)}, "
                       f"{r.choice(reals)}::real[]);")
        elif f == 3:
            out.append(f"SELECT fashionrec.predict({m}, {r.choice(ids)}, {r.choice(ids)}, {r.choice(ints)}) IS NULL;")
        elif f == 4:
            out.append(f"SELECT count(*) FROM fashionrec.recommend_all({m}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(['1', '3', '0', '-2', '100000'])}, {r.choice(['true', 'false', 'NULL'])}, "
                       f"{r.choice(arrays)}::bigint[], {r.choice(arrays)}::bigint[]);")
        elif f == 5:
            out.append(f"SELECT array_length(fashionrec.user_embedding({m}, {r.choice(ids)}), 1), "
                       f"array_length(fashionrec.item_embedding({m}, {r.choice(ids)}), 1);")
        elif f == 8:
            out.append(f"SELECT count(*) FROM fashionrec.next_items({m}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(ints)}, {r.choice(['true', 'false', 'NULL'])}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(arrays)}::bigint[], {r.choice(ints)});")
        elif f == 9:
            out.append(f"SELECT count(*) FROM fashionrec.explain({m}, {r.choice(ids)}, {r.choice(ints)}, "
                       f"{r.choice(['true', 'false', 'NULL'])}, {r.choice(arrays)}::bigint[], "
                       f"{r.choice(arrays)}::bigint[], {r.choice(contexts)}, "
                       f"{r.choice(ints)});")
        elif f == 6:
            metric = r.choice(["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "hit_rate_at_k"])
            out.append(f"SELECT fashionrec.{metric}({r.choice(arrays)}::bigint[], {r.choice(arrays)}::bigint[], "
                       f"{r.choice(ints)});")
        else:
            out.append(f"SELECT fashionrec.rmse({r.choice(reals)}::real[], {r.choice(reals)}::real[]), "
                       f"fashionrec.mae({r.choice(reals)}::real[], {r.choice(reals)}::real[]);")
    out.append("RESET statement_timeout;")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every case count")
    ap.add_argument("--vocab", help="binary COPY file of valid tfidf_vocab values to mutate")
    ap.add_argument("--algorithms", default="", help="name=p1,p2;name=... from fashionrec.algorithms()")
    a = ap.parse_args()
    r = random.Random(a.seed)
    n = lambda base: max(1, int(base * a.scale))
    algorithms = {}
    for part in filter(None, a.algorithms.split(";")):
        name, _, params = part.partition("=")
        algorithms[name] = [p for p in params.split(",") if p]
    os.makedirs(a.outdir, exist_ok=True)
    files = {
        "svec_text.sql": svec_text_cases(r, n(1000)),
        "svec_bin.sql": bin_cases(r, n(400), a.outdir, "fz_svec", rand_svec_wire)
                        + bin_cases(r, n(100), a.outdir, "fz_svec5", rand_svec_wire),
        "images.sql": image_cases(r, n(400)),
        "train.sql": train_cases(r, n(150), algorithms),
        "serving.sql": serving_cases(r, n(600)),
    }
    if a.vocab and os.path.getsize(a.vocab) > 0:
        files["svec_bin.sql"] += bin_cases(r, n(200), a.outdir, "fz_vocab",
                                           vocab_mutator(read_copy_values(a.vocab)))
    for name, lines in files.items():
        with open(os.path.join(a.outdir, name), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
