/*
 * batch_kernel.c — fr_batch_topk (the GEMM fused with each user's top k)
 * against the bare sgemm of the same tiles (FR_BATCH_BLOCK_USERS x
 * FR_BATCH_TILE_ITEMS), in one process, runs alternated and the best of each
 * kept: what the top k costs on top of the multiplication, without the
 * server and with the machine's noise shared.  With "sgemm" after RUNS, the
 * bare sgemm only: test/bench/batch.sh's reference through the OpenBLAS the
 * extension links, at the full number of users.
 *
 *   cc $(pg_config --cflags) -Isrc -o /tmp/batch_kernel test/bench/batch_kernel.c test/unit/kernel_stub.c \
 *      src/batch.c src/topk.c src/linalg.c src/rng.c -lopenblas -llapacke -lm
 *   /tmp/batch_kernel USERS ITEMS FACTORS K RUNS [sgemm]
 *
 * Prints "kernel SECONDS CPU_SECONDS" (unless sgemm) and "sgemm SECONDS
 * CPU_SECONDS", wall and this process's CPU time of the best run: on a
 * loaded machine the CPU time is the cost, the wall time what others left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "kernel.h"
#include "linalg.h"

static double
seconds(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int			users = argc > 1 ? atoi(argv[1]) : 20000;
	int			items = argc > 2 ? atoi(argv[2]) : 100000;
	int			factors = argc > 3 ? atoi(argv[3]) : 64;
	int			k = argc > 4 ? atoi(argv[4]) : 10;
	int			runs = argc > 5 ? atoi(argv[5]) : 3;
	int			sgemm_only = argc > 6 && strcmp(argv[6], "sgemm") == 0;
	float	   *uf = fr_alloc(sizeof(float) * (size_t) users * factors);
	float	   *itf = fr_alloc(sizeof(float) * (size_t) items * factors);
	int32_t    *order = fr_alloc(sizeof(int32_t) * users);
	int32_t    *out_items = fr_alloc(sizeof(int32_t) * (size_t) users * k);
	float	   *out_scores = fr_alloc(sizeof(float) * (size_t) users * k);
	int32_t    *counts = fr_alloc(sizeof(int32_t) * users);
	float	   *tile = fr_alloc(sizeof(float) * FR_BATCH_BLOCK_USERS * FR_BATCH_TILE_ITEMS);
	FrBatchFactors f = {0};
	FrRng		rng;
	double		best_kernel = 1e30,
				best_sgemm = 1e30,
				cpu_kernel = 0,
				cpu_sgemm = 0;

	fr_rng_seed(&rng, 1);
	for (size_t i = 0; i < (size_t) users * factors; i++)
		uf[i] = (float) fr_rng_normal(&rng);
	for (size_t i = 0; i < (size_t) items * factors; i++)
		itf[i] = (float) fr_rng_normal(&rng);
	for (int i = 0; i < users; i++)
		order[i] = i;
	f.k = factors;
	f.user_factors = uf;
	f.n_items = items;
	f.item_factors = itf;

	for (int r = 0; r < runs; r++)
	{
		double		t = seconds(CLOCK_MONOTONIC),
					c = seconds(CLOCK_PROCESS_CPUTIME_ID);

		if (!sgemm_only)
		{
			fr_batch_topk(&f, order, users, k, out_items, out_scores, counts);
			t = seconds(CLOCK_MONOTONIC) - t;
			c = seconds(CLOCK_PROCESS_CPUTIME_ID) - c;
			if (t < best_kernel)
			{
				best_kernel = t;
				cpu_kernel = c;
			}
		}

		t = seconds(CLOCK_MONOTONIC);
		c = seconds(CLOCK_PROCESS_CPUTIME_ID);
		for (int s = 0; s < users; s += FR_BATCH_BLOCK_USERS)
			for (int j = 0; j < items; j += FR_BATCH_TILE_ITEMS)
			{
				int			m = users - s < FR_BATCH_BLOCK_USERS ? users - s : FR_BATCH_BLOCK_USERS;
				int			n = items - j < FR_BATCH_TILE_ITEMS ? items - j : FR_BATCH_TILE_ITEMS;

				fr_sgemm(false, true, m, n, factors, 1.0f, uf + (size_t) s * factors, factors,
						 itf + (size_t) j * factors, factors, 0.0f, tile, n);
			}
		t = seconds(CLOCK_MONOTONIC) - t;
		c = seconds(CLOCK_PROCESS_CPUTIME_ID) - c;
		if (t < best_sgemm)
		{
			best_sgemm = t;
			cpu_sgemm = c;
		}
	}
	if (!sgemm_only)
		printf("kernel %.3f %.3f\n", best_kernel, cpu_kernel);
	printf("sgemm %.3f %.3f\n", best_sgemm, cpu_sgemm);
	return 0;
}
