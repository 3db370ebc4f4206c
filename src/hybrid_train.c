/*
 * hybrid_train.c — training a hybrid: resolving and pinning its components,
 * the new-item mapping, learned fusion and recency weights.
 *
 *   fashionrec.train('shop-hybrid', 'hybrid', NULL,
 *       '{"cf": "shop-als", "content": "shop-genres", "popularity": "shop-pop",
 *         "interactions": "SELECT customer_id, article_id FROM purchases"}');
 *
 * Each component resolves to the version active at that moment (or the one
 * named as "name@version") and is pinned: a hybrid version always serves
 * with the same component versions, however often they are retrained.  A
 * hybrid is an item-source algorithm (model.h): its items are the union of
 * the components' items, so products only the content model knows can be
 * recommended; the interactions (required) give the users, their "seen"
 * items and the history lengths.  Users the hybrid does not know get the
 * fusion of an empty history, computed here and stored as the fallback list.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "fashionrec.h"
#include "hybrid.h"
#include "linalg.h"
#include "source.h"

typedef struct HybridItems
{
	HybridPin	pins[N_SIGNALS];
	int32		n_feature_sets; /* the components' feature sets: the hybrid serves them live */
	int32		feature_sets[N_SIGNALS * 4];
} HybridItems;

/* "name" or "name@version" */
static void
parse_component(const char *role, const char *spec, char *name, int32 *version)
{
	const char *at = strrchr(spec, '@');
	size_t		len = at ? (size_t) (at - spec) : strlen(spec);

	*version = 0;
	if (len == 0 || len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\" for component \"%s\"", spec, role),
				 errhint("Give a model name, optionally with a version: \"shop-als\" or \"shop-als@3\".")));
	memcpy(name, spec, len);
	name[len] = '\0';
	if (at)
	{
		char	   *end;
		long		v = strtol(at + 1, &end, 10);

		if (at[1] == '\0' || *end != '\0' || v <= 0 || v > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid version in \"%s\" for component \"%s\"", spec, role),
					 errhint("Write the version as a positive integer after \"@\", as in \"shop-als@3\".")));
		*version = (int32) v;
	}
}

void *
hybrid_read_items(const char *source, const void *params_in,
				  int64 **item_ids, int32 *n_items)
{
	const HybridParams *p = params_in;
	HybridItems *hi = palloc0(sizeof(HybridItems));
	int64	   *all = NULL;
	int64		n_all = 0;
	int			present = 0;
	double		total_weight = 0;
	int64		m;

	if (source && *source)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"hybrid\" reads no source"),
				 errdetail("Its items come from its component models, its users from \"interactions\"."),
				 errhint("Pass NULL as the source: fashionrec.train(name, 'hybrid', NULL, '{\"cf\": \"...\", \"interactions\": \"...\"}').")));

	for (int s = 0; s < N_SIGNALS; s++)
	{
		HybridPin  *pin = &hi->pins[s];
		FrModel    *m;

		if (p->component[s] == NULL)
			continue;
		parse_component(hybrid_signal_names[s], p->component[s], pin->name, &pin->version);
		m = fr_model_open(pin->name, pin->version);
		if (!hybrid_kind_fits(s, m->algo))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("component \"%s\" must be %s, but model \"%s\" was trained with \"%s\"",
							hybrid_signal_names[s], hybrid_signal_kinds[s], pin->name, m->algo->name),
					 errhint("\"cf\" takes als, mf, svd, ease, itemknn or featurefm; \"content\" and \"image\" any model but popularity, sequence and hybrid; \"popularity\" and \"sequence\" a model of that name.")));
		/* pinned: what is active now is what this version serves forever */
		pin->version = m->version;
		pin->present = 1;
		present++;
		for (int f = 0; f < m->n_feature_sets; f++)
			if (hi->n_feature_sets < lengthof(hi->feature_sets))
				hi->feature_sets[hi->n_feature_sets++] = m->feature_sets[f];
		total_weight += p->weight[s];

		/* copied now: a later fr_model_open may evict m */
		all = all ? repalloc_huge(all, mul_size(n_all + m->n_items, sizeof(int64)))
			: palloc_extended(mul_size(Max(m->n_items, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
		memcpy(all + n_all, m->item_ids, sizeof(int64) * m->n_items);
		n_all += m->n_items;
	}
	if (present == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hybrid model needs at least one component"),
				 errhint("Name trained models in the parameters: {\"cf\": \"shop-als\", \"content\": \"shop-tfidf\", \"popularity\": \"shop-pop\"}.")));
	if (!(total_weight > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the weights of the hybrid's components are all zero"),
				 errhint("Give at least one component a positive weight (cf_weight, content_weight, ...).")));

	m = hybrid_sort_unique(all, n_all);
	if (m > PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the hybrid's components have more than %d items together", PG_INT32_MAX - 1)));
	*item_ids = all;
	*n_items = (int32) m;
	return hi;
}

/*
 * New items: fit item vector -> CF item factors on the items both sides
 * know, and map the items only the content side knows.
 */
static void
train_cold_start(FrTrainJob *job, const HybridParams *p, HybridState *st, int content)
{
	const FrTrainData *data = job->data;
	int32	   *cf_map = st->map[SIG_CF];
	int32	   *ct_map = st->map[content];
	int64		n_warm = 0,
				n_cold = 0;
	FrModel    *comp;
	int			d,
				k;
	float	   *x_warm,
			   *x_cold,
			   *y_warm,
			   *w;
	int32	   *warm_items,
			   *cold_items;
	double	   *gram;
	double		r2;

	comp = hybrid_open_pin(&st->pins[content]);
	d = comp->algo->embedding ? comp->algo->embedding(comp, false, 0, NULL) : 0;
	if (d > 0)
		d++;					/* plus a constant 1: the intercept, e.g. the mean item factor */
	if (d <= 0)
	{
		ereport(NOTICE,
				(errmsg("no collaborative scores for new items: component \"%s\" (%s) has no item vectors",
						hybrid_signal_names[content], comp->algo->name)));
		return;
	}
	warm_items = palloc(sizeof(int32) * Max(data->n_items, 1));
	cold_items = palloc(sizeof(int32) * Max(data->n_items, 1));
	for (int32 h = 0; h < data->n_items; h++)
	{
		if (ct_map[h] < 0)
			continue;
		if (cf_map[h] >= 0)
			warm_items[n_warm++] = h;
		else
			cold_items[n_cold++] = h;
	}
	if (n_warm < 2)
	{
		ereport(NOTICE,
				(errmsg("no collaborative scores for new items: only %lld items are in both \"cf\" and \"%s\"",
						(long long) n_warm, hybrid_signal_names[content])));
		return;
	}
	fr_check_memory(mul_size(mul_size(data->n_items, d + 64), sizeof(float)),
					"the hybrid's new-item mapping");
	x_warm = palloc_extended(mul_size(mul_size(n_warm, d), sizeof(float)), MCXT_ALLOC_HUGE);
	x_cold = palloc_extended(mul_size(mul_size(Max(n_cold, 1), d), sizeof(float)), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n_warm; i++)
	{
		comp->algo->embedding(comp, false, ct_map[warm_items[i]], x_warm + i * d);
		x_warm[i * d + d - 1] = 1.0f;
	}
	for (int64 i = 0; i < n_cold; i++)
	{
		comp->algo->embedding(comp, false, ct_map[cold_items[i]], x_cold + i * d);
		x_cold[i * d + d - 1] = 1.0f;
	}

	comp = hybrid_open_pin(&st->pins[SIG_CF]);
	k = comp->algo->embedding ? comp->algo->embedding(comp, false, 0, NULL) : 0;
	if (k <= 0)
	{
		ereport(NOTICE,
				(errmsg("no collaborative scores for new items: component \"cf\" (%s) has no item factors",
						comp->algo->name),
				 errhint("Use an als, mf or svd model as \"cf\" for them; new items still get content scores.")));
		return;
	}
	y_warm = palloc_extended(mul_size(mul_size(n_warm, k), sizeof(float)), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n_warm; i++)
		comp->algo->embedding(comp, false, cf_map[warm_items[i]], y_warm + i * k);

	/* Y^T Y of all CF items: recovers a folded-in user's factors from scores */
	gram = palloc0(sizeof(double) * k * k);
	{
		float	   *y = palloc(sizeof(float) * k);

		for (int32 i = 0; i < comp->n_items; i++)
		{
			comp->algo->embedding(comp, false, i, y);
			fr_gram_add(k, y, gram);
		}
		fr_gram_regularize(k, gram);
	}

	w = palloc(mul_size(mul_size(d, k), sizeof(float)));
	r2 = fr_ridge_fit(n_warm, d, k, x_warm, y_warm, p->ridge_lambda, w);

	st->n_cold = (int32) n_cold;
	st->factors = k;
	st->cold_items = cold_items;
	st->cold_factors = palloc_extended(mul_size(mul_size(Max(n_cold, 1), k), sizeof(float)), MCXT_ALLOC_HUGE);
	if (n_cold > 0)
		fr_sgemm(false, false, (int) n_cold, k, d, 1.0f, x_cold, d, w, k, 0.0f, st->cold_factors, k);
	st->cf_gram = gram;

	fr_artifact_put(job->model_id, "cold_items", FR_I32, n_cold, 1, cold_items);
	/* the mapping itself, for items a feature-store component gains later */
	fr_artifact_put(job->model_id, "cold_map", FR_F32, d, k, w);
	fr_artifact_put(job->model_id, "cold_map_signal", FR_I32, 1, 1, &content);
	fr_artifact_put(job->model_id, "cold_factors", FR_F32, n_cold, k, st->cold_factors);
	fr_artifact_put(job->model_id, "cf_gram", FR_F64, k, k, gram);
	fr_info_add_int(job, "new_items_mapped", n_cold);
	fr_info_add_real(job, "new_item_map_r2", r2);
}

static void
info_text(FrTrainJob *job, const char *key, const char *value)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(&job->info, WJB_KEY, &v);
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(&job->info, WJB_VALUE, &v);
}

/* ---- learned fusion and recency: training ------------------------------------ */

/* "16" or "32,16": the hidden layers' sizes */
static int
parse_hidden(const char *spec, int *hidden)
{
	const char *p = spec ? spec : "16";
	int			n = 0;

	for (;;)
	{
		char	   *end;
		long		v;

		while (*p == ' ')
			p++;
		v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > FR_FUSION_MAX_UNITS || n == FR_FUSION_MAX_HIDDEN)
			break;
		hidden[n++] = (int) v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return n;
		if (*p != ',')
			break;
		p++;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"mlp_hidden\": \"%s\"", spec),
			 errhint("Give one or two hidden layer sizes from 1 to %d, as in \"16\" or \"32,16\".",
					 FR_FUSION_MAX_UNITS)));
	return 0;					/* not reached */
}

/* per item: log(1 + buyers), log(1 + days since its first interaction) */
static float *
fusion_item_features(const FrTrainData *data)
{
	float	   *f = palloc_extended(mul_size(Max(data->n_items, 1), FR_FUSION_ITEM_FEATURES * sizeof(float)),
									MCXT_ALLOC_HUGE);

	fr_fusion_item_features(data->n_items, data->ui.nnz, data->ui.indices, data->times,
							data->max_time, f);
	return f;
}

/* recency weights of each user's history (fr_history_decay) */
static float *
history_decay(const FrTrainData *data, double half_life_days)
{
	float	   *w = palloc_extended(mul_size(Max(data->ui.nnz, 1), sizeof(float)), MCXT_ALLOC_HUGE);

	fr_history_decay(data->n_users, data->ui.indptr, data->times, half_life_days, w);
	return w;
}

/*
 * 1 for each item with interactions in data ("fusion_items": "new" leaves
 * them out); refuses a catalogue where every item has some.
 */
static uint8 *
interacted_items(const FrTrainData *data)
{
	uint8	   *warm = palloc0(Max(data->n_items, 1));
	int32		n_new = data->n_items;

	for (int64 q = 0; q < data->ui.nnz; q++)
		if (!warm[data->ui.indices[q]])
		{
			warm[data->ui.indices[q]] = 1;
			n_new--;
		}
	if (n_new == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"fusion_items\": \"new\" needs items without interactions, and every item of the hybrid has some"),
				 errdetail("New items are those a component knows (by their features or content) that \"interactions\" never mentions."),
				 errhint("Hold some items out of the components' training and of \"interactions\", with their validation interactions in \"validation\".")));
	return warm;
}

/* the training examples of learned fusion, grouped by validation user */
typedef struct FusionExamples
{
	int64		n;
	int64		cap;
	int			d;				/* inputs per example */
	float	   *x;				/* n x d */
	float	   *y;
	float	   *weighted;		/* the weighted fusion's score, to compare with */
	int64	   *group;
	int32		n_groups;
} FusionExamples;

static void
examples_add(FusionExamples *e, const float *x, float y, float weighted)
{
	if (e->n == e->cap)
	{
		e->cap = Max(e->cap * 2, 4096);
		e->x = repalloc_huge(e->x, mul_size(e->cap, e->d * sizeof(float)));
		e->y = repalloc_huge(e->y, mul_size(e->cap, sizeof(float)));
		e->weighted = repalloc_huge(e->weighted, mul_size(e->cap, sizeof(float)));
	}
	memcpy(e->x + e->n * e->d, x, sizeof(float) * e->d);
	e->y[e->n] = y;
	e->weighted[e->n] = weighted;
	e->n++;
}

/*
 * For each sampled validation user: the candidates are the union of each
 * signal's top fusion_candidates items, minus what the user has seen in the
 * interactions; label 1 for the validation items among them.  Users with no
 * validation item among their candidates are skipped.  Validation items
 * outside every signal's top list are not added: they would be the only
 * candidates far down every list, which gives them away (an MLP learns that
 * at once: on ML-100K, validation NDCG 0.57 and test NDCG 0.002).
 *
 * With "fusion_items": "new" the items with interactions are left out of
 * every candidate list as if seen: the fusion then learns to rank new
 * items against each other, where the signals weigh differently than on
 * the warm catalogue (a new item has no buyers, and "few buyers" was what
 * a fusion fitted on both learned).  warm_items marks them.
 */
static void
build_examples(const FrTrainData *data, const FrTrainData *vdata, char **vcontext,
			   const HybridParams *p, const HybridState *st, const uint8 *warm_items,
			   FusionExamples *e)
{
	MemoryContext user_cxt = AllocSetContextCreate(CurrentMemoryContext, "hybrid fusion user",
												   ALLOCSET_DEFAULT_SIZES);
	int32		n_items = data->n_items;
	int32	   *order = palloc(sizeof(int32) * Max(vdata->n_users, 1));
	int32		n_sample = Min(vdata->n_users, p->fusion_users);
	int			m = p->fusion_candidates;
	FrRng		rng;

	/* a seeded sample: the same users for the same seed and data */
	fr_rng_seed(&rng, (uint64) p->seed);
	for (int32 i = 0; i < vdata->n_users; i++)
		order[i] = i;
	for (int32 i = vdata->n_users - 1; i > 0; i--)
	{
		int32		j = (int32) fr_rng_below(&rng, (uint64) i + 1);
		int32		t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	e->cap = 4096;
	e->d = fr_fusion_inputs(st->net_signals, true);
	e->x = palloc_extended(mul_size(e->cap, e->d * sizeof(float)), MCXT_ALLOC_HUGE);
	e->y = palloc_extended(mul_size(e->cap, sizeof(float)), MCXT_ALLOC_HUGE);
	e->weighted = palloc_extended(mul_size(e->cap, sizeof(float)), MCXT_ALLOC_HUGE);
	e->group = palloc(sizeof(int64) * (n_sample + 1));
	e->group[0] = 0;

	for (int32 g = 0; g < n_sample; g++)
	{
		MemoryContext old = MemoryContextSwitchTo(user_cxt);
		int32		vu = order[g];
		int64		uid = vdata->user_ids[vu];
		int64		tu = fr_find_id(data->user_ids, data->n_users, uid);
		const int32 *hist = NULL;
		const float *hist_w = NULL;
		int			n_hist = 0;
		HybridExplain ex = {0};
		float	   *scores = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
		uint8	   *skip = palloc0(Max(n_items, 1));
		uint8	   *label = palloc0(Max(n_items, 1));
		int32	   *cand = palloc(sizeof(int32) * Max(n_items, 1));
		int32		n_cand = 0;
		int			positives = 0;
		const char *context = vcontext ? vcontext[vu] : NULL;
		float		x[N_FEATURES_CONTEXT];

		fr_check_interrupts();
		if (warm_items)
			memcpy(skip, warm_items, n_items);
		if (tu >= 0)
		{
			int64		lo = data->ui.indptr[tu];

			hist = data->ui.indices + lo;
			hist_w = st->hist_decay ? st->hist_decay + lo : NULL;
			n_hist = (int) (data->ui.indptr[tu + 1] - lo);
			for (int i = 0; i < n_hist; i++)
				skip[hist[i]] = 1;
		}
		hybrid_fuse(st, n_items, true, uid, hist, hist_w, n_hist, context,
					context ? hybrid_context_propensity(st, (int32) tu, context) : 1.0,
					scores, &ex, NULL, 0);
		for (int64 q = vdata->ui.indptr[vu]; q < vdata->ui.indptr[vu + 1]; q++)
		{
			int32		h = vdata->ui.indices[q];

			if (!skip[h] && !label[h])
			{
				label[h] = 1;
				positives++;
			}
		}
		if (positives > 0)
		{
			n_cand = fr_fusion_candidates(st->net_signals, (const float *const *) ex.norm, n_items, skip,
										  m, cand);
			positives = 0;
			for (int32 c = 0; c < n_cand; c++)
				positives += label[cand[c]];
		}
		if (positives > 0)
		{
			MemoryContextSwitchTo(old);
			for (int32 c = 0; c < n_cand; c++)
			{
				fr_fusion_row(st->net_signals, true, (const float *const *) ex.norm, n_hist, st->item_feat, cand[c], x);
				examples_add(e, x, label[cand[c]] ? 1.0f : 0.0f, scores[cand[c]]);
			}
			e->group[++e->n_groups] = e->n;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(user_cxt);
	}
	MemoryContextDelete(user_cxt);
}

/* the examples as one set, to slice (fr_fusion_set_slice) */
static FrFusionSet
examples_set(const FusionExamples *e)
{
	FrFusionSet set;

	set.n = e->n;
	set.d = e->d;
	set.x = e->x;
	set.y = e->y;
	set.n_groups = e->n_groups;
	set.group = e->group;
	return set;
}

/*
 * Each validation user's context: the most frequent value of the hybrid's
 * context_column among their validation events (the season they were
 * shopping in), so that the examples are fused in the context they were
 * bought in.  The validation source must carry the column.  NULL for a
 * user without a context value.
 */
static char **
validation_contexts(FrTrainJob *job, const HybridParams *p, const FrTrainData *vdata)
{
	MemoryContext caller = CurrentMemoryContext;
	FrSourceParams params = fr_source_param_defaults;
	char	  **contexts = palloc0(sizeof(char *) * Max(vdata->n_users, 1));
	char	   *query;

	params.context_column = (char *) job->context_column;
	query = fr_source_typed_query(p->validation, &params);
	SPI_connect();
	if (SPI_execute(psprintf("SELECT q.user_id, pg_catalog.mode() WITHIN GROUP (ORDER BY q.context)"
							 " FROM (%s) q WHERE q.context IS NOT NULL AND q.user_id IS NOT NULL"
							 " GROUP BY q.user_id", query), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the validation contexts");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		int64		u = fr_find_id(vdata->user_ids, vdata->n_users,
								   DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)));
		Datum		c = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);

		if (u >= 0)
		{
			MemoryContext old = MemoryContextSwitchTo(caller);

			contexts[u] = TextDatumGetCString(c);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return contexts;
}

/*
 * The users whose days span the interactions' time (first and last within
 * a tenth of its range from its ends), for fitting the propensity's prior:
 * a customer who joined in June has no winter days for a reason that is
 * not taste, and would pass for one with a taste.  NULL (every user) when
 * the source has no times.
 */
static bool *
context_prior_users(FrTrainJob *job, const char *filter)
{
	MemoryContext caller = CurrentMemoryContext;
	const FrTrainData *data = job->data;
	bool	   *whole = NULL;

	SPI_connect();
	if (SPI_execute(psprintf("WITH s AS (SELECT q.user_id, pg_catalog.min(q.event_epoch) AS lo,"
							 " pg_catalog.max(q.event_epoch) AS hi FROM (%s) q WHERE %s"
							 " AND q.event_epoch IS NOT NULL GROUP BY 1),"
							 " r AS (SELECT pg_catalog.min(lo) AS lo, pg_catalog.max(hi) AS hi FROM s)"
							 " SELECT s.user_id FROM s, r"
							 " WHERE s.lo <= r.lo + (r.hi - r.lo) / 10 AND s.hi >= r.hi - (r.hi - r.lo) / 10",
							 job->source_query, filter), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the time span of the interactions");
	if (SPI_processed > 0)
	{
		whole = MemoryContextAllocZero(caller, sizeof(bool) * Max(data->n_users, 1));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int64		u = fr_find_id(data->user_ids, data->n_users,
									   DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
																   SPI_tuptable->tupdesc, 1, &isnull)));

			if (u >= 0)
				whole[u] = true;
		}
	}
	SPI_finish();
	return whole;
}

/*
 * With a context_column: the context values of the interactions (in
 * strcmp order, as hybrid_context_index() searches them), each one's share
 * of the events, and each user's events per value, for the affinity
 * signal's propensity.  The popularity component gives the context
 * signals themselves, so it must know these contexts.
 */
static void
train_context(FrTrainJob *job, HybridState *st)
{
	const FrTrainData *data = job->data;
	MemoryContext caller = CurrentMemoryContext;
	const char *filter = "q.context IS NOT NULL AND q.user_id IS NOT NULL AND q.item_id IS NOT NULL";
	char	   *per_user;
	StringInfoData names;
	double		total = 0;
	int64		n_rows;
	int32	   *row_user,
			   *row_ctx;
	float	   *row_count;
	int64	   *fill;
	FrModel    *pop;
	float	   *probe;
	int32		known = 0;

	if (!st->pins[SIG_POPULARITY].present)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hybrid with a \"context_column\" needs a \"popularity\" component"),
				 errdetail("The context signals are the popularity component's scores within each context."),
				 errhint("Train a popularity model with the same \"context_column\" and name it as \"popularity\".")));

	/*
	 * A user's count in a context is the days they had events in it (their
	 * events when the source has no times): a visit's events share its
	 * context, and counting each would make every customer look like they
	 * have a taste for when they happen to shop (hybrid_context.c).
	 */
	per_user = psprintf("SELECT q.user_id, q.context, CASE WHEN pg_catalog.count(q.event_epoch) > 0"
						" THEN pg_catalog.count(DISTINCT pg_catalog.floor(q.event_epoch / 86400))"
						" ELSE pg_catalog.count(*) END::pg_catalog.float8 AS n"
						" FROM (%s) q WHERE %s GROUP BY 1, 2", job->source_query, filter);
	SPI_connect();
	if (SPI_execute(psprintf("SELECT u.context, pg_catalog.sum(u.n) FROM (%s) u"
							 " GROUP BY u.context ORDER BY u.context COLLATE \"C\"", per_user),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the contexts of the interactions");
	if (SPI_processed > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("context column has more than 10000 distinct values"),
				 errhint("Use a coarser context, such as a category rather than a product.")));
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		st->n_contexts = (int32) SPI_processed;
		st->context_names = palloc(sizeof(char *) * Max(st->n_contexts, 1));
		st->context_share = palloc(sizeof(double) * Max(st->n_contexts, 1));
		initStringInfo(&names);
		for (int32 c = 0; c < st->n_contexts; c++)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[c];

			st->context_names[c] = TextDatumGetCString(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			st->context_share[c] = DatumGetFloat8(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			total += st->context_share[c];
			appendBinaryStringInfo(&names, st->context_names[c], strlen(st->context_names[c]) + 1);
		}
		for (int32 c = 0; c < st->n_contexts; c++)
			st->context_share[c] /= total;
		MemoryContextSwitchTo(old);
	}

	if (SPI_execute(per_user, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the contexts of the interactions");
	n_rows = (int64) SPI_processed;
	row_user = MemoryContextAllocHuge(caller, sizeof(int32) * Max(n_rows, 1));
	row_ctx = MemoryContextAllocHuge(caller, sizeof(int32) * Max(n_rows, 1));
	row_count = MemoryContextAllocHuge(caller, sizeof(float) * Max(n_rows, 1));
	for (int64 r = 0; r < n_rows; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		char	   *name = TextDatumGetCString(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

		row_user[r] = (int32) fr_find_id(data->user_ids, data->n_users,
										 DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)));
		row_ctx[r] = hybrid_context_index(st, name);
		row_count[r] = (float) DatumGetFloat8(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
		if (r % 10000 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();

	/* each user's (context, count) entries, as CSR by the users' indices */
	st->ctx_indptr = palloc0(sizeof(int64) * ((size_t) data->n_users + 1));
	for (int64 r = 0; r < n_rows; r++)
		if (row_user[r] >= 0 && row_ctx[r] >= 0)
			st->ctx_indptr[row_user[r] + 1]++;
	for (int32 u = 0; u < data->n_users; u++)
		st->ctx_indptr[u + 1] += st->ctx_indptr[u];
	st->ctx_index = palloc_extended(mul_size(Max(st->ctx_indptr[data->n_users], 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	st->ctx_counts = palloc_extended(mul_size(Max(st->ctx_indptr[data->n_users], 1), sizeof(float)), MCXT_ALLOC_HUGE);
	fill = palloc(sizeof(int64) * ((size_t) data->n_users + 1));
	memcpy(fill, st->ctx_indptr, sizeof(int64) * ((size_t) data->n_users + 1));
	for (int64 r = 0; r < n_rows; r++)
		if (row_user[r] >= 0 && row_ctx[r] >= 0)
		{
			st->ctx_index[fill[row_user[r]]] = row_ctx[r];
			st->ctx_counts[fill[row_user[r]]++] = row_count[r];
		}

	/* a popularity component trained without this column would give no context signal */
	pop = hybrid_open_pin(&st->pins[SIG_POPULARITY]);
	probe = palloc_extended(mul_size(Max(pop->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	for (int32 c = 0; c < st->n_contexts && pop->algo->score_context; c++)
		known += pop->algo->score_context(pop, st->context_names[c], probe);
	if (st->n_contexts > 0 && known == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("popularity component %s knows none of the %d values of context column \"%s\"",
						hybrid_pin_label(&st->pins[SIG_POPULARITY]), st->n_contexts, job->context_column),
				 errhint("Train the popularity component with the same \"context_column\": fashionrec.train(name, 'popularity', source, '{\"context_column\": \"%s\"}').",
						 job->context_column)));

	fr_artifact_put(job->model_id, "context_names", FR_BYTES, names.len, 1, names.data);
	fr_artifact_put(job->model_id, "context_share", FR_F64, st->n_contexts, 1, st->context_share);
	fr_artifact_put(job->model_id, "context_user_indptr", FR_I64, (int64) data->n_users + 1, 1, st->ctx_indptr);
	fr_artifact_put(job->model_id, "context_user_index", FR_I32, st->ctx_indptr[data->n_users], 1, st->ctx_index);
	fr_artifact_put(job->model_id, "context_user_counts", FR_F32, st->ctx_indptr[data->n_users], 1, st->ctx_counts);
	hybrid_context_fit_prior(st, data->n_users, context_prior_users(job, filter));
	fr_artifact_put(job->model_id, "context_prior", FR_F64, st->n_contexts, 1, st->context_prior);
	info_text(job, "context_column", job->context_column);
	fr_info_add_int(job, "contexts", st->n_contexts);
	fr_info_add_int(job, "contexts_known_to_popularity", known);
}

/*
 * Fit the learned fusion on the validation interactions: users split (after
 * the seeded shuffle) into a half to fit on, a quarter for the MLP's early
 * stopping and a quarter on which the candidates are compared by NDCG@10,
 * so that neither the fitted weights nor the stopping epoch are judged on
 * the users that chose them.  The members of an MLP bag rotate the stopping
 * quarter through the first three quarters (fr_fusion_fit_mlp_bag); the
 * comparison quarter is never fitted on.  Sets st->fusion and st->net.
 */
static void
train_learned_fusion(FrTrainJob *job, const HybridParams *p, HybridState *st)
{
	const FrTrainData *data = job->data;
	FrTrainData vdata;
	FrSourceStats vstats;
	FusionExamples e = {0};
	int32		n_fit,
				n_stop;
	FrFusionSet all,
				fit,
				pool,
				sel;
	float	   *s;
	double		ndcg[3] = {-1, -1, -1};
	double	   *per_user[3];	/* each comparison user's NDCG@10 per fusion */
	FrFusionNet nets[3] = {{0}};
	int			chosen = FUSION_WEIGHTED;
	bool		want_lr = p->fusion == FUSION_LOGISTIC || p->fusion == FUSION_AUTO;
	bool		want_mlp = p->fusion == FUSION_MLP || p->fusion == FUSION_AUTO;
	int			hidden[FR_FUSION_MAX_HIDDEN];
	int			n_hidden = parse_hidden(p->mlp_hidden, hidden);
	uint8	   *warm_items = NULL;

	/* the bag is served as one net with the bags' layers side by side (fr_fusion_fit_mlp_bag) */
	for (int l = 0; want_mlp && l < n_hidden; l++)
		if (hidden[l] * p->mlp_bags > FR_FUSION_MAX_UNITS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"mlp_bags\" %d times a hidden layer of %d units exceeds %d units",
							p->mlp_bags, hidden[l], FR_FUSION_MAX_UNITS),
					 errdetail("The averaged MLPs are served as one net whose hidden layers hold every bag's units."),
					 errhint("Use fewer bags or smaller hidden layers (\"mlp_hidden\").")));

	fr_source_read(p->validation, &fr_source_param_defaults, &vdata, &vstats,
				   data->item_ids, data->n_items);
	if (vdata.n_users == 0 || vdata.n_items != data->n_items)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"validation\" has no interactions with the hybrid's items"),
				 errhint("Give held-out (user, item) pairs the components were not trained on, e.g. a later period.")));

	if (p->fusion_items == FUSION_ITEMS_NEW)
		warm_items = interacted_items(data);
	build_examples(data, &vdata, job->has_context ? validation_contexts(job, p, &vdata) : NULL,
				   p, st, warm_items, &e);
	if (e.n_groups < 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"validation\" has %d users with an unseen item among their candidates, learned fusion needs at least 4",
						e.n_groups),
				 errdetail("Validation items a user already has in \"interactions\", that no signal ranks in its top \"fusion_candidates\", "
						   "or (with \"fusion_items\": \"new\") that have interactions, are not examples."),
				 errhint("Hold out more users' later interactions, or raise \"fusion_users\".")));
	n_fit = (e.n_groups + 1) / 2;
	n_stop = (e.n_groups - n_fit + 1) / 2;
	all = examples_set(&e);
	fit = fr_fusion_set_slice(&all, 0, n_fit);
	pool = fr_fusion_set_slice(&all, 0, n_fit + n_stop);
	sel = fr_fusion_set_slice(&all, n_fit + n_stop, e.n_groups);
	s = palloc_extended(mul_size(Max(sel.n, 1), sizeof(float)), MCXT_ALLOC_HUGE);

	for (int k = FUSION_WEIGHTED; k <= FUSION_MLP; k++)
		per_user[k] = palloc(sizeof(double) * Max(sel.n_groups, 1));
	ndcg[FUSION_WEIGHTED] = fr_fusion_ndcg_groups(&sel, e.weighted + e.group[n_fit + n_stop], 10,
												  per_user[FUSION_WEIGHTED]);
	if (want_lr)
	{
		fr_fusion_fit_logistic(&fit, p->fusion_l2, &nets[FUSION_LOGISTIC]);
		fr_fusion_forward(&nets[FUSION_LOGISTIC], sel.n, sel.x, s);
		ndcg[FUSION_LOGISTIC] = fr_fusion_ndcg_groups(&sel, s, 10, per_user[FUSION_LOGISTIC]);
	}
	if (want_mlp)
	{
		FrMlpOptions opt = {0};
		FrFusionFitInfo info;

		opt.l2 = p->fusion_l2;
		opt.learning_rate = p->mlp_learning_rate;
		opt.max_epochs = p->mlp_epochs;
		opt.patience = p->mlp_patience;
		opt.batch = 256;
		opt.ndcg_k = 10;
		opt.seed = (uint64) p->seed;
		fr_fusion_fit_mlp_bag(&pool, n_fit, &opt, p->mlp_bags, n_hidden, hidden,
							  &nets[FUSION_MLP], &info);
		fr_fusion_forward(&nets[FUSION_MLP], sel.n, sel.x, s);
		ndcg[FUSION_MLP] = fr_fusion_ndcg_groups(&sel, s, 10, per_user[FUSION_MLP]);
		fr_info_add_int(job, "mlp_epochs", info.epochs);
		fr_info_add_int(job, "mlp_best_epoch", info.best_epoch);
		if (p->mlp_bags > 1)
			fr_info_add_int(job, "mlp_bags", p->mlp_bags);
	}
	if (p->fusion == FUSION_AUTO)
	{
		/*
		 * A more complex fusion replaces a simpler one only when it is better
		 * by more than the noise of the comparison (fr_fusion_choose): the
		 * comparison quarter is small (~40 users on ML-100K), and an MLP
		 * that wins within its noise did worse than the logistic fusion for
		 * customers with one interaction (docs/benchmarks.md).
		 */
		double		noise[3];

		chosen = fr_fusion_choose(3, ndcg, per_user, sel.n_groups, noise);
		for (int k = FUSION_LOGISTIC; k <= FUSION_MLP; k++)
			if (isfinite(noise[k]))
				fr_info_add_real(job, psprintf("validation_noise_%s", hybrid_fusions[k]), noise[k]);
	}
	else
		chosen = p->fusion;

	info_text(job, "fusion", hybrid_fusions[chosen]);
	fr_info_add_int(job, "fusion_users", e.n_groups);
	fr_info_add_int(job, "fusion_examples", e.n);
	for (int k = FUSION_WEIGHTED; k <= FUSION_MLP; k++)
		if (ndcg[k] >= 0)
			fr_info_add_real(job, psprintf("validation_ndcg_%s", hybrid_fusions[k]), ndcg[k]);
	st->fusion = chosen;
	if (chosen != FUSION_WEIGHTED)
		st->net = nets[chosen];
}

/*
 * "fusion_from": the learned fusion of another hybrid version, reused over
 * this one's components — stacking as usual: fit the fusion with components
 * trained without the validation period, then retrain the components on
 * everything and keep the fusion.  The features mean the same whatever the
 * components (normalised scores, log counts), which is what makes it valid.
 */
static void
reuse_fusion(FrTrainJob *job, const HybridParams *p, HybridState *st)
{
	char		name[NAMEDATALEN];
	int32		version;
	FrModel    *from;
	const HybridState *fst;
	int64		size;

	if (p->validation || p->fusion != FUSION_WEIGHTED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"fusion_from\" reuses a fitted fusion, it cannot be combined with \"fusion\" or \"validation\""),
				 errhint("Either fit a fusion here (\"fusion\" and \"validation\") or reuse one (\"fusion_from\").")));
	parse_component("fusion_from", p->fusion_from, name, &version);
	from = fr_model_open(name, version);
	fst = from->state;
	if (from->algo != &fr_hybrid_algorithm || fst->fusion == FUSION_WEIGHTED)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"fusion_from\" must name a hybrid with a learned fusion, model \"%s\" has none", name),
				 errhint("Train one with {\"fusion\": \"logistic\", \"validation\": ...} first.")));
	for (int s = 0; s < N_SIGNALS; s++)
		if ((fst->pins[s].present && fst->weight[s] > 0) != (st->pins[s].present && st->weight[s] > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"fusion_from\" model \"%s\" %s a \"%s\" signal and this hybrid %s",
							name, fst->pins[s].present && fst->weight[s] > 0 ? "has" : "has no",
							hybrid_signal_names[s], st->pins[s].present && st->weight[s] > 0 ? "has" : "has not"),
					 errhint("A reused fusion needs the same signals: give both hybrids the same component roles.")));
	st->fusion = fst->fusion;
	st->net = fst->net;
	st->net_signals = fst->net_signals;
	size = fr_fusion_net_size(fst->net.d, fst->net.n_hidden, fst->net.hidden);
	st->net.params = palloc(sizeof(float) * size);
	memcpy(st->net.params, fst->net.params, sizeof(float) * size);
	st->item_feat = fusion_item_features(job->data);
	info_text(job, "fusion", hybrid_fusions[st->fusion]);
	info_text(job, "fusion_from", psprintf("%s@%d", name, from->version));
}

/*
 * Learned fusion and recency at training: what they need (validation,
 * times), the fit, and the artifacts serving reads ("hybrid_options",
 * "fusion_net", "fusion_item_ids" + "fusion_item_features", "history_*").
 */
static void
train_options(FrTrainJob *job, const HybridParams *p, HybridState *st)
{
	const FrTrainData *data = job->data;
	double		options[OPT_N] = {0};

	if (p->half_life_days > 0)
	{
		int64	   *ids;

		if (data->times == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"half_life_days\" needs times in \"interactions\""),
					 errhint("Add a time column to the interactions: SELECT user_id, item_id, weight, event_time FROM ...")));
		st->half_life = p->half_life_days;
		st->hist_decay = history_decay(data, p->half_life_days);
		ids = palloc_extended(mul_size(Max(data->ui.nnz, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
		for (int64 q = 0; q < data->ui.nnz; q++)
			ids[q] = data->item_ids[data->ui.indices[q]];
		fr_artifact_put(job->model_id, "history_indptr", FR_I64, (int64) data->n_users + 1, 1,
						data->ui.indptr);
		fr_artifact_put(job->model_id, "history_item_ids", FR_I64, data->ui.nnz, 1, ids);
		fr_artifact_put(job->model_id, "history_decay", FR_F32, data->ui.nnz, 1, st->hist_decay);
	}

	if (p->fusion_from)
	{
		reuse_fusion(job, p, st);
		p = NULL;				/* nothing below applies */
	}
	else if (p->fusion != FUSION_WEIGHTED && p->validation == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fusion \"%s\" needs a \"validation\" source", hybrid_fusions[p->fusion]),
				 errdetail("Learned fusion is fitted on interactions the components did not see; fitted on their training data it learns their overfitting."),
				 errhint("Add {\"validation\": \"SELECT user_id, item_id FROM later_period\"}, held out from the components' training data.")));
	if (p && p->validation)
	{
		st->item_feat = fusion_item_features(data);
		train_learned_fusion(job, p, st);
	}
	options[OPT_FUSION] = st->fusion;
	options[OPT_HALF_LIFE] = st->half_life;
	if (st->fusion != FUSION_WEIGHTED)
	{
		options[OPT_N_HIDDEN] = st->net.n_hidden;
		options[OPT_HIDDEN1] = st->net.n_hidden > 0 ? st->net.hidden[0] : 0;
		options[OPT_HIDDEN2] = st->net.n_hidden > 1 ? st->net.hidden[1] : 0;
		fr_artifact_put(job->model_id, "fusion_net", FR_F32,
						fr_fusion_net_size(st->net.d, st->net.n_hidden, st->net.hidden), 1,
						st->net.params);
		fr_artifact_put(job->model_id, "fusion_item_ids", FR_I64, data->n_items, 1, data->item_ids);
		fr_artifact_put(job->model_id, "fusion_item_features", FR_F32, data->n_items, 2, st->item_feat);
	}
	fr_artifact_put(job->model_id, "hybrid_options", FR_F64, OPT_N, 1, options);
	if (st->half_life > 0)
		fr_info_add_real(job, "half_life_days", st->half_life);
}

void
hybrid_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	const HybridParams *p = job->params;
	const HybridItems *hi = job->items;
	HybridState *st = palloc0(sizeof(HybridState));
	double		config[CONFIG_N];
	float	   *cold_scores;

	if (hi == NULL)
		elog(ERROR, "hybrid training without its components");
	if (data->n_users == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hybrid model needs interactions"),
				 errdetail("They give its users, their seen items and their history lengths."),
				 errhint("Add {\"interactions\": \"SELECT user_id, item_id FROM ...\"} to the parameters.")));

	memcpy(st->pins, hi->pins, sizeof(st->pins));
	if (hi->n_feature_sets > 0)
		fr_info_add_int_array(job, "feature_sets", hi->feature_sets, hi->n_feature_sets);
	for (int s = 0; s < N_SIGNALS; s++)
	{
		st->weight[s] = st->pins[s].present ? p->weight[s] : 0;
		config[CONFIG_WEIGHTS + s] = st->weight[s];
	}
	/* the context signals come from the popularity component */
	for (int s = SIG_CONTEXT; s < N_ALL_SIGNALS; s++)
		st->weight[s] = st->pins[SIG_POPULARITY].present ? p->weight[s] : 0;
	st->net_signals = job->has_context ? N_ALL_SIGNALS : N_SIGNALS;
	st->n0 = p->history_n0;
	st->normalization = (FrNormalization) p->normalization;
	config[CONFIG_N0] = st->n0;
	config[CONFIG_NORMALIZATION] = st->normalization;
	fr_artifact_put(job->model_id, "hybrid_pins", FR_BYTES, N_SIGNALS, sizeof(HybridPin), st->pins);
	fr_artifact_put(job->model_id, "hybrid_config", FR_F64, CONFIG_N, 1, config);
	fr_artifact_put(job->model_id, "hybrid_context", FR_F64, CONTEXT_CONFIG_N, 1, st->weight + SIG_CONTEXT);

	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;

		if (!st->pins[s].present)
			continue;
		comp = hybrid_open_pin(&st->pins[s]);
		st->map[s] = hybrid_build_map(comp, data->item_ids, data->n_items);
		fr_artifact_put(job->model_id, psprintf("map_%s", hybrid_signal_names[s]), FR_I32,
						data->n_items, 1, st->map[s]);
		info_text(job, hybrid_signal_names[s], hybrid_pin_label(&st->pins[s]));
	}

	if (p->cold_start && st->pins[SIG_CF].present &&
		(st->pins[SIG_CONTENT].present || st->pins[SIG_IMAGE].present))
		train_cold_start(job, p, st, st->pins[SIG_CONTENT].present ? SIG_CONTENT : SIG_IMAGE);
	if (job->has_context)
		train_context(job, st);
	train_options(job, p, st);

	/* the list for users the hybrid does not know: an empty history */
	cold_scores = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	hybrid_fuse(st, data->n_items, false, 0, NULL, NULL, 0, NULL, 1.0, cold_scores, NULL, NULL, 0);
	fr_artifact_put(job->model_id, "cold_user_scores", FR_F32, data->n_items, 1, cold_scores);
}
