-- fashionrec.svec: a sparse float4 vector, the output of tfidf() and the
-- row type of content models.  Text form as pgvector's sparsevec:
-- {index:value,...}/dimension with 1-based indices.

CREATE TYPE fashionrec.svec;

CREATE FUNCTION fashionrec.svec_in(cstring, oid, integer) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_svec_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.svec_out(fashionrec.svec) RETURNS cstring
    AS 'MODULE_PATHNAME', 'fashionrec_svec_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.svec_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_svec_typmod_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.svec_typmod_out(integer) RETURNS cstring
    AS 'MODULE_PATHNAME', 'fashionrec_svec_typmod_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.svec_recv(internal, oid, integer) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_svec_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.svec_send(fashionrec.svec) RETURNS bytea
    AS 'MODULE_PATHNAME', 'fashionrec_svec_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE fashionrec.svec (
    INPUT = fashionrec.svec_in,
    OUTPUT = fashionrec.svec_out,
    TYPMOD_IN = fashionrec.svec_typmod_in,
    TYPMOD_OUT = fashionrec.svec_typmod_out,
    RECEIVE = fashionrec.svec_recv,
    SEND = fashionrec.svec_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = external
);
COMMENT ON TYPE fashionrec.svec IS
    'Sparse float4 vector: {index:value,...}/dimension, 1-based strictly ascending indices, finite values; svec(n) fixes the dimension';

COMMENT ON FUNCTION fashionrec.svec_in(cstring, oid, integer) IS 'Text input of svec';
COMMENT ON FUNCTION fashionrec.svec_out(fashionrec.svec) IS 'Text output of svec';
COMMENT ON FUNCTION fashionrec.svec_typmod_in(cstring[]) IS 'Type modifier of svec(dimension)';
COMMENT ON FUNCTION fashionrec.svec_typmod_out(integer) IS 'Type modifier output of svec(dimension)';
COMMENT ON FUNCTION fashionrec.svec_recv(internal, oid, integer) IS
    'Binary input of svec (int32 dim, nnz, 0, then 0-based int32 indices and float4 values), checked like text input';
COMMENT ON FUNCTION fashionrec.svec_send(fashionrec.svec) IS 'Binary output of svec';

-- length coercion: enforces the dimension of svec(n)
CREATE FUNCTION fashionrec.svec(fashionrec.svec, integer, boolean) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_svec_coerce'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.svec(fashionrec.svec, integer, boolean) IS
    'Checks an svec against the dimension of svec(n)';
CREATE CAST (fashionrec.svec AS fashionrec.svec)
    WITH FUNCTION fashionrec.svec(fashionrec.svec, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (fashionrec.svec AS fashionrec.svec) IS 'Applies the dimension of svec(n)';

CREATE FUNCTION fashionrec.array_to_svec(real[], integer, boolean) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_svec_from_array'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.array_to_svec(real[], integer, boolean) IS
    'Dense real[] to svec (zeros left out); the array length is the dimension';
CREATE CAST (real[] AS fashionrec.svec)
    WITH FUNCTION fashionrec.array_to_svec(real[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (real[] AS fashionrec.svec) IS 'Dense to sparse: zeros left out';

CREATE FUNCTION fashionrec.svec_to_array(fashionrec.svec) RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_svec_to_array'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.svec_to_array(fashionrec.svec) IS
    'svec to a dense real[] of length dims(v), zeros filled in';
-- explicit only: a dense array of a large vocabulary is big
CREATE CAST (fashionrec.svec AS real[])
    WITH FUNCTION fashionrec.svec_to_array(fashionrec.svec);
COMMENT ON CAST (fashionrec.svec AS real[]) IS 'Sparse to dense (explicit only: a large dimension makes a large array)';

-- distances, as pgvector names them
CREATE FUNCTION fashionrec.svec_cosine_distance(fashionrec.svec, fashionrec.svec) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_svec_cosine_distance'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.svec_cosine_distance(fashionrec.svec, fashionrec.svec) IS
    '1 - cosine similarity; NaN when either vector is zero';
CREATE FUNCTION fashionrec.svec_negative_inner_product(fashionrec.svec, fashionrec.svec) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_svec_negative_inner_product'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.svec_negative_inner_product(fashionrec.svec, fashionrec.svec) IS
    'Negative inner product (smaller is more similar, as for the other distances)';
CREATE FUNCTION fashionrec.svec_l2_distance(fashionrec.svec, fashionrec.svec) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_svec_l2_distance'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.svec_l2_distance(fashionrec.svec, fashionrec.svec) IS
    'Euclidean distance';

CREATE OPERATOR fashionrec.<=> (
    LEFTARG = fashionrec.svec, RIGHTARG = fashionrec.svec,
    FUNCTION = fashionrec.svec_cosine_distance, COMMUTATOR = OPERATOR(fashionrec.<=>)
);
COMMENT ON OPERATOR fashionrec.<=> (fashionrec.svec, fashionrec.svec) IS 'Cosine distance';
CREATE OPERATOR fashionrec.<#> (
    LEFTARG = fashionrec.svec, RIGHTARG = fashionrec.svec,
    FUNCTION = fashionrec.svec_negative_inner_product, COMMUTATOR = OPERATOR(fashionrec.<#>)
);
COMMENT ON OPERATOR fashionrec.<#> (fashionrec.svec, fashionrec.svec) IS 'Negative inner product';
CREATE OPERATOR fashionrec.<-> (
    LEFTARG = fashionrec.svec, RIGHTARG = fashionrec.svec,
    FUNCTION = fashionrec.svec_l2_distance, COMMUTATOR = OPERATOR(fashionrec.<->)
);
COMMENT ON OPERATOR fashionrec.<-> (fashionrec.svec, fashionrec.svec) IS 'Euclidean (L2) distance';

CREATE FUNCTION fashionrec.dims(fashionrec.svec) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_svec_dims'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.dims(fashionrec.svec) IS 'Dimension of an svec';
CREATE FUNCTION fashionrec.nnz(fashionrec.svec) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_svec_nnz'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.nnz(fashionrec.svec) IS 'Number of non-zero entries of an svec';
CREATE FUNCTION fashionrec.l2_normalize(fashionrec.svec) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_svec_l2_normalize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.l2_normalize(fashionrec.svec) IS
    'The vector scaled to unit Euclidean length; a zero vector stays zero';
