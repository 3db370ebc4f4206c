#!/usr/bin/python3
"""Collect the error classes of fashionrec's SQL functions and their SQLSTATEs.

Runs every regression file (sql/*.sql, each in a fresh database) with
VERBOSITY=verbose, so each ERROR comes with its SQLSTATE, and attributes it to
the first fashionrec function (or type input) named in the failing statement.
Messages are reduced to classes (numbers and quoted names become #, "…").

    /usr/bin/python3 test/fuzz/errors_table.py            # markdown table on stdout
    /usr/bin/python3 test/fuzz/errors_table.py --missing FUZZ_OUTPUT...
        # classes seen in fuzz outputs (psql VERBOSITY=verbose) but in no regression file

Needs PGHOST/PGPORT of a cluster with fashionrec installed.
"""
import glob
import os
import re
import subprocess
import sys

ERR = re.compile(r"^psql:(?P<file>[^:]+):(?P<line>\d+): ERROR:  (?P<code>[0-9A-Z]{5}): (?P<msg>.*)$")
TYPE_CAST = re.compile(r"::\s*(?:fashionrec\.)?(svec|tfidf_vocab)\b")


def psql(db, *args, input_=None):
    return subprocess.run(["psql", "-X", "-q", "-d", db, *args], input=input_, capture_output=True, text=True)


def functions():
    out = psql("postgres", "-At", "-c",
               "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'fashionrec'::regnamespace")
    if out.returncode != 0:
        # fashionrec may not be installed in postgres: ask a scratch database
        psql("postgres", "-c", "CREATE DATABASE fr_errors_probe")
        psql("fr_errors_probe", "-c", "CREATE EXTENSION fashionrec")
        out = psql("fr_errors_probe", "-At", "-c",
                   "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'fashionrec'::regnamespace")
        psql("postgres", "-c", "DROP DATABASE fr_errors_probe")
    names = [n for n in out.stdout.split() if n]
    # longest first, so recommend_all is not read as recommend
    return sorted(names, key=len, reverse=True)


def statement_at(lines, end):
    """The statement that ends at 1-based line END."""
    start = end - 1
    while start > 0:
        prev = lines[start - 1].rstrip()
        if prev.endswith(";") or prev == "" or prev.startswith("--") or prev.startswith("\\"):
            break
        start -= 1
    return " ".join(l.strip() for l in lines[start:end])


def attribute(stmt, names, msg=""):
    found = []
    for n in names:
        for m in re.finditer(r"(?<![\w.])(?:fashionrec\.)?" + re.escape(n) + r"\s*\(", stmt):
            found.append((m.start(), n))
    m = TYPE_CAST.search(stmt)
    if m:
        # an error raised while reading a literal belongs to the type, not to the call around it
        if re.search(r"\b" + m.group(1) + r"\b", msg):
            return m.group(1) + " input"
        found.append((m.start(), m.group(1) + " input"))
    if not found:
        return None
    # the outermost call is the one a user wrote; internal helpers (_x) lose to public ones
    found.sort(key=lambda f: (f[1].startswith("_"), f[0]))
    return found[0][1]


def classify(msg):
    msg = re.sub(r'"[^"]*("|$)', '"…"', msg)
    msg = re.sub(r"-?\d+(\.\d+)?(e[+-]?\d+)?", "#", msg)
    return msg


def collect(paths, names, regress=True):
    rows = {}
    for path in paths:
        if regress:
            db = "fr_errors_" + os.path.splitext(os.path.basename(path))[0]
            psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{db}"')
            psql("postgres", "-c", f'CREATE DATABASE "{db}"')
            psql(db, "-c", "CREATE EXTENSION fashionrec")
            out = psql(db, "-v", "VERBOSITY=verbose", "-f", path)
            psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{db}"')
            text = out.stdout + out.stderr
        else:
            text = open(path).read()
        for line in text.splitlines():
            m = ERR.match(line)
            if not m:
                continue
            src = m.group("file")
            try:
                lines = open(src).read().splitlines()
            except OSError:
                continue
            stmt = statement_at(lines, int(m.group("line")))
            fn = attribute(stmt, names, m.group("msg"))
            if fn is None:
                continue
            key = (fn, m.group("code"), classify(m.group("msg")))
            rows.setdefault(key, (m.group("msg"), os.path.basename(src), stmt))
    return rows


ROW = re.compile(r"^ *\d+ \| (?P<fn>[\w ]+?) *\| (?P<code>[0-9A-Z]{5}): (?P<msg>.*)$")


def collect_errors_out(rows, path="expected/errors.out"):
    """sql/errors.sql catches its errors and prints them as rows: read those."""
    try:
        text = open(path).read()
    except OSError:
        return
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            key = (m.group("fn"), m.group("code"), classify(m.group("msg")))
            rows.setdefault(key, (m.group("msg"), "errors.sql", ""))


def main():
    names = functions()
    regress = collect(sorted(glob.glob("sql/*.sql")), names)
    collect_errors_out(regress)
    if len(sys.argv) > 2 and sys.argv[1] == "--missing":
        fuzz = collect(sys.argv[2:], names, regress=False)
        for key in sorted(set(fuzz) - set(regress)):
            msg, src, stmt = fuzz[key]
            print(f"{key[0]}\t{key[1]}\t{msg}\t{stmt[:300]}")
        return
    print("| function | SQLSTATE | error (class) | tested in |")
    print("| --- | --- | --- | --- |")
    for (fn, code, cls), (msg, src, stmt) in sorted(regress.items()):
        print(f"| `{fn}` | {code} | {msg.replace('|', '/')} | `sql/{src}` |")


if __name__ == "__main__":
    main()
