-- TF-IDF on PostgreSQL's text search: tfidf_fit(tsvector) fits a vocabulary
-- (terms and document frequencies) as a tfidf_vocab value; tfidf(vocab,
-- tsvector) turns a document into an svec.  Weights as scikit-learn's
-- TfidfVectorizer; see docs/content.md.

CREATE TYPE fashionrec.tfidf_vocab;

CREATE FUNCTION fashionrec.tfidf_vocab_in(cstring) RETURNS fashionrec.tfidf_vocab
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_vocab_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_vocab_out(fashionrec.tfidf_vocab) RETURNS cstring
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_vocab_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_vocab_recv(internal) RETURNS fashionrec.tfidf_vocab
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_vocab_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_vocab_send(fashionrec.tfidf_vocab) RETURNS bytea
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_vocab_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE fashionrec.tfidf_vocab (
    INPUT = fashionrec.tfidf_vocab_in,
    OUTPUT = fashionrec.tfidf_vocab_out,
    RECEIVE = fashionrec.tfidf_vocab_recv,
    SEND = fashionrec.tfidf_vocab_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE fashionrec.tfidf_vocab IS
    'A fitted TF-IDF vocabulary: terms in byte order with their document frequencies, the document count and the transform options; text form is JSON';
COMMENT ON FUNCTION fashionrec.tfidf_vocab_in(cstring) IS 'Text (JSON) input of tfidf_vocab, fully checked';
COMMENT ON FUNCTION fashionrec.tfidf_vocab_out(fashionrec.tfidf_vocab) IS 'Text (JSON) output of tfidf_vocab';
COMMENT ON FUNCTION fashionrec.tfidf_vocab_recv(internal) IS 'Binary input of tfidf_vocab (its JSON text), fully checked';
COMMENT ON FUNCTION fashionrec.tfidf_vocab_send(fashionrec.tfidf_vocab) IS 'Binary output of tfidf_vocab (its JSON text)';

-- aggregate support: not STRICT, the state starts NULL and rows may be NULL
CREATE FUNCTION fashionrec.tfidf_fit_trans(internal, tsvector) RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_trans'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_fit_trans(internal, tsvector, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_trans'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION fashionrec.tfidf_fit_final(internal) RETURNS fashionrec.tfidf_vocab
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_fit_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.tfidf_fit_trans(internal, tsvector) IS 'Transition function of tfidf_fit(tsvector)';
COMMENT ON FUNCTION fashionrec.tfidf_fit_trans(internal, tsvector, jsonb) IS 'Transition function of tfidf_fit(tsvector, jsonb)';
COMMENT ON FUNCTION fashionrec.tfidf_fit_combine(internal, internal) IS 'Combine function of tfidf_fit (parallel aggregation)';
COMMENT ON FUNCTION fashionrec.tfidf_fit_serialize(internal) IS 'Serialises a tfidf_fit state for parallel aggregation';
COMMENT ON FUNCTION fashionrec.tfidf_fit_deserialize(bytea, internal) IS 'Deserialises a tfidf_fit state for parallel aggregation';
COMMENT ON FUNCTION fashionrec.tfidf_fit_final(internal) IS 'Final function of tfidf_fit: applies min_df, max_df, max_features';

CREATE AGGREGATE fashionrec.tfidf_fit(tsvector) (
    SFUNC = fashionrec.tfidf_fit_trans,
    STYPE = internal,
    FINALFUNC = fashionrec.tfidf_fit_final,
    COMBINEFUNC = fashionrec.tfidf_fit_combine,
    SERIALFUNC = fashionrec.tfidf_fit_serialize,
    DESERIALFUNC = fashionrec.tfidf_fit_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE fashionrec.tfidf_fit(tsvector) IS
    'Fits a TF-IDF vocabulary over documents given as tsvectors (NULLs skipped); NULL when there are none';

CREATE AGGREGATE fashionrec.tfidf_fit(tsvector, jsonb) (
    SFUNC = fashionrec.tfidf_fit_trans,
    STYPE = internal,
    FINALFUNC = fashionrec.tfidf_fit_final,
    COMBINEFUNC = fashionrec.tfidf_fit_combine,
    SERIALFUNC = fashionrec.tfidf_fit_serialize,
    DESERIALFUNC = fashionrec.tfidf_fit_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE fashionrec.tfidf_fit(tsvector, jsonb) IS
    'Fits a TF-IDF vocabulary with options (min_df, max_df, max_features, sublinear_tf, use_idf, smooth_idf, norm), as scikit-learn''s TfidfVectorizer';

CREATE FUNCTION fashionrec.tfidf(vocab fashionrec.tfidf_vocab, document tsvector) RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.tfidf(fashionrec.tfidf_vocab, tsvector) IS
    'TF-IDF vector of a document over a fitted vocabulary; lexemes outside the vocabulary are ignored';

CREATE FUNCTION fashionrec.tfidf_terms(vocab fashionrec.tfidf_vocab)
    RETURNS TABLE (feature integer, term text, document_frequency bigint, idf double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_tfidf_terms'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.tfidf_terms(fashionrec.tfidf_vocab) IS
    'The terms of a vocabulary with their svec index (feature, 1-based), document frequency and idf';
