/*
 * scratch.h — the per-item float arrays of a serving call (scores, a
 * signal's raw and normalised values), kept by the backend between calls
 * instead of allocated by each (scratch.c).
 */
#ifndef FR_SCRATCH_H
#define FR_SCRATCH_H

#include "postgres.h"

/*
 * An array of n floats, its contents undefined: one of the backend's arrays
 * when one is free, else (more arrays in use at once than the backend keeps)
 * palloc'd in CurrentMemoryContext.  It is the caller's until
 * fr_scratch_release(), or until CurrentMemoryContext is reset or deleted
 * (an error, or a caller that lets its context free it).
 */
extern float *fr_scratch_floats(int64 n);
extern void fr_scratch_release(float *p);

/* Free the kept arrays of FR_TRIM_ITEMS floats or more that no call holds. */
extern void fr_scratch_trim(void);

#endif							/* FR_SCRATCH_H */
