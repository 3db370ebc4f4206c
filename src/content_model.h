/*
 * content_model.h — serving over sparse unit-length item vectors, shared by
 * the content algorithms (tfidf, attributes: content_model.c) and the
 * feature-store algorithm (features: features_model.c).  A model's state
 * must be an FrContentState for these callbacks.
 */
#ifndef FR_CONTENT_MODEL_H
#define FR_CONTENT_MODEL_H

#include "model.h"

typedef struct FrContentState
{
	FrCsr		rows;			/* items x features, unit rows */
	FrCsr		postings;		/* features x items: the inverted index */
	int32		n_features;
} FrContentState;

/* the inverted index of st->rows (ncols set), built or, attached, mapped */
extern void fr_content_postings(FrModel *model, FrContentState *st);
extern void fr_content_score_items(const FrModel *model, const int32 *items,
								   const float *weights, int n, float *scores);
extern void fr_content_score_user(const FrModel *model, int32 user, float *scores);
extern void fr_content_score_similar(const FrModel *model, int32 item, float *scores);
extern float fr_content_predict(const FrModel *model, int32 user, int32 item);

#endif							/* FR_CONTENT_MODEL_H */
