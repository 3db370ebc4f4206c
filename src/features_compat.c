/*
 * features_compat.c — entry points that only the 0.1 install script names.
 *
 * A server whose library is replaced by 0.2 keeps running its databases'
 * 0.1 SQL until ALTER EXTENSION fashionrec UPDATE (test/upgrade.sh).  0.1's
 * realtime trigger calls these two functions, which 0.2 no longer needs (its
 * trigger is C, src/features_trigger.c); they are kept as 0.1 wrote them, so
 * that product writes keep working in that window.  Delete them when 0.1 is
 * no longer an upgrade source.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"


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
