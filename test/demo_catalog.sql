-- The catalogue part of the demo, included by demo.sql right after
-- generate_shop(): what a shop has besides the generator's tables and what
-- the docs' examples use (test/docs-examples.sh runs them on this database).
--
--   shop.products.image     a product photo: a 32 x 32 PNG drawn here, the
--                           product's shape (top, bottoms, shoe, round
--                           accessory) in its catalogue colour on a studio
--                           backdrop, striped, checked, dotted or colour-
--                           blocked as its name says; "Multi" is half navy,
--                           half red
--   shop.image_embeddings   stand-ins for image vectors computed outside the
--                           database (a CLIP batch job): 64 numbers per
--                           product that depend on its article type and
--                           colour, plus a little noise of its own
--   shop.purchases          the purchase events, with the price paid

-- each catalogue colour as a swatch (hex without '#')
CREATE TEMP TABLE swatch (colour text PRIMARY KEY, hex text NOT NULL);
INSERT INTO swatch VALUES
    ('Black', '1c1c1c'), ('White', 'fafafa'), ('Brown', '6f4e37'), ('Blue', '2050c0'),
    ('Grey', '808080'), ('Navy Blue', '1f2a44'), ('Red', 'c8102e'), ('Beige', 'd8c3a5'),
    ('Pink', 'ff69b4'), ('Green', '228b22'), ('Silver', 'c0c0c0'), ('Gold', 'd4af37'),
    ('Maroon', '800020'), ('Purple', '5b2c6f'), ('Tan', 'c19a6b'), ('Olive', '556b2f'),
    ('Cream', 'fffdd0'), ('Charcoal', '404040'), ('Yellow', 'ffff00'), ('Teal', '008080'),
    ('Multi', '1f2a44'), ('Steel', '708090'), ('Peach', 'ff7f50'), ('Khaki', 'c3b091'),
    ('Orange', 'ff6600'), ('Mustard', 'e1ad01'), ('Lavender', 'b57edc');

-- 4 shapes x 5 patterns, one character per pixel, rows top to bottom:
-- x the backdrop, y the colour, z its darker shade (Multi: red)
CREATE TEMP TABLE template (shape text, pattern text, pixels text, PRIMARY KEY (shape, pattern));
INSERT INTO template
SELECT s.shape, pt.pattern,
       string_agg(CASE WHEN NOT CASE s.shape
                                  WHEN 'top' THEN (y BETWEEN 4 AND 10 AND x BETWEEN 3 AND 28
                                                   AND NOT (y < 6 AND x BETWEEN 13 AND 18))
                                               OR (y BETWEEN 4 AND 28 AND x BETWEEN 9 AND 22)
                                  WHEN 'bottom' THEN (y BETWEEN 3 AND 8 AND x BETWEEN 8 AND 23)
                                               OR (y BETWEEN 9 AND 29 AND (x BETWEEN 8 AND 14 OR x BETWEEN 17 AND 23))
                                  WHEN 'shoe' THEN y BETWEEN 12 AND 25 AND x BETWEEN 4 AND 27
                                               AND NOT (y < 18 AND x > 16)
                                  ELSE (x - 15.5) ^ 2 + (y - 15.5) ^ 2 <= 121 END THEN 'x'
                       WHEN CASE pt.pattern
                                WHEN 'striped' THEN y % 4 = 0
                                WHEN 'checked' THEN (x / 4) % 2 = 0 AND (y / 4) % 2 = 0
                                WHEN 'dotted' THEN x % 5 = 2 AND y % 5 = 2
                                WHEN 'blocked' THEN y >= 20
                                WHEN 'halves' THEN x >= 16
                                ELSE false END THEN 'z'
                       ELSE 'y' END, '' ORDER BY y, x)
  FROM unnest(ARRAY['top', 'bottom', 'shoe', 'round']) s(shape),
       unnest(ARRAY['solid', 'striped', 'checked', 'dotted', 'blocked', 'halves']) pt(pattern),
       generate_series(0, 31) y, generate_series(0, 31) x
 GROUP BY 1, 2;

ALTER TABLE shop.products ADD COLUMN image bytea;
COMMENT ON COLUMN shop.products.image IS
    'Product photo (PNG, 32 x 32): drawn by test/demo_catalog.sql in the catalogue colour';
-- a darker shade: each channel x 0.7; a white product is shot on a dark backdrop
UPDATE shop.products p
   SET image = fashionrec.encode_png(32, 32, decode(
           replace(replace(replace(t.pixels,
               'x', CASE WHEN p.colour = 'White' THEN '3b4252' ELSE 'ffffff' END),
               'y', sw.hex),
               'z', CASE WHEN p.colour = 'Multi' THEN 'c8102e'
                         ELSE (SELECT string_agg(lpad(to_hex((('x' || substr(sw.hex, i, 2))::bit(8)::int * 7) / 10), 2, '0'), '' ORDER BY i)
                                 FROM unnest(ARRAY[1, 3, 5]) i) END), 'hex'))
  FROM swatch sw, template t
 WHERE sw.colour = p.colour
   AND t.shape = CASE WHEN p.sub_category IN ('Bottomwear') THEN 'bottom'
                      WHEN p.category = 'Apparel' THEN 'top'
                      WHEN p.category = 'Footwear' THEN 'shoe'
                      ELSE 'round' END
   AND t.pattern = CASE WHEN p.colour = 'Multi' THEN 'halves'
                        WHEN p.name ~ 'Striped' THEN 'striped'
                        WHEN p.name ~ 'Checked' THEN 'checked'
                        WHEN p.name ~ 'Floral|Printed|Graphic|Embroidered' THEN 'dotted'
                        WHEN p.name ~ 'Colourblocked' THEN 'blocked'
                        ELSE 'solid' END;

CREATE TABLE shop.image_embeddings (
    product_id  bigint PRIMARY KEY REFERENCES shop.products ON DELETE CASCADE,
    clip_vector real[] NOT NULL);
COMMENT ON TABLE shop.image_embeddings IS
    'Stand-ins for image embeddings computed outside the database: 64 numbers from the article type and colour, plus noise';
INSERT INTO shop.image_embeddings
SELECT p.product_id,
       ARRAY(SELECT (0.8 * sin(d * (1 + abs(hashtext(p.article_type)) % 97))
                     + 0.5 * sin(d * (1 + abs(hashtext(p.colour)) % 89))
                     + 0.2 * sin(d * (1 + abs(hashtext(p.product_id::text)) % 83)))::real
               FROM generate_series(1, 64) d)
  FROM shop.products p;

CREATE VIEW shop.purchases AS
SELECT e.customer_id, e.product_id, p.price AS amount, e.occurred_at
  FROM shop.events e JOIN shop.products p USING (product_id)
 WHERE e.event_type = 'purchase';
COMMENT ON VIEW shop.purchases IS 'The purchase events, with the price paid';

\echo
\echo '== product photos: a generated 32 x 32 PNG per product; the colour dominant_colors() names in it'
SELECT count(*) AS photos,
       count(*) FILTER (WHERE d.name = fashionrec.color_name(sw.hex)) AS named_as_their_swatch,
       round(avg(length(p.image)))::int AS avg_bytes
  FROM shop.products p JOIN swatch sw USING (colour),
       LATERAL fashionrec.dominant_colors(p.image, k => 3) d
 WHERE d.rank = 1;
SELECT p.product_id, p.name, p.colour, d.hex, d.name AS dominant, round(d.share::numeric, 2) AS share
  FROM shop.products p, LATERAL fashionrec.dominant_colors(p.image, k => 3) d
 WHERE p.product_id <= 3 AND d.rank = 1 ORDER BY 1;
DROP TABLE swatch, template;
