/*
 * shopgen.h — the synthetic fashion shop: products, customers with planted
 * preferences, and their event stream.
 *
 * Everything is a pure function of the seed and an entity index: product i
 * depends only on (seed, i), customer c on (seed, c, catalog), and the events
 * of customer c on (seed, c, catalog, event total).  So a generation gives
 * the same rows whatever the query plan, LIMIT or machine, and tests can
 * compare two generations row by row.  No PostgreSQL header here: the glue in
 * shopgen_sql.c turns these structs into tuples.
 *
 * Times are whole seconds from FR_SHOP_EPOCH (2025-01-01 00:00:00 UTC); the
 * event window is the calendar year 2025, never now(), so a seed always means
 * the same shop.
 */
#ifndef FR_SHOPGEN_H
#define FR_SHOPGEN_H

#include "kernel.h"

#define FR_SHOP_MAX_CUSTOMERS	10000000
#define FR_SHOP_MAX_PRODUCTS	1000000
#define FR_SHOP_MAX_EVENTS		INT64_C(1000000000)

/* 2025-01-01 00:00:00 UTC as seconds after the Unix and PostgreSQL epochs */
#define FR_SHOP_EPOCH_UNIX		INT64_C(1735689600)
#define FR_SHOP_EPOCH_PG		INT64_C(789004800)
#define FR_SHOP_WINDOW_DAYS		365
#define FR_SHOP_WINDOW_SECONDS	((int64_t) FR_SHOP_WINDOW_DAYS * 86400)

/* most style-cluster components a customer can have */
#define FR_SHOP_MAX_PREFS		4

#define FR_SHOP_NAME_LEN		160
#define FR_SHOP_DESC_LEN		1024

typedef enum FrShopEventType
{
	FR_SHOP_VIEW,
	FR_SHOP_CART,
	FR_SHOP_PURCHASE
} FrShopEventType;

typedef struct FrShopProduct
{
	int64_t		product_id;		/* index + 1 */
	int			article;		/* index into the article vocabulary */
	int			colour;
	int			season;
	int			gender;
	int			usage;
	int			band;			/* 0 budget, 1 mid, 2 premium */
	int64_t		price_cents;
	int64_t		created_at;		/* seconds from FR_SHOP_EPOCH; < 0 before the window */
	bool		in_stock;
	/* the names of the attributes above, static strings */
	const char *category;
	const char *sub_category;
	const char *article_type;
	const char *colour_name;
	const char *season_name;
	const char *gender_name;
	const char *usage_name;
	const char *band_name;
	/* filled only when text was asked for */
	char		name[FR_SHOP_NAME_LEN];
	char		description[FR_SHOP_DESC_LEN];
} FrShopProduct;

typedef struct FrShopPref
{
	int			article;
	int			colour;
	int			band;
	double		strength;		/* probability that an event is drawn around this cell */
	const char *article_type;
	const char *colour_name;
	const char *band_name;
} FrShopPref;

typedef struct FrShopCustomer
{
	int64_t		customer_id;	/* index + 1 */
	const char *gender_name;
	int			gender;
	int			age;
	int64_t		signup_at;		/* seconds from FR_SHOP_EPOCH */
	int			segment;		/* 1-based */
	double		activity;		/* relative share of the event total */
	double		pref_prob;		/* sum of the strengths below */
	int			n_prefs;
	FrShopPref	prefs[FR_SHOP_MAX_PREFS];
} FrShopCustomer;

typedef struct FrShopEvent
{
	int64_t		event_id;
	int64_t		customer_id;
	int64_t		product_id;
	int64_t		session_id;
	FrShopEventType type;
	int64_t		occurred_at;	/* seconds from FR_SHOP_EPOCH */
} FrShopEvent;

/* The catalog and the segments' style clusters, built once per generation. */
typedef struct FrShopWorld FrShopWorld;

/* Streaming state of the event generator. */
typedef struct FrShopEventGen FrShopEventGen;

extern const char *fr_shop_event_type_name(FrShopEventType type);

/* Product index (0-based) alone: its attributes, and its text if with_text. */
extern void fr_shop_product(uint64_t seed, int64_t index, bool with_text,
							FrShopProduct *out);

/*
 * The catalog summary, popularity and segment clusters that customers and
 * events need.  Memory from fr_alloc; fr_shop_world_free releases it.
 */
extern FrShopWorld *fr_shop_world_build(uint64_t seed, int32_t n_customers,
										int32_t n_products);
extern void fr_shop_world_free(FrShopWorld *world);
extern int	fr_shop_world_segments(const FrShopWorld *world);

/* Customer index (0-based) with its planted preferences. */
extern void fr_shop_customer(const FrShopWorld *world, int64_t index,
							 FrShopCustomer *out);

/*
 * Events in event_id order: customer by customer, each in time order.
 * seasonal_tastes plants a favourite season per customer (shopgen.c); off,
 * the events are those of 0.2.
 */
extern FrShopEventGen *fr_shop_events_begin(const FrShopWorld *world,
											int64_t n_events, bool seasonal_tastes);
extern bool fr_shop_events_next(FrShopEventGen *gen, FrShopEvent *out);
extern void fr_shop_events_end(FrShopEventGen *gen);

/* Customer index's favourite season under seasonal tastes (0 Winter .. 3 Fall) and its name. */
extern int	fr_shop_favourite_season(uint64_t seed, int64_t index, const char **name);

/* Number of events customer index c receives (exposed for tests). */
extern int64_t fr_shop_events_quota(const FrShopEventGen *gen, int64_t c);

#endif							/* FR_SHOPGEN_H */
