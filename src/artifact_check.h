/*
 * artifact_check.h — checks a model's stored arrays pass before serving
 * indexes with them (artifact_check.c).  model.c turns a failed check into
 * the ERROR that names the model and the artifact.
 */
#ifndef FR_ARTIFACT_CHECK_H
#define FR_ARTIFACT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* What a failed check found, as a sentence for errdetail. */
typedef struct FrArtifactFault
{
	char		detail[200];
} FrArtifactFault;

/*
 * CSR offsets: indptr[n_rows + 1] starts at 0, never decreases and ends at
 * nnz, so every row's range lies inside its indices and values.
 */
extern bool fr_offsets_valid(const int64_t *indptr, int64_t n_rows, int64_t nnz,
							 FrArtifactFault *fault);

/*
 * Every value of indices[n] in lo .. bound - 1 (lo is -1 for maps where -1
 * means "absent"); with ascending, also strictly ascending.
 */
extern bool fr_indices_valid(const int32_t *indices, int64_t n, int32_t lo, int32_t bound,
							 bool ascending, FrArtifactFault *fault);

/*
 * indices[n] is a permutation of 0 .. n - 1 (an ANN index's item order:
 * every item in exactly one list); seen[n] is zeroed scratch.
 */
extern bool fr_indices_permutation(const int32_t *indices, int64_t n, uint8_t *seen,
								   FrArtifactFault *fault);

/* Strictly ascending ids[n]: the id maps that binary search reads. */
extern bool fr_ids_ascending(const int64_t *ids, int64_t n, FrArtifactFault *fault);

/* No NaN or infinity in values[n]. */
extern bool fr_floats_finite(const float *values, int64_t n, FrArtifactFault *fault);
extern bool fr_doubles_finite(const double *values, int64_t n, FrArtifactFault *fault);

/* One stored setting: finite, in lo .. hi, and a whole number when integral. */
extern bool fr_setting_valid(double value, double lo, double hi, bool integral);

#endif							/* FR_ARTIFACT_CHECK_H */
