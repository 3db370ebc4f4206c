/*
 * color_sql.c — SQL functions over product images: dominant_colors,
 * color_histogram, image_info, encode_png, color_name, color_vocabulary.
 *
 * Thin glue: check the byte limit before detoasting, decode (image.c) and
 * compute (color.c) in a memory context of our own, and turn the kernels'
 * statuses into errors with the SQLSTATE that tells the caller what to fix.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "color.h"
#include "fashionrec.h"
#include "image.h"
#include "model.h"

/* Decoding more than this is pointless: the colour kernels sample at most FR_COLOR_MAX_SAMPLES. */
#define MIN_DECODE_PIXELS	(4 * (int64) FR_COLOR_MAX_SAMPLES)

static void
report_image_error(FrImageStatus status, const char *msg)
{
	char	   *detail = pstrdup(msg);

	if (detail[0] >= 'a' && detail[0] <= 'z')
		detail[0] += 'A' - 'a';
	switch (status)
	{
		case FR_IMAGE_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("image is too large"),
					 errdetail("%s.", detail),
					 errhint("Images are limited to %lld pixels and %zu MB; resize them before computing features.",
							 (long long) FR_IMAGE_MAX_PIXELS, FR_IMAGE_MAX_BYTES / (1024 * 1024))));
			break;
		case FR_IMAGE_UNSUPPORTED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("unsupported image format"),
					 errdetail("%s.", detail),
					 errhint("Only JPEG and PNG images are supported.")));
			break;
		case FR_IMAGE_CORRUPT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid image data"),
					 errdetail("%s.", detail)));
			break;
		case FR_IMAGE_OK:
			break;
	}
}

/*
 * The image argument, refused by its size before it is detoasted (a 1 GB
 * bytea would otherwise be read into memory first).
 */
static bytea *
image_arg(FunctionCallInfo fcinfo, int argno)
{
	Size		raw = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;

	if (raw > FR_IMAGE_MAX_BYTES)
		report_image_error(FR_IMAGE_TOO_LARGE,
						   psprintf("the image has %zu bytes, more than the %zu allowed",
									(size_t) raw, FR_IMAGE_MAX_BYTES));
	return PG_GETARG_BYTEA_PP(argno);
}

/* Decode, having checked the size from the header against the budgets. */
static void
decode_image(bytea *image, FrImage *im)
{
	const uint8 *data = (const uint8 *) VARDATA_ANY(image);
	size_t		len = VARSIZE_ANY_EXHDR(image);
	char		msg[FR_IMAGE_MSG_LEN];
	FrImageInfo info;
	FrImageStatus status;

	report_image_error(fr_image_probe(data, len, &info, msg), msg);
	/* over the pixel limit, decode refuses before allocating, with the numbers */
	if ((int64) info.width * info.height <= FR_IMAGE_MAX_PIXELS)
		/* the decoded pixels, RGBA while decoding an interlaced PNG */
		fr_check_memory(mul_size(mul_size(info.width, info.height), 4), "decoding the image");
	status = fr_image_decode(data, len, MIN_DECODE_PIXELS, im, msg);
	report_image_error(status, msg);
}

static int
int_arg(FunctionCallInfo fcinfo, int argno, const char *name, int lo, int hi)
{
	int			v = PG_GETARG_INT32(argno);

	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, got %d", name, lo, hi, v)));
	return v;
}

static MemoryContext
work_context(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "fashionrec image",
								 ALLOCSET_DEFAULT_SIZES);
}

/*
 * fashionrec.dominant_colors(image bytea, k int, ignore_background boolean,
 *     seed bigint) returns table(rank int, hex text, lab real[], share real, name text)
 */
PG_FUNCTION_INFO_V1(fashionrec_dominant_colors);
Datum
fashionrec_dominant_colors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *image = image_arg(fcinfo, 0);
	int			k = int_arg(fcinfo, 1, "k", 1, FR_COLOR_MAX_K);
	bool		ignore_background = PG_GETARG_BOOL(2);
	uint64		seed = (uint64) PG_GETARG_INT64(3);
	MemoryContext work,
				old;
	FrImage		im;
	FrColorSample sample;
	FrDominantColor colors[FR_COLOR_MAX_K];
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	work = work_context();
	old = MemoryContextSwitchTo(work);
	decode_image(image, &im);
	fr_color_sample(im.rgb, im.width, im.height, FR_COLOR_MAX_SAMPLES, ignore_background, &sample);
	n = fr_dominant_colors(&sample, k, seed, colors);

	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		Datum		lab[3];
		char		hex[8];

		fr_color_hex(colors[i].rgb, hex);
		for (int c = 0; c < 3; c++)
			lab[c] = Float4GetDatum((float4) colors[i].lab[c]);
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(hex);
		values[2] = PointerGetDatum(construct_array(lab, 3, FLOAT4OID, 4, true, TYPALIGN_INT));
		values[3] = Float4GetDatum((float4) colors[i].share);
		values[4] = CStringGetTextDatum(colors[i].name);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/*
 * fashionrec.color_histogram(image bytea, bins int, ignore_background boolean)
 *     returns real[]
 */
PG_FUNCTION_INFO_V1(fashionrec_color_histogram);
Datum
fashionrec_color_histogram(PG_FUNCTION_ARGS)
{
	bytea	   *image = image_arg(fcinfo, 0);
	int			bins = int_arg(fcinfo, 1, "bins", FR_COLOR_MIN_BINS, FR_COLOR_MAX_BINS);
	bool		ignore_background = PG_GETARG_BOOL(2);
	int			cells = bins * bins * bins;
	float	   *hist = palloc(sizeof(float) * cells);
	Datum	   *elems = palloc(sizeof(Datum) * cells);
	MemoryContext work,
				old;
	FrImage		im;
	FrColorSample sample;

	work = work_context();
	old = MemoryContextSwitchTo(work);
	decode_image(image, &im);
	fr_color_sample(im.rgb, im.width, im.height, FR_COLOR_MAX_SAMPLES, ignore_background, &sample);
	fr_color_histogram(&sample, bins, hist);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);

	for (int c = 0; c < cells; c++)
		elems[c] = Float4GetDatum(hist[c]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, cells, FLOAT4OID, 4, true, TYPALIGN_INT));
}

/*
 * fashionrec.image_info(image bytea, OUT format text, OUT width int, OUT height int)
 */
PG_FUNCTION_INFO_V1(fashionrec_image_info);
Datum
fashionrec_image_info(PG_FUNCTION_ARGS)
{
	bytea	   *image = image_arg(fcinfo, 0);
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {0};
	FrImageInfo info;
	char		msg[FR_IMAGE_MSG_LEN];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "image_info must return a record");
	report_image_error(fr_image_probe((const uint8 *) VARDATA_ANY(image),
									  VARSIZE_ANY_EXHDR(image), &info, msg), msg);
	values[0] = CStringGetTextDatum(fr_image_format_name(info.format));
	values[1] = Int32GetDatum(info.width);
	values[2] = Int32GetDatum(info.height);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * fashionrec.encode_png(width int, height int, rgb bytea) returns bytea
 */
PG_FUNCTION_INFO_V1(fashionrec_encode_png);
Datum
fashionrec_encode_png(PG_FUNCTION_ARGS)
{
	int32		width = PG_GETARG_INT32(0);
	int32		height = PG_GETARG_INT32(1);
	bytea	   *rgb;
	int64		expected;
	uint8	   *png;
	size_t		png_len;
	char		msg[FR_IMAGE_MSG_LEN];
	bytea	   *result;

	if (width <= 0 || height <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("width and height must be positive, got %d x %d", width, height)));
	if ((int64) width * height > FR_IMAGE_MAX_PIXELS)
		report_image_error(FR_IMAGE_TOO_LARGE,
						   psprintf("%d x %d = %lld pixels, more than the %lld allowed", width, height,
									(long long) width * height, (long long) FR_IMAGE_MAX_PIXELS));
	rgb = PG_GETARG_BYTEA_PP(2);
	expected = (int64) width * height * 3;
	if (VARSIZE_ANY_EXHDR(rgb) != expected)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rgb has %zu bytes, expected %lld", (size_t) VARSIZE_ANY_EXHDR(rgb),
						(long long) expected),
				 errdetail("A %d x %d image needs 3 bytes (red, green, blue) per pixel, rows top to bottom.",
						   width, height)));

	report_image_error(fr_image_encode_png((const uint8 *) VARDATA_ANY(rgb), width, height,
										   &png, &png_len, msg), msg);
	result = palloc(VARHDRSZ + png_len);
	SET_VARSIZE(result, VARHDRSZ + png_len);
	memcpy(VARDATA(result), png, png_len);
	pfree(png);
	PG_RETURN_BYTEA_P(result);
}

/*
 * fashionrec.color_name(color text) returns text
 */
PG_FUNCTION_INFO_V1(fashionrec_color_name);
Datum
fashionrec_color_name(PG_FUNCTION_ARGS)
{
	char	   *color = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint8		rgb[3];
	double		lab[3];

	if (!fr_color_parse_hex(color, rgb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid colour \"%s\"", color),
				 errhint("Give a hex colour such as '#1F2A44' or 'f80'.")));
	fr_srgb_to_lab(rgb, lab);
	PG_RETURN_TEXT_P(cstring_to_text(fr_color_name(lab)));
}

/*
 * fashionrec.color_vocabulary() returns table(name text, hex text, lab real[])
 */
PG_FUNCTION_INFO_V1(fashionrec_color_vocabulary);
Datum
fashionrec_color_vocabulary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *name,
			   *hex;
	int			n = fr_color_vocabulary(-1, &name, &hex);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};
		Datum		lab[3];
		uint8		rgb[3];
		double		l[3];

		fr_color_vocabulary(i, &name, &hex);
		fr_color_parse_hex(hex, rgb);
		fr_srgb_to_lab(rgb, l);
		for (int c = 0; c < 3; c++)
			lab[c] = Float4GetDatum((float4) l[c]);
		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(hex);
		values[2] = PointerGetDatum(construct_array(lab, 3, FLOAT4OID, 4, true, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
