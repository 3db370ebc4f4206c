/*
 * arrays.h — the one validator of array arguments (arrays.c).
 *
 * Every function that takes an array (serving filters and histories,
 * metrics, A/B statistics, feature-store terms, latency histograms, svec
 * casts, embeddings read from a source) checks it here, so a malformed
 * array is refused the same way whatever the function:
 *
 *   more than one dimension   22023  "<name> must be a one-dimensional array"
 *   a NULL element            22004  "<name> must not contain NULL elements"
 *
 * An empty array ('{}', zero dimensions) is a list of no elements; a lower
 * bound other than 1 ('[0:1]={5,6}') is a list like any other.
 */
#ifndef FR_ARRAYS_H
#define FR_ARRAYS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

/*
 * Refuse an array of more than one dimension and, unless nulls_ok, one with
 * a NULL element; returns the number of elements.  The element type is the
 * SQL signature's business: a mismatch is an internal error.
 */
extern int	fr_check_array(ArrayType *a, Oid elemtype, const char *name, bool nulls_ok);

/*
 * The elements of a checked array of a fixed-width type without NULLs
 * (bigint, integer, real, double precision), read in place: *n of them.
 */
extern const void *fr_array_values(ArrayType *a, Oid elemtype, const char *name, int *n);

/* A checked bigint[] as a palloc'd C array (one element allocated at least). */
extern int64 *fr_int8_array(ArrayType *a, const char *name, int *n);

/*
 * The bigint[] argument argno, checked: NULL (with *n = 0) when the argument
 * is NULL or the function has no such argument (argno < 0).
 */
extern int64 *fr_arg_int8_array(FunctionCallInfo fcinfo, int argno, const char *name, int *n);

#endif							/* FR_ARRAYS_H */
