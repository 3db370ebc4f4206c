/*
 * content_model.c — the content algorithms "tfidf" and "attributes".
 *
 * Both are item-source algorithms: their source is the catalog, one or more
 * rows per item, and every item of the catalog is in the model whether or
 * not anyone interacted with it.  Interactions, for users' profiles and the
 * "seen" filter, come from the optional "interactions" parameter.
 *
 *   tfidf       (item_id, text or tsvector[, attribute columns...]): the
 *               text's lexemes (to_tsvector with params.config) weighted by
 *               TF-IDF; with "attribute_columns", those columns' values join
 *               the document as extra "column=value" terms.
 *   attributes  (item_id, col1, col2, ...): every column after the id is a
 *               field, each value a "column=value" term, weighted by the
 *               field's weight times the term's idf.
 *
 * Values are trimmed and lower-cased, so " Navy Blue" and "navy blue" are
 * one term.  Rows with the same item id are one document (their terms
 * added), so multi-valued attributes can come as one row per value.
 *
 * Training (tfidf.c) chooses the vocabulary, weighs each item and scales it
 * to unit length; serving scores cosine similarity through an inverted index
 * (features -> items) built at load time (svec_ops.c).
 *
 * Artifacts: "content_indptr" (items + 1), "content_indices" and
 * "content_values" — the item rows as CSR, 0-based feature indices — and
 * "vocabulary", the tfidf_vocab blob (tfidf.h) mapping features to terms.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "tsearch/ts_type.h"

#include "fashionrec.h"
#include "model.h"
#include "source.h"
#include "svec_ops.h"
#include "tfidf.h"
#include "content_model.h"

#define FETCH_ROWS 10000

typedef struct ContentParams
{
	char	   *config;			/* text search configuration */
	char	   *text_column;	/* NULL: the second column */
	char	   *attribute_columns;	/* "a, b" or a JSON array of names */
	char	   *weights;		/* JSON object: field -> weight */
	double		min_df;			/* < 1: fraction of items, else a count */
	double		max_df;			/* <= 1: fraction of items, else a count */
	int32		max_features;	/* 0: all */
	bool		sublinear_tf;
	bool		use_idf;
	bool		smooth_idf;
} ContentParams;

static const FrParamSpec tfidf_specs[] = {
	{"config", FR_PARAM_TEXT, offsetof(ContentParams, config)},
	{"text_column", FR_PARAM_TEXT, offsetof(ContentParams, text_column)},
	{"attribute_columns", FR_PARAM_TEXT, offsetof(ContentParams, attribute_columns)},
	{"weights", FR_PARAM_TEXT, offsetof(ContentParams, weights)},
	{"min_df", FR_PARAM_REAL, offsetof(ContentParams, min_df), 0, 1e9},
	{"max_df", FR_PARAM_REAL, offsetof(ContentParams, max_df), 0, 1e9},
	{"max_features", FR_PARAM_INT, offsetof(ContentParams, max_features), 0, FR_SVEC_MAX_DIM},
	{"sublinear_tf", FR_PARAM_BOOL, offsetof(ContentParams, sublinear_tf)},
	{"use_idf", FR_PARAM_BOOL, offsetof(ContentParams, use_idf)},
	{"smooth_idf", FR_PARAM_BOOL, offsetof(ContentParams, smooth_idf)},
	{NULL}
};

static const FrParamSpec attributes_specs[] = {
	{"weights", FR_PARAM_TEXT, offsetof(ContentParams, weights)},
	{"min_df", FR_PARAM_REAL, offsetof(ContentParams, min_df), 0, 1e9},
	{"max_df", FR_PARAM_REAL, offsetof(ContentParams, max_df), 0, 1e9},
	{"use_idf", FR_PARAM_BOOL, offsetof(ContentParams, use_idf)},
	{"smooth_idf", FR_PARAM_BOOL, offsetof(ContentParams, smooth_idf)},
	{NULL}
};

static const ContentParams content_defaults = {
	.config = "english",
	.min_df = 1,
	.max_df = 1.0,
	.use_idf = true,
	.smooth_idf = true,
};

/* What read_items() keeps for train(). */
typedef struct ContentItems
{
	FrTermTable *terms;
	uint8	   *is_attribute;	/* per term: its value is a weight, not a count */
	int32		attr_cap;
	int32		n_items;
	int64	   *item_ids;
	FrCsr		docs;			/* items x term ids: counts or weights */
	int64		rows;
	int64		duplicate_rows; /* rows adding to an item already seen */
	bool		is_attributes_algo;
} ContentItems;

/* ---- parameters ---------------------------------------------------------- */

static void
content_options(const ContentParams *p, FrTfidfOptions *opt)
{
	*opt = fr_tfidf_defaults;
	if (p->min_df < 1)
	{
		opt->min_df = p->min_df;
		opt->min_df_fraction = true;
	}
	else
	{
		if (p->min_df != floor(p->min_df))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"min_df\" must be a fraction below 1 or a whole number of items"),
					 errdetail("Got %g.", p->min_df)));
		opt->min_df = p->min_df;
		opt->min_df_fraction = false;
	}
	if (p->max_df <= 1)
	{
		opt->max_df = p->max_df;
		opt->max_df_fraction = true;
	}
	else
	{
		if (p->max_df != floor(p->max_df))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"max_df\" must be a fraction up to 1 or a whole number of items"),
					 errdetail("Got %g.", p->max_df)));
		opt->max_df = p->max_df;
		opt->max_df_fraction = false;
	}
	opt->max_features = p->max_features;
	opt->sublinear_tf = p->sublinear_tf;
	opt->use_idf = p->use_idf;
	opt->smooth_idf = p->smooth_idf;
	opt->l2_norm = true;		/* cosine similarity is a dot product of unit rows */
}

typedef struct Field
{
	char	   *name;			/* source column name, the term prefix */
	int			column;			/* 0-based in the source */
	double		weight;
} Field;

/* "a, b" or '["a", "b"]' into names */
static List *
parse_names(const char *spec)
{
	List	   *names = NIL;
	const char *p = spec;

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '[')
	{
		Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(spec)));
		JsonbIterator *it = JsonbIteratorInit(&jb->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"attribute_columns\" must list column names"),
						 errhint("Write \"attribute_columns\": \"colour, season\".")));
			names = lappend(names, pnstrdup(v.val.string.val, v.val.string.len));
		}
		return names;
	}
	for (;;)
	{
		const char *start,
				   *end;

		while (*p && isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char) end[-1]))
			end--;
		if (end == start)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"attribute_columns\" has an empty column name"),
					 errhint("Write \"attribute_columns\": \"colour, season\".")));
		names = lappend(names, pnstrdup(start, end - start));
		if (*p != ',')
			break;
		p++;
	}
	return names;
}

/* weights: a JSON object text {"field": weight, ...}; weights >= 0 */
static void
apply_weights(const char *spec, Field *fields, int n_fields)
{
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (spec == NULL)
		return;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(spec)));
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"weights\" must be a JSON object of field weights"),
				 errhint("Write \"weights\": \"{\\\"article_type\\\": 3, \\\"colour\\\": 2}\".")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		double		w;
		int			f;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		JsonbIteratorNext(&it, &v, true);
		for (f = 0; f < n_fields; f++)
			if (strcmp(fields[f].name, key) == 0)
				break;
		if (f == n_fields)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int i = 0; i < n_fields; i++)
				appendStringInfo(&names, "%s\"%s\"", i ? ", " : "", fields[i].name);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"weights\" names \"%s\", which is not an attribute column", key),
					 n_fields ? errdetail("The attribute columns are %s.", names.data)
					 : errdetail("The model has no attribute columns.")));
		}
		if (v.type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the weight of \"%s\" must be a number", key)));
		w = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
		if (!isfinite(w) || w < 0 || w > 1e6)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the weight of \"%s\" must be between 0 and 1000000", key),
					 errdetail("Got %g.", w)));
		fields[f].weight = w;
	}
}

/* ---- reading the catalog ----------------------------------------------------- */

static int
column_by_name(TupleDesc desc, const char *name, const char *role)
{
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("source has no column \"%s\" for the %s", name, role)));
	return -1;
}

static bool
is_text_type(Oid t)
{
	return t == TEXTOID || t == VARCHAROID || t == BPCHAROID || t == NAMEOID;
}

typedef struct Reader
{
	MemoryContext cxt;			/* where the result lives */
	ContentItems *items;
	int64		n_rows;
	int64		rows_cap;
	int64	   *row_ids;
	int64	   *row_start;		/* n_rows + 1 */
	int64		n_ent;
	int64		ent_cap;
	int32	   *ent_term;
	float	   *ent_value;
} Reader;

static size_t
reader_bytes(const Reader *r)
{
	return fr_terms_bytes(r->items->terms) + (size_t) r->items->attr_cap +
		(size_t) r->rows_cap * 2 * sizeof(int64) +
		(size_t) r->ent_cap * (sizeof(int32) + sizeof(float) + sizeof(int32) + sizeof(float));
}

static void
reader_add(Reader *r, int32 term, float value)
{
	if (r->n_ent == r->ent_cap)
	{
		int64		cap = r->ent_cap ? r->ent_cap * 2 : 8192;

		r->ent_term = fr_grow_huge(r->ent_term, cap * sizeof(int32));
		r->ent_value = fr_grow_huge(r->ent_value, cap * sizeof(float));
		r->ent_cap = cap;
		fr_check_memory(reader_bytes(r), "reading the catalog");
	}
	r->ent_term[r->n_ent] = term;
	r->ent_value[r->n_ent++] = value;
}

static void
reader_new_row(Reader *r, int64 id)
{
	if (r->n_rows + 1 >= r->rows_cap)
	{
		int64		cap = r->rows_cap ? r->rows_cap * 2 : 4096;

		r->row_ids = fr_grow_huge(r->row_ids, cap * sizeof(int64));
		r->row_start = fr_grow_huge(r->row_start, cap * sizeof(int64));
		r->rows_cap = cap;
		fr_check_memory(reader_bytes(r), "reading the catalog");
	}
	r->row_ids[r->n_rows] = id;
	r->row_start[r->n_rows++] = r->n_ent;
}

static int32
reader_term(Reader *r, const char *s, int32 len, bool attribute)
{
	ContentItems *items = r->items;
	int32		before = items->terms->n_terms;
	int32		id = fr_terms_intern(items->terms, s, len);

	if (id >= items->attr_cap)
	{
		int32		cap = items->attr_cap ? items->attr_cap * 2 : 4096;

		items->is_attribute = items->attr_cap ?
			repalloc_huge(items->is_attribute, cap) : palloc_extended(cap, MCXT_ALLOC_HUGE);
		memset(items->is_attribute + items->attr_cap, 0, cap - items->attr_cap);
		items->attr_cap = cap;
	}
	if (attribute)
		items->is_attribute[id] = 1;
	if (items->terms->n_terms != before && (items->terms->n_terms & 4095) == 0)
		fr_check_memory(reader_bytes(r), "reading the catalog");
	return id;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Rows -> the items x terms matrix, rows of one item added together. */
static void
reader_finish(Reader *r)
{
	ContentItems *items = r->items;
	int64		n = r->n_rows;
	int64	   *ids;
	int64		m = 0;
	int32	   *coo_rows;

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the catalog source returned no rows"),
				 errhint("A content model needs the catalog: a query returning (item_id, text) or (item_id, attributes...).")));
	if (n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the catalog has more than %d rows", PG_INT32_MAX)));
	ids = palloc_extended(n * sizeof(int64), MCXT_ALLOC_HUGE);
	memcpy(ids, r->row_ids, n * sizeof(int64));
	qsort(ids, n, sizeof(int64), cmp_int64);
	for (int64 i = 0; i < n; i++)
		if (i == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	items->n_items = (int32) m;
	items->item_ids = ids;
	items->rows = n;
	items->duplicate_rows = n - m;

	r->row_start[n] = r->n_ent;
	coo_rows = palloc_extended(Max(r->n_ent, 1) * sizeof(int32), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		int32		item = (int32) fr_find_id(ids, m, r->row_ids[i]);

		for (int64 e = r->row_start[i]; e < r->row_start[i + 1]; e++)
			coo_rows[e] = item;
	}
	fr_csr_from_coo(&items->docs, (int32) m, items->terms->n_terms, r->n_ent,
					coo_rows, r->ent_term, r->ent_value, NULL, NULL);
	pfree(coo_rows);
	pfree(r->row_ids);
	pfree(r->row_start);
	if (r->ent_cap)
	{
		pfree(r->ent_term);
		pfree(r->ent_value);
	}
}

/*
 * Read the catalog.  text_col < 0: no text; text_is_tsvector: use it as is,
 * else to_tsvector($1, text).  fields: the attribute columns.
 */
static void
read_catalog(const char *query, TupleDesc desc, int text_col, const char *config,
			 Field *fields, int n_fields, Reader *r)
{
	StringInfoData sql;
	bool		has_text = text_col >= 0;
	bool		is_tsvector = has_text && TupleDescAttr(desc, text_col)->atttypid == TSVECTOROID;
	Oid			argtypes[1] = {REGCONFIGOID};
	Datum		args[1];
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext batch_cxt;
	StringInfoData token;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT s.c1::pg_catalog.int8");
	if (has_text && is_tsvector)
		appendStringInfo(&sql, ", s.c%d", text_col + 1);
	else if (has_text)
		appendStringInfo(&sql, ", pg_catalog.to_tsvector($1, s.c%d::pg_catalog.text)", text_col + 1);
	for (int f = 0; f < n_fields; f++)
		appendStringInfo(&sql, ", pg_catalog.lower(pg_catalog.btrim(s.c%d::pg_catalog.text))",
						 fields[f].column + 1);
	appendStringInfo(&sql, " FROM (%s\n) AS s(", query);
	for (int i = 0; i < desc->natts; i++)
		appendStringInfo(&sql, "%sc%d", i ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');

	/* regconfigin resolves the name now: an unknown configuration is 42704 */
	args[0] = DirectFunctionCall1(regconfigin, CStringGetDatum(config));
	plan = SPI_prepare(sql.data, has_text && !is_tsvector ? 1 : 0, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare catalog query: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	batch_cxt = AllocSetContextCreate(r->cxt, "fashionrec catalog batch", ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&token);

	for (;;)
	{
		MemoryContext old;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batch_cxt);
		for (uint64 row = 0; row < SPI_processed; row++)
		{
			HeapTuple	tup = SPI_tuptable->vals[row];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		d = SPI_getbinval(tup, td, 1, &isnull);
			int			col = 2;

			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the catalog source has a row with a NULL item id"),
						 errhint("Filter them out in the source query (WHERE item_id IS NOT NULL).")));
			MemoryContextSwitchTo(r->cxt);
			reader_new_row(r, DatumGetInt64(d));
			MemoryContextSwitchTo(batch_cxt);

			if (has_text)
			{
				d = SPI_getbinval(tup, td, col++, &isnull);
				if (!isnull)
				{
					TSVector	tsv = DatumGetTSVector(d);
					WordEntry  *we = ARRPTR(tsv);
					char	   *lexemes = STRPTR(tsv);

					MemoryContextSwitchTo(r->cxt);
					for (int32 i = 0; i < tsv->size; i++)
					{
						int			npos = POSDATALEN(tsv, &we[i]);

						reader_add(r, reader_term(r, lexemes + we[i].pos, we[i].len, false),
								   npos > 0 ? npos : 1);
					}
					MemoryContextSwitchTo(batch_cxt);
				}
			}
			for (int f = 0; f < n_fields; f++)
			{
				char	   *value;

				d = SPI_getbinval(tup, td, col++, &isnull);
				if (isnull || fields[f].weight == 0)
					continue;
				value = TextDatumGetCString(d);
				if (*value == '\0')
					continue;
				resetStringInfo(&token);
				appendStringInfo(&token, "%s=%s", fields[f].name, value);
				MemoryContextSwitchTo(r->cxt);
				reader_add(r, reader_term(r, token.data, token.len, true), fields[f].weight);
				MemoryContextSwitchTo(batch_cxt);
			}
		}
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(batch_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	MemoryContextDelete(batch_cxt);
}

static void *
content_read_items(const char *source, const void *params, bool attributes_algo,
				   int64 **item_ids, int32 *n_items)
{
	const ContentParams *p = params;
	MemoryContext caller = CurrentMemoryContext;
	ContentItems *items = palloc0(sizeof(ContentItems));
	Reader		r = {0};
	char	   *query = fr_source_sql(source);
	TupleDesc	desc;
	Oid			idtype;
	int			text_col = -1;
	Field	   *fields;
	int			n_fields = 0;
	FrTfidfOptions opt;

	/* parameter mistakes before reading a large catalog, not after */
	content_options(p, &opt);
	items->terms = fr_terms_new();
	items->is_attributes_algo = attributes_algo;
	r.cxt = caller;
	r.items = items;

	SPI_connect();
	desc = fr_source_describe(query);
	MemoryContextSwitchTo(caller);
	desc = CreateTupleDescCopy(desc);
	fields = palloc0(sizeof(Field) * Max(desc->natts, 1));

	if (desc->natts < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the catalog source has %d column, at least 2 are needed", desc->natts),
				 errhint(attributes_algo ? "Return (item_id, attribute, attribute, ...)."
						 : "Return (item_id, text) or (item_id, tsvector).")));
	idtype = TupleDescAttr(desc, 0)->atttypid;
	if (idtype != INT2OID && idtype != INT4OID && idtype != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("item ids (the first column) must be integers, got %s", format_type_be(idtype)),
				 errhint("Cast them in the source query, or map text keys to bigint ids first.")));

	if (attributes_algo)
	{
		for (int i = 1; i < desc->natts; i++)
		{
			if (TupleDescAttr(desc, i)->attisdropped)
				continue;
			fields[n_fields].name = pstrdup(NameStr(TupleDescAttr(desc, i)->attname));
			fields[n_fields].column = i;
			fields[n_fields].weight = 1.0;
			n_fields++;
		}
	}
	else
	{
		Oid			t;

		text_col = p->text_column ? column_by_name(desc, p->text_column, "text") : 1;
		if (text_col == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the text column cannot be the item id column")));
		t = TupleDescAttr(desc, text_col)->atttypid;
		if (t != TSVECTOROID && !is_text_type(t))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the text column \"%s\" must be text or tsvector, got %s",
							NameStr(TupleDescAttr(desc, text_col)->attname), format_type_be(t)),
					 errhint("Name another column with \"text_column\", or cast it in the source query.")));
		if (p->attribute_columns)
		{
			ListCell   *lc;

			foreach(lc, parse_names(p->attribute_columns))
			{
				int			c = column_by_name(desc, lfirst(lc), "attribute");

				if (c == 0 || c == text_col)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("attribute column \"%s\" is the %s column", (char *) lfirst(lc),
									c == 0 ? "item id" : "text")));
				fields[n_fields].name = lfirst(lc);
				fields[n_fields].column = c;
				fields[n_fields].weight = 1.0;
				n_fields++;
			}
		}
	}
	for (int a = 0; a < n_fields; a++)
		for (int b = 0; b < a; b++)
			if (strcmp(fields[a].name, fields[b].name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("attribute column \"%s\" appears more than once", fields[a].name),
						 errhint("Give every attribute column its own name (AS alias) in the source query.")));
	apply_weights(p->weights, fields, n_fields);

	read_catalog(query, desc, text_col, p->config ? p->config : "english", fields, n_fields, &r);
	SPI_finish();
	MemoryContextSwitchTo(caller);

	reader_finish(&r);
	*item_ids = items->item_ids;
	*n_items = items->n_items;
	return items;
}

static void *
tfidf_read_items(const char *source, const void *params, int64 **item_ids, int32 *n_items)
{
	return content_read_items(source, params, false, item_ids, n_items);
}

static void *
attributes_read_items(const char *source, const void *params, int64 **item_ids, int32 *n_items)
{
	return content_read_items(source, params, true, item_ids, n_items);
}

/* ---- training ---------------------------------------------------------------------- */

typedef struct FeatureValue
{
	int32		feature;
	double		tf;
	double		idf;
} FeatureValue;

static int
feature_value_cmp(const void *a, const void *b)
{
	int32		x = ((const FeatureValue *) a)->feature;
	int32		y = ((const FeatureValue *) b)->feature;

	return (x > y) - (x < y);
}

static void
content_train(FrTrainJob *job)
{
	ContentItems *items = job->items;
	FrTermTable *t = items->terms;
	const FrCsr *docs = &items->docs;
	FrTfidfOptions opt;
	double		lo,
				hi;
	int32	   *feature;
	int32		n_features;
	FrCsr		out = {0};
	FeatureValue *row;
	double	   *tf;
	double	   *idf;
	double	   *term_idf;
	int32		longest = 0;
	int32		empty = 0;
	void	   *vocab;
	size_t		vocab_size;

	content_options(job->params, &opt);

	/* document frequencies over items (rows of one item already merged) */
	for (int32 i = 0; i < docs->nrows; i++)
	{
		longest = Max(longest, (int32) (docs->indptr[i + 1] - docs->indptr[i]));
		for (int64 p = docs->indptr[i]; p < docs->indptr[i + 1]; p++)
		{
			t->df[docs->indices[p]]++;
			t->tf[docs->indices[p]] += docs->values[p];
		}
	}
	if (t->n_terms == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the catalog has no terms in %d items", items->n_items),
				 errhint(items->is_attributes_algo ? "Every attribute value is NULL or empty."
						 : "Every text is NULL or empty, or only stop words for the text search configuration.")));
	if (!fr_tfidf_df_bounds(&opt, items->n_items, &lo, &hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_df corresponds to fewer items than min_df"),
				 errdetail("With %d items, min_df asks for at least %g and max_df allows at most %g.",
						   items->n_items, lo, hi)));
	feature = palloc_extended(mul_size(t->n_terms, sizeof(int32)), MCXT_ALLOC_HUGE);
	n_features = fr_tfidf_select(t, items->n_items, &opt, feature);
	if (n_features == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no terms remain after min_df and max_df"),
				 errdetail("%d distinct terms in %d items; min_df asks for at least %g items, max_df allows at most %g.",
						   t->n_terms, items->n_items, lo, hi),
				 errhint("Lower min_df or raise max_df.")));
	fr_check_memory(fr_csr_bytes(docs->nrows, docs->nnz) * 2, "storing the item vectors");

	/* the item rows: kept terms, weighted, unit length */
	out.nrows = docs->nrows;
	out.ncols = n_features;
	out.indptr = palloc_extended(mul_size((Size) docs->nrows + 1, sizeof(int64)), MCXT_ALLOC_HUGE);
	out.indices = palloc_extended(mul_size(Max(docs->nnz, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	out.values = palloc_extended(mul_size(Max(docs->nnz, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	row = palloc(sizeof(FeatureValue) * Max(longest, 1));
	tf = palloc(sizeof(double) * Max(longest, 1));
	idf = palloc(sizeof(double) * Max(longest, 1));
	term_idf = palloc_extended(mul_size(t->n_terms, sizeof(double)), MCXT_ALLOC_HUGE);
	for (int32 term = 0; term < t->n_terms; term++)
		term_idf[term] = fr_tfidf_idf(t->df[term], items->n_items, &opt);
	out.indptr[0] = 0;
	for (int32 i = 0; i < docs->nrows; i++)
	{
		int32		n = 0;
		int64		base = out.nnz;

		for (int64 p = docs->indptr[i]; p < docs->indptr[i + 1]; p++)
		{
			int32		term = docs->indices[p];

			if (feature[term] < 0)
				continue;
			row[n].feature = feature[term];
			row[n].tf = items->is_attribute[term] ? docs->values[p]
				: fr_tfidf_tf(docs->values[p], &opt);
			row[n].idf = term_idf[term];
			n++;
		}
		qsort(row, n, sizeof(FeatureValue), feature_value_cmp);
		for (int32 k = 0; k < n; k++)
		{
			out.indices[base + k] = row[k].feature;
			tf[k] = row[k].tf;
			idf[k] = row[k].idf;
		}
		fr_tfidf_weigh(n, tf, idf, &opt, out.values + base);
		out.nnz += n;
		out.indptr[i + 1] = out.nnz;
		empty += (n == 0);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	vocab = fr_vocab_build(t, feature, n_features, items->n_items, &opt, &vocab_size);
	fr_artifact_put(job->model_id, "content_indptr", FR_I64, (int64) out.nrows + 1, 1, out.indptr);
	fr_artifact_put(job->model_id, "content_indices", FR_I32, out.nnz, 1, out.indices);
	fr_artifact_put(job->model_id, "content_values", FR_F32, out.nnz, 1, out.values);
	fr_artifact_put(job->model_id, "vocabulary", FR_BYTES, (int64) vocab_size, 1, vocab);

	fr_info_add_int(job, "catalog_rows", items->rows);
	fr_info_add_int(job, "features", n_features);
	fr_info_add_int(job, "terms_seen", t->n_terms);
	fr_info_add_real(job, "mean_features_per_item",
					 items->n_items > 0 ? (double) out.nnz / items->n_items : 0.0);
	fr_info_add_int(job, "items_without_features", empty);
	fr_info_add_int(job, "merged_rows", items->duplicate_rows);
}

/* ---- serving -------------------------------------------------------------------------- */

static void *
content_load(FrModel *model)
{
	FrContentState *st = palloc0(sizeof(FrContentState));
	FrCsr	   *rows = &st->rows;
	int64		n_ptr,
				n_idx,
				n_val;
	int32		max_feature = -1;

	rows->indptr = fr_model_artifact(model, "content_indptr", FR_I64, &n_ptr, NULL, false);
	rows->indices = fr_model_artifact(model, "content_indices", FR_I32, &n_idx, NULL, false);
	rows->values = fr_model_artifact(model, "content_values", FR_F32, &n_val, NULL, false);
	rows->nrows = model->n_items;
	rows->nnz = n_idx;
	if (fr_model_attaching(model))
	{
		/* checked by the loading backend; the feature count is the index's */
		fr_content_postings(model, st);
		return st;
	}
	fr_check_csr(model, "content", rows->indptr, n_ptr, model->n_items, rows->indices, n_idx,
				 FR_SVEC_MAX_DIM);
	fr_check_shape(model, "content_values", n_val, 1, n_idx, 1);
	fr_check_finite(model, "content_values", rows->values, n_val);
	for (int64 p = 0; p < n_idx; p++)
		max_feature = Max(max_feature, rows->indices[p]);
	/* every feature belongs to some item: a feature index beyond nnz is damage */
	if (max_feature >= n_idx)
		fr_artifact_corrupt(model, "content_indices",
							"It names feature %d, but its %lld entries can hold at most %lld distinct features.",
							max_feature, (long long) n_idx, (long long) n_idx);
	rows->ncols = max_feature + 1;
	fr_content_postings(model, st);
	return st;
}

/*
 * The inverted index of st->rows — similar_items touches only items sharing
 * a term — built once per server: attached, it is the mapping's, and the
 * feature count is its row count.
 */
void
fr_content_postings(FrModel *model, FrContentState *st)
{
	FrCsr	   *p = &st->postings;
	int64		n_ptr;

	if (fr_model_attaching(model))
	{
		p->indptr = fr_model_derived(model, "postings_indptr", &n_ptr, NULL);
		p->indices = fr_model_derived(model, "postings_indices", &p->nnz, NULL);
		p->values = fr_model_derived(model, "postings_values", NULL, NULL);
		p->nrows = (int32) (n_ptr - 1);
		p->ncols = st->rows.nrows;
		st->rows.ncols = p->nrows;
		st->n_features = p->nrows;
		return;
	}
	fr_csr_transpose(&st->rows, p);
	st->n_features = st->rows.ncols;
	fr_model_keep(model, "postings_indptr", FR_I64, (int64) p->nrows + 1, 1, p->indptr);
	fr_model_keep(model, "postings_indices", FR_I32, p->nnz, 1, p->indices);
	fr_model_keep(model, "postings_values", FR_F32, p->nnz, 1, p->values);
}

void
fr_content_score_items(const FrModel *model, const int32 *items,
					const float *weights, int n, float *scores)
{
	const FrContentState *st = model->state;
	int32	   *features = palloc(sizeof(int32) * Max(st->n_features, 1));
	float	   *values = palloc(sizeof(float) * Max(st->n_features, 1));
	int32		m = fr_svec_profile(&st->rows, items, weights, n, st->n_features, features, values);

	fr_svec_score_postings(&st->postings, m, features, values, model->n_items, scores);
	pfree(features);
	pfree(values);
}

/* A user's profile: the mean of their training items, each counted once. */
void
fr_content_score_user(const FrModel *model, int32 user, float *scores)
{
	int64		lo = model->seen_indptr[user];
	int64		hi = model->seen_indptr[user + 1];

	fr_content_score_items(model, model->seen_indices + lo, NULL, (int) (hi - lo), scores);
}

void
fr_content_score_similar(const FrModel *model, int32 item, float *scores)
{
	const FrContentState *st = model->state;
	int64		lo = st->rows.indptr[item];

	/* rows are unit length: the dot product is the cosine */
	fr_svec_score_postings(&st->postings, (int32) (st->rows.indptr[item + 1] - lo),
						   st->rows.indices + lo, st->rows.values + lo, model->n_items, scores);
}

/* the cosine of the user's profile and the item; 0, not NaN, when they share nothing */
float
fr_content_predict(const FrModel *model, int32 user, int32 item)
{
	float	   *scores = palloc_extended(mul_size(model->n_items, sizeof(float)), MCXT_ALLOC_HUGE);
	float		s;

	fr_content_score_user(model, user, scores);
	s = isnan(scores[item]) ? 0.0f : scores[item];
	pfree(scores);
	return s;
}

const FrAlgorithm fr_tfidf_algorithm = {
	.name = "tfidf",
	.summary = "content: TF-IDF over product text (PostgreSQL text search), optional attribute columns; cosine similarity",
	.param_specs = tfidf_specs,
	.params_size = sizeof(ContentParams),
	.param_defaults = &content_defaults,
	.read_items = tfidf_read_items,
	.train = content_train,
	.load = content_load,
	.score_user = fr_content_score_user,
	.score_items = fr_content_score_items,
	.score_similar = fr_content_score_similar,
	.predict = fr_content_predict,
};

const FrAlgorithm fr_attributes_algorithm = {
	.name = "attributes",
	.summary = "content: structured attributes as weighted \"column=value\" terms with idf; cosine similarity",
	.param_specs = attributes_specs,
	.params_size = sizeof(ContentParams),
	.param_defaults = &content_defaults,
	.read_items = attributes_read_items,
	.train = content_train,
	.load = content_load,
	.score_user = fr_content_score_user,
	.score_items = fr_content_score_items,
	.score_similar = fr_content_score_similar,
	.predict = fr_content_predict,
};
