-- Hybrid recommender (hybrid*.c) and session sequences
-- (sequence_model.c).  Training goes through fashionrec.train() with the
-- algorithms "hybrid" and "sequence"; these are their serving functions.

CREATE FUNCTION fashionrec.explain(name text, user_id bigint, k integer DEFAULT 10,
                                   exclude_seen boolean DEFAULT true,
                                   candidates bigint[] DEFAULT NULL,
                                   exclude bigint[] DEFAULT NULL,
                                   version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'MODULE_PATHNAME', 'fashionrec_explain_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], integer) IS
    'What each signal of a hybrid model contributes to a user''s top-k list: one row per item and signal, contribution = weight x normalized, score = their sum. Options as recommend(), without context';

CREATE FUNCTION fashionrec.next_items(name text, recent_item_ids bigint[], k integer DEFAULT 10,
                                      exclude_seen boolean DEFAULT true,
                                      candidates bigint[] DEFAULT NULL,
                                      exclude bigint[] DEFAULT NULL,
                                      version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_next_items_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.next_items(text, bigint[], integer, boolean, bigint[], bigint[], integer) IS
    'The items most likely next after a session''s items (in time order, latest last), from a sequence model or a hybrid with a sequence signal; exclude_seen leaves out the session''s items';
