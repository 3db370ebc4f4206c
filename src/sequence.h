/*
 * sequence.h — item-to-next-item transitions learned from sessions, for
 * "next item in this session" (sequence_model.c, the "sequence" algorithm).
 */
#ifndef FR_SEQUENCE_H
#define FR_SEQUENCE_H

#include "csr.h"

typedef struct FrSequenceOptions
{
	double		gap_seconds;	/* a longer pause between two events starts a new session */
	int			window;			/* item p counts towards the next `window` items of its session */
	int			max_neighbors;	/* strongest successors kept per item */
	int			recent;			/* last items kept per user, for scoring known users */
} FrSequenceOptions;

/*
 * From each user's interactions in time order (ui with times[] per entry,
 * ties by item index), count transitions i -> j for j up to `window` steps
 * after i in the same session, weighted 1 / distance; keep the
 * max_neighbors strongest per item and scale each row to sum 1 (transition
 * probabilities).  Also returns each user's last `recent` items, oldest
 * first, as a CSR without values (recent_indptr[n_users + 1]).
 */
extern void fr_sequence_fit(const FrSequenceOptions *opt, const FrCsr *ui, const double *times,
							FrCsr *trans, int64_t **recent_indptr, int32_t **recent_indices);

/*
 * scores[n_items] = sum_r weights[r] * decay^(n - 1 - r) * trans[items[r], :]:
 * items are in time order, the last the most recent, whose successors count
 * most.  weights may be NULL (all 1).
 */
extern void fr_sequence_score(const FrCsr *trans, const int32_t *items, const float *weights,
							  int n, double decay, float *scores);

#endif							/* FR_SEQUENCE_H */
