/*
 * image.h — JPEG and PNG bytes to RGB8 pixels, and a small PNG encoder.
 *
 * Decoding runs libjpeg-turbo and libpng over a memory buffer.  Both report
 * errors by calling back into the caller, which must not return; a
 * PostgreSQL ERROR longjmp'ing out of those callbacks would skip the
 * libraries' clean-up (their memory is malloc'd) and cross their frames.  So
 * every error of the libraries longjmps to a handler inside image.c, which
 * destroys the decoder and returns a status with a message; the caller (the
 * glue) turns that into an ERROR with the SQLSTATE the status calls for.
 *
 * Nothing here allocates with fr_alloc() while a decoder exists: the header
 * is read first (fr_image_probe), its dimensions are checked against the
 * limits, the output is allocated, and only then is a second decoder
 * created for the pixels.  A decompression bomb is thus refused from its
 * header, before a byte of its pixels is allocated.
 *
 * No PostgreSQL headers (kernel.h only).
 */
#ifndef FR_IMAGE_H
#define FR_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Images larger than these are refused (FR_IMAGE_TOO_LARGE, 54000). */
#define FR_IMAGE_MAX_BYTES		((size_t) 100 * 1024 * 1024)
#define FR_IMAGE_MAX_PIXELS		((int64_t) 50 * 1000 * 1000)

/* a fixed room for messages, so reporting never allocates */
#define FR_IMAGE_MSG_LEN		256

typedef enum FrImageFormat
{
	FR_IMAGE_UNKNOWN = 0,
	FR_IMAGE_PNG,
	FR_IMAGE_JPEG
} FrImageFormat;

typedef enum FrImageStatus
{
	FR_IMAGE_OK = 0,
	FR_IMAGE_CORRUPT,			/* damaged or truncated bytes: 22P02 */
	FR_IMAGE_UNSUPPORTED,		/* not JPEG or PNG, or a variant we cannot read: 22P02 */
	FR_IMAGE_TOO_LARGE			/* over FR_IMAGE_MAX_BYTES / _PIXELS: 54000 */
} FrImageStatus;

typedef struct FrImageInfo
{
	FrImageFormat format;
	int32_t		width;			/* as the header declares them */
	int32_t		height;
} FrImageInfo;

typedef struct FrImage
{
	int32_t		width;			/* of the decoded pixels (see min_pixels) */
	int32_t		height;
	uint8_t    *rgb;			/* width * height * 3 bytes, rows top-down, fr_alloc'd */
} FrImage;

extern const char *fr_image_format_name(FrImageFormat format);

/*
 * Read only the header: format and declared size.  Neither the pixel limit
 * nor any check of the pixel data applies, so a caller can report the size
 * of an oversized or truncated image.
 */
extern FrImageStatus fr_image_probe(const uint8_t *data, size_t len,
									FrImageInfo *info, char *msg);

/*
 * Decode to RGB8.  Transparent PNG pixels are composited over white (a cut-out
 * product shot has a white background in the shop).  A JPEG may be decoded
 * at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, much faster than a full
 * decode) while the result keeps at least min_pixels pixels; 0 means full
 * size.  msg receives FR_IMAGE_MSG_LEN bytes at most.
 */
extern FrImageStatus fr_image_decode(const uint8_t *data, size_t len,
									 int64_t min_pixels, FrImage *out, char *msg);

/*
 * Encode RGB8 pixels as an 8-bit RGB PNG into *png (fr_alloc'd), *png_len
 * bytes.  Fails (status and msg) only for sizes out of range.
 */
extern FrImageStatus fr_image_encode_png(const uint8_t *rgb, int32_t width, int32_t height,
										 uint8_t **png, size_t *png_len, char *msg);

#endif							/* FR_IMAGE_H */
