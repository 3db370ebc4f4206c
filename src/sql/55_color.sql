-- Colour features of product images (src/color_sql.c, kernels color.c and
-- image.c): JPEG or PNG bytes in, dominant colours and histograms out.
-- IMMUTABLE: the answer depends only on the bytes and the arguments (k-means
-- is seeded, the pixel sample is a fixed grid).  STRICT: a NULL image has no
-- colours.  Images over 100 MB or 50 megapixels are refused (54000), corrupt
-- or unsupported bytes are 22P02.

CREATE FUNCTION fashionrec.dominant_colors(image bytea, k integer DEFAULT 5,
                                           ignore_background boolean DEFAULT true,
                                           seed bigint DEFAULT 42)
    RETURNS TABLE (rank integer, hex text, lab real[], share real, name text)
    AS 'MODULE_PATHNAME', 'fashionrec_dominant_colors'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION fashionrec.dominant_colors(bytea, integer, boolean, bigint) IS
    'Up to k dominant colours of a JPEG or PNG image (k-means++ in CIELAB over at most 65536 sampled pixels, seeded), largest share first, with the nearest fashion colour name; ignore_background drops a uniform border-connected background';

CREATE FUNCTION fashionrec.color_histogram(image bytea, bins integer DEFAULT 8,
                                           ignore_background boolean DEFAULT true)
    RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_color_histogram'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.color_histogram(bytea, integer, boolean) IS
    'Joint CIELAB histogram of a JPEG or PNG image, bins^3 cells (L slowest, b fastest) over the sRGB gamut, summing to 1; a vector for colour similarity (train an "embedding" model on it)';

CREATE FUNCTION fashionrec.image_info(image bytea, OUT format text, OUT width integer, OUT height integer)
    AS 'MODULE_PATHNAME', 'fashionrec_image_info'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.image_info(bytea) IS
    'Format (jpeg or png) and size an image''s header declares, without decoding its pixels';

CREATE FUNCTION fashionrec.encode_png(width integer, height integer, rgb bytea)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'fashionrec_encode_png'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.encode_png(integer, integer, bytea) IS
    'A PNG from raw pixels: 3 bytes (red, green, blue) per pixel, rows top to bottom; for colour swatches and tests';

CREATE FUNCTION fashionrec.color_name(color text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'fashionrec_color_name'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.color_name(text) IS
    'The nearest fashion colour name (CIE76 in CIELAB) of a hex colour such as #1F2A44';

CREATE FUNCTION fashionrec.color_vocabulary()
    RETURNS TABLE (name text, hex text, lab real[])
    AS 'MODULE_PATHNAME', 'fashionrec_color_vocabulary'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 50;
COMMENT ON FUNCTION fashionrec.color_vocabulary() IS
    'The colour names dominant_colors and color_name use, with their anchor colours (a name may have several)';
