/*
 * catalog.c — writing fashionrec's own tables with their owner's rights.
 *
 * No role but the tables' owner (the role that ran CREATE EXTENSION) may
 * write the extension's tables: an INSERT or UPDATE by a trainer could
 * repoint another role's model at a query of the trainer's choosing, or
 * plant artifact bytes the serving code trusts (docs/reliability.md,
 * "Security model").  Writes therefore go through the API functions, and
 * these are of two kinds:
 *
 *   - functions that run no SQL of the caller's are SECURITY DEFINER in the
 *     install script (activate(), create_experiment(), ...);
 *   - functions that read a caller's source (train(), refresh_features(),
 *     the realtime trigger) must read it with the caller's rights, so they
 *     run as the caller and switch to the owner only around the fixed
 *     statements that store their results — here, the way PostgreSQL itself
 *     runs REFRESH MATERIALIZED VIEW as the view's owner.
 *
 * The switch is a security-restricted operation with search_path pinned, so
 * nothing the caller set up (a temporary table, a function or operator in
 * their schema) can stand in for what the statements name.  On an error the
 * transaction's (or subtransaction's) abort restores the caller's identity
 * and settings, so fr_catalog_end() is only needed on success.
 *
 * Stored sources are the other half: whoever wrote a query into the registry
 * is recorded with it (created_by), and the query is run later only by a role
 * its author already holds the rights of (fashionrec._check_author()), never
 * by an administrator or a pg_cron job of another role.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "fashionrec.h"

/* The owner of the registry table is the owner of every catalog table. */
Oid
fr_catalog_owner(void)
{
	Oid			relid = get_relname_relid("model", get_namespace_oid(FR_SCHEMA, false));
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "table fashionrec.model is missing");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

void
fr_catalog_begin(FrCatalogWrite *w)
{
	Oid			owner = fr_catalog_owner();

	GetUserIdAndSecContext(&w->saved_user, &w->saved_context);
	SetUserIdAndSecContext(owner, w->saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	w->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
fr_catalog_end(FrCatalogWrite *w)
{
	AtEOXact_GUC(false, w->guc_nest);
	SetUserIdAndSecContext(w->saved_user, w->saved_context);
}

/* The role the caller's code runs as: the author of what it stores. */
char *
fr_current_role_name(void)
{
	return GetUserNameFromId(GetUserId(), false);
}

/*
 * fashionrec._session_role() returns name: the session's role after SET ROLE,
 * which a SECURITY DEFINER function records as who acted (CURRENT_USER there
 * is the definer).
 */
PG_FUNCTION_INFO_V1(fashionrec_session_role);
Datum
fashionrec_session_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false))));
}

/*
 * fashionrec._model_begin(name text, algorithm text, params jsonb, source text)
 * returns bigint: a new version row in status 'training', authored by the
 * caller.  Trainings of one name queue on the name's row in
 * fashionrec.model_queue (see there), so that each gets the next version
 * number.
 */
PG_FUNCTION_INFO_V1(fashionrec_model_begin);
Datum
fashionrec_model_begin(PG_FUNCTION_ARGS)
{
	Oid			types[5] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID, NAMEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *author = fr_current_role_name();
	FrCatalogWrite w;
	bool		isnull;
	int64		model_id;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, algorithm and params must not be NULL")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	if (PG_ARGISNULL(3))
		nulls[3] = 'n';
	else
		values[3] = PG_GETARG_DATUM(3);
	values[4] = DirectFunctionCall1(namein, CStringGetDatum(author));

	SPI_connect();
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("SELECT fashionrec._queue($1, 'train')",
							   1, types, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not queue the training: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args("INSERT INTO fashionrec.model (name, version, algorithm, params, source, created_by)"
							   " SELECT $1, COALESCE(max(m.version), 0) + 1, $2, $3, $4, $5"
							   "   FROM fashionrec.model m WHERE m.name = $1"
							   " RETURNING id",
							   5, types, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not register a model version: %s", SPI_result_code_string(rc));
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	fr_catalog_end(&w);
	SPI_finish();
	PG_RETURN_INT64(model_id);
}

/* "version 2 of model "shop"" for error messages, or the row id when gone */
static char *
describe_model_row(int64 model_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	char	   *what;
	int			rc;

	values[0] = Int64GetDatum(model_id);
	SPI_connect();
	rc = SPI_execute_with_args("SELECT format('version %s of model \"%s\"', m.version, m.name)"
							   "  FROM fashionrec.model m WHERE m.id = $1",
							   1, types, values, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
		what = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	else
		what = psprintf("model row %lld", (long long) model_id);
	what = MemoryContextStrdup(CurTransactionContext, what);
	SPI_finish();
	return what;
}

/*
 * Refuse to add to a version row unless it is still training and the caller
 * started it: a trainer must not plant artifacts in another role's model.
 */
void
fr_require_own_training(int64 model_id)
{
	Oid			types[2] = {INT8OID, NAMEOID};
	Datum		values[2];
	int			rc;
	uint64		found;

	values[0] = Int64GetDatum(model_id);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(fr_current_role_name()));
	SPI_connect();
	rc = SPI_execute_with_args("SELECT FROM fashionrec.model m"
							   " WHERE m.id = $1 AND m.status = 'training' AND m.created_by = $2",
							   2, types, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read model row: %s", SPI_result_code_string(rc));
	found = SPI_processed;
	SPI_finish();
	if (found != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s is not a training started by role \"%s\"",
						describe_model_row(model_id), fr_current_role_name()),
				 errhint("Train models with fashionrec.train().")));
}

/*
 * fashionrec._model_finish(model_id bigint, result jsonb, seconds double
 * precision): mark the caller's training ready with what it measured.
 */
PG_FUNCTION_INFO_V1(fashionrec_model_finish);
Datum
fashionrec_model_finish(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {INT8OID, JSONBOID, FLOAT8OID};
	Datum		values[3];
	FrCatalogWrite w;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_id, result and seconds must not be NULL")));
	fr_require_own_training(PG_GETARG_INT64(0));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);

	SPI_connect();
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("UPDATE fashionrec.model m"
							   "   SET status = 'ready', info = $2 -> 'info',"
							   "       data = ($2 - 'info') || fashionrec._artifact_stamp(),"
							   "       trained_at = clock_timestamp(), training_seconds = $3"
							   " WHERE m.id = $1",
							   3, types, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not finish model row %lld: %s", (long long) PG_GETARG_INT64(0),
			 SPI_result_code_string(rc));
	fr_catalog_end(&w);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * fashionrec._model_restate(model_id bigint, source text, params jsonb, info
 * jsonb): retrain() trains its challenger on a temporary split, then records
 * the source and params a later retraining would read (NULL keeps them) and
 * marks it a trial.  Only for a version the caller trained, so the source
 * stays the caller's own.
 */
PG_FUNCTION_INFO_V1(fashionrec_model_restate);
Datum
fashionrec_model_restate(PG_FUNCTION_ARGS)
{
	Oid			types[5] = {INT8OID, TEXTOID, JSONBOID, JSONBOID, NAMEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *caller = fr_current_role_name();
	FrCatalogWrite w;
	int			rc;
	uint64		updated;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model_id must not be NULL")));
	for (int i = 0; i < 4; i++)
	{
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i);
	}
	values[4] = DirectFunctionCall1(namein, CStringGetDatum(caller));

	SPI_connect();
	fr_catalog_begin(&w);
	rc = SPI_execute_with_args("UPDATE fashionrec.model m"
							   "   SET status = 'trial', source = COALESCE($2, m.source),"
							   "       params = COALESCE($3, m.params),"
							   "       info = COALESCE(m.info, '{}') || COALESCE($4, '{}')"
							   " WHERE m.id = $1 AND m.created_by = $5 AND m.status = 'ready' AND NOT m.active",
							   5, types, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not update model row: %s", SPI_result_code_string(rc));
	updated = SPI_processed;
	fr_catalog_end(&w);
	SPI_finish();
	if (updated != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s is not an inactive version trained by role \"%s\"",
						describe_model_row(PG_GETARG_INT64(0)), caller)));
	PG_RETURN_VOID();
}

/*
 * fashionrec._outside_transaction_block() returns boolean: whether a
 * procedure CALLed now may COMMIT.  retrain() commits the log row of a failed
 * run and then raises, so that pg_cron records the run as failed; inside a
 * caller's transaction block it cannot commit and only warns.
 */
PG_FUNCTION_INFO_V1(fashionrec_outside_transaction_block);
Datum
fashionrec_outside_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!IsTransactionBlock());
}
