/*
 * simd.h — the one place that decides how kernels use the CPU's vector
 * units (als.c, mf.c, linalg.c, ivf.c, topk.c), as pgvector's halfvec.h
 * decides USE_TARGET_CLONES once.
 *
 * The server is built for baseline x86-64 (SSE2), while most machines that
 * run it have AVX2 and FMA.  A hot loop marked FR_SIMD is compiled twice, for
 * x86-64-v3 and for the baseline, and the dynamic loader picks the copy the
 * CPU can run (GCC/clang target_clones, an ifunc), so one build is fast on
 * new CPUs and still runs on old ones.  The loops are written on 8-lane
 * vector types, which map onto one AVX register in the v3 copy and two SSE
 * registers otherwise; their partial sums are combined in a fixed order, so
 * both copies give the same results without -ffast-math.
 *
 * Plain C; no PostgreSQL.
 */
#ifndef FR_SIMD_H
#define FR_SIMD_H

#include <stdbool.h>

/* -DFR_NO_SIMD_CLONES builds the baseline copy only, to test it */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && !defined(FR_NO_SIMD_CLONES)
#if __has_attribute(target_clones)
#define FR_SIMD __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef FR_SIMD
#define FR_SIMD
#endif

typedef float v8sf __attribute__((vector_size(32)));

/*
 * Unaligned loads and stores as plain expressions, not functions returning
 * a vector (which draws ABI diagnostics on non-AVX builds).
 */
typedef float v8sf_u __attribute__((vector_size(32), aligned(4), may_alias));

#define v8_load(p) (*(const v8sf_u *) (p))
#define v8_store(p, v) (*(v8sf_u *) (p) = (v))

/* the sum of the lanes in a fixed order; a macro: clang refuses a vector argument in the baseline copy */
#define V8_SUM(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

/* what comparing two v8sf gives: each lane -1 (true) or 0 */
typedef int v8si __attribute__((vector_size(32)));

/* whether any lane of a comparison is true; a macro, as V8_SUM */
#define V8_ANY(m) ((((m)[0] | (m)[4]) | ((m)[1] | (m)[5])) | (((m)[2] | (m)[6]) | ((m)[3] | (m)[7])))

/* lanes of a and b picked by index (0-7 from a, 8-15 from b), as each compiler spells it */
#if defined(__clang__)
#define V8_SHUFFLE(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define V8_SHUFFLE(a, b, ...) __builtin_shuffle((a), (b), (v8si) {__VA_ARGS__})
#endif

/* what the CPU supports, for the OpenBLAS kernel check (fr_blas_core) */
typedef struct FrCpuFeatures
{
	bool		avx2;
	bool		fma;
	bool		avx512f;
} FrCpuFeatures;

static inline FrCpuFeatures
fr_cpu_features(void)
{
	FrCpuFeatures f = {false, false, false};

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	__builtin_cpu_init();
	f.avx2 = __builtin_cpu_supports("avx2");
	f.fma = __builtin_cpu_supports("fma");
	f.avx512f = __builtin_cpu_supports("avx512f");
#endif
	return f;
}

#endif							/* FR_SIMD_H */
