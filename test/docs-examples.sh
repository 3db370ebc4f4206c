#!/usr/bin/env bash
# The docs' examples run: every ```sql block that a doc marks with the line
# <!-- runs on the demo database --> just above it is run against a database
# built by test/demo.sql (what `make demo` builds) and must finish without an
# error.  Each doc gets a fresh copy of that database and runs its blocks in
# order, so a doc may build on its own earlier blocks but never on another
# doc's; psql runs in a scratch folder (a \copy ... TO 'file' lands there).
# Run by run-tests.sh against its throwaway cluster (PGHOST/PGPORT/PGUSER set).
# FR_DOCS="docs/features.md README.md" runs only those docs.
set -uo pipefail
cd "$(dirname "$0")/.."
db=fashionrec_docs
marker='<!-- runs on the demo database -->'
scratch=$(mktemp -d /tmp/fashionrec-docs.XXXXXX)

export PGOPTIONS="-c client_min_messages=warning"
psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${db}_run" -c "DROP DATABASE IF EXISTS $db" \
     -c "CREATE DATABASE $db" >/dev/null || exit 1
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${db}_run" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; rm -rf "$scratch"' EXIT
if ! (cd test && psql -qX -v ON_ERROR_STOP=1 -d "$db" -f demo.sql > "$scratch/demo.log" 2>&1); then
    echo "not ok - the demo database could not be built"; tail -20 "$scratch/demo.log"; exit 1
fi
root=$PWD

fails=0 blocks=0
for doc in ${FR_DOCS:-docs/*.md README.md}; do
    grep -qF "$marker" "$doc" || continue
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${db}_run" \
         -c "CREATE DATABASE ${db}_run TEMPLATE $db STRATEGY FILE_COPY" >/dev/null || exit 1
    # each marked block as "LINE<tab>SQL with newlines as \x1e"
    while IFS=$'\t' read -r line sql; do
        blocks=$((blocks + 1))
        out=$(cd "$scratch" && printf '%s\n' "${sql//$'\x1e'/$'\n'}" |
              psql -qX -v ON_ERROR_STOP=1 -d "${db}_run" 2>&1 >/dev/null)
        if [ $? -eq 0 ]; then
            echo "ok - $doc:$line"
        else
            echo "not ok - $doc:$line"; printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
            fails=$((fails + 1))
        fi
    done < <(awk -v m="$marker" '
        $0 == m { armed = 1; next }
        armed && /^```sql/ { inblock = 1; start = NR; sql = ""; armed = 0; next }
        inblock && /^```/ { inblock = 0; print start "\t" sql; next }
        inblock { sql = sql (sql == "" ? "" : "\x1e") $0; next }
        armed && $0 != "" {   # a marker must mark a sql block: fail rather than skip it
            print NR "\tDO $$BEGIN RAISE EXCEPTION '"'"'the marker above is not followed by a sql block'"'"'; END$$;" }
        { armed = armed && ($0 == "") }' "$root/$doc")
done
echo "docs examples: $((blocks - fails)) passed, $fails failed"
[ "$blocks" -gt 0 ] && [ "$fails" -eq 0 ]
