/*
 * algorithms.c — the table of recommendation algorithms train() knows.
 *
 * Each algorithm lives in its own pair of files: the kernel (plain C, e.g.
 * als.c) and its glue (e.g. als_model.c) which defines the FrAlgorithm below.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "fashionrec.h"
#include "model.h"

extern const FrAlgorithm fr_popularity_algorithm;
extern const FrAlgorithm fr_ease_algorithm;
extern const FrAlgorithm fr_svd_algorithm;
extern const FrAlgorithm fr_itemknn_algorithm;
extern const FrAlgorithm fr_als_algorithm;
extern const FrAlgorithm fr_mf_algorithm;
extern const FrAlgorithm fr_embedding_algorithm;
extern const FrAlgorithm fr_tfidf_algorithm;
extern const FrAlgorithm fr_attributes_algorithm;
extern const FrAlgorithm fr_features_algorithm;
extern const FrAlgorithm fr_sequence_algorithm;
extern const FrAlgorithm fr_hybrid_algorithm;
extern const FrAlgorithm fr_featurefm_algorithm;

static const FrAlgorithm *const algorithms[] = {
	&fr_popularity_algorithm,
	&fr_ease_algorithm,
	&fr_svd_algorithm,
	&fr_itemknn_algorithm,
	&fr_als_algorithm,
	&fr_mf_algorithm,
	&fr_embedding_algorithm,
	&fr_tfidf_algorithm,
	&fr_attributes_algorithm,
	&fr_features_algorithm,
	&fr_sequence_algorithm,
	&fr_hybrid_algorithm,
	&fr_featurefm_algorithm,
};

const FrAlgorithm *
fr_algorithm_lookup(const char *name, bool missing_ok)
{
	for (int i = 0; i < lengthof(algorithms); i++)
		if (strcmp(algorithms[i]->name, name) == 0)
			return algorithms[i];
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", name),
				 errhint("Known algorithms: %s.", fr_algorithm_names())));
	return NULL;
}

const char *
fr_algorithm_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(algorithms); i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", algorithms[i]->name);
	return buf.data;
}

/*
 * fashionrec.algorithms() returns table(name text, summary text,
 *     predicts_ratings boolean, parameters text[])
 */
PG_FUNCTION_INFO_V1(fashionrec_algorithms);
Datum
fashionrec_algorithms(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(algorithms); i++)
	{
		const FrAlgorithm *a = algorithms[i];
		Datum		values[4];
		bool		nulls[4] = {0};
		int			n = 0;
		Datum	   *keys;

		for (const FrParamSpec *s = a->param_specs; s && s->key; s++)
			n++;
		keys = palloc(sizeof(Datum) * Max(n, 1));
		n = 0;
		for (const FrParamSpec *s = a->param_specs; s && s->key; s++)
			keys[n++] = CStringGetTextDatum(s->key);

		values[0] = CStringGetTextDatum(a->name);
		values[1] = CStringGetTextDatum(a->summary);
		values[2] = BoolGetDatum(a->predicts_ratings);
		values[3] = PointerGetDatum(construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
