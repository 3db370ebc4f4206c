/*
 * hybrid.h — the "hybrid" algorithm's shared types: one model name that
 * blends the scores of other trained models (collaborative, content,
 * image/embedding, popularity, sequence), docs/hybrid.md.
 *
 * Split by phase, as pgvector splits its indexes:
 *   hybrid.c        the algorithm's entry, parameters and pinned components
 *   hybrid_train.c  component reading, the new-item mapping, learned fusion
 *   hybrid_load.c   artifacts into a HybridState, live items, shared copies
 *   hybrid_serve.c  the fusion of one request, the serving callbacks, explain()
 *   hybrid_context.c  the context signals of a call, cached per backend
 * The arithmetic of the fusion is in the kernels fusion.c, fusion_learn.c
 * and fusion_features.c.
 *
 * Artifacts: "hybrid_pins" (HybridPin per signal), "hybrid_config" (weights,
 * n0, normalisation), "map_<signal>" (component item index per hybrid item,
 * -1 if absent), "cold_items", "cold_factors", "cold_map",
 * "cold_map_signal", "cf_gram" (new-item mapping), "cold_user_scores"; with
 * learned fusion or recency "hybrid_options", "fusion_net",
 * "fusion_item_ids", "fusion_item_features", "history_indptr",
 * "history_item_ids", "history_decay"; "hybrid_context" (the context
 * signals' weights) and, with a context_column, "context_names",
 * "context_share", "context_user_indptr", "context_user_index",
 * "context_user_counts" (each user's days with events per context value),
 * "context_prior" (the propensity's prior strength per context value).
 */
#ifndef FR_HYBRID_H
#define FR_HYBRID_H

#include "fusion.h"
#include "fusion_features.h"
#include "fusion_learn.h"
#include "model.h"

enum
{
	SIG_CF,
	SIG_CONTENT,
	SIG_IMAGE,
	SIG_POPULARITY,
	SIG_SEQUENCE,
	N_SIGNALS,
	/*
	 * The context signals, present only when a call gives a context the
	 * popularity component knows: its popularity in that context, and the
	 * user's affinity (the items' lift in the context, scaled by how much
	 * of the user's own history falls in it).  Not components: no pins.
	 */
	SIG_CONTEXT = N_SIGNALS,
	SIG_AFFINITY,
	N_ALL_SIGNALS
};

extern const char *const hybrid_signal_names[N_SIGNALS];
extern const char *const hybrid_signal_kinds[N_SIGNALS];	/* for messages */

typedef enum FusionKind
{
	FUSION_WEIGHTED,
	FUSION_LOGISTIC,
	FUSION_MLP,
	FUSION_AUTO
} FusionKind;

extern const char *const hybrid_fusions[];

/* which items learned fusion takes its examples from ("fusion_items") */
typedef enum FusionItems
{
	FUSION_ITEMS_ALL,
	FUSION_ITEMS_NEW			/* only items without interactions */
} FusionItems;

typedef struct HybridParams
{
	char	   *component[N_SIGNALS];
	double		weight[N_ALL_SIGNALS];
	double		history_n0;
	int32		normalization;	/* FrNormalization */
	double		ridge_lambda;
	bool		cold_start;
	int32		fusion;			/* FusionKind */
	char	   *validation;		/* held-out interactions for learned fusion */
	int32		fusion_users;
	int32		fusion_candidates;
	int32		fusion_items;	/* FusionItems */
	double		fusion_l2;
	char	   *mlp_hidden;
	int32		mlp_epochs;
	double		mlp_learning_rate;
	int32		mlp_patience;
	int32		mlp_bags;		/* MLPs averaged (bagging) */
	int32		seed;
	double		half_life_days;
	char	   *fusion_from;	/* a hybrid whose learned fusion to reuse */
} HybridParams;

/* a pinned component; stored as raw bytes in "hybrid_pins" */
typedef struct HybridPin
{
	char		name[NAMEDATALEN];
	int32		version;
	int32		present;
} HybridPin;

/* "hybrid_config" */
enum
{
	CONFIG_WEIGHTS = 0,			/* N_SIGNALS weights */
	CONFIG_N0 = N_SIGNALS,
	CONFIG_NORMALIZATION,
	CONFIG_N
};

/* learned fusion's inputs (fusion_features.h): with history terms since 0.3 */
#define N_FEATURES (2 * N_SIGNALS + FR_FUSION_EXTRA)
#define N_FEATURES_0_2 (N_SIGNALS + FR_FUSION_EXTRA)
/* ... and with the context signals, for a hybrid trained with a context_column */
#define N_FEATURES_CONTEXT (2 * N_ALL_SIGNALS + FR_FUSION_EXTRA)

/* "hybrid_context": the context signals' weights */
#define CONTEXT_CONFIG_N 2

/* "hybrid_options" */
enum
{
	OPT_FUSION,
	OPT_HALF_LIFE,
	OPT_N_HIDDEN,
	OPT_HIDDEN1,
	OPT_HIDDEN2,
	OPT_N
};

typedef struct HybridState
{
	HybridPin	pins[N_SIGNALS];
	double		weight[N_ALL_SIGNALS];
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
	 * its live items (hybrid_load.c): the component's cache token and item
	 * count they were built against, checked when serving so that a map
	 * never indexes past a component that was loaded again.
	 */
	int64		comp_token[N_SIGNALS];
	int32		comp_items[N_SIGNALS];

	/* learned fusion and recency ("hybrid_options" and what it names) */
	int32		fusion;			/* FUSION_WEIGHTED, _LOGISTIC or _MLP */
	FrFusionNet net;			/* the learned fusion over N_FEATURES inputs */
	int			net_signals;	/* the signals it reads: N_SIGNALS, or N_ALL_SIGNALS */
	float	   *item_feat;		/* n_items x 2: log(1 + buyers), log(1 + age in days) */
	double		half_life;		/* days; 0 = off */
	float	   *hist_decay;		/* per "seen" entry: 0.5^(age / half_life), or NULL */

	/*
	 * With a context_column: the context values (sorted), each one's share of
	 * all events, and each user's events per value (CSR by user index).
	 */
	bool		context_replaces;	/* trained before 0.3: a context replaces the fusion */
	int32		n_contexts;
	char	  **context_names;
	double	   *context_share;
	int64	   *ctx_indptr;
	int32	   *ctx_index;
	float	   *ctx_counts;
	double	   *context_prior;	/* pseudo-days per context; NULL: trained before */

	/*
	 * The trained per-item features and history weights are stored keyed by
	 * item id; loading aligns them with the model's items and "seen" lists
	 * as they are after live items were merged in.
	 */
	FrModel    *model;			/* NULL at training, where they are aligned */
	int64		n_feat;
	int64	   *feat_ids;
	float	   *feat_vals;
	int64	   *hist_indptr;
	int64	   *hist_ids;
	float	   *hist_vals;
} HybridState;

/* what a fusion computed, for explain() and learned fusion's examples */
typedef struct HybridExplain
{
	bool		available[N_ALL_SIGNALS];
	double		weight[N_ALL_SIGNALS];
	float	   *raw[N_ALL_SIGNALS];	/* hybrid-indexed raw scores, NaN where undefined */
	float	   *norm[N_ALL_SIGNALS];
} HybridExplain;

extern const FrAlgorithm fr_hybrid_algorithm;

/* hybrid.c: components */
extern bool hybrid_kind_fits(int signal, const FrAlgorithm *algo);

extern FrModel *hybrid_open_pin(const HybridPin *pin);
extern char *hybrid_pin_label(const HybridPin *pin);
extern void hybrid_check_kind(const HybridState *st, int signal, const FrModel *comp);
extern int32 *hybrid_build_map(const FrModel *comp, const int64 *item_ids, int32 n_items);
extern int64 hybrid_sort_unique(int64 *ids, int64 n);

/* hybrid_train.c */
extern void *hybrid_read_items(const char *source, const void *params_in,
							   int64 **item_ids, int32 *n_items);
extern void hybrid_train(FrTrainJob *job);

/* hybrid_load.c */
extern void *hybrid_load(FrModel *model);

/* hybrid_context.c */
extern int32 hybrid_context_index(const HybridState *st, const char *context);
extern double hybrid_context_propensity(const HybridState *st, int32 user, const char *context);
extern void hybrid_context_fit_prior(HybridState *st, int32 n_users, const bool *users);
extern bool hybrid_context_signals(const HybridState *st, int32 n_items, const char *context,
								   float **norm, float **raw, bool *shared);

/* hybrid_serve.c */
extern FrModel *hybrid_open_component(const HybridState *st, int signal);
extern void hybrid_fuse(const HybridState *st, int32 n_items, bool has_user, int64 user_id,
						const int32 *hist, const float *hist_w, int n_hist,
						const char *context, double propensity,
						float *out, HybridExplain *ex, const int32 *exact, int n_exact);
extern void hybrid_score_user(const FrModel *model, int32 user, float *scores);
extern void hybrid_score_user_items(const FrModel *model, int32 user, const int32 *items,
									int n, float *scores);
extern void hybrid_score_items(const FrModel *model, const int32 *items, const float *weights,
							   int n, float *scores);
extern bool hybrid_score_context(const FrModel *model, const char *context, float *scores);
extern bool hybrid_score_in_context(const FrModel *model, int32 user, const int32 *items,
									const float *weights, int n, const char *context,
									const int32 *exact, int n_exact, float *scores);

#endif							/* FR_HYBRID_H */
