/*
 * hybrid_load.c — loading a hybrid version: its artifacts checked into a
 * HybridState, the items its feature-store components gained or lost since
 * training, and what the shared model store keeps of a load (model.c's
 * recording and attach modes).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"

#include "hybrid.h"
#include "linalg.h"

static int32
map_max(const int32 *map, int32 n)
{
	int32		max = -1;

	for (int32 h = 0; h < n; h++)
		max = Max(max, map[h]);
	return max;
}

static void
load_options(FrModel *model, HybridState *st)
{
	double	   *options;
	int64		nrows;

	options = fr_model_artifact(model, "hybrid_options", FR_F64, &nrows, NULL, true);
	st->model = model;
	if (options == NULL)
		return;					/* trained before learned fusion: weighted, no decay */
	fr_check_shape(model, "hybrid_options", nrows, 1, OPT_N, 1);
	fr_check_setting(model, "hybrid_options", "fusion", options[OPT_FUSION],
					 FUSION_WEIGHTED, FUSION_MLP, true);
	fr_check_setting(model, "hybrid_options", "half_life_days", options[OPT_HALF_LIFE], 0, 1e6, false);
	st->fusion = (int32) options[OPT_FUSION];
	st->half_life = options[OPT_HALF_LIFE];
	if (st->fusion != FUSION_WEIGHTED)
	{
		int			hidden[FR_FUSION_MAX_HIDDEN] = {0};
		int			n_hidden;
		int32		ncols;

		/* logistic regression is the net without hidden layers */
		fr_check_setting(model, "hybrid_options", "hidden layers", options[OPT_N_HIDDEN],
						 0, st->fusion == FUSION_LOGISTIC ? 0 : FR_FUSION_MAX_HIDDEN, true);
		n_hidden = (int) options[OPT_N_HIDDEN];
		for (int l = 0; l < n_hidden; l++)
		{
			fr_check_setting(model, "hybrid_options", "hidden layer size", options[OPT_HIDDEN1 + l],
							 1, FR_FUSION_MAX_UNITS, true);
			hidden[l] = (int) options[OPT_HIDDEN1 + l];
		}
		st->net.n_hidden = n_hidden;
		memcpy(st->net.hidden, hidden, sizeof(hidden));
		st->net.params = fr_model_artifact(model, "fusion_net", FR_F32, &nrows, NULL, false);
		/* a 0.2 net has no history terms, a context net reads the context signals: its size says so */
		st->net.d = nrows == fr_fusion_net_size(N_FEATURES_0_2, n_hidden, hidden) ? N_FEATURES_0_2
			: nrows == fr_fusion_net_size(N_FEATURES_CONTEXT, n_hidden, hidden) ? N_FEATURES_CONTEXT
			: N_FEATURES;
		st->net_signals = st->net.d == N_FEATURES_CONTEXT ? N_ALL_SIGNALS : N_SIGNALS;
		fr_check_shape(model, "fusion_net", nrows, 1, fr_fusion_net_size(st->net.d, n_hidden, hidden), 1);
		fr_check_finite(model, "fusion_net", st->net.params, nrows);
		st->feat_ids = fr_model_artifact(model, "fusion_item_ids", FR_I64, &st->n_feat, NULL, false);
		st->feat_vals = fr_model_artifact(model, "fusion_item_features", FR_F32, &nrows, &ncols, false);
		fr_check_shape(model, "fusion_item_features", nrows, ncols, st->n_feat, 2);
		fr_check_finite(model, "fusion_item_features", st->feat_vals, nrows * ncols);
	}
	if (st->half_life > 0)
	{
		int64		n_ids,
					n_vals;

		st->hist_indptr = fr_model_artifact(model, "history_indptr", FR_I64, &nrows, NULL, false);
		st->hist_ids = fr_model_artifact(model, "history_item_ids", FR_I64, &n_ids, NULL, false);
		st->hist_vals = fr_model_artifact(model, "history_decay", FR_F32, &n_vals, NULL, false);
		/* item ids, not indices: the offsets are all there is to check */
		fr_check_offsets(model, "history_indptr", st->hist_indptr, nrows, model->n_users, n_ids);
		fr_check_shape(model, "history_decay", n_vals, 1, n_ids, 1);
		fr_check_finite(model, "history_decay", st->hist_vals, n_vals);
	}
}

/*
 * The context signals' weights (none in a hybrid trained before 0.3: a
 * context then replaces its fusion, as in 0.2) and, with a context_column,
 * the context values and each user's events per value.
 */
static void
load_context(FrModel *model, HybridState *st)
{
	double	   *weights;
	char	   *names;
	int64		nrows,
				n_names,
				n_entries,
				n_counts;

	weights = fr_model_artifact(model, "hybrid_context", FR_F64, &nrows, NULL, true);
	if (weights)
	{
		fr_check_shape(model, "hybrid_context", nrows, 1, CONTEXT_CONFIG_N, 1);
		fr_check_setting(model, "hybrid_context", "context_weight", weights[0], 0, 1e6, false);
		fr_check_setting(model, "hybrid_context", "context_affinity_weight", weights[1], 0, 1e6, false);
		st->weight[SIG_CONTEXT] = weights[0];
		st->weight[SIG_AFFINITY] = weights[1];
	}
	else
		st->context_replaces = true;
	names = fr_model_artifact(model, "context_names", FR_BYTES, &n_names, NULL, true);
	if (names == NULL)
		return;
	st->context_share = fr_model_artifact(model, "context_share", FR_F64, &nrows, NULL, false);
	fr_check_finite_f64(model, "context_share", st->context_share, nrows);
	if (nrows > 10000)
		fr_artifact_corrupt(model, "context_share", "It has %lld contexts, at most 10000 are trained.",
							(long long) nrows);
	st->n_contexts = (int32) nrows;
	st->context_names = palloc(sizeof(char *) * Max(nrows, 1));
	if (n_names > 0 && names[n_names - 1] != '\0')
		fr_artifact_corrupt(model, "context_names", "Its last name is not terminated.");
	{
		int64		c = 0;

		/* one name per context, ascending: hybrid_context_index() searches them */
		for (int64 off = 0; off < n_names; off += strlen(names + off) + 1)
		{
			if (c == nrows || (c > 0 && strcmp(st->context_names[c - 1], names + off) >= 0))
				fr_artifact_corrupt(model, "context_names",
									"It does not hold %lld names in ascending order.", (long long) nrows);
			st->context_names[c++] = names + off;
		}
		if (c != nrows)
			fr_artifact_corrupt(model, "context_names",
								"It holds %lld names for %lld contexts.", (long long) c, (long long) nrows);
	}
	st->ctx_indptr = fr_model_artifact(model, "context_user_indptr", FR_I64, &nrows, NULL, false);
	st->ctx_index = fr_model_artifact(model, "context_user_index", FR_I32, &n_entries, NULL, false);
	st->ctx_counts = fr_model_artifact(model, "context_user_counts", FR_F32, &n_counts, NULL, false);
	fr_check_offsets(model, "context_user_indptr", st->ctx_indptr, nrows, model->n_users, n_entries);
	fr_check_index_array(model, "context_user_index", st->ctx_index, n_entries, 0, st->n_contexts, false);
	fr_check_shape(model, "context_user_counts", n_counts, 1, n_entries, 1);
	fr_check_finite(model, "context_user_counts", st->ctx_counts, n_counts);
	/* absent in a hybrid trained before the prior was fitted: the fixed prior */
	st->context_prior = fr_model_artifact(model, "context_prior", FR_F64, &nrows, NULL, true);
	if (st->context_prior)
	{
		fr_check_shape(model, "context_prior", nrows, 1, st->n_contexts, 1);
		fr_check_finite_f64(model, "context_prior", st->context_prior, nrows);
		for (int64 c = 0; c < nrows; c++)
			if (!(st->context_prior[c] > 0))
				fr_artifact_corrupt(model, "context_prior", "Its prior for context %lld is not positive.",
									(long long) c);
	}
}

/*
 * Align the per-item features and the history weights with the model's
 * items and "seen" lists as they are now: at load, after live items were
 * merged in (in the model's memory context, current during load).
 */
static void
align_state(HybridState *st)
{
	FrModel    *model = st->model;

	if (st->feat_ids)
	{
		st->item_feat = palloc_extended(mul_size(Max(model->n_items, 1), 2 * sizeof(float)),
										MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		/* an item added after training: no buyers, age 0 */
		for (int64 i = 0; i < st->n_feat; i++)
		{
			int32		h = fr_model_item_index(model, st->feat_ids[i]);

			if (h >= 0)
				memcpy(st->item_feat + 2 * (size_t) h, st->feat_vals + 2 * i, 2 * sizeof(float));
		}
	}
	if (st->hist_ids)
	{
		st->hist_decay = palloc_extended(mul_size(Max(model->seen_indptr[model->n_users], 1), sizeof(float)),
										 MCXT_ALLOC_HUGE);
		for (int32 u = 0; u < model->n_users; u++)
		{
			int64		lo = st->hist_indptr[u],
						hi = st->hist_indptr[u + 1],
						q = lo;

			for (int64 p = model->seen_indptr[u]; p < model->seen_indptr[u + 1]; p++)
			{
				int64		id = model->item_ids[model->seen_indices[p]];
				int64		tries = 0;

				/* the same order as trained unless items were remapped: look ahead, wrap once */
				while (tries < hi - lo && st->hist_ids[q] != id)
				{
					q = q + 1 < hi ? q + 1 : lo;
					tries++;
				}
				st->hist_decay[p] = tries < hi - lo ? st->hist_vals[q] : 1.0f;
			}
		}
	}
}

/*
 * Products the feature sets say left the catalog (tombstones) leave the
 * hybrid too, even those its collaborative component still knows.
 */
static void
mark_tombstones(const FrModel *model, bool *gone)
{
	Oid			argtypes[1] = {INT4ARRAYOID};
	Datum		args[1];
	Datum	   *elems = palloc(sizeof(Datum) * model->n_feature_sets);

	for (int i = 0; i < model->n_feature_sets; i++)
		elems[i] = Int32GetDatum(model->feature_sets[i]);
	args[0] = PointerGetDatum(construct_array(elems, model->n_feature_sets, INT4OID,
											  sizeof(int32), true, TYPALIGN_INT));
	SPI_connect();
	if (SPI_execute_with_args("SELECT item_id FROM fashionrec.item_feature"
							  " WHERE feature_set = ANY ($1) AND features IS NULL",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the feature sets' tombstones");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													 SPI_tuptable->tupdesc, 1, &isnull));
		int64		h = fr_find_id(model->item_ids, model->n_items, id);

		if (h >= 0)
			gone[h] = true;
	}
	SPI_finish();
}

/*
 * A hybrid with a feature-store component serves the items that component
 * gained after training, and drops those it lost (tombstones), without
 * being retrained: model.c loads it again whenever the feature set moves
 * on.  The maps are rebuilt against the components as they are now, new
 * items get collaborative scores through the stored content->factor
 * mapping, and the list for unknown users is fused again.
 */
static void
extend_live_items(FrModel *model, HybridState *st)
{
	int32		n = model->n_items;
	bool	   *gone = palloc0(sizeof(bool) * Max(n, 1));
	int64	   *added = NULL;
	int64		n_added = 0,
				added_cap = 0;
	int64	   *ids;
	int32	   *old_to_new;
	int64		m = 0,
				a = 0;
	int32	   *cold_signal;
	int64		n_signal;
	float	   *w;
	int64		w_rows;
	int32		k;

	mark_tombstones(model, gone);
	/* one component at a time: opening the next may evict the previous */
	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;

		if (!st->pins[s].present)
			continue;
		comp = hybrid_open_pin(&st->pins[s]);
		hybrid_check_kind(st, s, comp);
		for (int32 h = 0; h < n; h++)
			if (st->map[s][h] >= 0 && fr_model_item_index(comp, model->item_ids[h]) < 0)
				gone[h] = true;
		for (int32 i = 0; i < comp->n_items; i++)
			if (fr_find_id(model->item_ids, n, comp->item_ids[i]) < 0)
			{
				if (n_added == added_cap)
				{
					added_cap = Max(added_cap * 2, 64);
					added = added ? repalloc_huge(added, sizeof(int64) * added_cap)
						: palloc(sizeof(int64) * added_cap);
				}
				added[n_added++] = comp->item_ids[i];
			}
	}
	n_added = hybrid_sort_unique(added, n_added);

	/* the items now: the trained ones still there and the new ones, in id order */
	ids = palloc_extended(mul_size(Max((int64) n + n_added, 1), sizeof(int64)), MCXT_ALLOC_HUGE);
	old_to_new = palloc_extended(mul_size(Max(n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	for (int32 h = 0; h < n || a < n_added;)
	{
		if (a < n_added && (h >= n || added[a] < model->item_ids[h]))
			ids[m++] = added[a++];
		else
		{
			old_to_new[h] = gone[h] ? -1 : (int32) m;
			if (!gone[h])
				ids[m++] = model->item_ids[h];
			h++;
		}
	}
	if (m > PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the hybrid's components have more than %d items together", PG_INT32_MAX - 1)));
	fr_model_remap_items(model, ids, (int32) m, old_to_new);

	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;

		if (!st->pins[s].present)
			continue;
		comp = hybrid_open_pin(&st->pins[s]);
		st->map[s] = hybrid_build_map(comp, model->item_ids, model->n_items);
		st->map_max[s] = map_max(st->map[s], model->n_items);
		st->comp_token[s] = comp->live_token;
		st->comp_items[s] = comp->n_items;
	}

	/* new items' collaborative factors: [content vector, 1] times the stored mapping */
	st->n_cold = 0;
	cold_signal = fr_model_artifact(model, "cold_map_signal", FR_I32, &n_signal, NULL, true);
	w = fr_model_artifact(model, "cold_map", FR_F32, &w_rows, &k, true);
	if (cold_signal)
		fr_check_shape(model, "cold_map_signal", n_signal, 1, 1, 1);
	if (w)
		fr_check_finite(model, "cold_map", w, w_rows * k);
	if (cold_signal && w && (*cold_signal == SIG_CONTENT || *cold_signal == SIG_IMAGE) &&
		st->pins[*cold_signal].present && st->pins[SIG_CF].present && k > 0 && k == st->factors)
	{
		int			c = *cold_signal;
		FrModel    *comp = hybrid_open_pin(&st->pins[c]);
		int32		d = comp->algo->embedding ? comp->algo->embedding(comp, false, 0, NULL) : 0;
		float	   *x;

		if (d > 0 && d + 1 == w_rows)
		{
			st->cold_items = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
			for (int32 h = 0; h < model->n_items; h++)
				if (st->map[c][h] >= 0 && st->map[SIG_CF][h] < 0)
					st->cold_items[st->n_cold++] = h;
			st->cold_factors = palloc_extended(mul_size(mul_size(Max(st->n_cold, 1), k), sizeof(float)),
											   MCXT_ALLOC_HUGE);
			x = palloc(sizeof(float) * (d + 1));
			for (int32 i = 0; i < st->n_cold; i++)
			{
				comp->algo->embedding(comp, false, st->map[c][st->cold_items[i]], x);
				x[d] = 1.0f;
				fr_sgemv(true, d + 1, k, 1.0f, w, k, x, 0.0f, st->cold_factors + (size_t) i * k);
			}
			pfree(x);
		}
	}

	align_state(st);
	model->item_popularity = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)),
											 MCXT_ALLOC_HUGE);
	hybrid_fuse(st, model->n_items, false, 0, NULL, NULL, 0, NULL, 1.0, model->item_popularity, NULL, NULL, 0);
}

/* the scalars a load derives, kept as one array: n_cold, then each signal's component token and items */
#define LIVE_N (1 + 2 * N_SIGNALS)

/*
 * What the load derived, for the shared copy: with live items the maps, the
 * new items' factors and the scalars replace the trained ones under their
 * names; the per-item features and history weights follow the items.
 */
static void
keep_state(FrModel *model, HybridState *st)
{
	int64	   *live = palloc0(sizeof(int64) * LIVE_N);

	for (int s = 0; s < N_SIGNALS; s++)
	{
		if (st->pins[s].present)
			fr_model_keep(model, psprintf("map_%s", hybrid_signal_names[s]), FR_I32, model->n_items, 1, st->map[s]);
		live[1 + s] = st->comp_token[s];
		live[1 + N_SIGNALS + s] = st->comp_items[s];
	}
	live[0] = st->n_cold;
	fr_model_keep(model, "hybrid_live", FR_I64, LIVE_N, 1, live);
	fr_model_keep(model, "cold_items", FR_I32, st->n_cold, 1, st->n_cold > 0 ? st->cold_items : NULL);
	if (st->n_cold > 0)
		fr_model_keep(model, "cold_factors", FR_F32, st->n_cold, st->factors, st->cold_factors);
	if (st->cf_gram == NULL)
		fr_model_keep(model, "cf_gram", FR_F64, 0, 0, NULL);	/* read when live items gained some */
	fr_model_keep(model, "hybrid_item_features", FR_F32, model->n_items, 2, st->item_feat);
	fr_model_keep(model, "hybrid_history_decay", FR_F32, model->seen_indptr[model->n_users], 1,
				  st->hist_decay);
}

/* Attached: the maps and new items' factors were read above (kept under their names). */
static void
attach_state(FrModel *model, HybridState *st)
{
	const int64 *live = fr_model_derived(model, "hybrid_live", NULL, NULL);

	st->n_cold = (int32) live[0];
	for (int s = 0; s < N_SIGNALS; s++)
	{
		st->comp_token[s] = live[1 + s];
		st->comp_items[s] = (int32) live[1 + N_SIGNALS + s];
	}
	st->item_feat = fr_model_derived(model, "hybrid_item_features", NULL, NULL);
	st->hist_decay = fr_model_derived(model, "hybrid_history_decay", NULL, NULL);
}

/* Each pin is a component name and version, or nothing. */
static void
check_pins(FrModel *model, const HybridPin *pins)
{
	for (int s = 0; s < N_SIGNALS; s++)
	{
		const HybridPin *pin = &pins[s];

		if (pin->present == 0)
			continue;
		/* the name is printed in messages: it must be text */
		if (pin->present != 1 || memchr(pin->name, '\0', NAMEDATALEN) == NULL ||
			pin->name[0] == '\0' || !pg_verifymbstr(pin->name, strlen(pin->name), true) ||
			pin->version < 1)
			fr_artifact_corrupt(model, "hybrid_pins", "Its \"%s\" component is not a model name and version.",
								hybrid_signal_names[s]);
	}
}

void *
hybrid_load(FrModel *model)
{
	HybridState *st = palloc0(sizeof(HybridState));
	HybridPin  *pins;
	double	   *config;
	int64		nrows;
	int32		ncols;

	pins = fr_model_artifact(model, "hybrid_pins", FR_BYTES, &nrows, &ncols, false);
	fr_check_shape(model, "hybrid_pins", nrows, ncols, N_SIGNALS, sizeof(HybridPin));
	check_pins(model, pins);
	memcpy(st->pins, pins, sizeof(st->pins));
	config = fr_model_artifact(model, "hybrid_config", FR_F64, &nrows, NULL, false);
	fr_check_shape(model, "hybrid_config", nrows, 1, CONFIG_N, 1);
	for (int s = 0; s < N_SIGNALS; s++)
	{
		char	   *map_name = psprintf("map_%s", hybrid_signal_names[s]);

		fr_check_setting(model, "hybrid_config", psprintf("%s_weight", hybrid_signal_names[s]),
						 config[CONFIG_WEIGHTS + s], 0, 1e6, false);
		st->weight[s] = config[CONFIG_WEIGHTS + s];
		if (!st->pins[s].present)
			continue;
		st->map[s] = fr_model_artifact(model, map_name, FR_I32, &nrows, NULL, false);
		fr_check_shape(model, map_name, nrows, 1, model->n_items, 1);
		/* the upper bound is the component's item count: open_component() checks it */
		fr_check_index_array(model, map_name, st->map[s], nrows, -1, PG_INT32_MAX, false);
		st->map_max[s] = map_max(st->map[s], model->n_items);
	}
	fr_check_setting(model, "hybrid_config", "history_n0", config[CONFIG_N0], 0, 1e6, false);
	fr_check_setting(model, "hybrid_config", "normalization", config[CONFIG_NORMALIZATION],
					 FR_NORM_ZSCORE, FR_NORM_RANK, true);
	st->n0 = config[CONFIG_N0];
	st->normalization = (FrNormalization) config[CONFIG_NORMALIZATION];
	st->net_signals = N_SIGNALS;
	load_options(model, st);
	load_context(model, st);

	st->cold_items = fr_model_artifact(model, "cold_items", FR_I32, &nrows, NULL, true);
	if (st->cold_items)
	{
		int64		n_cold = nrows;
		int32		k;

		fr_check_index_array(model, "cold_items", st->cold_items, n_cold, 0, model->n_items, false);
		st->cold_factors = fr_model_artifact(model, "cold_factors", FR_F32, &nrows, &st->factors, false);
		fr_check_shape(model, "cold_factors", nrows, st->factors, n_cold, Max(st->factors, 1));
		fr_check_finite(model, "cold_factors", st->cold_factors, nrows * st->factors);
		st->cf_gram = fr_model_artifact(model, "cf_gram", FR_F64, &nrows, &k, false);
		fr_check_shape(model, "cf_gram", nrows, k, st->factors, st->factors);
		fr_check_finite_f64(model, "cf_gram", st->cf_gram, nrows * k);
		st->n_cold = (int32) n_cold;
	}
	/* unknown users get the fusion of an empty history (recommend.c's fallback) */
	model->item_popularity = fr_model_artifact(model, "cold_user_scores", FR_F32, &nrows, NULL, false);
	fr_check_shape(model, "cold_user_scores", nrows, 1, model->n_items, 1);
	if (fr_model_attaching(model))
		attach_state(model, st);
	else
	{
		if (model->n_feature_sets > 0 && model->live_token >= 0)
			extend_live_items(model, st);
		else
			align_state(st);
		keep_state(model, st);
	}
	return st;
}
