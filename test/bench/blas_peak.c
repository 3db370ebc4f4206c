/*
 * blas_peak.c — the machine's own yardsticks for the benchmarks: OpenBLAS
 * sgemm GFLOP/s and memory copy bandwidth, measured in the same run as the
 * figures they are compared with.
 *
 *   cc -O2 -o blas_peak blas_peak.c -lopenblas && ./blas_peak [threads]
 * Prints "sgemm_gflops<TAB>x" and "copy_gbps<TAB>x".
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void openblas_set_num_threads(int num_threads);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int			threads = argc > 1 ? atoi(argv[1]) : 1;
	int			n = 2048;
	size_t		bytes = (size_t) 512 * 1024 * 1024;
	float	   *a = malloc(sizeof(float) * n * n);
	float	   *b = malloc(sizeof(float) * n * n);
	float	   *c = malloc(sizeof(float) * n * n);
	char	   *src = malloc(bytes);
	char	   *dst = malloc(bytes);
	double		best = 1e30,
				t;

	openblas_set_num_threads(threads);
	for (long i = 0; i < (long) n * n; i++)
	{
		a[i] = (float) (i % 7) * 0.1f;
		b[i] = (float) (i % 5) * 0.1f;
	}
	for (int rep = 0; rep < 3; rep++)
	{
		t = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("sgemm_gflops\t%.1f\n", 2.0 * n * n * (double) n / best / 1e9);

	memset(src, 1, bytes);
	memset(dst, 0, bytes);
	best = 1e30;
	for (int rep = 0; rep < 3; rep++)
	{
		t = now();
		memcpy(dst, src, bytes);
		t = now() - t;
		if (t < best)
			best = t;
	}
	/* a copy reads and writes every byte */
	printf("copy_gbps\t%.2f\n", 2.0 * bytes / best / 1e9);
	return c[1] < 0 && dst[7] == 3;
}
