\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.3'" to load this file. \quit
-- fashionrec 0.2 -> 0.3: run by ALTER EXTENSION fashionrec UPDATE TO '0.3'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.3' makes it, which test/upgrade.sh checks object by object (from 0.1,
-- through fashionrec--0.1--0.2.sql and this script).  Routines below are
-- copied from src/sql/ as 0.3 has them.
