/*
 * image.c — JPEG (libjpeg-turbo) and PNG (libpng) decoding from memory, and
 * a PNG encoder.  See image.h for the error discipline: every library error
 * longjmps to a setjmp in this file, the decoder is destroyed there, and a
 * status goes back to the caller; no fr_alloc() (whose failure would be a
 * PostgreSQL ERROR) happens while a library object exists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "image.h"
#include "kernel.h"

/*
 * Deflate cannot compress better than 1032:1 (a 258-byte match costs at
 * least two bits), so a PNG declaring more image data than that times its
 * own length is truncated or forged, whatever its chunks say.
 */
#define DEFLATE_MAX_RATIO	1032
#define DEFLATE_SLACK		65536

/* A progressive JPEG with thousands of tiny scans decodes for minutes. */
#define JPEG_MAX_SCANS		500

/* libjpeg's own working memory (coefficient buffers of progressive JPEGs) */
#define JPEG_MAX_MEMORY		(512L * 1024 * 1024)

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

const char *
fr_image_format_name(FrImageFormat format)
{
	switch (format)
	{
		case FR_IMAGE_PNG:
			return "png";
		case FR_IMAGE_JPEG:
			return "jpeg";
		default:
			return "unknown";
	}
}

static FrImageStatus
fail(char *msg, FrImageStatus status, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static FrImageStatus
fail(char *msg, FrImageStatus status, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, FR_IMAGE_MSG_LEN, fmt, ap);
	va_end(ap);
	return status;
}

static FrImageFormat
sniff(const uint8_t *data, size_t len)
{
	if (len >= 8 && memcmp(data, png_signature, 8) == 0)
		return FR_IMAGE_PNG;
	if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
		return FR_IMAGE_JPEG;
	return FR_IMAGE_UNKNOWN;
}

static FrImageStatus
unknown_format(const uint8_t *data, size_t len, char *msg)
{
	static const struct
	{
		const char *magic;
		size_t		len;
		const char *name;
	}			known[] = {
		{"GIF8", 4, "GIF"},
		{"RIFF", 4, "RIFF (WebP?)"},
		{"BM", 2, "BMP"},
		{"II*\0", 4, "TIFF"},
		{"MM\0*", 4, "TIFF"},
	};

	if (len == 0)
		return fail(msg, FR_IMAGE_CORRUPT, "the image is empty");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (len >= known[i].len && memcmp(data, known[i].magic, known[i].len) == 0)
			return fail(msg, FR_IMAGE_UNSUPPORTED, "%s images are not supported", known[i].name);
	return fail(msg, FR_IMAGE_UNSUPPORTED, "the bytes are neither JPEG nor PNG");
}

/* ---- PNG ---------------------------------------------------------------- */

typedef struct PngHeader
{
	uint32_t	width;
	uint32_t	height;
	int			depth;
	int			color_type;
	int			interlaced;
} PngHeader;

static uint32_t
be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

/* The IHDR chunk read by hand: the size is known before libpng runs. */
static FrImageStatus
png_header(const uint8_t *data, size_t len, PngHeader *h, char *msg)
{
	if (len < 33)
		return fail(msg, FR_IMAGE_CORRUPT, "PNG truncated inside its header (%zu bytes)", len);
	if (be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0)
		return fail(msg, FR_IMAGE_CORRUPT, "PNG does not start with an IHDR chunk");
	h->width = be32(data + 16);
	h->height = be32(data + 20);
	h->depth = data[24];
	h->color_type = data[25];
	h->interlaced = data[28];
	if (h->width == 0 || h->height == 0 || h->width > 0x7fffffff || h->height > 0x7fffffff)
		return fail(msg, FR_IMAGE_CORRUPT, "PNG declares an invalid size %ux%u", h->width, h->height);
	return FR_IMAGE_OK;
}

static FrImageStatus
png_plausible(const PngHeader *h, size_t len, char *msg)
{
	int			channels;
	double		raw;

	switch (h->color_type)
	{
		case 0:
		case 3:
			channels = 1;
			break;
		case 2:
			channels = 3;
			break;
		case 4:
			channels = 2;
			break;
		case 6:
			channels = 4;
			break;
		default:
			return fail(msg, FR_IMAGE_CORRUPT, "PNG has an invalid color type %d", h->color_type);
	}
	if (h->depth != 1 && h->depth != 2 && h->depth != 4 && h->depth != 8 && h->depth != 16)
		return fail(msg, FR_IMAGE_CORRUPT, "PNG has an invalid bit depth %d", h->depth);
	/* the filtered scanlines, one filter byte each; exact in double below 2^53 */
	raw = (double) h->height * (1.0 + ((double) h->width * channels * h->depth + 7) / 8);
	if (raw > (double) DEFLATE_MAX_RATIO * len + DEFLATE_SLACK)
		return fail(msg, FR_IMAGE_CORRUPT,
					"PNG declares %ux%u pixels but its %zu bytes cannot hold them (truncated or forged)",
					h->width, h->height, len);
	return FR_IMAGE_OK;
}

typedef struct PngIo
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	uint8_t    *out;			/* encoder: pre-allocated buffer */
	size_t		cap;
	char	   *msg;
} PngIo;

static void
png_on_error(png_structp png, png_const_charp text)
{
	PngIo	   *io = png_get_error_ptr(png);

	snprintf(io->msg, FR_IMAGE_MSG_LEN, "PNG: %s", text);
	png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp text)
{
	/* benign (an unknown ancillary chunk, a bad gamma value): decode anyway */
}

static void
png_read_mem(png_structp png, png_bytep dst, size_t n)
{
	PngIo	   *io = png_get_io_ptr(png);

	if (n > io->len - io->pos)
		png_error(png, "truncated data");
	memcpy(dst, io->data + io->pos, n);
	io->pos += n;
}

/* RGBA to RGB over white, in place (dst never overtakes src). */
static void
composite_row(const uint8_t *src, int channels, uint8_t *dst, uint32_t width)
{
	for (uint32_t x = 0; x < width; x++)
	{
		const uint8_t *s = src + (size_t) x * channels;
		uint8_t    *d = dst + (size_t) x * 3;

		if (channels == 4)
		{
			unsigned	a = s[3];

			for (int c = 0; c < 3; c++)
				d[c] = (uint8_t) ((s[c] * a + 255 * (255 - a) + 127) / 255);
		}
		else if (d != s)
			memmove(d, s, 3);
	}
}

static FrImageStatus
png_decode(const uint8_t *data, size_t len, const PngHeader *h, FrImage *out, char *msg)
{
	PngIo		io = {data, len, 0, NULL, 0, msg};
	size_t		w = h->width;
	size_t		hgt = h->height;
	uint8_t    *rgb;
	uint8_t    *work;			/* one RGBA row, or the whole RGBA image if interlaced */
	png_structp png;
	png_infop	info = NULL;
	int			passes,
				channels;

	/* everything we need, before libpng exists */
	if (h->interlaced)
	{
		rgb = work = fr_alloc(fr_mul_size(fr_mul_size(w, hgt), 4));
	}
	else
	{
		rgb = fr_alloc(fr_mul_size(fr_mul_size(w, hgt), 3));
		work = fr_alloc(fr_mul_size(w, 4));
	}

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, png_on_error, png_on_warning);
	if (png == NULL)
	{
		if (!h->interlaced)
			fr_free(work);
		fr_free(rgb);
		return fail(msg, FR_IMAGE_TOO_LARGE, "PNG: out of memory");
	}
	info = png_create_info_struct(png);
	if (info == NULL || setjmp(png_jmpbuf(png)))
	{
		png_destroy_read_struct(&png, info ? &info : NULL, NULL);
		if (!h->interlaced)
			fr_free(work);
		fr_free(rgb);
		return FR_IMAGE_CORRUPT;
	}
	/* we checked the size ourselves, against our own limit */
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_read_fn(png, &io, png_read_mem);
	png_read_info(png, info);
	if (png_get_image_width(png, info) != h->width || png_get_image_height(png, info) != h->height)
		png_error(png, "IHDR changed between reads");

	png_set_expand(png);
	png_set_scale_16(png);
	png_set_gray_to_rgb(png);
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	channels = png_get_channels(png, info);
	if ((channels != 3 && channels != 4) || png_get_bit_depth(png, info) != 8 ||
		png_get_rowbytes(png, info) != w * channels)
		png_error(png, "unexpected pixel layout after conversion");
	if ((passes > 1) != (h->interlaced != 0))
		png_error(png, "interlacing differs from IHDR");

	if (passes > 1)
	{
		for (int p = 0; p < passes; p++)
			for (size_t y = 0; y < hgt; y++)
				png_read_row(png, work + y * w * channels, NULL);
	}
	else
	{
		for (size_t y = 0; y < hgt; y++)
		{
			png_read_row(png, work, NULL);
			composite_row(work, channels, rgb + y * w * 3, h->width);
		}
	}
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);

	if (passes > 1)
		for (size_t y = 0; y < hgt; y++)
			composite_row(work + y * w * channels, channels, rgb + y * w * 3, h->width);
	else
		fr_free(work);
	out->width = (int32_t) w;
	out->height = (int32_t) hgt;
	out->rgb = rgb;
	return FR_IMAGE_OK;
}

/* ---- JPEG --------------------------------------------------------------- */

typedef struct JpegError
{
	struct jpeg_error_mgr pub;	/* first: libjpeg casts cinfo->err to this */
	jmp_buf		jump;
	FrImageStatus status;
	char	   *msg;
} JpegError;

static void
jpeg_on_error(j_common_ptr cinfo)
{
	JpegError  *err = (JpegError *) cinfo->err;
	char		text[JMSG_LENGTH_MAX];
	int			code = err->pub.msg_code;

	(*err->pub.format_message) (cinfo, text);
	if (code == JERR_IMAGE_TOO_BIG || code == JERR_WIDTH_OVERFLOW ||
		code == JERR_OUT_OF_MEMORY || code == JERR_NO_BACKING_STORE)
		err->status = FR_IMAGE_TOO_LARGE;
	else if (code == JERR_CONVERSION_NOTIMPL || code == JERR_NOT_COMPILED ||
			 code == JERR_BAD_PRECISION)
		err->status = FR_IMAGE_UNSUPPORTED;
	else
		err->status = FR_IMAGE_CORRUPT;
	snprintf(err->msg, FR_IMAGE_MSG_LEN, "JPEG: %s", text);
	longjmp(err->jump, 1);
}

/*
 * Warnings that mean pixels were invented (libjpeg pads a truncated file
 * with grey and carries on) are errors for us: colours computed from made-up
 * pixels are wrong.  Cosmetic ones (stray bytes between markers, an unknown
 * JFIF revision, a bad ICC profile) are not.
 */
static void
jpeg_on_message(j_common_ptr cinfo, int level)
{
	int			code = cinfo->err->msg_code;

	if (level >= 0)
		return;
	if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
		code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC ||
		code == JWRN_BOGUS_PROGRESSION || code == JWRN_NOT_SEQUENTIAL)
		jpeg_on_error(cinfo);
}

static void
jpeg_on_progress(j_common_ptr cinfo)
{
	if (cinfo->is_decompressor &&
		((j_decompress_ptr) cinfo)->input_scan_number > JPEG_MAX_SCANS)
	{
		JpegError  *err = (JpegError *) cinfo->err;

		err->status = FR_IMAGE_CORRUPT;
		snprintf(err->msg, FR_IMAGE_MSG_LEN, "JPEG has more than %d scans", JPEG_MAX_SCANS);
		longjmp(err->jump, 1);
	}
}

static void
jpeg_setup(struct jpeg_decompress_struct *cinfo, JpegError *err,
		   struct jpeg_progress_mgr *progress, char *msg)
{
	cinfo->err = jpeg_std_error(&err->pub);
	err->pub.error_exit = jpeg_on_error;
	err->pub.emit_message = jpeg_on_message;
	err->msg = msg;
	err->status = FR_IMAGE_OK;
	progress->progress_monitor = jpeg_on_progress;
}

static FrImageStatus
jpeg_header(const uint8_t *data, size_t len, FrImageInfo *info, char *msg)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	JpegError	err;

	jpeg_setup(&cinfo, &err, &progress, msg);
	if (setjmp(err.jump))
	{
		jpeg_destroy_decompress(&cinfo);
		return err.status;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.progress = &progress;
	cinfo.mem->max_memory_to_use = JPEG_MAX_MEMORY;
	jpeg_mem_src(&cinfo, data, (unsigned long) len);
	jpeg_read_header(&cinfo, TRUE);
	info->format = FR_IMAGE_JPEG;
	info->width = (int32_t) cinfo.image_width;
	info->height = (int32_t) cinfo.image_height;
	jpeg_destroy_decompress(&cinfo);
	return FR_IMAGE_OK;
}

/* The largest DCT scale-down 1/d that keeps at least min_pixels. */
static int
jpeg_denominator(const FrImageInfo *info, int64_t min_pixels)
{
	int			d = 1;

	if (min_pixels <= 0)
		return 1;
	while (d < 8)
	{
		int64_t		w = (info->width + 2 * d - 1) / (2 * d);
		int64_t		h = (info->height + 2 * d - 1) / (2 * d);

		if (w * h < min_pixels)
			break;
		d *= 2;
	}
	return d;
}

static FrImageStatus
jpeg_decode(const uint8_t *data, size_t len, const FrImageInfo *hdr, int denom,
			FrImage *out, char *msg)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	JpegError	err;
	size_t		w = ((size_t) hdr->width + denom - 1) / denom;
	size_t		h = ((size_t) hdr->height + denom - 1) / denom;
	uint8_t    *rgb;
	uint8_t    *cmyk;

	/* before libjpeg exists: the output, and a row for CMYK files */
	rgb = fr_alloc(fr_mul_size(fr_mul_size(w, h), 3));
	cmyk = fr_alloc(fr_mul_size(w, 4));

	jpeg_setup(&cinfo, &err, &progress, msg);
	if (setjmp(err.jump))
	{
		jpeg_destroy_decompress(&cinfo);
		fr_free(cmyk);
		fr_free(rgb);
		return err.status;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.progress = &progress;
	cinfo.mem->max_memory_to_use = JPEG_MAX_MEMORY;
	jpeg_mem_src(&cinfo, data, (unsigned long) len);
	jpeg_read_header(&cinfo, TRUE);

	switch (cinfo.jpeg_color_space)
	{
		case JCS_GRAYSCALE:
		case JCS_YCbCr:
		case JCS_RGB:
			cinfo.out_color_space = JCS_RGB;
			break;
		case JCS_CMYK:
		case JCS_YCCK:
			cinfo.out_color_space = JCS_CMYK;
			break;
		default:
			err.status = FR_IMAGE_UNSUPPORTED;
			snprintf(msg, FR_IMAGE_MSG_LEN, "JPEG color space %d is not supported",
					 (int) cinfo.jpeg_color_space);
			longjmp(err.jump, 1);
	}
	cinfo.scale_num = 1;
	cinfo.scale_denom = denom;
	cinfo.dct_method = JDCT_ISLOW;	/* the exact one: same pixels with or without SIMD */
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_width != w || cinfo.output_height != h ||
		cinfo.output_components != (cinfo.out_color_space == JCS_CMYK ? 4 : 3))
	{
		err.status = FR_IMAGE_CORRUPT;
		snprintf(msg, FR_IMAGE_MSG_LEN, "JPEG: unexpected output geometry");
		longjmp(err.jump, 1);
	}
	while (cinfo.output_scanline < cinfo.output_height)
	{
		size_t		y = cinfo.output_scanline;
		JSAMPROW	row = cinfo.out_color_space == JCS_CMYK ? cmyk : rgb + y * w * 3;

		if (jpeg_read_scanlines(&cinfo, &row, 1) != 1)
		{
			err.status = FR_IMAGE_CORRUPT;
			snprintf(msg, FR_IMAGE_MSG_LEN, "JPEG: no scanline returned");
			longjmp(err.jump, 1);
		}
		if (cinfo.out_color_space == JCS_CMYK)
		{
			/* Adobe writes CMYK inverted (0 = full ink); others do not */
			bool		inverted = cinfo.saw_Adobe_marker;
			uint8_t    *d = rgb + y * w * 3;

			for (size_t x = 0; x < w; x++)
			{
				unsigned	k = inverted ? cmyk[4 * x + 3] : 255 - cmyk[4 * x + 3];

				for (int c = 0; c < 3; c++)
				{
					unsigned	v = inverted ? cmyk[4 * x + c] : 255 - cmyk[4 * x + c];

					d[3 * x + c] = (uint8_t) ((v * k + 127) / 255);
				}
			}
		}
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	fr_free(cmyk);

	out->width = (int32_t) w;
	out->height = (int32_t) h;
	out->rgb = rgb;
	return FR_IMAGE_OK;
}

/* ---- entry points ------------------------------------------------------- */

static FrImageStatus
read_header(const uint8_t *data, size_t len, FrImageInfo *info, PngHeader *png, char *msg)
{
	FrImageStatus st;

	memset(info, 0, sizeof(*info));
	msg[0] = '\0';
	if (len > FR_IMAGE_MAX_BYTES)
		return fail(msg, FR_IMAGE_TOO_LARGE, "the image has %zu bytes, more than the %zu allowed",
					len, FR_IMAGE_MAX_BYTES);
	switch (sniff(data, len))
	{
		case FR_IMAGE_PNG:
			st = png_header(data, len, png, msg);
			if (st == FR_IMAGE_OK)
			{
				info->format = FR_IMAGE_PNG;
				info->width = (int32_t) png->width;
				info->height = (int32_t) png->height;
			}
			return st;
		case FR_IMAGE_JPEG:
			return jpeg_header(data, len, info, msg);
		default:
			return unknown_format(data, len, msg);
	}
}

FrImageStatus
fr_image_probe(const uint8_t *data, size_t len, FrImageInfo *info, char *msg)
{
	PngHeader	png;

	return read_header(data, len, info, &png, msg);
}

FrImageStatus
fr_image_decode(const uint8_t *data, size_t len, int64_t min_pixels, FrImage *out, char *msg)
{
	FrImageInfo info;
	PngHeader	png;
	FrImageStatus st;

	memset(out, 0, sizeof(*out));
	st = read_header(data, len, &info, &png, msg);
	if (st != FR_IMAGE_OK)
		return st;
	/* the bomb check: from the header, before anything is allocated */
	if ((int64_t) info.width * info.height > FR_IMAGE_MAX_PIXELS)
		return fail(msg, FR_IMAGE_TOO_LARGE,
					"%s declares %dx%d = %lld pixels, more than the %lld allowed",
					info.format == FR_IMAGE_PNG ? "PNG" : "JPEG", info.width, info.height,
					(long long) info.width * info.height, (long long) FR_IMAGE_MAX_PIXELS);
	if (info.format == FR_IMAGE_PNG)
	{
		st = png_plausible(&png, len, msg);
		if (st != FR_IMAGE_OK)
			return st;
		return png_decode(data, len, &png, out, msg);
	}
	return jpeg_decode(data, len, &info, jpeg_denominator(&info, min_pixels), out, msg);
}

static void
png_write_mem(png_structp png, png_bytep src, size_t n)
{
	PngIo	   *io = png_get_io_ptr(png);

	if (n > io->cap - io->pos)
		png_error(png, "output larger than its bound");
	memcpy(io->out + io->pos, src, n);
	io->pos += n;
}

static void
png_flush_mem(png_structp png)
{
}

FrImageStatus
fr_image_encode_png(const uint8_t *rgb, int32_t width, int32_t height,
					uint8_t **result, size_t *result_len, char *msg)
{
	PngIo		io = {0};
	png_structp png;
	png_infop	info = NULL;
	size_t		raw;

	msg[0] = '\0';
	*result = NULL;
	*result_len = 0;
	if (width <= 0 || height <= 0)
		fr_fail(FR_FAIL_PARAM, "PNG size must be positive, got %dx%d", width, height);
	if ((int64_t) width * height > FR_IMAGE_MAX_PIXELS)
		return fail(msg, FR_IMAGE_TOO_LARGE, "%dx%d = %lld pixels, more than the %lld allowed",
					width, height, (long long) width * height, (long long) FR_IMAGE_MAX_PIXELS);

	/* deflate never grows data by more than a few per mille, chunk headers included */
	raw = fr_mul_size(height, fr_add_size(fr_mul_size(width, 3), 1));
	io.cap = fr_add_size(fr_add_size(raw, raw / 8), 4096);
	io.out = fr_alloc(io.cap);
	io.msg = msg;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, png_on_error, png_on_warning);
	if (png == NULL)
	{
		fr_free(io.out);
		return fail(msg, FR_IMAGE_TOO_LARGE, "PNG: out of memory");
	}
	info = png_create_info_struct(png);
	if (info == NULL || setjmp(png_jmpbuf(png)))
	{
		png_destroy_write_struct(&png, info ? &info : NULL);
		fr_free(io.out);
		return FR_IMAGE_CORRUPT;
	}
	png_set_write_fn(png, &io, png_write_mem, png_flush_mem);
	png_set_IHDR(png, info, (png_uint_32) width, (png_uint_32) height, 8, PNG_COLOR_TYPE_RGB,
				 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int32_t y = 0; y < height; y++)
		png_write_row(png, rgb + (size_t) y * width * 3);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);

	*result = io.out;
	*result_len = io.pos;
	return FR_IMAGE_OK;
}
