/*
 * test_artifact_check.c — the checks a model's arrays pass at load: each
 * accepts what training writes (empty arrays too) and rejects each kind of
 * damage at the right position, saying where in the detail.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "artifact_check.h"
#include "tap.h"

static int
says(const FrArtifactFault *fault, const char *text)
{
	return strstr(fault->detail, text) != NULL;
}

static void
test_offsets(void)
{
	FrArtifactFault f;
	int64_t		good[] = {0, 2, 2, 5};
	int64_t		empty[] = {0};
	int64_t		late_start[] = {1, 2, 2, 5};
	int64_t		decreasing[] = {0, 100000000, 2, 5};
	int64_t		negative[] = {0, -3, 2, 5};
	int64_t		short_end[] = {0, 2, 2, 4};

	ok(fr_offsets_valid(good, 3, 5, &f), "offsets: 3 rows into 5 entries, one empty row");
	ok(fr_offsets_valid(empty, 0, 0, &f), "offsets: no rows");
	ok(!fr_offsets_valid(late_start, 3, 5, &f) && says(&f, "first offset is 1"),
	   "offsets: a first offset other than 0 (%s)", f.detail);
	ok(!fr_offsets_valid(decreasing, 3, 5, &f) && says(&f, "Row 1 ends at offset 2, before it starts at 100000000"),
	   "offsets: a row that ends before it starts (%s)", f.detail);
	ok(!fr_offsets_valid(negative, 3, 5, &f) && says(&f, "Row 0 ends at offset -3"),
	   "offsets: a negative offset (%s)", f.detail);
	ok(!fr_offsets_valid(short_end, 3, 5, &f) && says(&f, "last offset is 4, but there are 5 entries"),
	   "offsets: a last offset short of the entries (%s)", f.detail);
	ok(!fr_offsets_valid(good, 3, 6, &f), "offsets: more entries than the last offset");
}

static void
test_indices(void)
{
	FrArtifactFault f;
	int32_t		good[] = {0, 3, 1, 2};
	int32_t		maps[] = {-1, 3, -1, 0};
	int32_t		high[] = {0, 3, 4, 2};
	int32_t		low[] = {0, -1, 1, 2};
	int32_t		huge[] = {100000000};
	int32_t		ascending[] = {0, 1, 3};
	int32_t		repeated[] = {0, 1, 1};
	int32_t		descending[] = {0, 3, 2};

	ok(fr_indices_valid(good, 4, 0, 4, false, &f), "indices: all below the bound, any order");
	ok(fr_indices_valid(NULL, 0, 0, 0, false, &f), "indices: none, against no items");
	ok(fr_indices_valid(maps, 4, -1, 4, false, &f), "indices: -1 allowed where it means absent");
	ok(!fr_indices_valid(maps, 4, 0, 4, false, &f) && says(&f, "Entry 0 is -1, outside 0 .. 3"),
	   "indices: -1 refused where it is not allowed (%s)", f.detail);
	ok(!fr_indices_valid(high, 4, 0, 4, false, &f) && says(&f, "Entry 2 is 4, outside 0 .. 3"),
	   "indices: the bound itself is out of range (%s)", f.detail);
	ok(!fr_indices_valid(low, 4, 0, 4, false, &f) && says(&f, "Entry 1 is -1"),
	   "indices: a negative index (%s)", f.detail);
	ok(!fr_indices_valid(huge, 1, 0, 6, false, &f) && says(&f, "Entry 0 is 100000000"),
	   "indices: an index far out of range (%s)", f.detail);
	ok(!fr_indices_valid(good, 1, 0, 0, false, &f), "indices: any index of an empty range is out");
	ok(fr_indices_valid(ascending, 3, 0, 4, true, &f), "indices: strictly ascending");
	ok(!fr_indices_valid(repeated, 3, 0, 4, true, &f) && says(&f, "Entry 2 is 1 after 1"),
	   "indices: a repeat is not strictly ascending (%s)", f.detail);
	ok(!fr_indices_valid(descending, 3, 0, 4, true, &f) && says(&f, "Entry 2 is 2 after 3"),
	   "indices: out of order (%s)", f.detail);
	ok(fr_indices_valid(descending, 3, 0, 4, false, &f), "indices: order does not matter unless asked");
}

static void
test_ids(void)
{
	FrArtifactFault f;
	int64_t		good[] = {-5, 1, 2, 9000000000};
	int64_t		repeated[] = {1, 2, 2, 3};
	int64_t		swapped[] = {5, 2, 3, 4};

	ok(fr_ids_ascending(good, 4, &f), "ids: strictly ascending, negative and beyond int32");
	ok(fr_ids_ascending(NULL, 0, &f) && fr_ids_ascending(good, 1, &f), "ids: none and one");
	ok(!fr_ids_ascending(repeated, 4, &f) && says(&f, "Id 2 at position 2 follows 2"),
	   "ids: a duplicate id (%s)", f.detail);
	ok(!fr_ids_ascending(swapped, 4, &f) && says(&f, "Id 2 at position 1 follows 5"),
	   "ids: out of order (%s)", f.detail);
}

static void
test_finite(void)
{
	FrArtifactFault f;
	float		good[] = {0.0f, -1.5f, 3e38f, 1e-40f};
	float		nan_at_2[] = {0.0f, 1.0f, NAN, 2.0f};
	float		inf_at_0[] = {INFINITY, 1.0f};
	double		dgood[] = {0.0, -1e300, 5e-324};
	double		dneg_inf[] = {1.0, -INFINITY};

	ok(fr_floats_finite(good, 4, &f), "floats: finite, large and subnormal");
	ok(fr_floats_finite(NULL, 0, &f), "floats: none");
	ok(!fr_floats_finite(nan_at_2, 4, &f) && says(&f, "Entry 2 is NaN"), "floats: NaN (%s)", f.detail);
	ok(!fr_floats_finite(inf_at_0, 2, &f) && says(&f, "Entry 0 is infinity"),
	   "floats: infinity (%s)", f.detail);
	ok(fr_doubles_finite(dgood, 3, &f), "doubles: finite");
	ok(!fr_doubles_finite(dneg_inf, 2, &f) && says(&f, "Entry 1 is -infinity"),
	   "doubles: -infinity (%s)", f.detail);
}

static void
test_settings(void)
{
	ok(fr_setting_valid(0.5, 0, 1, false), "setting: inside its range");
	ok(fr_setting_valid(0, 0, 1, false) && fr_setting_valid(1, 0, 1, false), "setting: the bounds are inside");
	ok(!fr_setting_valid(1.5, 0, 1, false) && !fr_setting_valid(-0.1, 0, 1, false), "setting: outside");
	ok(!fr_setting_valid(NAN, 0, 1, false), "setting: NaN is outside every range");
	ok(fr_setting_valid(2, 0, 2, true) && !fr_setting_valid(1.5, 0, 2, true), "setting: whole numbers");
	ok(!fr_setting_valid(1e300, 0, 2147483647, true), "setting: a whole number beyond int32 before a cast");
}

/* longer than the blocks the scans vectorise: a fault in a block, at its edges, in the tail */
#define LONG_N (3 * 4096 + 100)

static void
test_long_arrays(void)
{
	static float values[LONG_N];
	static int32_t indices[LONG_N];
	const int64_t at[] = {0, 4095, 4096, 2 * 4096 + 17, 3 * 4096, LONG_N - 1};
	FrArtifactFault f;
	char		want[64];

	for (int64_t i = 0; i < LONG_N; i++)
	{
		values[i] = (float) i * 0.5f - 100.0f;
		indices[i] = (int32_t) (i % 1000);
	}
	ok(fr_floats_finite(values, LONG_N, &f), "long floats: all finite");
	ok(fr_indices_valid(indices, LONG_N, 0, 1000, false, &f), "long indices: all in range");
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++)
	{
		int64_t		p = at[k];

		values[p] = k % 2 ? -INFINITY : NAN;
		snprintf(want, sizeof(want), "Entry %lld is %s.", (long long) p, k % 2 ? "-infinity" : "NaN");
		ok(!fr_floats_finite(values, LONG_N, &f) && strcmp(f.detail, want) == 0,
		   "long floats: the fault at %lld found (%s)", (long long) p, f.detail);
		values[p] = 1.0f;

		indices[p] = k % 2 ? -1 : 1000;
		snprintf(want, sizeof(want), "Entry %lld is %d,", (long long) p, indices[p]);
		ok(!fr_indices_valid(indices, LONG_N, 0, 1000, false, &f) && says(&f, want),
		   "long indices: the fault at %lld found (%s)", (long long) p, f.detail);
		indices[p] = 0;
	}
	/* two faults: the first is reported */
	values[5000] = NAN;
	values[9000] = NAN;
	ok(!fr_floats_finite(values, LONG_N, &f) && says(&f, "Entry 5000 "), "long floats: the first of two faults");
}

static void
test_permutation(void)
{
	FrArtifactFault f;
	int32_t		perm[5] = {3, 0, 4, 1, 2};
	int32_t		repeat[5] = {3, 0, 3, 1, 2};
	int32_t		outside[5] = {3, 0, 5, 1, 2};
	int32_t		negative[5] = {3, 0, -1, 1, 2};
	uint8_t		seen[5] = {0};

	ok(fr_indices_permutation(perm, 5, seen, &f), "permutation: each index once");
	memset(seen, 0, sizeof(seen));
	ok(!fr_indices_permutation(repeat, 5, seen, &f) && says(&f, "Entry 2 repeats 3"),
	   "permutation: a repeat is found (%s)", f.detail);
	memset(seen, 0, sizeof(seen));
	ok(!fr_indices_permutation(outside, 5, seen, &f) && says(&f, "outside 0 .. 4"),
	   "permutation: past the end is found (%s)", f.detail);
	memset(seen, 0, sizeof(seen));
	ok(!fr_indices_permutation(negative, 5, seen, &f) && says(&f, "Entry 2 is -1"),
	   "permutation: a negative index is found (%s)", f.detail);
	ok(fr_indices_permutation(NULL, 0, seen, &f), "permutation: empty");
}

int
main(void)
{
	test_permutation();
	test_offsets();
	test_indices();
	test_ids();
	test_finite();
	test_settings();
	test_long_arrays();
	return done_testing();
}
