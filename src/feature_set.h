/*
 * feature_set.h — the feature store's C side (src/sql/85_features.sql,
 * docs/features.md):
 *
 *   features_sql.c      helpers the SQL calls (attribute terms, colour
 *                       histograms, the vocabulary kept in memory);
 *   features_store.c    the only writers of the feature store's tables:
 *                       they read a set's source as their caller and store
 *                       as the tables' owner (src/catalog.c);
 *   features_trigger.c  the realtime trigger.
 */
#ifndef FR_FEATURE_SET_H
#define FR_FEATURE_SET_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"

typedef enum FrFeatureKind
{
	FR_FEATURE_TFIDF,
	FR_FEATURE_ATTRIBUTES,
	FR_FEATURE_COLORS,
	FR_FEATURE_EMBEDDING
} FrFeatureKind;

/*
 * A feature set's row as the writers and the trigger use it.  The strings
 * live in the memory of the SPI connection that loaded it.
 */
typedef struct FrFeatureSet
{
	int32		id;
	char	   *name;
	FrFeatureKind kind;
	Oid			source;
	char	   *id_column;
	int			n_columns;
	char	  **columns;		/* hashed, in this order */
	int			n_texts;		/* tfidf: text_columns, as indexes into columns */
	int32	   *texts;
	int			n_attrs;		/* tfidf, attributes: attribute_columns, as indexes */
	int32	   *attrs;
	int32	   *weights;		/* per attribute column */
	Oid			config;			/* tfidf: text search configuration */
	bool		has_dimension;
	int32		dimension;
	int32		vocabulary_version;
	bool		has_rebuilt_at;
	TimestampTz rebuilt_at;
	bool		realtime;
	char	   *created_by;
} FrFeatureSet;

/* features_store.c; the caller is connected to SPI and, where said, is the owner */
extern bool fr_feature_load(int32 set_id, FrFeatureSet *fs);	/* owner */
extern void fr_feature_check_columns(Oid relid, FrFeatureKind kind, const char *id_column,
									 char **columns, int n_columns, const char *set_name,
									 AttrNumber *attnums);
extern int64 fr_feature_generation(FrFeatureSet *fs);	/* owner */
extern void fr_feature_queue(int32 set_id, const int64 *ids, int n);	/* owner */
extern void fr_feature_tombstone(int32 set_id, const int64 *ids, int n, int64 generation);	/* owner */
extern void fr_feature_store(const FrFeatureSet *fs, int64 generation, int n, Datum *item_ids,
							 Datum *features, bool *features_null, Datum *hashes,
							 Datum *terms, bool *terms_null, Datum *oov, bool *oov_null,
							 Datum *reasons, bool *reasons_null, Datum *details,
							 bool *details_null, bool skip_unchanged);	/* owner */

/* features_sql.c */
extern struct varlena *fr_feature_vocabulary(int32 set_id, int32 version, TimestampTz rebuilt_at);
extern Datum fr_feature_tfidf(struct varlena *vocab, Datum doc);
extern Datum fr_attribute_tsvector(int n, char **names, char **values, const int32 *weights);

#endif							/* FR_FEATURE_SET_H */
