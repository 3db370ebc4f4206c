/*
 * color.c — CIELAB, background removal, dominant colours (k-means++ in
 * Lab) and colour histograms over a deterministic pixel sample.
 *
 * Lab because distances in it follow perceived colour differences closely
 * enough (CIE76 delta E) for clustering and naming: averaging a red and a
 * blue pixel in sRGB gives a muddy purple no shopper would call either.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "color.h"

/* D65 reference white */
#define XN	0.95047
#define YN	1.00000
#define ZN	1.08883

#define LAB_EPS		(216.0 / 24389.0)	/* (6/29)^3 */
#define LAB_KAPPA	(24389.0 / 27.0)

#define KMEANS_MAX_ITER 100

/* the sRGB gamut's Lab bounding box (rounded outwards), for histograms */
static const double lab_lo[3] = {0.0, -87.0, -108.0};
static const double lab_hi[3] = {100.0, 99.0, 95.0};

/*
 * A fashion colour vocabulary: the words shops use for colour filters, each
 * anchored at one or more typical sRGB values (a name may have several
 * anchors: web "navy" #000080 and a garment navy #1F2A44 are both navy).  A
 * colour is named after its nearest anchor.  "black" has an anchor at a
 * photographed black (#1C1C1C), so dark garments are not called charcoal.
 */
static const struct
{
	const char *name;
	const char *hex;
}			vocabulary[] = {
	{"black", "#000000"}, {"black", "#1C1C1C"}, {"charcoal", "#404040"},
	{"grey", "#808080"}, {"light grey", "#C0C0C0"}, {"white", "#FFFFFF"},
	{"cream", "#FFFDD0"}, {"beige", "#D8C3A5"}, {"camel", "#C19A6B"},
	{"khaki", "#C3B091"}, {"brown", "#6F4E37"}, {"brown", "#4B3621"},
	{"olive", "#808000"}, {"olive", "#556B2F"}, {"green", "#228B22"},
	{"green", "#00A000"}, {"mint", "#98FF98"}, {"teal", "#008080"},
	{"turquoise", "#40E0D0"}, {"light blue", "#ADD8E6"}, {"denim", "#1560BD"},
	{"denim", "#5B7DB1"}, {"blue", "#0000FF"}, {"blue", "#2050C0"},
	{"navy", "#000080"}, {"navy", "#1F2A44"}, {"navy", "#191970"},
	{"purple", "#800080"}, {"purple", "#5B2C6F"}, {"lavender", "#B57EDC"},
	{"pink", "#FFC0CB"}, {"pink", "#FF69B4"}, {"fuchsia", "#FF00FF"},
	{"fuchsia", "#C71585"}, {"burgundy", "#800020"}, {"red", "#FF0000"},
	{"red", "#C8102E"}, {"coral", "#FF7F50"}, {"orange", "#FFA500"},
	{"orange", "#FF6600"}, {"mustard", "#E1AD01"}, {"yellow", "#FFFF00"},
	{"gold", "#D4AF37"},
};
#define N_VOCAB ((int) (sizeof(vocabulary) / sizeof(vocabulary[0])))

/* ---- colour spaces ------------------------------------------------------ */

static double
srgb_to_linear(uint8_t v)
{
	double		c = v / 255.0;

	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static uint8_t
linear_to_srgb(double c)
{
	double		v;

	if (!(c > 0.0))				/* also NaN */
		return 0;
	if (c >= 1.0)
		return 255;
	v = c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1.0 / 2.4) - 0.055;
	return (uint8_t) lround(v * 255.0);
}

static double
lab_f(double t)
{
	return t > LAB_EPS ? cbrt(t) : (LAB_KAPPA * t + 16.0) / 116.0;
}

static double
lab_finv(double f)
{
	double		f3 = f * f * f;

	return f3 > LAB_EPS ? f3 : (116.0 * f - 16.0) / LAB_KAPPA;
}

void
fr_srgb_to_lab(const uint8_t rgb[3], double lab[3])
{
	double		r = srgb_to_linear(rgb[0]);
	double		g = srgb_to_linear(rgb[1]);
	double		b = srgb_to_linear(rgb[2]);
	double		fx = lab_f((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / XN);
	double		fy = lab_f((0.2126729 * r + 0.7151522 * g + 0.0721750 * b) / YN);
	double		fz = lab_f((0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / ZN);

	lab[0] = 116.0 * fy - 16.0;
	lab[1] = 500.0 * (fx - fy);
	lab[2] = 200.0 * (fy - fz);
}

void
fr_lab_to_srgb(const double lab[3], uint8_t rgb[3])
{
	double		fy = (lab[0] + 16.0) / 116.0;
	double		x = XN * lab_finv(fy + lab[1] / 500.0);
	double		y = YN * lab_finv(fy);
	double		z = ZN * lab_finv(fy - lab[2] / 200.0);

	rgb[0] = linear_to_srgb(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
	rgb[1] = linear_to_srgb(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z);
	rgb[2] = linear_to_srgb(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
}

static inline double
dist2(const double *a, const double *b)
{
	double		d0 = a[0] - b[0],
				d1 = a[1] - b[1],
				d2 = a[2] - b[2];

	return d0 * d0 + d1 * d1 + d2 * d2;
}

double
fr_delta_e(const double a[3], const double b[3])
{
	return sqrt(dist2(a, b));
}

/* ---- names and hex ------------------------------------------------------ */

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
fr_color_parse_hex(const char *text, uint8_t rgb[3])
{
	size_t		len;

	if (text[0] == '#')
		text++;
	len = strlen(text);
	for (size_t i = 0; i < len; i++)
		if (hex_digit(text[i]) < 0)
			return false;
	if (len == 6)
	{
		for (int c = 0; c < 3; c++)
			rgb[c] = (uint8_t) (hex_digit(text[2 * c]) * 16 + hex_digit(text[2 * c + 1]));
		return true;
	}
	if (len == 3)
	{
		for (int c = 0; c < 3; c++)
			rgb[c] = (uint8_t) (hex_digit(text[c]) * 17);
		return true;
	}
	return false;
}

void
fr_color_hex(const uint8_t rgb[3], char out[8])
{
	static const char digits[] = "0123456789ABCDEF";

	out[0] = '#';
	for (int c = 0; c < 3; c++)
	{
		out[1 + 2 * c] = digits[rgb[c] >> 4];
		out[2 + 2 * c] = digits[rgb[c] & 15];
	}
	out[7] = '\0';
}

const char *
fr_color_name(const double lab[3])
{
	int			best = 0;
	double		best_d = INFINITY;

	for (int i = 0; i < N_VOCAB; i++)
	{
		uint8_t		rgb[3];
		double		ref[3];
		double		d;

		fr_color_parse_hex(vocabulary[i].hex, rgb);
		fr_srgb_to_lab(rgb, ref);
		d = dist2(lab, ref);
		if (d < best_d)
		{
			best_d = d;
			best = i;
		}
	}
	return vocabulary[best].name;
}

int
fr_color_vocabulary(int i, const char **name, const char **hex)
{
	if (i < 0 || i >= N_VOCAB)
		return N_VOCAB;
	*name = vocabulary[i].name;
	*hex = vocabulary[i].hex;
	return N_VOCAB;
}

/* ---- the sample and its background -------------------------------------- */

/*
 * The most common border colour, if common enough: each of up to 256 evenly
 * spaced border pixels is a candidate, scored by how many border pixels lie
 * within the threshold of it; the reference is the mean of the winner's.
 */
static bool
border_colour(const FrColorSample *s, const int64_t *border, int64_t nb, double ref[3])
{
	const double t2 = FR_COLOR_BACKGROUND_DE * FR_COLOR_BACKGROUND_DE;
	int64_t		stride = nb > 256 ? nb / 256 : 1;
	int64_t		best = -1,
				best_count = 0;
	int64_t		count = 0;

	for (int64_t c = 0; c < nb; c += stride)
	{
		const double *lc = s->lab + 3 * border[c];
		int64_t		n = 0;

		for (int64_t j = 0; j < nb; j++)
			n += dist2(lc, s->lab + 3 * border[j]) <= t2;
		if (n > best_count)
		{
			best_count = n;
			best = c;
		}
	}
	if (best < 0 || best_count < FR_COLOR_BORDER_SHARE * nb)
		return false;
	ref[0] = ref[1] = ref[2] = 0.0;
	for (int64_t j = 0; j < nb; j++)
	{
		const double *lj = s->lab + 3 * border[j];

		if (dist2(s->lab + 3 * border[best], lj) <= t2)
		{
			for (int c = 0; c < 3; c++)
				ref[c] += lj[c];
			count++;
		}
	}
	for (int c = 0; c < 3; c++)
		ref[c] /= count;
	return true;
}

/* Flood fill (4-neighbours) from the border through background-coloured pixels. */
static void
mark_background(FrColorSample *s)
{
	const double t2 = FR_COLOR_BACKGROUND_DE * FR_COLOR_BACKGROUND_DE;
	int32_t		w = s->width,
				h = s->height;
	int64_t		nb = w == 1 || h == 1 ? s->n : 2 * (int64_t) (w + h) - 4;
	int64_t    *border = fr_alloc(fr_mul_size(nb, sizeof(int64_t)));
	int64_t    *stack = fr_alloc(fr_mul_size(s->n, sizeof(int64_t)));
	int64_t		m = 0,
				top = 0,
				bg = 0;

	for (int64_t i = 0; i < s->n; i++)
	{
		int32_t		x = (int32_t) (i % w),
					y = (int32_t) (i / w);

		if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
			border[m++] = i;
	}
	nb = m;

	if (border_colour(s, border, nb, s->background_lab))
	{
		for (int64_t j = 0; j < nb; j++)
		{
			int64_t		i = border[j];

			if (!s->background[i] && dist2(s->lab + 3 * i, s->background_lab) <= t2)
			{
				s->background[i] = 1;
				stack[top++] = i;
			}
		}
		while (top > 0)
		{
			int64_t		i = stack[--top];
			int32_t		x = (int32_t) (i % w),
						y = (int32_t) (i / w);
			int64_t		nbr[4];
			int			k = 0;

			bg++;
			if (x > 0)
				nbr[k++] = i - 1;
			if (x < w - 1)
				nbr[k++] = i + 1;
			if (y > 0)
				nbr[k++] = i - w;
			if (y < h - 1)
				nbr[k++] = i + w;
			for (int q = 0; q < k; q++)
				if (!s->background[nbr[q]] &&
					dist2(s->lab + 3 * nbr[q], s->background_lab) <= t2)
				{
					s->background[nbr[q]] = 1;
					stack[top++] = nbr[q];
				}
		}
		s->background_found = true;
	}
	s->n_foreground = s->n - bg;

	/* almost nothing left: the image is a swatch, not a product on a background */
	if (s->background_found &&
		(double) s->n_foreground < FR_COLOR_MIN_FOREGROUND * s->n)
	{
		memset(s->background, 0, s->n);
		s->n_foreground = s->n;
		s->background_found = false;
	}
	fr_free(stack);
	fr_free(border);
}

void
fr_color_sample(const uint8_t *rgb, int32_t width, int32_t height,
				int64_t max_samples, bool ignore_background, FrColorSample *out)
{
	int64_t		step;

	if (width <= 0 || height <= 0)
		fr_fail(FR_FAIL_PARAM, "image size must be positive, got %dx%d", width, height);
	if (max_samples <= 0)
		fr_fail(FR_FAIL_PARAM, "max_samples must be positive");
	memset(out, 0, sizeof(*out));

	/* the smallest step whose grid fits */
	step = (int64_t) floor(sqrt((double) width * height / max_samples));
	if (step < 1)
		step = 1;
	while (((width + step - 1) / step) * ((height + step - 1) / step) > max_samples)
		step++;
	out->step = (int32_t) step;
	out->width = (int32_t) ((width + step - 1) / step);
	out->height = (int32_t) ((height + step - 1) / step);
	out->n = (int64_t) out->width * out->height;
	out->rgb = fr_alloc(fr_mul_size(out->n, 3));
	out->lab = fr_alloc(fr_mul_size(out->n, 3 * sizeof(double)));
	out->background = fr_alloc(out->n);

	for (int32_t gy = 0; gy < out->height; gy++)
	{
		int64_t		y = gy * step + step / 2;

		if (y >= height)
			y = height - 1;
		for (int32_t gx = 0; gx < out->width; gx++)
		{
			int64_t		x = gx * step + step / 2;
			int64_t		i = (int64_t) gy * out->width + gx;

			if (x >= width)
				x = width - 1;
			memcpy(out->rgb + 3 * i, rgb + 3 * (y * width + x), 3);
			fr_srgb_to_lab(out->rgb + 3 * i, out->lab + 3 * i);
		}
		if ((gy & 63) == 0)
			fr_check_interrupts();
	}
	out->n_foreground = out->n;
	if (ignore_background)
		mark_background(out);
}

void
fr_color_sample_free(FrColorSample *s)
{
	fr_free(s->rgb);
	fr_free(s->lab);
	fr_free(s->background);
	memset(s, 0, sizeof(*s));
}

/* ---- dominant colours --------------------------------------------------- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a,
				y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static int
cmp_colour(const void *a, const void *b)
{
	const FrDominantColor *x = a,
			   *y = b;
	uint32_t	px = ((uint32_t) x->rgb[0] << 16) | (x->rgb[1] << 8) | x->rgb[2];
	uint32_t	py = ((uint32_t) y->rgb[0] << 16) | (y->rgb[1] << 8) | y->rgb[2];

	if (x->share != y->share)
		return x->share > y->share ? -1 : 1;
	return px < py ? -1 : px > py;
}

/* Index of the nearest centre; ties go to the lower index. */
static int
nearest(const double *p, const double *centres, int k)
{
	int			best = 0;
	double		best_d = dist2(p, centres);

	for (int c = 1; c < k; c++)
	{
		double		d = dist2(p, centres + 3 * c);

		if (d < best_d)
		{
			best_d = d;
			best = c;
		}
	}
	return best;
}

/* One weighted draw: index i with probability w[i] / sum(w). */
static int64_t
draw(FrRng *rng, const double *w, int64_t n, double total)
{
	double		r = fr_rng_uniform(rng) * total;
	int64_t		last = -1;

	for (int64_t i = 0; i < n; i++)
	{
		if (w[i] <= 0)
			continue;
		last = i;
		r -= w[i];
		if (r < 0)
			return i;
	}
	return last;				/* rounding at the end of the sum */
}

int
fr_dominant_colors(const FrColorSample *s, int k, uint64_t seed, FrDominantColor *out)
{
	uint32_t   *packed;
	int64_t		n = 0,
				u = 0;
	double	   *lab,
			   *weight,
			   *d2,
			   *p;
	int32_t    *assign;
	double		centres[3 * FR_COLOR_MAX_K];
	double		sums[4 * FR_COLOR_MAX_K];
	double		total = 0.0;
	int			nc = 0,
				written = 0;
	FrRng		rng;

	if (k < 1 || k > FR_COLOR_MAX_K)
		fr_fail(FR_FAIL_PARAM, "k must be between 1 and %d, got %d", FR_COLOR_MAX_K, k);
	if (s->n_foreground <= 0)
		return 0;

	/* distinct foreground colours, weighted by their pixel counts */
	packed = fr_alloc(fr_mul_size(s->n_foreground, sizeof(uint32_t)));
	for (int64_t i = 0; i < s->n; i++)
		if (!s->background[i])
			packed[n++] = ((uint32_t) s->rgb[3 * i] << 16) | (s->rgb[3 * i + 1] << 8) |
				s->rgb[3 * i + 2];
	qsort(packed, n, sizeof(uint32_t), cmp_u32);
	lab = fr_alloc(fr_mul_size(n, 3 * sizeof(double)));
	weight = fr_alloc(fr_mul_size(n, sizeof(double)));
	d2 = fr_alloc(fr_mul_size(n, sizeof(double)));
	p = fr_alloc(fr_mul_size(n, sizeof(double)));
	assign = fr_alloc(fr_mul_size(n, sizeof(int32_t)));
	for (int64_t i = 0; i < n; i++)
	{
		if (u > 0 && packed[i] == packed[i - 1])
		{
			weight[u - 1] += 1.0;
			continue;
		}
		{
			uint8_t		rgb[3] = {packed[i] >> 16, (packed[i] >> 8) & 255, packed[i] & 255};

			fr_srgb_to_lab(rgb, lab + 3 * u);
		}
		weight[u++] = 1.0;
	}
	total = (double) n;

	/* k-means++: each next centre drawn with probability ~ weight * distance^2 */
	fr_rng_seed(&rng, seed);
	memcpy(centres, lab + 3 * draw(&rng, weight, u, total), 3 * sizeof(double));
	nc = 1;
	for (int64_t i = 0; i < u; i++)
		d2[i] = dist2(lab + 3 * i, centres);
	while (nc < k)
	{
		double		mass = 0.0;
		int64_t		pick;

		for (int64_t i = 0; i < u; i++)
		{
			p[i] = weight[i] * d2[i];
			mass += p[i];
		}
		if (!(mass > 0.0))
			break;				/* every colour is a centre already */
		pick = draw(&rng, p, u, mass);
		memcpy(centres + 3 * nc, lab + 3 * pick, 3 * sizeof(double));
		for (int64_t i = 0; i < u; i++)
			d2[i] = fmin(d2[i], dist2(lab + 3 * i, centres + 3 * nc));
		nc++;
	}

	/* Lloyd iterations until no colour changes cluster */
	for (int64_t i = 0; i < u; i++)
		assign[i] = -1;
	for (int iter = 0; iter < KMEANS_MAX_ITER; iter++)
	{
		int64_t		changed = 0;

		for (int64_t i = 0; i < u; i++)
		{
			int			c = nearest(lab + 3 * i, centres, nc);

			changed += c != assign[i];
			assign[i] = c;
		}
		if (changed == 0)
			break;
		memset(sums, 0, sizeof(sums));
		for (int64_t i = 0; i < u; i++)
		{
			double	   *sm = sums + 4 * assign[i];

			for (int c = 0; c < 3; c++)
				sm[c] += weight[i] * lab[3 * i + c];
			sm[3] += weight[i];
		}
		for (int c = 0; c < nc; c++)
			if (sums[4 * c + 3] > 0)
				for (int j = 0; j < 3; j++)
					centres[3 * c + j] = sums[4 * c + j] / sums[4 * c + 3];
		fr_check_interrupts();
	}

	/* the final clusters: centre = weighted mean, share = weight */
	memset(sums, 0, sizeof(sums));
	for (int64_t i = 0; i < u; i++)
	{
		double	   *sm = sums + 4 * assign[i];

		for (int c = 0; c < 3; c++)
			sm[c] += weight[i] * lab[3 * i + c];
		sm[3] += weight[i];
	}
	for (int c = 0; c < nc; c++)
	{
		FrDominantColor *o = out + written;

		if (sums[4 * c + 3] <= 0)
			continue;			/* a centre that lost all its colours */
		for (int j = 0; j < 3; j++)
			o->lab[j] = sums[4 * c + j] / sums[4 * c + 3];
		o->share = sums[4 * c + 3] / total;
		fr_lab_to_srgb(o->lab, o->rgb);
		o->name = fr_color_name(o->lab);
		written++;
	}
	qsort(out, written, sizeof(FrDominantColor), cmp_colour);

	fr_free(assign);
	fr_free(p);
	fr_free(d2);
	fr_free(weight);
	fr_free(lab);
	fr_free(packed);
	return written;
}

/* ---- histograms --------------------------------------------------------- */

/*
 * Soft binning: a value between two cell centres is shared between them
 * linearly (trilinear in 3-d), so two near colours on either side of a cell
 * boundary still overlap and a histogram's cosine similarity changes
 * smoothly with the colours instead of jumping from 1 to 0.
 */
static int
soft_bin(double v, int axis, int bins, double *frac)
{
	double		t = (v - lab_lo[axis]) / (lab_hi[axis] - lab_lo[axis]) * bins - 0.5;
	int			i;

	if (!(t > 0.0))
	{
		*frac = 0.0;
		return 0;
	}
	if (t >= bins - 1)
	{
		*frac = 0.0;
		return bins - 1;
	}
	i = (int) floor(t);
	*frac = t - i;
	return i;
}

void
fr_color_histogram(const FrColorSample *s, int bins, float *hist)
{
	double	   *counts;
	int			cells;

	if (bins < FR_COLOR_MIN_BINS || bins > FR_COLOR_MAX_BINS)
		fr_fail(FR_FAIL_PARAM, "bins must be between %d and %d, got %d",
				FR_COLOR_MIN_BINS, FR_COLOR_MAX_BINS, bins);
	cells = bins * bins * bins;
	counts = fr_alloc(fr_mul_size(cells, sizeof(double)));
	for (int64_t i = 0; i < s->n; i++)
	{
		const double *l = s->lab + 3 * i;
		int			c[3];
		double		f[3];

		if (s->background[i])
			continue;
		for (int ax = 0; ax < 3; ax++)
			c[ax] = soft_bin(l[ax], ax, bins, &f[ax]);
		/* the 8 corners; a corner past the last cell has weight 0 */
		for (int corner = 0; corner < 8; corner++)
		{
			double		w = 1.0;
			int			idx = 0;

			for (int ax = 0; ax < 3; ax++)
			{
				int			up = (corner >> (2 - ax)) & 1;

				w *= up ? f[ax] : 1.0 - f[ax];
				idx = idx * bins + c[ax] + up;
			}
			if (w > 0.0)
				counts[idx] += w;
		}
	}
	for (int c = 0; c < cells; c++)
		hist[c] = s->n_foreground > 0 ? (float) (counts[c] / s->n_foreground) : 0.0f;
	fr_free(counts);
}
