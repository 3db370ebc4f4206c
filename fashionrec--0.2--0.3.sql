\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.3'" to load this file. \quit
-- fashionrec 0.2 -> 0.3: run by ALTER EXTENSION fashionrec UPDATE TO '0.3'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.3' makes it, which test/upgrade.sh checks object by object (from 0.1,
-- through fashionrec--0.1--0.2.sql and this script).  Routines below are
-- copied from src/sql/ as 0.3 has them.

-- ---- featurefm: feature embeddings (src/sql/46_featurefm.sql) ----
CREATE FUNCTION fashionrec.feature_embedding(name text, feature text, version integer DEFAULT NULL)
    RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_feature_embedding'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.feature_embedding(text, text, integer) IS
    'A named item feature''s learned vector in a featurefm model (castable to pgvector''s vector); NULL for a feature the model does not have';

CREATE FUNCTION fashionrec.similar_features(name text, feature text, k integer DEFAULT 10,
                                            version integer DEFAULT NULL)
    RETURNS TABLE (feature text, similarity real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_features'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_features(text, text, integer, integer) IS
    'The named item features of a featurefm model nearest to one feature (cosine of their embeddings), never the feature itself';
-- as src/sql/98_costs.sql sets them
ALTER FUNCTION fashionrec.feature_embedding(text, text, integer) COST 200;
ALTER FUNCTION fashionrec.similar_features(text, text, integer, integer) COST 1000 ROWS 10;
