-- Approximate top-k (src/ann.c, docs/serving.md "Approximate top-k"): an IVF
-- index over a version's item vectors, stored as artifacts beside the
-- model's.  train() builds one when params ask ("ann") or the catalog
-- reaches fashionrec.ann_min_items; build_ann() adds one to a trained
-- version.  Both write through the narrow writers of src/catalog.c, so
-- neither is SECURITY DEFINER; 99_privileges.sql grants them to trainers.

CREATE FUNCTION fashionrec._train_ann(model_id bigint, algorithm text, items integer, ann jsonb)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_train_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) IS
    'Internal: builds the approximate top-k index of the caller''s training when params ask or the catalog is large; use fashionrec.train()';

CREATE FUNCTION fashionrec.build_ann(name text, version integer DEFAULT NULL, lists integer DEFAULT NULL,
                                     recall double precision DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_build_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec.build_ann(text, integer, integer, double precision) IS
    'Adds an approximate top-k (IVF) index to a trained version (the active one when version is NULL), or rebuilds it with lists lists (about 4 x sqrt(items) when NULL), its default probes calibrated to mean recall@10 recall (0.98 when NULL) on a sample of its items (and of its users'' vectors for a factor model); returns its description, also recorded in the version''s info under "ann"';
