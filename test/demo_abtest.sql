-- The A/B testing part of the demo, included by demo.sql (\ir demo_abtest.sql)
-- after its models are trained and :best_model is set: an experiment that
-- pits the popularity ranking against the best model on simulated traffic.
--
-- Every customer opens the homepage once and is shown ten recommendations
-- from their variant.  A customer clicks the best-ranked recommended item
-- they really did interact with later (their part of the test split) and
-- buys it half of the time, at its price; 2% of the customers buy their first
-- recommendation anyway.  Which half is decided by a fixed hash, so the
-- tables below are the same on every run.

\if :{?best_model}
\else
\set best_model shop-als
\endif

\echo
\echo '== A/B test: the popularity ranking (control) against' :best_model 'on simulated traffic'
SELECT fashionrec.create_experiment('homepage', salt => 'demo-homepage',
       description => 'popularity against ' || :'best_model') \g /dev/null
SELECT fashionrec.add_variant('homepage', 'popularity', 'shop-popularity', 50) \g /dev/null
SELECT fashionrec.add_variant('homepage', 'personal', :'best_model', 50) \g /dev/null
SELECT fashionrec.start_experiment('homepage') \g /dev/null

-- the visits: assigned (sticky, by hash), served, an exposure logged per visit
CREATE TEMP TABLE ab_served AS
SELECT c.customer_id, r.variant, r.item_id, r.rank
  FROM shop.customers c,
       LATERAL fashionrec.recommend_experiment('homepage', c.customer_id, k => 10) r;

-- what each visitor then does
CREATE TEMP TABLE ab_behaviour AS
SELECT s.customer_id,
       (array_agg(s.item_id ORDER BY s.rank) FILTER (WHERE t.user_id IS NOT NULL))[1] AS liked,
       (array_agg(s.item_id ORDER BY s.rank))[1] AS first
  FROM ab_served s
  LEFT JOIN (SELECT DISTINCT user_id, item_id FROM shop.test) t
         ON t.user_id = s.customer_id AND t.item_id = s.item_id
 GROUP BY s.customer_id;
SELECT count(fashionrec.track('homepage', b.customer_id, 'click', b.liked))
  FROM ab_behaviour b WHERE b.liked IS NOT NULL \g /dev/null
SELECT count(fashionrec.track('homepage', b.customer_id, 'purchase', p.product_id, p.price::double precision))
  FROM ab_behaviour b
  JOIN shop.products p
    ON p.product_id = CASE WHEN b.liked IS NOT NULL AND fashionrec.ab_bucket('demo-buy', b.customer_id) < 0.5
                           THEN b.liked
                           WHEN fashionrec.ab_bucket('demo-impulse', b.customer_id) < 0.02
                           THEN b.first END \g /dev/null

\echo
\echo '== results (purchases): rate, lift over the control with its 95% interval, z-test p,'
\echo '   revenue per visitor with Welch''s t-test, sample-ratio check'
SELECT variant, users, exposures, conversions AS buyers, round(100 * rate::numeric, 2) AS "rate %",
       round(100 * lift::numeric, 2) AS "lift (points)", round(100 * relative_lift::numeric, 1) AS "lift %",
       '[' || round(100 * ci_low::numeric, 2) || ', ' || round(100 * ci_high::numeric, 2) || ']' AS "95% interval",
       round(p_value::numeric, 5) AS p, significant,
       round(value_per_user::numeric, 2) AS "revenue/visitor", round(value_p_value::numeric, 5) AS "p revenue",
       round(srm_p_value::numeric, 3) AS "SRM p", srm
  FROM fashionrec.experiment_results('homepage');

\echo
\echo '== clicks, by new (signed up in 2025) and returning customers'
SELECT segment AS customers, variant, users, conversions AS clickers, round(100 * rate::numeric, 2) AS "rate %",
       round(100 * relative_lift::numeric, 1) AS "lift %", round(p_value::numeric, 5) AS p
  FROM fashionrec.experiment_results('homepage', metric => 'click',
       segment_by => $$SELECT customer_id,
                              CASE WHEN signup_at >= '2025-01-01' THEN 'new' ELSE 'returning' END
                         FROM shop.customers$$);

\echo
\echo '== visitors per variant a test needs to see a 10% lift on the control''s purchase rate (alpha 5%, power 80%)'
SELECT round(100 * r.rate::numeric, 2) AS "control rate %",
       fashionrec.required_sample_size(r.rate, 0.1) AS "visitors per variant",
       (SELECT users FROM fashionrec.experiment_results('homepage') WHERE NOT is_control) AS "this test had"
  FROM fashionrec.experiment_results('homepage') r WHERE r.is_control;

\echo
\echo '== the personal model sells to more visitors (the primary metric), though cheaper items on average:'
\echo '   declaring it the winner stops the experiment and activates its version'
SELECT fashionrec.declare_winner('homepage', 'personal') AS activated_version;
SELECT name, status, variants, users, winner FROM fashionrec.experiments;
