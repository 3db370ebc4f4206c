/*
 * params.c — hyper-parameters from jsonb into C structs.
 *
 * Each algorithm describes its parameters as a table (FrParamSpec); one
 * parser validates them all the same way: unknown keys, wrong types and
 * values out of range are errors that name the key and say what is allowed.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "model.h"

static const FrParamSpec *
find_spec(const FrParamSpec *specs, const char *key)
{
	for (; specs && specs->key; specs++)
		if (strcmp(specs->key, key) == 0)
			return specs;
	return NULL;
}

static char *
spec_keys(const FrParamSpec *a, const FrParamSpec *b)
{
	StringInfoData buf;
	const FrParamSpec *lists[2] = {a, b};

	initStringInfo(&buf);
	for (int l = 0; l < 2; l++)
		for (const FrParamSpec *s = lists[l]; s && s->key; s++)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", s->key);
	return buf.data;
}

static char *
choice_list(const char *const *choices)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; choices[i]; i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", choices[i]);
	return buf.data;
}

static const char *
jbv_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		default:
			return "an array or object";
	}
}

static void
bad_param(const char *algorithm, const char *key, const char *expected, JsonbValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\" of algorithm \"%s\"", key, algorithm),
			 errdetail("Expected %s, got %s.", expected, jbv_type_name(v)),
			 errhint("Leave \"%s\" out for its default, or write it as %s.", key, expected)));
}

static void
out_of_range(const char *algorithm, const FrParamSpec *spec, double value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("parameter \"%s\" of algorithm \"%s\" is out of range", spec->key, algorithm),
			 errdetail("The value %g is not between %g and %g.", value, spec->min, spec->max),
			 spec->type == FR_PARAM_INT
			 ? errhint("Give \"%s\" a value from %.0f to %.0f, or leave it out for its default.",
					   spec->key, spec->min, spec->max)
			 : errhint("Give \"%s\" a value from %g to %g, or leave it out for its default.",
					   spec->key, spec->min, spec->max)));
}

static void
store_param(const char *algorithm, const FrParamSpec *spec, JsonbValue *v, void *out)
{
	char	   *field = (char *) out + spec->offset;

	switch (spec->type)
	{
		case FR_PARAM_INT:
		case FR_PARAM_REAL:
			{
				double		d;

				if (v->type != jbvNumeric)
					bad_param(algorithm, spec->key,
							  spec->type == FR_PARAM_INT ? "an integer" : "a number", v);
				d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													   NumericGetDatum(v->val.numeric)));
				if (!isfinite(d) || d < spec->min || d > spec->max)
					out_of_range(algorithm, spec, d);
				if (spec->type == FR_PARAM_INT)
				{
					if (d != floor(d))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("parameter \"%s\" of algorithm \"%s\" must be an integer",
										spec->key, algorithm),
								 errdetail("Got %g.", d),
								 errhint("Give \"%s\" a whole number.", spec->key)));
					*(int32 *) field = (int32) d;
				}
				else
					*(double *) field = d;
				break;
			}
		case FR_PARAM_BOOL:
			if (v->type != jbvBool)
				bad_param(algorithm, spec->key, "true or false", v);
			*(bool *) field = v->val.boolean;
			break;
		case FR_PARAM_CHOICE:
			{
				char	   *s;

				if (v->type != jbvString)
					bad_param(algorithm, spec->key, psprintf("one of %s", choice_list(spec->choices)), v);
				s = pnstrdup(v->val.string.val, v->val.string.len);
				for (int i = 0; spec->choices[i]; i++)
					if (strcmp(spec->choices[i], s) == 0)
					{
						*(int32 *) field = i;
						return;
					}
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value \"%s\" for parameter \"%s\" of algorithm \"%s\"",
								s, spec->key, algorithm),
						 errhint("Allowed values: %s.", choice_list(spec->choices))));
				break;
			}
		case FR_PARAM_TEXT:
			/* a nested object or array arrives as its JSON text */
			if (v->type == jbvBinary)
				*(char **) field = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			else if (v->type == jbvString)
				*(char **) field = pnstrdup(v->val.string.val, v->val.string.len);
			else
				bad_param(algorithm, spec->key, "a string", v);
			break;
	}
}

void
fr_params_parse(Jsonb *params, const char *algorithm,
				const FrParamSpec *specs, void *out,
				const FrParamSpec *extra_specs, void *extra_out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (params == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters of algorithm \"%s\" must be a JSON object", algorithm),
				 errhint("Write them as '{\"key\": value, ...}'::jsonb.")));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		const FrParamSpec *spec;
		void	   *target = out;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		spec = find_spec(specs, key);
		if (spec == NULL)
		{
			spec = find_spec(extra_specs, key);
			target = extra_out;
		}
		if (spec == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for algorithm \"%s\"", key, algorithm),
					 errhint("Valid parameters: %s.", spec_keys(specs, extra_specs))));

		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		store_param(algorithm, spec, &v, target);
	}
}

static void
info_key(FrTrainJob *job, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(&job->info, WJB_KEY, &k);
}

void
fr_info_add_real(FrTrainJob *job, const char *key, double value)
{
	JsonbValue	v;

	info_key(job, key);
	v.type = jbvNumeric;
	if (isfinite(value))
		v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric, Float8GetDatum(value)));
	else
		v.type = jbvNull;
	pushJsonbValue(&job->info, WJB_VALUE, &v);
}

void
fr_info_add_int(FrTrainJob *job, const char *key, int64 value)
{
	JsonbValue	v;

	info_key(job, key);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value)));
	pushJsonbValue(&job->info, WJB_VALUE, &v);
}

/* a JSON array of integers, e.g. the feature sets a model reads ("feature_sets") */
void
fr_info_add_int_array(FrTrainJob *job, const char *key, const int32 *values, int n)
{
	JsonbValue	v;

	info_key(job, key);
	pushJsonbValue(&job->info, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int4_numeric, Int32GetDatum(values[i])));
		pushJsonbValue(&job->info, WJB_ELEM, &v);
	}
	pushJsonbValue(&job->info, WJB_END_ARRAY, NULL);
}
