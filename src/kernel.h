/*
 * kernel.h — the services a compute kernel may use.
 *
 * Kernels (ALS sweeps, k-means, top-k, ...) are plain C over plain arrays and
 * include no PostgreSQL header, so they can be unit-tested and benchmarked
 * without a server.  They still have to allocate, report progress, honour
 * cancellation and fail cleanly; these functions are how.  Inside the server
 * they are implemented in kernel_pg.c (palloc in the current memory context,
 * CHECK_FOR_INTERRUPTS, NOTICE, ereport); test/unit/kernel_stub.c implements
 * them with malloc and stdio.
 *
 * fr_fail() and fr_check_interrupts() may not return (ereport longjmps), so a
 * kernel must only hold memory obtained from fr_alloc() across those calls.
 */
#ifndef FR_KERNEL_H
#define FR_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum FrFailure
{
	FR_FAIL_NUMERIC,			/* data made the maths impossible: 22000 */
	FR_FAIL_LIMIT,				/* too large: 54000 */
	FR_FAIL_PARAM,				/* bad parameter value: 22023 */
	FR_FAIL_RESOURCES,			/* the system refused a thread: 53000 */
	FR_FAIL_INTERNAL			/* cannot happen: XX000 */
} FrFailure;

/* Zeroed memory; never returns NULL (fails with FR_FAIL_LIMIT instead). */
extern void *fr_alloc(size_t size);
extern void fr_free(void *ptr);

/* Size arithmetic that fails instead of wrapping. */
extern size_t fr_mul_size(size_t a, size_t b);
extern size_t fr_add_size(size_t a, size_t b);

extern void fr_check_interrupts(void);

/*
 * Whether fr_check_interrupts() has something to do.  Reads a flag and
 * nothing else: the one service a kernel's own threads are running beside,
 * so that it can stop them before fr_check_interrupts(), which may not
 * return.  Only the calling thread may use it, never a thread it started.
 */
extern bool fr_interrupt_pending(void);
extern void fr_progress(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/*
 * Where a long computation is, for other sessions to see (the view
 * fashionrec.training_progress): a phase, step of `of` (0 when unknown), and
 * the loss after the step (NaN when the step has none).  Losses are also
 * kept as the model's learning curve.
 */
extern void fr_progress_step(const char *phase, int64_t step, int64_t of, double loss);
extern void fr_fail(FrFailure kind, const char *fmt,...)
			__attribute__((noreturn, format(printf, 2, 3)));

/* Monotonic wall clock in seconds, for progress reports. */
extern double fr_now(void);

/*
 * Deterministic pseudo-random numbers (splitmix64 seeding xoshiro256**):
 * the same seed gives the same stream on every platform, which libc's
 * random() does not promise.
 */
typedef struct FrRng
{
	uint64_t	s[4];
} FrRng;

extern void fr_rng_seed(FrRng *rng, uint64_t seed);
extern uint64_t fr_rng_next(FrRng *rng);
extern double fr_rng_uniform(FrRng *rng);	/* [0, 1) */
extern double fr_rng_normal(FrRng *rng);	/* mean 0, sd 1 */
extern uint64_t fr_rng_below(FrRng *rng, uint64_t n);	/* [0, n) */

#endif							/* FR_KERNEL_H */
