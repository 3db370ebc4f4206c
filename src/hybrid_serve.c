/*
 * hybrid_serve.c — the fusion of one request and the hybrid's serving
 * callbacks, explain() included.
 *
 * Every call re-opens the pinned components (a cheap cached lookup) and,
 * per signal, takes the component's scores over its items (score_user for
 * users it knows, fold-in of the user's history otherwise), maps them to the
 * hybrid's items, normalises them over the catalog (z-score or rank,
 * fusion.c) and sums them with weights that depend on the history length
 * n: the collaborative weight is scaled by n / (n + n0) and what it loses
 * goes to the other signals.  A learned fusion replaces the sum by its net
 * (fusion_features.c).  New items get collaborative scores from the factors
 * training mapped from their content.  A call with a context adds two
 * signals (hybrid_context.c) that are fused with the others.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#include "fashionrec.h"
#include "hybrid.h"
#include "scratch.h"
#include "serving.h"
#include "skipmask.h"
#include "topk.h"

/*
 * A pinned component for serving, checked against what the hybrid stored
 * about it: the maps index its items, and new items' factors are in its
 * factor space.  Checked here rather than at load, so that a hybrid serves
 * its stored list to unknown users without opening its components.
 */
FrModel *
hybrid_open_component(const HybridState *st, int signal)
{
	FrModel    *comp = hybrid_open_pin(&st->pins[signal]);

	/* at training the maps were just built from the components */
	if (st->model == NULL)
		return comp;
	hybrid_check_kind(st, signal, comp);
	if (st->map_max[signal] >= comp->n_items)
		fr_artifact_corrupt(st->model, psprintf("map_%s", hybrid_signal_names[signal]),
							"It maps to item %d of component %s, which has %d items.",
							st->map_max[signal], hybrid_pin_label(&st->pins[signal]), comp->n_items);
	if (signal == SIG_CF && st->n_cold > 0 && comp->algo->embedding &&
		comp->algo->embedding(comp, false, 0, NULL) != st->factors)
		fr_artifact_corrupt(st->model, "cold_factors",
							"It has %d factors, component %s has %d.", st->factors,
							hybrid_pin_label(&st->pins[signal]), comp->algo->embedding(comp, false, 0, NULL));
	return comp;
}

/*
 * The component's raw scores over its own items for this user; false when
 * the signal has nothing to say (a user it does not know and no history).
 */
static bool
component_scores(const FrModel *comp, int signal, const int32 *map,
				 bool has_user, int64 user_id,
				 const int32 *hist, const float *hist_w, int n_hist,
				 float *raw, int32 *comp_user)
{
	int32		u = has_user ? fr_model_user_index(comp, user_id) : -1;

	*comp_user = u;
	if (signal == SIG_POPULARITY)
	{
		/* the popularity algorithm serves its (decayed) list as this fallback */
		memcpy(raw, comp->item_popularity, sizeof(float) * comp->n_items);
		return true;
	}
	if (u >= 0)
	{
		comp->algo->score_user(comp, u, raw);
		return true;
	}
	if (n_hist > 0 && comp->algo->score_items)
	{
		int32	   *items = palloc(sizeof(int32) * n_hist);
		float	   *weights = palloc(sizeof(float) * n_hist);
		int			m = 0;

		for (int i = 0; i < n_hist; i++)
			if (map[hist[i]] >= 0)
			{
				items[m] = map[hist[i]];
				weights[m++] = hist_w ? hist_w[i] : 1.0f;
			}
		if (m > 0)
			comp->algo->score_items(comp, items, weights, m, raw);
		pfree(items);
		pfree(weights);
		return m > 0;
	}
	return false;
}

/* CF-like scores of the new items: the user's factors times their mapped factors */
static void
cold_cf_scores(const HybridState *st, const FrModel *cf, int32 cf_user,
			   const float *raw, float *vals)
{
	int			k = st->factors;
	float	   *x = palloc(sizeof(float) * k);

	if (cf_user >= 0 && cf->algo->embedding(cf, true, 0, NULL) == k)
		cf->algo->embedding(cf, true, cf_user, x);
	else
	{
		/* a folded-in user: their factors from their scores (fusion.h) */
		double	   *yts = palloc0(sizeof(double) * k);
		float	   *y = palloc(sizeof(float) * k);

		for (int32 i = 0; i < cf->n_items; i++)
		{
			if (!isfinite(raw[i]))
				continue;
			cf->algo->embedding(cf, false, i, y);
			fr_scores_add(k, raw[i], y, yts);
		}
		fr_factors_from_scores(k, st->cf_gram, yts, x);
	}
	fr_mapped_scores(k, st->n_cold, st->cold_items, st->cold_factors, x, vals);
	pfree(x);
}

/*
 * An MLP fusion scores a pool of items, not the catalogue
 * (fr_fusion_pool_scores): the LEARNED_POOL items with the best normalised
 * score in any signal, plus the candidates a caller must have scored
 * exactly; every other item ranks below the pool in the weighted fusion's
 * order.  A logistic fusion is linear, a few multiply-adds per item, so it
 * scores the whole catalogue.
 */
#define LEARNED_POOL 1000

/*
 * The fusion of one request over n_items: a user (has_user: the
 * components' own scores of user_id where they know the user), the
 * history hist[n_hist] (weights hist_w, or NULL) folded in where not, and,
 * with a context, the context signals with the user's propensity for it
 * (hybrid_context_propensity).  ex, when given, receives what was computed;
 * exact[n_exact] are items an MLP must score exactly.
 */
void
hybrid_fuse(const HybridState *st, int32 n_items, bool has_user, int64 user_id,
			const int32 *hist, const float *hist_w, int n_hist,
			const char *context, double propensity,
			float *out, HybridExplain *ex, const int32 *exact, int n_exact)
{
	float	   *norm[N_ALL_SIGNALS] = {0};
	bool		available[N_ALL_SIGNALS] = {0};
	bool		is_cf[N_ALL_SIGNALS] = {0};
	bool		shared[N_ALL_SIGNALS] = {0};	/* the backend's cached context signals */
	bool		scaled = false;
	double		weights[N_ALL_SIGNALS];

	is_cf[SIG_CF] = true;
	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;
		float	   *raw,
				   *vals;
		float		missing;
		int32		comp_user;
		bool		fold_in;

		if (!st->pins[s].present || st->weight[s] <= 0)
			continue;
		comp = hybrid_open_component(st, s);
		if (st->comp_items[s] > 0 &&
			(comp->live_token != st->comp_token[s] || comp->n_items != st->comp_items[s]))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("component \"%s\" of hybrid model changed while it was being served",
							hybrid_pin_label(&st->pins[s])),
					 errhint("Retry: the next statement serves both at the feature set's new generation.")));
		raw = fr_scratch_floats(comp->n_items);
		/*
		 * With a half-life, the cf and content signals fold in the decayed
		 * history even for users the component knows: its own profile of
		 * them (ALS factors, the content model's profile) weighs every item
		 * alike.  The sequence model keeps its own recency (recency_decay).
		 */
		fold_in = st->half_life > 0 && hist_w != NULL && comp->algo->score_items &&
			(s == SIG_CF || s == SIG_CONTENT || s == SIG_IMAGE);
		if (!component_scores(comp, s, st->map[s], has_user && !fold_in, user_id, hist, hist_w, n_hist,
							  raw, &comp_user))
		{
			fr_scratch_release(raw);
			continue;
		}
		/*
		 * An item the component does not know: popularity and transitions
		 * have observed nothing, which is a count of 0; the other signals
		 * have no opinion, which normalises to the neutral 0 (fusion.h).
		 */
		missing = (s == SIG_POPULARITY || s == SIG_SEQUENCE) ? 0.0f : NAN;
		vals = fr_scratch_floats(n_items);
		for (int32 h = 0; h < n_items; h++)
			vals[h] = st->map[s][h] >= 0 ? raw[st->map[s][h]] : missing;
		if (s == SIG_CF && st->n_cold > 0 && comp->algo->embedding)
			cold_cf_scores(st, comp, comp_user, raw, vals);
		fr_scratch_release(raw);
		norm[s] = fr_scratch_floats(n_items);
		fr_normalize_scores(vals, n_items, st->normalization, norm[s]);
		available[s] = true;
		if (ex)
			ex->raw[s] = vals;
		else
			fr_scratch_release(vals);
	}
	if (context && st->pins[SIG_POPULARITY].present &&
		(st->weight[SIG_CONTEXT] > 0 || st->weight[SIG_AFFINITY] > 0) &&
		hybrid_context_signals(st, n_items, context, norm, ex ? ex->raw : NULL, &shared[SIG_CONTEXT]))
	{
		available[SIG_CONTEXT] = st->weight[SIG_CONTEXT] > 0;
		available[SIG_AFFINITY] = st->weight[SIG_AFFINITY] > 0;
		shared[SIG_AFFINITY] = shared[SIG_CONTEXT];

		/*
		 * The affinity is the lift times the user's propensity: a factor on
		 * its weight in the weighted sum, on its values for a net and for
		 * what explain and the examples read.
		 */
		if (propensity != 1.0 && (st->fusion != FUSION_WEIGHTED || ex))
		{
			float	   *values = fr_scratch_floats(n_items);

			for (int32 h = 0; h < n_items; h++)
				values[h] = norm[SIG_AFFINITY][h] * (float) propensity;
			if (!shared[SIG_AFFINITY])
				fr_scratch_release(norm[SIG_AFFINITY]);
			norm[SIG_AFFINITY] = values;
			shared[SIG_AFFINITY] = false;
			scaled = true;
		}
	}
	fr_fusion_weights(N_ALL_SIGNALS, st->weight, is_cf, available, n_hist, st->n0, weights);
	if (!scaled)
		weights[SIG_AFFINITY] *= propensity;
	if (st->fusion == FUSION_LOGISTIC)
		fr_fusion_linear_scores(&st->net, st->net_signals, n_items, (const float *const *) norm, st->item_feat,
								n_hist, out);
	else
	{
		fr_fuse(N_ALL_SIGNALS, n_items, (const float *const *) norm, weights, out);
		if (st->fusion == FUSION_MLP)
			fr_fusion_pool_scores(&st->net, st->net_signals, n_items, (const float *const *) norm, st->item_feat,
								  n_hist, exact, n_exact, LEARNED_POOL, out);
	}

	/*
	 * A learned fusion fitted without context signals has no inputs for
	 * them: they are added with their weights, so that a context still
	 * shifts its lists (a fusion fitted with them has learned their part).
	 */
	if (st->fusion != FUSION_WEIGHTED && st->net_signals == N_SIGNALS)
		for (int s = SIG_CONTEXT; s < N_ALL_SIGNALS; s++)
			if (available[s])
				for (int32 h = 0; h < n_items; h++)
					out[h] += (float) st->weight[s] * norm[s][h];
	if (ex)
	{
		memcpy(ex->available, available, sizeof(available));
		memcpy(ex->weight, weights, sizeof(weights));
		memcpy(ex->norm, norm, sizeof(norm));
	}
	else
		for (int s = 0; s < N_ALL_SIGNALS; s++)
			if (norm[s] && !shared[s])
				fr_scratch_release(norm[s]);
}

/*
 * Serving opens every component while the caller holds the hybrid itself:
 * all of them must fit in the model cache together, or opening one would
 * evict another that is still in use.
 */
static void
check_cache(const HybridState *st)
{
	int			present = 0;

	for (int s = 0; s < N_SIGNALS; s++)
		present += st->pins[s].present;
	if (fr_cache_models < present + 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a hybrid model with %d components needs fashionrec.cache_models >= %d, it is %d",
						present, present + 1, fr_cache_models),
				 errhint("A superuser can raise it: SET fashionrec.cache_models = %d, or ALTER ROLE ... SET for the role that serves.",
						 present + 1)));
}

void
hybrid_score_user(const FrModel *model, int32 user, float *scores)
{
	const HybridState *st = model->state;
	int64		lo = model->seen_indptr[user];

	check_cache(st);
	hybrid_fuse(st, model->n_items, true, model->user_ids[user],
				model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
				(int) (model->seen_indptr[user + 1] - lo), NULL, 1.0, scores, NULL, NULL, 0);
}

/*
 * Candidates of a known user: the fusion is over the catalogue anyway (the
 * normalisation is), but a learned fusion then scores exactly these items.
 */
void
hybrid_score_user_items(const FrModel *model, int32 user, const int32 *items, int n, float *scores)
{
	const HybridState *st = model->state;
	int64		lo = model->seen_indptr[user];
	float	   *all;

	check_cache(st);
	all = fr_scratch_floats(model->n_items);
	hybrid_fuse(st, model->n_items, true, model->user_ids[user],
				model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
				(int) (model->seen_indptr[user + 1] - lo), NULL, 1.0, all, NULL, items, n);
	for (int i = 0; i < n; i++)
		scores[i] = all[items[i]];
	fr_scratch_release(all);
}

void
hybrid_score_items(const FrModel *model, const int32 *items, const float *weights,
				   int n, float *scores)
{
	check_cache(model->state);
	hybrid_fuse(model->state, model->n_items, false, 0, items, weights, n, NULL, 1.0, scores, NULL, NULL, 0);
}

/* popularity within a context (a season, a gender) from the popularity component */
bool
hybrid_score_context(const FrModel *model, const char *context, float *scores)
{
	const HybridState *st = model->state;
	FrModel    *comp;
	float	   *raw;

	if (!st->pins[SIG_POPULARITY].present)
		return false;
	check_cache(st);
	comp = hybrid_open_component(st, SIG_POPULARITY);
	if (comp->algo->score_context == NULL)
		return false;
	raw = fr_scratch_floats(comp->n_items);
	if (!comp->algo->score_context(comp, context, raw))
	{
		fr_scratch_release(raw);
		return false;
	}
	/* items the popularity model does not know rank after all it knows */
	for (int32 h = 0; h < model->n_items; h++)
		scores[h] = st->map[SIG_POPULARITY][h] >= 0 ? raw[st->map[SIG_POPULARITY][h]] : -FLT_MAX;
	fr_scratch_release(raw);
	return true;
}

/*
 * A user in a context: the context signals fused with the personal ones.
 * With nothing known of the user, or a hybrid trained before 0.3, the
 * context's popularity replaces the fusion, as it did in 0.2.  A context
 * the popularity component does not know, or context weights of 0, add no
 * signal: the list is the one without context.
 */
bool
hybrid_score_in_context(const FrModel *model, int32 user, const int32 *items,
						const float *weights, int n, const char *context,
						const int32 *exact, int n_exact, float *scores)
{
	const HybridState *st = model->state;

	if ((user < 0 && n == 0) || !st->pins[SIG_POPULARITY].present || st->context_replaces)
		return hybrid_score_context(model, context, scores);
	check_cache(st);
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];

		hybrid_fuse(st, model->n_items, true, model->user_ids[user],
					model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
					(int) (model->seen_indptr[user + 1] - lo), context,
					hybrid_context_propensity(st, user, context),
					scores, NULL, exact, n_exact);
	}
	else
		hybrid_fuse(st, model->n_items, false, 0, items, weights, n, context, 1.0,
					scores, NULL, exact, n_exact);
	return true;
}

/* explain()'s columns */
enum
{
	EXPLAIN_COL_RANK,
	EXPLAIN_COL_ITEM_ID,
	EXPLAIN_COL_SCORE,
	EXPLAIN_COL_SIGNAL,
	EXPLAIN_COL_COMPONENT,
	EXPLAIN_COL_RAW_SCORE,
	EXPLAIN_COL_NORMALIZED,
	EXPLAIN_COL_WEIGHT,
	EXPLAIN_COL_CONTRIBUTION,
	EXPLAIN_COLS
};

/* explain()'s name of a signal: the context signals are not components */
static const char *
signal_name(int s)
{
	return s < N_SIGNALS ? hybrid_signal_names[s] : s == SIG_CONTEXT ? "context" : "context_affinity";
}

/*
 * explain(name, user_id, k, exclude_seen, candidates, exclude, context,
 *     version) returns table(rank int, item_id bigint, score real, signal
 *     text, component text, raw_score real, normalized real, weight real,
 *     contribution real)
 *
 * The list recommend() serves from the trained history, one row per item and
 * signal: contribution = weight x normalized, and score is their sum.  With
 * a context, the context signals have rows of their own (component: the
 * popularity component); for a user the hybrid does not know, a context
 * ranking is the popularity component's list, which has no signals to take
 * apart: the rows are those without context.
 */
static Datum
explain_serve(FunctionCallInfo fcinfo, const FrServingShape *shape)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FrServingArgs args;
	int			k;
	FrModel    *model;
	const HybridState *st;
	int32		user;
	HybridExplain ex = {0};
	float	   *scores;
	uint8	   *skip;
	int32	   *subset = NULL;
	int			n_subset = 0;
	int32	   *top;
	float	   *best;
	int			got;
	char	   *labels[N_ALL_SIGNALS];
	int			n_hist = 0;
	const char *context;

	fr_serving_args(fcinfo, shape, &args);
	if (PG_ARGISNULL(shape->subject))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL"),
				 errhint("Pass the id of the user whose list to explain.")));

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	if (model->algo != &fr_hybrid_algorithm)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" was trained with \"%s\", explain() needs a hybrid", args.name, model->algo->name),
				 errhint("Train one with fashionrec.train(name, 'hybrid', NULL, '{\"cf\": \"%s\", ...}').", args.name)));
	st = model->state;
	check_cache(st);
	user = fr_model_user_index(model, PG_GETARG_INT64(shape->subject));

	scores = fr_scratch_floats(model->n_items);
	skip = fr_skip_acquire(model->n_items);
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];

		n_hist = (int) (model->seen_indptr[user + 1] - lo);
		if (args.exclude_seen)
			for (int i = 0; i < n_hist; i++)
				fr_skip_set(skip, model->seen_indices[lo + i]);
	}
	/* the candidates first: a learned fusion scores them exactly */
	subset = fr_apply_filters(model, &args, skip, &n_subset);
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];

		/* as hybrid_score_in_context() weighs the context */
		context = st->context_replaces ? NULL : args.context;
		hybrid_fuse(st, model->n_items, true, model->user_ids[user],
					model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
					n_hist, context, context ? hybrid_context_propensity(st, user, context) : 1.0,
					scores, &ex, subset, subset ? n_subset : 0);
	}
	else
		hybrid_fuse(st, model->n_items, false, 0, NULL, NULL, 0, NULL, 1.0, scores, &ex,
					subset, subset ? n_subset : 0);

	k = fr_clamp_k(model, args.k);
	top = palloc(sizeof(int32) * k);
	best = palloc(sizeof(float) * k);
	got = fr_topk(scores, model->n_items, subset, subset ? n_subset : 0, skip, k, top, best);
	for (int s = 0; s < N_ALL_SIGNALS; s++)
	{
		int			pin = s < N_SIGNALS ? s : SIG_POPULARITY;

		labels[s] = st->pins[pin].present ? hybrid_pin_label(&st->pins[pin]) : NULL;
	}
	Assert(rsinfo->setDesc->natts == EXPLAIN_COLS);
	for (int r = 0; r < got; r++)
	{
		float		base = 0,
					contrib[N_ALL_SIGNALS];

		if (st->fusion != FUSION_WEIGHTED)
			fr_fusion_contributions(&st->net, st->net_signals, (const float *const *) ex.norm, st->item_feat,
									n_hist, top[r], &base, contrib);
		for (int s = 0; s < N_ALL_SIGNALS; s++)
		{
			/* a learned fusion without context inputs adds them with their weights */
			bool		outside_net = st->fusion != FUSION_WEIGHTED && s >= st->net_signals;

			Datum		values[EXPLAIN_COLS];
			bool		nulls[EXPLAIN_COLS] = {0};
			float		raw;

			if (!ex.available[s])
				continue;
			raw = ex.raw[s][top[r]];
			values[EXPLAIN_COL_RANK] = Int32GetDatum(r + 1);
			values[EXPLAIN_COL_ITEM_ID] = Int64GetDatum(model->item_ids[top[r]]);
			values[EXPLAIN_COL_SCORE] = Float4GetDatum(best[r]);
			values[EXPLAIN_COL_SIGNAL] = CStringGetTextDatum(signal_name(s));
			values[EXPLAIN_COL_COMPONENT] = CStringGetTextDatum(labels[s]);
			values[EXPLAIN_COL_RAW_SCORE] = Float4GetDatum(raw);
			nulls[EXPLAIN_COL_RAW_SCORE] = !isfinite(raw);
			values[EXPLAIN_COL_NORMALIZED] = Float4GetDatum(ex.norm[s][top[r]]);
			values[EXPLAIN_COL_WEIGHT] = Float4GetDatum((float) ex.weight[s]);
			values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum((float) ex.weight[s] * ex.norm[s][top[r]]);
			if (outside_net)
			{
				values[EXPLAIN_COL_WEIGHT] = Float4GetDatum((float) st->weight[s]);
				values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum((float) st->weight[s] * ex.norm[s][top[r]]);
			}
			else if (st->fusion == FUSION_LOGISTIC)
			{
				values[EXPLAIN_COL_WEIGHT] = Float4GetDatum(fr_fusion_linear_weight(&st->net, N_SIGNALS, s, n_hist));
				values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum(contrib[s]);
			}
			else if (st->fusion == FUSION_MLP)
			{
				nulls[EXPLAIN_COL_WEIGHT] = true;
				values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum(contrib[s]);
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		if (st->fusion != FUSION_WEIGHTED)
		{
			/* what the item and user features and the bias give with every signal neutral */
			Datum		values[EXPLAIN_COLS];
			bool		nulls[EXPLAIN_COLS] = {0};

			/* no component, raw score, normalized score or weight */
			nulls[EXPLAIN_COL_COMPONENT] = nulls[EXPLAIN_COL_RAW_SCORE] = true;
			nulls[EXPLAIN_COL_NORMALIZED] = nulls[EXPLAIN_COL_WEIGHT] = true;

			values[EXPLAIN_COL_RANK] = Int32GetDatum(r + 1);
			values[EXPLAIN_COL_ITEM_ID] = Int64GetDatum(model->item_ids[top[r]]);
			values[EXPLAIN_COL_SCORE] = Float4GetDatum(best[r]);
			values[EXPLAIN_COL_SIGNAL] = CStringGetTextDatum("features");
			values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum(base);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	fr_skip_release(skip);
	fr_scratch_release(scores);
	/* what the fusion computed: the backend's arrays, or palloc'd (the context signals) */
	for (int s = 0; s < N_ALL_SIGNALS; s++)
	{
		if (ex.raw[s])
			fr_scratch_release(ex.raw[s]);
		if (ex.norm[s])
			fr_scratch_release(ex.norm[s]);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(fashionrec_explain_0_3);
Datum
fashionrec_explain_0_3(PG_FUNCTION_ARGS)
{
	return explain_serve(fcinfo, &fr_explain_shape);
}

/* 0.2's explain(), until ALTER EXTENSION fashionrec UPDATE */
PG_FUNCTION_INFO_V1(fashionrec_explain_0_2);
Datum
fashionrec_explain_0_2(PG_FUNCTION_ARGS)
{
	return explain_serve(fcinfo, &fr_explain_shape_0_2);
}

/* 0.1's explain(name, user_id, k, candidates, version) */
PG_FUNCTION_INFO_V1(fashionrec_explain);
Datum
fashionrec_explain(PG_FUNCTION_ARGS)
{
	return explain_serve(fcinfo, &fr_explain_shape_0_1);
}
