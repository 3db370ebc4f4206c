/*
 * test_color.c — the colour kernel (Lab, background, k-means, histograms,
 * names) against known answers, and the image decoder against images this
 * test writes itself with libpng and libjpeg: every pixel format that must
 * decode, and every class of bad input that must fail with the right status.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "color.h"
#include "image.h"
#include "tap.h"

/* ---- writing test images ------------------------------------------------ */

typedef struct Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_write(png_structp png, png_bytep src, size_t n)
{
	Buf		   *b = png_get_io_ptr(png);

	if (b->len + n > b->cap)
	{
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, src, n);
	b->len += n;
}

static void
buf_flush(png_structp png)
{
}

/* A PNG of any libpng colour type / depth / interlacing from raw rows. */
static Buf
write_png(int w, int h, int color_type, int depth, int interlace, const uint8_t *rows,
		  const png_color *palette, int n_palette, const uint8_t *trns, int n_trns)
{
	Buf			b = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop	info = png_create_info_struct(png);
	size_t		rowbytes;
	int			channels = color_type == PNG_COLOR_TYPE_RGB ? 3 :
		color_type == PNG_COLOR_TYPE_RGBA ? 4 :
		color_type == PNG_COLOR_TYPE_GA ? 2 : 1;

	png_set_write_fn(png, &b, buf_write, buf_flush);
	png_set_IHDR(png, info, w, h, depth, color_type, interlace,
				 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (palette)
		png_set_PLTE(png, info, palette, n_palette);
	if (trns)
		png_set_tRNS(png, info, trns, n_trns, NULL);
	png_write_info(png, info);
	if (depth == 16)
		png_set_swap(png);		/* rows below are little-endian 16-bit */
	rowbytes = ((size_t) w * channels * depth + 7) / 8;
	{
		png_bytep  *ptrs = malloc(sizeof(png_bytep) * h);

		for (int y = 0; y < h; y++)
			ptrs[y] = (png_bytep) rows + y * rowbytes;
		png_write_image(png, ptrs);
		free(ptrs);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return b;
}

static Buf
write_jpeg(int w, int h, const uint8_t *rgb, int quality, bool progressive)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *out = NULL;
	unsigned long len = 0;
	Buf			b;

	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	/* 4:4:4, so block-aligned colour edges stay sharp */
	for (int i = 0; i < 3; i++)
		c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height)
	{
		JSAMPROW	row = (JSAMPROW) rgb + (size_t) c.next_scanline * w * 3;

		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	b.data = malloc(len);
	memcpy(b.data, out, len);
	b.len = b.cap = len;
	free(out);
	return b;
}

static uint8_t *
solid(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
	uint8_t    *p = malloc((size_t) w * h * 3);

	for (size_t i = 0; i < (size_t) w * h; i++)
	{
		p[3 * i] = r;
		p[3 * i + 1] = g;
		p[3 * i + 2] = b;
	}
	return p;
}

static void
fill_rect(uint8_t *p, int w, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g, uint8_t b)
{
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
		{
			p[3 * ((size_t) y * w + x)] = r;
			p[3 * ((size_t) y * w + x) + 1] = g;
			p[3 * ((size_t) y * w + x) + 2] = b;
		}
}

static int
max_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	int			m = 0;

	for (size_t i = 0; i < n; i++)
	{
		int			d = abs((int) a[i] - (int) b[i]);

		if (d > m)
			m = d;
	}
	return m;
}

/* ---- colour space, names ------------------------------------------------ */

static void
test_lab(void)
{
	/* reference values: CIE 15 formulas with the sRGB matrix and D65 white */
	static const struct
	{
		uint8_t		rgb[3];
		double		lab[3];
	}			ref[] = {
		{{255, 255, 255}, {100.0, 0.0, 0.0}},
		{{0, 0, 0}, {0.0, 0.0, 0.0}},
		{{255, 0, 0}, {53.2408, 80.0925, 67.2032}},
		{{0, 255, 0}, {87.7347, -86.1827, 83.1793}},
		{{0, 0, 255}, {32.2970, 79.1875, -107.8602}},
		{{128, 128, 128}, {53.5850, 0.0, 0.0}},
	};
	int			bad = 0;

	for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++)
	{
		double		lab[3];

		fr_srgb_to_lab(ref[i].rgb, lab);
		for (int c = 0; c < 3; c++)
			ok_near(lab[c], ref[i].lab[c], 2e-3, "Lab of a reference colour");
	}

	/* every 5th level of each channel survives sRGB -> Lab -> sRGB exactly */
	for (int r = 0; r < 256; r += 5)
		for (int g = 0; g < 256; g += 5)
			for (int b = 0; b < 256; b += 5)
			{
				uint8_t		in[3] = {r, g, b},
							out[3];
				double		lab[3];

				fr_srgb_to_lab(in, lab);
				fr_lab_to_srgb(lab, out);
				bad += memcmp(in, out, 3) != 0;
			}
	ok(bad == 0, "sRGB -> Lab -> sRGB round-trips exactly (%d mismatches)", bad);

	{
		double		out_of_gamut[3] = {50.0, 200.0, -200.0};
		uint8_t		rgb[3];

		fr_lab_to_srgb(out_of_gamut, rgb);
		ok(rgb[1] == 0 && rgb[0] > 0 && rgb[2] == 255, "out-of-gamut Lab clamps (%d,%d,%d)",
		   rgb[0], rgb[1], rgb[2]);
	}
}

static void
test_names(void)
{
	const char *name,
			   *hex;
	int			n = fr_color_vocabulary(-1, &name, &hex);
	int			self = 0;
	static const struct
	{
		const char *hex;
		const char *name;
	}			cases[] = {
		{"#FF0000", "red"}, {"#0000FF", "blue"}, {"#000080", "navy"}, {"#000000", "black"},
		{"#2B2B2B", "black"}, {"#FFFFFF", "white"}, {"#FAFAFA", "white"}, {"#7F7F7F", "grey"},
		{"#C8102E", "red"}, {"#F5F5DC", "cream"}, {"#E6C8A0", "beige"}, {"#FFB6C1", "pink"},
		{"#191970", "navy"}, {"#4169E1", "blue"}, {"#FF1493", "fuchsia"}, {"#228B22", "green"},
	};
	uint8_t		rgb[3];

	/* each anchor is named by its own name: no anchor lies nearer another name's */
	for (int i = 0; i < n; i++)
	{
		double		lab[3];

		fr_color_vocabulary(i, &name, &hex);
		ok(fr_color_parse_hex(hex, rgb), "anchor %s parses", hex);
		fr_srgb_to_lab(rgb, lab);
		self += strcmp(fr_color_name(lab), name) == 0;
	}
	ok(self == n, "every vocabulary anchor names itself (%d of %d)", self, n);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		double		lab[3];
		const char *got;

		fr_color_parse_hex(cases[i].hex, rgb);
		fr_srgb_to_lab(rgb, lab);
		got = fr_color_name(lab);
		ok(strcmp(got, cases[i].name) == 0, "%s is %s (got %s)", cases[i].hex, cases[i].name, got);
	}

	ok(fr_color_parse_hex("#a0B1c2", rgb) && rgb[0] == 0xa0 && rgb[1] == 0xb1 && rgb[2] == 0xc2,
	   "parse #RRGGBB");
	ok(fr_color_parse_hex("f80", rgb) && rgb[0] == 0xff && rgb[1] == 0x88 && rgb[2] == 0x00,
	   "parse RGB shorthand");
	ok(!fr_color_parse_hex("#12345", rgb) && !fr_color_parse_hex("#12345g", rgb) &&
	   !fr_color_parse_hex("", rgb), "reject malformed hex");
	{
		char		hex[8];
		uint8_t		v[3] = {0x0a, 0xff, 0x10};

		fr_color_hex(v, hex);
		ok(strcmp(hex, "#0AFF10") == 0, "format hex (%s)", hex);
	}
}

/* ---- sample, background, k-means, histogram ----------------------------- */

static void
test_sample(void)
{
	FrColorSample s;
	uint8_t    *img = solid(1000, 700, 10, 20, 30);

	fr_color_sample(img, 1000, 700, FR_COLOR_MAX_SAMPLES, false, &s);
	/* step 3 would give 334 x 234 = 78156 > 65536 samples */
	ok(s.n <= FR_COLOR_MAX_SAMPLES && s.step == 4 && s.width == 250 && s.height == 175,
	   "1000x700 is sampled with step 4 into 250x175 (got step %d, %dx%d)",
	   s.step, s.width, s.height);
	fr_color_sample_free(&s);
	free(img);

	img = solid(5, 3, 1, 2, 3);
	fr_color_sample(img, 5, 3, FR_COLOR_MAX_SAMPLES, true, &s);
	ok(s.step == 1 && s.n == 15 && s.n_foreground == 15 && !s.background_found,
	   "a small solid image is all foreground (a swatch)");
	fr_color_sample_free(&s);
	free(img);
}

static void
test_dominant(void)
{
	FrColorSample s;
	FrDominantColor c[FR_COLOR_MAX_K];
	char		hex[8];
	int			n;
	uint8_t    *img;

	/* solid red: one colour, all of it */
	img = solid(16, 16, 255, 0, 0);
	fr_color_sample(img, 16, 16, FR_COLOR_MAX_SAMPLES, true, &s);
	n = fr_dominant_colors(&s, 5, 42, c);
	fr_color_hex(c[0].rgb, hex);
	ok(n == 1 && strcmp(hex, "#FF0000") == 0 && c[0].share == 1.0 && strcmp(c[0].name, "red") == 0,
	   "solid red: one colour #FF0000 share 1 (n %d, %s, %g)", n, hex, c[0].share);
	fr_color_sample_free(&s);
	free(img);

	/* left half red, right half blue */
	img = solid(20, 10, 255, 0, 0);
	fill_rect(img, 20, 10, 0, 20, 10, 0, 0, 255);
	fr_color_sample(img, 20, 10, FR_COLOR_MAX_SAMPLES, true, &s);
	ok(!s.background_found, "a half/half border has no background");
	n = fr_dominant_colors(&s, 5, 42, c);
	ok(n == 2 && c[0].share == 0.5 && c[1].share == 0.5, "stripes: two colours of 0.5 (n %d)", n);
	/* equal shares are ordered by hex: #0000FF before #FF0000 */
	ok(n == 2 && c[0].rgb[2] == 255 && c[1].rgb[0] == 255, "stripes: blue then red on a tie");
	fr_color_sample_free(&s);
	free(img);

	/* a 10x10 red square on a 20x20 white background */
	img = solid(20, 20, 255, 255, 255);
	fill_rect(img, 20, 5, 5, 15, 15, 200, 16, 46);
	fr_color_sample(img, 20, 20, FR_COLOR_MAX_SAMPLES, true, &s);
	ok(s.background_found && s.n_foreground == 100, "white background found, 100 pixels left (%lld)",
	   (long long) s.n_foreground);
	ok_near(s.background_lab[0], 100.0, 1e-4, "background L is white's");
	n = fr_dominant_colors(&s, 5, 42, c);
	fr_color_hex(c[0].rgb, hex);
	ok(n == 1 && strcmp(hex, "#C8102E") == 0 && c[0].share == 1.0,
	   "product on white: only the product's colour (%s)", hex);
	fr_color_sample_free(&s);
	fr_color_sample(img, 20, 20, FR_COLOR_MAX_SAMPLES, false, &s);
	n = fr_dominant_colors(&s, 5, 42, c);
	ok(n == 2 && c[0].share == 0.75 && c[0].rgb[0] == 255 && c[0].rgb[1] == 255 && c[1].share == 0.25,
	   "without background removal: white 0.75, red 0.25");
	fr_color_sample_free(&s);

	/*
	 * A white shirt on white: the flood fill stops at its dark outline, so
	 * the white inside the outline stays foreground.
	 */
	fill_rect(img, 20, 4, 4, 16, 16, 40, 40, 40);
	fill_rect(img, 20, 5, 5, 15, 15, 255, 255, 255);
	fr_color_sample(img, 20, 20, FR_COLOR_MAX_SAMPLES, true, &s);
	n = fr_dominant_colors(&s, 2, 42, c);
	ok(s.n_foreground == 144 && n == 2 && c[0].share == 100.0 / 144 && strcmp(c[0].name, "white") == 0,
	   "a white garment inside an outline is kept (%lld foreground)", (long long) s.n_foreground);
	fr_color_sample_free(&s);
	free(img);

	/* three noisy colour groups of 50/30/20 %, k = 3 finds them */
	{
		FrRng		rng;
		int			w = 100,
					h = 100;
		double		want[3][3];
		const uint8_t base[3][3] = {{20, 30, 110}, {230, 200, 160}, {180, 30, 40}};
		int			ok_all = 1;
		FrDominantColor c2[FR_COLOR_MAX_K];

		img = malloc(w * h * 3);
		fr_rng_seed(&rng, 7);
		for (int i = 0; i < w * h; i++)
		{
			int			g = i < 5000 ? 0 : i < 8000 ? 1 : 2;

			for (int ch = 0; ch < 3; ch++)
				img[3 * i + ch] = (uint8_t) (base[g][ch] + (int) fr_rng_below(&rng, 7) - 3);
		}
		for (int g = 0; g < 3; g++)
			fr_srgb_to_lab(base[g], want[g]);
		fr_color_sample(img, w, h, FR_COLOR_MAX_SAMPLES, false, &s);
		n = fr_dominant_colors(&s, 3, 42, c);
		for (int g = 0; g < 3 && n == 3; g++)
			ok_all &= fr_delta_e(c[g].lab, want[g]) < 1.5;
		ok(n == 3 && ok_all, "three noisy groups recovered in Lab (n %d)", n);
		ok(n == 3 && c[0].share == 0.5 && c[1].share == 0.3 && fabs(c[2].share - 0.2) < 1e-12,
		   "shares 0.5 / 0.3 / 0.2");
		ok(n == 3 && strcmp(c[0].name, "navy") == 0 && strcmp(c[1].name, "beige") == 0 &&
		   strcmp(c[2].name, "red") == 0, "named navy, beige, red (%s, %s, %s)",
		   c[0].name, c[1].name, c[2].name);

		/* the same seed gives the same answer; k = 8 gives 8 colours summing to 1 */
		fr_dominant_colors(&s, 3, 42, c2);
		{
			int			same = 1;

			for (int i = 0; i < 3; i++)
				same &= memcmp(c[i].rgb, c2[i].rgb, 3) == 0 && c[i].share == c2[i].share &&
					memcmp(c[i].lab, c2[i].lab, sizeof(c[i].lab)) == 0;
			ok(same, "deterministic for a seed");
		}
		n = fr_dominant_colors(&s, 8, 1, c);
		{
			double		sum = 0;

			for (int i = 0; i < n; i++)
				sum += c[i].share;
			ok(n == 8 && fabs(sum - 1.0) < 1e-12, "k = 8: 8 colours, shares sum to 1 (%d, %g)", n, sum);
		}
		fr_color_sample_free(&s);
		free(img);
	}
}

static double
hist_cosine(const float *a, const float *b, int n)
{
	double		ab = 0,
				aa = 0,
				bb = 0;

	for (int i = 0; i < n; i++)
	{
		ab += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	return ab / sqrt(aa * bb);
}

static void
solid_histogram(uint8_t r, uint8_t g, uint8_t b, int bins, float *hist)
{
	FrColorSample s;
	uint8_t    *img = solid(4, 4, r, g, b);

	fr_color_sample(img, 4, 4, FR_COLOR_MAX_SAMPLES, false, &s);
	fr_color_histogram(&s, bins, hist);
	fr_color_sample_free(&s);
	free(img);
}

static void
test_histogram(void)
{
	FrColorSample s;
	float		hist[16 * 16 * 16];
	float		other[16 * 16 * 16];
	uint8_t    *img = solid(20, 10, 255, 0, 0);
	double		sum = 0;
	int			nonzero = 0;

	/*
	 * Soft bins, computed independently in Python: red (53.24, 80.09, 67.20)
	 * sits at cell coordinates (1.63, 3.09 -> clamped 3, 2.95), blue
	 * (32.30, 79.19, -107.86) at (0.79, 3.07 -> 3, -0.50 -> 0); each half of
	 * the image contributes 0.5.
	 */
	static const struct
	{
		int			cell;
		double		share;
	}			want[] = {
		{12, 0.1041}, {28, 0.3959}, {30, 0.0088}, {31, 0.1763}, {46, 0.0150}, {47, 0.2998},
	};
	int			match = 0;

	fill_rect(img, 20, 10, 0, 20, 10, 0, 0, 255);
	fr_color_sample(img, 20, 10, FR_COLOR_MAX_SAMPLES, true, &s);
	fr_color_histogram(&s, 4, hist);
	for (int i = 0; i < 64; i++)
	{
		sum += hist[i];
		nonzero += hist[i] > 0;
	}
	ok(nonzero == 6 && fabs(sum - 1.0) < 1e-6, "two-colour image: six soft cells, sum 1 (%d, %g)",
	   nonzero, sum);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		match += fabs(hist[want[i].cell] - want[i].share) < 1e-4;
	ok(match == 6, "the six cells hold the hand-computed shares (%d match)", match);
	fr_color_sample_free(&s);
	free(img);

	/* near colours across a cell boundary still overlap; far ones do not */
	solid_histogram(0xe0, 0x00, 0x00, 8, hist);
	solid_histogram(0xf0, 0x10, 0x10, 8, other);
	ok_near(hist_cosine(hist, other, 512), 0.8170, 1e-4, "cosine of #E00000 and #F01010 histograms");
	solid_histogram(0x1f, 0x2a, 0x44, 8, other);
	ok_near(hist_cosine(hist, other, 512), 0.0, 1e-12, "cosine of red and navy histograms");
}

/* ---- decoding ----------------------------------------------------------- */

static void
test_png(void)
{
	char		msg[FR_IMAGE_MSG_LEN];
	FrImage		im;
	FrImageInfo info;
	int			w = 13,
				h = 7;
	uint8_t    *rgb = malloc(w * h * 3);
	uint8_t    *png;
	size_t		png_len;
	Buf			b;
	FrImageStatus st;

	for (int i = 0; i < w * h * 3; i++)
		rgb[i] = (uint8_t) (i * 37 + 11);

	/* our encoder, our decoder */
	ok(fr_image_encode_png(rgb, w, h, &png, &png_len, msg) == FR_IMAGE_OK, "encode a PNG");
	ok(fr_image_probe(png, png_len, &info, msg) == FR_IMAGE_OK && info.format == FR_IMAGE_PNG &&
	   info.width == w && info.height == h, "probe reads format and size");
	ok(fr_image_decode(png, png_len, 0, &im, msg) == FR_IMAGE_OK && im.width == w &&
	   im.height == h && memcmp(im.rgb, rgb, w * h * 3) == 0, "decode gives back the pixels");
	fr_free(im.rgb);

	/* truncations at every length: never OK, never a crash */
	{
		int			bad = 0;

		for (size_t len = 0; len < png_len; len++)
		{
			FrImageStatus st = fr_image_decode(png, len, 0, &im, msg);

			bad += st == FR_IMAGE_OK;
			if (st == FR_IMAGE_OK)
				fr_free(im.rgb);
		}
		ok(bad == 0, "every truncation of the PNG is refused (%d accepted)", bad);
		ok(fr_image_decode(png, png_len / 2, 0, &im, msg) == FR_IMAGE_CORRUPT,
		   "half a PNG is corrupt: %s", msg);
	}

	/* a flipped byte in the pixel data: the CRC catches it */
	png[png_len - 20] ^= 0x55;
	ok(fr_image_decode(png, png_len, 0, &im, msg) == FR_IMAGE_CORRUPT, "bit flip: %s", msg);
	png[png_len - 20] ^= 0x55;

	/* huge declared size: refused from the header */
	png[16] = 0x00;
	png[17] = 0x01;
	png[18] = 0x00;
	png[19] = 0x00;				/* width 65536 */
	png[20] = 0x00;
	png[21] = 0x01;
	png[22] = 0x00;
	png[23] = 0x00;				/* height 65536 */
	ok(fr_image_decode(png, png_len, 0, &im, msg) == FR_IMAGE_TOO_LARGE, "65536x65536: %s", msg);
	ok(fr_image_probe(png, png_len, &info, msg) == FR_IMAGE_OK && info.width == 65536,
	   "probe reports the declared size");
	/* 5000 x 10000 is within the limit, but 344 bytes cannot hold it */
	png[16] = png[20] = 0;
	png[17] = 0;
	png[18] = 0x13;
	png[19] = 0x88;				/* width 5000 */
	png[21] = 0;
	png[22] = 0x27;
	png[23] = 0x10;				/* height 10000 */
	ok(fr_image_decode(png, png_len, 0, &im, msg) == FR_IMAGE_CORRUPT,
	   "5000x10000 in 344 bytes: %s", msg);
	png[23] = 0x11;				/* height 10001: 50,005,000 pixels */
	ok(fr_image_decode(png, png_len, 0, &im, msg) == FR_IMAGE_TOO_LARGE,
	   "5000x10001: %s", msg);
	fr_free(png);

	/* Adam7 interlaced RGB */
	b = write_png(w, h, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, rgb, NULL, 0, NULL, 0);
	ok(fr_image_decode(b.data, b.len, 0, &im, msg) == FR_IMAGE_OK &&
	   memcmp(im.rgb, rgb, w * h * 3) == 0, "interlaced PNG decodes exactly");
	fr_free(im.rgb);
	free(b.data);

	/* RGBA: transparent over white, half-transparent blended */
	{
		uint8_t		rgba[2 * 4] = {255, 0, 0, 0, 0, 0, 255, 128};

		b = write_png(2, 1, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE, rgba, NULL, 0, NULL, 0);
		st = fr_image_decode(b.data, b.len, 0, &im, msg);
		ok(st == FR_IMAGE_OK &&
		   im.rgb[0] == 255 && im.rgb[1] == 255 && im.rgb[2] == 255 &&
		   im.rgb[3] == 127 && im.rgb[4] == 127 && im.rgb[5] == 255,
		   "RGBA composited over white (%d,%d,%d)", im.rgb[3], im.rgb[4], im.rgb[5]);
		fr_free(im.rgb);
		free(b.data);
	}

	/* grey 8-bit and 16-bit */
	{
		uint8_t		g8[3] = {0, 128, 255};
		uint8_t		g16[6] = {0, 0, 0, 0x80, 0xff, 0xff};	/* little-endian 0, 0x8000, 0xffff */

		b = write_png(3, 1, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, g8, NULL, 0, NULL, 0);
		ok(fr_image_decode(b.data, b.len, 0, &im, msg) == FR_IMAGE_OK &&
		   im.rgb[3] == 128 && im.rgb[4] == 128 && im.rgb[5] == 128 && im.rgb[8] == 255,
		   "grey PNG expands to RGB");
		fr_free(im.rgb);
		free(b.data);
		b = write_png(3, 1, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, g16, NULL, 0, NULL, 0);
		st = fr_image_decode(b.data, b.len, 0, &im, msg);
		ok(st == FR_IMAGE_OK &&
		   im.rgb[0] == 0 && im.rgb[3] == 128 && im.rgb[6] == 255,
		   "16-bit PNG scales to 8 bits (%d)", im.rgb[3]);
		fr_free(im.rgb);
		free(b.data);
	}

	/* palette with a transparent entry, 4-bit indices */
	{
		png_color	pal[2] = {{0, 0, 128}, {255, 0, 0}};
		uint8_t		trns[2] = {255, 0};
		uint8_t		idx[1] = {0x01};	/* pixel 0 = entry 0, pixel 1 = entry 1 */

		b = write_png(2, 1, PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, idx, pal, 2, trns, 2);
		ok(fr_image_decode(b.data, b.len, 0, &im, msg) == FR_IMAGE_OK &&
		   im.rgb[0] == 0 && im.rgb[1] == 0 && im.rgb[2] == 128 &&
		   im.rgb[3] == 255 && im.rgb[4] == 255 && im.rgb[5] == 255,
		   "palette PNG with tRNS: navy, then transparent = white");
		fr_free(im.rgb);
		free(b.data);
	}
	free(rgb);
}

static void
test_jpeg(void)
{
	char		msg[FR_IMAGE_MSG_LEN];
	FrImage		im;
	FrImageInfo info;
	int			w = 64,
				h = 48;
	uint8_t    *rgb = solid(w, h, 255, 0, 0);
	Buf			b;
	FrImageStatus st;

	fill_rect(rgb, w, 32, 0, 64, 48, 0, 0, 255);
	b = write_jpeg(w, h, rgb, 95, false);
	ok(fr_image_probe(b.data, b.len, &info, msg) == FR_IMAGE_OK && info.format == FR_IMAGE_JPEG &&
	   info.width == w && info.height == h, "probe a JPEG");
	st = fr_image_decode(b.data, b.len, 0, &im, msg);
	ok(st == FR_IMAGE_OK && im.width == w &&
	   im.height == h && max_abs_diff(im.rgb, rgb, w * h * 3) <= 8,
	   "decode a JPEG close to its source (max diff %d)",
	   im.rgb ? max_abs_diff(im.rgb, rgb, w * h * 3) : -1);
	fr_free(im.rgb);

	/* DCT scaling: the largest 1/d keeping min_pixels */
	st = fr_image_decode(b.data, b.len, 700, &im, msg);
	ok(st == FR_IMAGE_OK && im.width == 32 &&
	   im.height == 24, "min_pixels 700 decodes at 1/2 (%dx%d)", im.width, im.height);
	fr_free(im.rgb);
	st = fr_image_decode(b.data, b.len, 1, &im, msg);
	ok(st == FR_IMAGE_OK && im.width == 8 &&
	   im.height == 6, "min_pixels 1 decodes at 1/8 (%dx%d)", im.width, im.height);
	fr_free(im.rgb);

	{
		int			bad = 0;

		for (size_t len = 0; len < b.len; len++)
		{
			FrImageStatus st = fr_image_decode(b.data, len, 0, &im, msg);

			bad += st == FR_IMAGE_OK;
			if (st == FR_IMAGE_OK)
				fr_free(im.rgb);
		}
		ok(bad == 0, "every truncation of the JPEG is refused (%d accepted)", bad);
		ok(fr_image_decode(b.data, b.len - 10, 0, &im, msg) == FR_IMAGE_CORRUPT,
		   "JPEG missing its last bytes: %s", msg);
	}

	/* huge declared size in the SOF0 marker */
	for (size_t i = 2; i + 8 < b.len; i++)
		if (b.data[i] == 0xFF && b.data[i + 1] == 0xC0)
		{
			b.data[i + 5] = 0x4E;
			b.data[i + 6] = 0x20;	/* height 20000 */
			b.data[i + 7] = 0x4E;
			b.data[i + 8] = 0x20;	/* width 20000 */
			break;
		}
	ok(fr_image_decode(b.data, b.len, 0, &im, msg) == FR_IMAGE_TOO_LARGE, "20000x20000 JPEG: %s", msg);
	ok(fr_image_probe(b.data, b.len, &info, msg) == FR_IMAGE_OK && info.width == 20000,
	   "probe reports the declared size");
	free(b.data);

	/* progressive */
	b = write_jpeg(w, h, rgb, 95, true);
	ok(fr_image_decode(b.data, b.len, 0, &im, msg) == FR_IMAGE_OK &&
	   max_abs_diff(im.rgb, rgb, w * h * 3) <= 8, "progressive JPEG decodes");
	fr_free(im.rgb);
	ok(fr_image_decode(b.data, b.len * 2 / 3, 0, &im, msg) == FR_IMAGE_CORRUPT,
	   "truncated progressive JPEG: %s", msg);
	free(b.data);
	free(rgb);
}

static void
test_garbage(void)
{
	char		msg[FR_IMAGE_MSG_LEN];
	FrImage		im;
	uint8_t		junk[4096] = {0};
	FrRng		rng;
	int			ok_count = 0;

	ok(fr_image_decode(junk, 0, 0, &im, msg) == FR_IMAGE_CORRUPT, "empty: %s", msg);
	ok(fr_image_decode((const uint8_t *) "GIF89a......", 12, 0, &im, msg) == FR_IMAGE_UNSUPPORTED,
	   "GIF: %s", msg);
	fr_rng_seed(&rng, 1);
	for (int i = 0; i < (int) sizeof(junk); i++)
		junk[i] = (uint8_t) fr_rng_next(&rng);
	ok(fr_image_decode(junk, sizeof(junk), 0, &im, msg) == FR_IMAGE_UNSUPPORTED,
	   "random bytes: %s", msg);

	/* random bodies behind valid magic numbers: never OK, never a crash */
	for (int trial = 0; trial < 200; trial++)
	{
		for (int i = 0; i < (int) sizeof(junk); i++)
			junk[i] = (uint8_t) fr_rng_next(&rng);
		if (trial % 2)
		{
			junk[0] = 0xFF;
			junk[1] = 0xD8;
			junk[2] = 0xFF;
		}
		else
			memcpy(junk, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0", 29);
		if (fr_image_decode(junk, sizeof(junk), 0, &im, msg) == FR_IMAGE_OK)
		{
			ok_count++;
			fr_free(im.rgb);
		}
	}
	ok(ok_count == 0, "200 random bodies behind JPEG/PNG magic are refused (%d accepted)", ok_count);

	/*
	 * Every single-byte corruption of a valid PNG and JPEG: whatever the
	 * status, a decoded image has the size its header declares (run under
	 * valgrind or ASan, this is the crash and leak test of the decoders).
	 */
	{
		uint8_t    *rgb = solid(24, 16, 200, 16, 46);
		uint8_t    *png;
		size_t		png_len;
		Buf			jpg = write_jpeg(24, 16, rgb, 80, false);
		int			inconsistent = 0,
					decoded = 0;

		fr_image_encode_png(rgb, 24, 16, &png, &png_len, msg);
		for (int which = 0; which < 2; which++)
		{
			uint8_t    *data = which ? jpg.data : png;
			size_t		len = which ? jpg.len : png_len;

			for (size_t pos = 0; pos < len; pos++)
			{
				FrImageInfo info;
				FrImageStatus st;

				data[pos] ^= 0xA5;
				st = fr_image_decode(data, len, 0, &im, msg);
				if (st == FR_IMAGE_OK)
				{
					decoded++;
					inconsistent += fr_image_probe(data, len, &info, msg) != FR_IMAGE_OK ||
						info.width != im.width || info.height != im.height;
					fr_free(im.rgb);
				}
				else if (st != FR_IMAGE_CORRUPT && st != FR_IMAGE_UNSUPPORTED && st != FR_IMAGE_TOO_LARGE)
					inconsistent++;
				data[pos] ^= 0xA5;
			}
		}
		ok(inconsistent == 0, "%zu single-byte corruptions: valid statuses, consistent sizes (%d decoded anyway)",
		   png_len + jpg.len, decoded);
		fr_free(png);
		free(jpg.data);
		free(rgb);
	}
}

int
main(void)
{
	test_lab();
	test_names();
	test_sample();
	test_dominant();
	test_histogram();
	test_png();
	test_jpeg();
	test_garbage();
	return done_testing();
}
