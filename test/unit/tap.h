/*
 * tap.h — a minimal Test Anything Protocol writer for the C unit tests, so
 * `prove` runs them next to the pgTAP suites.
 */
#ifndef FR_TAP_H
#define FR_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

static inline void
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline void
ok_near(double got, double want, double tol, const char *what)
{
	ok(fabs(got - want) <= tol, "%s: got %.9g, want %.9g (tol %g)", what, got, want, tol);
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
