/*
 * fusion_features.h — the inputs of the hybrid's learned fusion and the
 * scores a fitted net (fusion_learn.h) gives over a catalogue.
 *
 * One row of inputs per item: each signal's normalised score (0 when the
 * signal is absent or has no opinion, as in the weighted sum), then
 * log(1 + the user's history length), then the item's two features:
 * log(1 + its buyers) and log(1 + its age in days); then, with history
 * terms, each signal's score again divided by (1 + the history length).  A
 * net over n signals therefore has d = n + FR_FUSION_EXTRA inputs, or
 * 2n + FR_FUSION_EXTRA with history terms (fr_fusion_inputs).
 *
 * Why the history terms: a linear fusion adds log(1 + history length) to
 * every item of a user alike, so it cannot rank differently for a new
 * customer than for a regular one.  With the terms, signal s weighs
 * a_s + b_s / (1 + n), a weight that moves with the history length and is
 * fitted with the rest (a popularity weight that shrinks as history grows).
 * Nets of 0.2 have no terms and are served as they were.
 *
 * Plain C over plain arrays (kernel.h, topk.h); no PostgreSQL.
 */
#ifndef FR_FUSION_FEATURES_H
#define FR_FUSION_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

#include "fusion_learn.h"

/* the inputs after the signals' scores, as offsets from the first of them */
enum
{
	FR_FUSION_HISTORY,
	FR_FUSION_POPULARITY,
	FR_FUSION_AGE,
	FR_FUSION_EXTRA
};

/* per-item features, stored n_items x FR_FUSION_ITEM_FEATURES */
#define FR_FUSION_ITEM_FEATURES 2

/*
 * out[n_items x 2]: log(1 + the item's entries in the users x items matrix
 * indices[nnz]) and, with times (one per entry; NULL for none),
 * log(1 + days from its first time to max_time), 0 without a finite time.
 */
extern void fr_fusion_item_features(int32_t n_items, int64_t nnz, const int32_t *indices,
									const double *times, double max_time, float *out);

/*
 * out[indptr[n_users]]: each entry of a user's history weighted
 * 0.5^(age / half-life), the age counted from that user's latest finite
 * time; entries (or users) without a finite time weigh 1.
 */
extern void fr_history_decay(int32_t n_users, const int64_t *indptr, const double *times,
							 double half_life_days, float *out);

/* the inputs of a net over n_signals, with or without history terms */
extern int	fr_fusion_inputs(int n_signals, bool history_terms);

/*
 * x[fr_fusion_inputs(n_signals, history_terms)]: the input row of item h.
 * norm[s] may be NULL (the signal is absent: 0), item_feat NULL (no
 * features: 0).
 */
extern void fr_fusion_row(int n_signals, bool history_terms, const float *const *norm,
						  int n_hist, const float *item_feat, int32_t h, float *x);

/*
 * A net without hidden layers (logistic regression) over every item: a few
 * multiply-adds per item, the standardisation folded into the weights.
 */
extern void fr_fusion_linear_scores(const FrFusionNet *net, int n_signals, int32_t n_items,
									const float *const *norm, const float *item_feat,
									int n_hist, float *out);

/*
 * A net without hidden layers: the coefficient on signal s's normalised
 * score for a user with n_hist items (its history term included), on the
 * unstandardised scale.
 */
extern float fr_fusion_linear_weight(const FrFusionNet *net, int n_signals, int s, int n_hist);

/*
 * Any net over a pool of items: the pool_size items with the best
 * normalised score in any signal, plus exact[n_exact] (items to score
 * exactly; out-of-range ones ignored).  On entry out holds a fallback
 * score of every item (the weighted fusion); the pool gets the net's
 * scores, every other item a score below the pool's lowest that keeps the
 * fallback order.
 */
extern void fr_fusion_pool_scores(const FrFusionNet *net, int n_signals, int32_t n_items,
								  const float *const *norm, const float *item_feat,
								  int n_hist, const int32_t *exact, int n_exact,
								  int pool_size, float *out);

/*
 * One item's score split by signal: the signals switched on one at a time,
 * in signal order, from its row with every signal at its neutral 0.
 * *base is the score with all of them neutral, contrib[s] (n_signals of
 * them) what switching on s (with its history term) adds; base + sum of contrib
 * = the score.  Without hidden layers contrib[s] is coefficient x score
 * whatever the order; with them, the order's marginal effect.
 */
extern void fr_fusion_contributions(const FrFusionNet *net, int n_signals, const float *const *norm,
									const float *item_feat, int n_hist, int32_t h,
									float *base, float *contrib);

/*
 * One user's candidates for learned fusion's examples: the union of each
 * present signal's (norm[s] not NULL) top m items, skip[] excluded, in
 * signal order then rank order, written to cand (room for n_items).
 * Returns how many.
 */
extern int32_t fr_fusion_candidates(int n_signals, const float *const *norm, int32_t n_items,
									const uint8_t *skip, int m, int32_t *cand);

/* groups [g0, g1) of set as a set of their own (its group offsets allocated) */
extern FrFusionSet fr_fusion_set_slice(const FrFusionSet *set, int32_t g0, int32_t g1);

#endif							/* FR_FUSION_FEATURES_H */
