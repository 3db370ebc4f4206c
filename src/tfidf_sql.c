/*
 * tfidf_sql.c — TF-IDF in SQL: the tfidf_fit() aggregate, the tfidf_vocab
 * type it returns, and tfidf(vocab, tsvector) -> svec.
 *
 * Terms are the lexemes of a tsvector, so tokenising, stop words and
 * stemming are PostgreSQL's text search (to_tsvector with a regconfig).  A
 * lexeme's term frequency is its number of positions in the tsvector, or 1
 * when the tsvector carries no positions (e.g. after strip()).  PostgreSQL
 * keeps at most 256 positions per lexeme, so counts saturate there.
 *
 * The aggregate's state is a term table (tfidf.c) in the aggregate memory
 * context; it is serialised for parallel aggregation and merged by the
 * combine function, so a parallel plan gives exactly the serial vocabulary.
 *
 * tfidf_vocab is a varlena holding the flat vocabulary blob of tfidf.h after
 * 4 bytes of padding, so the blob's int64 counts are 8-byte aligned (the type
 * is declared ALIGNMENT = double).  Its text form is JSON; text and binary
 * input rebuild the blob and check it completely, so no stored value can
 * make tfidf() read out of bounds.
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "tsearch/ts_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "fashionrec.h"
#include "model.h"
#include "svec.h"
#include "tfidf.h"

#define VOCAB_HDRSZ 8			/* varlena header + 4 bytes of padding */
#define VOCAB_BLOB(d)		((char *) (d) + VOCAB_HDRSZ)
#define VOCAB_BLOB_LEN(d)	((size_t) VARSIZE(d) - VOCAB_HDRSZ)

/* ---- options ---------------------------------------------------------------- */

static void
bad_option(const char *key, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for tfidf option \"%s\"", key),
			 errdetail("Expected %s.", expected)));
}

static double
option_number(JsonbValue *v, const char *key, const char *expected, bool *has_point)
{
	char	   *text;
	double		d;

	if (v->type != jbvNumeric)
		bad_option(key, expected);
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		bad_option(key, expected);
	if (has_point)
		*has_point = strchr(text, '.') != NULL;
	return d;
}

/*
 * min_df / max_df as scikit-learn reads them: an integer is a document count
 * (>= 1), a number written with a decimal point a fraction of the documents
 * in [0, 1] — so 1 is one document and 1.0 is all of them.
 */
static void
df_option(JsonbValue *v, const char *key, double *value, bool *fraction)
{
	const char *expected = "a document count (an integer >= 1) or a fraction of the documents (a number with a decimal point, 0.0 to 1.0)";
	bool		point;
	double		d = option_number(v, key, expected, &point);

	if (point ? (d < 0 || d > 1) : (d < 1 || d != floor(d)))
		bad_option(key, expected);
	*value = d;
	*fraction = point;
}

static bool
bool_option(JsonbValue *v, const char *key)
{
	if (v->type != jbvBool)
		bad_option(key, "true or false");
	return v->val.boolean;
}

static void
parse_options(Jsonb *jb, FrTfidfOptions *opt)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	*opt = fr_tfidf_defaults;
	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tfidf options must be a JSON object"),
				 errhint("Write them as '{\"min_df\": 2, \"sublinear_tf\": true}'::jsonb.")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "min_df") == 0)
			df_option(&v, key, &opt->min_df, &opt->min_df_fraction);
		else if (strcmp(key, "max_df") == 0)
			df_option(&v, key, &opt->max_df, &opt->max_df_fraction);
		else if (strcmp(key, "max_features") == 0)
		{
			if (v.type == jbvNull)
				opt->max_features = 0;
			else
			{
				bool		point;
				double		d = option_number(&v, key, "an integer >= 1 or null", &point);

				if (point || d < 1 || d > FR_SVEC_MAX_DIM || d != floor(d))
					bad_option(key, "an integer >= 1 or null");
				opt->max_features = (int32) d;
			}
		}
		else if (strcmp(key, "sublinear_tf") == 0)
			opt->sublinear_tf = bool_option(&v, key);
		else if (strcmp(key, "use_idf") == 0)
			opt->use_idf = bool_option(&v, key);
		else if (strcmp(key, "smooth_idf") == 0)
			opt->smooth_idf = bool_option(&v, key);
		else if (strcmp(key, "norm") == 0)
		{
			if (v.type == jbvNull)
				opt->l2_norm = false;
			else if (v.type == jbvString && v.val.string.len == 2 &&
					 memcmp(v.val.string.val, "l2", 2) == 0)
				opt->l2_norm = true;
			else if (v.type == jbvString && v.val.string.len == 4 &&
					 memcmp(v.val.string.val, "none", 4) == 0)
				opt->l2_norm = false;
			else
				bad_option(key, "\"l2\" or \"none\"");
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown tfidf option \"%s\"", key),
					 errhint("Valid options: min_df, max_df, max_features, sublinear_tf, use_idf, smooth_idf, norm.")));
	}
}

/* ---- the aggregate -------------------------------------------------------------- */

typedef struct FitState
{
	FrTermTable *terms;
	int64		n_docs;
	FrTfidfOptions opt;
	bool		has_options;	/* opt was set (by a row or a partial state) */
	Jsonb	   *options_raw;	/* the jsonb opt came from, to compare later rows */
	int32		checked_terms;	/* term count at the last memory check */
} FitState;

static FitState *
fit_state_new(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FitState   *st = palloc0(sizeof(FitState));

	st->terms = fr_terms_new();
	st->opt = fr_tfidf_defaults;
	MemoryContextSwitchTo(old);
	return st;
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "%s called in non-aggregate context", fn);
	return cxt;
}

static void
options_differ(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("tfidf_fit options must be the same in every row"),
			 errhint("Pass the options as a constant.")));
}

static bool
same_options(const FrTfidfOptions *a, const FrTfidfOptions *b)
{
	return a->min_df == b->min_df && a->min_df_fraction == b->min_df_fraction &&
		a->max_df == b->max_df && a->max_df_fraction == b->max_df_fraction &&
		a->max_features == b->max_features && a->sublinear_tf == b->sublinear_tf &&
		a->use_idf == b->use_idf && a->smooth_idf == b->smooth_idf &&
		a->l2_norm == b->l2_norm;
}

/* a look at fashionrec.max_memory each time the table grew by 1024 terms */
static void
budget(FitState *st)
{
	if (st->terms->n_terms - st->checked_terms >= 1024)
	{
		fr_check_memory(fr_terms_bytes(st->terms), "tfidf_fit");
		st->checked_terms = st->terms->n_terms;
	}
}

/* tfidf_fit_trans(internal, tsvector [, jsonb]) */
PG_FUNCTION_INFO_V1(fashionrec_tfidf_fit_trans);
Datum
fashionrec_tfidf_fit_trans(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "tfidf_fit_trans");
	FitState   *st = PG_ARGISNULL(0) ? fit_state_new(cxt) : (FitState *) PG_GETARG_POINTER(0);
	MemoryContext old;
	TSVector	tsv;
	WordEntry  *we;
	char	   *lexemes;

	if (PG_NARGS() > 2)
	{
		Jsonb	   *raw = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);

		if (!st->has_options)
		{
			parse_options(raw, &st->opt);
			if (raw)
			{
				old = MemoryContextSwitchTo(cxt);
				st->options_raw = (Jsonb *) PG_DETOAST_DATUM_COPY(PointerGetDatum(raw));
				MemoryContextSwitchTo(old);
			}
			st->has_options = true;
		}
		else if ((raw == NULL) != (st->options_raw == NULL) ||
				 (raw && (VARSIZE(raw) != VARSIZE(st->options_raw) ||
						  memcmp(raw, st->options_raw, VARSIZE(raw)) != 0)))
			options_differ();
	}
	else
		st->has_options = true;

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	tsv = PG_GETARG_TSVECTOR(1);
	we = ARRPTR(tsv);
	lexemes = STRPTR(tsv);

	old = MemoryContextSwitchTo(cxt);
	for (int32 i = 0; i < tsv->size; i++)
	{
		int32		id = fr_terms_intern(st->terms, lexemes + we[i].pos, we[i].len);
		int			npos = POSDATALEN(tsv, &we[i]);

		st->terms->df[id]++;
		st->terms->tf[id] += npos > 0 ? npos : 1;
	}
	MemoryContextSwitchTo(old);
	budget(st);
	st->n_docs++;
	PG_RETURN_POINTER(st);
}

/* tfidf_fit_combine(internal, internal) */
PG_FUNCTION_INFO_V1(fashionrec_tfidf_fit_combine);
Datum
fashionrec_tfidf_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "tfidf_fit_combine");
	FitState   *a = PG_ARGISNULL(0) ? NULL : (FitState *) PG_GETARG_POINTER(0);
	FitState   *b = PG_ARGISNULL(1) ? NULL : (FitState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	/* b may live in a short-lived context (deserialised): merge it into ours */
	if (a == NULL)
		a = fit_state_new(cxt);
	if (a->has_options && b->has_options && !same_options(&a->opt, &b->opt))
		options_differ();
	if (!a->has_options && b->has_options)
	{
		a->opt = b->opt;
		a->has_options = true;
	}
	old = MemoryContextSwitchTo(cxt);
	fr_terms_merge(a->terms, b->terms);
	MemoryContextSwitchTo(old);
	a->n_docs += b->n_docs;
	fr_check_memory(fr_terms_bytes(a->terms), "tfidf_fit");
	PG_RETURN_POINTER(a);
}

/*
 * Serialised state: SerialHeader, int32 lengths[n], int64 df[n], float8 tf[n],
 * then the terms' bytes back to back.
 */
typedef struct SerialHeader
{
	uint32		magic;
	int32		n_terms;
	int64		n_docs;
	int64		text_len;
	FrTfidfOptions opt;
	bool		has_options;
} SerialHeader;

#define SERIAL_MAGIC 0x53464652	/* "FRFS" */

PG_FUNCTION_INFO_V1(fashionrec_tfidf_fit_serialize);
Datum
fashionrec_tfidf_fit_serialize(PG_FUNCTION_ARGS)
{
	FitState   *st = (FitState *) PG_GETARG_POINTER(0);
	FrTermTable *t = st->terms;
	SerialHeader h = {0};
	size_t		size;
	bytea	   *out;
	char	   *p;

	agg_context(fcinfo, "tfidf_fit_serialize");
	h.magic = SERIAL_MAGIC;
	h.n_terms = t->n_terms;
	h.n_docs = st->n_docs;
	h.text_len = t->text_len;
	h.opt = st->opt;
	h.has_options = st->has_options;
	size = add_size(VARHDRSZ + sizeof(h),
					add_size(mul_size(t->n_terms, sizeof(int32) + sizeof(int64) + sizeof(double)),
							 t->text_len));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tfidf_fit state of %d terms is too large to pass between parallel workers",
						t->n_terms),
				 errhint("SET max_parallel_workers_per_gather = 0 for this query.")));
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, t->lengths, sizeof(int32) * t->n_terms);
	p += sizeof(int32) * t->n_terms;
	memcpy(p, t->df, sizeof(int64) * t->n_terms);
	p += sizeof(int64) * t->n_terms;
	memcpy(p, t->tf, sizeof(double) * t->n_terms);
	p += sizeof(double) * t->n_terms;
	/* the arena holds the terms in id order, back to back */
	memcpy(p, t->text, t->text_len);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf_fit_deserialize);
Datum
fashionrec_tfidf_fit_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	SerialHeader h;
	FitState   *st;
	const char *text;
	int64		offset = 0;

	agg_context(fcinfo, "tfidf_fit_deserialize");
	if (len < sizeof(h))
		elog(ERROR, "invalid tfidf_fit state: too short");
	memcpy(&h, p, sizeof(h));
	if (h.magic != SERIAL_MAGIC || h.n_terms < 0 || h.text_len < 0 || h.n_docs < 0 ||
		(size_t) h.n_terms > len || (size_t) h.text_len > len ||
		len != sizeof(h) + (size_t) h.n_terms * (sizeof(int32) + sizeof(int64) + sizeof(double)) +
		(size_t) h.text_len)
		elog(ERROR, "invalid tfidf_fit state: inconsistent sizes");

	st = fit_state_new(CurrentMemoryContext);
	st->n_docs = h.n_docs;
	st->opt = h.opt;
	st->has_options = h.has_options;
	text = p + sizeof(h) + (size_t) h.n_terms * (sizeof(int32) + sizeof(int64) + sizeof(double));
	for (int32 i = 0; i < h.n_terms; i++)
	{
		int32		length;
		int64		df;
		double		tf;
		int32		id;

		/* memcpy: a bytea's payload promises no alignment */
		memcpy(&length, p + sizeof(h) + sizeof(int32) * i, sizeof(int32));
		if (length < 0 || offset + length > h.text_len)
			elog(ERROR, "invalid tfidf_fit state: term outside the text");
		memcpy(&df, p + sizeof(h) + sizeof(int32) * h.n_terms + sizeof(int64) * i, sizeof(int64));
		memcpy(&tf, p + sizeof(h) + (sizeof(int32) + sizeof(int64)) * h.n_terms + sizeof(double) * i,
			   sizeof(double));
		id = fr_terms_intern(st->terms, text + offset, length);
		st->terms->df[id] += df;
		st->terms->tf[id] += tf;
		offset += length;
	}
	PG_RETURN_POINTER(st);
}

static Datum
vocab_datum(const void *blob, size_t size)
{
	char	   *d = palloc0(VOCAB_HDRSZ + size);

	SET_VARSIZE(d, VOCAB_HDRSZ + size);
	memcpy(VOCAB_BLOB(d), blob, size);
	return PointerGetDatum(d);
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf_fit_final);
Datum
fashionrec_tfidf_fit_final(PG_FUNCTION_ARGS)
{
	FitState   *st = PG_ARGISNULL(0) ? NULL : (FitState *) PG_GETARG_POINTER(0);
	FrTermTable *t;
	double		lo,
				hi;
	int32	   *feature;
	int32		n_features;
	void	   *blob;
	size_t		size;

	agg_context(fcinfo, "tfidf_fit_final");
	if (st == NULL || st->n_docs == 0)
		PG_RETURN_NULL();
	t = st->terms;
	if (t->n_terms == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tfidf_fit found no terms in %lld documents", (long long) st->n_docs),
				 errdetail("Every tsvector was empty."),
				 errhint("Check the text search configuration: with to_tsvector('english', ...) stop words alone give empty tsvectors.")));
	if (!fr_tfidf_df_bounds(&st->opt, st->n_docs, &lo, &hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_df corresponds to fewer documents than min_df"),
				 errdetail("With %lld documents, min_df asks for at least %g and max_df allows at most %g.",
						   (long long) st->n_docs, lo, hi)));
	feature = palloc_extended(mul_size(t->n_terms, sizeof(int32)), MCXT_ALLOC_HUGE);
	n_features = fr_tfidf_select(t, st->n_docs, &st->opt, feature);
	if (n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no terms remain after min_df and max_df"),
				 errdetail("%d distinct terms in %lld documents; min_df asks for at least %g documents, max_df allows at most %g.",
						   t->n_terms, (long long) st->n_docs, lo, hi),
				 errhint("Lower min_df or raise max_df.")));
	blob = fr_vocab_build(t, feature, n_features, st->n_docs, &st->opt, &size);
	PG_RETURN_DATUM(vocab_datum(blob, size));
}

/* ---- the tfidf_vocab type --------------------------------------------------------- */

static void
vocab_check_datum(const char *d, FrVocab *v)
{
	const char *why = fr_vocab_check(VOCAB_BLOB(d), VOCAB_BLOB_LEN(d), v);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid tfidf_vocab value"),
				 errdetail("The value is damaged: %s.", why)));
}

static void
bad_vocab_text(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type tfidf_vocab"),
			 errdetail("%s", detail),
			 errhint("The text form is what tfidf_fit() outputs: {\"documents\": n, \"sublinear_tf\": false, \"use_idf\": true, \"smooth_idf\": true, \"norm\": \"l2\", \"terms\": [[\"term\", df], ...]}.")));
}

static int64
json_count(JsonbValue *v, const char *what)
{
	double		d;

	if (v->type != jbvNumeric)
		bad_vocab_text(psprintf("%s must be a number.", what));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(d) || d != floor(d) || d < 1 || d > 9.0e15)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tfidf_vocab: %s must be a whole number >= 1", what),
				 errdetail("Got %g.", d)));
	return (int64) d;
}

static Datum
vocab_from_text(char *str)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	FrTfidfOptions opt = fr_tfidf_defaults;
	int64		n_docs = -1;
	JsonbContainer *terms = NULL;
	FrTermTable *t;
	int32	   *feature;
	int32		n;
	void	   *blob;
	size_t		size;
	FrVocab		check;
	Datum		result;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		bad_vocab_text("The value must be a JSON object.");
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "documents") == 0)
			n_docs = json_count(&v, "\"documents\"");
		else if (strcmp(key, "sublinear_tf") == 0 || strcmp(key, "use_idf") == 0 ||
				 strcmp(key, "smooth_idf") == 0)
		{
			if (v.type != jbvBool)
				bad_vocab_text(psprintf("\"%s\" must be true or false.", key));
			if (key[1] == 'u')
				opt.sublinear_tf = v.val.boolean;
			else if (key[1] == 's')
				opt.use_idf = v.val.boolean;
			else
				opt.smooth_idf = v.val.boolean;
		}
		else if (strcmp(key, "norm") == 0)
		{
			if (v.type == jbvString && v.val.string.len == 2 && memcmp(v.val.string.val, "l2", 2) == 0)
				opt.l2_norm = true;
			else if (v.type == jbvString && v.val.string.len == 4 && memcmp(v.val.string.val, "none", 4) == 0)
				opt.l2_norm = false;
			else
				bad_vocab_text("\"norm\" must be \"l2\" or \"none\".");
		}
		else if (strcmp(key, "terms") == 0)
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				bad_vocab_text("\"terms\" must be an array of [term, document frequency] pairs.");
			terms = v.val.binary.data;
		}
		else
			bad_vocab_text(psprintf("Unknown key \"%s\".", key));
	}
	if (n_docs < 0)
		bad_vocab_text("The key \"documents\" is missing.");
	if (terms == NULL || JsonContainerSize(terms) == 0)
		bad_vocab_text("The key \"terms\" is missing or empty.");

	/* terms must come in strictly ascending byte order: their index is their position */
	n = JsonContainerSize(terms);
	t = fr_terms_new();
	feature = palloc_extended(mul_size(n, sizeof(int32)), MCXT_ALLOC_HUGE);
	for (int32 i = 0; i < n; i++)
	{
		JsonbValue *pair = getIthJsonbValueFromContainer(terms, i);
		JsonbValue *term,
				   *df;
		int32		id;

		if (pair == NULL || pair->type != jbvBinary || !JsonContainerIsArray(pair->val.binary.data) ||
			JsonContainerSize(pair->val.binary.data) != 2)
			bad_vocab_text(psprintf("Term %d is not a [term, document frequency] pair.", i + 1));
		term = getIthJsonbValueFromContainer(pair->val.binary.data, 0);
		df = getIthJsonbValueFromContainer(pair->val.binary.data, 1);
		if (term->type != jbvString || term->val.string.len == 0)
			bad_vocab_text(psprintf("Term %d is not a non-empty string.", i + 1));
		if (i > 0)
		{
			int32		prev = i - 1;

			if (fr_term_cmp(t->text + t->offsets[prev], t->lengths[prev],
							term->val.string.val, term->val.string.len) >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid tfidf_vocab: terms must be distinct and in ascending order"),
						 errdetail("Term %d \"%s\" does not sort after \"%s\".", i + 1,
								   pnstrdup(term->val.string.val, term->val.string.len),
								   pnstrdup(t->text + t->offsets[prev], t->lengths[prev]))));
		}
		id = fr_terms_intern(t, term->val.string.val, term->val.string.len);
		t->df[id] = json_count(df, psprintf("the document frequency of term %d", i + 1));
		if (t->df[id] > n_docs)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid tfidf_vocab: term %d has document frequency %lld, more than the %lld documents",
							i + 1, (long long) t->df[id], (long long) n_docs)));
		feature[id] = id;
	}
	blob = fr_vocab_build(t, feature, n, n_docs, &opt, &size);
	result = vocab_datum(blob, size);
	vocab_check_datum(DatumGetPointer(result), &check);
	return result;
}

static char *
vocab_to_text(const char *d)
{
	FrVocab		v;
	StringInfoData buf;

	vocab_check_datum(d, &v);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"documents\": %lld, \"sublinear_tf\": %s, \"use_idf\": %s, "
					 "\"smooth_idf\": %s, \"norm\": \"%s\", \"terms\": [",
					 (long long) v.h->n_docs,
					 v.h->sublinear_tf ? "true" : "false",
					 v.h->use_idf ? "true" : "false",
					 v.h->smooth_idf ? "true" : "false",
					 v.h->l2_norm ? "l2" : "none");
	for (int32 i = 0; i < v.h->n_terms; i++)
	{
		char	   *term = pnstrdup(v.strings + v.offsets[i], v.offsets[i + 1] - v.offsets[i]);

		appendStringInfoString(&buf, i ? ", [" : "[");
		escape_json(&buf, term);
		appendStringInfo(&buf, ", %lld]", (long long) v.df[i]);
		pfree(term);
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf_vocab_in);
Datum
fashionrec_tfidf_vocab_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(vocab_from_text(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf_vocab_out);
Datum
fashionrec_tfidf_vocab_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(vocab_to_text((char *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

/* binary form = the text form: the blob is native-endian, the wire is not */
PG_FUNCTION_INFO_V1(fashionrec_tfidf_vocab_recv);
Datum
fashionrec_tfidf_vocab_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);

	PG_RETURN_DATUM(vocab_from_text(str));
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf_vocab_send);
Datum
fashionrec_tfidf_vocab_send(PG_FUNCTION_ARGS)
{
	char	   *str = vocab_to_text((char *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, str, strlen(str));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---- tfidf(vocab, tsvector) --------------------------------------------------------- */

/*
 * A vocabulary stored in a table reaches tfidf() as a TOAST pointer on every
 * row of a join; detoasting (and decompressing) it each time would cost more
 * than the weighting.  Such a value is immutable and named by its TOAST
 * pointer, so one detoasted copy per call site serves all rows.
 */
typedef struct VocabCache
{
	Oid			toastrelid;
	Oid			valueid;
	char	   *datum;
} VocabCache;

static const char *
vocab_arg(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(argno));
	VocabCache *cache = fcinfo->flinfo->fn_extra;
	struct varatt_external ext;
	const char *d;

	if (!VARATT_IS_EXTERNAL_ONDISK(raw))
		d = (const char *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));
	else
	{
		VARATT_EXTERNAL_GET_POINTER(ext, raw);
		if (cache == NULL)
			cache = fcinfo->flinfo->fn_extra =
				MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VocabCache));
		if (cache->datum == NULL || cache->toastrelid != ext.va_toastrelid ||
			cache->valueid != ext.va_valueid)
		{
			MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
			char	   *copy = (char *) detoast_attr(raw);

			MemoryContextSwitchTo(old);
			if (cache->datum)
				pfree(cache->datum);
			cache->datum = copy;
			cache->toastrelid = ext.va_toastrelid;
			cache->valueid = ext.va_valueid;
		}
		d = cache->datum;
	}
	/* values were checked completely on input; the header once more is cheap */
	if (VARSIZE(d) < VOCAB_HDRSZ || !fr_vocab_header_ok(VOCAB_BLOB(d), VOCAB_BLOB_LEN(d)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid tfidf_vocab value")));
	return d;
}

typedef struct Match
{
	int32		index;
	double		tf;
} Match;

static int
match_cmp(const void *a, const void *b)
{
	int32		x = ((const Match *) a)->index;
	int32		y = ((const Match *) b)->index;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(fashionrec_tfidf);
Datum
fashionrec_tfidf(PG_FUNCTION_ARGS)
{
	const char *d = vocab_arg(fcinfo, 0);
	TSVector	tsv = PG_GETARG_TSVECTOR(1);
	WordEntry  *we = ARRPTR(tsv);
	char	   *lexemes = STRPTR(tsv);
	FrVocab		v;
	FrTfidfOptions opt;
	Match		m_local[64];
	double		tf_local[64];
	double		idf_local[64];
	bool		small = tsv->size <= 64;
	Match	   *m = small ? m_local : palloc(sizeof(Match) * tsv->size);
	double	   *tf = small ? tf_local : palloc(sizeof(double) * tsv->size);
	double	   *idf = small ? idf_local : palloc(sizeof(double) * tsv->size);
	int32		n = 0;
	bool		sorted = true;
	FrSvec	   *out;

	fr_vocab_view(VOCAB_BLOB(d), &v);
	fr_vocab_options(&v, &opt);
	for (int32 i = 0; i < tsv->size; i++)
	{
		int32		f = fr_vocab_find(&v, lexemes + we[i].pos, we[i].len);
		int			npos;

		if (f < 0)
			continue;
		npos = POSDATALEN(tsv, &we[i]);
		m[n].index = f;
		m[n].tf = npos > 0 ? npos : 1;
		if (n > 0 && f <= m[n - 1].index)
			sorted = false;
		n++;
	}
	/* a tsvector keeps its lexemes in the vocabulary's byte order already */
	if (!sorted)
		qsort(m, n, sizeof(Match), match_cmp);

	out = fr_svec_new(v.h->n_terms, n);
	for (int32 i = 0; i < n; i++)
	{
		out->indices[i] = m[i].index;
		tf[i] = fr_tfidf_tf(m[i].tf, &opt);
		idf[i] = v.idf[m[i].index];
	}
	fr_tfidf_weigh(n, tf, idf, &opt, FR_SVEC_VALUES(out));
	PG_RETURN_POINTER(out);
}

/*
 * tfidf_terms(vocab) returns table(feature integer, term text,
 *     document_frequency bigint, idf double precision)
 */
PG_FUNCTION_INFO_V1(fashionrec_tfidf_terms);
Datum
fashionrec_tfidf_terms(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *d = (const char *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	FrVocab		v;
	FrTfidfOptions opt;

	vocab_check_datum(d, &v);
	fr_vocab_options(&v, &opt);
	InitMaterializedSRF(fcinfo, 0);
	for (int32 i = 0; i < v.h->n_terms; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		values[0] = Int32GetDatum(i + 1);
		values[1] = PointerGetDatum(cstring_to_text_with_len(v.strings + v.offsets[i],
															 v.offsets[i + 1] - v.offsets[i]));
		values[2] = Int64GetDatum(v.df[i]);
		values[3] = Float8GetDatum(v.idf[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
