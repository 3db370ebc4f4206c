/*
 * drift.c — a model version's training profile, for drift() and retrain()
 * (src/sql/70_monitoring.sql).
 *
 * Every trained model stores its id maps, each user's training items ("seen")
 * and each item's summed training weight as artifacts (registry.c).  That is
 * the fingerprint drift needs: the item popularity and user activity
 * distributions of the training data, and which (user, item) pairs it held.
 * These functions read them back as rows, checked as a model load checks
 * them (fr_model_open_profile); the statistics are SQL.
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
	FrModel    *model;

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open_profile(PG_GETARG_INT64(0), false);
	for (int32 i = 0; i < model->n_items; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = Int64GetDatum(model->item_ids[i]);
		values[1] = Float8GetDatum((double) model->item_popularity[i]);
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
	FrModel    *model;

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open_profile(PG_GETARG_INT64(0), true);
	for (int32 u = 0; u < model->n_users; u++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = Int64GetDatum(model->user_ids[u]);
		values[1] = Int64GetDatum(model->seen_indptr[u + 1] - model->seen_indptr[u]);
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
	FrModel    *model;

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open_profile(PG_GETARG_INT64(0), true);
	for (int32 u = 0; u < model->n_users; u++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int64 j = model->seen_indptr[u]; j < model->seen_indptr[u + 1]; j++)
		{
			Datum		values[2];
			bool		nulls[2] = {0};

			values[0] = Int64GetDatum(model->user_ids[u]);
			values[1] = Int64GetDatum(model->item_ids[model->seen_indices[j]]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
