-- The model cache: each version once per server in shared memory when
-- fashionrec is preloaded (src/store.c), else a private copy per backend
-- (src/model.c); and which OpenBLAS kernel serves it.  docs/serving.md,
-- "One copy per server", is the guide.

CREATE FUNCTION fashionrec._model_cache()
    RETURNS TABLE (model_id bigint, name text, version integer, bytes bigint, "where" text,
                   loaded_at timestamptz, load_ms double precision, hits bigint, backends integer)
    AS 'MODULE_PATHNAME', 'fashionrec_model_cache'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec._model_cache() IS
    'Internal: the versions of this database in the shared model store and this backend''s private copies; use the view fashionrec.model_cache';

CREATE VIEW fashionrec.model_cache AS
SELECT c.name, c.version, c.bytes, c."where", c.loaded_at, c.load_ms, c.hits, c.backends, c.model_id
  FROM fashionrec._model_cache() c;
COMMENT ON VIEW fashionrec.model_cache IS
    'Loaded model versions: "where" is shared (one copy per server, mapped by every backend), loading, too big (larger than fashionrec.shared_cache_size: each backend keeps a private copy) or private (this backend''s own copy); bytes, when and how fast it loaded, calls served from it (hits) and the backends that map it';

CREATE FUNCTION fashionrec._model_cache_drop(model_id bigint) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_model_cache_drop'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec._model_cache_drop(bigint) IS
    'Internal: evict a model row''s versions from the shared model store; use fashionrec.model_cache_drop';

CREATE FUNCTION fashionrec.model_cache_drop(name text, version integer DEFAULT NULL) RETURNS integer
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT COALESCE(sum(fashionrec._model_cache_drop(m.id)), 0)::integer
  FROM fashionrec.model m
 WHERE m.name = $1 AND ($2 IS NULL OR m.version = $2)
$$;
COMMENT ON FUNCTION fashionrec.model_cache_drop(text, integer) IS
    'Evict a model''s versions (or one version) from the shared model store; the next call loads it again. It only evicts: versions in use are served to the end of their statement. Returns the number of entries dropped';

-- privileges: readers read the store, trainers evict (99_privileges.sql)

CREATE FUNCTION fashionrec.blas_info(probe_seconds double precision DEFAULT 1,
                                     OUT core text, OUT threads integer, OUT config text,
                                     OUT cpu text, OUT advice text, OUT sgemm_gflops double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_blas_info'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.blas_info(double precision) IS
    'The OpenBLAS kernel this backend runs (core), its threads and build (config), what the CPU supports, advice when a generic kernel runs on an AVX2/FMA CPU, and single-precision GEMM GFLOP/s measured for probe_seconds (0: not measured)';
