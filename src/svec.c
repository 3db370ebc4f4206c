/*
 * svec.c — the fashionrec.svec type: text and binary I/O, type modifier,
 * casts to and from real[], distance operators and helpers.
 *
 * The maths is in svec_ops.c; this file unpacks datums, validates and packs.
 * Text and binary input go through the same checks (fr_svec_check), so a
 * value received over the wire or from COPY BINARY is held to exactly the
 * rules of a typed literal: indices strictly ascending and within the
 * dimension, values finite.  Explicit zeros are accepted and dropped on
 * both paths.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "arrays.h"
#include "svec.h"

FrSvec *
fr_svec_new(int32 dim, int32 nnz)
{
	FrSvec	   *v = palloc0(FR_SVEC_SIZE(nnz));

	SET_VARSIZE(v, FR_SVEC_SIZE(nnz));
	v->dim = dim;
	v->nnz = nnz;
	return v;
}

/* After filling, shrink to the entries actually used (values move down). */
static void
svec_shrink(FrSvec *v, int32 nnz)
{
	if (nnz == v->nnz)
		return;
	memmove(v->indices + nnz, FR_SVEC_VALUES(v), sizeof(float) * nnz);
	v->nnz = nnz;
	SET_VARSIZE(v, FR_SVEC_SIZE(nnz));
}

void
fr_svec_report(FrSvecStatus status, int64 dim, int64 nnz, int32 bad,
			   const int32 *indices, const float *values)
{
	switch (status)
	{
		case FR_SVEC_OK:
			return;
		case FR_SVEC_DIM_TOO_SMALL:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec must have at least 1 dimension"),
					 errdetail("The dimension given is %lld.", (long long) dim)));
			break;
		case FR_SVEC_DIM_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("svec cannot have more than %d dimensions", FR_SVEC_MAX_DIM),
					 errdetail("The dimension given is %lld.", (long long) dim)));
			break;
		case FR_SVEC_NNZ_NEGATIVE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec cannot have a negative number of entries")));
			break;
		case FR_SVEC_NNZ_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("svec cannot have more than %d non-zero entries", FR_SVEC_MAX_NNZ),
					 errdetail("The value has %lld entries.", (long long) nnz)));
			break;
		case FR_SVEC_NNZ_ABOVE_DIM:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec has more entries (%lld) than dimensions (%lld)",
							(long long) nnz, (long long) dim)));
			break;
		case FR_SVEC_INDEX_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec index %lld is out of range for %lld dimensions",
							(long long) indices[bad] + 1, (long long) dim),
					 errdetail("Indices run from 1 to the dimension.")));
			break;
		case FR_SVEC_INDEX_ORDER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec indices must be in ascending order"),
					 errdetail("Index %d follows index %d.",
							   indices[bad] + 1, indices[bad - 1] + 1)));
			break;
		case FR_SVEC_INDEX_DUPLICATE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec index %d appears more than once", indices[bad] + 1)));
			break;
		case FR_SVEC_VALUE_NAN:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("NaN is not allowed in svec"),
					 errdetail("The value at index %d is NaN.", indices[bad] + 1)));
			break;
		case FR_SVEC_VALUE_INF:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("infinite value is not allowed in svec"),
					 errdetail("The value at index %d is %s.", indices[bad] + 1,
							   values[bad] > 0 ? "Infinity" : "-Infinity")));
			break;
	}
}

static void
check_typmod(int32 typmod, int32 dim)
{
	if (typmod >= 0 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

static void
check_same_dims(const FrSvec *a, const FrSvec *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different svec dimensions %d and %d", a->dim, b->dim)));
}

/* ---- text I/O ------------------------------------------------------------ */

static inline bool
svec_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void
bad_syntax(const char *lit, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type svec: \"%s\"", lit),
			 errdetail("%s", detail),
			 errhint("Write a sparse vector as {index:value,...}/dimension with 1-based indices, e.g. '{1:0.5,7:0.25}/10'.")));
}

static char *
skip_space(char *p)
{
	while (svec_isspace(*p))
		p++;
	return p;
}

/*
 * An unsigned decimal integer (no sign: "-1" is a syntax error, not index -1).
 * Anything above FR_SVEC_MAX_DIM is out of range whatever the dimension, so
 * it is reported here, quoting the digits as written.
 */
static int64
parse_count(const char *lit, char **pp, bool is_dim)
{
	char	   *p = *pp;
	int64		n = 0;

	if (!isdigit((unsigned char) *p))
		bad_syntax(lit, psprintf("Expected %s at \"%s\".", is_dim ? "the dimension" : "an index",
								 p[0] ? p : "end of input"));
	while (isdigit((unsigned char) *p))
	{
		if (n <= FR_SVEC_MAX_DIM)
			n = n * 10 + (*p - '0');
		p++;
	}
	if (n > FR_SVEC_MAX_DIM)
	{
		char	   *digits = pnstrdup(*pp, p - *pp);

		if (is_dim)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("svec cannot have more than %d dimensions", FR_SVEC_MAX_DIM),
					 errdetail("The dimension given is %s.", digits)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("svec index %s is out of range", digits),
				 errdetail("Indices run from 1 to the dimension, which is at most %d.", FR_SVEC_MAX_DIM)));
	}
	*pp = p;
	return n;
}

PG_FUNCTION_INFO_V1(fashionrec_svec_in);
Datum
fashionrec_svec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	int64		max_nnz = 1;
	int64	   *idx;
	float	   *val;
	int32		nnz = 0;
	int64		dim;
	char	   *p;
	FrSvec	   *v;
	FrSvecStatus st;
	int32		bad;

	for (p = lit; *p; p++)
		max_nnz += (*p == ',');
	if (max_nnz > FR_SVEC_MAX_NNZ)
		fr_svec_report(FR_SVEC_NNZ_TOO_LARGE, 0, max_nnz, 0, NULL, NULL);
	idx = palloc(sizeof(int64) * max_nnz);
	val = palloc(sizeof(float) * max_nnz);

	p = skip_space(lit);
	if (*p != '{')
		bad_syntax(lit, "Expected \"{\" at the start.");
	p = skip_space(p + 1);
	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			char	   *end;
			float		f;

			p = skip_space(p);
			idx[nnz] = parse_count(lit, &p, false);
			p = skip_space(p);
			if (*p != ':')
				bad_syntax(lit, "Expected \":\" after an index.");
			p = skip_space(p + 1);
			errno = 0;
			/* strtof like float4in, so a literal rounds once, not via double */
			f = strtof(p, &end);
			if (end == p)
				bad_syntax(lit, psprintf("Expected a number at \"%s\".", p[0] ? p : "end of input"));
			if (errno == ERANGE && (f == 0.0f || isinf(f)))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("\"%s\" is out of range for type svec", pnstrdup(p, end - p)),
						 errdetail("Values must fit in real (float4).")));
			val[nnz++] = f;
			p = skip_space(end);
			if (*p == ',')
				p++;
			else if (*p == '}')
			{
				p++;
				break;
			}
			else
				bad_syntax(lit, "Expected \",\" or \"}\" after a value.");
		}
	}
	p = skip_space(p);
	if (*p != '/')
		bad_syntax(lit, "Expected \"/\" and the dimension after \"}\".");
	p = skip_space(p + 1);
	dim = parse_count(lit, &p, true);
	p = skip_space(p);
	if (*p != '\0')
		bad_syntax(lit, "Unexpected text after the dimension.");

	st = fr_svec_check_shape(dim, nnz);
	if (st != FR_SVEC_OK)
		fr_svec_report(st, dim, nnz, 0, NULL, NULL);
	check_typmod(typmod, (int32) dim);

	v = fr_svec_new((int32) dim, nnz);
	for (int32 i = 0; i < nnz; i++)
	{
		if (idx[i] < 1 || idx[i] > dim)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("svec index %lld is out of range for %lld dimensions",
							(long long) idx[i], (long long) dim),
					 errdetail("Indices run from 1 to the dimension.")));
		v->indices[i] = (int32) (idx[i] - 1);
		FR_SVEC_VALUES(v)[i] = val[i];
	}
	st = fr_svec_check(v->dim, v->nnz, v->indices, FR_SVEC_VALUES(v), &bad);
	fr_svec_report(st, v->dim, v->nnz, bad, v->indices, FR_SVEC_VALUES(v));
	svec_shrink(v, fr_svec_drop_zeros(v->nnz, v->indices, FR_SVEC_VALUES(v)));
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_out);
Datum
fashionrec_svec_out(PG_FUNCTION_ARGS)
{
	FrSvec	   *v = PG_GETARG_FRSVEC(0);
	float	   *values = FR_SVEC_VALUES(v);
	char	   *buf = palloc((size_t) v->nnz * (12 + FLOAT_SHORTEST_DECIMAL_LEN) + 16);
	char	   *p = buf;

	*p++ = '{';
	for (int32 i = 0; i < v->nnz; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += pg_ltoa(v->indices[i] + 1, p);
		*p++ = ':';
		p += float_to_shortest_decimal_bufn(values[i], p);
	}
	*p++ = '}';
	*p++ = '/';
	p += pg_ltoa(v->dim, p);
	*p = '\0';
	PG_RETURN_CSTRING(buf);
}

/* ---- type modifier ------------------------------------------------------- */

PG_FUNCTION_INFO_V1(fashionrec_svec_typmod_in);
Datum
fashionrec_svec_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier for svec"),
				 errhint("Give one dimension, e.g. svec(50000).")));
	if (tl[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type svec must be at least 1")));
	if (tl[0] > FR_SVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dimensions for type svec cannot exceed %d", FR_SVEC_MAX_DIM)));
	PG_RETURN_INT32(tl[0]);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_typmod_out);
Datum
fashionrec_svec_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	PG_RETURN_CSTRING(typmod >= 0 ? psprintf("(%d)", typmod) : pstrdup(""));
}

/* svec(svec, typmod, explicit): the length coercion that enforces svec(n) */
PG_FUNCTION_INFO_V1(fashionrec_svec_coerce);
Datum
fashionrec_svec_coerce(PG_FUNCTION_ARGS)
{
	FrSvec	   *v = PG_GETARG_FRSVEC(0);

	check_typmod(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_POINTER(v);
}

/* ---- binary I/O ------------------------------------------------------------ */

/*
 * Wire format: int32 dim, int32 nnz, int32 reserved (0), nnz int32 0-based
 * indices, nnz float4 values.
 */
PG_FUNCTION_INFO_V1(fashionrec_svec_recv);
Datum
fashionrec_svec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int32		dim = pq_getmsgint(buf, sizeof(int32));
	int32		nnz = pq_getmsgint(buf, sizeof(int32));
	int32		unused = pq_getmsgint(buf, sizeof(int32));
	FrSvecStatus st;
	FrSvec	   *v;
	int32		bad;

	/* the shape decides the allocation: check it before trusting it */
	st = fr_svec_check_shape(dim, nnz);
	if (st != FR_SVEC_OK)
		fr_svec_report(st, dim, nnz, 0, NULL, NULL);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary svec: reserved field is %d, not 0", unused)));
	/* the message must hold what nnz promises before we allocate for it */
	if ((int64) (buf->len - buf->cursor) < (int64) nnz * 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary svec: %d entries announced, %d bytes left",
						nnz, buf->len - buf->cursor)));
	check_typmod(typmod, dim);

	v = fr_svec_new(dim, nnz);
	for (int32 i = 0; i < nnz; i++)
		v->indices[i] = pq_getmsgint(buf, sizeof(int32));
	for (int32 i = 0; i < nnz; i++)
		FR_SVEC_VALUES(v)[i] = pq_getmsgfloat4(buf);
	st = fr_svec_check(v->dim, v->nnz, v->indices, FR_SVEC_VALUES(v), &bad);
	fr_svec_report(st, v->dim, v->nnz, bad, v->indices, FR_SVEC_VALUES(v));
	svec_shrink(v, fr_svec_drop_zeros(v->nnz, v->indices, FR_SVEC_VALUES(v)));
	PG_RETURN_POINTER(v);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_send);
Datum
fashionrec_svec_send(PG_FUNCTION_ARGS)
{
	FrSvec	   *v = PG_GETARG_FRSVEC(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, v->dim);
	pq_sendint32(&buf, v->nnz);
	pq_sendint32(&buf, 0);
	for (int32 i = 0; i < v->nnz; i++)
		pq_sendint32(&buf, v->indices[i]);
	for (int32 i = 0; i < v->nnz; i++)
		pq_sendfloat4(&buf, FR_SVEC_VALUES(v)[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---- casts ------------------------------------------------------------------ */

/* real[] -> svec: the zeros of a dense array are left out */
PG_FUNCTION_INFO_V1(fashionrec_svec_from_array);
Datum
fashionrec_svec_from_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	const float *elems;
	int			n;
	int32		nnz = 0;
	FrSvecStatus st;
	FrSvec	   *v;
	int32		bad;

	elems = fr_array_values(arr, FLOAT4OID, "an array cast to svec", &n);
	for (int i = 0; i < n; i++)
		nnz += elems[i] != 0.0f;
	st = fr_svec_check_shape(n, nnz);
	if (st != FR_SVEC_OK)
		fr_svec_report(st, n, nnz, 0, NULL, NULL);
	check_typmod(typmod, n);

	v = fr_svec_new(n, nnz);
	nnz = 0;
	for (int i = 0; i < n; i++)
	{
		float		f = elems[i];

		if (f != 0.0f)
		{
			v->indices[nnz] = i;
			FR_SVEC_VALUES(v)[nnz++] = f;
		}
	}
	st = fr_svec_check(v->dim, v->nnz, v->indices, FR_SVEC_VALUES(v), &bad);
	fr_svec_report(st, v->dim, v->nnz, bad, v->indices, FR_SVEC_VALUES(v));
	PG_RETURN_POINTER(v);
}

/* svec -> real[]: the dense form, zeros filled in */
PG_FUNCTION_INFO_V1(fashionrec_svec_to_array);
Datum
fashionrec_svec_to_array(PG_FUNCTION_ARGS)
{
	FrSvec	   *v = PG_GETARG_FRSVEC(0);
	ArrayType  *arr;
	size_t		nbytes;
	float	   *data;

	if (v->dim > (int32) MaxArraySize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("svec with %d dimensions is too large for a real[]", v->dim),
				 errdetail("A dense array holds at most %d elements.", (int) MaxArraySize)));
	nbytes = ARR_OVERHEAD_NONULLS(1) + (size_t) v->dim * sizeof(float4);
	arr = palloc0(nbytes);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	ARR_DIMS(arr)[0] = v->dim;
	ARR_LBOUND(arr)[0] = 1;
	data = (float *) ARR_DATA_PTR(arr);
	for (int32 i = 0; i < v->nnz; i++)
		data[v->indices[i]] = FR_SVEC_VALUES(v)[i];
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* ---- operators and functions --------------------------------------------- */

#define SVEC_ARGS(a, b) \
	(a)->nnz, (a)->indices, FR_SVEC_VALUES(a), (b)->nnz, (b)->indices, FR_SVEC_VALUES(b)

PG_FUNCTION_INFO_V1(fashionrec_svec_cosine_distance);
Datum
fashionrec_svec_cosine_distance(PG_FUNCTION_ARGS)
{
	FrSvec	   *a = PG_GETARG_FRSVEC(0);
	FrSvec	   *b = PG_GETARG_FRSVEC(1);

	check_same_dims(a, b);
	PG_RETURN_FLOAT8(fr_svec_cosine_distance(SVEC_ARGS(a, b)));
}

PG_FUNCTION_INFO_V1(fashionrec_svec_negative_inner_product);
Datum
fashionrec_svec_negative_inner_product(PG_FUNCTION_ARGS)
{
	FrSvec	   *a = PG_GETARG_FRSVEC(0);
	FrSvec	   *b = PG_GETARG_FRSVEC(1);

	double		dot;

	check_same_dims(a, b);
	dot = fr_svec_dot(SVEC_ARGS(a, b));
	/* no "-0" for vectors that share nothing */
	PG_RETURN_FLOAT8(dot == 0.0 ? 0.0 : -dot);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_l2_distance);
Datum
fashionrec_svec_l2_distance(PG_FUNCTION_ARGS)
{
	FrSvec	   *a = PG_GETARG_FRSVEC(0);
	FrSvec	   *b = PG_GETARG_FRSVEC(1);

	check_same_dims(a, b);
	PG_RETURN_FLOAT8(fr_svec_l2_distance(SVEC_ARGS(a, b)));
}

PG_FUNCTION_INFO_V1(fashionrec_svec_dims);
Datum
fashionrec_svec_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_FRSVEC(0)->dim);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_nnz);
Datum
fashionrec_svec_nnz(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_FRSVEC(0)->nnz);
}

PG_FUNCTION_INFO_V1(fashionrec_svec_l2_normalize);
Datum
fashionrec_svec_l2_normalize(PG_FUNCTION_ARGS)
{
	FrSvec	   *v = (FrSvec *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));

	fr_svec_l2_normalize(v->nnz, FR_SVEC_VALUES(v));
	/* a tiny entry next to a huge one can underflow to zero */
	svec_shrink(v, fr_svec_drop_zeros(v->nnz, v->indices, FR_SVEC_VALUES(v)));
	PG_RETURN_POINTER(v);
}
