/*
 * features_sql.c — the parts of the feature store (src/sql/85_features.sql)
 * that SQL cannot do well:
 *
 *   _feature_generation(set)   the generation of this transaction's writes
 *                              to a feature set, bumped once per transaction
 *                              rather than once per row;
 *   attribute_tsvector(...)    "column=value" terms as a tsvector whose
 *                              positions carry the column weights;
 *   _color_features(...)       a colour histogram that reports a bad image
 *                              as a reason instead of raising, so a refresh
 *                              needs no subtransaction per image.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "tsearch/ts_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "color.h"
#include "fashionrec.h"
#include "image.h"

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

PG_FUNCTION_INFO_V1(fashionrec_feature_generation);
Datum
fashionrec_feature_generation(PG_FUNCTION_ARGS)
{
	int32		set_id = PG_GETARG_INT32(0);
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	bool		isnull;
	int64		generation;
	int			ret;

	for (int i = 0; i < n_gen_entries; i++)
		if (gen_entries[i].set_id == set_id)
			PG_RETURN_INT64(gen_entries[i].generation);

	if (!gen_callbacks_registered)
	{
		RegisterXactCallback(gen_xact_callback, NULL);
		RegisterSubXactCallback(gen_subxact_callback, NULL);
		gen_callbacks_registered = true;
	}

	args[0] = Int32GetDatum(set_id);
	SPI_connect();
	ret = SPI_execute_with_args("UPDATE fashionrec.feature_set SET generation = generation + 1 "
								"WHERE id = $1 RETURNING generation",
								1, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not bump the generation of feature set %d: %s",
			 set_id, SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set %d does not exist", set_id)));
	generation = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	/* a full table only costs another bump: the row lock is held already */
	if (n_gen_entries < MAX_GEN_ENTRIES)
	{
		gen_entries[n_gen_entries].set_id = set_id;
		gen_entries[n_gen_entries].generation = generation;
		gen_entries[n_gen_entries].subid = GetCurrentSubTransactionId();
		n_gen_entries++;
	}
	PG_RETURN_INT64(generation);
}

/* ---- attribute terms ------------------------------------------------------ */

/* the longest lexeme a tsvector holds is 2047 bytes */
#define MAX_TERM_BYTES 2046
/* and a lexeme keeps at most 256 positions */
#define MAX_TERM_WEIGHT 256

static void
deconstruct_text_array(ArrayType *a, const char *name, Datum **elems, bool **nulls, int *n)
{
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, elems, nulls, n);
}

/* inside a quoted tsvector lexeme, ' and \ are doubled */
static void
append_escaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\'' || *s == '\\')
			appendStringInfoChar(buf, *s);
		appendStringInfoChar(buf, *s);
	}
}

/*
 * fashionrec.attribute_tsvector(names text[], vals text[], weights integer[])
 *     returns tsvector
 *
 * The term "name=value" per non-NULL, non-empty value, with weight positions
 * so that tfidf() counts the weight as its term frequency.  Values are used
 * as given (the caller trims and lower-cases them, as the attributes
 * algorithm does).  The tsvector's text form is built and parsed by
 * tsvectorin: it sorts, merges duplicates and checks every limit.
 */
PG_FUNCTION_INFO_V1(fashionrec_attribute_tsvector);
Datum
fashionrec_attribute_tsvector(PG_FUNCTION_ARGS)
{
	ArrayType  *names_a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *vals_a = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *weights_a = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *names,
			   *vals;
	bool	   *names_null,
			   *vals_null;
	int			n_names,
				n_vals;
	int32	   *weights;
	StringInfoData buf;

	deconstruct_text_array(names_a, "names", &names, &names_null, &n_names);
	deconstruct_text_array(vals_a, "vals", &vals, &vals_null, &n_vals);
	if (ARR_NDIM(weights_a) > 1 || ARR_HASNULL(weights_a) ||
		ArrayGetNItems(ARR_NDIM(weights_a), ARR_DIMS(weights_a)) != n_names || n_vals != n_names)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("names, vals and weights must be arrays of the same length without NULL names or weights")));
	weights = (int32 *) ARR_DATA_PTR(weights_a);

	initStringInfo(&buf);
	for (int i = 0; i < n_names; i++)
	{
		char	   *name,
				   *value;
		int			w = weights[i];

		if (names_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("names must not hold NULL")));
		if (w < 0 || w > MAX_TERM_WEIGHT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a weight must be between 0 and %d, got %d", MAX_TERM_WEIGHT, w)));
		if (vals_null[i] || w == 0)
			continue;
		name = TextDatumGetCString(names[i]);
		value = TextDatumGetCString(vals[i]);
		if (*value == '\0' || strlen(name) + 1 + strlen(value) > MAX_TERM_BYTES)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfoChar(&buf, '\'');
		append_escaped(&buf, name);
		appendStringInfoChar(&buf, '=');
		append_escaped(&buf, value);
		appendStringInfoString(&buf, "':1");
		for (int p = 2; p <= w; p++)
			appendStringInfo(&buf, ",%d", p);
	}
	PG_RETURN_DATUM(DirectFunctionCall1(tsvectorin, CStringGetDatum(buf.data)));
}

/* ---- colour features ------------------------------------------------------ */

/* as color_sql.c: the kernels sample at most FR_COLOR_MAX_SAMPLES pixels */
#define MIN_DECODE_PIXELS	(4 * (int64) FR_COLOR_MAX_SAMPLES)

static const char *
image_reason(FrImageStatus status)
{
	switch (status)
	{
		case FR_IMAGE_TOO_LARGE:
			return "image_too_large";
		case FR_IMAGE_UNSUPPORTED:
			return "unsupported_image";
		case FR_IMAGE_CORRUPT:
			return "undecodable_image";
		case FR_IMAGE_OK:
			break;
	}
	return NULL;
}

/*
 * fashionrec._color_features(image bytea, bins int, ignore_background bool,
 *     OUT histogram real[], OUT reason text, OUT detail text)
 *
 * color_histogram(), but a bad image is a (reason, detail) rather than an
 * ERROR.  The decoders report their errors as statuses (image.h), so this
 * needs no subtransaction; only a memory or cancel ERROR still raises.
 */
PG_FUNCTION_INFO_V1(fashionrec_color_features);
Datum
fashionrec_color_features(PG_FUNCTION_ARGS)
{
	int			bins = PG_GETARG_INT32(1);
	bool		ignore_background = PG_GETARG_BOOL(2);
	TupleDesc	tupdesc;
	Datum		values[3] = {0};
	bool		nulls[3] = {true, true, true};
	const char *reason = NULL;
	char		msg[FR_IMAGE_MSG_LEN];
	Size		raw;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (bins < FR_COLOR_MIN_BINS || bins > FR_COLOR_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be between %d and %d, got %d", FR_COLOR_MIN_BINS, FR_COLOR_MAX_BINS, bins)));

	raw = toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ;
	msg[0] = '\0';
	if (raw > FR_IMAGE_MAX_BYTES)
	{
		reason = "image_too_large";
		snprintf(msg, sizeof(msg), "the image has %zu bytes, more than the %zu allowed",
				 (size_t) raw, FR_IMAGE_MAX_BYTES);
	}
	else
	{
		bytea	   *image = PG_GETARG_BYTEA_PP(0);
		const uint8 *data = (const uint8 *) VARDATA_ANY(image);
		size_t		len = VARSIZE_ANY_EXHDR(image);
		FrImageInfo info;
		FrImageStatus status = fr_image_probe(data, len, &info, msg);

		if (status == FR_IMAGE_OK && (int64) info.width * info.height <= FR_IMAGE_MAX_PIXELS &&
			(double) info.width * info.height * 4 > (double) fr_max_memory_kb * 1024.0)
		{
			reason = "image_too_large";
			snprintf(msg, sizeof(msg), "decoding %d x %d pixels needs more than fashionrec.max_memory",
					 info.width, info.height);
		}
		else if (status == FR_IMAGE_OK)
		{
			MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "fashionrec image",
													   ALLOCSET_DEFAULT_SIZES);
			MemoryContext old = MemoryContextSwitchTo(work);
			int			cells = bins * bins * bins;
			float	   *hist = palloc(sizeof(float) * cells);
			FrImage		im;

			status = fr_image_decode(data, len, MIN_DECODE_PIXELS, &im, msg);
			if (status == FR_IMAGE_OK)
			{
				FrColorSample sample;
				Datum	   *elems;

				fr_color_sample(im.rgb, im.width, im.height, FR_COLOR_MAX_SAMPLES,
								ignore_background, &sample);
				fr_color_histogram(&sample, bins, hist);
				MemoryContextSwitchTo(old);
				elems = palloc(sizeof(Datum) * cells);
				for (int c = 0; c < cells; c++)
					elems[c] = Float4GetDatum(hist[c]);
				values[0] = PointerGetDatum(construct_array(elems, cells, FLOAT4OID, 4, true, TYPALIGN_INT));
				nulls[0] = false;
			}
			else
			{
				MemoryContextSwitchTo(old);
				reason = image_reason(status);
			}
			MemoryContextDelete(work);
		}
		else
			reason = image_reason(status);
	}
	if (reason != NULL)
	{
		if (msg[0] >= 'a' && msg[0] <= 'z')
			msg[0] += 'A' - 'a';
		values[1] = CStringGetTextDatum(reason);
		values[2] = CStringGetTextDatum(psprintf("%s.", msg));
		nulls[1] = nulls[2] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---- vocabularies ----------------------------------------------------------
 *
 * tfidf() keeps one detoasted vocabulary per call site, which is per
 * statement; the realtime trigger runs a statement per product row, and
 * detoasting (and decompressing) a 44k-product vocabulary costs a
 * millisecond.  So the vocabulary of a set is kept per backend, named by the
 * set, its vocabulary version and its rebuild time: a rebuild bumps the
 * version, and a rebuild rolled back and redone in another transaction
 * differs in its time.
 */
typedef struct VocabEntry
{
	int32		set_id;
	int32		version;
	TimestampTz rebuilt_at;
	struct varlena *vocab;		/* in TopMemoryContext */
} VocabEntry;

#define MAX_VOCAB_ENTRIES 8

static VocabEntry vocab_entries[MAX_VOCAB_ENTRIES];
static int	n_vocab_entries = 0;

extern Datum fashionrec_tfidf(PG_FUNCTION_ARGS);

static struct varlena *
set_vocabulary(int32 set_id, int32 version, TimestampTz rebuilt_at)
{
	Oid			argtypes3[3] = {INT4OID, INT4OID, TIMESTAMPTZOID};
	Datum		args3[3];
	bool		isnull;
	Datum		d;
	int			slot;
	struct varlena *copy;

	for (int i = 0; i < n_vocab_entries; i++)
		if (vocab_entries[i].set_id == set_id && vocab_entries[i].version == version &&
			vocab_entries[i].rebuilt_at == rebuilt_at)
			return vocab_entries[i].vocab;

	args3[0] = Int32GetDatum(set_id);
	args3[1] = Int32GetDatum(version);
	args3[2] = TimestampTzGetDatum(rebuilt_at);
	SPI_connect();
	if (SPI_execute_with_args("SELECT vocabulary FROM fashionrec.feature_set "
							  "WHERE id = $1 AND vocabulary_version = $2 AND rebuilt_at = $3",
							  3, argtypes3, args3, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the vocabulary of feature set %d", set_id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set %d has no vocabulary version %d", set_id, version)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature set %d has no vocabulary", set_id)));
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		copy = detoast_attr((struct varlena *) DatumGetPointer(d));
		if (copy == (struct varlena *) DatumGetPointer(d))
		{
			copy = palloc(VARSIZE(d));
			memcpy(copy, DatumGetPointer(d), VARSIZE(d));
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();

	/* replace the entry of an older version of the set, else the oldest */
	for (slot = 0; slot < n_vocab_entries; slot++)
		if (vocab_entries[slot].set_id == set_id)
			break;
	if (slot == n_vocab_entries)
	{
		if (n_vocab_entries < MAX_VOCAB_ENTRIES)
			n_vocab_entries++;
		else
		{
			pfree(vocab_entries[0].vocab);
			memmove(vocab_entries, vocab_entries + 1, sizeof(VocabEntry) * (MAX_VOCAB_ENTRIES - 1));
			slot = MAX_VOCAB_ENTRIES - 1;
		}
	}
	else
		pfree(vocab_entries[slot].vocab);
	vocab_entries[slot].set_id = set_id;
	vocab_entries[slot].version = version;
	vocab_entries[slot].rebuilt_at = rebuilt_at;
	vocab_entries[slot].vocab = copy;
	return copy;
}

/*
 * fashionrec._feature_tfidf(set integer, version integer, rebuilt_at timestamptz,
 *     doc tsvector) returns svec: tfidf() over the set's vocabulary.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_tfidf);
Datum
fashionrec_feature_tfidf(PG_FUNCTION_ARGS)
{
	struct varlena *vocab = set_vocabulary(PG_GETARG_INT32(0), PG_GETARG_INT32(1),
										   PG_GETARG_TIMESTAMPTZ(2));
	FmgrInfo	flinfo;

	/* a plain in-memory value: tfidf() uses it without a copy */
	MemSet(&flinfo, 0, sizeof(flinfo));
	flinfo.fn_addr = fashionrec_tfidf;
	flinfo.fn_nargs = 2;
	flinfo.fn_strict = true;
	flinfo.fn_mcxt = CurrentMemoryContext;
	flinfo.fn_oid = InvalidOid;
	return FunctionCall2Coll(&flinfo, InvalidOid, PointerGetDatum(vocab), PG_GETARG_DATUM(3));
}

/* ---- the realtime trigger's statement ----------------------------------------
 *
 * The trigger runs the set's row statement, which _feature_sql() builds from
 * the catalog in about as long as the statement itself takes.  It depends
 * only on the set's definition and, through the dimension, on its
 * vocabulary version and rebuild, so it is kept per backend under that
 * name.  Only the SECURITY DEFINER trigger may store a statement here
 * (EXECUTE is revoked from PUBLIC): a statement stored by anyone else would
 * run with the trigger owner's rights.
 */
typedef struct SqlEntry
{
	int32		set_id;
	int32		version;
	TimestampTz rebuilt_at;
	char	   *sql;			/* in TopMemoryContext */
} SqlEntry;

#define MAX_SQL_ENTRIES 16

static SqlEntry sql_entries[MAX_SQL_ENTRIES];
static int	n_sql_entries = 0;

PG_FUNCTION_INFO_V1(fashionrec_feature_row_sql);
Datum
fashionrec_feature_row_sql(PG_FUNCTION_ARGS)
{
	int32		set_id = PG_GETARG_INT32(0);
	int32		version = PG_GETARG_INT32(1);
	TimestampTz rebuilt_at = PG_GETARG_TIMESTAMPTZ(2);
	int			slot;

	for (int i = 0; i < n_sql_entries; i++)
		if (sql_entries[i].set_id == set_id && sql_entries[i].version == version &&
			sql_entries[i].rebuilt_at == rebuilt_at)
			PG_RETURN_TEXT_P(cstring_to_text(sql_entries[i].sql));
	if (PG_NARGS() < 4 || PG_ARGISNULL(3))
		PG_RETURN_NULL();

	/* remember: replace the set's entry, else the oldest */
	for (slot = 0; slot < n_sql_entries; slot++)
		if (sql_entries[slot].set_id == set_id)
			break;
	if (slot == n_sql_entries)
	{
		if (n_sql_entries < MAX_SQL_ENTRIES)
			n_sql_entries++;
		else
		{
			pfree(sql_entries[0].sql);
			memmove(sql_entries, sql_entries + 1, sizeof(SqlEntry) * (MAX_SQL_ENTRIES - 1));
			slot = MAX_SQL_ENTRIES - 1;
		}
	}
	else
		pfree(sql_entries[slot].sql);
	sql_entries[slot].set_id = set_id;
	sql_entries[slot].version = version;
	sql_entries[slot].rebuilt_at = rebuilt_at;
	sql_entries[slot].sql = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(3)));
	PG_RETURN_TEXT_P(PG_GETARG_TEXT_PP(3));
}
