# Shared by run-tests.sh and demo.sh: dependencies, build, a private cluster.
# shellcheck shell=bash

PG_MAJOR=${PG_MAJOR:-15}
# what building, installing and running the extension needs (make demo) ...
FR_PACKAGES="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libopenblas-dev liblapacke-dev
  pkg-config make gcc postgresql-$PG_MAJOR-cron libjpeg62-turbo-dev libpng-dev"
# ... and what only the test suites need (make test adds them)
FR_TEST_PACKAGES="postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
  clang-14 libclang-rt-14-dev sqlsmith"

fr_log() { printf '\n== %s\n' "$*"; }

# Install what is missing with apt-get when we are root; otherwise say what to install.
fr_install_deps() {
    local missing=() p
    for p in $FR_PACKAGES ${FR_EXTRA_PACKAGES:-}; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    fr_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# FR_PG_CONFIG names another (relocated) copy of the server to build, install
# and test against, so that two checkouts can be tested at once without
# installing over each other; test/private-pg.sh makes one.
fr_setup_paths() {
    export PG_CONFIG=${FR_PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    export PATH="$PG_BINDIR:$PATH"
}

fr_build_install() {
    fr_log "building fashionrec"
    make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" ${FR_MAKE_FLAGS:-} >/dev/null || return 1
    if [ "$(id -u)" -eq 0 ] || [ -w "$($PG_CONFIG --pkglibdir)" ]; then
        make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
    else
        sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
    fi
}

# Run a command as the cluster's OS user (postgres when we are root: PostgreSQL refuses root).
fr_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

fr_free_port() {
    local port
    for port in $(seq "${1:-55432}" 65000); do
        if ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$port" ]; then
            echo "$port"; return 0
        fi
    done
    return 1
}

# fr_blas_coretype: the OPENBLAS_CORETYPE this machine needs, empty when
# OpenBLAS picks a kernel that uses the CPU (the server's own check,
# test/blas_core.c); an OPENBLAS_CORETYPE already set wins.
fr_blas_coretype() {
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then echo "$OPENBLAS_CORETYPE"; return 0; fi
    local root bin
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    bin=$(mktemp /tmp/fashionrec-blas-core.XXXXXX)
    # shellcheck disable=SC2046
    cc -O1 -I"$root/src" $(pkg-config --cflags openblas lapacke 2>/dev/null) -o "$bin" "$root/test/blas_core.c" \
        "$root/src/linalg.c" "$root/test/unit/kernel_stub.c" \
        $(pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke) -lm 2>/dev/null && "$bin"
    rm -f "$bin"
}

# fr_start_cluster DIR PORT: initdb if needed, start with pg_cron and fashionrec
# (serving statistics, the shared model store) preloaded; pg_cron runs jobs in
# background workers, so it needs no TCP or password to reach the server.
# Where OpenBLAS would run its generic kernel on an AVX2/FMA CPU, the server
# starts with OPENBLAS_CORETYPE set, so every test and figure runs the right one.
fr_start_cluster() {
    local dir=$1 port=$2 core
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        fr_as_owner initdb -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
        cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron,fashionrec'
cron.database_name = 'postgres'
cron.use_background_workers = on
fsync = off
max_worker_processes = 16
CONF
    fi
    core=$(fr_blas_coretype)
    [ -n "$core" ] && [ -z "${OPENBLAS_CORETYPE:-}" ] &&
        echo "OpenBLAS would run a generic kernel on this CPU: starting the server with OPENBLAS_CORETYPE=$core" >&2
    # FR_SERVER_ENV: more NAME=value words for the server's environment (su drops LD_PRELOAD)
    fr_as_owner env ${core:+OPENBLAS_CORETYPE=$core} ${FR_SERVER_ENV:-} pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
        cat "$dir/server.log" >&2; return 1; }
}

fr_stop_cluster() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] && fr_as_owner pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    return 0
}

# fr_bench_cluster: a throwaway cluster for a benchmark in TMP on PORT, with
# PGHOST/PGPORT/PGUSER exported and an empty database "bench"; stopped and
# removed on exit, unless FR_KEEP=1 leaves it running for a look afterwards.
fr_bench_cluster() {
    TMP=$(mktemp -d /tmp/fashionrec-bench.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chmod 755 "$TMP"
    PORT=$(fr_free_port $((56432 + RANDOM % 6000)))
    if [ -n "${FR_KEEP:-}" ]; then
        trap 'echo "cluster kept: PGHOST=$TMP PGPORT=$PORT PGUSER=postgres psql; stop: pg_ctl -D $TMP/data stop"' EXIT
    else
        trap 'fr_stop_cluster "$TMP"; rm -rf "$TMP"' EXIT
    fi
    fr_start_cluster "$TMP" "$PORT" || return 1
    export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
    # yardsticks run beside the server (blas_peak.c) use the kernel it runs
    local core
    core=$(fr_blas_coretype)
    [ -n "$core" ] && export OPENBLAS_CORETYPE=$core
    psql -qX -d postgres -c 'CREATE DATABASE bench' >/dev/null
}

# fr_shop_size S|M|L: sets C, P and E, the customers, products and events of
# the synthetic shop at that size (test/bench/scale.sh and als_cg_reference.sh)
fr_shop_size() {
    case $1 in
        S) C=100000; P=10000; E=1000000 ;;
        M) C=300000; P=30000; E=3000000 ;;
        L) C=1000000; P=100000; E=10000000 ;;
        *) echo "unknown shop size $1 (S, M or L)" >&2; return 1 ;;
    esac
}

# fr_ml100k_sql DIR: SQL (for psql) that loads MovieLens 100K from DIR into
# the tables ratings(user_id, item_id, rating, ts) and genres(item_id, v real[]),
# v the 19 genre flags of u.item (fields 6-24)
fr_ml100k_sql() {
    cat <<SQL
CREATE TABLE ratings (user_id int, item_id int, rating int, ts bigint);
\copy ratings FROM '$1/u.data'
CREATE TABLE item_lines (line text);
\copy item_lines FROM '$1/u.item' WITH (FORMAT text, ENCODING 'LATIN1', DELIMITER E'\x01')
CREATE TABLE genres AS
SELECT pg_catalog.split_part(line, '|', 1)::bigint AS item_id,
       ARRAY(SELECT g::real FROM unnest((pg_catalog.string_to_array(line, '|'))[6:24]) WITH ORDINALITY AS t(g, o)
              ORDER BY o) AS v
  FROM item_lines;
SQL
}

# fr_ml100k_cold_sql: after fr_ml100k_sql, the new-item split of
# test/bench/hybrid_ml100k.sh: the items whose md5 puts them in the held-out
# fifth (held_out), the ratings of the others (view warm), the held-out
# ratings of users who also have warm ones (view cold_test),
# cold_users(model) -> (user_id, ndcg, auc): every such user ranks all
# held-out items (candidates); cold_eval(model) -> (users, ndcg, auc), their
# means; cold_diff(a, b) -> (users, ndcg, ndcg_se, auc, auc_se): the mean
# per-user difference a - b and its standard error.
fr_ml100k_cold_sql() {
    cat <<'SQL'
CREATE TABLE held_out AS
SELECT DISTINCT item_id FROM ratings
 WHERE ('x' || substr(md5('fashionrec' || item_id), 1, 8))::bit(32)::int % 5 = 0;
CREATE VIEW warm AS SELECT user_id, item_id FROM ratings WHERE item_id NOT IN (SELECT item_id FROM held_out);
CREATE VIEW cold_test AS
SELECT user_id, item_id FROM ratings
 WHERE item_id IN (SELECT item_id FROM held_out)
   AND user_id IN (SELECT user_id FROM ratings WHERE item_id NOT IN (SELECT item_id FROM held_out));
-- rank of every held-out item for a user; items the model returns nothing
-- for share the ranks after the listed ones
CREATE FUNCTION cold_users(model text, OUT user_id bigint, OUT ndcg double precision, OUT auc double precision)
RETURNS SETOF record LANGUAGE sql AS $$
  WITH cand AS (SELECT array_agg(item_id ORDER BY item_id) AS ids, count(*) AS n FROM held_out),
  truth AS (SELECT user_id, array_agg(item_id) AS rel FROM cold_test GROUP BY user_id),
  lists AS (
    SELECT t.user_id, t.rel, c.n,
           ARRAY(SELECT r.item_id FROM fashionrec.recommend(model, t.user_id, c.n::int,
                                                            candidates => c.ids) r ORDER BY r.rank) AS ranked
      FROM truth t, cand c),
  ranks AS (
    SELECT l.user_id, l.n, cardinality(l.rel) AS p, cardinality(l.ranked) AS listed,
           coalesce(array_position(l.ranked, x), NULL) AS pos
      FROM lists l, unnest(l.rel) x),
  per_user AS (
    SELECT r.user_id,
           -- unlisted positives: the average of the remaining ranks
           sum(r.n - coalesce(r.pos, (r.listed + 1 + r.n) / 2.0)) AS above,
           min(r.p) AS p, min(r.n) AS n
      FROM ranks r GROUP BY r.user_id)
  SELECT u.user_id, fashionrec.ndcg_at_k(l.ranked, l.rel, 10)::double precision,
         ((u.above - u.p * (u.p - 1) / 2.0) / (u.p * (u.n - u.p)))::double precision
    FROM per_user u JOIN lists l USING (user_id)
   WHERE u.n > u.p
$$;
CREATE FUNCTION cold_eval(model text, OUT users bigint, OUT ndcg numeric, OUT auc numeric)
LANGUAGE sql AS $$
  SELECT count(*), round(avg(u.ndcg)::numeric, 4), round(avg(u.auc)::numeric, 4) FROM cold_users(model) u
$$;
CREATE FUNCTION cold_diff(a text, b text, OUT users bigint, OUT ndcg numeric, OUT ndcg_se numeric,
                          OUT auc numeric, OUT auc_se numeric)
LANGUAGE sql AS $$
  SELECT count(*), round(avg(x.ndcg - y.ndcg)::numeric, 4),
         round((stddev_samp(x.ndcg - y.ndcg) / sqrt(count(*)))::numeric, 4),
         round(avg(x.auc - y.auc)::numeric, 4), round((stddev_samp(x.auc - y.auc) / sqrt(count(*)))::numeric, 4)
    FROM cold_users(a) x JOIN cold_users(b) y USING (user_id)
$$;
SQL
}

# fr_cold_rows model...: after fr_ml100k_cold_sql, a table of cold_eval()
# (users, NDCG@10, AUC), one row per model
fr_cold_rows() {
    local m
    printf '%-34s %8s %10s %8s\n' model users "NDCG@10" AUC
    for m in "$@"; do
        printf '%-34s %8s %10s %8s\n' "$m" $(q -c "SELECT users, ndcg, auc FROM cold_eval('$m')")
    done
}

# fr_eval_rows test model...: a table of fashionrec.evaluate(model, test, 10)'s
# NDCG@10 and recall@10, one row per model
fr_eval_rows() {
    local test=$1 m
    shift
    printf '%-34s %10s %10s\n' model "NDCG@10" "recall@10"
    for m in "$@"; do
        printf '%-34s %10s %10s\n' "$m" $(q -c "SET client_min_messages = warning" \
            -c "SELECT round(ndcg_at_k::numeric, 4), round(recall_at_k::numeric, 4) FROM fashionrec.evaluate('$m', '$test', 10)" | tail -1)
    done
}

# fr_ml100k_split_sql: after fr_ml100k_sql, the temporal split of
# test/bench/ml100k.sh (each user's latest 20% of ratings are the test set)
# and the same split again inside the training part (validation): views
# train/test and fit/val, train and fit with (user_id, item_id, w, t)
fr_ml100k_split_sql() {
    cat <<'SQL'
CREATE TABLE split AS SELECT r.user_id, r.item_id, r.ts,
       row_number() OVER w > count(*) OVER (PARTITION BY r.user_id) - floor(count(*) OVER (PARTITION BY r.user_id) * 20 / 100) AS is_tail
  FROM ratings r
WINDOW w AS (PARTITION BY r.user_id ORDER BY r.ts, r.item_id, r.rating ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
CREATE TABLE inner_split AS SELECT r.user_id, r.item_id, r.ts,
       row_number() OVER w > count(*) OVER (PARTITION BY r.user_id) - floor(count(*) OVER (PARTITION BY r.user_id) * 20 / 100) AS is_tail
  FROM ratings r JOIN split s USING (user_id, item_id) WHERE NOT s.is_tail
WINDOW w AS (PARTITION BY r.user_id ORDER BY r.ts, r.item_id, r.rating ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
CREATE VIEW train AS SELECT user_id, item_id, 1 AS w, to_timestamp(ts) AS t FROM split WHERE NOT is_tail;
CREATE VIEW test AS SELECT user_id, item_id FROM split WHERE is_tail;
CREATE VIEW fit AS SELECT user_id, item_id, 1 AS w, to_timestamp(ts) AS t FROM inner_split WHERE NOT is_tail;
CREATE VIEW val AS SELECT user_id, item_id FROM inner_split WHERE is_tail;
SQL
}

# fr_data_bench NAME FILE...: the start of a benchmark on a data set of
# ../shared/data (FR_DATA overrides) — skip (exit 0) when a file is absent,
# install, build unless FR_NO_BUILD, a throwaway cluster (fr_bench_cluster)
# and q() for queries on "bench".  Sets DIR to the data set's folder.
fr_data_bench() {
    local f
    DIR=${FR_DATA:-$PWD/../shared/data}/$1
    shift
    for f in "$@"; do
        [ -r "$DIR/$f" ] || { echo "skipped: $DIR/$f not found (set FR_DATA)"; exit 0; }
    done
    fr_install_deps
    fr_setup_paths
    [ -n "${FR_NO_BUILD:-}" ] || fr_build_install
    fr_bench_cluster
    q() { psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -d bench "$@"; }
}

# fr_ml100k_bench: fr_data_bench for MovieLens 100K, with the ratings,
# genres and splits loaded (fr_ml100k_sql, fr_ml100k_split_sql).
fr_ml100k_bench() {
    fr_data_bench movielens-100k u.data u.item
    q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
$(fr_ml100k_sql "$DIR")
$(fr_ml100k_split_sql)
SQL
}
