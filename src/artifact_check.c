/*
 * artifact_check.c — the checks every model's arrays pass at load.
 *
 * Serving indexes with what a model stored: a "seen" list, a neighbour list
 * or a component map holding an index past the end makes recommend() write
 * outside its buffers, and a backend that crashes takes every session of the
 * server with it.  The bytes in fashionrec.artifact can be damaged (a disk,
 * a restore gone wrong) or edited by whoever can write the table, so loading
 * trusts nothing it has not checked here.
 *
 * The checks live in this one file, apart from the loaders, so that each
 * kind of array is checked the same way everywhere and the loaders stay a
 * list of "this array, these bounds".  They are plain C over plain arrays,
 * like the other kernels (kernel.h), and unit-tested without a server
 * (test/unit/test_artifact_check.c); model.c wraps each in the ERROR that
 * names the model, its version and the artifact (fr_check_csr() and the
 * rest, model.h).  Each is one pass over its array, a small fraction of
 * reading the array from the table: the load stays linear.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "artifact_check.h"

bool
fr_offsets_valid(const int64_t *indptr, int64_t n_rows, int64_t nnz, FrArtifactFault *fault)
{
	if (indptr[0] != 0)
	{
		snprintf(fault->detail, sizeof(fault->detail),
				 "The first offset is %lld, not 0.", (long long) indptr[0]);
		return false;
	}
	for (int64_t r = 0; r < n_rows; r++)
		if (indptr[r + 1] < indptr[r])
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Row %lld ends at offset %lld, before it starts at %lld.",
					 (long long) r, (long long) indptr[r + 1], (long long) indptr[r]);
			return false;
		}
	if (indptr[n_rows] != nnz)
	{
		snprintf(fault->detail, sizeof(fault->detail),
				 "The last offset is %lld, but there are %lld entries.",
				 (long long) indptr[n_rows], (long long) nnz);
		return false;
	}
	return true;
}

/*
 * The long arrays (factors, "seen" lists) are first scanned in blocks of a
 * constant length with no branch per entry, which -O2 vectorises; the
 * entry-by-entry loop that reports a fault starts at the first block that
 * fails, or at the tail.
 */
#define CHECK_BLOCK 4096

bool
fr_indices_valid(const int32_t *indices, int64_t n, int32_t lo, int32_t bound,
				 bool ascending, FrArtifactFault *fault)
{
	/* lo .. bound - 1 as one unsigned comparison */
	uint32_t	span = bound > lo ? (uint32_t) ((int64_t) bound - lo) : 0;
	int64_t		start = 0;

	for (; !ascending && start + CHECK_BLOCK <= n; start += CHECK_BLOCK)
	{
		uint32_t	out = 0;

		for (int p = 0; p < CHECK_BLOCK; p++)
			out |= (uint32_t) indices[start + p] - (uint32_t) lo >= span;
		if (out)
			break;
	}
	for (int64_t p = start; p < n; p++)
	{
		if (indices[p] < lo || indices[p] >= bound)
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Entry %lld is %d, outside %d .. %lld.",
					 (long long) p, indices[p], lo, (long long) bound - 1);
			return false;
		}
		if (ascending && p > 0 && indices[p] <= indices[p - 1])
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Entry %lld is %d after %d: the entries must be strictly ascending.",
					 (long long) p, indices[p], indices[p - 1]);
			return false;
		}
	}
	return true;
}

bool
fr_indices_permutation(const int32_t *indices, int64_t n, uint8_t *seen, FrArtifactFault *fault)
{
	for (int64_t i = 0; i < n; i++)
	{
		int32_t		v = indices[i];

		if (v < 0 || v >= n)
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Entry %lld is %d, outside 0 .. %lld.", (long long) i, v, (long long) n - 1);
			return false;
		}
		if (seen[v])
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Entry %lld repeats %d: every index must appear once.", (long long) i, v);
			return false;
		}
		seen[v] = 1;
	}
	return true;
}

bool
fr_ids_ascending(const int64_t *ids, int64_t n, FrArtifactFault *fault)
{
	for (int64_t p = 1; p < n; p++)
		if (ids[p] <= ids[p - 1])
		{
			snprintf(fault->detail, sizeof(fault->detail),
					 "Id %lld at position %lld follows %lld: ids must be strictly ascending.",
					 (long long) ids[p], (long long) p, (long long) ids[p - 1]);
			return false;
		}
	return true;
}

static bool
not_finite(double value, int64_t p, FrArtifactFault *fault)
{
	snprintf(fault->detail, sizeof(fault->detail), "Entry %lld is %s.",
			 (long long) p, isnan(value) ? "NaN" : value > 0 ? "infinity" : "-infinity");
	return false;
}

/* the sign bit is set when the exponent is all ones: NaN or infinity */
static inline uint32_t
exponent_full(float value)
{
	uint32_t	bits;

	memcpy(&bits, &value, sizeof(bits));
	return (bits & 0x7f800000u) + 0x00800000u;
}

bool
fr_floats_finite(const float *values, int64_t n, FrArtifactFault *fault)
{
	int64_t		start = 0;

	for (; start + CHECK_BLOCK <= n; start += CHECK_BLOCK)
	{
		uint32_t	any = 0;

		for (int p = 0; p < CHECK_BLOCK; p++)
			any |= exponent_full(values[start + p]);
		if (any & 0x80000000u)
			break;
	}
	for (int64_t p = start; p < n; p++)
		if (!isfinite(values[p]))
			return not_finite(values[p], p, fault);
	return true;
}

/* doubles are the few stored settings and Gram matrices: plainly */
bool
fr_doubles_finite(const double *values, int64_t n, FrArtifactFault *fault)
{
	for (int64_t p = 0; p < n; p++)
		if (!isfinite(values[p]))
			return not_finite(values[p], p, fault);
	return true;
}

bool
fr_setting_valid(double value, double lo, double hi, bool integral)
{
	/* NaN fails every comparison: written so that it fails this one */
	if (!(value >= lo && value <= hi))
		return false;
	return !integral || value == floor(value);
}
