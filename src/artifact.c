/*
 * artifact.c — a trained model's arrays, stored in fashionrec.artifact.
 *
 * An artifact is one named array (factors, neighbour lists, id maps) stored
 * as raw bytes in bytea chunks of at most FR_CHUNK_BYTES, so a model loads
 * with a handful of rows and memcpy()s rather than one row per number.  The
 * column is STORAGE EXTERNAL: floats do not compress, and skipping pglz makes
 * loading a plain read.  Bytes are in the server's native layout, like every
 * other PostgreSQL data file: a dump restored on another architecture with a
 * different endianness would have to retrain.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "model.h"

#define FR_CHUNK_BYTES ((size_t) 64 * 1024 * 1024)

size_t
fr_dtype_size(FrDtype dtype)
{
	switch (dtype)
	{
		case FR_F32:
		case FR_I32:
			return 4;
		case FR_F64:
		case FR_I64:
			return 8;
		case FR_BYTES:
			return 1;
	}
	elog(ERROR, "unknown artifact dtype %d", (int) dtype);
	return 0;
}

void
fr_artifact_put(int64 model_id, const char *name, FrDtype dtype,
				int64 nrows, int32 ncols, const void *data)
{
	size_t		total = mul_size(mul_size((size_t) nrows, (size_t) ncols), fr_dtype_size(dtype));
	size_t		offset = 0;
	int32		chunk = 0;
	Oid			argtypes[7] = {INT8OID, TEXTOID, INT4OID, CHAROID, INT8OID, INT4OID, BYTEAOID};
	FrCatalogWrite w;

	SPI_connect();
	fr_catalog_begin(&w);
	do
	{
		size_t		len = Min(total - offset, FR_CHUNK_BYTES);
		bytea	   *bytes = palloc(VARHDRSZ + len);
		Datum		values[7];
		int			rc;

		SET_VARSIZE(bytes, VARHDRSZ + len);
		if (len > 0)
			memcpy(VARDATA(bytes), (const char *) data + offset, len);
		values[0] = Int64GetDatum(model_id);
		values[1] = CStringGetTextDatum(name);
		values[2] = Int32GetDatum(chunk);
		values[3] = CharGetDatum((char) dtype);
		values[4] = Int64GetDatum(nrows);
		values[5] = Int32GetDatum(ncols);
		values[6] = PointerGetDatum(bytes);
		rc = SPI_execute_with_args("INSERT INTO fashionrec.artifact"
								   " (model_id, name, chunk, dtype, nrows, ncols, data)"
								   " VALUES ($1, $2, $3, $4, $5, $6, $7)",
								   7, argtypes, values, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not store artifact \"%s\": %s", name, SPI_result_code_string(rc));
		pfree(bytes);
		offset += len;
		chunk++;
	} while (offset < total);
	fr_catalog_end(&w);
	SPI_finish();
}

void *
fr_artifact_get(int64 model_id, const char *name, FrDtype dtype,
				int64 *nrows_out, int32 *ncols_out, bool missing_ok)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char	   *result = NULL;
	size_t		total = 0;
	size_t		offset = 0;
	int64		nrows = 0;
	int32		ncols = 0;
	int			rc;

	/* a version attached from the shared model store reads its mapping (model.c) */
	if (fr_model_share_read(model_id, name, dtype, nrows_out, ncols_out, (void **) &result))
		return result;

	values[0] = Int64GetDatum(model_id);
	values[1] = CStringGetTextDatum(name);

	SPI_connect();
	rc = SPI_execute_with_args("SELECT dtype, nrows, ncols, data FROM fashionrec.artifact"
							   " WHERE model_id = $1 AND name = $2 ORDER BY chunk",
							   2, argtypes, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read artifact \"%s\": %s", name, SPI_result_code_string(rc));

	if (SPI_processed == 0)
	{
		SPI_finish();
		if (missing_ok)
		{
			fr_model_share_note(model_id, name, dtype, -1, 0, NULL);
			return NULL;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has no artifact \"%s\"", (long long) model_id, name),
				 errhint("The model's stored data is incomplete; train it again.")));
	}

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char		stored_dtype = DatumGetChar(SPI_getbinval(tup, desc, 1, &isnull));
		bytea	   *bytes;
		size_t		len;

		if (i == 0)
		{
			nrows = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			ncols = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
			if (stored_dtype != (char) dtype || nrows < 0 || ncols < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("artifact \"%s\" of model %lld has an unexpected type",
								name, (long long) model_id)));
			total = mul_size(mul_size((size_t) nrows, (size_t) ncols), fr_dtype_size(dtype));
			result = MemoryContextAllocExtended(caller, total ? total : 1, MCXT_ALLOC_HUGE);
		}
		bytes = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
		len = VARSIZE_ANY_EXHDR(bytes);
		if (isnull || offset + len > total)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("artifact \"%s\" of model %lld is larger than its dimensions",
							name, (long long) model_id)));
		memcpy(result + offset, VARDATA_ANY(bytes), len);
		offset += len;
	}
	SPI_finish();

	if (offset != total)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("artifact \"%s\" of model %lld is truncated", name, (long long) model_id)));
	if (nrows_out)
		*nrows_out = nrows;
	if (ncols_out)
		*ncols_out = ncols;
	fr_model_share_note(model_id, name, dtype, nrows, ncols, result);
	return result;
}

/*
 * The artifact format.  Artifacts are raw arrays in the writing server's
 * byte order, so that a load is a memcpy (see the file header); every
 * version records the format, the byte order and the library that wrote it
 * (fr_artifact_stamp(), stored in model.data by _model_finish), and a load
 * refuses what this library cannot read as it was meant — a newer format, or
 * the other byte order after a dump was restored on another architecture —
 * rather than misreading it.  Raise FR_ARTIFACT_FORMAT when the meaning of a
 * stored array changes, and keep reading the formats still in the field.
 */
#define FR_ARTIFACT_FORMAT 1

static const char *
native_byte_order(void)
{
#ifdef WORDS_BIGENDIAN
	return "big-endian";
#else
	return "little-endian";
#endif
}

/* fashionrec._artifact_stamp() returns jsonb: what a version records of its writer */
PG_FUNCTION_INFO_V1(fashionrec_artifact_stamp);
Datum
fashionrec_artifact_stamp(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(
		psprintf("{\"artifact_format\": %d, \"byte_order\": \"%s\", \"library_version\": \"%s\"}",
				 FR_ARTIFACT_FORMAT, native_byte_order(), FR_VERSION))));
}

void
fr_check_artifact_format(int64 model_id, const char *name, int32 version)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	char	   *format = NULL;
	char	   *byte_order = NULL;
	char	   *writer = NULL;

	SPI_connect();
	if (SPI_execute_with_args("SELECT m.data ->> 'artifact_format', m.data ->> 'byte_order',"
							  "       m.data ->> 'library_version'"
							  "  FROM fashionrec.model m WHERE m.id = $1",
							  1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		format = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		byte_order = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		writer = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		format = format ? pstrdup(format) : NULL;
		byte_order = byte_order ? pstrdup(byte_order) : NULL;
		writer = writer ? pstrdup(writer) : NULL;
	}
	SPI_finish();

	/* versions of 0.1 carry no stamp; the update to 0.2 stamps them as format 1 */
	if (format != NULL && strcmp(format, "1") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("version %d of model \"%s\" was written in artifact format %s, which this library cannot read",
						version, name, format),
				 errdetail("It was written by fashionrec %s; fashionrec %s reads format %d.",
						   writer ? writer : "(unknown)", FR_VERSION, FR_ARTIFACT_FORMAT),
				 errhint("Train the model again, or serve it with the library that wrote it.")));
	if (byte_order != NULL && strcmp(byte_order, native_byte_order()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("version %d of model \"%s\" was written on a %s server and this one is %s",
						version, name, byte_order, native_byte_order()),
				 errdetail("Artifacts are stored as raw arrays in the writing server's byte order, so that loading is a copy."),
				 errhint("Train the model again on this server.")));
}
