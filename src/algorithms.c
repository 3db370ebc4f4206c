/*
 * algorithms.c — the table of recommendation algorithms train() knows.
 *
 * Each algorithm lives in its own pair of files: the kernel (plain C, e.g.
 * als.c) and its glue (e.g. als_model.c) which defines the FrAlgorithm below.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "model.h"

extern const FrAlgorithm fr_popularity_algorithm;

static const FrAlgorithm *const algorithms[] = {
	&fr_popularity_algorithm,
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
