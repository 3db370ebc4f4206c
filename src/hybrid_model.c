/*
 * hybrid_model.c — the "hybrid" algorithm: one model name that blends the
 * scores of other trained models (collaborative, content, image/embedding,
 * popularity, sequence) and adapts to how much is known about a customer.
 *
 *   fashionrec.train('shop-hybrid', 'hybrid', NULL,
 *       '{"cf": "shop-als", "content": "shop-genres", "popularity": "shop-pop",
 *         "interactions": "SELECT customer_id, article_id FROM purchases"}');
 *
 * Training resolves each component to the version active at that moment (or
 * the one named as "name@version") and pins it: a hybrid version always
 * serves with the same component versions, however often they are retrained.
 * It is an item-source algorithm (model.h): its items are the union of the
 * components' items, so products only the content model knows (created after
 * the collaborative model was trained) can be recommended; the interactions
 * (required) give the users, their "seen" items and the history lengths.
 *
 * Serving re-opens the pinned components on every call (a cheap cached
 * lookup) and, per signal, takes the component's scores over its items
 * (score_user for users it knows, fold-in of the user's history otherwise),
 * maps them to the hybrid's items, normalises them over the catalog (z-score
 * or rank, fusion.c) and sums them with weights that depend on the history
 * length n: the collaborative weight is scaled by n / (n + n0) and what it
 * loses goes to the other signals.
 *
 * New items: with a collaborative component that has item factors (als, mf,
 * svd) and a content or image component with item vectors, training fits a
 * ridge regression from item vector to item factors on the items both know
 * and stores the mapped factors of the items only the content side knows;
 * their collaborative score is then the user's factor times those.
 *
 * Users the hybrid does not know get what an empty history gets (the
 * fusion of the signals that need no history: popularity), computed at
 * training and served as the model's fallback list.
 *
 * Artifacts: "hybrid_pins" (name and version of each component),
 * "hybrid_config" (weights, n0, normalisation), "map_<signal>" (component
 * item index per hybrid item, -1 if absent), "cold_items", "cold_factors",
 * "cf_gram" (new-item mapping), "cold_user_scores".
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "fashionrec.h"
#include "fusion.h"
#include "linalg.h"
#include "model.h"
#include "serving.h"
#include "topk.h"

enum
{
	SIG_CF,
	SIG_CONTENT,
	SIG_IMAGE,
	SIG_POPULARITY,
	SIG_SEQUENCE,
	N_SIGNALS
};

static const char *const signal_names[N_SIGNALS] = {
	"cf", "content", "image", "popularity", "sequence"
};

/* what each role accepts, for error messages */
static const char *const signal_kinds[N_SIGNALS] = {
	"a collaborative model (als, mf, svd, ease, itemknn)",
	"a content model (tfidf, attributes, embedding)",
	"a content model (embedding, tfidf, attributes)",
	"a popularity model",
	"a sequence model",
};

typedef struct HybridParams
{
	char	   *component[N_SIGNALS];
	double		weight[N_SIGNALS];
	double		history_n0;
	int32		normalization;	/* FrNormalization */
	double		ridge_lambda;
	bool		cold_start;
} HybridParams;

static const char *const normalizations[] = {"zscore", "rank", NULL};

static const FrParamSpec hybrid_specs[] = {
	{"cf", FR_PARAM_TEXT, offsetof(HybridParams, component[SIG_CF])},
	{"content", FR_PARAM_TEXT, offsetof(HybridParams, component[SIG_CONTENT])},
	{"image", FR_PARAM_TEXT, offsetof(HybridParams, component[SIG_IMAGE])},
	{"popularity", FR_PARAM_TEXT, offsetof(HybridParams, component[SIG_POPULARITY])},
	{"sequence", FR_PARAM_TEXT, offsetof(HybridParams, component[SIG_SEQUENCE])},
	{"cf_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_CF]), 0, 1e6},
	{"content_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_CONTENT]), 0, 1e6},
	{"image_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_IMAGE]), 0, 1e6},
	{"popularity_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_POPULARITY]), 0, 1e6},
	{"sequence_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_SEQUENCE]), 0, 1e6},
	{"history_n0", FR_PARAM_REAL, offsetof(HybridParams, history_n0), 0, 1e6},
	{"normalization", FR_PARAM_CHOICE, offsetof(HybridParams, normalization), 0, 0, normalizations},
	{"ridge_lambda", FR_PARAM_REAL, offsetof(HybridParams, ridge_lambda), 0, 1e9},
	{"cold_start", FR_PARAM_BOOL, offsetof(HybridParams, cold_start)},
	{NULL}
};

static const HybridParams hybrid_defaults = {
	.weight = {1.0, 0.3, 0.3, 0.1, 0.3},
	.history_n0 = 5,
	.normalization = FR_NORM_ZSCORE,
	.ridge_lambda = 1.0,
	.cold_start = true,
};

/* a pinned component; stored as raw bytes in "hybrid_pins" */
typedef struct HybridPin
{
	char		name[NAMEDATALEN];
	int32		version;
	int32		present;
} HybridPin;

enum
{
	CONFIG_WEIGHTS = 0,			/* N_SIGNALS weights */
	CONFIG_N0 = N_SIGNALS,
	CONFIG_NORMALIZATION,
	CONFIG_N
};

typedef struct HybridState
{
	HybridPin	pins[N_SIGNALS];
	double		weight[N_SIGNALS];
	double		n0;
	FrNormalization normalization;
	int32	   *map[N_SIGNALS];	/* hybrid item -> component item, -1; NULL if absent */
	int32		n_cold;			/* items mapped from content into the CF space */
	int32		factors;
	int32	   *cold_items;
	float	   *cold_factors;	/* n_cold x factors */
	double	   *cf_gram;		/* factors x factors: Y^T Y + eps I of the CF items */
} HybridState;

/* what a fusion computed, for explain() */
typedef struct HybridExplain
{
	bool		available[N_SIGNALS];
	double		weight[N_SIGNALS];
	float	   *raw[N_SIGNALS];	/* hybrid-indexed raw scores, NaN where undefined */
	float	   *norm[N_SIGNALS];
} HybridExplain;

/* ---- components ---------------------------------------------------------- */

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

static bool
kind_fits(int signal, const FrAlgorithm *algo)
{
	const char *a = algo->name;

	switch (signal)
	{
		case SIG_CF:
			return algo->read_items == NULL && strcmp(a, "popularity") != 0 &&
				strcmp(a, "hybrid") != 0 && strcmp(a, "sequence") != 0;
		case SIG_CONTENT:
		case SIG_IMAGE:
			return algo->read_items != NULL && strcmp(a, "hybrid") != 0;
		case SIG_POPULARITY:
			return strcmp(a, "popularity") == 0;
		case SIG_SEQUENCE:
			return strcmp(a, "sequence") == 0;
	}
	return false;
}

static FrModel *
open_pin(const HybridPin *pin)
{
	return fr_model_open(pin->name, pin->version);
}

static char *
pin_label(const HybridPin *pin)
{
	return psprintf("%s@%d", pin->name, pin->version);
}

/* ---- training --------------------------------------------------------------- */

typedef struct HybridItems
{
	HybridPin	pins[N_SIGNALS];
} HybridItems;

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static void *
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
		parse_component(signal_names[s], p->component[s], pin->name, &pin->version);
		m = fr_model_open(pin->name, pin->version);
		if (!kind_fits(s, m->algo))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("component \"%s\" must be %s, but model \"%s\" was trained with \"%s\"",
							signal_names[s], signal_kinds[s], pin->name, m->algo->name)));
		/* pinned: what is active now is what this version serves forever */
		pin->version = m->version;
		pin->present = 1;
		present++;
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

	qsort(all, n_all, sizeof(int64), cmp_int64);
	m = 0;
	for (int64 i = 0; i < n_all; i++)
		if (m == 0 || all[i] != all[m - 1])
			all[m++] = all[i];
	if (m > PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the hybrid's components have more than %d items together", PG_INT32_MAX - 1)));
	*item_ids = all;
	*n_items = (int32) m;
	return hi;
}

static int32 *
build_map(const FrModel *comp, const int64 *item_ids, int32 n_items)
{
	int32	   *map = palloc_extended(mul_size(Max(n_items, 1), sizeof(int32)), MCXT_ALLOC_HUGE);

	for (int32 h = 0; h < n_items; h++)
		map[h] = fr_model_item_index(comp, item_ids[h]);
	return map;
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
	double		r2,
				trace = 0;

	comp = open_pin(&st->pins[content]);
	d = comp->algo->embedding ? comp->algo->embedding(comp, false, 0, NULL) : 0;
	if (d > 0)
		d++;					/* plus a constant 1: the intercept, e.g. the mean item factor */
	if (d <= 0)
	{
		ereport(NOTICE,
				(errmsg("no collaborative scores for new items: component \"%s\" (%s) has no item vectors",
						signal_names[content], comp->algo->name)));
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
						(long long) n_warm, signal_names[content])));
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

	comp = open_pin(&st->pins[SIG_CF]);
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
			for (int a = 0; a < k; a++)
				for (int b = 0; b < k; b++)
					gram[a * k + b] += (double) y[a] * y[b];
		}
		for (int a = 0; a < k; a++)
			trace += gram[a * k + a];
		for (int a = 0; a < k; a++)
			gram[a * k + a] += 1e-6 * trace / k + 1e-12;
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
	fr_artifact_put(job->model_id, "cold_factors", FR_F32, n_cold, k, st->cold_factors);
	fr_artifact_put(job->model_id, "cf_gram", FR_F64, k, k, gram);
	fr_info_add_int(job, "new_items_mapped", n_cold);
	fr_info_add_real(job, "new_item_map_r2", r2);
}

static void hybrid_fuse(const HybridState *st, int32 n_items, bool has_user, int64 user_id,
						const int32 *hist, const float *hist_w, int n_hist,
						float *out, HybridExplain *ex);

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

static void
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
	for (int s = 0; s < N_SIGNALS; s++)
	{
		st->weight[s] = st->pins[s].present ? p->weight[s] : 0;
		config[CONFIG_WEIGHTS + s] = st->weight[s];
	}
	st->n0 = p->history_n0;
	st->normalization = (FrNormalization) p->normalization;
	config[CONFIG_N0] = st->n0;
	config[CONFIG_NORMALIZATION] = st->normalization;
	fr_artifact_put(job->model_id, "hybrid_pins", FR_BYTES, N_SIGNALS, sizeof(HybridPin), st->pins);
	fr_artifact_put(job->model_id, "hybrid_config", FR_F64, CONFIG_N, 1, config);

	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;

		if (!st->pins[s].present)
			continue;
		comp = open_pin(&st->pins[s]);
		st->map[s] = build_map(comp, data->item_ids, data->n_items);
		fr_artifact_put(job->model_id, psprintf("map_%s", signal_names[s]), FR_I32,
						data->n_items, 1, st->map[s]);
		info_text(job, signal_names[s], pin_label(&st->pins[s]));
	}

	if (p->cold_start && st->pins[SIG_CF].present &&
		(st->pins[SIG_CONTENT].present || st->pins[SIG_IMAGE].present))
		train_cold_start(job, p, st, st->pins[SIG_CONTENT].present ? SIG_CONTENT : SIG_IMAGE);

	/* the list for users the hybrid does not know: an empty history */
	cold_scores = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	hybrid_fuse(st, data->n_items, false, 0, NULL, NULL, 0, cold_scores, NULL);
	fr_artifact_put(job->model_id, "cold_user_scores", FR_F32, data->n_items, 1, cold_scores);
}

/* ---- loading ---------------------------------------------------------------- */

static void *
hybrid_load(FrModel *model)
{
	HybridState *st = palloc0(sizeof(HybridState));
	HybridPin  *pins;
	double	   *config;
	int64		nrows;
	int32		ncols;

	pins = fr_artifact_get(model->model_id, "hybrid_pins", FR_BYTES, &nrows, &ncols, false);
	config = fr_artifact_get(model->model_id, "hybrid_config", FR_F64, &nrows, NULL, false);
	if (ncols != sizeof(HybridPin) || nrows != CONFIG_N)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hybrid model \"%s\" has inconsistent artifacts", model->name)));
	memcpy(st->pins, pins, sizeof(st->pins));
	for (int s = 0; s < N_SIGNALS; s++)
	{
		st->weight[s] = config[CONFIG_WEIGHTS + s];
		if (!st->pins[s].present)
			continue;
		st->map[s] = fr_artifact_get(model->model_id, psprintf("map_%s", signal_names[s]),
									 FR_I32, &nrows, NULL, false);
		if (nrows != model->n_items)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("hybrid model \"%s\" has inconsistent artifacts", model->name)));
	}
	st->n0 = config[CONFIG_N0];
	st->normalization = (FrNormalization) config[CONFIG_NORMALIZATION];

	st->cold_items = fr_artifact_get(model->model_id, "cold_items", FR_I32, &nrows, NULL, true);
	if (st->cold_items)
	{
		int64		n_cold = nrows;

		st->cold_factors = fr_artifact_get(model->model_id, "cold_factors", FR_F32,
										   &nrows, &st->factors, false);
		st->cf_gram = fr_artifact_get(model->model_id, "cf_gram", FR_F64, NULL, NULL, false);
		st->n_cold = (int32) n_cold;
	}
	/* unknown users get the fusion of an empty history (recommend.c's fallback) */
	model->item_popularity = fr_artifact_get(model->model_id, "cold_user_scores", FR_F32,
											 &nrows, NULL, false);
	return st;
}

/* ---- fusion ------------------------------------------------------------------ */

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
		/* a folded-in user: least squares x = (Y^T Y)^-1 Y^T s from the scores */
		double	   *a = palloc(sizeof(double) * k * k);
		double	   *b = palloc0(sizeof(double) * k);
		float	   *y = palloc(sizeof(float) * k);

		for (int32 i = 0; i < cf->n_items; i++)
		{
			if (!isfinite(raw[i]))
				continue;
			cf->algo->embedding(cf, false, i, y);
			for (int c = 0; c < k; c++)
				b[c] += (double) raw[i] * y[c];
		}
		memcpy(a, st->cf_gram, sizeof(double) * k * k);
		if (!fr_dposv(k, 1, a, b))
			memset(b, 0, sizeof(double) * k);
		for (int c = 0; c < k; c++)
			x[c] = (float) b[c];
	}
	for (int32 c = 0; c < st->n_cold; c++)
		vals[st->cold_items[c]] = fr_sdot(k, x, st->cold_factors + (size_t) c * k);
	pfree(x);
}

static void
hybrid_fuse(const HybridState *st, int32 n_items, bool has_user, int64 user_id,
			const int32 *hist, const float *hist_w, int n_hist,
			float *out, HybridExplain *ex)
{
	float	   *norm[N_SIGNALS] = {0};
	bool		available[N_SIGNALS] = {0};
	bool		is_cf[N_SIGNALS] = {0};
	double		weights[N_SIGNALS];

	is_cf[SIG_CF] = true;
	for (int s = 0; s < N_SIGNALS; s++)
	{
		FrModel    *comp;
		float	   *raw,
				   *vals;
		float		missing;
		int32		comp_user;

		if (!st->pins[s].present || st->weight[s] <= 0)
			continue;
		comp = open_pin(&st->pins[s]);
		raw = palloc_extended(mul_size(Max(comp->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
		if (!component_scores(comp, s, st->map[s], has_user, user_id, hist, hist_w, n_hist,
							  raw, &comp_user))
		{
			pfree(raw);
			continue;
		}
		/*
		 * An item the component does not know: popularity and transitions
		 * have observed nothing, which is a count of 0; the other signals
		 * have no opinion, which normalises to the neutral 0 (fusion.h).
		 */
		missing = (s == SIG_POPULARITY || s == SIG_SEQUENCE) ? 0.0f : NAN;
		vals = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
		for (int32 h = 0; h < n_items; h++)
			vals[h] = st->map[s][h] >= 0 ? raw[st->map[s][h]] : missing;
		if (s == SIG_CF && st->n_cold > 0 && comp->algo->embedding)
			cold_cf_scores(st, comp, comp_user, raw, vals);
		pfree(raw);
		norm[s] = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
		fr_normalize_scores(vals, n_items, st->normalization, norm[s]);
		available[s] = true;
		if (ex)
			ex->raw[s] = vals;
		else
			pfree(vals);
	}
	fr_fusion_weights(N_SIGNALS, st->weight, is_cf, available, n_hist, st->n0, weights);
	fr_fuse(N_SIGNALS, n_items, (const float *const *) norm, weights, out);
	if (ex)
	{
		memcpy(ex->available, available, sizeof(available));
		memcpy(ex->weight, weights, sizeof(weights));
		memcpy(ex->norm, norm, sizeof(norm));
	}
	else
		for (int s = 0; s < N_SIGNALS; s++)
			if (norm[s])
				pfree(norm[s]);
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
				 errhint("SET fashionrec.cache_models = %d.", present + 1)));
}

static void
hybrid_score_user(const FrModel *model, int32 user, float *scores)
{
	int64		lo = model->seen_indptr[user];

	check_cache(model->state);
	hybrid_fuse(model->state, model->n_items, true, model->user_ids[user],
				model->seen_indices + lo, NULL, (int) (model->seen_indptr[user + 1] - lo),
				scores, NULL);
}

static void
hybrid_score_items(const FrModel *model, const int32 *items, const float *weights,
				   int n, float *scores)
{
	check_cache(model->state);
	hybrid_fuse(model->state, model->n_items, false, 0, items, weights, n, scores, NULL);
}

/* popularity within a context (a season, a gender) from the popularity component */
static bool
hybrid_score_context(const FrModel *model, const char *context, float *scores)
{
	const HybridState *st = model->state;
	FrModel    *comp;
	float	   *raw;

	if (!st->pins[SIG_POPULARITY].present)
		return false;
	check_cache(st);
	comp = open_pin(&st->pins[SIG_POPULARITY]);
	if (comp->algo->score_context == NULL)
		return false;
	raw = palloc_extended(mul_size(Max(comp->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	if (!comp->algo->score_context(comp, context, raw))
		return false;
	/* items the popularity model does not know rank after all it knows */
	for (int32 h = 0; h < model->n_items; h++)
		scores[h] = st->map[SIG_POPULARITY][h] >= 0 ? raw[st->map[SIG_POPULARITY][h]] : -FLT_MAX;
	pfree(raw);
	return true;
}

const FrAlgorithm fr_hybrid_algorithm = {
	.name = "hybrid",
	.summary = "weighted fusion of pinned component models (cf, content, image, popularity, sequence) "
	"with per-signal normalisation, history-dependent weights and content-to-factor mapping for new items; "
	"source NULL, users from \"interactions\"",
	.param_specs = hybrid_specs,
	.params_size = sizeof(HybridParams),
	.param_defaults = &hybrid_defaults,
	.read_items = hybrid_read_items,
	.train = hybrid_train,
	.load = hybrid_load,
	.score_user = hybrid_score_user,
	.score_items = hybrid_score_items,
	.score_context = hybrid_score_context,
};

/* ---- explain ------------------------------------------------------------------ */

/*
 * explain(name, user_id, k, candidates, version) returns table(rank int,
 *     item_id bigint, score real, signal text, component text, raw_score real,
 *     normalized real, weight real, contribution real)
 *
 * The list recommend() serves (seen items excluded), one row per item and
 * signal: contribution = weight x normalized, and score is their sum.
 */
PG_FUNCTION_INFO_V1(fashionrec_explain);
Datum
fashionrec_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	int			k;
	int32		version;
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
	char	   *labels[N_SIGNALS];

	name = fr_arg_name(fcinfo, 0);
	k = fr_arg_k(fcinfo, 2);
	version = fr_arg_version(fcinfo, 4);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL")));

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(name, version);
	if (model->algo != &fr_hybrid_algorithm)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" was trained with \"%s\", explain() needs a hybrid", name, model->algo->name),
				 errhint("Train one with fashionrec.train(name, 'hybrid', NULL, '{\"cf\": \"%s\", ...}').", name)));
	st = model->state;
	check_cache(st);
	user = fr_model_user_index(model, PG_GETARG_INT64(1));

	scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];
		int			n = (int) (model->seen_indptr[user + 1] - lo);

		hybrid_fuse(st, model->n_items, true, model->user_ids[user],
					model->seen_indices + lo, NULL, n, scores, &ex);
		for (int i = 0; i < n; i++)
			skip[model->seen_indices[lo + i]] = 1;
	}
	else
		hybrid_fuse(st, model->n_items, false, 0, NULL, NULL, 0, scores, &ex);

	subset = fr_apply_filters(fcinfo, model, skip, 3, -1, &n_subset);

	top = palloc(sizeof(int32) * k);
	best = palloc(sizeof(float) * k);
	got = fr_topk(scores, model->n_items, subset, subset ? n_subset : 0, skip, k, top, best);
	for (int s = 0; s < N_SIGNALS; s++)
		labels[s] = st->pins[s].present ? pin_label(&st->pins[s]) : NULL;
	for (int r = 0; r < got; r++)
		for (int s = 0; s < N_SIGNALS; s++)
		{
			Datum		values[9];
			bool		nulls[9] = {0};
			float		raw;

			if (!ex.available[s])
				continue;
			raw = ex.raw[s][top[r]];
			values[0] = Int32GetDatum(r + 1);
			values[1] = Int64GetDatum(model->item_ids[top[r]]);
			values[2] = Float4GetDatum(best[r]);
			values[3] = CStringGetTextDatum(signal_names[s]);
			values[4] = CStringGetTextDatum(labels[s]);
			values[5] = Float4GetDatum(raw);
			nulls[5] = !isfinite(raw);
			values[6] = Float4GetDatum(ex.norm[s][top[r]]);
			values[7] = Float4GetDatum((float) ex.weight[s]);
			values[8] = Float4GetDatum((float) ex.weight[s] * ex.norm[s][top[r]]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}
