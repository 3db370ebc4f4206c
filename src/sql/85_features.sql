-- Feature store (placeholder until the catalog half lands): the tables the
-- model lookup in src/model.c reads.
CREATE TABLE fashionrec.feature_set (
    id                 serial PRIMARY KEY,
    name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    kind               text NOT NULL CHECK (kind IN ('tfidf', 'attributes', 'colors', 'embedding')),
    source             text NOT NULL,
    id_column          text NOT NULL,
    columns            text[] NOT NULL,
    params             jsonb NOT NULL DEFAULT '{}',
    dimension          integer,
    vocabulary         fashionrec.tfidf_vocab,
    vocabulary_version integer NOT NULL DEFAULT 0,
    generation         bigint NOT NULL DEFAULT 0,
    realtime           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    refreshed_at       timestamptz,
    rebuilt_at         timestamptz
);
CREATE TABLE fashionrec.item_feature (
    feature_set        integer NOT NULL REFERENCES fashionrec.feature_set (id) ON DELETE CASCADE,
    item_id            bigint NOT NULL,
    features           fashionrec.svec,
    content_hash       bytea,
    vocabulary_version integer NOT NULL,
    generation         bigint NOT NULL,
    computed_at        timestamptz NOT NULL,
    PRIMARY KEY (feature_set, item_id)
);
CREATE INDEX item_feature_generation ON fashionrec.item_feature (feature_set, generation);
