/*
 * kernel_stub.c — the kernel services (src/kernel.h) outside the server, for
 * unit tests and stand-alone benchmarks: malloc, stderr, abort on failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernel.h"

int			fr_stub_verbose = 0;
/* > 0: fr_interrupt_pending() says yes every this many calls (a kernel must resume exactly) */
int			fr_stub_pending_every = 0;

void *
fr_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
		fr_fail(FR_FAIL_LIMIT, "out of memory allocating %zu bytes", size);
	return p;
}

void
fr_free(void *ptr)
{
	free(ptr);
}

size_t
fr_mul_size(size_t a, size_t b)
{
	size_t		r;

	if (__builtin_mul_overflow(a, b, &r))
		fr_fail(FR_FAIL_LIMIT, "size overflow");
	return r;
}

size_t
fr_add_size(size_t a, size_t b)
{
	size_t		r;

	if (__builtin_add_overflow(a, b, &r))
		fr_fail(FR_FAIL_LIMIT, "size overflow");
	return r;
}

void
fr_check_interrupts(void)
{
}

bool
fr_interrupt_pending(void)
{
	static int	calls = 0;

	return fr_stub_pending_every > 0 && ++calls % fr_stub_pending_every == 0;
}

void
fr_progress_step(const char *phase, int64_t step, int64_t of, double loss)
{
}

void
fr_progress(const char *fmt,...)
{
	va_list		ap;

	if (!fr_stub_verbose)
		return;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
fr_fail(FrFailure kind, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "fr_fail(%d): ", (int) kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

double
fr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}
