/*
 * fashionrec.h — module-wide settings shared by the glue files.
 */
#ifndef FASHIONREC_H
#define FASHIONREC_H

#include "postgres.h"

#include "funcapi.h"

#define FR_SCHEMA "fashionrec"

#if PG_VERSION_NUM < 150000
/* PostgreSQL 15 names what older releases spell out by hand */
#define InitMaterializedSRF(fcinfo, flags) fr_init_materialized_srf(fcinfo)
extern void fr_init_materialized_srf(FunctionCallInfo fcinfo);
#endif

/*
 * Grow (or first allocate, when ptr is NULL) an array that may pass 1 GB —
 * the growable buffers of the source readers.
 */
static inline void *
fr_grow_huge(void *ptr, size_t bytes)
{
	return ptr ? repalloc_huge(ptr, bytes) : palloc_extended(bytes, MCXT_ALLOC_HUGE);
}

/* GUCs (fashionrec.c) */
extern int	fr_blas_threads;
extern int	fr_max_memory_kb;
extern int	fr_cache_models;
extern int	fr_max_k;

#endif							/* FASHIONREC_H */
