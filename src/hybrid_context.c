/*
 * hybrid_context.c — the context signals of a hybrid (docs/hybrid.md,
 * "Context that personalises"): what a call's context (a season, a
 * channel) adds to the personal signals.
 *
 *   context   the popularity component's scores within the context;
 *   affinity  each item's smoothed log lift in the context,
 *             log((n_ic + 1) / (n_c p_i + 1)), p_i the item's share of all
 *             popularity: what the context adds to popularity (an item
 *             bought in winter as often as at any other time has lift 1,
 *             log 0); weighed per user by their propensity for the context.
 *
 * Both are normalised over the hybrid's items like the other signals.
 * They do not depend on the user, so a backend keeps the last few it
 * computed: a call then costs what the weighted sum of two more arrays
 * costs, rather than a pass with a logarithm per item.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hybrid.h"
#include "popularity.h"

/* a hybrid's context value (its names are in strcmp order); -1 if absent */
int32
hybrid_context_index(const HybridState *st, const char *context)
{
	return fr_context_index((const char *const *) st->context_names, st->n_contexts, context);
}

/*
 * How much more than the average customer this user shops in the context:
 * the user's share of their days with events in it, over the population's
 * share P(c), within [PROPENSITY_MIN, PROPENSITY_MAX], the share shrunk
 * towards P(c) by kappa_c pseudo-days (a beta-binomial prior,
 * hybrid_context_fit_prior).  Days, not events: a visit's events share
 * their context, so a customer with five views in one winter visit would
 * look like a winter shopper.
 *
 * kappa_c is estimated from the data because how far a customer's share
 * says something about their taste depends on the shop: where every
 * customer has the same seasonality (generate_shop's default) the shares
 * vary no more than chance says and the prior is huge (propensity 1: a
 * fixed weak prior of 5 events cost NDCG@10 0.2158 -> 0.2056 there); with
 * personal seasonal tastes (seasonal_tastes) it is a few days and the
 * propensity finds who shops for the season (docs/benchmarks.md).  A
 * hybrid trained before has no fitted prior and keeps CONTEXT_PRIOR.  1
 * for a user without context counts (folded-in histories, a hybrid without
 * context_column).
 */
#define CONTEXT_PRIOR 50.0
#define PRIOR_MIN 1.0
#define PRIOR_MAX 1e6
#define PROPENSITY_MIN 0.5
#define PROPENSITY_MAX 2.0

double
hybrid_context_propensity(const HybridState *st, int32 user, const char *context)
{
	int32		c = hybrid_context_index(st, context);
	double		n_user = 0,
				n_in = 0,
				share,
				prior;

	if (user < 0 || c < 0 || st->ctx_indptr == NULL)
		return 1.0;
	for (int64 q = st->ctx_indptr[user]; q < st->ctx_indptr[user + 1]; q++)
	{
		n_user += st->ctx_counts[q];
		if (st->ctx_index[q] == c)
			n_in += st->ctx_counts[q];
	}
	share = st->context_share[c];
	if (!(share > 0))
		return 1.0;
	prior = st->context_prior ? st->context_prior[c] : CONTEXT_PRIOR;
	return fmin(fmax((n_in + prior * share) / (n_user + prior) / share,
					 PROPENSITY_MIN), PROPENSITY_MAX);
}

/*
 * kappa_c by the method of moments of the beta-binomial: with users' true
 * shares spread around P(c) = p with intra-class correlation rho = 1 /
 * (1 + kappa), a user with n days has E[(x - p)^2] = p (1 - p) (rho + (1 -
 * rho) / n).  Averaged over the users with two days or more (one day says
 * nothing about the spread), rho = (S - m) / (1 - m), S the mean of (x -
 * p)^2 / (p (1 - p)) and m the mean of 1 / n.  No spread beyond chance
 * (rho <= 0) is the largest prior, which keeps the propensity at 1.
 * Only the users marked in users[] when given (hybrid_train.c: those whose
 * days span the data, so that joining late does not pass for a taste).
 * Into st->context_prior, palloc'd.
 */
void
hybrid_context_fit_prior(HybridState *st, int32 n_users, const bool *users)
{
	double	   *dev = palloc0(sizeof(double) * Max(st->n_contexts, 1));
	double		n_fit = 0,
				inv_n = 0;

	st->context_prior = palloc(sizeof(double) * Max(st->n_contexts, 1));
	for (int32 u = 0; u < n_users; u++)
	{
		double		n = 0;

		if (users && !users[u])
			continue;
		for (int64 q = st->ctx_indptr[u]; q < st->ctx_indptr[u + 1]; q++)
			n += st->ctx_counts[q];
		if (n < 2)
			continue;
		n_fit++;
		inv_n += 1.0 / n;
		/* (x - p)^2 - p^2 for the contexts the user has; p^2 for all is added below */
		for (int64 q = st->ctx_indptr[u]; q < st->ctx_indptr[u + 1]; q++)
		{
			double		x = st->ctx_counts[q] / n,
						p = st->context_share[st->ctx_index[q]];

			dev[st->ctx_index[q]] += (x - p) * (x - p) - p * p;
		}
		if (u % 10000 == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int32 c = 0; c < st->n_contexts; c++)
	{
		double		p = st->context_share[c],
					m = n_fit > 0 ? inv_n / n_fit : 1,
					rho = 0;

		if (n_fit > 0 && p > 0 && p < 1 && m < 1)
			rho = ((dev[c] + n_fit * p * p) / n_fit / (p * (1 - p)) - m) / (1 - m);
		st->context_prior[c] = rho > 0 ? fmin(fmax(1.0 / rho - 1.0, PRIOR_MIN), PRIOR_MAX) : PRIOR_MAX;
	}
	pfree(dev);
}

/*
 * The two signals computed from the pinned popularity component into
 * norm[SIG_CONTEXT] and norm[SIG_AFFINITY] (palloc'd), with their raw
 * values into raw[] when given.  False when the component does not know
 * the context.
 */
static bool
compute_signals(const HybridState *st, int32 n_items, const char *context, float **norm, float **raw)
{
	FrModel    *comp = hybrid_open_component(st, SIG_POPULARITY);
	const int32 *map = st->map[SIG_POPULARITY];
	float	   *ctx,
			   *vals,
			   *lift;
	double		total = 0,
				in_context = 0;

	if (comp->algo->score_context == NULL)
		return false;
	ctx = palloc_extended(mul_size(Max(comp->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	if (!comp->algo->score_context(comp, context, ctx))
	{
		pfree(ctx);
		return false;
	}
	for (int32 i = 0; i < comp->n_items; i++)
	{
		total += comp->item_popularity[i];
		in_context += ctx[i];
	}
	vals = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	lift = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	for (int32 h = 0; h < n_items; h++)
	{
		int32		i = map[h];

		/* popularity is a count (0 where unknown), lift has no opinion there */
		vals[h] = i >= 0 ? ctx[i] : 0.0f;
		lift[h] = i >= 0 && total > 0 && comp->item_popularity[i] > 0
			? logf((ctx[i] + 1.0f) / ((float) (in_context * comp->item_popularity[i] / total) + 1.0f))
			: NAN;
	}
	pfree(ctx);
	norm[SIG_CONTEXT] = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	norm[SIG_AFFINITY] = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	fr_normalize_scores(vals, n_items, st->normalization, norm[SIG_CONTEXT]);
	fr_normalize_scores(lift, n_items, st->normalization, norm[SIG_AFFINITY]);
	if (raw)
	{
		raw[SIG_CONTEXT] = vals;
		raw[SIG_AFFINITY] = lift;
	}
	else
	{
		pfree(vals);
		pfree(lift);
	}
	return true;
}

/*
 * The backend's last CONTEXT_CACHE context signals, keyed by the model
 * version (the registry's oid and the row id: a re-created extension
 * starts its ids over), its live-item generation and size (live items
 * remap the hybrid's items), and the context.  Least recently used out.
 */
#define CONTEXT_CACHE 4

typedef struct ContextSignals
{
	Oid			catalog;
	int64		model_id;
	int64		live_token;
	int32		n_items;
	char	   *context;		/* NULL: empty slot */
	float	   *norm[2];		/* SIG_CONTEXT, SIG_AFFINITY */
	uint64		used;
} ContextSignals;

static ContextSignals cached[CONTEXT_CACHE];
static MemoryContext cache_cxt;
static uint64 cache_clock;

static void
cache_put(ContextSignals *slot, const FrModel *model, const char *context, float *const *norm)
{
	size_t		bytes = mul_size(Max(model->n_items, 1), sizeof(float));

	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "fashionrec hybrid context signals",
										  ALLOCSET_DEFAULT_SIZES);
	if (slot->context)
	{
		pfree(slot->context);
		pfree(slot->norm[0]);
		pfree(slot->norm[1]);
		slot->context = NULL;
	}
	/* filled before the key, so that an error leaves the slot empty */
	slot->norm[0] = MemoryContextAllocExtended(cache_cxt, bytes, MCXT_ALLOC_HUGE);
	slot->norm[1] = MemoryContextAllocExtended(cache_cxt, bytes, MCXT_ALLOC_HUGE);
	memcpy(slot->norm[0], norm[SIG_CONTEXT], bytes);
	memcpy(slot->norm[1], norm[SIG_AFFINITY], bytes);
	slot->catalog = fr_model_catalog_relid();
	slot->model_id = model->model_id;
	slot->live_token = model->live_token;
	slot->n_items = model->n_items;
	slot->used = ++cache_clock;
	slot->context = MemoryContextStrdup(cache_cxt, context);
}

/*
 * The context signals of a call into norm[SIG_CONTEXT] and
 * norm[SIG_AFFINITY]; false for a context the popularity component does
 * not know.  With raw (explain, learned fusion's examples) or at training
 * they are computed into palloc'd arrays (*shared false); else they may be
 * the backend's cached arrays (*shared true), which the caller must
 * neither change nor free.
 */
bool
hybrid_context_signals(const HybridState *st, int32 n_items, const char *context,
					   float **norm, float **raw, bool *shared)
{
	const FrModel *model = st->model;
	ContextSignals *slot = &cached[0];
	Oid			catalog;

	*shared = false;
	if (raw || model == NULL || model->n_items != n_items)
		return compute_signals(st, n_items, context, norm, raw);
	catalog = fr_model_catalog_relid();
	for (int i = 0; i < CONTEXT_CACHE; i++)
	{
		ContextSignals *c = &cached[i];

		if (c->context && c->catalog == catalog && c->model_id == model->model_id &&
			c->live_token == model->live_token && c->n_items == n_items &&
			strcmp(c->context, context) == 0)
		{
			c->used = ++cache_clock;
			norm[SIG_CONTEXT] = c->norm[0];
			norm[SIG_AFFINITY] = c->norm[1];
			*shared = true;
			return true;
		}
		if (c->used < slot->used)
			slot = c;
	}
	if (!compute_signals(st, n_items, context, norm, NULL))
		return false;
	cache_put(slot, model, context, norm);
	return true;
}
