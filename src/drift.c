/*
 * drift.c — a model version's training profile, for drift() and retrain()
 * (src/sql/70_monitoring.sql).
 *
 * Every trained model stores its id maps, each user's training items ("seen")
 * and each item's summed training weight as artifacts (registry.c).  That is
 * the fingerprint drift needs: the item popularity and user activity
 * distributions of the training data, and which (user, item) pairs it held.
 * These functions read them back as rows; the statistics are SQL.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "fashionrec.h"
#include "model.h"

/*
 * fashionrec._item_popularity(model_id bigint) returns table(item_id bigint,
 *     weight float8): each training item and its summed training weight.
 */
PG_FUNCTION_INFO_V1(fashionrec_item_popularity);
Datum
fashionrec_item_popularity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		model_id = PG_GETARG_INT64(0);
	int64		n_items,
				n_pop;
	int64	   *item_ids;
	float	   *popularity;

	InitMaterializedSRF(fcinfo, 0);
	item_ids = fr_artifact_get(model_id, "item_ids", FR_I64, &n_items, NULL, false);
	popularity = fr_artifact_get(model_id, "item_popularity", FR_F32, &n_pop, NULL, false);
	if (n_pop != n_items)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model row %lld has %lld item ids but %lld popularity values",
						(long long) model_id, (long long) n_items, (long long) n_pop)));
	for (int64 i = 0; i < n_items; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = Int64GetDatum(item_ids[i]);
		values[1] = Float8GetDatum((double) popularity[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * fashionrec._user_activity(model_id bigint) returns table(user_id bigint,
 *     items bigint): each training user and the number of distinct items they
 *     had in the training data.
 */
PG_FUNCTION_INFO_V1(fashionrec_user_activity);
Datum
fashionrec_user_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		model_id = PG_GETARG_INT64(0);
	int64		n_users,
				n_indptr;
	int64	   *user_ids;
	int64	   *indptr;

	InitMaterializedSRF(fcinfo, 0);
	user_ids = fr_artifact_get(model_id, "user_ids", FR_I64, &n_users, NULL, false);
	indptr = fr_artifact_get(model_id, "seen_indptr", FR_I64, &n_indptr, NULL, false);
	if (n_indptr != n_users + 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model row %lld has inconsistent artifacts", (long long) model_id)));
	for (int64 u = 0; u < n_users; u++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = Int64GetDatum(user_ids[u]);
		values[1] = Int64GetDatum(indptr[u + 1] - indptr[u]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * fashionrec._training_pairs(model_id bigint) returns table(user_id bigint,
 *     item_id bigint): the (user, item) pairs the version was trained on.
 */
PG_FUNCTION_INFO_V1(fashionrec_training_pairs);
Datum
fashionrec_training_pairs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		model_id = PG_GETARG_INT64(0);
	int64		n_users,
				n_items,
				n_indptr,
				nnz;
	int64	   *user_ids;
	int64	   *item_ids;
	int64	   *indptr;
	int32	   *indices;

	InitMaterializedSRF(fcinfo, 0);
	user_ids = fr_artifact_get(model_id, "user_ids", FR_I64, &n_users, NULL, false);
	item_ids = fr_artifact_get(model_id, "item_ids", FR_I64, &n_items, NULL, false);
	indptr = fr_artifact_get(model_id, "seen_indptr", FR_I64, &n_indptr, NULL, false);
	indices = fr_artifact_get(model_id, "seen_indices", FR_I32, &nnz, NULL, false);
	if (n_indptr != n_users + 1 || indptr[n_users] != nnz)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model row %lld has inconsistent artifacts", (long long) model_id)));
	for (int64 u = 0; u < n_users; u++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int64 j = indptr[u]; j < indptr[u + 1]; j++)
		{
			Datum		values[2];
			bool		nulls[2] = {0};

			if (indices[j] < 0 || indices[j] >= n_items)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("model row %lld has inconsistent artifacts", (long long) model_id)));
			values[0] = Int64GetDatum(user_ids[u]);
			values[1] = Int64GetDatum(item_ids[indices[j]]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
