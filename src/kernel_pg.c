/*
 * kernel_pg.c — the kernel services of kernel.h inside the server.
 *
 * Kernels allocate in CurrentMemoryContext, which the glue sets to a context
 * of its own for heavy work, so an ERROR or a cancel frees everything.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"

#include "kernel.h"

void *
fr_alloc(size_t size)
{
	/* huge allocations are fine: budgets are checked before training starts */
	return MemoryContextAllocExtended(CurrentMemoryContext, size ? size : 1,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

void
fr_free(void *ptr)
{
	if (ptr)
		pfree(ptr);
}

size_t
fr_mul_size(size_t a, size_t b)
{
	return mul_size(a, b);
}

size_t
fr_add_size(size_t a, size_t b)
{
	return add_size(a, b);
}

void
fr_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

bool
fr_interrupt_pending(void)
{
	return InterruptPending;
}

void
fr_progress(const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ereport(NOTICE, (errmsg_internal("%s", buf)));
	CHECK_FOR_INTERRUPTS();
}

void
fr_fail(FrFailure kind, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;
	int			code;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	switch (kind)
	{
		case FR_FAIL_NUMERIC:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case FR_FAIL_LIMIT:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case FR_FAIL_PARAM:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case FR_FAIL_RESOURCES:
			code = ERRCODE_INSUFFICIENT_RESOURCES;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR, (errcode(code), errmsg_internal("%s", buf),
					kind == FR_FAIL_RESOURCES
					? errhint("Train with fewer threads, or when the server runs fewer processes.") : 0));
	pg_unreachable();
}

double
fr_now(void)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	return INSTR_TIME_GET_DOUBLE(now);
}
