-- Feature embeddings of "featurefm" models (src/featurefm_model.c,
-- docs/algorithms-featurefm.md): what the model learned for each named item
-- feature, so that analysts can see which colours, categories or styles sit
-- together.  Read like every serving function, with the caller's rights on
-- the registry (fashionrec_reader).

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
