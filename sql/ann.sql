-- Approximate top-k: an IVF index over a version's item vectors
-- (docs/serving.md, "Approximate top-k").
--
-- Planted data: 480 items in 8 directions of 8-d space (item i leans on
-- axis i % 8, with a deterministic wobble), and 60 users who each buy 12
-- items of one direction, so ALS's factors cluster too.
SET client_min_messages = warning;
CREATE TABLE ann_vecs AS
SELECT i AS item,
       ARRAY(SELECT (CASE WHEN j = i % 8 THEN 1.0 ELSE 0.0 END
                     + 0.25 * sin(i * 7.1 + j * 3.3))::real
               FROM generate_series(0, 7) j) AS v
  FROM generate_series(1, 480) i;
CREATE TABLE ann_buys AS
SELECT u AS customer, (u % 8) + 8 * ((u * 5 + n * 11) % 60) AS product
  FROM generate_series(1, 60) u, generate_series(1, 12) n;
UPDATE ann_buys SET product = product + 8 WHERE product < 1;

-- on request at training: "ann" in params, recorded in info
SELECT fashionrec.train('ann-emb', 'embedding', 'SELECT item, v FROM ann_vecs',
                        '{"interactions": "SELECT customer, product FROM ann_buys", "ann": {"lists": 8}}');
SELECT info -> 'ann' ->> 'lists' AS lists, info -> 'ann' ->> 'metric' AS metric,
       info -> 'ann' ->> 'dimension' AS dimension, info -> 'ann' ->> 'build' AS build,
       params ? 'ann' AS params_keep_ann
  FROM fashionrec.models WHERE name = 'ann-emb';
SELECT a.name, a.nrows, a.ncols FROM fashionrec.artifact a JOIN fashionrec.model m ON m.id = a.model_id
 WHERE m.name = 'ann-emb' AND a.name LIKE 'ann\_%' ORDER BY a.name;

-- probes = lists scans every list: the same rows as the exact scan, for
-- every function; ids and ranks compared, scores to 4 places
CREATE FUNCTION ann_same(a anyarray, b anyarray) RETURNS boolean LANGUAGE sql AS 'SELECT a = b';
SELECT count(*) AS queries,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-emb', i, 10, probes => 8)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-emb', i, 10, exact => true)))) AS similar_same,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-emb', ARRAY[i, i + 8], 10, probes => 8)),
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-emb', ARRAY[i, i + 8], 10, exact => true)))) AS for_items_same
  FROM generate_series(1, 470, 7) i;
SELECT count(*) AS users,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT row(item_id, round(score::numeric, 4), rank)::text FROM fashionrec.recommend('ann-emb', u, 10, probes => 8)),
           ARRAY(SELECT row(item_id, round(score::numeric, 4), rank)::text FROM fashionrec.recommend('ann-emb', u, 10, exact => true)))) AS recommend_same
  FROM generate_series(1, 60) u;

-- one probe: the query's own direction holds its neighbours
SELECT count(*) AS rows, count(*) FILTER (WHERE item_id % 8 = 3) AS same_direction
  FROM fashionrec.similar_items('ann-emb', 3, 20, probes => 1);

-- seen items excluded without losing recall: user 5 bought 12 items of
-- direction 5, and every other item of it is excluded; one probe, into
-- the list of direction 5, still finds 10 items by probing on into other
-- lists.  One probe is approximate (not the exact scan's ten here: the
-- index did answer); probing every list, it is exact again
SELECT count(*) AS rows, count(*) FILTER (WHERE item_id % 8 = 5) AS excluded_direction
  FROM fashionrec.recommend('ann-emb', 5, 10, probes => 1,
                            exclude => ARRAY(SELECT i::bigint FROM generate_series(5, 480, 8) i));
SELECT p AS probes, ann_same(
    ARRAY(SELECT item_id FROM fashionrec.recommend('ann-emb', 5, 10, probes => p,
                                                   exclude => ARRAY(SELECT i::bigint FROM generate_series(5, 480, 8) i))),
    ARRAY(SELECT item_id FROM fashionrec.recommend('ann-emb', 5, 10, exact => true,
                                                   exclude => ARRAY(SELECT i::bigint FROM generate_series(5, 480, 8) i))))
    AS same_as_exact
  FROM unnest(ARRAY[1, 8]) p;
-- k past the catalog minus what is excluded: every remaining item once
SELECT count(*) AS rows, count(DISTINCT item_id) AS distinct_items
  FROM fashionrec.similar_items('ann-emb', 1, 1000, probes => 1,
                                exclude => ARRAY(SELECT i::bigint FROM generate_series(1, 480, 2) i));
-- a call's exclusion flags never reach the next call (skipmask.c keeps them
-- per backend and clears what it set): after the 240 exclusions above (past
-- a sixteenth of the catalog: cleared whole), after 2, and after a call that
-- fails with user 5's seen items flagged, every item is there again
SELECT count(*) AS all_but_item_1 FROM fashionrec.similar_items('ann-emb', 1, 1000, probes => 1);
SELECT count(*) AS rows FROM fashionrec.similar_items('ann-emb', 2, 1000, exclude => ARRAY[3, 4]::bigint[]);
SELECT count(*) AS all_but_item_2 FROM fashionrec.similar_items('ann-emb', 2, 1000);
SELECT count(*) FROM fashionrec.recommend('ann-emb', 5, 1000, context => 'summer');
SELECT count(*) AS every_item FROM fashionrec.recommend('ann-emb', 5, 1000, exclude_seen => false);

-- candidates are always scored exactly
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('ann-emb', 1, 3, candidates => ARRAY[9, 2, 17, 4]::bigint[], probes => 1);
-- unknown users get popularity, unknown items no rows, as without an index
SELECT count(*) AS unknown_user_rows FROM fashionrec.recommend('ann-emb', 424242, 5, probes => 1);
SELECT count(*) AS unknown_item_rows FROM fashionrec.similar_items('ann-emb', 424242, 5, probes => 1);

-- ALS: factors by inner product, similar_items by cosine
SELECT fashionrec.train('ann-als', 'als', 'SELECT customer, product FROM ann_buys',
                        '{"factors": 8, "iterations": 8, "seed": 5}');
SELECT info ? 'ann' AS has_index FROM fashionrec.models WHERE name = 'ann-als';
-- build_ann adds an index to a version already served in this session
SELECT count(*) AS before FROM fashionrec.recommend('ann-als', 1, 10);
SELECT r ->> 'lists' AS lists, r ->> 'metric' AS metric, r ->> 'build' AS build
  FROM fashionrec.build_ann('ann-als', lists => 6) r;
SELECT count(*) AS users,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT row(item_id, round(score::numeric, 3), rank)::text FROM fashionrec.recommend('ann-als', u, 10, probes => 6)),
           ARRAY(SELECT row(item_id, round(score::numeric, 3), rank)::text FROM fashionrec.recommend('ann-als', u, 10, exact => true)))) AS recommend_same,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-als', u * 8, 10, probes => 6)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-als', u * 8, 10, exact => true)))) AS similar_same,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-als', ARRAY[u * 8, u * 8 + 1], 10, probes => 6)),
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-als', ARRAY[u * 8, u * 8 + 1], 10, exact => true)))) AS for_items_same
  FROM generate_series(1, 59) u;
-- rebuilt with other lists: the build count moves on
SELECT r ->> 'lists' AS lists, r ->> 'build' AS build FROM fashionrec.build_ann('ann-als', 1, 3) r;
SELECT info -> 'ann' ->> 'lists' AS lists, info -> 'ann' ->> 'build' AS build
  FROM fashionrec.models WHERE name = 'ann-als';
SELECT count(*) AS rows FROM fashionrec.recommend('ann-als', 1, 10, probes => 3);
-- a factor model's default probes serve its users too: the build
-- calibrates on a sample of them (here all 60), each leaving out its seen
-- items as recommend() does, beside its items, and recommend() at those
-- probes reaches the target (compared by membership: this shop's products
-- come in groups of equal vectors, whose ties the exact top 10 breaks
-- arbitrarily, so the served recall is not the sample's to the digit)
CREATE TEMP TABLE ann_als_build AS SELECT * FROM fashionrec.build_ann('ann-als', lists => 12, recall => 0.9) r;
SELECT r ? 'item_recall' AS has_item_recall, (r ->> 'user_recall')::float8 >= 0.9 AS users_reach,
       (r ->> 'item_recall')::float8 >= 0.9 AS items_reach,
       (r ->> 'recall')::float8 = least((r ->> 'user_recall')::float8, (r ->> 'item_recall')::float8) AS recall_is_lower
  FROM ann_als_build;
SELECT avg(hits / 10.0) >= 0.9 AS served_reach
  FROM (SELECT u, (SELECT count(*) FROM fashionrec.recommend('ann-als', u, 10) a
                    WHERE a.item_id IN (SELECT item_id FROM fashionrec.recommend('ann-als', u, 10, exact => true))) AS hits
          FROM generate_series(1, 60) u) s;
-- a build that would pass fashionrec.max_memory (the vectors, their copies
-- and the users' sample) is refused before it starts; the index stays
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.build_ann('ann-als', lists => 6);
RESET fashionrec.max_memory;
SELECT info -> 'ann' ->> 'lists' AS lists_kept FROM fashionrec.models WHERE name = 'ann-als';

-- PureSVD: the same, by request at training
SELECT fashionrec.train('ann-svd', 'svd', 'SELECT customer, product FROM ann_buys',
                        '{"factors": 8, "ann": {"lists": 4}}');
SELECT count(*) AS users,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.recommend('ann-svd', u, 10, probes => 4)),
           ARRAY(SELECT item_id FROM fashionrec.recommend('ann-svd', u, 10, exact => true)))) AS recommend_same,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-svd', u * 8, 10, probes => 4)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-svd', u * 8, 10, exact => true)))) AS similar_same,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-svd', ARRAY[u * 8, u * 8 + 1], 10, probes => 4)),
           ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('ann-svd', ARRAY[u * 8, u * 8 + 1], 10, exact => true)))) AS for_items_same
  FROM generate_series(1, 59) u;

-- default probes calibrated at build: the smallest of 1, 2, 4, ... lists
-- whose mean recall@10 on 200 sampled items (each left out of its own
-- answer) reaches the target, 0.98 unless "ann" says.  The planted
-- directions above need one probe; 600 items scattered over 8-d space
-- (a hash of i and j) and 16 lists need more
CREATE TABLE ann_scatter AS
SELECT i AS item,
       ARRAY(SELECT (x - floor(x) - 0.5)::real
               FROM generate_series(0, 7) j, LATERAL (SELECT sin(i * 12.9898 + j * 78.233) * 43758.5453 AS x) h
              ORDER BY j) AS v
  FROM generate_series(1, 600) i;
SELECT fashionrec.train('ann-cal', 'embedding', 'ann_scatter', '{"ann": {"lists": 16}}');
SELECT m.name, m.info -> 'ann' ->> 'probes' AS probes,
       (m.info -> 'ann' ->> 'recall')::float8 >= 0.98 AS sample_reached,
       m.info -> 'ann' ->> 'recall_target' AS target
  FROM fashionrec.models m WHERE m.name IN ('ann-emb', 'ann-cal') ORDER BY m.name;
-- recall@10 of similar_items over every item, apart from the build's own
-- sample: the calibrated probes reach the target, half of them do not (so
-- a build that stored more probes than needed fails too)
CREATE FUNCTION ann_recall(model text, p int) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(avg((SELECT count(*) FROM fashionrec.similar_items(model, i, 10, probes => p) a
                       WHERE a.item_id IN (SELECT item_id FROM fashionrec.similar_items(model, i, 10, exact => true))))
                 / 10, 3)
      FROM generate_series(1, 600) i $$;
CREATE FUNCTION ann_cal_probes() RETURNS int LANGUAGE sql AS
    $$ SELECT (info -> 'ann' ->> 'probes')::int FROM fashionrec.models WHERE name = 'ann-cal' $$;
SELECT ann_recall('ann-cal', ann_cal_probes()) >= 0.98 AS reaches_target,
       ann_recall('ann-cal', ann_cal_probes() / 2) < 0.98 AS half_does_not;
-- a call without probes, the GUC at its default 0, probes the calibrated
-- lists: the rows of probes => them, not those of one probe
SELECT count(*) AS queries,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, probes => ann_cal_probes())))) AS as_calibrated,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, probes => 1)))) < 600 AS not_one_probe
  FROM generate_series(1, 600) i;
-- a positive GUC overrides the index's default, a call's probes both
SET fashionrec.ann_probes = 1;
SELECT count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, probes => 1)))) AS guc_one_probe,
       count(*) FILTER (WHERE ann_same(
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, probes => 16)),
           ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, exact => true)))) AS call_all_lists
  FROM generate_series(1, 600) i;
RESET fashionrec.ann_probes;
-- a lower target, fewer probes; recall 1 takes every list there is to
-- take (16 here, or fewer if the sample's neighbours are all found sooner)
SELECT r ->> 'probes' AS probes, r ->> 'recall_target' AS target, (r ->> 'recall')::float8 >= 0.5 AS reached,
       (r ->> 'probes')::int < 8 AS fewer_than_for_098
  FROM fashionrec.build_ann('ann-cal', lists => 16, recall => 0.5) r;
SELECT r ->> 'probes' AS probes, r ->> 'recall' AS sample_recall
  FROM fashionrec.build_ann('ann-cal', lists => 16, recall => 1) r;
SELECT fashionrec.train('ann-cal', 'embedding', 'ann_scatter', '{"ann": {"lists": 16, "recall": 0.5}}') IS NOT NULL AS trained;
SELECT version, info -> 'ann' ->> 'probes' AS probes, info -> 'ann' ->> 'recall_target' AS target
  FROM fashionrec.models WHERE name = 'ann-cal' ORDER BY version;
-- an index built before calibration (ann_settings: the metric only) keeps
-- probing fashionrec.ann_probes' old fixed default, 64 lists: all 16 of
-- version 2, calibrated to one probe until its settings lose the rest
CREATE FUNCTION ann_cal_v2_exact() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE ann_same(
               ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, version => 2)),
               ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-cal', i, 10, version => 2, exact => true))))
      FROM generate_series(1, 600) i $$;
SELECT ann_cal_v2_exact() < 600 AS calibrated_approximate;
UPDATE fashionrec.artifact a SET data = substring(a.data FROM 1 FOR 8), nrows = 1
  FROM fashionrec.model m
 WHERE m.id = a.model_id AND m.name = 'ann-cal' AND m.version = 2 AND a.name = 'ann_settings';
SELECT fashionrec.model_cache_drop('ann-cal') >= 0 AS evicted;
SELECT ann_cal_v2_exact() AS old_index_exact;
-- bad targets
SELECT fashionrec.build_ann('ann-cal', recall => 0);
SELECT fashionrec.build_ann('ann-cal', recall => 1.5);
SELECT fashionrec.build_ann('ann-cal', recall => 'NaN');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"recall": 0}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"recall": 1.01}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"recall": "high"}}');

-- the catalog-size threshold: at 400 items this training gets an index, with
-- the threshold at 0 none, and "ann": false refuses one whatever the size
SET fashionrec.ann_min_items = 400;
SELECT fashionrec.train('ann-auto', 'embedding', 'ann_vecs');
SELECT info -> 'ann' ->> 'lists' AS default_lists FROM fashionrec.models WHERE name = 'ann-auto';
SELECT fashionrec.train('ann-auto', 'embedding', 'ann_vecs', '{"ann": false}');
SELECT fashionrec.train('ann-auto', 'popularity', 'SELECT customer, product FROM ann_buys');
SET fashionrec.ann_min_items = 0;
SELECT fashionrec.train('ann-auto', 'embedding', 'ann_vecs');
SELECT version, algorithm, info ? 'ann' AS has_index FROM fashionrec.models WHERE name = 'ann-auto' ORDER BY version;
RESET fashionrec.ann_min_items;
-- the GUC is the default probes
SET fashionrec.ann_probes = 8;
SELECT ann_same(ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-emb', 7, 10)),
                ARRAY(SELECT item_id FROM fashionrec.similar_items('ann-emb', 7, 10, exact => true))) AS guc_probes;
RESET fashionrec.ann_probes;

-- errors: probes out of range
SELECT * FROM fashionrec.recommend('ann-emb', 1, probes => 0);
SELECT * FROM fashionrec.similar_items('ann-emb', 1, probes => -3);
SELECT * FROM fashionrec.recommend_for_items('ann-emb', ARRAY[1]::bigint[], probes => 65537);
SET fashionrec.ann_probes = -1;
-- probes beyond the lists are cut to the lists (like k to the catalog)
SELECT count(*) AS rows FROM fashionrec.similar_items('ann-emb', 1, 5, probes => 65536);
-- lists out of range
SELECT fashionrec.build_ann('ann-emb', lists => 0);
SELECT fashionrec.build_ann('ann-emb', lists => 481);
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"lists": 0}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"lists": 100000}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"lists": 2.5}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": {"list": 8}}');
SELECT fashionrec.train('ann-bad', 'embedding', 'ann_vecs', '{"ann": 8}');
SELECT count(*) AS no_half_written_model FROM fashionrec.models WHERE name = 'ann-bad';
-- a model whose scores are not inner products of item vectors
SELECT fashionrec.train('ann-pop', 'popularity', 'SELECT customer, product FROM ann_buys');
SELECT fashionrec.build_ann('ann-pop');
SELECT fashionrec.train('ann-mf', 'mf', 'SELECT customer, product, 1 FROM ann_buys', '{"factors": 4}');
SELECT fashionrec.build_ann('ann-mf');
SELECT fashionrec.train('ann-bad', 'itemknn', 'SELECT customer, product FROM ann_buys', '{"ann": {}}');
-- unknown model, version, NULLs
SELECT fashionrec.build_ann('no-such-model');
SELECT fashionrec.build_ann('ann-emb', 42);
SELECT fashionrec.build_ann('ann-emb', 0);
SELECT fashionrec.build_ann(NULL);
-- NULL probes and exact are the defaults
SELECT count(*) AS rows FROM fashionrec.similar_items('ann-emb', 1, 5, probes => NULL, exact => NULL);

-- only trainers build indexes; readers serve through them
CREATE ROLE ann_reader;
GRANT fashionrec_reader TO ann_reader;
SET ROLE ann_reader;
SELECT fashionrec.build_ann('ann-emb');
SELECT fashionrec._train_ann(1, 'embedding', 480, '{}');
SELECT count(*) AS reader_rows FROM fashionrec.similar_items('ann-emb', 1, 5, probes => 2);
RESET ROLE;
-- and a trainer cannot build one inside another's training
CREATE ROLE ann_trainer;
GRANT fashionrec_trainer TO ann_trainer;
SET ROLE ann_trainer;
SELECT fashionrec._train_ann((SELECT id FROM fashionrec.model WHERE name = 'ann-emb'), 'embedding', 480, '{}');
RESET ROLE;

-- a damaged index is refused at load, never served
UPDATE fashionrec.artifact a SET data = decode(repeat('ff', length(a.data)), 'hex')
  FROM fashionrec.model m
 WHERE m.id = a.model_id AND m.name = 'ann-emb' AND a.name = 'ann_items';
SELECT fashionrec.model_cache_drop('ann-emb') >= 0 AS evicted;
SELECT * FROM fashionrec.similar_items('ann-emb', 1, 5);

DROP ROLE ann_reader;
DROP ROLE ann_trainer;
