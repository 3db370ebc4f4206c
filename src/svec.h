/*
 * svec.h — fashionrec.svec, a sparse float4 vector as a PostgreSQL datum.
 *
 * Text form (pgvector's sparsevec style, 1-based): {1:0.5,7:0.25}/50000.
 * Stored form: a varlena holding dim, nnz, a reserved zero word, then nnz
 * 0-based int32 indices (strictly ascending, below dim) followed by nnz
 * finite, non-zero float4 values.  Every way in (text, binary, casts, the
 * C producers) establishes that invariant, so operators can trust it.
 */
#ifndef FR_SVEC_H
#define FR_SVEC_H

#include "postgres.h"

#include "fmgr.h"

#include "svec_ops.h"

typedef struct FrSvec
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		dim;
	int32		nnz;
	int32		unused;			/* reserved, always 0 */
	int32		indices[FLEXIBLE_ARRAY_MEMBER];
	/* float values[nnz] follow the indices */
} FrSvec;

#define FR_SVEC_SIZE(nnz)	(offsetof(FrSvec, indices) + (size_t) (nnz) * (sizeof(int32) + sizeof(float)))
#define FR_SVEC_VALUES(v)	((float *) ((v)->indices + (v)->nnz))

#define DatumGetFrSvec(d)	((FrSvec *) PG_DETOAST_DATUM(d))
#define PG_GETARG_FRSVEC(n) DatumGetFrSvec(PG_GETARG_DATUM(n))

/* A zeroed vector with room for nnz entries; the caller fills and may shrink nnz. */
extern FrSvec *fr_svec_new(int32 dim, int32 nnz);

/* ereport() the failure a kernel check reported; returns on FR_SVEC_OK. */
extern void fr_svec_report(FrSvecStatus status, int64 dim, int64 nnz, int32 bad,
						   const int32 *indices, const float *values);

#endif							/* FR_SVEC_H */
