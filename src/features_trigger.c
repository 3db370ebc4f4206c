/*
 * features_trigger.c — the realtime trigger of a feature set
 * (enable_realtime(), docs/features.md "Realtime").
 *
 * fashionrec._feature_trigger() runs as the role writing the product row and
 * evaluates no expression over the row: it reads the set's columns from the
 * tuple by attribute number, as the types create_feature_set() accepted
 * (checked again on every row: ALTER TABLE can change them), and computes
 * with built-in functions only — no cast, no operator or function a type's
 * owner could have supplied.  Only its fixed statements on fashionrec's
 * tables run as their owner (fr_catalog_begin/end in features_store.c): the
 * writer needs no rights on them.  It acts for its set only on the set's
 * source (or a partition of it), never repointing the set at the table it
 * fires on.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "catalog.h"
#include "feature_set.h"
#include "svec.h"

extern Datum fashionrec_svec_from_array(PG_FUNCTION_ARGS);

/* largest finite real, as the refresh's statement checks it */
#define FR_REAL_MAX 3.4028234663852886e38

/* The computed item of a written row. */
typedef struct FeatureRow
{
	int64		item_id;
	Datum		hash;
	const char *reason;			/* NULL: valid */
	char	   *detail;
	Datum		doc;			/* tfidf, attributes */
	Datum		features;		/* NULL when reason is set */
	int32		terms;
	int32		oov;
	bool		has_terms;
} FeatureRow;

static void
check_trigger_call(FunctionCallInfo fcinfo)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fashionrec._feature_trigger() must be called as a trigger"),
				 errhint("Install it with fashionrec.enable_realtime().")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) || td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fashionrec._feature_trigger() must fire AFTER INSERT, UPDATE or DELETE FOR EACH ROW with the set's id"),
				 errhint("Install it with fashionrec.enable_realtime().")));
}

/*
 * The trigger acts on the set's source, or on a partition of it (a trigger
 * on a partitioned table fires on the partition).  Anywhere else it was
 * attached by hand, to write another table's rows into the set: refused.
 */
static void
check_firing_relation(const FrFeatureSet *fs, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	if (relid == fs->source)
		return;
	if (rel->rd_rel->relispartition && list_member_oid(get_partition_ancestors(relid), fs->source))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the trigger of feature set \"%s\" fired on table %s, which is not the set's source",
					fs->name, RelationGetRelationName(rel)),
			 errdetail("A feature set is computed from its own source only."),
			 errhint("Drop this trigger; fashionrec.enable_realtime() installs the set's trigger on its source.")));
}

/* The tuple's value as text, as the statements' column::text reads it. */
static char *
text_value(HeapTuple tup, TupleDesc desc, AttrNumber att)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);

	if (isnull)
		return NULL;
	switch (TupleDescAttr(desc, att - 1)->atttypid)
	{
		case BPCHAROID:
			d = DirectFunctionCall1(rtrim1, d);
			break;
		case NAMEOID:
			d = DirectFunctionCall1(name_text, d);
			break;
		default:				/* text, varchar */
			break;
	}
	return TextDatumGetCString(d);
}

static bool
item_id(HeapTuple tup, TupleDesc desc, AttrNumber att, int64 *id)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);

	if (isnull)
		return false;
	switch (TupleDescAttr(desc, att - 1)->atttypid)
	{
		case INT2OID:
			*id = DatumGetInt16(d);
			break;
		case INT4OID:
			*id = DatumGetInt32(d);
			break;
		default:
			*id = DatumGetInt64(d);
			break;
	}
	return true;
}

/*
 * sha256(convert_to(ROW(columns)::text, 'UTF8')): the content hash the
 * refresh's statements compute, so that a refresh finds rows the trigger
 * wrote current.  record_out() gives ROW()::text byte for byte.
 */
static Datum
content_hash(HeapTuple tup, TupleDesc desc, const AttrNumber *atts, int n)
{
	TupleDesc	row_desc = CreateTemplateTupleDesc(n);
	Datum	   *values = palloc(sizeof(Datum) * n);
	bool	   *nulls = palloc(sizeof(bool) * n);
	char	   *text;
	char	   *utf8;
	bytea	   *bytes;
	size_t		len;

	for (int i = 0; i < n; i++)
	{
		TupleDescInitEntry(row_desc, i + 1, NULL, TupleDescAttr(desc, atts[i] - 1)->atttypid, -1, 0);
		values[i] = heap_getattr(tup, atts[i], desc, &nulls[i]);
	}
	row_desc = BlessTupleDesc(row_desc);
	text = OidOutputFunctionCall(F_RECORD_OUT,
								 HeapTupleGetDatum(heap_form_tuple(row_desc, values, nulls)));
	len = strlen(text);
	utf8 = pg_server_to_any(text, len, PG_UTF8);
	len = strlen(utf8);
	bytes = palloc(VARHDRSZ + len);
	SET_VARSIZE(bytes, VARHDRSZ + len);
	memcpy(VARDATA(bytes), utf8, len);
	return DirectFunctionCall1(sha256_bytea, PointerGetDatum(bytes));
}

/*
 * tfidf, attributes: the document, as the refresh builds it —
 * to_tsvector(config, concat_ws(' ', text columns)) || attribute_tsvector(
 * names, lower(btrim(column::text)) collated as the column, weights).
 */
static void
compute_document(const FrFeatureSet *fs, HeapTuple tup, TupleDesc desc, const AttrNumber *atts,
				 FeatureRow *row)
{
	bool		all_null = true;
	Datum		doc = (Datum) 0;

	for (int i = 0; i < fs->n_columns; i++)
		if (!heap_attisnull(tup, atts[i], desc))
			all_null = false;

	if (fs->kind == FR_FEATURE_TFIDF)
	{
		StringInfoData buf;
		bool		first = true;

		initStringInfo(&buf);
		for (int i = 0; i < fs->n_texts; i++)
		{
			char	   *v = text_value(tup, desc, atts[fs->texts[i]]);

			if (v == NULL)
				continue;
			if (!first)
				appendStringInfoChar(&buf, ' ');
			appendStringInfoString(&buf, v);
			first = false;
		}
		doc = DirectFunctionCall2(to_tsvector_byid, ObjectIdGetDatum(fs->config),
								  PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len)));
	}
	if (fs->n_attrs > 0)
	{
		char	  **names = palloc(sizeof(char *) * fs->n_attrs);
		char	  **values = palloc(sizeof(char *) * fs->n_attrs);
		Datum		terms;

		for (int i = 0; i < fs->n_attrs; i++)
		{
			AttrNumber	att = atts[fs->attrs[i]];
			char	   *v = text_value(tup, desc, att);

			names[i] = fs->columns[fs->attrs[i]];
			values[i] = NULL;
			if (v != NULL)
			{
				Datum		t = DirectFunctionCall1(btrim1, CStringGetTextDatum(v));

				t = DirectFunctionCall1Coll(lower, TupleDescAttr(desc, att - 1)->attcollation, t);
				values[i] = TextDatumGetCString(t);
			}
		}
		terms = fr_attribute_tsvector(fs->n_attrs, names, values, fs->weights);
		doc = doc == (Datum) 0 ? terms : DirectFunctionCall2(tsvector_concat, doc, terms);
	}
	row->doc = doc;
	row->terms = DatumGetInt32(DirectFunctionCall1(tsvector_length, doc));
	if (all_null)
	{
		StringInfoData cols;

		initStringInfo(&cols);
		for (int i = 0; i < fs->n_columns; i++)
			appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", fs->columns[i]);
		row->reason = "null_columns";
		row->detail = psprintf("Every column of %s is NULL.", cols.data);
	}
	else if (row->terms == 0)
	{
		row->reason = "empty_text";
		row->detail = pstrdup("The document has no terms.");
	}
}

/* tfidf, attributes: the vector over the set's vocabulary */
static void
compute_tfidf(struct varlena *vocab, FeatureRow *row)
{
	FrSvec	   *v;

	if (row->reason != NULL)
		return;
	row->features = fr_feature_tfidf(vocab, row->doc);
	v = DatumGetFrSvec(row->features);
	row->has_terms = true;
	row->oov = row->terms - v->nnz;
}

/* embedding: the checks and conversion of the refresh's statement */
static void
compute_embedding(const FrFeatureSet *fs, HeapTuple tup, TupleDesc desc, AttrNumber att,
				  FeatureRow *row)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);
	ArrayType  *arr;
	Oid			elemtype;
	int			ndims,
				n;
	Datum	   *elems;
	bool	   *nulls;
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	Datum	   *floats;

	if (isnull)
	{
		row->reason = "null_columns";
		row->detail = pstrdup("The embedding is NULL.");
		return;
	}
	arr = DatumGetArrayTypeP(d);
	elemtype = ARR_ELEMTYPE(arr);
	ndims = ARR_NDIM(arr);
	n = ArrayGetNItems(ndims, ARR_DIMS(arr));
	if (ndims != 1 || n != (fs->has_dimension ? fs->dimension : 0))
	{
		row->reason = "wrong_dimension";
		row->detail = psprintf("Expected %s values, got %s.",
							   fs->has_dimension ? psprintf("%d", fs->dimension) : "",
							   ndims > 1
							   ? psprintf("an array of dimensions %s",
										  TextDatumGetCString(DirectFunctionCall1(array_dims, PointerGetDatum(arr))))
							   : psprintf("%d", n));
		return;
	}
	get_typlenbyvalalign(elemtype, &elemlen, &elembyval, &elemalign);
	deconstruct_array(arr, elemtype, elemlen, elembyval, elemalign, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
		{
			row->reason = "null_element";
			row->detail = pstrdup("The embedding has a NULL element.");
			return;
		}
	for (int i = 0; i < n; i++)
	{
		double		x = elemtype == FLOAT4OID ? DatumGetFloat4(elems[i]) : DatumGetFloat8(elems[i]);

		if (isnan(x) || isinf(x) || fabs(x) > FR_REAL_MAX)
		{
			row->reason = "not_finite";
			row->detail = pstrdup("The embedding has a NaN, infinite or out of range value.");
			return;
		}
	}
	floats = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		double		x = elemtype == FLOAT4OID ? DatumGetFloat4(elems[i]) : DatumGetFloat8(elems[i]);
		float4		f = (float4) x;

		/* double precision to real as the cast does it: a tiny value is an error */
		if (f == 0.0f && x != 0.0)
			float_underflow_error();
		floats[i] = Float4GetDatum(f);
	}
	row->features = DirectFunctionCall3(fashionrec_svec_from_array,
										PointerGetDatum(construct_array(floats, n, FLOAT4OID, sizeof(float4),
																		true, TYPALIGN_INT)),
										Int32GetDatum(-1), BoolGetDatum(false));
}

/* An UPDATE that leaves the set's columns as they were writes nothing. */
static bool
columns_unchanged(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc, const AttrNumber *atts, int n)
{
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, atts[i] - 1);
		bool		old_null,
					new_null;
		Datum		o = heap_getattr(oldtup, atts[i], desc, &old_null);
		Datum		v = heap_getattr(newtup, atts[i], desc, &new_null);

		if (old_null != new_null || (!old_null && !datumIsEqual(o, v, a->attbyval, a->attlen)))
			return false;
	}
	return true;
}

/*
 * fashionrec._feature_trigger() returns trigger: AFTER INSERT OR DELETE OR
 * UPDATE OF <id and feature columns> FOR EACH ROW, the set's id its argument.
 */
PG_FUNCTION_INFO_V1(fashionrec_feature_trigger);
Datum
fashionrec_feature_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	oldtup = NULL,
				newtup = NULL;
	FrFeatureSet fs;
	FrCatalogWrite w;
	AttrNumber *atts;			/* id, then the set's columns */
	FeatureRow	row;
	struct varlena *vocab = NULL;
	int64		old_id = 0,
				generation;
	bool		has_old = false,
				has_new = false,
				found;
	int32		set_id;

	check_trigger_call(fcinfo);
	td = (TriggerData *) fcinfo->context;
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	set_id = pg_strtoint32(td->tg_trigger->tgargs[0]);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtup = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
		oldtup = td->tg_trigtuple;

	SPI_connect();
	fr_catalog_begin(&w);
	found = fr_feature_load(set_id, &fs);
	fr_catalog_end(&w);
	/* only as installed by enable_realtime() */
	if (!found || !fs.realtime ||
		strcmp(td->tg_trigger->tgname, psprintf("fashionrec_features_%d", set_id)) != 0)
	{
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	check_firing_relation(&fs, rel);
	atts = palloc(sizeof(AttrNumber) * (fs.n_columns + 1));
	fr_feature_check_columns(RelationGetRelid(rel), fs.kind, fs.id_column, fs.columns, fs.n_columns,
							 fs.name, atts);
	if (oldtup != NULL && newtup != NULL &&
		columns_unchanged(oldtup, newtup, desc, atts, fs.n_columns + 1))
	{
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	memset(&row, 0, sizeof(row));
	if (oldtup != NULL)
		has_old = item_id(oldtup, desc, atts[0], &old_id);
	if (newtup != NULL)
		has_new = item_id(newtup, desc, atts[0], &row.item_id);

	if (fs.kind == FR_FEATURE_COLORS)
	{
		/* decoding images in the writer's transaction would be too slow */
		int64		ids[2];
		int			n = 0;

		if (has_new)
			ids[n++] = row.item_id;
		if (has_old)
			ids[n++] = old_id;
		if (n > 0)
		{
			fr_catalog_begin(&w);
			fr_feature_queue(fs.id, ids, n);
			fr_catalog_end(&w);
		}
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	/* the row lock first: a rebuild that committed meanwhile is then seen */
	fr_catalog_begin(&w);
	generation = fr_feature_generation(&fs);
	if (has_new && fs.kind != FR_FEATURE_EMBEDDING)
	{
		if (!fs.has_rebuilt_at)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("feature set \"%s\" has not been built yet", fs.name),
					 errhint("Build it with fashionrec.refresh_features('%s').", fs.name)));
		vocab = fr_feature_vocabulary(fs.id, fs.vocabulary_version, fs.rebuilt_at);
	}
	fr_catalog_end(&w);

	/* computed as the writer */
	if (has_new)
	{
		row.hash = content_hash(newtup, desc, atts + 1, fs.n_columns);
		if (fs.kind == FR_FEATURE_EMBEDDING)
			compute_embedding(&fs, newtup, desc, atts[1], &row);
		else
		{
			compute_document(&fs, newtup, desc, atts + 1, &row);
			compute_tfidf(vocab, &row);
		}
	}

	fr_catalog_begin(&w);
	if (has_old && (!has_new || old_id != row.item_id))
		fr_feature_tombstone(fs.id, &old_id, 1, generation);
	if (has_new)
	{
		Datum		id = Int64GetDatum(row.item_id);
		bool		features_null = row.reason != NULL;
		bool		terms_null = !row.has_terms;
		bool		reason_null = row.reason == NULL;
		Datum		terms = Int32GetDatum(row.terms);
		Datum		oov = Int32GetDatum(row.oov);
		Datum		reason = reason_null ? (Datum) 0 : CStringGetTextDatum(row.reason);
		Datum		detail = reason_null ? (Datum) 0 : CStringGetTextDatum(row.detail);

		fr_feature_store(&fs, generation, 1, &id, &row.features, &features_null, &row.hash,
						 &terms, &terms_null, &oov, &terms_null, &reason, &reason_null,
						 &detail, &reason_null, true);
	}
	fr_catalog_end(&w);
	SPI_finish();
	return PointerGetDatum(NULL);
}
