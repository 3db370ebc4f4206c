/*
 * fashionrec.c — module entry: settings, version, and the BLAS kernel check.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "ann.h"
#include "fashionrec.h"
#include "linalg.h"
#include "progress.h"
#include "stats.h"
#include "store.h"

PG_MODULE_MAGIC;

int			fr_blas_threads = 1;
int			fr_max_memory_kb = 1024 * 1024;	/* 1 GB */
int			fr_cache_models = 8;
int			fr_max_k = 10000;

void		_PG_init(void);
static void assign_blas_threads(int newval, void *extra);
static void check_blas_core(void);

/*
 * The four limits are the DBA's: PGC_SUSET, so that a plain user can neither
 * raise the memory budget a training is checked against, nor start more BLAS
 * threads than the machine has cores, nor hold more models in a backend, nor
 * ask for longer lists.  A superuser sets them for the server, a database or
 * a role (ALTER ROLE ... SET), and on PostgreSQL 15 and later may delegate one
 * with GRANT SET ON PARAMETER.  docs/operations.md lists them.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("fashionrec.blas_threads",
							"Threads OpenBLAS may use for training and batch scoring.",
							"A backend is one process serving one session; more than one "
							"thread only pays for large matrices. Serving paths use one.",
							&fr_blas_threads,
							1, 1, 64,
							PGC_SUSET, 0,
							NULL, assign_blas_threads, NULL);

	DefineCustomIntVariable("fashionrec.max_memory",
							"Memory a training may allocate; larger trainings are refused before they start.",
							NULL,
							&fr_max_memory_kb,
							1024 * 1024, 1024, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("fashionrec.cache_models",
							"Model versions each backend keeps loaded in memory.",
							"The least recently used version is dropped when the cache is full.",
							&fr_cache_models,
							8, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("fashionrec.max_k",
							"Largest k a serving function accepts.",
							"A larger k is refused; a k above a model's number of items is cut to it.",
							&fr_max_k,
							10000, 1, 10000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	/* serving statistics and the model store: settings, and shared memory when preloaded */
	fr_stats_init();
	/* trainings in progress, in shared memory when preloaded */
	fr_progress_init();
	fr_store_init();
	fr_ann_init();
	check_blas_core();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("fashionrec");
#else
	EmitWarningsOnPlaceholders("fashionrec");
#endif
}

/*
 * OpenBLAS starts with one thread per core; a backend must not, so the
 * setting is applied at load and whenever it changes.
 */
static void
assign_blas_threads(int newval, void *extra)
{
	fr_linalg_set_threads(newval);
}

/*
 * A generic OpenBLAS kernel on an AVX2/FMA CPU makes every GEMM-bound step
 * several times slower without any other symptom: say so when the library
 * loads — once in the server log when preloaded, else once per session.
 */
static void
check_blas_core(void)
{
	FrBlasCore blas;

	fr_blas_core(&blas);
	if (blas.better == NULL)
		return;
	ereport(WARNING,
			(errmsg("OpenBLAS runs its \"%s\" kernel on a CPU with AVX2 and FMA%s",
					blas.core, blas.avx512f ? " and AVX-512" : ""),
			 errdetail("This OpenBLAS (%s) does not recognise the CPU; matrix products run several times slower than they could.",
					   blas.config),
			 errhint("Add OPENBLAS_CORETYPE=%s to the server's environment (for a Debian cluster, /etc/postgresql/%d/main/environment) and restart it; fashionrec.blas_info() shows the kernel in use.",
					 blas.better, PG_VERSION_NUM / 10000)));
}

#define BLAS_INFO_COLS 6

/*
 * fashionrec.blas_info(probe_seconds float8 DEFAULT 1) returns (core text,
 *     threads int, config text, cpu text, advice text, sgemm_gflops float8):
 * the kernel OpenBLAS runs in this backend, what the CPU offers, and a
 * single-precision GEMM measured for probe_seconds (0: no probe, NULL).
 */
PG_FUNCTION_INFO_V1(fashionrec_blas_info);
Datum
fashionrec_blas_info(PG_FUNCTION_ARGS)
{
	double		seconds = PG_ARGISNULL(0) ? 1.0 : PG_GETARG_FLOAT8(0);
	FrBlasCore	blas;
	TupleDesc	desc;
	Datum		values[BLAS_INFO_COLS];
	bool		nulls[BLAS_INFO_COLS] = {0};
	char		cpu[64];

	if (!(seconds >= 0 && seconds <= 60))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("probe_seconds must be between 0 and 60, got %g", seconds),
				 errhint("One second measures the kernel well; 0 skips the measurement.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	fr_blas_core(&blas);
	snprintf(cpu, sizeof(cpu), "%s%s%s", blas.avx2 ? "avx2 " : "", blas.fma ? "fma " : "",
			 blas.avx512f ? "avx512f" : "");
	values[0] = CStringGetTextDatum(blas.core ? blas.core : "unknown");
	values[1] = Int32GetDatum(blas.threads);
	values[2] = CStringGetTextDatum(blas.config ? blas.config : "unknown");
	values[3] = CStringGetTextDatum(cpu);
	if (blas.better)
		values[4] = CStringGetTextDatum(psprintf("set OPENBLAS_CORETYPE=%s in the server's environment",
												 blas.better));
	else
		nulls[4] = true;
	if (seconds > 0)
		values[5] = Float8GetDatum(fr_blas_probe(seconds));
	else
		nulls[5] = true;
	Assert(lengthof(values) == BLAS_INFO_COLS);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(fashionrec_version);
Datum
fashionrec_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(FR_VERSION));
}

#if PG_VERSION_NUM < 150000
/* InitMaterializedSRF() as PostgreSQL 15 has it, for 13 and 14. */
void
fr_init_materialized_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
}
#endif
