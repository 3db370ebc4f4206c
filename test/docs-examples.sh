#!/usr/bin/env bash
# The docs' examples run: every ```sql block that a doc marks with the line
# <!-- runs on the demo database --> just above it is run, in order, against a
# database built by test/demo.sql (what `make demo` builds), and must finish
# without an error.  Run by run-tests.sh against its throwaway cluster
# (PGHOST/PGPORT/PGUSER set).
set -uo pipefail
cd "$(dirname "$0")/.."
db=fashionrec_docs
marker='<!-- runs on the demo database -->'

export PGOPTIONS="-c client_min_messages=warning"
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 1
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
if ! (cd test && psql -qX -v ON_ERROR_STOP=1 -d "$db" -f demo.sql > /tmp/fashionrec-docs-demo.$$ 2>&1); then
    echo "not ok - the demo database could not be built"; tail -20 /tmp/fashionrec-docs-demo.$$
    rm -f /tmp/fashionrec-docs-demo.$$; exit 1
fi
rm -f /tmp/fashionrec-docs-demo.$$

fails=0 blocks=0
for doc in docs/*.md README.md; do
    grep -qF "$marker" "$doc" || continue
    # each marked block as "LINE<tab>SQL with newlines as \x1e"
    while IFS=$'\t' read -r line sql; do
        blocks=$((blocks + 1))
        out=$(printf '%s\n' "${sql//$'\x1e'/$'\n'}" |
              psql -qX -v ON_ERROR_STOP=1 -d "$db" 2>&1 >/dev/null)
        if [ $? -eq 0 ]; then
            echo "ok - $doc:$line"
        else
            echo "not ok - $doc:$line"; printf '#   %s\n' "$out" | head -5; fails=$((fails + 1))
        fi
    done < <(awk -v m="$marker" '
        $0 == m { armed = 1; next }
        armed && /^```sql/ { inblock = 1; start = NR; sql = ""; armed = 0; next }
        inblock && /^```/ { inblock = 0; print start "\t" sql; next }
        inblock { sql = sql (sql == "" ? "" : "\x1e") $0; next }
        { armed = armed && ($0 == "") }' "$doc")
done
echo "docs examples: $((blocks - fails)) passed, $fails failed"
[ "$blocks" -gt 0 ] && [ "$fails" -eq 0 ]
