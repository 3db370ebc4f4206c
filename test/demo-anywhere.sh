#!/usr/bin/env bash
# make demo from a fresh clone in a folder only its owner may enter (mktemp -d
# makes it 0700): as root the server's OS user cannot reach the checkout, and
# the demo must still start, answer, re-run and stop.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
fr_setup_paths

parent=$(mktemp -d /tmp/fashionrec-anywhere.XXXXXX)
trap '(cd "$parent/fashionrec" 2>/dev/null && make -s demo-stop >/dev/null 2>&1); rm -rf "$parent"' EXIT
git clone -q "$PWD" "$parent/fashionrec" || { echo "not ok - clone"; exit 1; }
cd "$parent/fashionrec"
fails=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi; }

echo "parent folder mode $(stat -c %a "$parent"), checkout $PWD"
make -s demo > demo.log 2>&1
rc=$?
check "make demo runs from a 0700 parent folder" '[ $rc -eq 0 ] || { tail -20 demo.log; false; }'
cmd=$(grep -o 'psql -h [^ ]* -p [0-9]* -U postgres fashionrec_demo' demo.log | head -1)
check "make demo prints the psql command" '[ -n "$cmd" ]'
check "the demo database serves recommendations" \
    '[ "$($cmd -qXAt -c "SELECT count(*) FROM fashionrec.recommend('"'"'shop-als'"'"', 42, k => 5)" 2>&1)" = 5 ]'
make -s demo > demo2.log 2>&1
check "make demo runs again, reusing the cluster" 'grep -q "reusing the demo cluster" demo2.log'
make -s demo-stop > stop.log 2>&1
check "make demo-stop stops it" 'grep -q "demo cluster stopped" stop.log'
[ "$fails" -eq 0 ]
