/*
 * knn_model.c — the "itemknn" algorithm: parameters, training, serving.
 *
 * Artifacts: the neighbour graph as CSR, "knn_indptr" (items + 1 offsets),
 * "knn_indices" and "knn_similarity" (one entry per kept neighbour).
 */
#include "postgres.h"

#include <math.h>

#include "knn.h"
#include "model.h"

typedef struct KnnParams
{
	int32		neighbors;
	int32		similarity;		/* index into knn_similarities */
	double		shrinkage;
	double		bm25_k1;
	double		bm25_b;
} KnnParams;

/* order matches FrKnnSimilarity */
static const char *const knn_similarities[] = {"cosine", "bm25", NULL};

static const FrParamSpec knn_specs[] = {
	{"neighbors", FR_PARAM_INT, offsetof(KnnParams, neighbors), 1, 100000},
	{"similarity", FR_PARAM_CHOICE, offsetof(KnnParams, similarity), 0, 0, knn_similarities},
	{"shrinkage", FR_PARAM_REAL, offsetof(KnnParams, shrinkage), 0, 1e9},
	{"bm25_k1", FR_PARAM_REAL, offsetof(KnnParams, bm25_k1), 0, 1e6},
	{"bm25_b", FR_PARAM_REAL, offsetof(KnnParams, bm25_b), 0, 1},
	{NULL}
};

static const KnnParams knn_defaults = {
	.neighbors = 100,
	.similarity = FR_KNN_COSINE,
	.shrinkage = 0.0,
	.bm25_k1 = 1.2,
	.bm25_b = 0.75,
};

static void
knn_options(const KnnParams *p, FrKnnOptions *opt)
{
	opt->neighbors = p->neighbors;
	opt->similarity = (FrKnnSimilarity) p->similarity;
	opt->shrinkage = p->shrinkage;
	opt->bm25_k1 = p->bm25_k1;
	opt->bm25_b = p->bm25_b;
}

static size_t
knn_estimate_memory(const FrTrainData *data, const void *params)
{
	FrKnnOptions opt;

	knn_options(params, &opt);
	return fr_knn_memory(data->n_items, data->ui.nnz, &opt);
}

static void
knn_train(FrTrainJob *job)
{
	const FrTrainData *data = job->data;
	FrKnnOptions opt;
	FrCsr		sim;

	knn_options(job->params, &opt);
	fr_knn_fit(&data->ui, &data->iu, &opt, &sim);

	fr_artifact_put(job->model_id, "knn_indptr", FR_I64, (int64) sim.nrows + 1, 1, sim.indptr);
	fr_artifact_put(job->model_id, "knn_indices", FR_I32, sim.nnz, 1, sim.indices);
	fr_artifact_put(job->model_id, "knn_similarity", FR_F32, sim.nnz, 1, sim.values);
	fr_info_add_int(job, "neighbour_pairs", sim.nnz);
	fr_info_add_real(job, "mean_neighbours",
					 sim.nrows > 0 ? (double) sim.nnz / sim.nrows : 0.0);
}

static void *
knn_load(FrModel *model)
{
	FrCsr	   *sim = palloc0(sizeof(FrCsr));
	int64		n_ptr,
				n_idx,
				n_val;

	sim->indptr = fr_model_artifact(model, "knn_indptr", FR_I64, &n_ptr, NULL, false);
	sim->indices = fr_model_artifact(model, "knn_indices", FR_I32, &n_idx, NULL, false);
	sim->values = fr_model_artifact(model, "knn_similarity", FR_F32, &n_val, NULL, false);
	fr_check_csr(model, "knn", sim->indptr, n_ptr, model->n_items, sim->indices, n_idx,
				 model->n_items);
	fr_check_shape(model, "knn_similarity", n_val, 1, n_idx, 1);
	fr_check_finite(model, "knn_similarity", sim->values, n_val);
	sim->nrows = model->n_items;
	sim->ncols = model->n_items;
	sim->nnz = n_idx;
	return sim;
}

static void
knn_score_items(const FrModel *model, const int32 *items,
				const float *weights, int n, float *scores)
{
	memset(scores, 0, sizeof(float) * model->n_items);
	fr_knn_score(model->state, items, weights, n, scores);
}

/*
 * Each training item counts once, whatever its weight: the weights shaped
 * the similarities already, and a repeated purchase should not drown the
 * rest of the history.
 */
static void
knn_score_user(const FrModel *model, int32 user, float *scores)
{
	int64		lo = model->seen_indptr[user];
	int64		hi = model->seen_indptr[user + 1];

	knn_score_items(model, model->seen_indices + lo, NULL, (int) (hi - lo), scores);
}

/* the neighbour list only: items that never co-occurred are not "similar" */
static void
knn_score_similar(const FrModel *model, int32 item, float *scores)
{
	const FrCsr *sim = model->state;

	for (int32 i = 0; i < model->n_items; i++)
		scores[i] = NAN;
	for (int64 p = sim->indptr[item]; p < sim->indptr[item + 1]; p++)
		scores[sim->indices[p]] = sim->values[p];
}

const FrAlgorithm fr_itemknn_algorithm = {
	.name = "itemknn",
	.summary = "item-item nearest neighbours (cosine or BM25 co-occurrence), neighbors per item",
	.param_specs = knn_specs,
	.params_size = sizeof(KnnParams),
	.param_defaults = &knn_defaults,
	.estimate_memory = knn_estimate_memory,
	.train = knn_train,
	.load = knn_load,
	.score_user = knn_score_user,
	.score_items = knn_score_items,
	.score_similar = knn_score_similar,
};
