/*
 * arrays.c — the one validator of array arguments (arrays.h).
 *
 * SQLSTATEs.  A multi-dimensional array is 2202E (array_subscript_error),
 * as PostgreSQL's own functions refuse an array of the wrong shape:
 * width_bucket()'s "thresholds must be one-dimensional array", array_cat()'s
 * incompatible dimensions.  A caller who knows PostgreSQL's codes meets the
 * same code for the same mistake here, and the code says what to fix: the
 * array's shape, not its values (22023 is what fashionrec raises for a value
 * out of its range, such as a negative weight, or two arrays of different
 * lengths).  A NULL element is 22004 (null_value_not_allowed), again as
 * width_bucket() does, and as every other NULL fashionrec refuses.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "arrays.h"

/* the 1-based position of the first NULL element of a (which has one) */
static int
first_null(ArrayType *a)
{
	bits8	   *bitmap = ARR_NULLBITMAP(a);
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));

	for (int i = 0; i < n; i++)
		if (!(bitmap[i / 8] & (1 << (i % 8))))
			return i + 1;
	return 0;
}

int
fr_check_array(ArrayType *a, Oid elemtype, const char *name, bool nulls_ok)
{
	if (ARR_ELEMTYPE(a) != elemtype)
		elog(ERROR, "%s: unexpected array element type %u", name, ARR_ELEMTYPE(a));
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name),
				 errdetail("It has %d dimensions.", ARR_NDIM(a)),
				 errhint("Pass a one-dimensional array, such as ARRAY[1, 2, 3].")));
	if (!nulls_ok && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", name),
				 errdetail("Element %d is NULL.", first_null(a)),
				 errhint("Give every element a value, or drop the NULLs with array_remove(%s, NULL) where positions do not matter.",
						 strchr(name, ' ') ? "a" : name)));
	return ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
}

const void *
fr_array_values(ArrayType *a, Oid elemtype, const char *name, int *n)
{
	*n = fr_check_array(a, elemtype, name, false);
	/* fixed-width elements without NULLs are stored densely, aligned */
	return ARR_DATA_PTR(a);
}

int64 *
fr_int8_array(ArrayType *a, const char *name, int *n)
{
	const int64 *values = fr_array_values(a, INT8OID, name, n);
	int64	   *out = palloc(sizeof(int64) * Max(*n, 1));

	memcpy(out, values, sizeof(int64) * *n);
	return out;
}

int64 *
fr_arg_int8_array(FunctionCallInfo fcinfo, int argno, const char *name, int *n)
{
	*n = 0;
	if (argno < 0 || argno >= PG_NARGS() || PG_ARGISNULL(argno))
		return NULL;
	return fr_int8_array(PG_GETARG_ARRAYTYPE_P(argno), name, n);
}
