/*
 * color.h — colour features of product images: CIELAB, a deterministic
 * pixel sample with the background removed, dominant colours by k-means++
 * in Lab, joint Lab histograms, and names from a fashion colour vocabulary.
 *
 * Plain C over RGB8 buffers (image.h decodes them); no PostgreSQL headers.
 */
#ifndef FR_COLOR_H
#define FR_COLOR_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/* At most this many pixels are looked at, whatever the image size. */
#define FR_COLOR_MAX_SAMPLES	65536
#define FR_COLOR_MAX_K			32
#define FR_COLOR_MIN_BINS		2
#define FR_COLOR_MAX_BINS		16

/*
 * Background rule (see fr_color_sample): when at least FR_COLOR_BORDER_SHARE
 * of the border pixels lie within FR_COLOR_BACKGROUND_DE (CIE76 delta E) of
 * one colour, the pixels within that distance of it that are connected to
 * the border are background.  If that would leave fewer than
 * FR_COLOR_MIN_FOREGROUND of the pixels, nothing is background (a plain
 * swatch is its own colour).
 */
#define FR_COLOR_BACKGROUND_DE	12.0
#define FR_COLOR_BORDER_SHARE	0.6
#define FR_COLOR_MIN_FOREGROUND 0.01

/* The pixels the colour features are computed from. */
typedef struct FrColorSample
{
	int32_t		width;			/* the sampling grid */
	int32_t		height;
	int32_t		step;			/* one sample per step x step block of the image */
	int64_t		n;				/* width * height */
	uint8_t    *rgb;			/* n * 3 */
	double	   *lab;			/* n * 3 */
	uint8_t    *background;		/* n flags */
	int64_t		n_foreground;
	bool		background_found;
	double		background_lab[3];	/* when background_found */
} FrColorSample;

typedef struct FrDominantColor
{
	uint8_t		rgb[3];			/* the cluster centre, back in sRGB */
	double		lab[3];			/* the cluster centre */
	double		share;			/* of the foreground samples; shares sum to 1 */
	const char *name;			/* nearest vocabulary colour */
} FrDominantColor;

/* sRGB (D65) <-> CIELAB (D65); lab_to_srgb clamps out-of-gamut values. */
extern void fr_srgb_to_lab(const uint8_t rgb[3], double lab[3]);
extern void fr_lab_to_srgb(const double lab[3], uint8_t rgb[3]);
extern double fr_delta_e(const double a[3], const double b[3]);

/*
 * A regular grid of at most max_samples pixels (the pixel at the centre of
 * each step x step block), converted to Lab, with the background flagged
 * when ignore_background.  Deterministic: no randomness in the sample.
 */
extern void fr_color_sample(const uint8_t *rgb, int32_t width, int32_t height,
							int64_t max_samples, bool ignore_background,
							FrColorSample *out);
extern void fr_color_sample_free(FrColorSample *s);

/*
 * Up to k dominant colours of the foreground: k-means++ seeding from
 * seed, then Lloyd iterations to convergence, over the distinct colours of
 * the sample weighted by their pixel counts.  Fewer than k when the sample
 * has fewer distinct colours.  Sorted by share, largest first.  Returns the
 * number written to out (k entries of room).
 */
extern int	fr_dominant_colors(const FrColorSample *s, int k, uint64_t seed,
							   FrDominantColor *out);

/*
 * The joint histogram of the foreground in Lab, bins^3 cells (L slowest,
 * b fastest) over the sRGB gamut's Lab bounding box, summing to 1.  Each
 * pixel is shared trilinearly between the cells whose centres surround it.
 */
extern void fr_color_histogram(const FrColorSample *s, int bins, float *hist);

/* The nearest colour of the fashion vocabulary (CIE76 in Lab). */
extern const char *fr_color_name(const double lab[3]);

/* "#RRGGBB", "RRGGBB", "#RGB" or "RGB" (case-insensitive); false if not. */
extern bool fr_color_parse_hex(const char *text, uint8_t rgb[3]);
extern void fr_color_hex(const uint8_t rgb[3], char out[8]);

/* Anchor i of the vocabulary (name and hex); returns the number of anchors. */
extern int	fr_color_vocabulary(int i, const char **name, const char **hex);

#endif							/* FR_COLOR_H */
