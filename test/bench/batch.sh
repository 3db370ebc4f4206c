#!/usr/bin/env bash
# Batch scoring benchmark: every user's top 10 from an ALS model of USERS
# users x ITEMS items x FACTORS factors, with recommend_all_into() at 1 and 2
# processes, beside two references for the bare sgemm of the same shapes in
# the kernel's tiles: numpy's (1 and 2 OpenBLAS threads) and C's through the
# OpenBLAS the extension links (test/bench/batch_kernel.c sgemm, 1 thread),
# each with its library and kernel named; runs alternated and the best of
# RUNS kept; then the kernel alone against the sgemm of its tiles in one
# process.  Prints the load average with the figures, and CPU time beside
# the wall time of the 1-thread runs: the machine is shared.
#
#   bash test/bench/batch.sh     (USERS=200000 ITEMS=100000 FACTORS=64 K=10 RUNS=2 KERNEL_USERS=20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

USERS=${USERS:-200000}
ITEMS=${ITEMS:-100000}
FACTORS=${FACTORS:-64}
K=${K:-10}
RUNS=${RUNS:-2}
KERNEL_USERS=${KERNEL_USERS:-20000}

fr_install_deps
fr_setup_paths
fr_build_install
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "numpy missing: apt-get install python3-numpy" >&2; exit 1; }

fr_bench_cluster

echo "== model: ALS $FACTORS factors, $USERS users x $ITEMS items (one iteration: the factors' values do not change the cost)"
psql -qX -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
SET fashionrec.max_memory = '8GB';
-- three purchases per user, every item bought at least once
CREATE TABLE buys AS
SELECT u, 1 + (hashint8(u * 3 + j) & 2147483647) % $ITEMS AS i
  FROM generate_series(1, $USERS) u, generate_series(1, 3) j
UNION ALL SELECT 1 + g % $USERS, g FROM generate_series(1, $ITEMS) g;
SELECT fashionrec.train('bench', 'als', 'buys', '{"factors": $FACTORS, "iterations": 1}') IS NOT NULL;
SELECT users, items, interactions, seconds FROM fashionrec.models WHERE name = 'bench';
CREATE UNLOGGED TABLE recs (user_id bigint, item_id bigint, score real, rank integer);
-- load the model into the shared store once, outside the timings
SELECT count(*) FROM fashionrec.recommend('bench', 1, 10);
SQL
echo "OpenBLAS kernel in the server: $(psql -qXAt -d bench -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"
echo "OpenBLAS the server links: $(ldd "$("$PG_CONFIG" --pkglibdir)/fashionrec.so" | awk '/libopenblas/ {print $3}' | xargs readlink -f)"
# numpy's, from the OpenBLAS its process mapped: the yardstick must run the same kernel
echo "OpenBLAS kernel in numpy: $(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c "
import ctypes, numpy as np
a = np.ones((64, 64), dtype=np.float32); a @ a
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libopenblas' in l})
f = ctypes.CDLL(libs[0]).openblas_get_corename if libs else None
if f: f.restype = ctypes.c_char_p
print((f().decode() + ' (' + libs[0] + ', numpy ' + np.__version__ + ')') if f else 'not OpenBLAS')")"

# with the server's own CFLAGS (its -fwrapv once kept the top k's test scalar in the
# server only: the kernel alone must be the code the server runs)
cc $("$PG_CONFIG" --cflags) -Isrc $(pkg-config --cflags openblas) -o "$TMP/batch_kernel" test/bench/batch_kernel.c \
    test/unit/kernel_stub.c src/batch.c src/topk.c src/linalg.c src/rng.c \
    $(pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke) -lm
echo "OpenBLAS the C reference links: $(ldd "$TMP/batch_kernel" | awk '/libopenblas/ {print $3}' | xargs readlink -f), kernel $(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c "
import ctypes; f = ctypes.CDLL('libopenblas.so.0').openblas_get_corename; f.restype = ctypes.c_char_p; print(f().decode())")"

# "WALL CPU" seconds of one recommend_all_into with $1 processes, CPU the
# calling backend's own (utime + stime of /proc/self/stat, in CLK_TCK ticks:
# at 1 process the whole work, scoring and insert); its NOTICE (scoring and
# insert times) on stderr
TICK=$(getconf CLK_TCK)
run_into() {
    local out
    psql -qX -d bench -c 'TRUNCATE recs' >/dev/null
    out=$(psql -qXAt -v ON_ERROR_STOP=1 -d bench 2>&1 <<SQL
SET fashionrec.max_memory = '8GB';
CREATE TEMP VIEW cpu AS SELECT f[12]::bigint + f[13]::bigint AS ticks
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s;
SELECT extract(epoch FROM clock_timestamp()) AS t0, ticks AS c0 FROM cpu \gset
SELECT fashionrec.recommend_all_into('bench', 'recs', $K, workers => $1) AS rows \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 2) || ' ' || round((ticks - :c0) / $TICK.0, 2) FROM cpu;
SQL
)
    grep 'scored by' <<<"$out" >&2
    grep -v NOTICE <<<"$out" | tail -1
}

# numpy: C = U V^T of the same shapes, the item factors row-major as the
# model stores them, in the kernel's tiles into one reused buffer (at 512 x
# 512 as fast as numpy's best layout, V^T contiguous; at 128 x 2,048 that
# layout was 13% faster, which once made numpy look faster than C)
read -r BLOCK TILE <<<"$(awk '/#define FR_BATCH_BLOCK_USERS/ {b = $3} /#define FR_BATCH_TILE_ITEMS/ {t = $3} END {print b, t}' src/batch.h)"
cat > "$TMP/sgemm.py" <<'PY'
import sys, time
import numpy as np
users, items, factors, block, tile = map(int, sys.argv[1:])
rng = np.random.default_rng(1)
U = rng.standard_normal((users, factors), dtype=np.float32)
V = rng.standard_normal((items, factors), dtype=np.float32)
out = np.empty((block, tile), dtype=np.float32)
t, c = time.perf_counter(), time.process_time()
for s in range(0, users, block):
    e = min(users, s + block)
    for f in range(0, items, tile):
        g = min(items, f + tile)
        np.matmul(U[s:e], V[f:g].T, out=out[:e - s, :g - f])
print(f"{time.perf_counter() - t:.2f} {time.process_time() - c:.2f}")
PY
numpy_sgemm() {
    OPENBLAS_NUM_THREADS=$1 /usr/bin/python3 "$TMP/sgemm.py" "$USERS" "$ITEMS" "$FACTORS" "$BLOCK" "$TILE"
}
c_sgemm() {
    OPENBLAS_NUM_THREADS=1 "$TMP/batch_kernel" "$USERS" "$ITEMS" "$FACTORS" "$K" 1 sgemm | awk '$1 == "sgemm" {print $2, $3}'
}

# the runs alternate, so each pair shares the machine's load of the moment;
# each run gives "wall cpu", kept as wall:cpu, and the best of each column kept
echo "== $RUNS rounds of: into (1 process), numpy (1 thread), C sgemm (1 thread), into (2 processes), numpy (2 threads); tiles $BLOCK x $TILE"
I1="" N1="" C1="" I2="" N2=""
pair() { tr ' ' ':' <<<"$1"; }
for r in $(seq "$RUNS"); do
    echo "-- round $r, load: $(uptime | sed 's/.*load average: //')"
    I1="$I1 $(pair "$(run_into 1)")"; N1="$N1 $(pair "$(numpy_sgemm 1)")"; C1="$C1 $(pair "$(c_sgemm)")"
    I2="$I2 $(pair "$(run_into 2)")"; N2="$N2 $(pair "$(numpy_sgemm 2)")"
    echo "   wall:cpu seconds: into 1 ${I1##* }, numpy 1 ${N1##* }, C 1 ${C1##* }, into 2 ${I2##* }, numpy 2 ${N2##* }"
done
wall() { python3 -c "print(min(float(x.split(':')[0]) for x in '$*'.split()))"; }
cpu() { python3 -c "print(min(float(x.split(':')[1]) for x in '$*'.split()))"; }
INTO1=$(wall $I1) NP1=$(wall $N1) CS1=$(wall $C1) INTO2=$(wall $I2) NP2=$(wall $N2)
INTO1C=$(cpu $I1) NP1C=$(cpu $N1) CS1C=$(cpu $C1)
ROWS=$(psql -qXAt -d bench -c 'SELECT count(*) FROM recs')

echo "== the kernel alone (fr_batch_topk against the bare sgemm of its tiles, one process, $KERNEL_USERS users)"
OUT=$(OPENBLAS_NUM_THREADS=1 "$TMP/batch_kernel" "$KERNEL_USERS" "$ITEMS" "$FACTORS" "$K" 3)
read -r KERNEL KERNELC <<<"$(awk '$1 == "kernel" {print $2, $3}' <<<"$OUT")"
read -r SGEMM SGEMMC <<<"$(awk '$1 == "sgemm" {print $2, $3}' <<<"$OUT")"
echo "== load after: $(uptime)"

GFLOP=$(python3 -c "print(round(2 * $USERS * $ITEMS * $FACTORS / 1e9))")
printf '\n%-62s %10s %10s\n' "what ($USERS users x $ITEMS items x $FACTORS factors, top $K)" "wall s" "CPU s"
printf '%-62s %10s %10s\n' "recommend_all_into, 1 process ($ROWS rows)" "$INTO1" "$INTO1C"
printf '%-62s %10s %10s\n' "recommend_all_into, 2 processes" "$INTO2" ""
printf '%-62s %10s %10s\n' "numpy sgemm alone ($GFLOP GFLOP), 1 thread" "$NP1" "$NP1C"
printf '%-62s %10s %10s\n' "numpy sgemm alone, 2 threads" "$NP2" ""
printf '%-62s %10s %10s\n' "C sgemm alone (the extension's OpenBLAS), 1 thread" "$CS1" "$CS1C"
printf '%-62s %10s %10s\n' "kernel: GEMM + top k, $KERNEL_USERS users, 1 thread" "$KERNEL" "$KERNELC"
printf '%-62s %10s %10s\n' "kernel: the same tiles' sgemm alone" "$SGEMM" "$SGEMMC"
python3 -c "
i1, i2, n1, n2, c1, kt, ks = $INTO1, $INTO2, $NP1, $NP2, $CS1, $KERNEL, $SGEMM
i1c, n1c, c1c, ktc, ksc = $INTO1C, $NP1C, $CS1C, $KERNELC, $SGEMMC
print(f'ratio to numpy sgemm, 1 process: {i1 / n1:.2f}x wall, {i1c / n1c:.2f}x CPU (goal <= 1.5x); 2: {i2 / n2:.2f}x wall')
print(f'ratio to C sgemm, 1 process: {i1 / c1:.2f}x wall, {i1c / c1c:.2f}x CPU')
print(f'kernel alone against its tiles\' sgemm: {kt / ks:.2f}x wall, {ktc / ksc:.2f}x CPU')
print(f'2 processes vs 1: {i1 / i2:.2f}x faster (goal >= 1.7x)')"
