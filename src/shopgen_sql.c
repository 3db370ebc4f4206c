/*
 * shopgen_sql.c — SQL entry points of the synthetic shop generator (shopgen.c).
 *
 * Value-per-call set-returning functions, one row per call, so that
 * fashionrec.generate_shop() can stream ten million events through
 * INSERT ... SELECT without holding them: the generator state (catalogue
 * summary, alias tables, per-customer quotas) lives in the SRF's multi-call
 * context and is freed when the scan ends or the statement fails.
 *
 * They are internal: generate_shop() creates the tables, these fill them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "shopgen.h"

/* seconds from the shop epoch as a timestamptz */
static inline Datum
shop_time(int64 t)
{
	return TimestampTzGetDatum((TimestampTz) (FR_SHOP_EPOCH_PG + t) * USECS_PER_SEC);
}

static void
check_sizes(int32 customers, int32 products, int64 events)
{
	if (customers < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customers must be at least 1, not %d", customers),
				 errhint("customers is how many customers to make, e.g. 2000.")));
	if (customers > FR_SHOP_MAX_CUSTOMERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("customers must be at most %d, not %d",
						FR_SHOP_MAX_CUSTOMERS, customers),
				 errhint("The generator makes up to %d customers, %d products and " INT64_FORMAT " events.",
						 FR_SHOP_MAX_CUSTOMERS, FR_SHOP_MAX_PRODUCTS, FR_SHOP_MAX_EVENTS)));
	if (products < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("products must be at least 1, not %d", products),
				 errhint("products is how many products to make, e.g. 500.")));
	if (products > FR_SHOP_MAX_PRODUCTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("products must be at most %d, not %d",
						FR_SHOP_MAX_PRODUCTS, products),
				 errhint("The generator makes up to %d customers, %d products and " INT64_FORMAT " events.",
						 FR_SHOP_MAX_CUSTOMERS, FR_SHOP_MAX_PRODUCTS, FR_SHOP_MAX_EVENTS)));
	if (events < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must not be negative, not " INT64_FORMAT, events),
				 errhint("Pass events => 0 for a shop without behaviour.")));
	if (events > FR_SHOP_MAX_EVENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("events must be at most " INT64_FORMAT ", not " INT64_FORMAT,
						FR_SHOP_MAX_EVENTS, events),
				 errhint("The generator makes up to %d customers, %d products and " INT64_FORMAT " events.",
						 FR_SHOP_MAX_CUSTOMERS, FR_SHOP_MAX_PRODUCTS, FR_SHOP_MAX_EVENTS)));
}

/* the blessed row type of the function's OUT columns */
static TupleDesc
result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(desc);
}

PG_FUNCTION_INFO_V1(fashionrec_shop_check);
Datum
fashionrec_shop_check(PG_FUNCTION_ARGS)
{
	check_sizes(PG_GETARG_INT32(0), PG_GETARG_INT32(1), PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* ---- products -------------------------------------------------------------- */

typedef struct ProductsState
{
	uint64		seed;
	int32		n;
	FrShopProduct product;		/* 1 kB of text buffers, reused per row */
} ProductsState;

PG_FUNCTION_INFO_V1(fashionrec_shop_products);
Datum
fashionrec_shop_products(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ProductsState *st;
	FrShopProduct *p;
	Datum		values[14];
	bool		nulls[14] = {0};

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		int32		n = PG_GETARG_INT32(0);

		check_sizes(1, n, 0);
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ProductsState));
		st->seed = (uint64) PG_GETARG_INT64(1);
		st->n = n;
		funcctx->user_fctx = st;
		funcctx->tuple_desc = result_desc(fcinfo);
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;
	if (funcctx->call_cntr >= (uint64) st->n)
		SRF_RETURN_DONE(funcctx);
	/* INSERT ... SELECT does not check between rows by itself */
	CHECK_FOR_INTERRUPTS();

	p = &st->product;
	fr_shop_product(st->seed, (int64) funcctx->call_cntr, true, p);
	values[0] = Int64GetDatum(p->product_id);
	values[1] = CStringGetTextDatum(p->name);
	values[2] = CStringGetTextDatum(p->description);
	values[3] = CStringGetTextDatum(p->category);
	values[4] = CStringGetTextDatum(p->sub_category);
	values[5] = CStringGetTextDatum(p->article_type);
	values[6] = CStringGetTextDatum(p->colour_name);
	values[7] = CStringGetTextDatum(p->season_name);
	values[8] = CStringGetTextDatum(p->gender_name);
	values[9] = CStringGetTextDatum(p->usage_name);
	values[10] = NumericGetDatum(int64_div_fast_to_numeric(p->price_cents, 2));
	values[11] = CStringGetTextDatum(p->band_name);
	values[12] = shop_time(p->created_at);
	values[13] = BoolGetDatum(p->in_stock);
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}

/* ---- customers and their planted preferences ---------------------------------- */

typedef struct CustomersState
{
	FrShopWorld *world;
	int32		n;
	int64		customer;		/* preferences: current customer and component */
	int			pref;
	FrShopCustomer cust;
} CustomersState;

static CustomersState *
customers_begin(FunctionCallInfo fcinfo, FuncCallContext *funcctx)
{
	MemoryContext old;
	CustomersState *st;
	int32		customers = PG_GETARG_INT32(0);
	int32		products = PG_GETARG_INT32(1);

	check_sizes(customers, products, 0);
	old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
	st = palloc0(sizeof(CustomersState));
	st->n = customers;
	st->world = fr_shop_world_build((uint64) PG_GETARG_INT64(2), customers, products);
	st->customer = -1;
	st->pref = 0;
	funcctx->user_fctx = st;
	funcctx->tuple_desc = result_desc(fcinfo);
	MemoryContextSwitchTo(old);
	return st;
}

/* the SRF's call context, the customers' state made on the first call */
static FuncCallContext *
customers_call(FunctionCallInfo fcinfo)
{
	if (SRF_IS_FIRSTCALL())
		customers_begin(fcinfo, SRF_FIRSTCALL_INIT());
	CHECK_FOR_INTERRUPTS();
	return SRF_PERCALL_SETUP();
}

PG_FUNCTION_INFO_V1(fashionrec_shop_customers);
Datum
fashionrec_shop_customers(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CustomersState *st;
	FrShopCustomer *c;
	Datum		values[5];
	bool		nulls[5] = {0};

	funcctx = customers_call(fcinfo);
	st = funcctx->user_fctx;
	if (funcctx->call_cntr >= (uint64) st->n)
		SRF_RETURN_DONE(funcctx);

	c = &st->cust;
	fr_shop_customer(st->world, (int64) funcctx->call_cntr, c);
	values[0] = Int64GetDatum(c->customer_id);
	values[1] = CStringGetTextDatum(c->gender_name);
	values[2] = Int32GetDatum(c->age);
	values[3] = shop_time(c->signup_at);
	values[4] = Int32GetDatum(c->segment);
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(fashionrec_shop_preferences);
Datum
fashionrec_shop_preferences(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CustomersState *st;
	FrShopPref *pref;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (SRF_IS_FIRSTCALL())
		customers_begin(fcinfo, SRF_FIRSTCALL_INIT());
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	/* one row per (customer, style-cluster component) */
	while (st->customer < 0 || st->pref >= st->cust.n_prefs)
	{
		if (st->customer + 1 >= st->n)
			SRF_RETURN_DONE(funcctx);
		st->customer++;
		st->pref = 0;
		fr_shop_customer(st->world, st->customer, &st->cust);
	}
	CHECK_FOR_INTERRUPTS();
	pref = &st->cust.prefs[st->pref++];
	values[0] = Int64GetDatum(st->cust.customer_id);
	values[1] = CStringGetTextDatum(pref->article_type);
	values[2] = CStringGetTextDatum(pref->colour_name);
	values[3] = CStringGetTextDatum(pref->band_name);
	values[4] = Float4GetDatum((float4) pref->strength);
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}

/* each customer's favourite season under seasonal tastes (0.3) */
PG_FUNCTION_INFO_V1(fashionrec_shop_customer_seasons);
Datum
fashionrec_shop_customer_seasons(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CustomersState *st;
	const char *season;
	Datum		values[2];
	bool		nulls[2] = {0};

	funcctx = customers_call(fcinfo);
	st = funcctx->user_fctx;
	if (funcctx->call_cntr >= (uint64) st->n)
		SRF_RETURN_DONE(funcctx);

	fr_shop_favourite_season((uint64) PG_GETARG_INT64(2), (int64) funcctx->call_cntr, &season);
	values[0] = Int64GetDatum((int64) funcctx->call_cntr + 1);
	values[1] = CStringGetTextDatum(season);
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}

/* ---- events ------------------------------------------------------------------------ */

typedef struct EventsState
{
	FrShopWorld *world;
	FrShopEventGen *gen;
	Datum		type_text[3];	/* 'view', 'cart', 'purchase', made once */
} EventsState;

static Datum
shop_events(FunctionCallInfo fcinfo, bool seasonal_tastes)
{
	FuncCallContext *funcctx;
	EventsState *st;
	FrShopEvent ev;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		int32		customers = PG_GETARG_INT32(0);
		int32		products = PG_GETARG_INT32(1);
		int64		events = PG_GETARG_INT64(2);

		check_sizes(customers, products, events);
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(EventsState));
		st->world = fr_shop_world_build((uint64) PG_GETARG_INT64(3), customers, products);
		st->gen = fr_shop_events_begin(st->world, events, seasonal_tastes);
		for (int i = 0; i < 3; i++)
			st->type_text[i] = CStringGetTextDatum(fr_shop_event_type_name((FrShopEventType) i));
		funcctx->user_fctx = st;
		funcctx->tuple_desc = result_desc(fcinfo);
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;
	if (!fr_shop_events_next(st->gen, &ev))
		SRF_RETURN_DONE(funcctx);

	values[0] = Int64GetDatum(ev.event_id);
	values[1] = Int64GetDatum(ev.customer_id);
	values[2] = Int64GetDatum(ev.product_id);
	values[3] = st->type_text[ev.type];
	values[4] = Int64GetDatum(ev.session_id);
	values[5] = shop_time(ev.occurred_at);
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}

/* 0.2's _shop_events(customers, products, events, seed) */
PG_FUNCTION_INFO_V1(fashionrec_shop_events);
Datum
fashionrec_shop_events(PG_FUNCTION_ARGS)
{
	return shop_events(fcinfo, false);
}

/* _shop_events(customers, products, events, seed, seasonal_tastes), 0.3 */
PG_FUNCTION_INFO_V1(fashionrec_shop_events_0_3);
Datum
fashionrec_shop_events_0_3(PG_FUNCTION_ARGS)
{
	return shop_events(fcinfo, PG_GETARG_BOOL(4));
}
