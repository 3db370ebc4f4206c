/*
 * test_shopgen.c — the synthetic shop generator: known answers for seed 42,
 * determinism, attribute sanity, exact event counts, the event invariants
 * (time order, window, signup and product creation, funnel inside sessions)
 * and the planted structure (preferences, seasonality, popularity, and the
 * optional seasonal tastes).
 */
#include <stdlib.h>
#include <string.h>

#include "shopgen.h"
#include "tap.h"

static uint64_t
fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t
product_hash(uint64_t seed, int n)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	for (int i = 0; i < n; i++)
	{
		FrShopProduct p;

		fr_shop_product(seed, i, true, &p);
		h = fnv(h, p.name, strlen(p.name));
		h = fnv(h, p.description, strlen(p.description));
		h = fnv(h, &p.price_cents, sizeof(p.price_cents));
		h = fnv(h, &p.created_at, sizeof(p.created_at));
	}
	return h;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return x < y ? 1 : x > y ? -1 : 0;
}

static uint64_t
event_hash(uint64_t seed, int32_t nc, int32_t np, int64_t ne, int64_t *count)
{
	FrShopWorld *w = fr_shop_world_build(seed, nc, np);
	FrShopEventGen *g = fr_shop_events_begin(w, ne, false);
	FrShopEvent ev;
	uint64_t	h = UINT64_C(0xcbf29ce484222325);

	*count = 0;
	while (fr_shop_events_next(g, &ev))
	{
		h = fnv(h, &ev, sizeof(ev));
		(*count)++;
	}
	fr_shop_events_end(g);
	fr_shop_world_free(w);
	return h;
}

static void
test_known_answers(void)
{
	FrShopProduct p;

	/* seed 42, product 1: the row expected/generator.out shows first */
	fr_shop_product(42, 0, true, &p);
	ok(p.product_id == 1, "product index 0 has id 1");
	ok(strcmp(p.article_type, "Tops") == 0 && strcmp(p.colour_name, "Black") == 0 &&
	   strcmp(p.gender_name, "Girls") == 0 && strcmp(p.season_name, "Summer") == 0,
	   "seed 42 product 1 is a Girls Black Summer top (%s %s %s %s)",
	   p.gender_name, p.colour_name, p.season_name, p.article_type);
	ok(p.price_cents == 1299 && p.band == 0, "seed 42 product 1 costs 12.99, budget (%lld)",
	   (long long) p.price_cents);
	ok(strcmp(p.name, "Quill & Oak Girls Black Regular Fit Top") == 0,
	   "seed 42 product 1 name: %s", p.name);
	ok(p.created_at == -35565492, "seed 42 product 1 created 2023-11-16 (%lld)",
	   (long long) p.created_at);
}

static void
test_products(void)
{
	int			n = 20000;
	int			bands[3] = {0};
	int			new_arrivals = 0,
				in_stock = 0,
				bad_text = 0,
				bad_price = 0,
				truncated = 0;
	FrShopProduct p,
				q;

	ok(product_hash(42, 200) == product_hash(42, 200), "same seed, same products");
	ok(product_hash(42, 200) != product_hash(43, 200), "another seed, other products");

	fr_shop_product(7, 123, false, &p);
	fr_shop_product(7, 123, true, &q);
	ok(p.article == q.article && p.price_cents == q.price_cents && p.created_at == q.created_at,
	   "attributes do not depend on whether text was asked for");

	for (int i = 0; i < n; i++)
	{
		char		colour[64];

		fr_shop_product(42, i, true, &p);
		bands[p.band]++;
		if (p.created_at >= 0)
			new_arrivals++;
		if (p.in_stock)
			in_stock++;
		if (p.price_cents <= 0 || p.price_cents % 100 > 99)
			bad_price++;
		for (size_t k = 0; k <= strlen(p.colour_name); k++)
			colour[k] = (p.colour_name[k] >= 'A' && p.colour_name[k] <= 'Z')
				? p.colour_name[k] - 'A' + 'a' : p.colour_name[k];
		if (strstr(p.description, colour) == NULL || strstr(p.name, p.colour_name) == NULL ||
			strstr(p.name, p.gender_name) == NULL || strstr(p.description, "  ") ||
			p.description[strlen(p.description) - 1] != '.')
			bad_text++;
		if (strlen(p.description) > FR_SHOP_DESC_LEN - 100 || strlen(p.name) > FR_SHOP_NAME_LEN - 20)
			truncated++;
	}
	ok(bad_price == 0, "prices are positive amounts in cents");
	ok(bad_text == 0, "names carry gender and colour, descriptions the colour, end with a full stop (%d bad)",
	   bad_text);
	ok(truncated == 0, "no text comes near its buffer size");
	ok_near((double) bands[0] / n, 0.45, 0.02, "budget share");
	ok_near((double) bands[2] / n, 0.20, 0.02, "premium share");
	ok_near((double) new_arrivals / n, 0.08, 0.01, "new arrivals during the window");
	ok(in_stock > 0.9 * n, "most products are in stock (%d of %d)", in_stock, n);
	fr_shop_product(42, 0, false, &p);
	ok(p.created_at < 0, "product 0 predates the window");
}

static void
test_customers(void)
{
	FrShopWorld *w = fr_shop_world_build(42, 5000, 800);
	int			k = fr_shop_world_segments(w);
	int			bad = 0,
				mismatch = 0,
				late = 0;
	FrShopCustomer first[64];
	bool		seen[64] = {0};

	ok(k == 36, "5000 customers make ceil(sqrt(5000)/2) = 36 segments (%d)", k);
	for (int c = 0; c < 5000; c++)
	{
		FrShopCustomer cu;
		double		sum = 0.0;

		fr_shop_customer(w, c, &cu);
		if (cu.customer_id != c + 1 || cu.segment < 1 || cu.segment > k ||
			cu.n_prefs < 1 || cu.n_prefs > FR_SHOP_MAX_PREFS ||
			cu.pref_prob < 0.6 || cu.pref_prob > 0.7 || cu.age < 16 || cu.age > 80 ||
			cu.activity <= 0)
			bad++;
		for (int j = 0; j < cu.n_prefs; j++)
			sum += cu.prefs[j].strength;
		if (fabs(sum - cu.pref_prob) > 1e-9)
			bad++;
		if (cu.signup_at >= FR_SHOP_WINDOW_SECONDS - 14 * 86400)
			late++;
		/* a segment is one style cluster: same cells for every member */
		if (!seen[cu.segment - 1])
		{
			seen[cu.segment - 1] = true;
			first[cu.segment - 1] = cu;
		}
		else
		{
			FrShopCustomer *f = &first[cu.segment - 1];

			if (f->n_prefs != cu.n_prefs || strcmp(f->gender_name, cu.gender_name) != 0)
				mismatch++;
			else
				for (int j = 0; j < cu.n_prefs; j++)
					if (f->prefs[j].article != cu.prefs[j].article ||
						f->prefs[j].colour != cu.prefs[j].colour ||
						f->prefs[j].band != cu.prefs[j].band)
						mismatch++;
		}
	}
	ok(bad == 0, "customer fields in range, strengths add up to pref_prob (%d bad)", bad);
	ok(mismatch == 0, "customers of a segment share its cells and gender (%d mismatches)", mismatch);
	ok(late == 0, "nobody signs up in the last two weeks");
	fr_shop_world_free(w);

	/* one product: every segment still gets a non-empty cluster */
	w = fr_shop_world_build(1, 10, 1);
	{
		FrShopCustomer cu;

		fr_shop_customer(w, 3, &cu);
		ok(cu.n_prefs == 1, "a one-product shop gives one preference (%d)", cu.n_prefs);
	}
	fr_shop_world_free(w);
}

static void
test_counts(void)
{
	static const struct
	{
		int32_t		c;
		int32_t		p;
		int64_t		e;
	}			cases[] = {
		{1, 1, 0}, {1, 1, 1}, {1, 5, 1000}, {10, 3, 7}, {500, 40, 123}, {200, 100, 5000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int64_t		n;

		event_hash(5, cases[i].c, cases[i].p, cases[i].e, &n);
		ok(n == cases[i].e, "%d customers, %d products: %lld events as asked (%lld)",
		   cases[i].c, cases[i].p, (long long) cases[i].e, (long long) n);
	}
}

static void
test_determinism(void)
{
	int64_t		n1,
				n2;
	uint64_t	a = event_hash(42, 300, 120, 9000, &n1);
	uint64_t	b = event_hash(42, 300, 120, 9000, &n2);

	ok(a == b && n1 == n2, "same seed, same event stream");
	ok(a != event_hash(43, 300, 120, 9000, &n1), "another seed, another event stream");
	ok(a != event_hash(42, 300, 120, 9001, &n1), "one more event reshapes the stream");
}

/* the invariants and the planted structure over one mid-sized shop */
static void
test_events(void)
{
	const int32_t nc = 2000,
				np = 1500;
	const int64_t ne = 200000;
	FrShopWorld *w = fr_shop_world_build(42, nc, np);
	FrShopEventGen *g = fr_shop_events_begin(w, ne, false);
	FrShopProduct *prods = malloc(sizeof(FrShopProduct) * np);
	FrShopCustomer cu = {0};
	FrShopEvent ev;
	int64_t		n = 0,
				types[3] = {0},
				bad_id = 0,
				bad_time = 0,
				bad_funnel = 0,
				bad_session = 0,
				quota_sum = 0;
	int64_t		last_customer = 0,
				last_time = 0,
				last_session = 0,
				cart_product = -1;
	int64_t		fresh_pref = 0,
				purchases_pref = 0;
	double		base = 0.0;
	int64_t		summer_in_summer = 0,
				n_summer = 0,
				summer_in_winter = 0,
				n_winter = 0;
	int64_t    *per_product = calloc(np, sizeof(int64_t));
	int64_t		top = 0;

	for (int i = 0; i < np; i++)
		fr_shop_product(42, i, false, &prods[i]);
	for (int64_t c = 0; c < nc; c++)
		quota_sum += fr_shop_events_quota(g, c);
	ok(quota_sum == ne, "quotas add up to the event total");

	while (fr_shop_events_next(g, &ev))
	{
		const FrShopProduct *p = &prods[ev.product_id - 1];
		bool		pref = false;
		int64_t		day = ev.occurred_at / 86400;

		n++;
		if (ev.event_id != n)
			bad_id++;
		if (ev.customer_id != last_customer)
		{
			if (ev.customer_id < last_customer)
				bad_id++;
			fr_shop_customer(w, ev.customer_id - 1, &cu);
			last_customer = ev.customer_id;
			last_time = 0;
		}
		if (ev.occurred_at < last_time || ev.occurred_at < 0 ||
			ev.occurred_at >= FR_SHOP_WINDOW_SECONDS ||
			ev.occurred_at < cu.signup_at || ev.occurred_at < p->created_at)
			bad_time++;
		last_time = ev.occurred_at;

		if (ev.session_id != last_session)
		{
			if (ev.session_id != last_session + 1)
				bad_session++;
			last_session = ev.session_id;
			cart_product = -1;
		}
		types[ev.type]++;
		if (ev.type == FR_SHOP_CART)
			cart_product = ev.product_id;
		else if (ev.type == FR_SHOP_PURCHASE && cart_product != ev.product_id)
			bad_funnel++;

		for (int j = 0; j < cu.n_prefs; j++)
			if (cu.prefs[j].article == p->article)
				pref = true;
		if (ev.type == FR_SHOP_VIEW && pref)
			fresh_pref++;
		if (ev.type == FR_SHOP_PURCHASE && pref)
			purchases_pref++;
		if (ev.type == FR_SHOP_VIEW)
		{
			/* chance of hitting the customer's types with a catalogue-uniform pick */
			int			hits = 0;

			for (int i = 0; i < np; i += 7)
				for (int j = 0; j < cu.n_prefs; j++)
					if (cu.prefs[j].article == prods[i].article)
						hits++;
			base += (double) hits / ((np + 6) / 7);
		}

		/* June-August against December-February */
		if (day >= 151 && day < 243)
		{
			n_summer++;
			summer_in_summer += strcmp(p->season_name, "Summer") == 0;
		}
		else if (day < 59 || day >= 334)
		{
			n_winter++;
			summer_in_winter += strcmp(p->season_name, "Summer") == 0;
		}
		per_product[ev.product_id - 1]++;
	}

	ok(n == ne, "every event was produced");
	ok(bad_id == 0, "event ids are 1..n in customer order");
	ok(bad_time == 0, "each customer's events are in time order, in 2025, after signup and product creation (%lld bad)",
	   (long long) bad_time);
	ok(bad_session == 0, "sessions are numbered consecutively and never interleave");
	ok(bad_funnel == 0, "every purchase follows a cart of the same product in its session (%lld bad)",
	   (long long) bad_funnel);
	ok(types[FR_SHOP_VIEW] > 3 * types[FR_SHOP_CART] && types[FR_SHOP_CART] > types[FR_SHOP_PURCHASE] &&
	   types[FR_SHOP_PURCHASE] > 0,
	   "funnel: views %lld >> carts %lld > purchases %lld",
	   (long long) types[0], (long long) types[1], (long long) types[2]);

	ok((double) fresh_pref / types[FR_SHOP_VIEW] > 0.6,
	   "views land in preferred article types: %.3f", (double) fresh_pref / types[FR_SHOP_VIEW]);
	ok((double) fresh_pref / types[FR_SHOP_VIEW] > 2.0 * base / types[FR_SHOP_VIEW],
	   "well above the catalogue base rate %.3f", base / types[FR_SHOP_VIEW]);
	ok((double) purchases_pref / types[FR_SHOP_PURCHASE] > (double) fresh_pref / types[FR_SHOP_VIEW],
	   "purchases are even more preferred: %.3f", (double) purchases_pref / types[FR_SHOP_PURCHASE]);
	ok((double) summer_in_summer / n_summer > 1.5 * summer_in_winter / n_winter,
	   "summer products: %.3f of summer events, %.3f of winter events",
	   (double) summer_in_summer / n_summer, (double) summer_in_winter / n_winter);

	/* Zipf 0.8: the top tenth of products draws far more than a tenth */
	qsort(per_product, np, sizeof(int64_t), cmp_desc);
	for (int i = 0; i < np / 10; i++)
		top += per_product[i];
	ok((double) top / ne > 0.3, "top 10%% of products get %.3f of events", (double) top / ne);

	fr_shop_events_end(g);
	fr_shop_world_free(w);
	free(prods);
	free(per_product);
}

static void
test_repeats(void)
{
	/* few products and many events per customer: repurchases must occur */
	FrShopWorld *w = fr_shop_world_build(3, 20, 30);
	FrShopEventGen *g = fr_shop_events_begin(w, 20000, false);
	FrShopEvent ev;
	static int	bought[21][31];
	int			repeats = 0;

	while (fr_shop_events_next(g, &ev))
		if (ev.type == FR_SHOP_PURCHASE && bought[ev.customer_id][ev.product_id]++ > 0)
			repeats++;
	ok(repeats > 0, "customers buy the same product again (%d repurchases)", repeats);
	fr_shop_events_end(g);
	fr_shop_world_free(w);
}

/* seasonal tastes: more events in the favourite season, and more in-season products then */
static int
season_of_day(int64_t day)
{
	return day < 59 || day >= 334 ? 0 : day < 151 ? 1 : day < 243 ? 2 : 3;
}

static void
test_seasonal_tastes(void)
{
	const int32_t nc = 2000,
				np = 1500;
	const int64_t ne = 200000;
	FrShopWorld *w = fr_shop_world_build(42, nc, np);
	FrShopEventGen *g = fr_shop_events_begin(w, ne, true);
	FrShopProduct *prods = malloc(sizeof(FrShopProduct) * np);
	FrShopEvent ev;
	int64_t		n = 0,
				in_fav = 0,
				fav_in_season = 0,
				other_in_season = 0,
				bad_time = 0,
				last_customer = 0,
				last_time = 0,
				per_season[4] = {0};
	int			fav = 0;
	const char *name;

	for (int i = 0; i < np; i++)
		fr_shop_product(42, i, false, &prods[i]);
	while (fr_shop_events_next(g, &ev))
	{
		int			s = season_of_day(ev.occurred_at / 86400);
		bool		in_season = prods[ev.product_id - 1].season == s;

		n++;
		if (ev.customer_id != last_customer)
		{
			fav = fr_shop_favourite_season(42, ev.customer_id - 1, NULL);
			last_customer = ev.customer_id;
			last_time = 0;
		}
		if (ev.occurred_at < last_time || ev.occurred_at < 0 || ev.occurred_at >= FR_SHOP_WINDOW_SECONDS)
			bad_time++;
		last_time = ev.occurred_at;
		per_season[s]++;
		if (s == fav)
		{
			in_fav++;
			fav_in_season += in_season;
		}
		else
			other_in_season += in_season;
	}
	ok(n == ne, "seasonal tastes: %lld events of %lld", (long long) n, (long long) ne);
	ok(bad_time == 0, "seasonal tastes: each customer's events in time order, inside the window (%lld not)",
	   (long long) bad_time);
	/* a season is about a quarter of the traffic; three times the weight in one gives about half */
	ok((double) in_fav / n > 0.42 && (double) in_fav / n < 0.6,
	   "seasonal tastes: %.3f of events in the customer's favourite season", (double) in_fav / n);
	ok((double) fav_in_season / in_fav > (double) other_in_season / (n - in_fav) + 0.08,
	   "seasonal tastes: in-season products %.3f of events in the favourite season, %.3f out of it",
	   (double) fav_in_season / in_fav, (double) other_in_season / (n - in_fav));
	fav = fr_shop_favourite_season(42, 7, &name);
	ok(fav == fr_shop_favourite_season(42, 7, NULL) &&
	   strcmp(name, (const char *[]) {"Winter", "Spring", "Summer", "Fall"}[fav]) == 0,
	   "seasonal tastes: a customer's favourite season is a function of the seed (%s)", name);
	fr_shop_events_end(g);
	fr_shop_world_free(w);
	free(prods);
}

int
main(void)
{
	test_known_answers();
	test_products();
	test_customers();
	test_counts();
	test_determinism();
	test_events();
	test_repeats();
	test_seasonal_tastes();
	return done_testing();
}
