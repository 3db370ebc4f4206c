/*
 * skipmask.h — the per-item exclusion flags of a serving call, kept by the
 * backend between calls instead of allocated and zeroed by each (skipmask.c).
 */
#ifndef FR_SKIPMASK_H
#define FR_SKIPMASK_H

#include "postgres.h"

/*
 * A zeroed flag per item for n_items items.  The backend's own flags when
 * they are free, else (a nested call) a palloc0'd array of the caller's
 * memory context.  Set flags with fr_skip_set() only, and hand the flags
 * back with fr_skip_release() before the call returns.
 */
extern uint8 *fr_skip_acquire(int32 n_items);
extern void fr_skip_set(uint8 *skip, int32 item);
extern void fr_skip_release(uint8 *skip);

#endif							/* FR_SKIPMASK_H */
