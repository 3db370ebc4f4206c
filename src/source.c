/*
 * source.c — interactions from a table, a view or a SELECT, into CSR.
 *
 * The source is run through SPI into a receiver that appends each row to
 * the COO arrays as the executor produces it, under the caller's own
 * privileges and read-only (a data-modifying statement is refused), with
 * the id, weight and time columns cast by PostgreSQL itself so that any
 * integer id type, any numeric weight and any date/time type work.  Ids are
 * mapped to dense indices in ascending id order, which lets the serving path
 * find an id by binary search in the stored id array with no hash table.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/plancache.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "fashionrec.h"
#include "kernel.h"
#include "progress.h"
#include "source.h"

const FrParamSpec fr_source_param_specs[] = {
	{"user_column", FR_PARAM_TEXT, offsetof(FrSourceParams, user_column)},
	{"item_column", FR_PARAM_TEXT, offsetof(FrSourceParams, item_column)},
	{"weight_column", FR_PARAM_TEXT, offsetof(FrSourceParams, weight_column)},
	{"time_column", FR_PARAM_TEXT, offsetof(FrSourceParams, time_column)},
	{"context_column", FR_PARAM_TEXT, offsetof(FrSourceParams, context_column)},
	{"interactions", FR_PARAM_TEXT, offsetof(FrSourceParams, interactions)},
	{"min_user_interactions", FR_PARAM_INT, offsetof(FrSourceParams, min_user_interactions), 1, 1000000},
	{"min_item_interactions", FR_PARAM_INT, offsetof(FrSourceParams, min_item_interactions), 1, 1000000},
	{NULL}
};

const FrSourceParams fr_source_param_defaults = {
	.min_user_interactions = 1,
	.min_item_interactions = 1,
};

/* A bare name (possibly schema-qualified) rather than a query? */
static bool
source_is_query(const char *source)
{
	static const char *const words[] = {"select", "with", "values", "table", "("};
	const char *p = source;

	while (*p && isspace((unsigned char) *p))
		p++;
	for (int i = 0; i < lengthof(words); i++)
	{
		size_t		len = strlen(words[i]);

		if (pg_strncasecmp(p, words[i], len) == 0 &&
			(words[i][0] == '(' || p[len] == '\0' || !isalnum((unsigned char) p[len]) ))
			return true;
	}
	return false;
}

/*
 * The source as a query text: a table or view name becomes SELECT * FROM it
 * (resolved with search_path, 42P01 if absent), a query is kept as is.
 */
char *
fr_source_sql(const char *source)
{
	Oid			relid;

	if (source == NULL || *source == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be empty"),
				 errhint("Give a table or view name, or a SELECT.")));
	if (source_is_query(source))
		return pstrdup(source);

	/* regclassin resolves the name with search_path and errors 42P01 if absent */
	relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(source)));
	return psprintf("SELECT * FROM %s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid)));
}

static int
find_column(TupleDesc desc, const char *name, int position, bool required, const char *role)
{
	if (name)
	{
		StringInfoData cols;

		for (int i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
				return i;
		initStringInfo(&cols);
		for (int i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
								 quote_identifier(NameStr(TupleDescAttr(desc, i)->attname)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("source has no column \"%s\" for the %s", name, role),
				 errhint("The source's columns are: %s.", cols.data)));
	}
	if (position < desc->natts)
		return position;
	if (required)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source has %d columns, the %s is expected in column %d",
						desc->natts, role, position + 1),
				 errhint("Return (user, item[, weight][, time]) or name the columns in params, e.g. '{\"user_column\": \"customer_id\"}'.")));
	return -1;
}

static bool
is_integer_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

static bool
is_number_type(Oid t)
{
	return is_integer_type(t) || t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID;
}

static bool
is_time_type(Oid t)
{
	return t == TIMESTAMPTZOID || t == TIMESTAMPOID || t == DATEOID;
}

/*
 * The result columns of a source query, after checking it is one read-only
 * query: training must never change the data it reads.  Inside SPI.
 */
TupleDesc
fr_source_describe(const char *query)
{
	SPIPlanPtr	plan;
	List	   *plansources;
	Portal		portal;
	TupleDesc	desc;
	ListCell   *lc;

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare source query: %s", SPI_result_code_string(SPI_result));
	plansources = SPI_plan_get_plan_sources(plan);
	if (list_length(plansources) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a single query")));
	foreach(lc, ((CachedPlanSource *) linitial(plansources))->query_list)
	{
		Query	   *q = lfirst_node(Query, lc);

		if (q->commandType != CMD_SELECT || q->hasModifyingCTE || q->utilityStmt != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source must be a read-only query returning rows"),
					 errhint("Give a table or view name, or a SELECT (no INSERT, UPDATE, DELETE or data-modifying WITH).")));
	}
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	desc = CreateTupleDescCopy(portal->tupDesc);
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	return desc;
}

/*
 * Wrap the source in a query returning (int8, int8, float8, float8 epoch),
 * with NULL for absent weight/time columns.
 */
static char *
typed_query(const char *query, const FrSourceParams *params, FrSourceStats *stats)
{
	TupleDesc	desc;
	int			ucol,
				icol,
				wcol,
				tcol;
	Oid			utype,
				itype;
	StringInfoData buf;

	desc = fr_source_describe(query);

	ucol = find_column(desc, params->user_column, 0, true, "user id");
	icol = find_column(desc, params->item_column, 1, true, "item id");
	utype = TupleDescAttr(desc, ucol)->atttypid;
	itype = TupleDescAttr(desc, icol)->atttypid;
	if (!is_integer_type(utype) || !is_integer_type(itype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("user and item ids must be integers, got %s and %s",
						format_type_be(utype), format_type_be(itype)),
				 errhint("Cast them in the source query, or map text keys to bigint ids first.")));

	/* weight and time: named, or by position when the column has a fitting type */
	wcol = find_column(desc, params->weight_column, 2, params->weight_column != NULL, "weight");
	if (wcol >= 0 && !is_number_type(TupleDescAttr(desc, wcol)->atttypid))
	{
		if (params->weight_column)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("weight column \"%s\" must be numeric, got %s", params->weight_column,
							format_type_be(TupleDescAttr(desc, wcol)->atttypid))));
		wcol = -1;
	}
	tcol = find_column(desc, params->time_column, wcol >= 0 ? 3 : 2,
					   params->time_column != NULL, "time");
	if (tcol >= 0 && (tcol == wcol || tcol == ucol || tcol == icol))
		tcol = params->time_column ? tcol : -1;
	if (tcol >= 0 && !is_time_type(TupleDescAttr(desc, tcol)->atttypid) &&
		!is_number_type(TupleDescAttr(desc, tcol)->atttypid))
	{
		if (params->time_column)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("time column \"%s\" must be a date, timestamp or epoch number, got %s",
							params->time_column,
							format_type_be(TupleDescAttr(desc, tcol)->atttypid))));
		tcol = -1;
	}

	stats->has_weight = wcol >= 0;
	stats->has_time = tcol >= 0;

	/*
	 * Columns are renamed c1..cN by position in the alias list, so unnamed
	 * ("?column?") and repeated names in the source do not matter.
	 */
	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT s.c%d::pg_catalog.int8 AS user_id, s.c%d::pg_catalog.int8 AS item_id, ",
					 ucol + 1, icol + 1);
	if (wcol >= 0)
		appendStringInfo(&buf, "s.c%d::pg_catalog.float8 AS weight, ", wcol + 1);
	else
		appendStringInfoString(&buf, "1::pg_catalog.float8 AS weight, ");
	if (tcol >= 0 && is_time_type(TupleDescAttr(desc, tcol)->atttypid))
		appendStringInfo(&buf, "pg_catalog.date_part('epoch', s.c%d)::pg_catalog.float8", tcol + 1);
	else if (tcol >= 0)
		appendStringInfo(&buf, "s.c%d::pg_catalog.float8", tcol + 1);
	else
		appendStringInfoString(&buf, "NULL::pg_catalog.float8");
	appendStringInfoString(&buf, " AS event_epoch");
	if (params->context_column)
		appendStringInfo(&buf, ", s.c%d::pg_catalog.text AS context",
						 find_column(desc, params->context_column, 0, true, "context") + 1);
	appendStringInfo(&buf, " FROM (%s\n) AS s(", query);
	for (int i = 0; i < desc->natts; i++)
		appendStringInfo(&buf, "%sc%d", i ? ", " : "", i + 1);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

typedef struct Coo
{
	int64		n;
	int64		cap;
	int64	   *users;
	int64	   *items;
	float	   *weights;
	double	   *times;
} Coo;

static void
coo_grow(Coo *coo, bool with_times)
{
	int64		cap = coo->cap ? coo->cap * 2 : 1024;
	size_t		bytes = mul_size(cap, 2 * sizeof(int64) + sizeof(float) +
								 (with_times ? sizeof(double) : 0));

	fr_check_memory(bytes, "reading the source");
	coo->users = fr_grow_huge(coo->users, cap * sizeof(int64));
	coo->items = fr_grow_huge(coo->items, cap * sizeof(int64));
	coo->weights = fr_grow_huge(coo->weights, cap * sizeof(float));
	if (with_times)
		coo->times = fr_grow_huge(coo->times, cap * sizeof(double));
	coo->cap = cap;
}

/* Drop rows whose user or item has fewer than the minimum rows (one pass). */
static void
apply_min_counts(Coo *coo, const FrSourceParams *params, FrSourceStats *stats)
{
	int64		nu,
				ni;
	int32	   *urow,
			   *irow;
	int32	   *ucount,
			   *icount;
	int64		kept = 0;

	if (params->min_user_interactions <= 1 && params->min_item_interactions <= 1)
		return;
	urow = palloc_extended(mul_size(Max(coo->n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	irow = palloc_extended(mul_size(Max(coo->n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	pfree(fr_dense_ids(coo->users, coo->n, urow, &nu));
	pfree(fr_dense_ids(coo->items, coo->n, irow, &ni));
	ucount = palloc_extended(mul_size(Max(nu, 1), sizeof(int32)), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	icount = palloc_extended(mul_size(Max(ni, 1), sizeof(int32)), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 r = 0; r < coo->n; r++)
	{
		ucount[urow[r]]++;
		icount[irow[r]]++;
	}
	for (int64 u = 0; u < nu; u++)
		stats->dropped_users += ucount[u] < params->min_user_interactions;
	for (int64 i = 0; i < ni; i++)
		stats->dropped_items += icount[i] < params->min_item_interactions;
	for (int64 r = 0; r < coo->n; r++)
	{
		if (ucount[urow[r]] < params->min_user_interactions ||
			icount[irow[r]] < params->min_item_interactions)
			continue;
		coo->users[kept] = coo->users[r];
		coo->items[kept] = coo->items[r];
		coo->weights[kept] = coo->weights[r];
		if (coo->times)
			coo->times[kept] = coo->times[r];
		kept++;
	}
	coo->n = kept;
	pfree(urow);
	pfree(irow);
	pfree(ucount);
	pfree(icount);
}

/*
 * Where the source's rows go as the executor produces them: straight into
 * the COO arrays, read from the slot as typed Datums.  No tuple is copied
 * into an SPI tuple table or a tuplestore on the way, which is what made
 * reading cost a multiple of what COPY of the same query costs.
 */
typedef struct SourceReceiver
{
	DestReceiver pub;
	Coo		   *coo;
	FrSourceStats *stats;
	MemoryContext caller;		/* where the COO arrays grow */
	double		future;			/* a time after this is "in the future" */
} SourceReceiver;

/* rows between progress reports and interrupt checks */
#define REPORT_ROWS 65536

static bool
source_receive(TupleTableSlot *slot, DestReceiver *self)
{
	SourceReceiver *r = (SourceReceiver *) self;
	FrSourceStats *stats = r->stats;
	Coo		   *coo = r->coo;
	double		weight = 1.0;

	slot_getsomeattrs(slot, 4);
	if ((++stats->rows & (REPORT_ROWS - 1)) == 0)
	{
		fr_training_rows(stats->rows);
		CHECK_FOR_INTERRUPTS();
	}
	if (slot->tts_isnull[0] || slot->tts_isnull[1])
	{
		stats->null_ids++;
		return true;
	}
	if (stats->has_weight)
	{
		if (slot->tts_isnull[2])
		{
			stats->null_weights++;
			return true;
		}
		weight = DatumGetFloat8(slot->tts_values[2]);
		if (!isfinite(weight) || fabs(weight) > FLT_MAX)
		{
			stats->nonfinite_weights++;
			return true;
		}
		if (weight < 0)
			stats->negative_weights++;
	}
	if (coo->n == coo->cap)
	{
		MemoryContext old = MemoryContextSwitchTo(r->caller);

		coo_grow(coo, stats->has_time);
		MemoryContextSwitchTo(old);
	}
	coo->users[coo->n] = DatumGetInt64(slot->tts_values[0]);
	coo->items[coo->n] = DatumGetInt64(slot->tts_values[1]);
	coo->weights[coo->n] = (float) weight;
	if (stats->has_time)
	{
		double		epoch = slot->tts_isnull[3] ? 0.0 : DatumGetFloat8(slot->tts_values[3]);

		if (slot->tts_isnull[3])
			stats->null_times++;
		else if (epoch > r->future)
			stats->future_times++;
		coo->times[coo->n] = epoch;
	}
	coo->n++;
	return true;
}

static void
source_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
source_shutdown(DestReceiver *self)
{
}

static void
source_destroy(DestReceiver *self)
{
}

/* Run the typed query read-only into coo; inside SPI. */
static void
read_rows(const char *query, Coo *coo, FrSourceStats *stats, MemoryContext caller)
{
	SourceReceiver r = {
		.pub = {.receiveSlot = source_receive, .rStartup = source_startup,
		.rShutdown = source_shutdown, .rDestroy = source_destroy, .mydest = DestNone},
		.coo = coo, .stats = stats, .caller = caller,
		.future = (double) (GetCurrentTimestamp() / USECS_PER_SEC) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY + 60.0
	};
#if PG_VERSION_NUM >= 140000
	SPIExecuteOptions options = {.read_only = true, .dest = &r.pub};

	/* SPI says SPI_OK_UTILITY for a SELECT whose rows go to a DestNone receiver */
	if (SPI_execute_extended(query, &options) < 0)
		elog(ERROR, "could not read the source");
#else
	/* before PostgreSQL 14 SPI takes no receiver: a cursor, fetched in batches */
	Portal		portal = SPI_cursor_open_with_args(NULL, query, 0, NULL, NULL, NULL, true, 0);

	for (;;)
	{
		TupleTableSlot *slot;

		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		slot = MakeSingleTupleTableSlot(SPI_tuptable->tupdesc, &TTSOpsHeapTuple);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			ExecStoreHeapTuple(SPI_tuptable->vals[i], slot, false);
			source_receive(slot, &r.pub);
		}
		ExecDropSingleTupleTableSlot(slot);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
#endif
	fr_training_rows(stats->rows);
}

/*
 * Losing a server the source reads through a foreign table (postgres_fdw
 * reports class 08, whatever the remote said) otherwise names only the
 * remote command: say that it happened while training read its source, and
 * that retrying is all there is to do.  Other errors keep their own words.
 */
static void
source_read_error_context(void *arg)
{
	const FrSourceStats *stats = arg;

	if (ERRCODE_TO_CATEGORY(geterrcode()) != ERRCODE_CONNECTION_EXCEPTION)
		return;
	errcontext("reading the training source, %lld rows read", (long long) stats->rows);
	errhint("A server the source reads from (through a foreign table) went away or cannot be reached; the training stored nothing. Train again once it is back.");
}

void
fr_source_read(const char *source, const FrSourceParams *params,
			   FrTrainData *data, FrSourceStats *stats,
			   const int64 *item_universe, int32 n_universe)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *query = fr_source_sql(source);
	Coo			coo = {0};
	double		started = fr_now();
	int64		n;
	int32	   *rows;
	int32	   *cols;
	int64		nusers,
				nitems;
	ErrorContextCallback errcallback;

	memset(stats, 0, sizeof(*stats));
	memset(data, 0, sizeof(*data));

	errcallback.callback = source_read_error_context;
	errcallback.arg = stats;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	SPI_connect();
	query = typed_query(query, params, stats);
	read_rows(query, &coo, stats, caller);
	SPI_finish();
	error_context_stack = errcallback.previous;
	elog(DEBUG1, "source: %lld rows read in %.2f s", (long long) stats->rows, fr_now() - started);

	apply_min_counts(&coo, params, stats);

	if (item_universe)
	{
		/* the items are given (a catalog): interactions with others are dropped */
		int64		kept = 0;

		for (int64 r = 0; r < coo.n; r++)
		{
			if ((int32) fr_find_id(item_universe, n_universe, coo.items[r]) < 0)
			{
				stats->outside_items++;
				continue;
			}
			coo.users[kept] = coo.users[r];
			coo.items[kept] = coo.items[r];
			coo.weights[kept] = coo.weights[r];
			if (coo.times)
				coo.times[kept] = coo.times[r];
			kept++;
		}
		coo.n = kept;
	}

	/* dense indices in ascending id order */
	n = coo.n;
	fr_check_memory(mul_size(Max(n, 1), 2 * sizeof(int32) + 24), "indexing the users and items");
	rows = palloc_extended(mul_size(Max(n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	cols = palloc_extended(mul_size(Max(n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	data->user_ids = fr_dense_ids(coo.users, n, rows, &nusers);
	if (item_universe)
	{
		nitems = n_universe;
		data->item_ids = palloc_extended(mul_size(Max(nitems, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
		memcpy(data->item_ids, item_universe, sizeof(int64) * nitems);
		for (int64 r = 0; r < n; r++)
			cols[r] = (int32) fr_find_id(item_universe, n_universe, coo.items[r]);
	}
	else
		data->item_ids = fr_dense_ids(coo.items, n, cols, &nitems);
	if (nusers > PG_INT32_MAX - 1 || nitems > PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct users or items")));
	data->n_users = (int32) nusers;
	data->n_items = (int32) nitems;
	data->rows_read = stats->rows;
	if (coo.cap > 0)
	{
		pfree(coo.users);
		pfree(coo.items);
	}

	fr_check_memory(mul_size(fr_csr_bytes(data->n_users, n), 3), "building the interaction matrix");
	fr_csr_from_coo(&data->ui, data->n_users, data->n_items, n, rows, cols,
					coo.weights, coo.times, coo.times ? &data->times : NULL);
	pfree(rows);
	pfree(cols);
	if (coo.weights)
		pfree(coo.weights);
	if (coo.times)
		pfree(coo.times);
	fr_csr_transpose(&data->ui, &data->iu);
	elog(DEBUG1, "source: %lld rows read, mapped and made a matrix in %.2f s",
		 (long long) stats->rows, fr_now() - started);

	stats->duplicate_pairs = n - data->ui.nnz;
	data->min_weight = data->max_weight = data->ui.nnz ? data->ui.values[0] : 0;
	for (int64 j = 0; j < data->ui.nnz; j++)
	{
		data->min_weight = Min(data->min_weight, data->ui.values[j]);
		data->max_weight = Max(data->max_weight, data->ui.values[j]);
		if (data->times && data->times[j] > data->max_time)
			data->max_time = data->times[j];
	}
}

/* FNV-1a over a byte range, continuing from h. */
static uint64
fnv1a(uint64 h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
	{
		h ^= b[i];
		h *= UINT64CONST(0x100000001b3);
	}
	return h;
}

uint64
fr_data_checksum(const FrTrainData *data)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);

	h = fnv1a(h, data->user_ids, sizeof(int64) * data->n_users);
	h = fnv1a(h, data->item_ids, sizeof(int64) * data->n_items);
	h = fnv1a(h, data->ui.indptr, sizeof(int64) * ((size_t) data->n_users + 1));
	h = fnv1a(h, data->ui.indices, sizeof(int32) * data->ui.nnz);
	h = fnv1a(h, data->ui.values, sizeof(float) * data->ui.nnz);
	return h;
}

char *
fr_source_typed_query(const char *source, const FrSourceParams *params)
{
	MemoryContext caller = CurrentMemoryContext;
	FrSourceStats stats;
	char	   *query = fr_source_sql(source);

	SPI_connect();
	query = MemoryContextStrdup(caller, typed_query(query, params, &stats));
	SPI_finish();
	return query;
}

/*
 * fashionrec.source_query(source text, params jsonb) returns text: the query
 * train() reads, with columns (user_id bigint, item_id bigint, weight float8,
 * event_epoch float8), for SQL code that needs the same view of a source.
 */
PG_FUNCTION_INFO_V1(fashionrec_source_query);
Datum
fashionrec_source_query(PG_FUNCTION_ARGS)
{
	char	   *source;
	Jsonb	   *params = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	FrSourceParams source_params = fr_source_param_defaults;

	/* not STRICT (NULL params mean the defaults), so a NULL source is checked here */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	fr_params_parse(params, "source", fr_source_param_specs, &source_params, NULL, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(fr_source_typed_query(source, &source_params)));
}
