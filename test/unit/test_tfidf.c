/*
 * test_tfidf.c — term tables, vocabulary choice (min_df, max_df,
 * max_features), the TF-IDF formulas against hand values, and the
 * vocabulary blob: build, look-up, and refusal of every kind of damage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "tfidf.h"
#include "tap.h"

static int32_t
intern(FrTermTable *t, const char *s)
{
	return fr_terms_intern(t, s, (int32_t) strlen(s));
}

/* a document: each listed term once (df + 1), with its count (tf) */
static void
add_doc(FrTermTable *t, const char *const *terms, const double *counts, int n)
{
	for (int i = 0; i < n; i++)
	{
		int32_t		id = intern(t, terms[i]);

		t->df[id]++;
		t->tf[id] += counts[i];
	}
}

static void
test_term_table(void)
{
	FrTermTable *t = fr_terms_new();
	FrTermTable *u = fr_terms_new();
	int			bad = 0;
	char		buf[32];
	int32_t    *order;
	const char *sorted_ok = "";

	ok(intern(t, "dress") == 0 && intern(t, "red") == 1 && intern(t, "dress") == 0,
	   "interning returns one id per string");
	ok(fr_terms_find(t, "red", 3) == 1 && fr_terms_find(t, "re", 2) == -1 && fr_terms_find(t, "", 0) == -1,
	   "find: exact bytes only");
	ok(fr_terms_intern(t, "red\0x", 5) == 2, "terms are byte strings, not C strings");

	/* grow far past the first rehash */
	for (int i = 0; i < 20000; i++)
	{
		snprintf(buf, sizeof buf, "term%d", i);
		bad += intern(t, buf) != i + 3;
	}
	for (int i = 0; i < 20000; i++)
	{
		snprintf(buf, sizeof buf, "term%d", i);
		bad += fr_terms_find(t, buf, (int32_t) strlen(buf)) != i + 3;
	}
	ok(bad == 0 && t->n_terms == 20003, "20000 more terms keep their ids through rehashing");

	/* byte order: prefixes first, bytes unsigned */
	fr_terms_free(t);
	t = fr_terms_new();
	intern(t, "b");
	intern(t, "abc");
	intern(t, "\xc3\xa9t\xc3\xa9");	/* "été": high bytes sort after ASCII */
	intern(t, "ab");
	intern(t, "a");
	order = malloc(sizeof(int32_t) * t->n_terms);
	fr_terms_sorted(t, order);
	ok(order[0] == 4 && order[1] == 3 && order[2] == 1 && order[3] == 0 && order[4] == 2,
	   "sorted: a < ab < abc < b < \xc3\xa9t\xc3\xa9%s", sorted_ok);
	ok(fr_term_cmp("ab", 2, "abc", 3) < 0 && fr_term_cmp("b", 1, "abc", 3) > 0 &&
	   fr_term_cmp("x", 1, "x", 1) == 0, "fr_term_cmp");
	free(order);

	/* merge adds counts */
	{
		const char *const d1[] = {"red", "dress"};
		const double c1[] = {2, 1};
		const char *const d2[] = {"red", "shoe"};
		const double c2[] = {1, 1};

		fr_terms_free(t);
		t = fr_terms_new();
		add_doc(t, d1, c1, 2);
		add_doc(u, d2, c2, 2);
		fr_terms_merge(t, u);
		ok(t->n_terms == 3 && t->df[intern(t, "red")] == 2 && t->tf[intern(t, "red")] == 3 &&
		   t->df[intern(t, "shoe")] == 1, "merge sums df and tf per term");
	}
	fr_terms_free(t);
	fr_terms_free(u);
}

/* the three documents of sql/tfidf.sql */
static FrTermTable *
three_docs(void)
{
	FrTermTable *t = fr_terms_new();
	const char *const d1[] = {"dress", "red"};
	const double c1[] = {1, 2};
	const char *const d2[] = {"blue", "dress"};
	const double c2[] = {1, 1};
	const char *const d3[] = {"red", "shoe"};
	const double c3[] = {1, 1};

	add_doc(t, d1, c1, 2);
	add_doc(t, d2, c2, 2);
	add_doc(t, d3, c3, 2);
	return t;
}

static int
chosen(const FrTermTable *t, const int32_t *feature, const char *term)
{
	return feature[fr_terms_find(t, term, (int32_t) strlen(term))];
}

static void
test_selection(void)
{
	FrTermTable *t = three_docs();
	int32_t		feature[4];
	FrTfidfOptions opt = fr_tfidf_defaults;
	double		lo,
				hi;

	ok(fr_tfidf_select(t, 3, &opt, feature) == 4 && chosen(t, feature, "blue") == 0 &&
	   chosen(t, feature, "dress") == 1 && chosen(t, feature, "red") == 2 &&
	   chosen(t, feature, "shoe") == 3, "defaults keep all terms, numbered in byte order");

	opt.min_df = 2;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 2 && chosen(t, feature, "dress") == 0 &&
	   chosen(t, feature, "red") == 1 && chosen(t, feature, "blue") == -1, "min_df 2 (count)");
	opt = fr_tfidf_defaults;
	opt.min_df = 0.5;
	opt.min_df_fraction = true;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 2, "min_df 0.5 of 3 documents = 1.5");
	opt = fr_tfidf_defaults;
	opt.max_df = 1;
	opt.max_df_fraction = false;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 2 && chosen(t, feature, "blue") == 0 &&
	   chosen(t, feature, "shoe") == 1, "max_df 1 (count)");
	opt = fr_tfidf_defaults;
	opt.max_df = 0.6;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 2, "max_df 0.6 of 3 documents = 1.8");

	/* tf totals: red 3, dress 2, blue 1, shoe 1 */
	opt = fr_tfidf_defaults;
	opt.max_features = 1;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 1 && chosen(t, feature, "red") == 0, "max_features 1: red");
	opt.max_features = 3;
	ok(fr_tfidf_select(t, 3, &opt, feature) == 3 && chosen(t, feature, "blue") == 0 &&
	   chosen(t, feature, "shoe") == -1, "max_features 3: ties (blue, shoe) go to the earlier term");

	opt = fr_tfidf_defaults;
	opt.min_df = 3;
	opt.max_df = 2;
	opt.max_df_fraction = false;
	ok(!fr_tfidf_df_bounds(&opt, 3, &lo, &hi) && lo == 3 && hi == 2, "crossed bounds are reported");
	opt.max_df = 3;
	ok(fr_tfidf_df_bounds(&opt, 3, &lo, &hi) && fr_tfidf_select(t, 3, &opt, feature) == 0,
	   "nothing left: 0 features");
	fr_terms_free(t);
}

static void
test_weights(void)
{
	FrTfidfOptions opt = fr_tfidf_defaults;
	double		tf[2] = {1, 2};
	double		idf[2] = {log(4.0 / 3) + 1, log(4.0 / 3) + 1};
	float		out[2];

	ok_near(fr_tfidf_idf(1, 3, &opt), log(2.0) + 1, 1e-15, "smooth idf, df 1 of 3");
	ok_near(fr_tfidf_idf(2, 3, &opt), log(4.0 / 3) + 1, 1e-15, "smooth idf, df 2 of 3");
	opt.smooth_idf = false;
	ok_near(fr_tfidf_idf(1, 3, &opt), log(3.0) + 1, 1e-15, "plain idf, df 1 of 3");
	opt.use_idf = false;
	ok_near(fr_tfidf_idf(1, 3, &opt), 1, 0, "no idf");
	opt = fr_tfidf_defaults;
	ok_near(fr_tfidf_tf(3, &opt), 3, 0, "raw tf");
	opt.sublinear_tf = true;
	ok_near(fr_tfidf_tf(3, &opt), 1 + log(3.0), 1e-15, "sublinear tf");
	opt = fr_tfidf_defaults;

	fr_tfidf_weigh(2, tf, idf, &opt, out);
	ok(fabs(out[0] - 1 / sqrt(5.0)) < 1e-7 && fabs(out[1] - 2 / sqrt(5.0)) < 1e-7,
	   "doc 'red dress red' = (1, 2) / sqrt 5");
	opt.l2_norm = false;
	fr_tfidf_weigh(2, tf, idf, &opt, out);
	ok(fabs(out[1] - 2 * (log(4.0 / 3) + 1)) < 1e-6, "norm none keeps tf * idf");
	out[0] = 42;
	fr_tfidf_weigh(0, tf, idf, &opt, out);
	ok(out[0] == 42, "an empty document writes nothing");
	{
		/* more entries than the stack buffer */
		double		many_tf[100];
		double		many_idf[100];
		float		many_out[100];
		double		sum = 0;

		opt = fr_tfidf_defaults;
		for (int i = 0; i < 100; i++)
		{
			many_tf[i] = 1 + i % 3;
			many_idf[i] = fr_tfidf_idf(1 + i % 5, 10, &opt);
		}
		fr_tfidf_weigh(100, many_tf, many_idf, &opt, many_out);
		for (int i = 0; i < 100; i++)
			sum += (double) many_out[i] * many_out[i];
		ok_near(sum, 1, 1e-6, "100 entries: unit length");
	}
}

static void
test_vocab(void)
{
	FrTermTable *t = three_docs();
	int32_t		feature[4];
	FrTfidfOptions opt = fr_tfidf_defaults;
	FrTfidfOptions back;
	size_t		size;
	void	   *blob;
	char	   *copy;
	FrVocab		v;
	FrVocabHeader *h;
	int64_t    *df;
	int32_t    *offsets;
	char	   *strings;

	opt.sublinear_tf = true;
	fr_tfidf_select(t, 3, &opt, feature);
	blob = fr_vocab_build(t, feature, 4, 3, &opt, &size);
	ok(size == fr_vocab_bytes(4, 4 + 5 + 3 + 4) && size == 32 + 4 * 8 + 4 * 8 + 5 * 4 + 8 * 4 + 16,
	   "blob size: header, df, idf, offsets, 8 hash slots, 16 bytes of terms");
	ok(fr_vocab_check(blob, size, &v) == NULL, "a built vocabulary passes the check");
	ok(fr_vocab_header_ok(blob, size) && !fr_vocab_header_ok(blob, size - 1) &&
	   !fr_vocab_header_ok(blob, 16), "the O(1) header check");
	ok(v.h->n_terms == 4 && v.h->n_docs == 3 && v.df[1] == 2 && v.df[3] == 1, "counts kept");
	ok(v.idf[0] == log(2.0) + 1 && v.idf[1] == log(4.0 / 3) + 1, "idf stored with the counts");
	ok(fr_vocab_find(&v, "blue", 4) == 0 && fr_vocab_find(&v, "shoe", 4) == 3 &&
	   fr_vocab_find(&v, "red", 3) == 2 && fr_vocab_find(&v, "re", 2) == -1 &&
	   fr_vocab_find(&v, "zzz", 3) == -1 && fr_vocab_find(&v, "reds", 4) == -1,
	   "the hash index finds the terms and nothing else");
	fr_vocab_options(&v, &back);
	ok(back.sublinear_tf && back.smooth_idf && back.use_idf && back.l2_norm, "options travel with the blob");

	/* damage, one kind at a time, on an aligned copy */
	copy = aligned_alloc(8, (size + 7) / 8 * 8);
#define DAMAGE(what, stmt) \
	do { \
		memcpy(copy, blob, size); \
		fr_vocab_view(copy, &v); \
		h = (FrVocabHeader *) copy; \
		df = (int64_t *) v.df; \
		offsets = (int32_t *) v.offsets; \
		strings = (char *) v.strings; \
		(void) h; (void) df; (void) offsets; (void) strings; \
		stmt; \
		ok(fr_vocab_check(copy, size, &v) != NULL, "refused: %s", what); \
	} while (0)
	DAMAGE("wrong magic", h->magic ^= 1);
	DAMAGE("zero terms", h->n_terms = 0);
	DAMAGE("term count too large for the length", h->n_terms = 5);
	DAMAGE("negative term count", h->n_terms = -1);
	DAMAGE("text length mismatch", h->strings_len = 15);
	DAMAGE("no documents", h->n_docs = 0);
	DAMAGE("flag out of range", h->l2_norm = 2);
	DAMAGE("hash index of the wrong size", h->hash_slots = 16);
	DAMAGE("hash slot out of range", ((int32_t *) v.slots)[0] = 9);
	DAMAGE("hash slot negative", ((int32_t *) v.slots)[0] = -1);
	DAMAGE("hash index full (no free slot)", for (int s = 0; s < 8; s++) ((int32_t *) v.slots)[s] = 1 + s % 4);
	DAMAGE("hash index emptied", memset((void *) v.slots, 0, 8 * sizeof(int32_t)));
	DAMAGE("hash index moved", {
		int32_t *sl = (int32_t *) v.slots;
		int32_t keep = sl[7];

		memmove(sl + 1, sl, 7 * sizeof(int32_t));
		sl[0] = keep;
	});
	DAMAGE("df above documents", df[2] = 4);
	DAMAGE("df zero", df[0] = 0);
	DAMAGE("idf not from df", ((double *) v.idf)[2] += 1e-12);
	DAMAGE("df changed under its idf", df[2] = 1);
	DAMAGE("first offset not 0", offsets[0] = 1);
	DAMAGE("last offset short", offsets[4] = 15);
	DAMAGE("offsets backwards", offsets[2] = offsets[1] - 1);
	DAMAGE("empty term", offsets[2] = offsets[1]);
	DAMAGE("terms out of order", memcpy(strings, "zlue", 4));
	DAMAGE("duplicate terms", memcpy(strings + offsets[1], "dress", 5); memcpy(strings + offsets[2], "dre", 3); offsets[2] = offsets[1] + 5);
	DAMAGE("zero byte in a term", strings[1] = '\0');
	memcpy(copy, blob, size);
	ok(fr_vocab_check(copy, size - 1, &v) != NULL, "refused: truncated");
	ok(fr_vocab_check(copy, 8, &v) != NULL, "refused: shorter than the header");
	ok(fr_vocab_check(copy, size, &v) == NULL, "the undamaged copy still passes");
	free(copy);
	fr_free(blob);
	fr_terms_free(t);
}

int
main(void)
{
	test_term_table();
	test_selection();
	test_weights();
	test_vocab();
	return done_testing();
}
