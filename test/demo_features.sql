-- The feature-store part of the demo, included by demo.sql after
-- demo_hybrid.sql: product attributes as a feature set kept current by a
-- trigger, a content model and a hybrid that read it, and a product launched
-- after training recommended at once, then withdrawn.

\echo
\echo '== feature store: product attributes as a feature set, refreshed by a trigger'
SELECT feature_set, added, failed, vocabulary_version, round(seconds::numeric, 2) AS seconds
  FROM fashionrec.create_feature_set('shop-attrs', 'attributes', 'shop.products',
       '{"id_column": "product_id", "columns": ["article_type", "colour", "price_band", "season", "gender"]}');
SELECT fashionrec.enable_realtime('shop-attrs');
SELECT fashionrec.train('shop-live-content', 'features', 'shop-attrs',
                        '{"interactions": "SELECT user_id, item_id, weight FROM shop.train"}') AS version;
SELECT fashionrec.train('shop-live-hybrid', 'hybrid', NULL,
       '{"cf": "shop-als", "content": "shop-live-content", "popularity": "shop-popularity",
         "interactions": "SELECT user_id, item_id, weight FROM shop.train"}') AS version;

-- launched now, after every model was trained: the second customer's
-- favourite kind of product, under a new id
SELECT t.item_id AS favourite2
  FROM shop.train t WHERE t.user_id = (:'customers'::bigint[])[2]
 ORDER BY t.weight DESC, t.item_id LIMIT 1 \gset
INSERT INTO shop.products
SELECT (SELECT max(product_id) + 1 FROM shop.products), 'Just in: ' || p.name, p.description, p.category,
       p.sub_category, p.article_type, p.colour, p.season, p.gender, p.usage, p.price, p.price_band,
       pg_catalog.now(), true, p.image
  FROM shop.products p WHERE p.product_id = :favourite2;
SELECT max(product_id) AS launched FROM shop.products \gset

\echo
\echo '== the launched product, in the next statement and without retraining: its features, its look-alikes'
SELECT item_id, computed_at IS NOT NULL AS has_features FROM fashionrec.features('shop-attrs')
 WHERE item_id = :launched;
SELECT s.rank, p.product_id, p.article_type, p.colour, round(s.score::numeric, 3) AS score
  FROM fashionrec.similar_items('shop-live-content', :launched, 3) s
  JOIN shop.products p ON p.product_id = s.item_id ORDER BY s.rank;
\echo '== ... in the second customer''s list (hybrid), and what each signal gave it'
SELECT r.rank, p.product_id, p.article_type, p.colour, round(r.score::numeric, 3) AS score,
       CASE WHEN p.product_id = :launched THEN '<- launched after training' ELSE '' END AS note
  FROM fashionrec.recommend('shop-live-hybrid', (:'customers'::bigint[])[2], 20) r
  JOIN shop.products p ON p.product_id = r.item_id ORDER BY r.rank;
SELECT e.signal, e.component, round(e.raw_score::numeric, 3) AS raw, round(e.contribution::numeric, 3) AS contribution
  FROM fashionrec.explain('shop-live-hybrid', (:'customers'::bigint[])[2], 1,
                          candidates => ARRAY[:launched]::bigint[]) e ORDER BY e.signal;

\echo
\echo '== withdrawn: deleted from the catalogue, gone from the recommendations'
DELETE FROM shop.products WHERE product_id = :launched;
SELECT count(*) AS still_recommended
  FROM fashionrec.recommend('shop-live-hybrid', (:'customers'::bigint[])[2], 1000) WHERE item_id = :launched;
SELECT name, kind, items, tombstones, errors, generation, realtime FROM fashionrec.feature_sets;
