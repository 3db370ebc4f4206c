/*
 * test_ease.c — EASE kernel against B computed independently with numpy:
 *   G = X^T X + 2 I; P = inv(G); B = -P / diag(P); B[diag] = 0
 * for the 6 x 5 binary matrix below, and for its 3 most popular items.
 */
#include <stdlib.h>
#include <string.h>

#include "ease.h"
#include "tap.h"

static const float X[6][5] = {
	{1, 1, 0, 0, 1},
	{0, 1, 1, 0, 0},
	{1, 0, 1, 1, 0},
	{1, 1, 1, 0, 0},
	{0, 0, 0, 1, 1},
	{0, 1, 0, 1, 0},
};

static const double B_ALL[5][5] = {
	{0.000000000, 0.235294118, 0.314606742, 0.075067024, 0.176100629},
	{0.187500000, 0.000000000, 0.235955056, 0.056300268, 0.132075472},
	{0.312500000, 0.294117647, 0.000000000, 0.147453083, -0.157232704},
	{0.062500000, 0.058823529, 0.123595506, 0.000000000, 0.169811321},
	{0.187500000, 0.176470588, -0.168539326, 0.217158177, 0.000000000},
};

/* items 0, 1, 2: item 1 has 4 users, items 0, 2, 3 tie at 3 and the lower index wins */
static const double B_TOP3[3][3] = {
	{0.000000000, 0.285714286, 0.307692308},
	{0.230769231, 0.000000000, 0.230769231},
	{0.307692308, 0.285714286, 0.000000000},
};

static void
csr_free(FrCsr *m)
{
	fr_free(m->indptr);
	fr_free(m->indices);
	fr_free(m->values);
}

static void
build(FrCsr *ui, FrCsr *iu)
{
	int32_t		rows[30],
				cols[30];
	float		vals[30];
	int			n = 0;

	for (int u = 0; u < 6; u++)
		for (int i = 0; i < 5; i++)
			if (X[u][i] > 0)
			{
				rows[n] = u;
				cols[n] = i;
				/* weights other than 1 must not matter: EASE is binary */
				vals[n] = (n % 3 == 0) ? 2.5f : 1.0f;
				n++;
			}
	fr_csr_from_coo(ui, 6, 5, n, rows, cols, vals, NULL, NULL);
	fr_csr_transpose(ui, iu);
}

int
main(void)
{
	FrCsr		ui,
				iu;
	float	   *b = malloc(fr_ease_memory(5));
	int32_t		item_to_col[5],
				col_to_item[5];
	int32_t		n_keep;
	double		maxerr = 0;

	build(&ui, &iu);

	/* all items */
	n_keep = fr_ease_select_items(&iu, 0, item_to_col, col_to_item);
	ok(n_keep == 5, "max_items 0 keeps every item (%d)", n_keep);
	fr_ease_fit(&ui, 5, NULL, 2.0, b);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			maxerr = fmax(maxerr, fabs(b[i * 5 + j] - B_ALL[i][j]));
	ok(maxerr < 1e-5, "B matches numpy for all items (max error %g)", maxerr);
	ok(b[0] == 0 && b[6] == 0 && b[24] == 0, "diagonal is exactly zero");

	/* scoring a user is the sum of the rows of the items in the history */
	{
		int32_t		hist[] = {0, 4};
		float		w[] = {1.0f, 2.0f};
		float		scores[5] = {0};
		double		err = 0;

		fr_ease_score(b, 5, NULL, NULL, hist, w, 2, scores);
		for (int j = 0; j < 5; j++)
			err = fmax(err, fabs(scores[j] - (B_ALL[0][j] + 2.0 * B_ALL[4][j])));
		ok(err < 1e-5, "weighted fold-in is x B (max error %g)", err);
	}

	/* the three most popular items */
	n_keep = fr_ease_select_items(&iu, 3, item_to_col, col_to_item);
	ok(n_keep == 3, "max_items 3 keeps 3 items");
	ok(col_to_item[0] == 0 && col_to_item[1] == 1 && col_to_item[2] == 2,
	   "kept items 0, 1, 2 (got %d, %d, %d)", col_to_item[0], col_to_item[1], col_to_item[2]);
	ok(item_to_col[3] == -1 && item_to_col[4] == -1, "items 3 and 4 are left out");
	fr_ease_fit(&ui, n_keep, item_to_col, 2.0, b);
	maxerr = 0;
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			maxerr = fmax(maxerr, fabs(b[i * 3 + j] - B_TOP3[i][j]));
	ok(maxerr < 1e-5, "B matches numpy for the top 3 items (max error %g)", maxerr);
	{
		int32_t		hist[] = {2, 4};
		float		scores[5] = {0};

		fr_ease_score(b, n_keep, item_to_col, col_to_item, hist, NULL, 2, scores);
		ok(fabs(scores[0] - B_TOP3[2][0]) < 1e-6 && fabs(scores[1] - B_TOP3[2][1]) < 1e-6 &&
		   scores[2] == 0 && scores[3] == 0 && scores[4] == 0,
		   "left-out items neither contribute nor receive scores");
	}

	/* a larger random problem: B solves the EASE normal equations */
	{
		int			nu = 300,
					ni = 80;
		int32_t    *rows = malloc(sizeof(int32_t) * nu * ni);
		int32_t    *cols = malloc(sizeof(int32_t) * nu * ni);
		int			n = 0;
		FrCsr		ui2,
					iu2;
		float	   *b2 = malloc(fr_ease_memory(ni));
		double	   *g = calloc((size_t) ni * ni, sizeof(double));
		double		lambda = 10.0;
		double		err = 0;
		FrRng		rng;

		fr_rng_seed(&rng, 7);
		for (int u = 0; u < nu; u++)
			for (int i = 0; i < ni; i++)
				if (fr_rng_uniform(&rng) < 0.1 + 0.3 * (i % 5 == 0))
				{
					rows[n] = u;
					cols[n++] = i;
				}
		fr_csr_from_coo(&ui2, nu, ni, n, rows, cols, NULL, NULL, NULL);
		fr_csr_transpose(&ui2, &iu2);
		for (int u = 0; u < nu; u++)
			for (int64_t p = ui2.indptr[u]; p < ui2.indptr[u + 1]; p++)
				for (int64_t q = ui2.indptr[u]; q < ui2.indptr[u + 1]; q++)
					g[ui2.indices[p] * ni + ui2.indices[q]] += 1.0;
		fr_ease_fit(&ui2, ni, NULL, lambda, b2);

		/*
		 * Steck's constrained problem: (G + lambda I) B = G - diag(mu) with a
		 * zero diagonal; so off the diagonal ((G + lambda I) B)[i][j] = G[i][j].
		 */
		for (int i = 0; i < ni; i++)
			for (int j = 0; j < ni; j++)
			{
				double		s = 0;

				if (i == j)
					continue;
				for (int t = 0; t < ni; t++)
					s += (g[i * ni + t] + (i == t ? lambda : 0)) * b2[t * ni + j];
				err = fmax(err, fabs(s - g[i * ni + j]) / (1.0 + fabs(g[i * ni + j])));
			}
		ok(err < 1e-3, "random 300 x 80: (G + lambda I) B = G off the diagonal (rel error %g)", err);
		free(rows);
		free(cols);
		free(b2);
		free(g);
		csr_free(&ui2);
		csr_free(&iu2);
	}

	free(b);
	csr_free(&ui);
	csr_free(&iu);
	return done_testing();
}
