/*
 * serving.h — what every serving SRF does the same way: argument checks,
 * candidate/exclusion filters, and emitting the top k (recommend.c).
 */
#ifndef FR_SERVING_H
#define FR_SERVING_H

#include "fmgr.h"
#include "utils/array.h"

#include "model.h"

/* The model name argument; NULL is an error. */
extern char *fr_arg_name(FunctionCallInfo fcinfo, int argno);
/* k: 1 .. fashionrec.max_k (22023 below, 54000 above, 22004 for NULL). */
extern int	fr_arg_k(FunctionCallInfo fcinfo, int argno);
/*
 * k cut to the model's number of items (at least 1), so that a k anywhere up
 * to fashionrec.max_k allocates no more than the catalogue: every serving
 * function applies it before it allocates its top-k buffers.
 */
extern int	fr_clamp_k(const FrModel *model, int k);
/* An optional version: 0 for NULL or absent, else positive. */
extern int32 fr_arg_version(FunctionCallInfo fcinfo, int argno);
/* A one-dimensional bigint[] without NULLs, as a C array. */
extern int64 *fr_bigint_array(ArrayType *arr, const char *what, int *n);

/*
 * Mark the items of the exclude argument in skip[], and return the distinct
 * known items of the candidates argument (NULL: all items).  Pass -1 for an
 * argument the function does not have.
 */
extern int32 *fr_apply_filters(FunctionCallInfo fcinfo, const FrModel *model, uint8 *skip,
							   int candidates_arg, int exclude_arg, int *n_subset);

/* The top k of scores as (item_id, score, rank) rows of a materialized SRF. */
extern void fr_emit_topk(FunctionCallInfo fcinfo, const FrModel *model, const float *scores,
						 const int32 *subset, int n_subset, const uint8 *skip, int k);

#endif							/* FR_SERVING_H */
