/*
 * features_compat.c — entry points that only the 0.1 install script names.
 *
 * A server whose library is replaced by 0.2 keeps running its databases'
 * 0.1 SQL until ALTER EXTENSION fashionrec UPDATE (test/upgrade.sh).  0.1's
 * realtime trigger calls these two functions, which 0.2 no longer needs (its
 * trigger is C, src/features_trigger.c); they are kept, so that product
 * writes keep working in that window.  Delete them when 0.1 is no longer an
 * upgrade source.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "feature_set.h"

/* 0.1's fashionrec._feature_generation(feature_set integer): the generation protocol of today */
PG_FUNCTION_INFO_V1(fashionrec_feature_generation);
Datum
fashionrec_feature_generation(PG_FUNCTION_ARGS)
{
	FrFeatureSet fs = {0};
	int64		generation;

	fs.id = PG_GETARG_INT32(0);
	SPI_connect();
	generation = fr_feature_generation(&fs);
	SPI_finish();
	PG_RETURN_INT64(generation);
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
