\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.3'" to load this file. \quit
-- fashionrec 0.2 -> 0.3: run by ALTER EXTENSION fashionrec UPDATE TO '0.3'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.3' makes it, which test/upgrade.sh checks object by object (from 0.1,
-- through fashionrec--0.1--0.2.sql and this script).  Routines below are
-- copied from src/sql/ as 0.3 has them.

-- Batch scoring (issue #19): recommend_all() gains shard/shards (a share of
-- the users by hash, for replicas), recommend_all_into() scores in parallel
-- into a table, user_shard() says which share a user is in.
DROP FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer);
CREATE FUNCTION fashionrec.recommend_all(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                         exclude_seen boolean DEFAULT true,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         shard integer DEFAULT 0, shards integer DEFAULT 1)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer) IS
    'Top-k items for many users (all the model knows when users is NULL; of them, those with user_shard(user_id, shards) = shard), scored in blocks: for nightly batches, INSERT ... SELECT. candidates and exclude apply to every user';

-- Batch scoring: every user of a model (or of one share by user hash) into
-- the caller's table, by several processes, in the caller's transaction.
CREATE FUNCTION fashionrec.recommend_all_into(name text, target regclass, k integer DEFAULT 10,
                                              exclude_seen boolean DEFAULT true,
                                              candidates bigint[] DEFAULT NULL,
                                              exclude bigint[] DEFAULT NULL,
                                              version integer DEFAULT NULL,
                                              shard integer DEFAULT 0, shards integer DEFAULT 1,
                                              workers integer DEFAULT 1)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_into'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) IS
    'Inserts every user''s top k (of the share shard of shards) into target (user_id, item_id, score, rank) with workers processes in the caller''s transaction; returns the rows inserted';

CREATE FUNCTION fashionrec.user_shard(user_id bigint, shards integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_user_shard'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.user_shard(bigint, integer) IS
    'The share (0 .. shards - 1) of a user for recommend_all and recommend_all_into''s shard/shards: hashint8(user_id) as unsigned, modulo shards';
ALTER FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer)
    COST 20000000 ROWS 100000;
ALTER FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer)
    COST 20000000;
ALTER FUNCTION fashionrec.user_shard(bigint, integer) COST 5;
REVOKE EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) TO fashionrec_reader;
