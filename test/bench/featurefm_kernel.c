/*
 * featurefm_kernel.c — featurefm's training kernel alone (no server) at 1.1M
 * interactions, 64 factors: one thread, two threads on two cores, and two
 * threads run on one core (the same model: what the rounds cost without
 * parallelism).  The data are test/bench/featurefm_ml100k.sh's shape: 20,000
 * users, 5,000 items, Zipf-like item popularity, identities only.
 *
 *   cc -O2 -pthread -Isrc -o /tmp/featurefm_kernel test/bench/featurefm_kernel.c \
 *      test/unit/kernel_stub.c src/featurefm.c src/csr.c src/rng.c -lm && /tmp/featurefm_kernel [epochs]
 *
 * Prints one row per run: loss, threads, cores, epochs/s (wall), CPU seconds
 * of the process, and whether the model is bit for bit the reference's.
 * First, a control: the same arithmetic on two threads and on one, which
 * says how many cores the machine gave this process while it ran.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "featurefm.h"

#define USERS 20000
#define ITEMS 5000
#define DRAWS 1150000

static double
clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *
spin(void *arg)
{
	volatile double x = 0;

	for (long i = 0; i < 200000000; i++)
		x += i;
	return arg;
}

/* wall time of two spins one after the other over that of two spins on two threads */
static double
cores_given(void)
{
	pthread_t	t;
	double		w0 = clock_s(CLOCK_MONOTONIC),
				one,
				two;

	spin(NULL);
	spin(NULL);
	one = clock_s(CLOCK_MONOTONIC) - w0;
	w0 = clock_s(CLOCK_MONOTONIC);
	pthread_create(&t, NULL, spin, NULL);
	spin(NULL);
	pthread_join(t, NULL);
	two = clock_s(CLOCK_MONOTONIC) - w0;
	return one / two;
}

static bool
same(const FrFmParams *a, const FrFmParams *b)
{
	return memcmp(a->user_emb, b->user_emb, sizeof(float) * a->n_user_features * a->factors) == 0 &&
		memcmp(a->item_emb, b->item_emb, sizeof(float) * a->n_item_features * a->factors) == 0 &&
		memcmp(a->item_bias, b->item_bias, sizeof(float) * a->n_item_features) == 0;
}

int
main(int argc, char **argv)
{
	int32_t		epochs = argc > 1 ? atoi(argv[1]) : 3;
	int32_t    *rows = malloc(sizeof(int32_t) * DRAWS),
			   *cols = malloc(sizeof(int32_t) * DRAWS);
	float	   *vals = malloc(sizeof(float) * DRAWS);
	FrCsr		ui,
				uf,
				itf;
	FrRng		rng;
	double		load[3] = {0};
	/* threads, cores: the reference first, then the same thread count on another number of cores */
	static const int32_t runs[][2] = {{1, 1}, {2, 2}, {2, 1}};

	fr_rng_seed(&rng, 1);
	for (int64_t n = 0; n < DRAWS; n++)
	{
		rows[n] = (int32_t) fr_rng_below(&rng, USERS);
		cols[n] = (int32_t) floor(ITEMS * pow(fr_rng_uniform(&rng), 2.5));
		vals[n] = 1.0f;
	}
	fr_csr_from_coo(&ui, USERS, ITEMS, DRAWS, rows, cols, vals, NULL, NULL);
	for (int32_t i = 0; i < USERS; i++)
		rows[i] = i;
	fr_csr_from_coo(&uf, USERS, USERS, USERS, rows, rows, vals, NULL, NULL);
	fr_csr_from_coo(&itf, ITEMS, ITEMS, ITEMS, rows, rows, vals, NULL, NULL);
	getloadavg(load, 3);
	printf("# %lld interactions, %d users, %d items, 64 factors, %d epochs; no BLAS (plain C); load %.2f\n",
		   (long long) ui.nnz, USERS, ITEMS, epochs, load[0]);
	printf("# control: pure arithmetic ran %.2fx as fast on 2 threads as on 1 (2.00: two free cores)\n",
		   cores_given());
	printf("%-5s %7s %5s %9s %8s %6s %s\n", "loss", "threads", "cores", "epochs/s", "cpu s", "loss", "model");
	for (int loss = FR_FM_WARP; loss >= FR_FM_BPR; loss--)
	{
		FrFmParams	first[2];

		for (int r = 0; r < 3; r++)
		{
			FrFmOptions opt = {.factors = 64, .epochs = epochs, .loss = loss, .learning_rate = 0.05,
				.max_sampled = 10, .seed = 42, .threads = runs[r][0], .max_running = runs[r][1]};
			FrFmParams	p;
			double		w0,
						c0,
						l;

			fr_fm_init(&p, &opt, USERS, ITEMS);
			w0 = clock_s(CLOCK_MONOTONIC);
			c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			l = fr_fm_fit(&opt, &ui, &uf, &itf, &p);
			printf("%-5s %7d %5d %9.3f %8.2f %6.3f %s\n", loss == FR_FM_WARP ? "warp" : "bpr",
				   runs[r][0], runs[r][1], epochs / (clock_s(CLOCK_MONOTONIC) - w0),
				   clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, l,
				   r == 0 ? "reference" : r == 1 ? "" : same(&p, &first[1]) ? "= 2 threads on 2 cores" : "DIFFERS");
			fflush(stdout);
			if (r < 2)
				first[r] = p;
		}
	}
	getloadavg(load, 3);
	printf("# load %.2f; control again: %.2fx\n", load[0], cores_given());
	return 0;
}
