/*
 * batch_sql.c — batch scoring: the users of recommend_all() and
 * recommend_all_into(), their shares by user hash, and the parallel workers
 * of recommend_all_into().
 *
 * Factor models (als, mf, svd) go through batch.c's fused GEMM and top k;
 * other algorithms, and a context, score one user at a time as recommend()
 * does (score_user, score_in_context).  Either
 * way a block of users gives k slots of (item, score) per user, which
 * recommend_all() emits as rows and recommend_all_into() collects from all
 * its processes and inserts into the caller's table.
 *
 * recommend_all_into() runs in its caller's transaction, as a PostgreSQL
 * parallel operation: the leader and workers-1 parallel workers (the same
 * machinery as a parallel CREATE INDEX) share the caller's snapshot and
 * rights, claim blocks of users from a counter in dynamic shared memory and
 * write their lists there.  Parallel workers cannot insert, so the leader
 * inserts once they have all finished.  An error, a cancel or a terminated
 * worker aborts the caller's transaction, so the target holds either every
 * list or none; pg_stat_activity shows the workers as "parallel worker".
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shm_toc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "batch_sql.h"
#include "fashionrec.h"
#include "kernel.h"
#include "progress.h"
#include "stats.h"
#include "topk.h"

/* users per claim of a parallel scoring: one of the kernel's blocks, small enough to balance */
#define CLAIM_USERS FR_BATCH_BLOCK_USERS
#define MAX_SHARDS 65536
#define MAX_WORKERS 64
#define INSERT_ROWS 100000

/* ---- shares --------------------------------------------------------------- */

int32
fr_user_shard(int64 user_id, int32 shards)
{
	/* abs(hashint8(user_id) % shards): the buckets docs/scaling.md's SQL uses */
	int32		h = DatumGetInt32(DirectFunctionCall1(hashint8, Int64GetDatum(user_id)));

	return abs(h % shards);
}

static void
check_shards(int32 shards)
{
	if (shards < 1 || shards > MAX_SHARDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shards must be between 1 and %d, got %d", MAX_SHARDS, shards),
				 errhint("shards is how many parts the users are split into, e.g. one per replica.")));
}

void
fr_arg_share(FunctionCallInfo fcinfo, int shard_arg, int shards_arg, int32 *shard, int32 *shards)
{
	if (PG_ARGISNULL(shard_arg) || PG_ARGISNULL(shards_arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("shard and shards must not be NULL"),
				 errhint("Leave both out to score every user, or pass shard => 0 .. shards - 1.")));
	*shards = PG_GETARG_INT32(shards_arg);
	*shard = PG_GETARG_INT32(shard_arg);
	check_shards(*shards);
	if (*shard < 0 || *shard >= *shards)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shard must be between 0 and shards - 1 (%d), got %d", *shards - 1, *shard),
				 errhint("Number the parts from 0: shard => 0, 1, 2 with shards => 3.")));
}

/* user_shard(user_id bigint, shards integer) returns integer; STRICT */
PG_FUNCTION_INFO_V1(fashionrec_user_shard);
Datum
fashionrec_user_shard(PG_FUNCTION_ARGS)
{
	int32		shards = PG_GETARG_INT32(1);

	check_shards(shards);
	PG_RETURN_INT32(fr_user_shard(PG_GETARG_INT64(0), shards));
}

/* ---- scoring blocks of users ---------------------------------------------- */

void
fr_batch_plan(FrBatchPlan *plan, FrModel *model, const FrServingArgs *args, int k)
{
	uint8	   *skip = palloc0(Max(model->n_items, 1));
	int32	   *subset;
	int			n_subset;
	const float *unknown = model->item_popularity;

	memset(plan, 0, sizeof(*plan));
	plan->model = model;
	plan->k = k;
	plan->exclude_seen = args->exclude_seen;
	subset = fr_apply_filters(model, args, skip, &n_subset);

	/*
	 * As in recommend(): a known context ranks an unknown user's list, and
	 * an unknown one is ignored, for every user (the model refuses a
	 * context it cannot use here, before any user is scored).
	 */
	if (args->context)
	{
		float	   *ctx = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);

		if (fr_context_scores(model, args, -1, NULL, NULL, 0, subset, n_subset, ctx))
		{
			unknown = ctx;
			plan->context = args->context;
			/* a model that ranks by the context alone ranks every user so */
			if (model->algo->score_in_context == NULL)
				plan->context_scores = ctx;
		}
	}

	/* an unknown user's list is the same for all */
	plan->popular_items = palloc(sizeof(int32) * k);
	plan->popular_scores = palloc(sizeof(float) * k);
	plan->n_popular = fr_topk(unknown, model->n_items, subset, n_subset,
							  skip, k, plan->popular_items, plan->popular_scores);

	if (model->algo->factors == NULL || plan->context)
	{
		plan->skip = skip;
		plan->subset = subset;
		plan->n_subset = n_subset;
		plan->scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)),
									   MCXT_ALLOC_HUGE);
		plan->marked = palloc(sizeof(int32) * Max(model->n_items, 1));
		if (subset && model->algo->candidates_exact)
			plan->candidate_scores = palloc(sizeof(float) * Max(n_subset, 1));
		return;
	}

	model->algo->factors(model, &plan->f);
	if (args->exclude_seen)
	{
		plan->f.seen_indptr = model->seen_indptr;
		plan->f.seen_indices = model->seen_indices;
	}
	if (subset || args->exclude)
	{
		/* the rows scored: the candidates (or all) less the excluded, ascending */
		uint8	   *listed = subset ? palloc0(Max(model->n_items, 1)) : NULL;
		int32	   *index = palloc(sizeof(int32) * Max(model->n_items, 1));
		int32	   *row = palloc(sizeof(int32) * Max(model->n_items, 1));
		float	   *factors;
		float	   *bias = NULL;
		int32		n = 0;

		for (int i = 0; subset && i < n_subset; i++)
			listed[subset[i]] = 1;
		for (int32 i = 0; i < model->n_items; i++)
		{
			row[i] = -1;
			if ((listed == NULL || listed[i]) && !skip[i])
			{
				row[i] = n;
				index[n++] = i;
			}
		}
		factors = palloc_extended(mul_size(mul_size(Max(n, 1), plan->f.k), sizeof(float)),
								  MCXT_ALLOC_HUGE);
		for (int32 r = 0; r < n; r++)
			memcpy(factors + (size_t) r * plan->f.k,
				   plan->f.item_factors + (size_t) index[r] * plan->f.k, sizeof(float) * plan->f.k);
		if (plan->f.item_bias)
		{
			bias = palloc(sizeof(float) * Max(n, 1));
			for (int32 r = 0; r < n; r++)
				bias[r] = plan->f.item_bias[index[r]];
		}
		plan->f.n_items = n;
		plan->f.item_factors = factors;
		plan->f.item_bias = bias;
		plan->f.item_index = index;
		plan->f.item_row = row;
	}
}

/*
 * A model without factors, or a context: the user's scores as recommend()
 * has them, then the top k, one user at a time.
 */
static void
score_one(FrBatchPlan *plan, int32 u, int32 *items, float *scores, int32 *count)
{
	const FrModel *model = plan->model;
	const float *ranked = plan->scores;
	int			n_marked = 0;

	if (plan->context_scores)
		ranked = plan->context_scores;
	else if (plan->context &&
			 model->algo->score_in_context(model, u, NULL, NULL, 0, plan->context,
										   plan->subset, plan->n_subset, plan->scores))
		;
	else if (plan->candidate_scores)
	{
		/* as recommend() scores candidates that score_user would not score exactly */
		model->algo->score_user_items(model, u, plan->subset, plan->n_subset, plan->candidate_scores);
		for (int i = 0; i < plan->n_subset; i++)
			plan->scores[plan->subset[i]] = plan->candidate_scores[i];
	}
	else
		model->algo->score_user(model, u, plan->scores);
	/* the user's seen items on top of the excluded ones, unmarked after */
	if (plan->exclude_seen)
		for (int64 j = model->seen_indptr[u]; j < model->seen_indptr[u + 1]; j++)
			if (!plan->skip[model->seen_indices[j]])
			{
				plan->skip[model->seen_indices[j]] = 1;
				plan->marked[n_marked++] = model->seen_indices[j];
			}
	*count = fr_topk(ranked, model->n_items, plan->subset, plan->n_subset, plan->skip,
					 plan->k, items, scores);
	for (int i = 0; i < n_marked; i++)
		plan->skip[plan->marked[i]] = 0;
}

void
fr_batch_score(FrBatchPlan *plan, const int32 *users, int n,
			   int32 *items, float *scores, int32 *counts)
{
	int			k = plan->k;
	int32	   *known = palloc(sizeof(int32) * Max(n, 1));
	int			n_known = 0;

	for (int b = 0; b < n; b++)
	{
		if (users[b] >= 0)
			known[n_known++] = users[b];
		else
		{
			memcpy(items + (size_t) b * k, plan->popular_items, sizeof(int32) * plan->n_popular);
			memcpy(scores + (size_t) b * k, plan->popular_scores, sizeof(float) * plan->n_popular);
			counts[b] = plan->n_popular;
		}
	}
	if (plan->model->algo->factors && plan->context == NULL)
	{
		/*
		 * the known users scored together, their lists put back in place; a
		 * block with a whole-catalogue k can pass 1 GB
		 */
		int32	   *kitems = palloc_extended(mul_size(mul_size(Max(n_known, 1), k), sizeof(int32)),
											 MCXT_ALLOC_HUGE);
		float	   *kscores = palloc_extended(mul_size(mul_size(Max(n_known, 1), k), sizeof(float)),
											  MCXT_ALLOC_HUGE);
		int32	   *kcounts = palloc(sizeof(int32) * Max(n_known, 1));
		int			j = 0;

		fr_batch_topk(&plan->f, known, n_known, k, kitems, kscores, kcounts);
		for (int b = 0; b < n; b++)
			if (users[b] >= 0)
			{
				memcpy(items + (size_t) b * k, kitems + (size_t) j * k, sizeof(int32) * k);
				memcpy(scores + (size_t) b * k, kscores + (size_t) j * k, sizeof(float) * k);
				counts[b] = kcounts[j++];
			}
		pfree(kitems);
		pfree(kscores);
		pfree(kcounts);
	}
	else
		for (int b = 0; b < n; b++)
		{
			CHECK_FOR_INTERRUPTS();
			if (users[b] >= 0)
				score_one(plan, users[b], items + (size_t) b * k, scores + (size_t) b * k, &counts[b]);
		}
	pfree(known);
}

/* ---- recommend_all_into ------------------------------------------------- */

/* what the leader tells its workers, and where they write their lists */
typedef struct BatchShared
{
	char		name[NAMEDATALEN];
	int32		version;
	int			k;
	bool		exclude_seen;
	int			n_candidates;	/* -1: NULL */
	int			n_exclude;		/* -1: NULL */
	int			context_bytes;	/* with its terminating zero; -1: NULL */
	int32		n_users;
	pg_atomic_uint32 next_claim;
	pg_atomic_uint64 users_done;
} BatchShared;

#define KEY_SHARED		UINT64CONST(0xFA5B000000000001)
#define KEY_USERS		UINT64CONST(0xFA5B000000000002)
#define KEY_CANDIDATES	UINT64CONST(0xFA5B000000000003)
#define KEY_EXCLUDE		UINT64CONST(0xFA5B000000000004)
#define KEY_ITEMS		UINT64CONST(0xFA5B000000000005)
#define KEY_SCORES		UINT64CONST(0xFA5B000000000006)
#define KEY_COUNTS		UINT64CONST(0xFA5B000000000007)
#define KEY_CONTEXT		UINT64CONST(0xFA5B000000000008)

typedef struct BatchArrays
{
	int32	   *users;
	int32	   *items;
	float	   *scores;
	int32	   *counts;
} BatchArrays;

/*
 * Claim blocks of users until none is left: the leader and each worker run
 * this.  The leader reports progress as the shared counter moves.
 */
static void
score_claims(BatchShared *sh, BatchArrays *a, FrBatchPlan *plan, bool leader)
{
	uint32		n_claims = (sh->n_users + CLAIM_USERS - 1) / CLAIM_USERS;
	double		started = fr_now(),
				reported = started;

	for (;;)
	{
		uint32		c = pg_atomic_fetch_add_u32(&sh->next_claim, 1);
		int			first,
					n;
		uint64		done;

		if (c >= n_claims)
			break;
		first = (int) c * CLAIM_USERS;
		n = Min(CLAIM_USERS, sh->n_users - first);
		CHECK_FOR_INTERRUPTS();
		fr_batch_score(plan, a->users + first, n, a->items + (size_t) first * sh->k,
					   a->scores + (size_t) first * sh->k, a->counts + first);
		done = pg_atomic_add_fetch_u64(&sh->users_done, n);
		if (!leader)
			continue;
		fr_progress_step("scoring users", (int64) done, sh->n_users, NAN);
		if (fr_now() - reported >= 10.0)
		{
			reported = fr_now();
			ereport(NOTICE,
					(errmsg("recommend_all_into: %llu of %d users in %.1f s",
							(unsigned long long) done, sh->n_users, reported - started)));
		}
	}
}

static FrServingArgs
shared_args(BatchShared *sh, shm_toc *toc)
{
	FrServingArgs args = {0};

	args.name = sh->name;
	args.version = sh->version;
	args.k = sh->k;
	args.exclude_seen = sh->exclude_seen;
	args.n_candidates = Max(sh->n_candidates, 0);
	args.candidates = sh->n_candidates >= 0 ? shm_toc_lookup(toc, KEY_CANDIDATES, false) : NULL;
	args.n_exclude = Max(sh->n_exclude, 0);
	args.exclude = sh->n_exclude >= 0 ? shm_toc_lookup(toc, KEY_EXCLUDE, false) : NULL;
	args.context = sh->context_bytes >= 0 ? shm_toc_lookup(toc, KEY_CONTEXT, false) : NULL;
	return args;
}

static void
lookup_arrays(shm_toc *toc, BatchArrays *a)
{
	a->users = shm_toc_lookup(toc, KEY_USERS, false);
	a->items = shm_toc_lookup(toc, KEY_ITEMS, false);
	a->scores = shm_toc_lookup(toc, KEY_SCORES, false);
	a->counts = shm_toc_lookup(toc, KEY_COUNTS, false);
}

/* A parallel worker of recommend_all_into(), started by the leader's LaunchParallelWorkers(). */
PGDLLEXPORT void fr_batch_worker(dsm_segment *seg, shm_toc *toc);

void
fr_batch_worker(dsm_segment *seg, shm_toc *toc)
{
	BatchShared *sh = shm_toc_lookup(toc, KEY_SHARED, false);
	FrServingArgs args = shared_args(sh, toc);
	BatchArrays a;
	FrBatchPlan plan;

	lookup_arrays(toc, &a);
	fr_batch_plan(&plan, fr_model_open(args.name, args.version), &args, sh->k);
	score_claims(sh, &a, &plan, false);
}

static void *
toc_put(ParallelContext *pcxt, uint64 key, const void *src, Size bytes)
{
	void	   *dst = shm_toc_allocate(pcxt->toc, Max(bytes, 1));

	if (src)
		memcpy(dst, src, bytes);
	shm_toc_insert(pcxt->toc, key, dst);
	return dst;
}

/*
 * Score the users with `workers` processes (the leader and workers - 1
 * parallel workers) into out, which the leader owns after they finish;
 * returns how many processes scored.
 */
static int
score_parallel(FrModel *model, const FrServingArgs *args, int k, int32 *users, int32 n_users,
			   int workers, BatchArrays *out)
{
	Size		list_bytes = mul_size(mul_size(Max(n_users, 1), k), sizeof(int32));
	int			context_bytes = args->context ? (int) strlen(args->context) + 1 : -1;
	Size		sizes[] = {sizeof(BatchShared), sizeof(int32) * (Size) Max(n_users, 1),
		sizeof(int64) * (Size) Max(args->n_candidates, 1), sizeof(int64) * (Size) Max(args->n_exclude, 1),
	list_bytes, list_bytes, sizeof(int32) * (Size) Max(n_users, 1), (Size) Max(context_bytes, 1)};
	ParallelContext *pcxt;
	BatchShared *sh;
	BatchArrays a;
	FrBatchPlan plan;

	fr_batch_plan(&plan, model, args, k);
	EnterParallelMode();
	/* the name the SQL functions use (module_pathname), so a worker finds the leader's library */
	pcxt = CreateParallelContext("fashionrec", "fr_batch_worker", workers - 1);
	for (int i = 0; i < lengthof(sizes); i++)
		shm_toc_estimate_chunk(&pcxt->estimator, sizes[i]);
	shm_toc_estimate_keys(&pcxt->estimator, lengthof(sizes));
	InitializeParallelDSM(pcxt);

	sh = toc_put(pcxt, KEY_SHARED, NULL, sizeof(BatchShared));
	strlcpy(sh->name, model->name, NAMEDATALEN);
	sh->version = model->version;
	sh->k = k;
	sh->exclude_seen = args->exclude_seen;
	sh->n_candidates = args->candidates ? args->n_candidates : -1;
	sh->n_exclude = args->exclude ? args->n_exclude : -1;
	sh->context_bytes = context_bytes;
	sh->n_users = n_users;
	pg_atomic_init_u32(&sh->next_claim, 0);
	pg_atomic_init_u64(&sh->users_done, 0);
	toc_put(pcxt, KEY_USERS, users, sizeof(int32) * (Size) n_users);
	toc_put(pcxt, KEY_CANDIDATES, args->candidates, sizeof(int64) * (Size) Max(args->n_candidates, 0));
	toc_put(pcxt, KEY_EXCLUDE, args->exclude, sizeof(int64) * (Size) Max(args->n_exclude, 0));
	toc_put(pcxt, KEY_CONTEXT, args->context, (Size) Max(context_bytes, 0));
	toc_put(pcxt, KEY_ITEMS, NULL, list_bytes);
	toc_put(pcxt, KEY_SCORES, NULL, list_bytes);
	toc_put(pcxt, KEY_COUNTS, NULL, sizeof(int32) * (Size) Max(n_users, 1));
	lookup_arrays(pcxt->toc, &a);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched < workers - 1)
		ereport(NOTICE,
				(errmsg("recommend_all_into: %d of %d parallel workers started",
						pcxt->nworkers_launched, workers - 1),
				 errhint("The leader scores what they do not; max_worker_processes and max_parallel_workers bound them.")));
	score_claims(sh, &a, &plan, true);
	/* a worker's error is raised here, in the leader, and aborts the caller */
	WaitForParallelWorkersToFinish(pcxt);
	if (pg_atomic_read_u64(&sh->users_done) != (uint64) n_users)
		elog(ERROR, "recommend_all_into: %llu of %d users scored",
			 (unsigned long long) pg_atomic_read_u64(&sh->users_done), n_users);

	memcpy(out->items, a.items, list_bytes);
	memcpy(out->scores, a.scores, list_bytes);
	memcpy(out->counts, a.counts, sizeof(int32) * (Size) n_users);
	workers = 1 + pcxt->nworkers_launched;
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return workers;
}

/*
 * The target: a table or partitioned table with columns user_id, item_id,
 * score and rank, which the caller may insert into; its quoted name.
 */
static char *
check_target(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	static const char *const columns[] = {"user_id", "item_id", "score", "rank"};
	char	   *name;

	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("target relation with OID %u does not exist", relid),
				 errhint("Pass the name of an existing table, e.g. 'shop.recommendations'.")));
	name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("target \"%s\" is not a table", name),
				 errhint("recommend_all_into() inserts rows into a table; for a view or a foreign table use INSERT ... SELECT FROM fashionrec.recommend_all().")));
	for (int i = 0; i < lengthof(columns); i++)
		if (get_attnum(relid, columns[i]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("target \"%s\" has no column \"%s\"", name, columns[i]),
					 errhint("The target needs columns user_id bigint, item_id bigint, score real and rank integer; others take their defaults.")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name),
				 errhint("recommend_all_into() inserts with its caller's rights: GRANT INSERT ON %s to the caller.", name)));
	return name;
}

/* The lists into the target as the caller, about INSERT_ROWS rows per statement. */
static int64
insert_lists(const char *target, const FrModel *model, const int64 *user_ids, int32 n_users,
			 int k, const BatchArrays *a)
{
	Oid			types[4] = {INT8ARRAYOID, INT8ARRAYOID, FLOAT4ARRAYOID, INT4ARRAYOID};
	Datum	   *cols[4];
	int64		total = 0;
	SPIPlanPtr	plan;
	int			n = 0;
	/* one user's list always fits, whatever fashionrec.max_k allows */
	int			cap = Max(INSERT_ROWS, k);

	for (int c = 0; c < 4; c++)
		cols[c] = palloc_extended(mul_size(cap, sizeof(Datum)), MCXT_ALLOC_HUGE);
	SPI_connect();
	plan = SPI_prepare(psprintf("INSERT INTO %s (user_id, item_id, score, rank)"
								" SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
								" pg_catalog.unnest($3), pg_catalog.unnest($4))", target),
					   4, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the insert into %s: %s", target,
			 SPI_result_code_string(SPI_result));
	for (int32 u = 0; u <= n_users; u++)
	{
		if (n > 0 && (u == n_users || n + a->counts[u] > cap))
		{
			Datum		values[4];

			values[0] = PointerGetDatum(construct_array(cols[0], n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			values[1] = PointerGetDatum(construct_array(cols[1], n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			values[2] = PointerGetDatum(construct_array(cols[2], n, FLOAT4OID, 4, true, TYPALIGN_INT));
			values[3] = PointerGetDatum(construct_array(cols[3], n, INT4OID, 4, true, TYPALIGN_INT));
			if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not insert into %s", target);
			total += SPI_processed;
			for (int c = 0; c < 4; c++)
				pfree(DatumGetPointer(values[c]));
			n = 0;
			fr_progress_step("inserting rows", total, 0, NAN);
			CHECK_FOR_INTERRUPTS();
		}
		if (u == n_users)
			break;
		for (int r = 0; r < a->counts[u]; r++)
		{
			cols[0][n] = Int64GetDatum(user_ids[u]);
			cols[1][n] = Int64GetDatum(model->item_ids[a->items[(size_t) u * k + r]]);
			cols[2][n] = Float4GetDatum(a->scores[(size_t) u * k + r]);
			cols[3][n++] = Int32GetDatum(r + 1);
		}
	}
	SPI_finish();
	return total;
}

static int
arg_workers(FunctionCallInfo fcinfo, int argno)
{
	int			workers;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("workers must not be NULL"),
				 errhint("workers is how many processes score, the caller's included; leave it out for 1.")));
	workers = PG_GETARG_INT32(argno);
	if (workers < 1 || workers > MAX_WORKERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("workers must be between 1 and %d, got %d", MAX_WORKERS, workers),
				 errhint("Use about as many as the server has cores to spare; max_parallel_workers bounds the extra ones.")));
	return workers;
}

/*
 * recommend_all_into(name, target, k, exclude_seen, candidates, exclude,
 * version, shard, shards, workers, context) returns bigint: every user of the model
 * (of the share shard of shards, by user_shard()) gets its top k inserted
 * into target as (user_id, item_id, score, rank); returns the rows inserted.
 */
FR_SERVING_FUNCTION(fashionrec_recommend_all_into, FR_FN_RECOMMEND_ALL)
{
	FrServingArgs args;
	Oid			target;
	char	   *target_name;
	int32		shard,
				shards;
	int			workers;
	FrModel    *model;
	int			k;
	int32	   *users;
	int64	   *user_ids;
	int32		n_users = 0;
	BatchArrays out;
	int64		rows;
	double		started,
				scored;

	fr_serving_args(fcinfo, &fr_recommend_all_into_shape, &args);
	fr_arg_share(fcinfo, FR_INTO_SHARD, FR_INTO_SHARDS, &shard, &shards);
	workers = arg_workers(fcinfo, FR_INTO_WORKERS);
	if (PG_ARGISNULL(FR_ARG_SUBJECT))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target must not be NULL"),
				 errhint("Pass the table to insert into, e.g. 'shop.recommendations'.")));
	PreventCommandIfReadOnly("recommend_all_into()");
	target = PG_GETARG_OID(FR_ARG_SUBJECT);
	target_name = check_target(target);

	model = fr_model_open(args.name, args.version);
	k = fr_clamp_k(model, args.k);
	users = palloc(sizeof(int32) * Max(model->n_users, 1));
	user_ids = palloc(sizeof(int64) * Max(model->n_users, 1));
	for (int32 u = 0; u < model->n_users; u++)
		if (shards == 1 || fr_user_shard(model->user_ids[u], shards) == shard)
		{
			users[n_users] = u;
			user_ids[n_users++] = model->user_ids[u];
		}
	/* the lists, in shared memory and again in the caller for the insert */
	fr_check_memory(mul_size(add_size(mul_size(mul_size(Max(n_users, 1), k), sizeof(int32) + sizeof(float)),
									  mul_size(Max(n_users, 1), sizeof(int32))), 2),
					"the lists of recommend_all_into()");
	out.items = palloc_extended(mul_size(mul_size(Max(n_users, 1), k), sizeof(int32)), MCXT_ALLOC_HUGE);
	out.scores = palloc_extended(mul_size(mul_size(Max(n_users, 1), k), sizeof(float)), MCXT_ALLOC_HUGE);
	out.counts = palloc_extended(mul_size(Max(n_users, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	out.users = users;

	fr_training_begin(model->model_id, model->algo->name);
	fr_progress_step("scoring users", 0, n_users, NAN);
	started = fr_now();
	if (workers > 1 && n_users > CLAIM_USERS)
		workers = score_parallel(model, &args, k, users, n_users, workers, &out);
	else
	{
		FrBatchPlan plan;
		BatchShared sh = {.k = k, .n_users = n_users};

		workers = 1;
		fr_batch_plan(&plan, model, &args, k);
		pg_atomic_init_u32(&sh.next_claim, 0);
		pg_atomic_init_u64(&sh.users_done, 0);
		score_claims(&sh, &out, &plan, true);
	}
	scored = fr_now();
	rows = insert_lists(target_name, model, user_ids, n_users, k, &out);
	fr_training_end();
	ereport(NOTICE,
			(errmsg("recommend_all_into: %d users scored by %d process%s in %.1f s, %lld rows inserted in %.1f s",
					n_users, workers, workers == 1 ? "" : "es", scored - started, (long long) rows,
					fr_now() - scored)));
	PG_RETURN_INT64(rows);
}
