#!/usr/bin/env bash
# Approximate top-k benchmark: similar_items() through the IVF index of an
# "embedding" model (clustered synthetic unit vectors, ITEMS x DIM for each
# DIM), against the exact scan (exact => true) and FAISS IndexIVFFlat
# (python3-faiss, inner product, one thread) with the same lists and probes,
# in the same run:
#   - index build time (fashionrec: at training, "ann": {"lists": LISTS}),
#   - recall@10 against each one's own exact search and ms per query over
#     probes (QUERIES items as queries, the item itself left out),
#   - pgbench p50/p99 at one client at the default probes, the exact scan,
#     and the same call on a 10-item model (the SQL call's own overhead).
#
#   bash test/bench/ann.sh       (ITEMS=200000 DIMS="64 256" QUERIES=200 SECONDS_PER_RUN=15)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ITEMS=${ITEMS:-200000}
DIMS=${DIMS:-64 256}
QUERIES=${QUERIES:-200}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
PROBES_CURVE=${PROBES_CURVE:-1 2 4 8 16 32 64 128}
LISTS=${LISTS:-$(awk -v n="$ITEMS" 'BEGIN { printf "%d", 4 * sqrt(n) + 0.5 }')}
PY=/usr/bin/python3   # Debian's, where python3-faiss is installed

FR_EXTRA_PACKAGES="python3-faiss python3-numpy ${FR_EXTRA_PACKAGES:-}" fr_install_deps
fr_setup_paths
fr_build_install
fr_bench_cluster

q() { psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -d bench "$@"; }
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
-- the exact top 10 of each query item, computed once per model: an exact
-- scan between two timed calls would evict the index from the caches
CREATE TABLE exact_top (model text, qi bigint, want bigint[], PRIMARY KEY (model, qi));
-- recall@10 of one probes setting over the query items, and ms per call
CREATE FUNCTION probe_curve(model text, probes int, queries bigint[])
RETURNS TABLE (recall float8, ms float8) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    total interval := '0';
    hits bigint := 0;
    got bigint[];
    q_item bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM exact_top e WHERE e.model = probe_curve.model) THEN
        INSERT INTO exact_top
        SELECT probe_curve.model, q, ARRAY(SELECT item_id FROM fashionrec.similar_items(probe_curve.model, q, 10, exact => true))
          FROM unnest(queries) q;
    END IF;
    -- untimed: a model above fashionrec.shared_cache_size is loaded by each
    -- backend's first call, which is not a search
    PERFORM fashionrec.similar_items(model, queries[1], 10, probes => probes);
    FOREACH q_item IN ARRAY queries LOOP
        t0 := clock_timestamp();
        SELECT array_agg(item_id) INTO got FROM fashionrec.similar_items(model, q_item, 10, probes => probes);
        total := total + (clock_timestamp() - t0);
        hits := hits + (SELECT count(*) FROM exact_top e, unnest(got) g
                         WHERE e.model = probe_curve.model AND e.qi = q_item AND g = ANY (e.want));
    END LOOP;
    recall := hits / (10.0 * cardinality(queries));
    ms := extract(epoch FROM total) * 1000 / cardinality(queries);
    RETURN NEXT;
END
$$;
SQL

latency() {   # script -> "p50 p99" over SECONDS_PER_RUN at one client
    local log=$TMP/log.$1
    rm -rf "$log"; mkdir -p "$log"
    (cd "$log" && pgbench -n -c 1 -j 1 -T "$SECONDS_PER_RUN" -M prepared -l -f "$TMP/$1.sql" bench > out.txt 2>&1)
    cat "$log"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -n > "$log/lat"
    local n
    n=$(wc -l < "$log/lat")
    printf '%s %s\n' "$(sed -n "$(( (n + 1) / 2 ))p" "$log/lat")" "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$log/lat")"
}

DEFAULT_PROBES=$(q -c 'SHOW fashionrec.ann_probes')
STEP=$((ITEMS / QUERIES))
for DIM in $DIMS; do
    echo "== $ITEMS items x $DIM dims, $LISTS lists; load: $(uptime | sed 's/.*load average: //')"
    "$PY" test/bench/ann.py vectors "$ITEMS" "$DIM" "$DIM" "$TMP/vec.tsv"
    build=$(q <<SQL | tail -1
SET client_min_messages = warning;
SET fashionrec.max_memory = '6GB';
DROP TABLE IF EXISTS vec;
CREATE TABLE vec (item bigint, v real[]);
\copy vec FROM '$TMP/vec.tsv'
SELECT fashionrec.train('ann$DIM', 'embedding', 'vec', '{"ann": {"lists": $LISTS}}') IS NOT NULL;
SELECT fashionrec.train('tiny$DIM', 'embedding', 'SELECT * FROM vec WHERE item <= 10') IS NOT NULL;
SELECT info -> 'ann' ->> 'seconds' FROM fashionrec.models WHERE name = 'ann$DIM';
SQL
)
    echo "index build in fashionrec: $build s"
    q -c "SELECT count(*) FROM fashionrec.similar_items('ann$DIM', 1, 10)" >/dev/null

    printf '%-8s %14s %12s %14s %12s\n' probes "fr recall@10" "fr ms/call" "faiss recall" "faiss ms"
    "$PY" test/bench/ann.py faiss "$TMP/vec.tsv" "$LISTS" "$QUERIES" $PROBES_CURVE > "$TMP/faiss.out"
    for p in $PROBES_CURVE; do
        read -r recall ms < <(q -c "SELECT round(recall::numeric, 4), round(ms::numeric, 3)
                                     FROM probe_curve('ann$DIM', $p, ARRAY(SELECT g::bigint FROM generate_series(1, $ITEMS, $STEP) g LIMIT $QUERIES))")
        read -r _ frecall fms < <(grep -P "^$p\t" "$TMP/faiss.out")
        printf '%-8s %14s %12s %14s %12s\n' "$p" "$recall" "$ms" "$frecall" "$fms"
    done
    echo "faiss index build (train + add, 1 thread): $(awk -F'\t' '/^build/ { print $2 }' "$TMP/faiss.out") s"

    cat > "$TMP/ann.sql" <<SQL
\set i random(1, $ITEMS)
SELECT * FROM fashionrec.similar_items('ann$DIM', :i, 10);
SQL
    cat > "$TMP/exact.sql" <<SQL
\set i random(1, $ITEMS)
SELECT * FROM fashionrec.similar_items('ann$DIM', :i, 10, exact => true);
SQL
    cat > "$TMP/tiny.sql" <<SQL
\set i random(1, 10)
SELECT * FROM fashionrec.similar_items('tiny$DIM', :i, 10);
SQL
    printf '%-40s %10s %10s\n' "pgbench, 1 client" "p50 ms" "p99 ms"
    for s in ann exact tiny; do
        read -r p50 p99 < <(latency "$s")
        case $s in
            ann) label="index, probes = $DEFAULT_PROBES (default)" ;;
            exact) label="exact scan (exact => true)" ;;
            tiny) label="a 10-item model (call overhead)" ;;
        esac
        printf '%-40s %10.2f %10.2f\n' "$label" "$p50" "$p99"
    done
    echo "load after: $(uptime | sed 's/.*load average: //')"
done
