/*
 * hybrid.c — the hybrid algorithm's entry (fr_hybrid_algorithm), its
 * parameters, and its pinned components: which kinds of model each signal
 * takes, opening a pin, mapping the hybrid's items onto a component's.
 * The phases are in hybrid_train.c, hybrid_load.c and hybrid_serve.c
 * (hybrid.h).
 */
#include "postgres.h"

#include "hybrid.h"

const char *const hybrid_signal_names[N_SIGNALS] = {
	"cf", "content", "image", "popularity", "sequence"
};

/* what each role accepts, for error messages */
const char *const hybrid_signal_kinds[N_SIGNALS] = {
	"a collaborative model (als, mf, svd, ease, itemknn)",
	"a content model (tfidf, attributes, embedding) or another scoring model (featurefm, als, ...)",
	"a content model (embedding, tfidf, attributes) or another scoring model (featurefm, als, ...)",
	"a popularity model",
	"a sequence model",
};

static const char *const normalizations[] = {"zscore", "rank", NULL};

const char *const hybrid_fusions[] = {"weighted", "logistic", "mlp", "auto", NULL};

static const char *const fusion_item_kinds[] = {"all", "new", NULL};

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
	{"context_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_CONTEXT]), 0, 1e6},
	{"context_affinity_weight", FR_PARAM_REAL, offsetof(HybridParams, weight[SIG_AFFINITY]), 0, 1e6},
	{"history_n0", FR_PARAM_REAL, offsetof(HybridParams, history_n0), 0, 1e6},
	{"normalization", FR_PARAM_CHOICE, offsetof(HybridParams, normalization), 0, 0, normalizations},
	{"ridge_lambda", FR_PARAM_REAL, offsetof(HybridParams, ridge_lambda), 0, 1e9},
	{"cold_start", FR_PARAM_BOOL, offsetof(HybridParams, cold_start)},
	{"fusion", FR_PARAM_CHOICE, offsetof(HybridParams, fusion), 0, 0, hybrid_fusions},
	{"validation", FR_PARAM_TEXT, offsetof(HybridParams, validation)},
	{"fusion_users", FR_PARAM_INT, offsetof(HybridParams, fusion_users), 4, 1000000},
	{"fusion_candidates", FR_PARAM_INT, offsetof(HybridParams, fusion_candidates), 1, 10000},
	{"fusion_items", FR_PARAM_CHOICE, offsetof(HybridParams, fusion_items), 0, 0, fusion_item_kinds},
	{"fusion_l2", FR_PARAM_REAL, offsetof(HybridParams, fusion_l2), 0, 1e6},
	{"mlp_hidden", FR_PARAM_TEXT, offsetof(HybridParams, mlp_hidden)},
	{"mlp_epochs", FR_PARAM_INT, offsetof(HybridParams, mlp_epochs), 1, 10000},
	{"mlp_learning_rate", FR_PARAM_REAL, offsetof(HybridParams, mlp_learning_rate), 1e-6, 1},
	{"mlp_patience", FR_PARAM_INT, offsetof(HybridParams, mlp_patience), 1, 10000},
	{"mlp_bags", FR_PARAM_INT, offsetof(HybridParams, mlp_bags), 1, 20},
	{"seed", FR_PARAM_INT, offsetof(HybridParams, seed), 0, PG_INT32_MAX},
	{"half_life_days", FR_PARAM_REAL, offsetof(HybridParams, half_life_days), 0, 1e6},
	{"fusion_from", FR_PARAM_TEXT, offsetof(HybridParams, fusion_from)},
	{NULL}
};

static const HybridParams hybrid_defaults = {
	.weight = {1.0, 0.3, 0.3, 0.1, 0.3, 0.1, 0.3},
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
	.mlp_bags = 3,
	.seed = 42,
};

bool
hybrid_kind_fits(int signal, const FrAlgorithm *algo)
{
	const char *a = algo->name;

	switch (signal)
	{
		case SIG_CF:
			return algo->read_items == NULL && strcmp(a, "popularity") != 0 &&
				strcmp(a, "hybrid") != 0 && strcmp(a, "sequence") != 0;
		case SIG_CONTENT:
		case SIG_IMAGE:

			/*
			 * Any model that scores items for a user, so that a second
			 * factorisation (featurefm with the other loss or seed) can join
			 * the first as an ensemble: two differently-trained models of
			 * the same data err differently, and their mean ranks better.
			 */
			return strcmp(a, "popularity") != 0 && strcmp(a, "hybrid") != 0 &&
				strcmp(a, "sequence") != 0;
		case SIG_POPULARITY:
			return strcmp(a, "popularity") == 0;
		case SIG_SEQUENCE:
			return strcmp(a, "sequence") == 0;
	}
	return false;
}

FrModel *
hybrid_open_pin(const HybridPin *pin)
{
	return fr_model_open(pin->name, pin->version);
}

char *
hybrid_pin_label(const HybridPin *pin)
{
	return psprintf("%s@%d", pin->name, pin->version);
}


/* A loaded hybrid's pins name what training checked: the kind each signal takes. */
void
hybrid_check_kind(const HybridState *st, int signal, const FrModel *comp)
{
	if (!hybrid_kind_fits(signal, comp->algo))
		fr_artifact_corrupt(st->model, "hybrid_pins",
							"Its \"%s\" component %s was trained with \"%s\", which is not %s.",
							hybrid_signal_names[signal], hybrid_pin_label(&st->pins[signal]), comp->algo->name,
							hybrid_signal_kinds[signal]);
}

int32 *
hybrid_build_map(const FrModel *comp, const int64 *item_ids, int32 n_items)
{
	int32	   *map = palloc_extended(mul_size(Max(n_items, 1), sizeof(int32)), MCXT_ALLOC_HUGE);

	for (int32 h = 0; h < n_items; h++)
		map[h] = fr_model_item_index(comp, item_ids[h]);
	return map;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* ids sorted in place without repeats; returns how many are left */
int64
hybrid_sort_unique(int64 *ids, int64 n)
{
	int64		m = 0;

	qsort(ids, n, sizeof(int64), cmp_int64);
	for (int64 i = 0; i < n; i++)
		if (m == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	return m;
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
	.uses_context = true,
	.read_items = hybrid_read_items,
	.train = hybrid_train,
	.load = hybrid_load,
	.score_user = hybrid_score_user,
	.score_user_items = hybrid_score_user_items,
	.candidates_exact = true,
	.score_items = hybrid_score_items,
	.score_context = hybrid_score_context,
	.score_in_context = hybrid_score_in_context,
};
