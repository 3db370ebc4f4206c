/*
 * tfidf.h — TF-IDF weighting and vocabularies, free of PostgreSQL.
 *
 * Terms are byte strings (lexemes of a tsvector, or "field=value" tokens of
 * structured attributes).  A term table counts, per term, the documents that
 * contain it (df) and its total frequency (tf, for max_features); a
 * vocabulary is the chosen terms in byte order, so feature i is the i-th
 * term — the order PostgreSQL keeps lexemes in a tsvector and Python sorts
 * strings in, which makes the indices match scikit-learn's.
 *
 * Weights follow scikit-learn's TfidfVectorizer:
 *   tf'  = tf, or 1 + ln(tf) with sublinear_tf
 *   idf  = ln((1 + n) / (1 + df)) + 1 with smooth_idf, ln(n / df) + 1 without,
 *          1 without use_idf
 *   value = tf' * idf, then the document is scaled to unit L2 norm.
 */
#ifndef FR_TFIDF_H
#define FR_TFIDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FrTfidfOptions
{
	double		min_df;			/* a document count, or a fraction of them */
	bool		min_df_fraction;
	double		max_df;
	bool		max_df_fraction;
	int32_t		max_features;	/* 0: no limit */
	bool		sublinear_tf;
	bool		use_idf;
	bool		smooth_idf;
	bool		l2_norm;
} FrTfidfOptions;

/* min_df 1 (count), max_df 1.0 (fraction), no max_features, idf smoothed, l2 */
extern const FrTfidfOptions fr_tfidf_defaults;

/* ---- term table: a hash of byte strings with per-term counts ----------- */

typedef struct FrTermTable
{
	int32_t		n_terms;
	int32_t		capacity;		/* terms the per-term arrays can hold */
	uint32_t	mask;			/* hash slots - 1 (a power of two minus one) */
	int32_t    *slots;			/* term id + 1, 0 when free */
	uint32_t   *hashes;			/* per term */
	int64_t    *offsets;		/* per term: start in text */
	int32_t    *lengths;		/* per term: bytes */
	char	   *text;
	int64_t		text_len;
	int64_t		text_cap;
	int64_t    *df;				/* per term: documents containing it */
	double	   *tf;				/* per term: summed frequency over documents */
} FrTermTable;

extern FrTermTable *fr_terms_new(void);
extern void fr_terms_free(FrTermTable *t);

/* The id of a term, adding it (df = tf = 0) when new.  len >= 0. */
extern int32_t fr_terms_intern(FrTermTable *t, const char *s, int32_t len);

/* The id of a term, or -1. */
extern int32_t fr_terms_find(const FrTermTable *t, const char *s, int32_t len);

/* Add every term of src, with its df and tf, into dst. */
extern void fr_terms_merge(FrTermTable *dst, const FrTermTable *src);

/* Bytes the table holds, for memory budgets. */
extern size_t fr_terms_bytes(const FrTermTable *t);

/* Byte order of strings: memcmp over the common prefix, then shorter first. */
extern int	fr_term_cmp(const char *a, int32_t alen, const char *b, int32_t blen);

/* Term ids in byte order of their strings (order[n_terms], caller-allocated). */
extern void fr_terms_sorted(const FrTermTable *t, int32_t *order);

/* ---- choosing the vocabulary ---------------------------------------------- */

/*
 * The document-count bounds min_df and max_df mean for n_docs documents.
 * False when max_df allows fewer documents than min_df requires.
 */
extern bool fr_tfidf_df_bounds(const FrTfidfOptions *opt, int64_t n_docs,
							   double *lo, double *hi);

/*
 * Choose the features: the terms with lo <= df <= hi (fr_tfidf_df_bounds),
 * then, with max_features, the most frequent of those by total tf (ties to
 * the earlier term in byte order).  feature[id] receives the term's 0-based
 * feature index in byte order of the chosen terms, or -1.  Returns the
 * number of features (0 when nothing is left).
 */
extern int32_t fr_tfidf_select(const FrTermTable *t, int64_t n_docs,
							   const FrTfidfOptions *opt, int32_t *feature);

/* ---- weighting -------------------------------------------------------------- */

extern double fr_tfidf_tf(double count, const FrTfidfOptions *opt);
extern double fr_tfidf_idf(int64_t df, int64_t n_docs, const FrTfidfOptions *opt);

/*
 * One document's values: out[i] = tf[i] * idf[i] (tf already through
 * fr_tfidf_tf, or a caller's own weight; idf from fr_tfidf_idf), then scaled
 * to unit L2 norm when opt->l2_norm.
 */
extern void fr_tfidf_weigh(int32_t n, const double *tf, const double *idf,
						   const FrTfidfOptions *opt, float *out);

/* ---- vocabulary blob ------------------------------------------------------------ */

/*
 * A fitted vocabulary as one flat, position-independent block of memory
 * (8-byte aligned): what the SQL type fashionrec.tfidf_vocab holds after its
 * varlena header, and what content models store as an artifact.
 *
 *   FrVocabHeader
 *   int64  df[n_terms]
 *   float8 idf[n_terms]               fr_tfidf_idf(df), so tfidf() takes no logarithm
 *   int32  offsets[n_terms + 1]       into the strings, offsets[0] = 0
 *   int32  slots[hash_slots]          hash index: feature + 1, 0 when free
 *   char   strings[strings_len]       the terms, strictly ascending byte order
 *
 * The idf column and the hash index (open addressing, linear probing,
 * FNV-1a, at most half full, so a look-up is one or two probes instead of a
 * binary search) are derived data: every way in rebuilds them, and
 * fr_vocab_check() verifies them term by term.
 */
#define FR_VOCAB_MAGIC 0x31564652	/* "FRV1" */
#define FR_VOCAB_MAX_BYTES ((size_t) 0x3fffff00)	/* under PostgreSQL's 1 GB datum limit */

typedef struct FrVocabHeader
{
	uint32_t	magic;
	int32_t		n_terms;
	int64_t		n_docs;
	int64_t		strings_len;
	uint8_t		sublinear_tf;
	uint8_t		use_idf;
	uint8_t		smooth_idf;
	uint8_t		l2_norm;
	uint32_t	hash_slots;		/* fr_vocab_slots(n_terms) */
} FrVocabHeader;

/* A read-only view of a checked blob. */
typedef struct FrVocab
{
	const FrVocabHeader *h;
	const int64_t *df;
	const double *idf;
	const int32_t *offsets;
	const int32_t *slots;
	const char *strings;
} FrVocab;

/* Hash slots for n terms: a power of two >= 2n, at least 8. */
extern uint32_t fr_vocab_slots(int32_t n_terms);

extern size_t fr_vocab_bytes(int32_t n_terms, int64_t strings_len);

/*
 * Write the vocabulary of the chosen features (fr_tfidf_select) into a new
 * blob of *size bytes (fr_alloc).  n_docs and the transform options go with it.
 */
extern void *fr_vocab_build(const FrTermTable *t, const int32_t *feature, int32_t n_features,
							int64_t n_docs, const FrTfidfOptions *opt, size_t *size);

/*
 * Check a blob of len bytes from an untrusted source; on success fill *v and
 * return NULL, otherwise return what is wrong.
 */
extern const char *fr_vocab_check(const void *blob, size_t len, FrVocab *v);

/*
 * The O(1) part of fr_vocab_check: header and total length agree, so a view
 * stays inside the blob.  For values fully checked when they were stored.
 */
extern bool fr_vocab_header_ok(const void *blob, size_t len);

/* A view of a blob known to be good (fr_vocab_check passed on it before). */
extern void fr_vocab_view(const void *blob, FrVocab *v);

/* Feature index of a term, or -1. */
extern int32_t fr_vocab_find(const FrVocab *v, const char *s, int32_t len);

/* The options a vocabulary transforms with. */
extern void fr_vocab_options(const FrVocab *v, FrTfidfOptions *opt);

#endif							/* FR_TFIDF_H */
