#!/usr/bin/env bash
# The gateway's suite (make test runs it from test/run-tests.sh, with the
# throwaway cluster's PGHOST/PGPORT/PGUSER exported): a database made by
# fixture.sql, the gateway started against it on a free port, node's test
# runner over test/*.test.js, the gateway stopped.  Without node/npm the
# suite says so and passes (the gateway is optional); without chromium (and
# not root to install it) only the browser tests are skipped, with a message.
set -uo pipefail
cd "$(dirname "$0")/.."
GW=$PWD

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "gateway: node and npm are not installed: skipping the gateway suite (install Node.js 20 to run it)"
    exit 0
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "gateway: Node.js 20 or later is needed (found $(node --version)): skipping the gateway suite"
    exit 0
fi

# Debian's chromium for the dashboard tests, installed like test/lib.sh
# installs packages: when missing and we are root
if [ -z "${FR_CHROMIUM:-}" ]; then
    if ! command -v chromium >/dev/null && [ "$(id -u)" -eq 0 ]; then
        echo "gateway: installing chromium for the dashboard tests"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }
    fi
    FR_CHROMIUM=$(command -v chromium || true)
fi
export FR_CHROMIUM

echo "gateway: npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null || { echo "gateway: npm ci failed" >&2; exit 1; }

: "${PGHOST:?PGHOST/PGPORT/PGUSER of a running cluster are needed}"
DB=fashionrec_gateway_test
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" -f test/fixture.sql >/dev/null || { echo "gateway: fixture failed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/fashionrec-gateway.XXXXXX)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export FR_JWT_SECRET
FR_JWT_SECRET=$(node -p 'require("crypto").randomBytes(32).toString("hex")')
export GW_URL=http://127.0.0.1:$PORT GW_LOG=$WORK/gateway.log GW_DB=$DB GW_ARTIFACTS=$GW/test-artifacts
export GW_RATE_MAX=200
mkdir -p "$GW_ARTIFACTS"

PGDATABASE=$DB PGUSER=fashionrec_gateway FR_GATEWAY_PORT=$PORT FR_GATEWAY_RATE_MAX=$GW_RATE_MAX \
FR_GATEWAY_CONFIG=$GW/test/drift-windows.json \
    node bin/gateway.js >"$GW_LOG" 2>&1 &
GW_PID=$!
stop() {
    kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null
    rm -rf "$WORK"
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
}
trap stop EXIT
for _ in $(seq 100); do
    node -e "fetch(process.env.GW_URL + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
    kill -0 "$GW_PID" 2>/dev/null || { echo "gateway did not start:"; cat "$GW_LOG"; exit 1; }
    sleep 0.1
done

echo "gateway: node --test (gateway on $GW_URL)"
node --test --test-concurrency=1 --test-reporter=spec ${GW_TESTS:-test/*.test.js} 2>&1 | tee "$WORK/out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    cp "$GW_LOG" "$GW_ARTIFACTS/gateway.log"
    echo "---- gateway log (last 30 lines; all of it in $GW_ARTIFACTS/gateway.log)"
    tail -n 30 "$GW_LOG"
    echo "---- summary"
    grep -E '^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)' "$WORK/out"
fi
exit "$rc"
