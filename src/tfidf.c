/*
 * tfidf.c — term tables, vocabulary choice and TF-IDF weights (tfidf.h).
 *
 * The term table is open addressing with linear probing over a power-of-two
 * slot array, terms stored once in a growing text arena.  A tsvector's
 * lexemes are distinct, so counting a document is one probe per lexeme.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "tfidf.h"

const FrTfidfOptions fr_tfidf_defaults = {
	.min_df = 1,
	.min_df_fraction = false,
	.max_df = 1.0,
	.max_df_fraction = true,
	.max_features = 0,
	.sublinear_tf = false,
	.use_idf = true,
	.smooth_idf = true,
	.l2_norm = true,
};

/* ---- term table ------------------------------------------------------------ */

/* FNV-1a: terms are short, and this needs no alignment or length tricks */
static uint32_t
term_hash(const char *s, int32_t len)
{
	uint32_t	h = 2166136261u;

	for (int32_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * Equality of two short byte strings of one length: a libc memcmp call costs
 * more than the comparison itself for lexemes of a few bytes.
 */
static inline bool
same_bytes(const char *a, const char *b, int32_t len)
{
	while (len >= 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
		a += 8;
		b += 8;
		len -= 8;
	}
	while (len-- > 0)
		if (*a++ != *b++)
			return false;
	return true;
}

static void *
grow(void *old, size_t old_bytes, size_t new_bytes)
{
	void	   *p = fr_alloc(new_bytes);

	if (old)
	{
		memcpy(p, old, old_bytes);
		fr_free(old);
	}
	return p;
}

FrTermTable *
fr_terms_new(void)
{
	FrTermTable *t = fr_alloc(sizeof(FrTermTable));

	t->mask = 1023;
	t->slots = fr_alloc(sizeof(int32_t) * (t->mask + 1));
	return t;
}

void
fr_terms_free(FrTermTable *t)
{
	if (t == NULL)
		return;
	fr_free(t->slots);
	fr_free(t->hashes);
	fr_free(t->offsets);
	fr_free(t->lengths);
	fr_free(t->text);
	fr_free(t->df);
	fr_free(t->tf);
	fr_free(t);
}

size_t
fr_terms_bytes(const FrTermTable *t)
{
	return sizeof(FrTermTable) + sizeof(int32_t) * ((size_t) t->mask + 1) +
		(size_t) t->capacity * (sizeof(uint32_t) + sizeof(int64_t) + sizeof(int32_t) +
								sizeof(int64_t) + sizeof(double)) +
		(size_t) t->text_cap;
}

static void
rehash(FrTermTable *t)
{
	uint32_t	mask = t->mask * 2 + 1;
	int32_t    *slots = fr_alloc(fr_mul_size((size_t) mask + 1, sizeof(int32_t)));

	for (int32_t id = 0; id < t->n_terms; id++)
	{
		uint32_t	s = t->hashes[id] & mask;

		while (slots[s] != 0)
			s = (s + 1) & mask;
		slots[s] = id + 1;
	}
	fr_free(t->slots);
	t->slots = slots;
	t->mask = mask;
}

static void
add_capacity(FrTermTable *t)
{
	int32_t		cap = t->capacity ? t->capacity : 512;
	size_t		n;

	if (cap > INT32_MAX / 2)
		fr_fail(FR_FAIL_LIMIT, "too many distinct terms (%d)", t->n_terms);
	cap *= 2;
	n = (size_t) t->capacity;
	t->hashes = grow(t->hashes, n * sizeof(uint32_t), fr_mul_size(cap, sizeof(uint32_t)));
	t->offsets = grow(t->offsets, n * sizeof(int64_t), fr_mul_size(cap, sizeof(int64_t)));
	t->lengths = grow(t->lengths, n * sizeof(int32_t), fr_mul_size(cap, sizeof(int32_t)));
	t->df = grow(t->df, n * sizeof(int64_t), fr_mul_size(cap, sizeof(int64_t)));
	t->tf = grow(t->tf, n * sizeof(double), fr_mul_size(cap, sizeof(double)));
	t->capacity = cap;
}

int32_t
fr_terms_find(const FrTermTable *t, const char *s, int32_t len)
{
	uint32_t	h = term_hash(s, len);
	uint32_t	slot = h & t->mask;

	for (;;)
	{
		int32_t		id = t->slots[slot] - 1;

		if (id < 0)
			return -1;
		if (t->hashes[id] == h && t->lengths[id] == len &&
			same_bytes(t->text + t->offsets[id], s, len))
			return id;
		slot = (slot + 1) & t->mask;
	}
}

int32_t
fr_terms_intern(FrTermTable *t, const char *s, int32_t len)
{
	uint32_t	h = term_hash(s, len);
	uint32_t	slot = h & t->mask;
	int32_t		id;

	for (;;)
	{
		id = t->slots[slot] - 1;
		if (id < 0)
			break;
		if (t->hashes[id] == h && t->lengths[id] == len &&
			same_bytes(t->text + t->offsets[id], s, len))
			return id;
		slot = (slot + 1) & t->mask;
	}

	/* a new term */
	if (t->n_terms == t->capacity)
		add_capacity(t);
	if (t->text_len + len > t->text_cap)
	{
		int64_t		cap = t->text_cap ? t->text_cap : 8192;

		while (cap < t->text_len + len)
			cap *= 2;
		t->text = grow(t->text, (size_t) t->text_len, (size_t) cap);
		t->text_cap = cap;
	}
	id = t->n_terms++;
	memcpy(t->text + t->text_len, s, len);
	t->offsets[id] = t->text_len;
	t->lengths[id] = len;
	t->hashes[id] = h;
	t->df[id] = 0;
	t->tf[id] = 0;
	t->text_len += len;
	t->slots[slot] = id + 1;
	/* keep the load under one half, so probes stay short */
	if ((uint32_t) t->n_terms * 2 > t->mask)
		rehash(t);
	return id;
}

void
fr_terms_merge(FrTermTable *dst, const FrTermTable *src)
{
	for (int32_t i = 0; i < src->n_terms; i++)
	{
		int32_t		id = fr_terms_intern(dst, src->text + src->offsets[i], src->lengths[i]);

		dst->df[id] += src->df[i];
		dst->tf[id] += src->tf[i];
		if ((i & 4095) == 0)
			fr_check_interrupts();
	}
}

int
fr_term_cmp(const char *a, int32_t alen, const char *b, int32_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

typedef struct SortTerm
{
	const char *s;
	int32_t		len;
	int32_t		id;
} SortTerm;

static int
sort_term_cmp(const void *a, const void *b)
{
	const SortTerm *x = a;
	const SortTerm *y = b;

	return fr_term_cmp(x->s, x->len, y->s, y->len);
}

void
fr_terms_sorted(const FrTermTable *t, int32_t *order)
{
	SortTerm   *st = fr_alloc(fr_mul_size(t->n_terms ? t->n_terms : 1, sizeof(SortTerm)));

	for (int32_t i = 0; i < t->n_terms; i++)
	{
		st[i].s = t->text + t->offsets[i];
		st[i].len = t->lengths[i];
		st[i].id = i;
	}
	qsort(st, t->n_terms, sizeof(SortTerm), sort_term_cmp);
	for (int32_t i = 0; i < t->n_terms; i++)
		order[i] = st[i].id;
	fr_free(st);
}

/* ---- vocabulary choice -------------------------------------------------------- */

bool
fr_tfidf_df_bounds(const FrTfidfOptions *opt, int64_t n_docs, double *lo, double *hi)
{
	*lo = opt->min_df_fraction ? opt->min_df * (double) n_docs : opt->min_df;
	*hi = opt->max_df_fraction ? opt->max_df * (double) n_docs : opt->max_df;
	return *hi >= *lo;
}

typedef struct RankTerm
{
	double		tf;
	int32_t		rank;			/* position in byte order */
	int32_t		id;
} RankTerm;

static int
rank_term_cmp(const void *a, const void *b)
{
	const RankTerm *x = a;
	const RankTerm *y = b;

	if (x->tf != y->tf)
		return x->tf > y->tf ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

int32_t
fr_tfidf_select(const FrTermTable *t, int64_t n_docs, const FrTfidfOptions *opt,
				int32_t *feature)
{
	int32_t    *order = fr_alloc(fr_mul_size(t->n_terms ? t->n_terms : 1, sizeof(int32_t)));
	double		lo,
				hi;
	int32_t		kept = 0;

	fr_tfidf_df_bounds(opt, n_docs, &lo, &hi);
	fr_terms_sorted(t, order);
	for (int32_t i = 0; i < t->n_terms; i++)
		feature[i] = -1;
	for (int32_t r = 0; r < t->n_terms; r++)
	{
		int32_t		id = order[r];

		if ((double) t->df[id] >= lo && (double) t->df[id] <= hi)
			feature[id] = kept++;
	}

	if (opt->max_features > 0 && kept > opt->max_features)
	{
		RankTerm   *rt = fr_alloc(fr_mul_size(kept, sizeof(RankTerm)));
		int32_t		m = 0;

		for (int32_t r = 0; r < t->n_terms; r++)
		{
			int32_t		id = order[r];

			if (feature[id] >= 0)
			{
				rt[m].tf = t->tf[id];
				rt[m].rank = r;
				rt[m].id = id;
				m++;
			}
		}
		qsort(rt, m, sizeof(RankTerm), rank_term_cmp);
		for (int32_t i = opt->max_features; i < m; i++)
			feature[rt[i].id] = -1;
		fr_free(rt);

		/* renumber the survivors in byte order */
		kept = 0;
		for (int32_t r = 0; r < t->n_terms; r++)
			if (feature[order[r]] >= 0)
				feature[order[r]] = kept++;
	}
	fr_free(order);
	return kept;
}

/* ---- weighting ------------------------------------------------------------------- */

double
fr_tfidf_tf(double count, const FrTfidfOptions *opt)
{
	if (opt->sublinear_tf && count > 0)
		return 1.0 + log(count);
	return count;
}

double
fr_tfidf_idf(int64_t df, int64_t n_docs, const FrTfidfOptions *opt)
{
	if (!opt->use_idf)
		return 1.0;
	if (opt->smooth_idf)
		return log((1.0 + (double) n_docs) / (1.0 + (double) df)) + 1.0;
	return log((double) n_docs / (double) df) + 1.0;
}

void
fr_tfidf_weigh(int32_t n, const double *tf, const double *idf,
			   const FrTfidfOptions *opt, float *out)
{
	double		local[64];
	double	   *w = n <= 64 ? local : fr_alloc(fr_mul_size(n, sizeof(double)));
	double		sum = 0.0;
	double		scale = 1.0;

	/* the norm of the double values, then one rounding to float */
	for (int32_t i = 0; i < n; i++)
	{
		w[i] = tf[i] * idf[i];
		sum += w[i] * w[i];
	}
	if (opt->l2_norm && sum > 0)
		scale = 1.0 / sqrt(sum);
	for (int32_t i = 0; i < n; i++)
		out[i] = (float) (w[i] * scale);
	if (w != local)
		fr_free(w);
}

/* ---- vocabulary blob ----------------------------------------------------------- */

uint32_t
fr_vocab_slots(int32_t n_terms)
{
	uint32_t	slots = 8;

	while (slots < 2 * (uint32_t) (n_terms > 0 ? n_terms : 0))
		slots *= 2;
	return slots;
}

size_t
fr_vocab_bytes(int32_t n_terms, int64_t strings_len)
{
	size_t		size = sizeof(FrVocabHeader);

	size = fr_add_size(size, fr_mul_size((size_t) n_terms, sizeof(int64_t) + sizeof(double)));
	size = fr_add_size(size, fr_mul_size((size_t) n_terms + 1, sizeof(int32_t)));
	size = fr_add_size(size, fr_mul_size(fr_vocab_slots(n_terms), sizeof(int32_t)));
	return fr_add_size(size, (size_t) strings_len);
}

void
fr_vocab_view(const void *blob, FrVocab *v)
{
	const char *p = blob;

	v->h = blob;
	v->df = (const int64_t *) (p + sizeof(FrVocabHeader));
	v->idf = (const double *) (v->df + v->h->n_terms);
	v->offsets = (const int32_t *) (v->idf + v->h->n_terms);
	v->slots = v->offsets + v->h->n_terms + 1;
	v->strings = (const char *) (v->slots + v->h->hash_slots);
}

void *
fr_vocab_build(const FrTermTable *t, const int32_t *feature, int32_t n_features,
			   int64_t n_docs, const FrTfidfOptions *opt, size_t *size)
{
	int32_t    *by_feature = fr_alloc(fr_mul_size(n_features ? n_features : 1, sizeof(int32_t)));
	int64_t		strings_len = 0;
	FrVocabHeader *h;
	FrVocab		v;
	char	   *strings;
	int32_t    *offsets;
	int32_t    *slots;
	int64_t    *df;
	double	   *idf;
	uint32_t	mask;

	for (int32_t id = 0; id < t->n_terms; id++)
		if (feature[id] >= 0)
		{
			by_feature[feature[id]] = id;
			strings_len += t->lengths[id];
		}
	*size = fr_vocab_bytes(n_features, strings_len);
	if (*size > FR_VOCAB_MAX_BYTES)
		fr_fail(FR_FAIL_LIMIT, "the vocabulary of %d terms needs %zu bytes, more than the 1 GB a value may hold",
				n_features, *size);
	h = fr_alloc(*size);
	h->magic = FR_VOCAB_MAGIC;
	h->n_terms = n_features;
	h->n_docs = n_docs;
	h->strings_len = strings_len;
	h->sublinear_tf = opt->sublinear_tf;
	h->use_idf = opt->use_idf;
	h->smooth_idf = opt->smooth_idf;
	h->l2_norm = opt->l2_norm;
	h->hash_slots = fr_vocab_slots(n_features);
	fr_vocab_view(h, &v);
	df = (int64_t *) v.df;
	idf = (double *) v.idf;
	offsets = (int32_t *) v.offsets;
	slots = (int32_t *) v.slots;
	strings = (char *) v.strings;
	mask = h->hash_slots - 1;
	offsets[0] = 0;
	for (int32_t f = 0; f < n_features; f++)
	{
		int32_t		id = by_feature[f];
		uint32_t	s = term_hash(t->text + t->offsets[id], t->lengths[id]) & mask;

		df[f] = t->df[id];
		idf[f] = fr_tfidf_idf(df[f], n_docs, opt);
		memcpy(strings + offsets[f], t->text + t->offsets[id], t->lengths[id]);
		offsets[f + 1] = offsets[f] + t->lengths[id];
		while (slots[s] != 0)
			s = (s + 1) & mask;
		slots[s] = f + 1;
	}
	fr_free(by_feature);
	return h;
}

bool
fr_vocab_header_ok(const void *blob, size_t len)
{
	const FrVocabHeader *h = blob;

	return len >= sizeof(FrVocabHeader) && ((uintptr_t) blob) % sizeof(int64_t) == 0 &&
		h->magic == FR_VOCAB_MAGIC && h->n_terms >= 1 && h->strings_len >= h->n_terms &&
		h->strings_len <= (int64_t) FR_VOCAB_MAX_BYTES &&
		h->hash_slots == fr_vocab_slots(h->n_terms) &&
		fr_vocab_bytes(h->n_terms, h->strings_len) == len;
}

int32_t
fr_vocab_find(const FrVocab *v, const char *s, int32_t len)
{
	uint32_t	mask = v->h->hash_slots - 1;
	uint32_t	slot = term_hash(s, len) & mask;

	for (;;)
	{
		int32_t		f = v->slots[slot] - 1;

		if (f < 0)
			return -1;
		if (v->offsets[f + 1] - v->offsets[f] == len &&
			same_bytes(v->strings + v->offsets[f], s, len))
			return f;
		slot = (slot + 1) & mask;
	}
}

const char *
fr_vocab_check(const void *blob, size_t len, FrVocab *v)
{
	const FrVocabHeader *h = blob;
	int32_t		used = 0;
	FrTfidfOptions opt;

	if (len < sizeof(FrVocabHeader))
		return "it is shorter than its header";
	if (((uintptr_t) blob) % sizeof(int64_t) != 0)
		return "it is not aligned";
	if (h->magic != FR_VOCAB_MAGIC)
		return "its format marker is wrong";
	if (h->n_terms < 1 || h->strings_len < h->n_terms || h->strings_len > (int64_t) FR_VOCAB_MAX_BYTES)
		return "its term count or text length is impossible";
	if (h->hash_slots != fr_vocab_slots(h->n_terms))
		return "its hash index has the wrong size";
	if (fr_vocab_bytes(h->n_terms, h->strings_len) != len)
		return "its length does not match its term count";
	if (h->n_docs < 1)
		return "it counts no documents";
	if (h->sublinear_tf > 1 || h->use_idf > 1 || h->smooth_idf > 1 || h->l2_norm > 1)
		return "its option flags are invalid";
	fr_vocab_view(blob, v);
	fr_vocab_options(v, &opt);
	if (v->offsets[0] != 0 || v->offsets[h->n_terms] != h->strings_len)
		return "its term offsets do not cover the text";
	for (int32_t i = 0; i < h->n_terms; i++)
	{
		int32_t		a = v->offsets[i],
					b = v->offsets[i + 1];

		if (b <= a)
			return "a term is empty or its offsets go backwards";
		if (memchr(v->strings + a, 0, b - a) != NULL)
			return "a term contains a zero byte";
		if (v->df[i] < 1 || v->df[i] > h->n_docs)
			return "a document frequency is outside 1 .. documents";
		if (v->idf[i] != fr_tfidf_idf(v->df[i], h->n_docs, &opt))
			return "an idf does not follow from its document frequency";
		if (i > 0 && fr_term_cmp(v->strings + v->offsets[i - 1], a - v->offsets[i - 1],
								 v->strings + a, b - a) >= 0)
			return "its terms are not in strictly ascending byte order";
	}
	/* exactly n used slots (so probing always meets a free one), each term found */
	for (uint32_t s = 0; s < h->hash_slots; s++)
	{
		if (v->slots[s] < 0 || v->slots[s] > h->n_terms)
			return "its hash index points outside the terms";
		used += v->slots[s] != 0;
	}
	if (used != h->n_terms)
		return "its hash index does not hold every term once";
	for (int32_t i = 0; i < h->n_terms; i++)
		if (fr_vocab_find(v, v->strings + v->offsets[i], v->offsets[i + 1] - v->offsets[i]) != i)
			return "its hash index does not find a term";
	return NULL;
}

void
fr_vocab_options(const FrVocab *v, FrTfidfOptions *opt)
{
	*opt = fr_tfidf_defaults;
	opt->sublinear_tf = v->h->sublinear_tf;
	opt->use_idf = v->h->use_idf;
	opt->smooth_idf = v->h->smooth_idf;
	opt->l2_norm = v->h->l2_norm;
}
