/*
 * features_sql.c — the parts of the feature store (src/sql/85_features.sql)
 * that SQL cannot do well:
 *
 *   attribute_tsvector(...)    "column=value" terms as a tsvector whose
 *                              positions carry the column weights;
 *   _color_features(...)       a colour histogram that reports a bad image
 *                              as a reason instead of raising, so a refresh
 *                              needs no subtransaction per image;
 *   _feature_tfidf(...)        tfidf() over a set's vocabulary, kept in
 *                              backend memory.
 *
 * The writers are in features_store.c, the realtime trigger in
 * features_trigger.c.
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

#include "arrays.h"
#include "color.h"
#include "fashionrec.h"
#include "feature_set.h"
#include "image.h"

/* ---- attribute terms ------------------------------------------------------ */

/* the longest lexeme a tsvector holds is 2047 bytes */
#define MAX_TERM_BYTES 2046
/* and a lexeme keeps at most 256 positions */
#define MAX_TERM_WEIGHT 256

/* a text[] argument, checked (arrays.h): names never hold NULL, values may */
static void
deconstruct_text_array(ArrayType *a, const char *name, bool nulls_ok, Datum **elems, bool **nulls, int *n)
{
	fr_check_array(a, TEXTOID, name, nulls_ok);
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
 * The terms "name=value" of the non-NULL (values[i] NULL), non-empty values,
 * each with weights[i] positions so that tfidf() counts the weight as its
 * term frequency.  The tsvector's text form is built and parsed by
 * tsvectorin: it sorts, merges duplicates and checks every limit.
 */
Datum
fr_attribute_tsvector(int n, char **names, char **values, const int32 *weights)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		int			w = weights[i];

		if (w < 0 || w > MAX_TERM_WEIGHT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a weight must be between 0 and %d, got %d", MAX_TERM_WEIGHT, w),
					 errhint("A weight is the term frequency of the column's term.")));
		if (values[i] == NULL || w == 0)
			continue;
		if (*values[i] == '\0' || strlen(names[i]) + 1 + strlen(values[i]) > MAX_TERM_BYTES)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfoChar(&buf, '\'');
		append_escaped(&buf, names[i]);
		appendStringInfoChar(&buf, '=');
		append_escaped(&buf, values[i]);
		appendStringInfoString(&buf, "':1");
		for (int p = 2; p <= w; p++)
			appendStringInfo(&buf, ",%d", p);
	}
	return DirectFunctionCall1(tsvectorin, CStringGetDatum(buf.data));
}

/*
 * fashionrec.attribute_tsvector(names text[], vals text[], weights integer[])
 *     returns tsvector
 *
 * fr_attribute_tsvector() over arrays.  Values are used as given (the caller
 * trims and lower-cases them, as the attributes algorithm does).
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
				n_vals,
				n_weights;
	const int32 *weights;
	char	  **name_s,
			  **value_s;

	deconstruct_text_array(names_a, "names", false, &names, &names_null, &n_names);
	deconstruct_text_array(vals_a, "vals", true, &vals, &vals_null, &n_vals);
	weights = fr_array_values(weights_a, INT4OID, "weights", &n_weights);
	if (n_vals != n_names || n_weights != n_names)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("names, vals and weights must have the same length"),
				 errdetail("names has %d elements, vals %d, weights %d.", n_names, n_vals, n_weights),
				 errhint("Give each column name its value and its weight.")));
	name_s = palloc(sizeof(char *) * Max(n_names, 1));
	value_s = palloc(sizeof(char *) * Max(n_names, 1));
	for (int i = 0; i < n_names; i++)
	{
		name_s[i] = TextDatumGetCString(names[i]);
		value_s[i] = vals_null[i] ? NULL : TextDatumGetCString(vals[i]);
	}
	PG_RETURN_DATUM(fr_attribute_tsvector(n_names, name_s, value_s, weights));
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

/*
 * The vocabulary of a set's version, kept in TopMemoryContext.  Read with
 * the caller's rights: the realtime trigger calls it as the owner.
 */
struct varlena *
fr_feature_vocabulary(int32 set_id, int32 version, TimestampTz rebuilt_at)
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

/* tfidf(vocab, doc): vocab a plain in-memory value, used without a copy */
Datum
fr_feature_tfidf(struct varlena *vocab, Datum doc)
{
	FmgrInfo	flinfo;

	MemSet(&flinfo, 0, sizeof(flinfo));
	flinfo.fn_addr = fashionrec_tfidf;
	flinfo.fn_nargs = 2;
	flinfo.fn_strict = true;
	flinfo.fn_mcxt = CurrentMemoryContext;
	flinfo.fn_oid = InvalidOid;
	return FunctionCall2Coll(&flinfo, InvalidOid, PointerGetDatum(vocab), doc);
}

/*
 * fashionrec._feature_tfidf(set integer, version integer, rebuilt_at timestamptz,
 *     doc tsvector) returns svec: tfidf() over the set's vocabulary.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_tfidf);
Datum
fashionrec_feature_tfidf(PG_FUNCTION_ARGS)
{
	struct varlena *vocab = fr_feature_vocabulary(PG_GETARG_INT32(0), PG_GETARG_INT32(1),
												  PG_GETARG_TIMESTAMPTZ(2));

	return fr_feature_tfidf(vocab, PG_GETARG_DATUM(3));
}
