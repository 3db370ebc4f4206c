-- Partitioned sources: train() from a range-partitioned events table, from a
-- view over it and from a query restricted on the partition key.  The source
-- runs as a subquery of the query fashionrec.source_query() returns, so the
-- planner prunes partitions through it; the plans and this transaction's own
-- scan counters show which partitions are read.
-- PL/pgSQL line numbers in CONTEXT lines would change with every edit
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE part_events (customer_id int NOT NULL, product_id int NOT NULL, occurred_on date NOT NULL)
    PARTITION BY RANGE (occurred_on);
CREATE TABLE part_events_2025_01 PARTITION OF part_events FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE part_events_2025_02 PARTITION OF part_events FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE TABLE part_events_2025_03 PARTITION OF part_events FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
CREATE TABLE part_events_2025_04 PARTITION OF part_events FOR VALUES FROM ('2025-04-01') TO ('2025-05-01');
-- 480 events over the 120 days from 1 January to 30 April: 40 customers in five
-- styles of six products each, one purchase in four anywhere in the 30 products
INSERT INTO part_events
SELECT g % 40,
       CASE WHEN (g / 40) % 4 = 3 THEN (g * 7919) % 30
            ELSE (g % 5) * 6 + ((g / 40) * (g % 7 + 1)) % 6 END,
       DATE '2025-01-01' + (g * 37) % 120
  FROM generate_series(1, 480) g;
CREATE VIEW part_events_view AS SELECT customer_id, product_id, occurred_on FROM part_events;
SELECT tableoid::regclass AS partition, count(*) AS events,
       count(DISTINCT (customer_id, product_id)) AS pairs
  FROM part_events GROUP BY 1 ORDER BY 1;

-- the plan of the query train() runs for a source, and the relations it scans
CREATE FUNCTION part_plan(source text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || fashionrec.source_query(source);
END $$;
CREATE FUNCTION part_scans(source text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT substring(line FROM 'Scan on (\S+)') FROM part_plan(source) AS line WHERE line ~ 'Scan on '
$$;

-- the whole table and the whole view: every partition
SELECT * FROM part_scans('part_events');
SELECT * FROM part_scans('part_events_view');
-- a range of the partition key, through the table and through the view: only those months
SELECT * FROM part_scans('SELECT customer_id, product_id, occurred_on FROM part_events WHERE occurred_on >= ''2025-03-01''');
SELECT * FROM part_scans('SELECT * FROM part_events_view WHERE occurred_on < DATE ''2025-02-01''');
-- a condition on another column prunes nothing
SELECT * FROM part_scans('SELECT * FROM part_events WHERE customer_id < 5');
-- the whole plan of a pruned source: the wrapper only casts, the filter stays on the partition
SELECT * FROM part_plan('SELECT * FROM part_events WHERE occurred_on >= ''2025-04-01''');

-- train from the table, the view and a key range.  Inside a transaction block
-- a backend keeps its table counters to itself, so after a forced flush of the
-- earlier ones pg_stat_xact_user_tables shows what each training read
DO $$ BEGIN PERFORM pg_stat_force_next_flush(); END $$;
BEGIN;
SELECT fashionrec.train('part-table', 'itemknn', 'part_events');
SELECT relname, seq_scan, seq_tup_read FROM pg_stat_xact_user_tables
 WHERE relname LIKE 'part_events%' AND seq_scan > 0 ORDER BY relname;
COMMIT;
DO $$ BEGIN PERFORM pg_stat_force_next_flush(); END $$;
BEGIN;
SELECT fashionrec.train('part-view', 'itemknn', 'part_events_view');
SELECT relname, seq_scan, seq_tup_read FROM pg_stat_xact_user_tables
 WHERE relname LIKE 'part_events%' AND seq_scan > 0 ORDER BY relname;
COMMIT;
DO $$ BEGIN PERFORM pg_stat_force_next_flush(); END $$;
BEGIN;
SELECT fashionrec.train('part-spring', 'itemknn',
       'SELECT customer_id, product_id, occurred_on FROM part_events WHERE occurred_on >= ''2025-03-01''');
SELECT relname, seq_scan, seq_tup_read FROM pg_stat_xact_user_tables
 WHERE relname LIKE 'part_events%' AND seq_scan > 0 ORDER BY relname;
COMMIT;

-- what each model was trained on: the table and the view give the same data,
-- the key range the March and April pairs only
SELECT name, data ->> 'rows' AS rows, data ->> 'users' AS users, data ->> 'items' AS items,
       data ->> 'interactions' AS interactions
  FROM fashionrec.model WHERE name LIKE 'part-%' ORDER BY name;
SELECT count(DISTINCT data ->> 'checksum') AS checksums FROM fashionrec.model
 WHERE name IN ('part-table', 'part-view');
SELECT count(*) AS spring_rows, count(DISTINCT customer_id) AS spring_customers,
       count(DISTINCT product_id) AS spring_products,
       count(DISTINCT (customer_id, product_id)) AS spring_pairs
  FROM part_events WHERE occurred_on >= '2025-03-01';

-- the models from the table and from the view recommend the same lists to every
-- customer; customer 7 bought 12, 13, 14 and 16 of style 2 (12-17) and is offered 17 and 15 first
SELECT count(*) AS customers,
       count(*) FILTER (WHERE t.items = v.items) AS same_lists,
       count(*) FILTER (WHERE t.items IS NOT NULL AND t.items <> '{}') AS nonempty
  FROM generate_series(0, 39) u,
       LATERAL (SELECT array_agg(item_id ORDER BY rank) AS items
                  FROM fashionrec.recommend('part-table', u, 5)) t,
       LATERAL (SELECT array_agg(item_id ORDER BY rank) AS items
                  FROM fashionrec.recommend('part-view', u, 5)) v;
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('part-table', 7, 5);
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('part-view', 7, 5);
SELECT count(*) AS same_neighbours
  FROM fashionrec.similar_items('part-table', 1, 5) a
  JOIN fashionrec.similar_items('part-view', 1, 5) b USING (rank, item_id);

SELECT fashionrec.drop_model('part-table');
SELECT fashionrec.drop_model('part-view');
SELECT fashionrec.drop_model('part-spring');
DROP FUNCTION part_scans(text);
DROP FUNCTION part_plan(text);
DROP VIEW part_events_view;
DROP TABLE part_events;
