/*
 * progress.c — trainings in progress, visible to other sessions.
 *
 * A training reports to its caller with a NOTICE per iteration; a DBA, or
 * the session that scheduled a pg_cron job, sees nothing of that, and the
 * version row stays invisible until the training commits.  Preloaded, the
 * module keeps a small array of slots in shared memory: a training takes one
 * at its start (train(), src/registry.c), its phases and iterations update it
 * (the kernels' fr_progress_step(), src/kernel_pg.c), and the view
 * fashionrec.training_progress reads them all.  A slot is freed at the end of
 * the training, and by the transaction's abort or the backend's exit when the
 * training does not end normally, so a cancelled or failed training
 * disappears from the view at once.
 *
 * Each backend writes only its own slot, under the slot's spinlock; readers
 * copy a slot under the same lock.  Taking and freeing a slot also hold the
 * array's lock, so that two trainings never take the same one.  Not preloaded, there is no shared memory:
 * the view is empty, and the NOTICEs remain.
 *
 * The losses a training reports are also kept for the model's info
 * ("loss_history"), so that learning curves can be drawn after the fact.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "fashionrec.h"
#include "kernel.h"
#include "progress.h"

#define FR_PROGRESS_SLOTS 128
#define FR_PROGRESS_COLS 12
#define FR_LOSS_HISTORY_MAX 10000

typedef struct FrProgressSlot
{
	slock_t		mutex;
	int			pid;			/* 0: free */
	Oid			dbid;
	int32		version;
	char		model[NAMEDATALEN];
	char		algorithm[NAMEDATALEN];
	char		phase[64];
	int64		step;
	int64		of;
	double		loss;			/* NaN: none reported yet */
	int64		rows_read;
	TimestampTz started_at;
} FrProgressSlot;

typedef struct FrProgressShared
{
	slock_t		mutex;			/* taking and freeing slots */
	FrProgressSlot slots[FR_PROGRESS_SLOTS];
} FrProgressShared;

static FrProgressShared *progress = NULL;
static FrProgressSlot *my_slot = NULL;
static bool callbacks_registered = false;

/* this backend's training: its losses, in TopMemoryContext */
static double *loss_history = NULL;
static int	n_losses = 0;
static bool in_training = false;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
progress_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(MAXALIGN(sizeof(FrProgressShared)));
}

static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	progress = ShmemInitStruct("fashionrec training progress", sizeof(FrProgressShared), &found);
	if (!found)
	{
		SpinLockInit(&progress->mutex);
		for (int i = 0; i < FR_PROGRESS_SLOTS; i++)
		{
			SpinLockInit(&progress->slots[i].mutex);
			progress->slots[i].pid = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
fr_progress_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
#else
	progress_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = progress_shmem_startup;
}

static void
release_slot(void)
{
	if (my_slot != NULL)
	{
		SpinLockAcquire(&progress->mutex);
		SpinLockAcquire(&my_slot->mutex);
		my_slot->pid = 0;
		SpinLockRelease(&my_slot->mutex);
		SpinLockRelease(&progress->mutex);
		my_slot = NULL;
	}
	in_training = false;
}

static void
progress_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release_slot();
}

static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	/* a training that failed inside retrain()'s exception block */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		release_slot();
}

static void
progress_exit(int code, Datum arg)
{
	release_slot();
}

/* name and version of the row being trained, for the view */
static void
lookup_version(int64 model_id, char *name, int32 *version)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(model_id)};
	bool		isnull;

	name[0] = '\0';
	*version = 0;
	SPI_connect();
	if (SPI_execute_with_args("SELECT m.name, m.version FROM fashionrec.model m WHERE m.id = $1",
							  1, types, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		strlcpy(name, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), NAMEDATALEN);
		*version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
}

void
fr_training_begin(int64 model_id, const char *algorithm)
{
	char		name[NAMEDATALEN];
	int32		version;

	release_slot();
	in_training = true;
	if (loss_history == NULL)
		loss_history = MemoryContextAlloc(TopMemoryContext, sizeof(double) * FR_LOSS_HISTORY_MAX);
	n_losses = 0;
	if (progress == NULL)
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(progress_xact_callback, NULL);
		RegisterSubXactCallback(progress_subxact_callback, NULL);
		before_shmem_exit(progress_exit, (Datum) 0);
		callbacks_registered = true;
	}
	lookup_version(model_id, name, &version);

	SpinLockAcquire(&progress->mutex);
	for (int i = 0; i < FR_PROGRESS_SLOTS; i++)
		if (progress->slots[i].pid == 0)
		{
			my_slot = &progress->slots[i];
			SpinLockAcquire(&my_slot->mutex);
			my_slot->pid = MyProcPid;
			SpinLockRelease(&my_slot->mutex);
			break;
		}
	SpinLockRelease(&progress->mutex);
	if (my_slot == NULL)
		return;					/* more trainings than slots: this one goes unseen */

	SpinLockAcquire(&my_slot->mutex);
	my_slot->dbid = MyDatabaseId;
	my_slot->version = version;
	strlcpy(my_slot->model, name, NAMEDATALEN);
	strlcpy(my_slot->algorithm, algorithm, NAMEDATALEN);
	strlcpy(my_slot->phase, "reading the source", sizeof(my_slot->phase));
	my_slot->step = 0;
	my_slot->of = 0;
	my_slot->loss = NAN;
	my_slot->rows_read = 0;
	my_slot->started_at = GetCurrentTimestamp();
	SpinLockRelease(&my_slot->mutex);
}

void
fr_training_phase(const char *phase)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&my_slot->mutex);
	strlcpy(my_slot->phase, phase, sizeof(my_slot->phase));
	my_slot->step = 0;
	my_slot->of = 0;
	SpinLockRelease(&my_slot->mutex);
}

void
fr_training_rows(int64 rows)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&my_slot->mutex);
	my_slot->rows_read = rows;
	SpinLockRelease(&my_slot->mutex);
}

/* The kernels' structured progress (kernel.h): phase, step of n, loss. */
void
fr_progress_step(const char *phase, int64_t step, int64_t of, double loss)
{
	if (in_training && !isnan(loss) && n_losses < FR_LOSS_HISTORY_MAX)
		loss_history[n_losses++] = loss;
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&my_slot->mutex);
	strlcpy(my_slot->phase, phase, sizeof(my_slot->phase));
	my_slot->step = step;
	my_slot->of = of;
	if (!isnan(loss))
		my_slot->loss = loss;
	SpinLockRelease(&my_slot->mutex);
}

void
fr_training_end(void)
{
	release_slot();
}

/* "loss_history": [...] into the model's info, when the training reported losses */
void
fr_training_push_loss_history(JsonbParseState **info)
{
	JsonbValue	v;

	if (n_losses == 0)
		return;
	v.type = jbvString;
	v.val.string.val = "loss_history";
	v.val.string.len = strlen("loss_history");
	pushJsonbValue(info, WJB_KEY, &v);
	pushJsonbValue(info, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n_losses; i++)
	{
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
															Float8GetDatum(loss_history[i])));
		pushJsonbValue(info, WJB_ELEM, &v);
	}
	pushJsonbValue(info, WJB_END_ARRAY, NULL);
}

/*
 * fashionrec._training_progress() returns table(pid int, model text, version
 * int, algorithm text, phase text, step bigint, of bigint, loss float8,
 * rows_read bigint, started_at timestamptz, elapsed interval, dbid oid)
 */
PG_FUNCTION_INFO_V1(fashionrec_training_progress);
Datum
fashionrec_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	if (progress == NULL)
		return (Datum) 0;
	for (int i = 0; i < FR_PROGRESS_SLOTS; i++)
	{
		FrProgressSlot s;
		Datum		values[FR_PROGRESS_COLS];
		bool		nulls[FR_PROGRESS_COLS] = {0};
		int			c = 0;

		SpinLockAcquire(&progress->slots[i].mutex);
		memcpy(&s, &progress->slots[i], sizeof(s));
		SpinLockRelease(&progress->slots[i].mutex);
		if (s.pid == 0)
			continue;

		values[c++] = Int32GetDatum(s.pid);
		values[c++] = CStringGetTextDatum(s.model);
		values[c++] = Int32GetDatum(s.version);
		values[c++] = CStringGetTextDatum(s.algorithm);
		values[c++] = CStringGetTextDatum(s.phase);
		nulls[c] = s.of == 0 && s.step == 0;
		values[c++] = Int64GetDatum(s.step);
		nulls[c] = s.of == 0;
		values[c++] = Int64GetDatum(s.of);
		nulls[c] = isnan(s.loss);
		values[c++] = Float8GetDatum(s.loss);
		values[c++] = Int64GetDatum(s.rows_read);
		values[c++] = TimestampTzGetDatum(s.started_at);
		values[c++] = DirectFunctionCall2(timestamp_mi, TimestampTzGetDatum(now),
										  TimestampTzGetDatum(s.started_at));
		values[c++] = ObjectIdGetDatum(s.dbid);
		Assert(c == FR_PROGRESS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
