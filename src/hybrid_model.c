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
 * Learned fusion ("fusion": logistic, mlp, auto; fusion_learn.c) replaces
 * the weighted sum by a net over the normalised scores and a few user and
 * item features, fitted on a "validation" source the components did not
 * see; "half_life_days" folds histories in with recency weights.  Their
 * artifacts: "hybrid_options", "fusion_net", "fusion_item_ids",
 * "fusion_item_features", "history_indptr", "history_item_ids",
 * "history_decay" (docs/hybrid.md).
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
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "fashionrec.h"
#include "fusion.h"
#include "fusion_learn.h"
#include "linalg.h"
#include "model.h"
#include "serving.h"
#include "source.h"
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
	int32		fusion;			/* FusionKind */
	char	   *validation;		/* held-out interactions for learned fusion */
	int32		fusion_users;
	int32		fusion_candidates;
	double		fusion_l2;
	char	   *mlp_hidden;
	int32		mlp_epochs;
	double		mlp_learning_rate;
	int32		mlp_patience;
	int32		seed;
	double		half_life_days;
	char	   *fusion_from;	/* a hybrid whose learned fusion to reuse */
} HybridParams;

static const char *const normalizations[] = {"zscore", "rank", NULL};

typedef enum FusionKind
{
	FUSION_WEIGHTED,
	FUSION_LOGISTIC,
	FUSION_MLP,
	FUSION_AUTO
} FusionKind;

static const char *const fusions[] = {"weighted", "logistic", "mlp", "auto", NULL};

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
	{"fusion", FR_PARAM_CHOICE, offsetof(HybridParams, fusion), 0, 0, fusions},
	{"validation", FR_PARAM_TEXT, offsetof(HybridParams, validation)},
	{"fusion_users", FR_PARAM_INT, offsetof(HybridParams, fusion_users), 4, 1000000},
	{"fusion_candidates", FR_PARAM_INT, offsetof(HybridParams, fusion_candidates), 1, 10000},
	{"fusion_l2", FR_PARAM_REAL, offsetof(HybridParams, fusion_l2), 0, 1e6},
	{"mlp_hidden", FR_PARAM_TEXT, offsetof(HybridParams, mlp_hidden)},
	{"mlp_epochs", FR_PARAM_INT, offsetof(HybridParams, mlp_epochs), 1, 10000},
	{"mlp_learning_rate", FR_PARAM_REAL, offsetof(HybridParams, mlp_learning_rate), 1e-6, 1},
	{"mlp_patience", FR_PARAM_INT, offsetof(HybridParams, mlp_patience), 1, 10000},
	{"seed", FR_PARAM_INT, offsetof(HybridParams, seed), 0, PG_INT32_MAX},
	{"half_life_days", FR_PARAM_REAL, offsetof(HybridParams, half_life_days), 0, 1e6},
	{"fusion_from", FR_PARAM_TEXT, offsetof(HybridParams, fusion_from)},
	{NULL}
};

static const HybridParams hybrid_defaults = {
	.weight = {1.0, 0.3, 0.3, 0.1, 0.3},
	.history_n0 = 5,
	.normalization = FR_NORM_ZSCORE,
	.ridge_lambda = 1.0,
	.cold_start = true,
	.fusion = FUSION_WEIGHTED,
	.fusion_users = 1000,
	.fusion_candidates = 50,
	.fusion_l2 = 1.0,
	.mlp_epochs = 100,
	.mlp_learning_rate = 0.001,
	.mlp_patience = 10,
	.seed = 42,
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
	int32		map_max[N_SIGNALS]; /* the largest component index in each map */
	int32		n_cold;			/* items mapped from content into the CF space */
	int32		factors;
	int32	   *cold_items;
	float	   *cold_factors;	/* n_cold x factors */
	double	   *cf_gram;		/* factors x factors: Y^T Y + eps I of the CF items */

	/*
	 * With a feature-store component, the maps are rebuilt at load against
	 * its live items (extend_live_items): the component's cache token and
	 * item count they were built against, checked when serving so that a
	 * map never indexes past a component that was loaded again.
	 */
	int64		comp_token[N_SIGNALS];
	int32		comp_items[N_SIGNALS];

	/* learned fusion and recency ("hybrid_options" and what it names) */
	int32		fusion;			/* FUSION_WEIGHTED, _LOGISTIC or _MLP */
	FrFusionNet net;			/* the learned fusion over N_FEATURES inputs */
	float	   *item_feat;		/* n_items x 2: log(1 + buyers), log(1 + age in days) */
	double		half_life;		/* days; 0 = off */
	float	   *hist_decay;		/* per "seen" entry: 0.5^(age / half_life), or NULL */

	/*
	 * The trained per-item features and history weights are stored keyed by
	 * item id; loading aligns them with the model's items and "seen" lists
	 * as they are after live items were merged in (align_state).
	 */
	FrModel    *model;			/* NULL at training, where they are aligned */
	int64		n_feat;
	int64	   *feat_ids;
	float	   *feat_vals;
	int64	   *hist_indptr;
	int64	   *hist_ids;
	float	   *hist_vals;
} HybridState;

/*
 * Learned fusion's inputs per item: each signal's normalised score (0 when
 * the signal is absent or has no opinion, as in the weighted sum), then
 * log(1 + history length), log(1 + the item's buyers in the interactions),
 * log(1 + the item's age in days: latest time minus its first interaction).
 */
enum
{
	FEAT_HISTORY = N_SIGNALS,
	FEAT_POPULARITY,
	FEAT_AGE,
	N_FEATURES
};

enum
{
	OPT_FUSION,
	OPT_HALF_LIFE,
	OPT_N_HIDDEN,
	OPT_HIDDEN1,
	OPT_HIDDEN2,
	OPT_N
};

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

static int32
map_max(const int32 *map, int32 n)
{
	int32		max = -1;

	for (int32 h = 0; h < n; h++)
		max = Max(max, map[h]);
	return max;
}

/* A loaded hybrid's pins name what training checked: the kind each signal takes. */
static void
check_kind(const HybridState *st, int signal, const FrModel *comp)
{
	if (!kind_fits(signal, comp->algo))
		fr_artifact_corrupt(st->model, "hybrid_pins",
							"Its \"%s\" component %s was trained with \"%s\", which is not %s.",
							signal_names[signal], pin_label(&st->pins[signal]), comp->algo->name,
							signal_kinds[signal]);
}

/*
 * A pinned component for serving, checked against what the hybrid stored
 * about it: the maps index its items, and new items' factors are in its
 * factor space.  Checked here rather than at load, so that a hybrid serves
 * its stored list to unknown users without opening its components.
 */
static FrModel *
open_component(const HybridState *st, int signal)
{
	FrModel    *comp = open_pin(&st->pins[signal]);

	/* at training the maps were just built from the components */
	if (st->model == NULL)
		return comp;
	check_kind(st, signal, comp);
	if (st->map_max[signal] >= comp->n_items)
		fr_artifact_corrupt(st->model, psprintf("map_%s", signal_names[signal]),
							"It maps to item %d of component %s, which has %d items.",
							st->map_max[signal], pin_label(&st->pins[signal]), comp->n_items);
	if (signal == SIG_CF && st->n_cold > 0 && comp->algo->embedding &&
		comp->algo->embedding(comp, false, 0, NULL) != st->factors)
		fr_artifact_corrupt(st->model, "cold_factors",
							"It has %d factors, component %s has %d.", st->factors,
							pin_label(&st->pins[signal]), comp->algo->embedding(comp, false, 0, NULL));
	return comp;
}

/* ---- training --------------------------------------------------------------- */

typedef struct HybridItems
{
	HybridPin	pins[N_SIGNALS];
	int32		n_feature_sets; /* the components' feature sets: the hybrid serves them live */
	int32		feature_sets[N_SIGNALS * 4];
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
	/* the mapping itself, for items a feature-store component gains later */
	fr_artifact_put(job->model_id, "cold_map", FR_F32, d, k, w);
	fr_artifact_put(job->model_id, "cold_map_signal", FR_I32, 1, 1, &content);
	fr_artifact_put(job->model_id, "cold_factors", FR_F32, n_cold, k, st->cold_factors);
	fr_artifact_put(job->model_id, "cf_gram", FR_F64, k, k, gram);
	fr_info_add_int(job, "new_items_mapped", n_cold);
	fr_info_add_real(job, "new_item_map_r2", r2);
}

static void hybrid_fuse(const HybridState *st, int32 n_items, bool has_user, int64 user_id,
						const int32 *hist, const float *hist_w, int n_hist,
						float *out, HybridExplain *ex, const int32 *exact, int n_exact);

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
		if (end == p || v < 1 || v > 1024 || n == FR_FUSION_MAX_HIDDEN)
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
			 errhint("Give one or two hidden layer sizes from 1 to 1024, as in \"16\" or \"32,16\".")));
	return 0;					/* not reached */
}

/* per item: log(1 + buyers), log(1 + days since its first interaction) */
static float *
fusion_item_features(const FrTrainData *data)
{
	float	   *f = palloc_extended(mul_size(Max(data->n_items, 1), 2 * sizeof(float)),
									MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	double	   *first = NULL;

	if (data->times)
	{
		first = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(double)), MCXT_ALLOC_HUGE);
		for (int32 i = 0; i < data->n_items; i++)
			first[i] = INFINITY;
	}
	for (int64 p = 0; p < data->ui.nnz; p++)
	{
		int32		i = data->ui.indices[p];

		f[2 * (size_t) i] += 1;
		if (first && isfinite(data->times[p]) && data->times[p] < first[i])
			first[i] = data->times[p];
	}
	for (int32 i = 0; i < data->n_items; i++)
	{
		f[2 * (size_t) i] = (float) log1p(f[2 * (size_t) i]);
		if (first && isfinite(first[i]))
			f[2 * (size_t) i + 1] = (float) log1p(Max(0, data->max_time - first[i]) / 86400.0);
	}
	return f;
}

/*
 * Recency weights of each user's history: 0.5^(age / half-life), the age
 * counted from the user's own latest event, so every user's latest items
 * weigh 1 whether they were active yesterday or a year ago (a dormant
 * customer's last session is still the best guide to them), and the weights
 * are the same at training and serving, which knows no "now".
 */
static float *
history_decay(const FrTrainData *data, double half_life_days)
{
	float	   *w = palloc_extended(mul_size(Max(data->ui.nnz, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	double		scale = half_life_days * 86400.0;

	for (int32 u = 0; u < data->n_users; u++)
	{
		double		latest = -INFINITY;

		for (int64 p = data->ui.indptr[u]; p < data->ui.indptr[u + 1]; p++)
			if (isfinite(data->times[p]) && data->times[p] > latest)
				latest = data->times[p];
		for (int64 p = data->ui.indptr[u]; p < data->ui.indptr[u + 1]; p++)
			w[p] = isfinite(data->times[p]) && isfinite(latest)
				? (float) pow(0.5, (latest - data->times[p]) / scale) : 1.0f;
	}
	return w;
}

static inline void
fusion_row(const HybridState *st, float *const *norm, float log_hist, int32 h, float *x)
{
	for (int s = 0; s < N_SIGNALS; s++)
		x[s] = norm[s] ? norm[s][h] : 0.0f;
	x[FEAT_HISTORY] = log_hist;
	x[FEAT_POPULARITY] = st->item_feat ? st->item_feat[2 * (size_t) h] : 0.0f;
	x[FEAT_AGE] = st->item_feat ? st->item_feat[2 * (size_t) h + 1] : 0.0f;
}

/* the training examples of learned fusion, grouped by validation user */
typedef struct FusionExamples
{
	int64		n;
	int64		cap;
	float	   *x;				/* n x N_FEATURES */
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
		e->x = repalloc_huge(e->x, mul_size(e->cap, N_FEATURES * sizeof(float)));
		e->y = repalloc_huge(e->y, mul_size(e->cap, sizeof(float)));
		e->weighted = repalloc_huge(e->weighted, mul_size(e->cap, sizeof(float)));
	}
	memcpy(e->x + e->n * N_FEATURES, x, sizeof(float) * N_FEATURES);
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
 */
static void
build_examples(const FrTrainData *data, const FrTrainData *vdata, const HybridParams *p,
			   const HybridState *st, FusionExamples *e)
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
	e->x = palloc_extended(mul_size(e->cap, N_FEATURES * sizeof(float)), MCXT_ALLOC_HUGE);
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
		uint8	   *taken = palloc0(Max(n_items, 1));
		int32	   *cand = palloc(sizeof(int32) * Max(n_items, 1));
		int32	   *top = palloc(sizeof(int32) * m);
		float	   *best = palloc(sizeof(float) * m);
		int32		n_cand = 0;
		int			positives = 0;
		float		x[N_FEATURES];

		fr_check_interrupts();
		if (tu >= 0)
		{
			int64		lo = data->ui.indptr[tu];

			hist = data->ui.indices + lo;
			hist_w = st->hist_decay ? st->hist_decay + lo : NULL;
			n_hist = (int) (data->ui.indptr[tu + 1] - lo);
			for (int i = 0; i < n_hist; i++)
				skip[hist[i]] = 1;
		}
		hybrid_fuse(st, n_items, true, uid, hist, hist_w, n_hist, scores, &ex, NULL, 0);
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
			for (int s = 0; s < N_SIGNALS; s++)
			{
				int			got;

				if (!ex.available[s])
					continue;
				got = fr_topk(ex.norm[s], n_items, NULL, 0, skip, m, top, best);
				for (int r = 0; r < got; r++)
					if (!taken[top[r]])
					{
						taken[top[r]] = 1;
						cand[n_cand++] = top[r];
					}
			}
			positives = 0;
			for (int32 c = 0; c < n_cand; c++)
				positives += label[cand[c]];
		}
		if (positives > 0)
		{
			MemoryContextSwitchTo(old);
			for (int32 c = 0; c < n_cand; c++)
			{
				fusion_row(st, ex.norm, (float) log1p(n_hist), cand[c], x);
				examples_add(e, x, label[cand[c]] ? 1.0f : 0.0f, scores[cand[c]]);
			}
			e->group[++e->n_groups] = e->n;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(user_cxt);
	}
	MemoryContextDelete(user_cxt);
}

/* rows of groups [g0, g1) as a set of their own */
static FrFusionSet
examples_slice(const FusionExamples *e, int32 g0, int32 g1)
{
	FrFusionSet set;
	int64	   *group = palloc(sizeof(int64) * (g1 - g0 + 1));
	int64		base = e->group[g0];

	for (int32 g = g0; g <= g1; g++)
		group[g - g0] = e->group[g] - base;
	set.n = e->group[g1] - base;
	set.d = N_FEATURES;
	set.x = e->x + base * N_FEATURES;
	set.y = e->y + base;
	set.n_groups = g1 - g0;
	set.group = group;
	return set;
}

/*
 * Fit the learned fusion on the validation interactions: users split (after
 * the seeded shuffle) into a half to fit on, a quarter for the MLP's early
 * stopping and a quarter on which the candidates are compared by NDCG@10,
 * so that neither the fitted weights nor the stopping epoch are judged on
 * the users that chose them.  Sets st->fusion and st->net.
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
	FrFusionSet fit,
				stop,
				sel;
	float	   *s;
	double		ndcg[3] = {-1, -1, -1};
	FrFusionNet nets[3] = {{0}};
	int			chosen = FUSION_WEIGHTED;
	bool		want_lr = p->fusion == FUSION_LOGISTIC || p->fusion == FUSION_AUTO;
	bool		want_mlp = p->fusion == FUSION_MLP || p->fusion == FUSION_AUTO;
	int			hidden[FR_FUSION_MAX_HIDDEN];
	int			n_hidden = parse_hidden(p->mlp_hidden, hidden);

	fr_source_read(p->validation, &fr_source_param_defaults, &vdata, &vstats,
				   data->item_ids, data->n_items);
	if (vdata.n_users == 0 || vdata.n_items != data->n_items)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"validation\" has no interactions with the hybrid's items"),
				 errhint("Give held-out (user, item) pairs the components were not trained on, e.g. a later period.")));

	build_examples(data, &vdata, p, st, &e);
	if (e.n_groups < 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"validation\" has %d users with an unseen item among their candidates, learned fusion needs at least 4",
						e.n_groups),
				 errdetail("Validation items a user already has in \"interactions\", or that no signal ranks in its top \"fusion_candidates\", are not examples."),
				 errhint("Hold out more users' later interactions, or raise \"fusion_users\".")));
	n_fit = (e.n_groups + 1) / 2;
	n_stop = (e.n_groups - n_fit + 1) / 2;
	fit = examples_slice(&e, 0, n_fit);
	stop = examples_slice(&e, n_fit, n_fit + n_stop);
	sel = examples_slice(&e, n_fit + n_stop, e.n_groups);
	s = palloc_extended(mul_size(Max(sel.n, 1), sizeof(float)), MCXT_ALLOC_HUGE);

	ndcg[FUSION_WEIGHTED] = fr_fusion_ndcg(&sel, e.weighted + e.group[n_fit + n_stop], 10);
	if (want_lr)
	{
		fr_fusion_fit_logistic(&fit, p->fusion_l2, &nets[FUSION_LOGISTIC]);
		fr_fusion_forward(&nets[FUSION_LOGISTIC], sel.n, sel.x, s);
		ndcg[FUSION_LOGISTIC] = fr_fusion_ndcg(&sel, s, 10);
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
		fr_fusion_net_alloc(&nets[FUSION_MLP], N_FEATURES, n_hidden, hidden);
		fr_fusion_fit_mlp(&fit, &stop, &opt, &nets[FUSION_MLP], &info);
		fr_fusion_forward(&nets[FUSION_MLP], sel.n, sel.x, s);
		ndcg[FUSION_MLP] = fr_fusion_ndcg(&sel, s, 10);
		fr_info_add_int(job, "mlp_epochs", info.epochs);
		fr_info_add_int(job, "mlp_best_epoch", info.best_epoch);
	}
	if (p->fusion == FUSION_AUTO)
	{
		/* strictly better to replace: ties keep the simpler fusion */
		for (int k = FUSION_LOGISTIC; k <= FUSION_MLP; k++)
			if (ndcg[k] > ndcg[chosen])
				chosen = k;
	}
	else
		chosen = p->fusion;

	info_text(job, "fusion", fusions[chosen]);
	fr_info_add_int(job, "fusion_users", e.n_groups);
	fr_info_add_int(job, "fusion_examples", e.n);
	for (int k = FUSION_WEIGHTED; k <= FUSION_MLP; k++)
		if (ndcg[k] >= 0)
			fr_info_add_real(job, psprintf("validation_ndcg_%s", fusions[k]), ndcg[k]);
	st->fusion = chosen;
	if (chosen != FUSION_WEIGHTED)
		st->net = nets[chosen];
}

extern const FrAlgorithm fr_hybrid_algorithm;

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
							signal_names[s], st->pins[s].present && st->weight[s] > 0 ? "has" : "has not"),
					 errhint("A reused fusion needs the same signals: give both hybrids the same component roles.")));
	st->fusion = fst->fusion;
	st->net = fst->net;
	size = fr_fusion_net_size(N_FEATURES, fst->net.n_hidden, fst->net.hidden);
	st->net.params = palloc(sizeof(float) * size);
	memcpy(st->net.params, fst->net.params, sizeof(float) * size);
	st->item_feat = fusion_item_features(job->data);
	info_text(job, "fusion", fusions[st->fusion]);
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
				 errmsg("fusion \"%s\" needs a \"validation\" source", fusions[p->fusion]),
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

/* ---- learned fusion and recency: serving ------------------------------------ */

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
							 1, 1024, true);
			hidden[l] = (int) options[OPT_HIDDEN1 + l];
		}
		st->net.d = N_FEATURES;
		st->net.n_hidden = n_hidden;
		memcpy(st->net.hidden, hidden, sizeof(hidden));
		st->net.params = fr_model_artifact(model, "fusion_net", FR_F32, &nrows, NULL, false);
		fr_check_shape(model, "fusion_net", nrows, 1, fr_fusion_net_size(N_FEATURES, n_hidden, hidden), 1);
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
 * A learned fusion's score of one item split by signal: the signals are
 * switched on one at a time, in signal order, from the item's features with
 * every signal at its neutral 0; contrib[s] is what switching on s adds and
 * base the score with all of them neutral (history length, popularity, age,
 * bias).  base + sum of contrib = the score.  For logistic regression
 * contrib[s] is coefficient x normalised score, whatever the order; for an
 * MLP it is the order's marginal effect.
 */
static void
learned_contributions(const HybridState *st, float *const *norm, int n_hist, int32 h,
					  float *base, float *contrib)
{
	float		x[(N_SIGNALS + 1) * N_FEATURES];
	float		out[N_SIGNALS + 1];
	float		full[N_FEATURES];

	fusion_row(st, norm, (float) log1p(n_hist), h, full);
	for (int r = 0; r <= N_SIGNALS; r++)
	{
		memcpy(x + r * N_FEATURES, full, sizeof(full));
		for (int s = r; s < N_SIGNALS; s++)
			x[r * N_FEATURES + s] = 0.0f;
	}
	fr_fusion_forward(&st->net, N_SIGNALS + 1, x, out);
	*base = out[0];
	for (int s = 0; s < N_SIGNALS; s++)
		contrib[s] = out[s + 1] - out[s];
}

/*
 * Logistic fusion over the whole catalogue: a linear function of the
 * features, a few multiply-adds per item, so it needs no pool.  The inputs
 * enter standardised, (x - shift) * scale, which folds into the weights.
 */
static void
linear_scores(const HybridState *st, int32 n_items, float *const *norm, int n_hist, float *out)
{
	const float *shift = st->net.params;
	const float *scale = st->net.params + N_FEATURES;
	const float *w = st->net.params + 2 * N_FEATURES;
	double		a[N_FEATURES];
	double		c = w[N_FEATURES];	/* the bias */

	for (int j = 0; j < N_FEATURES; j++)
	{
		a[j] = (double) w[j] * scale[j];
		c -= a[j] * shift[j];
	}
	c += a[FEAT_HISTORY] * log1p(n_hist);
	for (int32 h = 0; h < n_items; h++)
		out[h] = (float) c;
	for (int s = 0; s < N_SIGNALS; s++)
		if (norm[s])
		{
			float		as = (float) a[s];

			for (int32 h = 0; h < n_items; h++)
				out[h] += as * norm[s][h];
		}
	if (st->item_feat)
		for (int32 h = 0; h < n_items; h++)
			out[h] += (float) a[FEAT_POPULARITY] * st->item_feat[2 * (size_t) h] +
				(float) a[FEAT_AGE] * st->item_feat[2 * (size_t) h + 1];
}

/*
 * MLP fusion scores a pool of items, not the catalogue: the net was
 * fitted on the union of the signals' top lists, so that is where it is
 * trusted (far down every list it would extrapolate) and where it is worth
 * its cost (an MLP over 100k items costs more than the rest of the fusion).
 * The pool is the LEARNED_POOL items with the best normalised score in any
 * signal (one selection, not one per signal: it is most of the cost), plus
 * the items a caller must have scored exactly (candidates); every other
 * item ranks below the pool in the weighted fusion's order, which out holds
 * on entry.
 */
#define LEARNED_POOL 1000

static void
learned_pool_scores(const HybridState *st, int32 n_items, float *const *norm, int n_hist,
					const int32 *exact, int n_exact, float *out)
{
	int			m = Min(LEARNED_POOL, n_items);
	float	   *best_signal = palloc_extended(mul_size(Max(n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	uint8	   *in_pool = palloc0(Max(n_items, 1));
	int32	   *pool = palloc(sizeof(int32) * ((size_t) m + n_exact + 1));
	float	   *pool_best = palloc(sizeof(float) * Max(m, 1));
	int			n_pool;
	float	   *x,
			   *y;
	float		lowest = INFINITY,
				best_weighted = -INFINITY;

	for (int32 h = 0; h < n_items; h++)
		best_signal[h] = -INFINITY;
	for (int s = 0; s < N_SIGNALS; s++)
		if (norm[s])
			for (int32 h = 0; h < n_items; h++)
				best_signal[h] = Max(best_signal[h], norm[s][h]);
	n_pool = fr_topk(best_signal, n_items, NULL, 0, NULL, m, pool, pool_best);
	for (int i = 0; i < n_pool; i++)
		in_pool[pool[i]] = 1;
	for (int i = 0; i < n_exact; i++)
		if (exact[i] >= 0 && exact[i] < n_items && !in_pool[exact[i]])
		{
			in_pool[exact[i]] = 1;
			pool[n_pool++] = exact[i];
		}

	x = palloc(sizeof(float) * N_FEATURES * Max(n_pool, 1));
	y = palloc(sizeof(float) * Max(n_pool, 1));
	for (int i = 0; i < n_pool; i++)
		fusion_row(st, norm, (float) log1p(n_hist), pool[i], x + (size_t) i * N_FEATURES);
	fr_fusion_forward(&st->net, n_pool, x, y);
	for (int i = 0; i < n_pool; i++)
		lowest = Min(lowest, y[i]);
	for (int32 h = 0; h < n_items; h++)
		best_weighted = Max(best_weighted, out[h]);
	for (int32 h = 0; h < n_items; h++)
		if (!in_pool[h])
			out[h] = lowest - 1.0f - (best_weighted - out[h]);
	for (int i = 0; i < n_pool; i++)
		out[pool[i]] = y[i];
	pfree(best_signal);
	pfree(in_pool);
	pfree(pool);
	pfree(pool_best);
	pfree(x);
	pfree(y);
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
	if (hi->n_feature_sets > 0)
		fr_info_add_int_array(job, "feature_sets", hi->feature_sets, hi->n_feature_sets);
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
	train_options(job, p, st);

	/* the list for users the hybrid does not know: an empty history */
	cold_scores = palloc_extended(mul_size(Max(data->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	hybrid_fuse(st, data->n_items, false, 0, NULL, NULL, 0, cold_scores, NULL, NULL, 0);
	fr_artifact_put(job->model_id, "cold_user_scores", FR_F32, data->n_items, 1, cold_scores);
}

/* ---- loading ---------------------------------------------------------------- */

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
		comp = open_pin(&st->pins[s]);
		check_kind(st, s, comp);
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
	if (n_added > 0)
	{
		int64		u = 0;

		qsort(added, n_added, sizeof(int64), cmp_int64);
		for (int64 i = 0; i < n_added; i++)
			if (u == 0 || added[i] != added[u - 1])
				added[u++] = added[i];
		n_added = u;
	}

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
		comp = open_pin(&st->pins[s]);
		st->map[s] = build_map(comp, model->item_ids, model->n_items);
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
		FrModel    *comp = open_pin(&st->pins[c]);
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
	hybrid_fuse(st, model->n_items, false, 0, NULL, NULL, 0, model->item_popularity, NULL, NULL, 0);
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
			fr_model_keep(model, psprintf("map_%s", signal_names[s]), FR_I32, model->n_items, 1, st->map[s]);
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
								signal_names[s]);
	}
}

static void *
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
		char	   *map_name = psprintf("map_%s", signal_names[s]);

		fr_check_setting(model, "hybrid_config", psprintf("%s_weight", signal_names[s]),
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
	load_options(model, st);

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
			float *out, HybridExplain *ex, const int32 *exact, int n_exact)
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
		bool		fold_in;

		if (!st->pins[s].present || st->weight[s] <= 0)
			continue;
		comp = open_component(st, s);
		if (st->comp_items[s] > 0 &&
			(comp->live_token != st->comp_token[s] || comp->n_items != st->comp_items[s]))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("component \"%s\" of hybrid model changed while it was being served",
							pin_label(&st->pins[s])),
					 errhint("Retry: the next statement serves both at the feature set's new generation.")));
		raw = palloc_extended(mul_size(Max(comp->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
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
	if (st->fusion == FUSION_LOGISTIC)
		linear_scores(st, n_items, norm, n_hist, out);
	else
	{
		fr_fuse(N_SIGNALS, n_items, (const float *const *) norm, weights, out);
		if (st->fusion == FUSION_MLP)
			learned_pool_scores(st, n_items, norm, n_hist, exact, n_exact, out);
	}
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
				 errhint("A superuser can raise it: SET fashionrec.cache_models = %d, or ALTER ROLE ... SET for the role that serves.",
						 present + 1)));
}

static void
hybrid_score_user(const FrModel *model, int32 user, float *scores)
{
	const HybridState *st = model->state;
	int64		lo = model->seen_indptr[user];

	check_cache(st);
	hybrid_fuse(st, model->n_items, true, model->user_ids[user],
				model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
				(int) (model->seen_indptr[user + 1] - lo), scores, NULL, NULL, 0);
}

/*
 * Candidates of a known user: the fusion is over the catalogue anyway (the
 * normalisation is), but a learned fusion then scores exactly these items.
 */
static void
hybrid_score_user_items(const FrModel *model, int32 user, const int32 *items, int n, float *scores)
{
	const HybridState *st = model->state;
	int64		lo = model->seen_indptr[user];
	float	   *all = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);

	check_cache(st);
	hybrid_fuse(st, model->n_items, true, model->user_ids[user],
				model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
				(int) (model->seen_indptr[user + 1] - lo), all, NULL, items, n);
	for (int i = 0; i < n; i++)
		scores[i] = all[items[i]];
	pfree(all);
}

static void
hybrid_score_items(const FrModel *model, const int32 *items, const float *weights,
				   int n, float *scores)
{
	check_cache(model->state);
	hybrid_fuse(model->state, model->n_items, false, 0, items, weights, n, scores, NULL, NULL, 0);
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
	comp = open_component(st, SIG_POPULARITY);
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
	.summary = "fusion of pinned component models (cf, content, image, popularity, sequence): weighted "
	"with per-signal normalisation and history-dependent weights, or learned (logistic, mlp) on a validation set; "
	"recency-decayed histories, content-to-factor mapping for new items; "
	"source NULL, users from \"interactions\"",
	.param_specs = hybrid_specs,
	.params_size = sizeof(HybridParams),
	.param_defaults = &hybrid_defaults,
	.read_items = hybrid_read_items,
	.train = hybrid_train,
	.load = hybrid_load,
	.score_user = hybrid_score_user,
	.score_user_items = hybrid_score_user_items,
	.score_items = hybrid_score_items,
	.score_context = hybrid_score_context,
};

/* ---- explain ------------------------------------------------------------------ */

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

/*
 * explain(name, user_id, k, exclude_seen, candidates, exclude, version)
 *     returns table(rank int, item_id bigint, score real, signal text,
 *     component text, raw_score real, normalized real, weight real,
 *     contribution real)
 *
 * The list recommend() serves from the trained history, one row per item and
 * signal: contribution = weight x normalized, and score is their sum.  No
 * context: a context ranking replaces the fusion by the popularity
 * component's ranking in that context, and has no signals to take apart.
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
	char	   *labels[N_SIGNALS];
	int			n_hist = 0;

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

	scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];

		n_hist = (int) (model->seen_indptr[user + 1] - lo);
		if (args.exclude_seen)
			for (int i = 0; i < n_hist; i++)
				skip[model->seen_indices[lo + i]] = 1;
	}
	/* the candidates first: a learned fusion scores them exactly */
	subset = fr_apply_filters(model, &args, skip, &n_subset);
	if (user >= 0)
	{
		int64		lo = model->seen_indptr[user];

		hybrid_fuse(st, model->n_items, true, model->user_ids[user],
					model->seen_indices + lo, st->hist_decay ? st->hist_decay + lo : NULL,
					n_hist, scores, &ex, subset, subset ? n_subset : 0);
	}
	else
		hybrid_fuse(st, model->n_items, false, 0, NULL, NULL, 0, scores, &ex,
					subset, subset ? n_subset : 0);

	k = fr_clamp_k(model, args.k);
	top = palloc(sizeof(int32) * k);
	best = palloc(sizeof(float) * k);
	got = fr_topk(scores, model->n_items, subset, subset ? n_subset : 0, skip, k, top, best);
	for (int s = 0; s < N_SIGNALS; s++)
		labels[s] = st->pins[s].present ? pin_label(&st->pins[s]) : NULL;
	Assert(rsinfo->setDesc->natts == EXPLAIN_COLS);
	for (int r = 0; r < got; r++)
	{
		float		base = 0,
					contrib[N_SIGNALS];

		if (st->fusion != FUSION_WEIGHTED)
			learned_contributions(st, ex.norm, n_hist, top[r], &base, contrib);
		for (int s = 0; s < N_SIGNALS; s++)
		{
			Datum		values[EXPLAIN_COLS];
			bool		nulls[EXPLAIN_COLS] = {0};
			float		raw;

			if (!ex.available[s])
				continue;
			raw = ex.raw[s][top[r]];
			values[EXPLAIN_COL_RANK] = Int32GetDatum(r + 1);
			values[EXPLAIN_COL_ITEM_ID] = Int64GetDatum(model->item_ids[top[r]]);
			values[EXPLAIN_COL_SCORE] = Float4GetDatum(best[r]);
			values[EXPLAIN_COL_SIGNAL] = CStringGetTextDatum(signal_names[s]);
			values[EXPLAIN_COL_COMPONENT] = CStringGetTextDatum(labels[s]);
			values[EXPLAIN_COL_RAW_SCORE] = Float4GetDatum(raw);
			nulls[EXPLAIN_COL_RAW_SCORE] = !isfinite(raw);
			values[EXPLAIN_COL_NORMALIZED] = Float4GetDatum(ex.norm[s][top[r]]);
			values[EXPLAIN_COL_WEIGHT] = Float4GetDatum((float) ex.weight[s]);
			values[EXPLAIN_COL_CONTRIBUTION] = Float4GetDatum((float) ex.weight[s] * ex.norm[s][top[r]]);
			if (st->fusion == FUSION_LOGISTIC)
			{
				/* the coefficient on the normalised score (inputs are standardised) */
				values[EXPLAIN_COL_WEIGHT] = Float4GetDatum(st->net.params[2 * N_FEATURES + s] * st->net.params[N_FEATURES + s]);
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
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(fashionrec_explain_0_2);
Datum
fashionrec_explain_0_2(PG_FUNCTION_ARGS)
{
	return explain_serve(fcinfo, &fr_explain_shape);
}

/* 0.1's explain(name, user_id, k, candidates, version) */
PG_FUNCTION_INFO_V1(fashionrec_explain);
Datum
fashionrec_explain(PG_FUNCTION_ARGS)
{
	return explain_serve(fcinfo, &fr_explain_shape_0_1);
}
