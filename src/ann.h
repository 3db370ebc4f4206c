/*
 * ann.h — a model version's approximate top-k index (ann.c): built at
 * training or by build_ann(), stored as artifacts, loaded with the model,
 * searched by the serving functions (recommend.c).
 */
#ifndef FR_ANN_H
#define FR_ANN_H

#include "postgres.h"

#include "ivf.h"
#include "model.h"

typedef struct FrAnn
{
	FrIvf		ivf;
	int32		probes;			/* the build's calibrated default; 0 if built before calibration */
} FrAnn;

/* fashionrec.ann_probes: lists a query probes unless the call says; 0: the index's default */
extern int	fr_ann_probes;
/* fashionrec.ann_min_items: catalogs this large get an index at training */
extern int	fr_ann_min_items;

extern void fr_ann_init(void);

/* The version's index from its artifacts, checked (model.c, while loading). */
extern FrAnn *fr_ann_load(FrModel *model);

/*
 * The k best items for query q (the model's embedding dimension) by the
 * index, probing `probes` lists (0: the index's calibrated default), skipped
 * items passed over and probing on until k are found.
 * Returns how many were written.
 */
extern int	fr_ann_topk(const FrModel *model, const float *q, bool cosine, int probes,
						const uint8 *skip, int k, int32 *items, float *scores);

#endif							/* FR_ANN_H */
