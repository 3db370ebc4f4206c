-- Generates the NULL sweep of test/fuzz/types.sh: every fashionrec function
-- that takes no internal or polymorphic argument, called with all arguments
-- NULL and with each argument NULL in turn, the others plausible.  Functions
-- not declared STRICT must check for NULL themselves; this finds those that
-- do not.
WITH f AS (
    SELECT p.oid, p.proname, p.proargtypes::oid[] AS types, p.proretset
      FROM pg_proc p
     WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.prokind = 'f'
       AND p.pronargs > 0 AND p.proname !~ '^_'
       AND NOT EXISTS (SELECT FROM unnest(p.proargtypes::oid[]) t
                        WHERE t IN ('internal'::regtype, 'anyelement'::regtype, 'anyarray'::regtype,
                                    'cstring'::regtype))),
a AS (
    SELECT f.oid, f.proname, f.proretset, t.ord, t.typ,
           CASE format_type(t.typ, NULL)
               WHEN 'text' THEN quote_literal('fz-pop')
               WHEN 'name' THEN quote_literal('fz_nulls')
               WHEN 'bigint' THEN '1' WHEN 'integer' THEN '2' WHEN 'smallint' THEN '1'
               WHEN 'double precision' THEN '0.5' WHEN 'real' THEN '0.5' WHEN 'numeric' THEN '0.5'
               WHEN 'boolean' THEN 'true' WHEN 'jsonb' THEN quote_literal('{}')
               WHEN 'bigint[]' THEN quote_literal('{1,2,3}') WHEN 'real[]' THEN quote_literal('{1,2,3}')
               WHEN 'double precision[]' THEN quote_literal('{1,2,3}')
               WHEN 'text[]' THEN quote_literal('{a,b}')
               WHEN 'bytea' THEN 'fashionrec.encode_png(2, 1, ' || quote_literal('\xff00000000ff') || ')'
               WHEN 'tsvector' THEN quote_literal('red dress')
               WHEN 'fashionrec.svec' THEN quote_literal('{1:1}/3')
               WHEN 'timestamp with time zone' THEN quote_literal('2024-01-01')
               WHEN 'interval' THEN quote_literal('1 day')
               ELSE 'NULL' END AS plausible
      FROM f, unnest(f.types) WITH ORDINALITY t(typ, ord)),
calls AS (
    SELECT a.oid, a.proname, a.proretset, k.k,
           string_agg(CASE WHEN k.k = 0 OR k.k = a.ord THEN 'NULL' ELSE a.plausible END
                      || '::' || format_type(a.typ, NULL), ', ' ORDER BY a.ord) AS args
      FROM a, LATERAL generate_series(0, (SELECT count(*) FROM a a2 WHERE a2.oid = a.oid)) k(k)
     GROUP BY a.oid, a.proname, a.proretset, k.k)
SELECT CASE WHEN proretset THEN format('SELECT count(*) FROM fashionrec.%I(%s);', proname, args)
            ELSE format('SELECT fashionrec.%I(%s) IS NULL;', proname, args) END
  FROM calls ORDER BY proname, oid, k;
