-- The hybrid part of the demo, included by demo.sql (\ir demo_hybrid.sql)
-- after its models and :customers are set up: content vectors from product
-- attributes, session transitions, a hybrid of ALS + content + popularity +
-- sequence, and what each signal contributes for a warm customer, a cold
-- customer and a product created after the collaborative model was trained.

-- a product launched after training: a copy of the first customer's
-- favourite, with a new id; only the content model will know it
SELECT t.item_id AS favourite
  FROM shop.train t WHERE t.user_id = (:'customers'::bigint[])[1]
 ORDER BY t.weight DESC, t.item_id LIMIT 1 \gset
INSERT INTO shop.products
SELECT (SELECT max(product_id) + 1 FROM shop.products), 'New: ' || p.name, p.description, p.category,
       p.sub_category, p.article_type, p.colour, p.season, p.gender, p.usage, p.price, p.price_band,
       pg_catalog.now(), true, p.image
  FROM shop.products p WHERE p.product_id = :favourite;
SELECT max(product_id) AS new_product FROM shop.products \gset

-- content: one-hot product attributes as an "embedding" model
CREATE VIEW shop.product_vectors AS
WITH vocab AS (
    SELECT v, row_number() OVER (ORDER BY v) AS pos
      FROM (SELECT DISTINCT 'type=' || article_type AS v FROM shop.products
            UNION SELECT DISTINCT 'colour=' || colour FROM shop.products
            UNION SELECT DISTINCT 'band=' || price_band FROM shop.products
            UNION SELECT DISTINCT 'season=' || season FROM shop.products
            UNION SELECT DISTINCT 'gender=' || gender FROM shop.products) d)
SELECT p.product_id,
       ARRAY(SELECT CASE WHEN vo.v IN ('type=' || p.article_type, 'colour=' || p.colour, 'band=' || p.price_band,
                                       'season=' || p.season, 'gender=' || p.gender) THEN 1 ELSE 0 END::real
               FROM vocab vo ORDER BY vo.pos) AS v
  FROM shop.products p;

\echo
\echo '== hybrid: ALS + product attributes + popularity + session transitions, pinned'
SELECT fashionrec.train('shop-attributes', 'embedding', 'shop.product_vectors',
                        '{"interactions": "SELECT user_id, item_id, weight FROM shop.train"}') AS version;
-- transitions from the training split only, or the evaluation below would see the test events
SELECT fashionrec.train('shop-sequence', 'sequence',
                        'SELECT user_id, item_id, 1, event_time FROM shop.train') AS version;
SELECT fashionrec.train('shop-hybrid', 'hybrid', NULL,
       '{"cf": "shop-als", "content": "shop-attributes", "popularity": "shop-popularity",
         "sequence": "shop-sequence", "sequence_weight": 0.1,
         "interactions": "SELECT user_id, item_id, weight FROM shop.train"}') AS version;
SELECT name, version, items, info FROM fashionrec.models WHERE name = 'shop-hybrid';
SELECT e.model, round(e.ndcg_at_k::numeric, 4) AS ndcg, round(e.precision_at_k::numeric, 4) AS precision
  FROM unnest(ARRAY['shop-als', 'shop-hybrid']) m, LATERAL fashionrec.evaluate(m, 'shop.test', 10) e;

-- a cold customer: the one with the fewest training interactions
SELECT user_id AS cold_customer FROM shop.train GROUP BY 1 ORDER BY count(*), user_id LIMIT 1 \gset

\echo
\echo '== why: each signal''s normalised score x weight, for a warm customer (top 3)'
SELECT e.rank, e.item_id, p.article_type, p.colour, round(e.score::numeric, 3) AS score, e.signal,
       round(e.weight::numeric, 3) AS weight, round(e.contribution::numeric, 3) AS contribution
  FROM fashionrec.explain('shop-hybrid', (:'customers'::bigint[])[1], 3) e
  JOIN shop.products p ON p.product_id = e.item_id ORDER BY e.rank, e.signal;

\echo
\echo '== a cold customer (fewest interactions): collaborative weight shrinks, content and popularity carry'
SELECT e.rank, e.item_id, p.article_type, p.colour, round(e.score::numeric, 3) AS score, e.signal,
       round(e.weight::numeric, 3) AS weight, round(e.contribution::numeric, 3) AS contribution
  FROM fashionrec.explain('shop-hybrid', :cold_customer, 3) e
  JOIN shop.products p ON p.product_id = e.item_id ORDER BY e.rank, e.signal;

\echo
\echo '== the product created after training, for the customer whose favourite it copies'
SELECT e.item_id, p.name, e.signal, e.component, round(e.raw_score::numeric, 3) AS raw,
       round(e.contribution::numeric, 3) AS contribution
  FROM fashionrec.explain('shop-hybrid', (:'customers'::bigint[])[1], 1,
                          candidates => ARRAY[:new_product]::bigint[]) e
  JOIN shop.products p ON p.product_id = e.item_id ORDER BY e.signal;
SELECT r.rank AS rank_of_new_product_among_all
  FROM fashionrec.recommend('shop-hybrid', (:'customers'::bigint[])[1], 1000) r
 WHERE r.item_id = :new_product;

\echo
\echo '== next in this session: after the customer''s two latest events'
SELECT r.rank, r.item_id, p.article_type, p.colour, round(r.score::numeric, 3) AS score
  FROM fashionrec.next_items('shop-sequence',
         ARRAY(SELECT product_id FROM (SELECT product_id, occurred_at FROM shop.events
                                        WHERE customer_id = (:'customers'::bigint[])[1]
                                        ORDER BY occurred_at DESC, product_id LIMIT 2) l
                ORDER BY occurred_at, product_id), 3) r
  JOIN shop.products p ON p.product_id = r.item_id ORDER BY r.rank;
