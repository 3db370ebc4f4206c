/*
 * features_store.c — the writers of the feature store (src/sql/85_features.sql).
 *
 * No role writes fashionrec.feature_set, item_feature, feature_error or
 * feature_queue directly (src/catalog.c says why).  What the feature store
 * stores is computed from a set's source, which must be read with its
 * reader's rights, so the writers here are split in two halves:
 *
 *   - the statements that read the source run as the caller, with
 *     search_path pinned to pg_catalog, pg_temp so that the caller cannot
 *     put a function or operator of their own in place of the built-ins the
 *     statements name; they are built by _feature_sql() from the set's row,
 *     never taken from the caller;
 *   - fixed statements store what they returned, as the tables' owner
 *     (fr_catalog_begin/end).
 *
 * A writer therefore stores only what the set's definition computes from its
 * source, so each one is safe to call directly.  Before reading a source,
 * every writer checks that the caller may run the set's author's source
 * (fashionrec._check_author(): an administrator or a pg_cron job must not
 * run a trainer's view with their own rights) and that the source's columns
 * still have the types the set was created with.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "arrays.h"
#include "catalog.h"
#include "fashionrec.h"
#include "feature_set.h"

/* ---- the caller's statements ------------------------------------------------ */

/* search_path pinned for statements that run as the caller */
static int
caller_begin(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

static void
caller_end(int nest)
{
	AtEOXact_GUC(true, nest);
}

/* ---- kept statements ----------------------------------------------------------
 *
 * The trigger runs a few fixed statements per product row; they are prepared
 * once per backend.  Their parameter types include svec's, whose OID changes
 * if the extension is dropped and created again in the session: then they
 * are prepared again.
 */
typedef enum PlanId
{
	P_LOAD,
	P_BUMP,
	P_QUEUE,
	P_TOMBSTONE,
	P_STORE,
	N_PLANS
} PlanId;

static SPIPlanPtr plans[N_PLANS];
static Oid	plans_svec = InvalidOid;

static Oid
svec_type(void)
{
	Oid			nsp = get_namespace_oid(FR_SCHEMA, false);
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum("svec"), ObjectIdGetDatum(nsp));

	if (!OidIsValid(typid))
		elog(ERROR, "type fashionrec.svec is missing");
	return typid;
}

static const char *const plan_sql[N_PLANS] = {
	/* P_LOAD: the set's row; the column lists of its params as positions in columns */
	"SELECT s.name, s.kind, s.source::pg_catalog.oid, s.id_column, s.columns,"
	"       ARRAY(SELECT pg_catalog.array_position(s.columns, t.c)"
	"               FROM pg_catalog.jsonb_array_elements_text(CASE WHEN pg_catalog.jsonb_typeof(s.params -> 'text_columns') = 'array'"
	"                                                        THEN s.params -> 'text_columns' END) WITH ORDINALITY t(c, o)"
	"              ORDER BY t.o),"
	"       ARRAY(SELECT pg_catalog.array_position(s.columns, a.c)"
	"               FROM pg_catalog.jsonb_array_elements_text(CASE WHEN pg_catalog.jsonb_typeof(s.params -> 'attribute_columns') = 'array'"
	"                                                        THEN s.params -> 'attribute_columns' END) WITH ORDINALITY a(c, o)"
	"              ORDER BY a.o),"
	"       ARRAY(SELECT COALESCE((s.params -> 'weights' ->> a.c)::pg_catalog.int4, 1)"
	"               FROM pg_catalog.jsonb_array_elements_text(CASE WHEN pg_catalog.jsonb_typeof(s.params -> 'attribute_columns') = 'array'"
	"                                                        THEN s.params -> 'attribute_columns' END) WITH ORDINALITY a(c, o)"
	"              ORDER BY a.o),"
	"       (s.params ->> 'config')::pg_catalog.regconfig::pg_catalog.oid,"
	"       s.dimension, s.vocabulary_version, s.rebuilt_at, s.realtime, s.created_by"
	"  FROM fashionrec.feature_set s WHERE s.id = $1",
	/* P_BUMP: the generation protocol (docs/features.md) */
	"UPDATE fashionrec.feature_set s SET generation = s.generation + 1 WHERE s.id = $1"
	" RETURNING s.generation, s.vocabulary_version, s.rebuilt_at, s.dimension",
	/* P_QUEUE */
	"INSERT INTO fashionrec.feature_queue AS q (feature_set, item_id, queued_at)"
	" SELECT DISTINCT $1, x.id, pg_catalog.now() FROM pg_catalog.unnest($2) AS x(id) WHERE x.id IS NOT NULL"
	" ON CONFLICT (feature_set, item_id) DO UPDATE SET queued_at = EXCLUDED.queued_at",
	/* P_TOMBSTONE: the items left the source */
	"WITH t AS ("
	"    UPDATE fashionrec.item_feature f"
	"       SET features = NULL, content_hash = NULL, terms = NULL, oov_terms = NULL,"
	"           generation = $3, computed_at = pg_catalog.now()"
	"     WHERE f.feature_set = $1 AND f.item_id = ANY ($2) AND f.content_hash IS NOT NULL)"
	" DELETE FROM fashionrec.feature_error e WHERE e.feature_set = $1 AND e.item_id = ANY ($2)",
	/* P_STORE: computed items, with their errors; $11 skips those whose row is current */
	"WITH u AS ("
	"    SELECT u.item_id, u.features, u.h, u.terms, u.oov_terms, u.reason, u.detail"
	"      FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4),"
	"                      pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7),"
	"                      pg_catalog.unnest($8))"
	"           AS u(item_id, features, h, terms, oov_terms, reason, detail)"
	"      LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = u.item_id"
	"     WHERE NOT $11 OR f.content_hash IS DISTINCT FROM u.h OR f.vocabulary_version <> $9"
	"), up AS ("
	"    INSERT INTO fashionrec.item_feature AS f"
	"           (feature_set, item_id, features, content_hash, vocabulary_version, generation,"
	"            computed_at, terms, oov_terms)"
	"    SELECT $1, u.item_id, u.features, u.h, $9, $10, pg_catalog.now(), u.terms, u.oov_terms FROM u"
	"    ON CONFLICT (feature_set, item_id) DO UPDATE"
	"       SET features = EXCLUDED.features, content_hash = EXCLUDED.content_hash,"
	"           vocabulary_version = EXCLUDED.vocabulary_version, generation = EXCLUDED.generation,"
	"           computed_at = EXCLUDED.computed_at, terms = EXCLUDED.terms, oov_terms = EXCLUDED.oov_terms"
	"), ok AS ("
	"    DELETE FROM fashionrec.feature_error e USING u"
	"     WHERE e.feature_set = $1 AND e.item_id = u.item_id AND u.reason IS NULL"
	")"
	" INSERT INTO fashionrec.feature_error AS e (feature_set, item_id, reason, detail, seen_at)"
	" SELECT $1, u.item_id, u.reason, u.detail, pg_catalog.now() FROM u WHERE u.reason IS NOT NULL"
	" ON CONFLICT (feature_set, item_id) DO UPDATE"
	"    SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, seen_at = EXCLUDED.seen_at",
};

/* Prepared in the owner's context (fr_catalog_begin), where they also run. */
static SPIPlanPtr
plan(PlanId id)
{
	Oid			svec = svec_type();
	Oid			types[11];
	int			n = 0;

	if (svec != plans_svec)
	{
		for (int i = 0; i < N_PLANS; i++)
			if (plans[i] != NULL)
			{
				SPI_freeplan(plans[i]);
				plans[i] = NULL;
			}
		plans_svec = svec;
	}
	if (plans[id] != NULL)
		return plans[id];

	types[n++] = INT4OID;
	switch (id)
	{
		case P_LOAD:
		case P_BUMP:
			break;
		case P_QUEUE:
			types[n++] = INT8ARRAYOID;
			break;
		case P_TOMBSTONE:
			types[n++] = INT8ARRAYOID;
			types[n++] = INT8OID;
			break;
		case P_STORE:
			types[n++] = INT8ARRAYOID;
			types[n++] = get_array_type(svec);
			types[n++] = BYTEAARRAYOID;
			types[n++] = INT4ARRAYOID;
			types[n++] = INT4ARRAYOID;
			types[n++] = TEXTARRAYOID;
			types[n++] = TEXTARRAYOID;
			types[n++] = INT4OID;
			types[n++] = INT8OID;
			types[n++] = BOOLOID;
			break;
		case N_PLANS:
			elog(ERROR, "unknown statement %d", (int) id);
	}
	plans[id] = SPI_prepare(plan_sql[id], n, types);
	if (plans[id] == NULL)
		elog(ERROR, "could not prepare statement %d: %s", (int) id, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plans[id]) != 0)
		elog(ERROR, "could not keep statement %d", (int) id);
	return plans[id];
}

/* ---- a set's row -------------------------------------------------------------- */

static FrFeatureKind
parse_kind(const char *kind)
{
	if (strcmp(kind, "tfidf") == 0)
		return FR_FEATURE_TFIDF;
	if (strcmp(kind, "attributes") == 0)
		return FR_FEATURE_ATTRIBUTES;
	if (strcmp(kind, "colors") == 0)
		return FR_FEATURE_COLORS;
	if (strcmp(kind, "embedding") == 0)
		return FR_FEATURE_EMBEDDING;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown feature set kind \"%s\"", kind),
			 errhint("The kinds are tfidf, attributes, colors and embedding.")));
	return FR_FEATURE_TFIDF;	/* keep the compiler quiet */
}

static char **
text_array(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a list of columns must not hold NULL"),
					 errhint("Name every column of the feature set.")));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

static int32 *
int4_array(Datum d, int *n, const char *what)
{
	Datum	   *elems;
	bool	   *nulls;
	int32	   *out;

	deconstruct_array(DatumGetArrayTypeP(d), INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(int32) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		/* a list of params naming a column outside "columns": not written by create_feature_set() */
		if (nulls[i])
			elog(ERROR, "the %s of a feature set are not among its columns", what);
		out[i] = DatumGetInt32(elems[i]);
	}
	return out;
}

/*
 * Read a set's row; false if there is none.  The caller is the owner (the
 * trigger's writer may not read fashionrec's tables) and connected to SPI.
 */
bool
fr_feature_load(int32 set_id, FrFeatureSet *fs)
{
	Datum		arg = Int32GetDatum(set_id);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			n,
				rc;
	int32	   *pos;

	rc = SPI_execute_plan(plan(P_LOAD), &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read feature set %d: %s", set_id, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	memset(fs, 0, sizeof(*fs));
	fs->id = set_id;
	fs->name = SPI_getvalue(tup, desc, 1);
	fs->kind = parse_kind(SPI_getvalue(tup, desc, 2));
	fs->source = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	fs->id_column = SPI_getvalue(tup, desc, 4);
	fs->columns = text_array(SPI_getbinval(tup, desc, 5, &isnull), &fs->n_columns);
	pos = int4_array(SPI_getbinval(tup, desc, 6, &isnull), &fs->n_texts, "text_columns");
	fs->texts = pos;
	pos = int4_array(SPI_getbinval(tup, desc, 7, &isnull), &fs->n_attrs, "attribute_columns");
	fs->attrs = pos;
	fs->weights = int4_array(SPI_getbinval(tup, desc, 8, &isnull), &n, "weights");
	for (int i = 0; i < fs->n_texts; i++)
		fs->texts[i]--;			/* 1-based positions to indexes */
	for (int i = 0; i < fs->n_attrs; i++)
		fs->attrs[i]--;
	fs->config = DatumGetObjectId(SPI_getbinval(tup, desc, 9, &isnull));
	if (isnull)
		fs->config = InvalidOid;
	fs->dimension = DatumGetInt32(SPI_getbinval(tup, desc, 10, &isnull));
	fs->has_dimension = !isnull;
	fs->vocabulary_version = DatumGetInt32(SPI_getbinval(tup, desc, 11, &isnull));
	fs->rebuilt_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 12, &isnull));
	fs->has_rebuilt_at = !isnull;
	fs->realtime = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
	fs->created_by = SPI_getvalue(tup, desc, 14);
	if ((fs->kind == FR_FEATURE_TFIDF && (fs->n_texts == 0 || !OidIsValid(fs->config))) ||
		(fs->kind == FR_FEATURE_ATTRIBUTES && fs->n_attrs == 0) || fs->n_columns == 0)
		elog(ERROR, "feature set %d has no columns to compute from", set_id);
	return true;
}

/* ---- column types ---------------------------------------------------------------
 *
 * A feature set reads its columns only as the types its kind needs: the
 * realtime trigger reads them from the written row without any cast, and a
 * cast from a type its owner created could run the owner's function.  The
 * types are checked when the set is created and again whenever it is read
 * (refresh, trigger), since ALTER TABLE can change them.
 */
static bool
type_fits(FrFeatureKind kind, Oid typid)
{
	switch (kind)
	{
		case FR_FEATURE_TFIDF:
		case FR_FEATURE_ATTRIBUTES:
			return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID || typid == NAMEOID;
		case FR_FEATURE_COLORS:
			return typid == BYTEAOID;
		case FR_FEATURE_EMBEDDING:
			return typid == FLOAT4ARRAYOID || typid == FLOAT8ARRAYOID;
	}
	return false;
}

static void
column_error(int code, const char *msg, const char *set_name, const char *hint)
{
	if (set_name == NULL)
		ereport(ERROR, (errcode(code), errmsg_internal("%s", msg), errhint("%s", hint)));
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", msg),
			 errdetail("The source's columns changed after feature set \"%s\" was created; the set reads only the columns and types it was created with.",
					   set_name),
			 errhint("Change the column back, or drop the feature set (drop_feature_set() also removes its trigger) and create it again.")));
}

/*
 * Check that relid has the set's columns with types its kind reads (id:
 * smallint, integer or bigint); set_name is NULL while the set is created.
 * attnums, if not NULL, receives the id's attribute number then the
 * columns'.  relid is the source, or the partition the trigger fires on.
 */
void
fr_feature_check_columns(Oid relid, FrFeatureKind kind, const char *id_column,
						 char **columns, int n_columns, const char *set_name, AttrNumber *attnums)
{
	char	   *rel;
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the source of feature set \"%s\" no longer exists", set_name ? set_name : "?"),
				 errhint("Drop the feature set with drop_feature_set() and create it again over the new source.")));
	rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);

	for (int i = -1; i < n_columns; i++)
	{
		const char *col = i < 0 ? id_column : columns[i];
		AttrNumber	att = get_attnum(relid, col);
		Oid			typid,
					collid;
		int32		typmod;

		if (att <= 0)
		{
			if (i < 0)
				column_error(ERRCODE_UNDEFINED_COLUMN,
							 psprintf("column \"%s\" of the id does not exist in %s", col, rel), set_name,
							 "Name the id column: {\"id_column\": \"product_id\"}.");
			column_error(ERRCODE_UNDEFINED_COLUMN,
						 psprintf("column \"%s\" does not exist in %s", col, rel), set_name,
						 "Name a column of the source.");
		}
		get_atttypetypmodcoll(relid, att, &typid, &typmod, &collid);
		if (i < 0 && typid != INT2OID && typid != INT4OID && typid != INT8OID)
			column_error(ERRCODE_DATATYPE_MISMATCH,
						 psprintf("the id column \"%s\" must be smallint, integer or bigint, not %s",
								  col, format_type_be(typid)), set_name,
						 "Use an integer key, or a view that gives one.");
		if (i >= 0 && !type_fits(kind, typid))
		{
			if (kind == FR_FEATURE_COLORS)
				column_error(ERRCODE_DATATYPE_MISMATCH,
							 psprintf("image column \"%s\" must be bytea, not %s", col, format_type_be(typid)),
							 set_name, "Store the JPEG or PNG images in a bytea column.");
			if (kind == FR_FEATURE_EMBEDDING)
				column_error(ERRCODE_DATATYPE_MISMATCH,
							 psprintf("vector column \"%s\" must be real[] or double precision[], not %s",
									  col, format_type_be(typid)), set_name,
							 "Convert the embeddings in a view, or store them as real[].");
			column_error(ERRCODE_DATATYPE_MISMATCH,
						 psprintf("column \"%s\" must be text, varchar, char or name, not %s",
								  col, format_type_be(typid)), set_name,
						 "Convert it to text in a view over the table, or in a stored generated column of the table.");
		}
		if (attnums != NULL)
			attnums[i + 1] = att;
	}
}

/*
 * fashionrec._feature_check_columns(source regclass, kind text, id_column
 * text, columns text[], feature_set text DEFAULT NULL) returns void
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_check_columns);
Datum
fashionrec_feature_check_columns(PG_FUNCTION_ARGS)
{
	char	  **columns;
	int			n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, kind, id_column and columns must not be NULL"),
				 errhint("Pass the feature set's definition.")));
	fr_check_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, "columns", false);
	columns = text_array(PG_GETARG_DATUM(3), &n);
	fr_feature_check_columns(PG_GETARG_OID(0), parse_kind(text_to_cstring(PG_GETARG_TEXT_PP(1))),
							 text_to_cstring(PG_GETARG_TEXT_PP(2)), columns, n,
							 PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)), NULL);
	PG_RETURN_VOID();
}

/*
 * Refuse, before any source is read, a caller who is not the set's author
 * nor a role whose rights the author holds (10_registry.sql), and a source
 * whose columns changed.
 */
static void
feature_guard(int32 set_id, FrFeatureSet *fs)
{
	FrCatalogWrite w;
	Oid			types[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	bool		found;
	int			nest,
				rc;

	fr_catalog_begin(&w);
	found = fr_feature_load(set_id, fs);
	fr_catalog_end(&w);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set %d does not exist", set_id),
				 errhint("SELECT * FROM fashionrec.feature_sets lists the feature sets.")));

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(fs->created_by));
	values[1] = CStringGetTextDatum(psprintf("feature set \"%s\"", fs->name));
	nest = caller_begin();
	rc = SPI_execute_with_args("SELECT fashionrec._check_author($1, $2)", 2, types, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not check the author of feature set %d: %s", set_id, SPI_result_code_string(rc));
	caller_end(nest);

	fr_feature_check_columns(fs->source, fs->kind, fs->id_column, fs->columns, fs->n_columns,
							 fs->name, NULL);
}

/* A statement of the set, built by _feature_sql() from its row. */
static char *
feature_sql(int32 set_id, const char *what)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	FrCatalogWrite w;
	bool		isnull;
	Datum		d;
	int			rc;

	values[0] = Int32GetDatum(set_id);
	values[1] = CStringGetTextDatum(what);
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("SELECT fashionrec._feature_sql(s, $2) FROM fashionrec.feature_set s WHERE s.id = $1",
							   2, types, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not build the %s statement of feature set %d", what, set_id);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	fr_catalog_end(&w);
	return TextDatumGetCString(d);
}

/* ---- generations ----------------------------------------------------------
 *
 * The generation protocol (docs/features.md) asks every transaction that
 * writes item_feature rows of a set to bump feature_set.generation under the
 * row lock and stamp its rows with the new value.  A realtime trigger fires
 * once per product row; bumping per row would update the same catalog row
 * thousands of times in one transaction, and every update walks the growing
 * chain of dead versions before it.  So the generation taken is remembered
 * for the rest of the transaction, in backend memory (a setting could be
 * forged by the session), and forgotten when the transaction ends or the
 * subtransaction that took it rolls back (the bump rolled back with it).
 */
typedef struct GenEntry
{
	int32		set_id;
	int64		generation;
	SubTransactionId subid;		/* where it was taken */
} GenEntry;

#define MAX_GEN_ENTRIES 64

static GenEntry gen_entries[MAX_GEN_ENTRIES];
static int	n_gen_entries = 0;
static bool gen_callbacks_registered = false;

static void
gen_xact_callback(XactEvent event, void *arg)
{
	n_gen_entries = 0;
}

static void
gen_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* subtransaction ids grow, so later ones are children of the aborted one */
	for (int i = 0; i < n_gen_entries; i++)
		if (gen_entries[i].subid < mySubid)
			gen_entries[kept++] = gen_entries[i];
	n_gen_entries = kept;
}

/*
 * The generation this transaction stamps rows of the set with.  The first
 * call of the transaction bumps it, taking the set's row lock, and refreshes
 * fs's vocabulary version, rebuild time and dimension from the locked row
 * (a rebuild may have committed meanwhile); later calls hold the lock
 * already, so fs as loaded is current.  The caller is the owner.
 */
int64
fr_feature_generation(FrFeatureSet *fs)
{
	Datum		arg = Int32GetDatum(fs->id);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int64		generation;
	int			rc;

	for (int i = 0; i < n_gen_entries; i++)
		if (gen_entries[i].set_id == fs->id)
			return gen_entries[i].generation;

	if (!gen_callbacks_registered)
	{
		RegisterXactCallback(gen_xact_callback, NULL);
		RegisterSubXactCallback(gen_subxact_callback, NULL);
		gen_callbacks_registered = true;
	}

	rc = SPI_execute_plan(plan(P_BUMP), &arg, NULL, false, 1);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not bump the generation of feature set %d: %s",
			 fs->id, SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set %d does not exist", fs->id),
				 errhint("It was dropped by another transaction.")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	generation = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	fs->vocabulary_version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	fs->rebuilt_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
	fs->has_rebuilt_at = !isnull;
	fs->dimension = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	fs->has_dimension = !isnull;

	/* a full table only costs another bump: the row lock is held already */
	if (n_gen_entries < MAX_GEN_ENTRIES)
	{
		gen_entries[n_gen_entries].set_id = fs->id;
		gen_entries[n_gen_entries].generation = generation;
		gen_entries[n_gen_entries].subid = GetCurrentSubTransactionId();
		n_gen_entries++;
	}
	return generation;
}

/* ---- the fixed writes (the caller is the owner) -------------------------------- */

static Datum
nullable_array(Datum *elems, bool *nulls, int n, Oid typid)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, typid, typlen, typbyval, typalign));
}

static Datum
int8_array(const int64 *ids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	return nullable_array(elems, NULL, n, INT8OID);
}

void
fr_feature_queue(int32 set_id, const int64 *ids, int n)
{
	Datum		args[2];
	int			rc;

	args[0] = Int32GetDatum(set_id);
	args[1] = int8_array(ids, n);
	rc = SPI_execute_plan(plan(P_QUEUE), args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not queue items of feature set %d: %s", set_id, SPI_result_code_string(rc));
}

void
fr_feature_tombstone(int32 set_id, const int64 *ids, int n, int64 generation)
{
	Datum		args[3];
	int			rc;

	args[0] = Int32GetDatum(set_id);
	args[1] = int8_array(ids, n);
	args[2] = Int64GetDatum(generation);
	rc = SPI_execute_plan(plan(P_TOMBSTONE), args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not tombstone items of feature set %d: %s", set_id, SPI_result_code_string(rc));
}

/* Store n computed items (with their errors), stamped with generation. */
void
fr_feature_store(const FrFeatureSet *fs, int64 generation, int n, Datum *item_ids,
				 Datum *features, bool *features_null, Datum *hashes,
				 Datum *terms, bool *terms_null, Datum *oov, bool *oov_null,
				 Datum *reasons, bool *reasons_null, Datum *details, bool *details_null,
				 bool skip_unchanged)
{
	Datum		args[11];
	int			rc;

	args[0] = Int32GetDatum(fs->id);
	args[1] = nullable_array(item_ids, NULL, n, INT8OID);
	args[2] = nullable_array(features, features_null, n, svec_type());
	args[3] = nullable_array(hashes, NULL, n, BYTEAOID);
	args[4] = nullable_array(terms, terms_null, n, INT4OID);
	args[5] = nullable_array(oov, oov_null, n, INT4OID);
	args[6] = nullable_array(reasons, reasons_null, n, TEXTOID);
	args[7] = nullable_array(details, details_null, n, TEXTOID);
	args[8] = Int32GetDatum(fs->vocabulary_version);
	args[9] = Int64GetDatum(generation);
	args[10] = BoolGetDatum(skip_unchanged);
	rc = SPI_execute_plan(plan(P_STORE), args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store items of feature set %d: %s", fs->id, SPI_result_code_string(rc));
}

/* ---- writers called by the SQL --------------------------------------------- */

/*
 * fashionrec._feature_set_create(name text, kind text, source regclass,
 * params jsonb) returns integer: records a feature set authored by the
 * caller.  The definition is checked and normalised by
 * fashionrec._feature_set_check() as the caller (their column privileges),
 * whatever the route in, then stored as the owner.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_set_create);
Datum
fashionrec_feature_set_create(PG_FUNCTION_ARGS)
{
	Oid			types[7] = {TEXTOID, TEXTOID, REGCLASSOID, JSONBOID, TEXTOID, TEXTARRAYOID, NAMEOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *author = fr_current_role_name();
	FrCatalogWrite w;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int32		set_id;
	int			nest,
				rc;

	for (int i = 0; i < 4; i++)
	{
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i);
	}

	SPI_connect();
	nest = caller_begin();
	rc = SPI_execute_with_args("SELECT c.id_column, c.columns, c.normalized"
							   "  FROM fashionrec._feature_set_check($1, $2, $3, $4) c",
							   4, types, values, nulls, false, 1);
	caller_end(nest);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not check the feature set: %s", SPI_result_code_string(rc));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	values[4] = SPI_getbinval(tup, desc, 1, &isnull);
	values[5] = SPI_getbinval(tup, desc, 2, &isnull);
	values[3] = SPI_getbinval(tup, desc, 3, &isnull);
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(author));

	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("INSERT INTO fashionrec.feature_set"
							   "       (name, kind, source, params, id_column, columns, created_by)"
							   " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
							   7, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not record the feature set: %s", SPI_result_code_string(rc));
	set_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	fr_catalog_end(&w);
	SPI_finish();
	PG_RETURN_INT32(set_id);
}

/* The set's whole row from an owner statement, for the caller's memory. */
static Datum
row_result(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	FrCatalogWrite w;
	bool		isnull;
	Datum		d;
	int			rc;

	fr_catalog_begin(&w);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (rc != expect)
		elog(ERROR, "could not read the feature set's row: %s", SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set %d does not exist", DatumGetInt32(values[0])),
				 errhint("It was dropped by another transaction.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	fr_catalog_end(&w);
	return SPI_datumTransfer(d, false, -1);
}

/*
 * fashionrec._feature_refresh_begin(feature_set integer) returns
 * fashionrec.feature_set: a refresh's start.  Takes the set's row lock (one
 * refresh of a set at a time, and no realtime write while it runs) and its
 * queue (the items a trigger left for it: the refresh finds them by their
 * hashes), and returns the row.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_refresh_begin);
Datum
fashionrec_feature_refresh_begin(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	FrFeatureSet fs;
	FrCatalogWrite w;
	Datum		row;
	int			rc;

	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	feature_guard(PG_GETARG_INT32(0), &fs);
	row = row_result("SELECT s FROM fashionrec.feature_set s WHERE s.id = $1 FOR UPDATE",
					 1, types, values, NULL, SPI_OK_SELECT);
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("DELETE FROM fashionrec.feature_queue q WHERE q.feature_set = $1",
							   1, types, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not take the queue of feature set %d: %s", fs.id, SPI_result_code_string(rc));
	fr_catalog_end(&w);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/*
 * fashionrec._feature_rebuild(feature_set integer) returns
 * fashionrec.feature_set: fits the vocabulary (tfidf, attributes) or takes
 * the dimension (embedding, colors) over the source, bumps the vocabulary
 * version when the space changed, and returns the row; NULL, storing
 * nothing, when the source has no document or embedding to take them from.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_rebuild);
Datum
fashionrec_feature_rebuild(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {INT4OID, InvalidOid, INT4OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	FrFeatureSet fs;
	char	   *sql;
	bool		isnull;
	Datum		row;
	int			nest,
				rc;

	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	feature_guard(PG_GETARG_INT32(0), &fs);
	sql = feature_sql(fs.id, "rebuild");
	nest = caller_begin();
	rc = SPI_execute(sql, false, 0);
	caller_end(nest);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not rebuild feature set %d: %s", fs.id, SPI_result_code_string(rc));
	types[1] = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	values[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		nulls[1] = 'n';
	values[2] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	row = row_result("UPDATE fashionrec.feature_set s"
					 "   SET vocabulary = $2, dimension = $3, rebuilt_at = pg_catalog.now(),"
					 "       vocabulary_version = s.vocabulary_version"
					 "           + CASE WHEN s.kind IN ('tfidf', 'attributes') OR s.vocabulary_version = 0"
					 "                       OR $3 IS DISTINCT FROM s.dimension THEN 1 ELSE 0 END"
					 " WHERE s.id = $1 RETURNING s",
					 3, types, values, nulls, SPI_OK_UPDATE_RETURNING);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* columns of the 'batch' statement of _feature_sql() */
enum
{
	B_ITEM_ID = 1, B_HASH, B_REASON, B_DETAIL, B_FEATURES, B_TERMS, B_OOV, B_IS_NEW, B_HAD_FEATURES,
	B_COLS = B_HAD_FEATURES
};

#define BATCH_RESULT_COLS 6

/*
 * fashionrec._feature_refresh_batch(feature_set integer, ids bigint[], force
 * boolean, OUT added, OUT updated, OUT failed, OUT tombstoned, OUT terms,
 * OUT oov_terms bigint): computes the items of ids whose source row is new
 * or changed (all of them with force) as the caller, and stores them.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_refresh_batch);
Datum
fashionrec_feature_refresh_batch(PG_FUNCTION_ARGS)
{
	Oid			types[5] = {INT4OID, INT8ARRAYOID, INT4OID, BOOLOID, TIMESTAMPTZOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		counts[BATCH_RESULT_COLS] = {0};
	Datum		result[BATCH_RESULT_COLS];
	bool		result_null[BATCH_RESULT_COLS] = {false};
	TupleDesc	result_desc;
	FrFeatureSet fs;
	char	   *sql;
	int			nest,
				rc,
				n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature_set, ids and force must not be NULL"),
				 errhint("Refresh a feature set with fashionrec.refresh_features().")));
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SPI_connect();
	feature_guard(PG_GETARG_INT32(0), &fs);
	sql = feature_sql(fs.id, "batch");
	values[0] = Int32GetDatum(fs.id);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = Int32GetDatum(fs.vocabulary_version);
	values[3] = PG_GETARG_DATUM(2);
	values[4] = TimestampTzGetDatum(fs.rebuilt_at);
	if (!fs.has_rebuilt_at)
		nulls[4] = 'n';
	nest = caller_begin();
	rc = SPI_execute_with_args(sql, 5, types, values, nulls, false, 0);
	caller_end(nest);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not compute items of feature set %d: %s", fs.id, SPI_result_code_string(rc));

	n = (int) SPI_processed;
	if (n > 0)
	{
		SPITupleTable *tt = SPI_tuptable;
		Datum	   *cols[B_COLS + 1];
		bool	   *nulls_of[B_COLS + 1];
		FrCatalogWrite w;
		int64		generation;

		if (tt->tupdesc->natts != B_COLS)
			elog(ERROR, "the batch statement of feature set %d returns %d columns", fs.id, tt->tupdesc->natts);
		for (int c = 1; c <= B_COLS; c++)
		{
			cols[c] = palloc(sizeof(Datum) * n);
			nulls_of[c] = palloc(sizeof(bool) * n);
			for (int i = 0; i < n; i++)
				cols[c][i] = SPI_getbinval(tt->vals[i], tt->tupdesc, c, &nulls_of[c][i]);
		}
		for (int i = 0; i < n; i++)
		{
			bool		failed = !nulls_of[B_REASON][i];

			if (nulls_of[B_ITEM_ID][i] || nulls_of[B_HASH][i])
				elog(ERROR, "the batch statement of feature set %d returned an item without id or hash", fs.id);
			if (!failed && DatumGetBool(cols[B_IS_NEW][i]))
				counts[0]++;
			else if (!failed)
				counts[1]++;
			if (failed)
				counts[2]++;
			if (failed && DatumGetBool(cols[B_HAD_FEATURES][i]))
				counts[3]++;
			if (!nulls_of[B_TERMS][i])
				counts[4] += DatumGetInt32(cols[B_TERMS][i]);
			if (!nulls_of[B_OOV][i])
				counts[5] += DatumGetInt32(cols[B_OOV][i]);
		}

		fr_catalog_begin(&w);
		generation = fr_feature_generation(&fs);
		/* the rows are stamped with the version they were computed with */
		fs.vocabulary_version = DatumGetInt32(values[2]);
		fr_feature_store(&fs, generation, n, cols[B_ITEM_ID], cols[B_FEATURES], nulls_of[B_FEATURES],
						 cols[B_HASH], cols[B_TERMS], nulls_of[B_TERMS], cols[B_OOV], nulls_of[B_OOV],
						 cols[B_REASON], nulls_of[B_REASON], cols[B_DETAIL], nulls_of[B_DETAIL], false);
		fr_catalog_end(&w);
	}
	SPI_finish();

	for (int c = 0; c < BATCH_RESULT_COLS; c++)
		result[c] = Int64GetDatum(counts[c]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(result_desc), result, result_null)));
}

/*
 * fashionrec._feature_refresh_gone(feature_set integer) returns bigint:
 * tombstones the items whose id left the source; returns their number.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_refresh_gone);
Datum
fashionrec_feature_refresh_gone(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	FrFeatureSet fs;
	char	   *sql;
	int64	   *ids;
	int			nest,
				rc,
				n;

	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	feature_guard(PG_GETARG_INT32(0), &fs);
	sql = feature_sql(fs.id, "gone");
	nest = caller_begin();
	rc = SPI_execute_with_args(sql, 1, types, values, NULL, false, 0);
	caller_end(nest);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not find the items gone from feature set %d: %s", fs.id, SPI_result_code_string(rc));
	n = (int) SPI_processed;
	if (n > 0)
	{
		FrCatalogWrite w;
		bool		isnull;

		ids = palloc(sizeof(int64) * n);
		for (int i = 0; i < n; i++)
			ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		fr_catalog_begin(&w);
		fr_feature_tombstone(fs.id, ids, n, fr_feature_generation(&fs));
		fr_catalog_end(&w);
	}
	SPI_finish();
	PG_RETURN_INT64(n);
}

/*
 * fashionrec._feature_refresh_finish(feature_set integer, rebuilt boolean)
 * returns bigint: a refresh's end: its time, after a rebuild the set's
 * out-of-vocabulary share as the baseline of drift; returns the generation.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_refresh_finish);
Datum
fashionrec_feature_refresh_finish(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {INT4OID, BOOLOID};
	Datum		values[2];
	FrFeatureSet fs;
	FrCatalogWrite w;
	bool		isnull;
	int64		generation;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature_set and rebuilt must not be NULL"),
				 errhint("Refresh a feature set with fashionrec.refresh_features().")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	SPI_connect();
	feature_guard(PG_GETARG_INT32(0), &fs);
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("UPDATE fashionrec.feature_set s"
							   "   SET refreshed_at = pg_catalog.now(),"
							   "       oov_baseline = CASE WHEN $2 AND s.kind IN ('tfidf', 'attributes')"
							   "           THEN (SELECT pg_catalog.sum(f.oov_terms)::pg_catalog.float8"
							   "                        / NULLIF(pg_catalog.sum(f.terms), 0)"
							   "                   FROM fashionrec.item_feature f"
							   "                  WHERE f.feature_set = s.id AND f.features IS NOT NULL)"
							   "           ELSE s.oov_baseline END"
							   " WHERE s.id = $1 RETURNING s.generation",
							   2, types, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not finish the refresh of feature set %d: %s", fs.id, SPI_result_code_string(rc));
	generation = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	fr_catalog_end(&w);
	SPI_finish();
	PG_RETURN_INT64(generation);
}
