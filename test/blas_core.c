/*
 * blas_core.c — prints the OPENBLAS_CORETYPE this machine needs, or nothing
 * when OpenBLAS already picks a kernel that uses the CPU's AVX2/FMA: the
 * server's own check (fr_blas_core in src/linalg.c), for test/lib.sh to set
 * before it starts a cluster.
 *
 *   cc -Isrc -o blas_core test/blas_core.c src/linalg.c test/unit/kernel_stub.c -lopenblas -llapacke
 */
#include <stdio.h>

#include "linalg.h"

int
main(void)
{
	FrBlasCore blas;

	fr_blas_core(&blas);
	if (blas.better)
		printf("%s\n", blas.better);
	return 0;
}
