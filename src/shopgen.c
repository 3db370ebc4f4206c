/*
 * shopgen.c — the synthetic fashion shop (see shopgen.h for the contract).
 *
 * The vocabulary (categories, article types, colours, usages, seasons,
 * genders) follows the Myntra "Fashion Product Images" styles catalogue so
 * that generated shops look like the real data users will later load; the
 * distributions are tuned by hand, not read from that file.
 *
 * What is planted, so that tests and users can check a model finds it:
 *  - popularity: products get Zipf weights (exponent 0.8) over a seeded
 *    random ranking;
 *  - style clusters: customers fall into segments, each segment owns two to
 *    four (article type, colour, price band) cells taken from real catalogue
 *    products, and a customer draws 60-70% of fresh picks around them;
 *  - seasonality: an off-season product is accepted less often, and traffic
 *    follows a yearly, weekly and daily curve with sale peaks;
 *  - funnel: a view may become a cart, a cart may become a purchase, in the
 *    same session, with higher rates for preferred and repeat items;
 *  - repeat behaviour: revisits of recently viewed items and repurchases;
 *  - seasonal tastes, only when asked (fr_shop_events_begin): each customer
 *    has a favourite season, shops three times as often in it and shops for
 *    it (the off-season penalty squared), and out of it cares less for the
 *    season (its square root).
 *
 * Random streams are keyed by (seed, stream, entity index), never by the
 * order rows are consumed, so any prefix or plan sees the same rows.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shopgen.h"

#define LEN(a)	((int) (sizeof(a) / sizeof((a)[0])))

/* ---- vocabulary ---------------------------------------------------------- */

enum
{
	G_MEN, G_WOMEN, G_UNISEX, G_BOYS, G_GIRLS, NGENDERS
};
static const char *const gender_names[NGENDERS] = {
	"Men", "Women", "Unisex", "Boys", "Girls"
};
static const char *const gender_possessive[NGENDERS] = {
	"men's", "women's", "unisex", "boys'", "girls'"
};

/* calendar order, so that neighbours in the array are neighbouring seasons */
enum
{
	S_WINTER, S_SPRING, S_SUMMER, S_FALL, NSEASONS
};
static const char *const season_names[NSEASONS] = {
	"Winter", "Spring", "Summer", "Fall"
};

enum
{
	U_CASUAL, U_FORMAL, U_SPORTS, U_ETHNIC, U_PARTY, U_SMART, U_TRAVEL, NUSAGES
};
static const char *const usage_names[NUSAGES] = {
	"Casual", "Formal", "Sports", "Ethnic", "Party", "Smart Casual", "Travel"
};

#define NBANDS 3
static const char *const band_names[NBANDS] = {"budget", "mid", "premium"};
static const int band_weights[NBANDS] = {45, 35, 20};

enum
{
	C_BLACK, C_WHITE, C_BLUE, C_BROWN, C_GREY, C_RED, C_GREEN, C_PINK, C_NAVY,
	C_PURPLE, C_SILVER, C_YELLOW, C_BEIGE, C_GOLD, C_MAROON, C_ORANGE, C_OLIVE,
	C_CREAM, C_STEEL, C_CHARCOAL, C_PEACH, C_KHAKI, C_TEAL, C_MUSTARD, C_TAN,
	C_LAVENDER, C_MULTI, NCOLOURS
};
static const char *const colour_names[NCOLOURS] = {
	"Black", "White", "Blue", "Brown", "Grey", "Red", "Green", "Pink",
	"Navy Blue", "Purple", "Silver", "Yellow", "Beige", "Gold", "Maroon",
	"Orange", "Olive", "Cream", "Steel", "Charcoal", "Peach", "Khaki", "Teal",
	"Mustard", "Tan", "Lavender", "Multi"
};

enum
{
	PAL_APPAREL, PAL_DENIM, PAL_NEUTRAL, PAL_SHOE, PAL_WOMEN_SHOE, PAL_METAL,
	PAL_WATCH, PAL_BAG, PAL_BEAUTY, PAL_BOTTLE, PAL_EYEWEAR, PAL_ETHNIC,
	PAL_INNER, NPALETTES
};

/* colour weights per palette, shaped after the Myntra colour frequencies */
static const int palettes[NPALETTES][NCOLOURS] = {
	[PAL_APPAREL] = {[C_BLACK] = 60, [C_WHITE] = 45, [C_BLUE] = 45, [C_BROWN] = 10,
		[C_GREY] = 25, [C_RED] = 22, [C_GREEN] = 20, [C_PINK] = 18, [C_NAVY] = 22,
		[C_PURPLE] = 12, [C_YELLOW] = 9, [C_BEIGE] = 8, [C_MAROON] = 7,
		[C_ORANGE] = 6, [C_OLIVE] = 6, [C_CREAM] = 5, [C_CHARCOAL] = 4,
	[C_PEACH] = 3, [C_KHAKI] = 3, [C_TEAL] = 3, [C_MUSTARD] = 3, [C_LAVENDER] = 3},
	[PAL_DENIM] = {[C_BLUE] = 50, [C_NAVY] = 15, [C_BLACK] = 20, [C_GREY] = 10,
	[C_WHITE] = 3, [C_CHARCOAL] = 2},
	[PAL_NEUTRAL] = {[C_BLACK] = 40, [C_BROWN] = 25, [C_GREY] = 10, [C_NAVY] = 8,
		[C_BEIGE] = 8, [C_TAN] = 6, [C_CHARCOAL] = 5, [C_KHAKI] = 5, [C_OLIVE] = 3,
	[C_MAROON] = 2},
	[PAL_SHOE] = {[C_BLACK] = 35, [C_WHITE] = 30, [C_GREY] = 10, [C_BLUE] = 8,
	[C_NAVY] = 6, [C_BROWN] = 8, [C_RED] = 4, [C_GREEN] = 2, [C_OLIVE] = 2},
	[PAL_WOMEN_SHOE] = {[C_BLACK] = 30, [C_BROWN] = 15, [C_GOLD] = 8, [C_SILVER] = 6,
		[C_BEIGE] = 10, [C_PINK] = 6, [C_RED] = 6, [C_WHITE] = 6, [C_TAN] = 4,
	[C_PEACH] = 3, [C_BLUE] = 5},
	[PAL_METAL] = {[C_SILVER] = 40, [C_GOLD] = 30, [C_STEEL] = 15, [C_BLACK] = 5,
	[C_WHITE] = 5, [C_MULTI] = 5},
	[PAL_WATCH] = {[C_BLACK] = 35, [C_SILVER] = 20, [C_STEEL] = 12, [C_WHITE] = 12,
	[C_GOLD] = 8, [C_BROWN] = 8, [C_BLUE] = 5},
	[PAL_BAG] = {[C_BLACK] = 30, [C_BROWN] = 20, [C_TAN] = 6, [C_BEIGE] = 8,
		[C_BLUE] = 6, [C_RED] = 6, [C_PINK] = 5, [C_GREY] = 5, [C_NAVY] = 4,
	[C_MAROON] = 4, [C_GREEN] = 3, [C_OLIVE] = 3},
	[PAL_BEAUTY] = {[C_PINK] = 25, [C_RED] = 20, [C_MAROON] = 12, [C_BROWN] = 15,
	[C_PEACH] = 10, [C_PURPLE] = 10, [C_BEIGE] = 8},
	[PAL_BOTTLE] = {[C_BLUE] = 25, [C_BLACK] = 25, [C_WHITE] = 20, [C_PINK] = 12,
	[C_GREEN] = 8, [C_SILVER] = 6, [C_GOLD] = 4},
	[PAL_EYEWEAR] = {[C_BLACK] = 40, [C_BROWN] = 25, [C_GREY] = 10, [C_GOLD] = 8,
	[C_SILVER] = 7, [C_BLUE] = 5, [C_TAN] = 5},
	[PAL_ETHNIC] = {[C_RED] = 12, [C_MAROON] = 10, [C_GREEN] = 12, [C_BLUE] = 10,
		[C_PINK] = 10, [C_YELLOW] = 8, [C_ORANGE] = 6, [C_MUSTARD] = 6, [C_TEAL] = 5,
		[C_PURPLE] = 6, [C_GOLD] = 4, [C_CREAM] = 6, [C_WHITE] = 5, [C_MULTI] = 8,
	[C_NAVY] = 4, [C_PEACH] = 4},
	[PAL_INNER] = {[C_BLACK] = 30, [C_WHITE] = 25, [C_GREY] = 15, [C_NAVY] = 12,
	[C_BLUE] = 6, [C_BEIGE] = 6, [C_RED] = 3, [C_PINK] = 3},
};

/* families share the sentences and style words of their descriptions */
enum
{
	F_TOP, F_SHIRT, F_ETHNIC, F_SAREE, F_OUTER, F_TAILORED, F_BOTTOM, F_ACTIVE,
	F_DRESS, F_INNER, F_SHOE, F_SANDAL, F_WATCH, F_BAG, F_SMALLACC, F_EYEWEAR,
	F_JEWEL, F_BEAUTY, NFAMILIES
};

enum
{
	M_KNIT, M_WOVEN, M_LIGHT, M_ETHNIC, M_FLEECE, M_WOOL, M_OUTER, M_SUIT,
	M_DENIM, M_STRETCH, M_INNER, M_SHOE, M_SPORT, M_LEATHER, M_RUBBER, M_WATCH,
	M_BAG, M_CANVAS, M_EYE, M_SILK, M_SCARF, M_METAL, M_BEAUTY, M_FRAGRANCE, NMATERIALS
};

/* how a noun is counted: "a shirt", "a pair of jeans", "a pack of socks" */
enum
{
	N_ONE, N_PAIR, N_PACK
};

typedef struct Article
{
	const char *type;			/* Myntra articleType */
	const char *category;		/* masterCategory */
	const char *sub_category;	/* subCategory */
	const char *noun;			/* lower case, as sold */
	unsigned char number;
	unsigned char family;
	unsigned char palette;
	unsigned char material;
	int			weight;			/* catalogue share */
	unsigned char gender[NGENDERS];
	unsigned char usage[NUSAGES];	/* Casual Formal Sports Ethnic Party Smart Travel */
	unsigned char season[NSEASONS]; /* Winter Spring Summer Fall */
	int			price_lo;		/* whole currency units, log-uniform */
	int			price_hi;
} Article;

#define AP "Apparel"
#define FW "Footwear"
#define AC "Accessories"
#define PC "Personal Care"

static const Article articles[] = {
	{"Tshirts", AP, "Topwear", "t-shirt", N_ONE, F_TOP, PAL_APPAREL, M_KNIT, 70,
	{52, 11, 3, 5, 1}, {85, 0, 15}, {5, 20, 55, 20}, 7, 45},
	{"Shirts", AP, "Topwear", "shirt", N_ONE, F_SHIRT, PAL_APPAREL, M_WOVEN, 32,
	{88, 9, 0, 3, 0}, {70, 27, 0, 0, 0, 3}, {10, 25, 35, 30}, 15, 95},
	{"Tops", AP, "Topwear", "top", N_ONE, F_TOP, PAL_APPAREL, M_LIGHT, 18,
	{0, 87, 0, 0, 13}, {95, 0, 0, 3, 2}, {5, 25, 55, 15}, 9, 60},
	{"Kurtas", AP, "Topwear", "kurta", N_ONE, F_ETHNIC, PAL_ETHNIC, M_ETHNIC, 18,
	{5, 95}, {0, 0, 0, 100}, {5, 25, 40, 30}, 12, 90},
	{"Kurtis", AP, "Topwear", "kurti", N_ONE, F_ETHNIC, PAL_ETHNIC, M_ETHNIC, 4,
	{0, 100}, {10, 0, 0, 90}, {5, 25, 45, 25}, 10, 60},
	{"Tunics", AP, "Topwear", "tunic", N_ONE, F_TOP, PAL_APPAREL, M_LIGHT, 3,
	{0, 100}, {88, 0, 0, 12}, {5, 30, 45, 20}, 12, 60},
	{"Sweatshirts", AP, "Topwear", "sweatshirt", N_ONE, F_OUTER, PAL_APPAREL, M_FLEECE, 5,
	{78, 21, 1}, {85, 0, 15}, {35, 10, 0, 55}, 20, 90},
	{"Sweaters", AP, "Topwear", "sweater", N_ONE, F_OUTER, PAL_APPAREL, M_WOOL, 5,
	{68, 32}, {97, 0, 3}, {60, 5, 0, 35}, 25, 160},
	{"Jackets", AP, "Topwear", "jacket", N_ONE, F_OUTER, PAL_NEUTRAL, M_OUTER, 5,
	{76, 22, 1, 1}, {70, 0, 30}, {50, 15, 0, 35}, 40, 320},
	{"Blazers", AP, "Topwear", "blazer", N_ONE, F_TAILORED, PAL_NEUTRAL, M_SUIT, 2,
	{80, 20}, {0, 70, 0, 0, 10, 20}, {30, 25, 10, 35}, 60, 380},
	{"Jeans", AP, "Bottomwear", "jeans", N_PAIR, F_BOTTOM, PAL_DENIM, M_DENIM, 12,
	{55, 37, 0, 5, 3}, {100}, {25, 25, 20, 30}, 25, 160},
	{"Trousers", AP, "Bottomwear", "trousers", N_PAIR, F_BOTTOM, PAL_NEUTRAL, M_SUIT, 10,
	{81, 18, 0, 1}, {54, 44, 0, 0, 0, 2}, {20, 25, 25, 30}, 25, 150},
	{"Shorts", AP, "Bottomwear", "shorts", N_PAIR, F_BOTTOM, PAL_APPAREL, M_LIGHT, 10,
	{70, 13, 0, 10, 7}, {65, 0, 35}, {0, 25, 70, 5}, 10, 60},
	{"Track Pants", AP, "Bottomwear", "track pants", N_PAIR, F_ACTIVE, PAL_INNER, M_STRETCH, 6,
	{71, 28, 1}, {38, 0, 62}, {25, 25, 20, 30}, 15, 75},
	{"Leggings", AP, "Bottomwear", "leggings", N_PAIR, F_ACTIVE, PAL_APPAREL, M_STRETCH, 4,
	{0, 86, 0, 2, 12}, {80, 0, 2, 18}, {25, 25, 25, 25}, 8, 40},
	{"Skirts", AP, "Bottomwear", "skirt", N_ONE, F_DRESS, PAL_APPAREL, M_LIGHT, 3,
	{0, 81, 0, 0, 19}, {78, 10, 0, 9, 3}, {5, 25, 55, 15}, 15, 90},
	{"Dresses", AP, "Dress", "dress", N_ONE, F_DRESS, PAL_APPAREL, M_LIGHT, 10,
	{0, 84, 0, 0, 16}, {85, 3, 0, 0, 12}, {5, 30, 50, 15}, 20, 220},
	{"Jumpsuit", AP, "Dress", "jumpsuit", N_ONE, F_DRESS, PAL_APPAREL, M_LIGHT, 2,
	{0, 100}, {80, 0, 0, 0, 20}, {5, 30, 50, 15}, 25, 130},
	{"Sarees", AP, "Saree", "saree", N_ONE, F_SAREE, PAL_ETHNIC, M_ETHNIC, 8,
	{0, 100}, {0, 0, 0, 100}, {10, 20, 30, 40}, 25, 350},
	{"Briefs", AP, "Innerwear", "briefs", N_PACK, F_INNER, PAL_INNER, M_INNER, 8,
	{66, 34}, {100}, {15, 25, 45, 15}, 6, 30},
	{"Bra", AP, "Innerwear", "bra", N_ONE, F_INNER, PAL_INNER, M_INNER, 5,
	{0, 100}, {95, 0, 5}, {20, 25, 40, 15}, 12, 60},
	{"Nightdress", AP, "Loungewear and Nightwear", "nightdress", N_ONE, F_INNER, PAL_APPAREL, M_LIGHT, 3,
	{0, 100}, {100}, {30, 20, 35, 15}, 15, 70},
	{"Night suits", AP, "Loungewear and Nightwear", "night suit", N_ONE, F_INNER, PAL_APPAREL, M_KNIT, 2,
	{45, 55}, {100}, {30, 20, 35, 15}, 18, 80},
	{"Casual Shoes", FW, "Shoes", "casual shoes", N_PAIR, F_SHOE, PAL_SHOE, M_SHOE, 35,
	{79, 12, 8, 1}, {98, 1, 1}, {20, 25, 25, 30}, 30, 170},
	{"Sports Shoes", FW, "Shoes", "sports shoes", N_PAIR, F_SHOE, PAL_SHOE, M_SPORT, 26,
	{78, 20, 2}, {2, 0, 98}, {20, 30, 30, 20}, 35, 220},
	{"Formal Shoes", FW, "Shoes", "formal shoes", N_PAIR, F_SHOE, PAL_NEUTRAL, M_LEATHER, 9,
	{100}, {3, 95, 0, 0, 0, 2}, {25, 25, 20, 30}, 45, 260},
	{"Heels", FW, "Shoes", "heels", N_PAIR, F_SANDAL, PAL_WOMEN_SHOE, M_LEATHER, 15,
	{0, 100}, {90, 3, 0, 0, 7}, {20, 25, 35, 20}, 30, 210},
	{"Flats", FW, "Shoes", "flats", N_PAIR, F_SANDAL, PAL_WOMEN_SHOE, M_LEATHER, 7,
	{0, 100}, {95, 0, 0, 5}, {15, 30, 40, 15}, 18, 100},
	{"Sandals", FW, "Sandal", "sandals", N_PAIR, F_SANDAL, PAL_NEUTRAL, M_LEATHER, 10,
	{84, 0, 10, 2, 4}, {97, 0, 3}, {5, 30, 55, 10}, 15, 95},
	{"Flip Flops", FW, "Flip Flops", "flip flops", N_PAIR, F_SANDAL, PAL_SHOE, M_RUBBER, 10,
	{54, 27, 16, 2, 1}, {99, 0, 1}, {0, 25, 70, 5}, 5, 35},
	{"Watches", AC, "Watches", "watch", N_ONE, F_WATCH, PAL_WATCH, M_WATCH, 30,
	{58, 35, 6, 0, 1}, {93, 2, 3, 0, 0, 2}, {25, 25, 25, 25}, 30, 650},
	{"Handbags", AC, "Bags", "handbag", N_ONE, F_BAG, PAL_BAG, M_BAG, 20,
	{0, 96, 4}, {98, 0, 0, 0, 2}, {25, 25, 25, 25}, 25, 450},
	{"Backpacks", AC, "Bags", "backpack", N_ONE, F_BAG, PAL_BAG, M_CANVAS, 9,
	{8, 5, 87}, {85, 0, 11, 0, 0, 0, 4}, {25, 25, 25, 25}, 20, 160},
	{"Clutches", AC, "Bags", "clutch", N_ONE, F_BAG, PAL_WOMEN_SHOE, M_BAG, 4,
	{0, 100}, {35, 0, 0, 5, 60}, {30, 20, 20, 30}, 15, 160},
	{"Wallets", AC, "Wallets", "wallet", N_ONE, F_SMALLACC, PAL_NEUTRAL, M_LEATHER, 11,
	{48, 50, 2}, {96, 4}, {25, 25, 25, 25}, 12, 130},
	{"Belts", AC, "Belts", "belt", N_ONE, F_SMALLACC, PAL_NEUTRAL, M_LEATHER, 9,
	{67, 32, 1}, {83, 17}, {25, 25, 25, 25}, 10, 95},
	{"Sunglasses", AC, "Eyewear", "sunglasses", N_PAIR, F_EYEWEAR, PAL_EYEWEAR, M_EYE, 12,
	{56, 30, 14}, {99, 0, 1}, {5, 30, 55, 10}, 15, 260},
	{"Caps", AC, "Headwear", "cap", N_ONE, F_SMALLACC, PAL_APPAREL, M_CANVAS, 4,
	{40, 9, 50, 0, 1}, {73, 0, 27}, {5, 25, 55, 15}, 8, 40},
	{"Socks", AC, "Socks", "socks", N_PACK, F_SMALLACC, PAL_INNER, M_KNIT, 8,
	{78, 12, 10}, {73, 7, 20}, {35, 20, 15, 30}, 4, 22},
	{"Ties", AC, "Ties", "tie", N_ONE, F_SMALLACC, PAL_APPAREL, M_SILK, 3,
	{100}, {35, 65}, {25, 25, 25, 25}, 12, 75},
	{"Scarves", AC, "Scarves", "scarf", N_ONE, F_SMALLACC, PAL_APPAREL, M_SCARF, 3,
	{35, 60, 5}, {100}, {50, 10, 0, 40}, 10, 95},
	{"Earrings", AC, "Jewellery", "earrings", N_PAIR, F_JEWEL, PAL_METAL, M_METAL, 5,
	{0, 100}, {72, 0, 0, 28}, {25, 25, 25, 25}, 8, 160},
	{"Necklace and Chains", AC, "Jewellery", "necklace", N_ONE, F_JEWEL, PAL_METAL, M_METAL, 3,
	{5, 95}, {90, 0, 0, 10}, {25, 25, 25, 25}, 12, 260},
	{"Ring", AC, "Jewellery", "ring", N_ONE, F_JEWEL, PAL_METAL, M_METAL, 2,
	{22, 78}, {100}, {25, 25, 25, 25}, 8, 200},
	{"Bracelet", AC, "Jewellery", "bracelet", N_ONE, F_JEWEL, PAL_METAL, M_METAL, 2,
	{30, 70}, {95, 0, 0, 5}, {25, 25, 25, 25}, 10, 150},
	{"Perfume and Body Mist", PC, "Fragrance", "perfume", N_ONE, F_BEAUTY, PAL_BOTTLE, M_FRAGRANCE, 7,
	{54, 45, 1}, {100}, {15, 40, 30, 15}, 15, 160},
	{"Deodorant", PC, "Fragrance", "deodorant", N_ONE, F_BEAUTY, PAL_BOTTLE, M_FRAGRANCE, 4,
	{62, 37, 1}, {100}, {15, 30, 40, 15}, 4, 20},
	{"Lipstick", PC, "Lips", "lipstick", N_ONE, F_BEAUTY, PAL_BEAUTY, M_BEAUTY, 4,
	{0, 100}, {85, 0, 0, 0, 15}, {25, 30, 20, 25}, 6, 45},
	{"Nail Polish", PC, "Nails", "nail polish", N_ONE, F_BEAUTY, PAL_BEAUTY, M_BEAUTY, 3,
	{0, 100}, {85, 0, 0, 0, 15}, {20, 35, 25, 20}, 4, 25},
};

#define NARTICLES LEN(articles)
#define NCELLS (NARTICLES * NCOLOURS * NBANDS)

/* ---- description vocabulary ----------------------------------------------- */

typedef struct Words
{
	const char *const *w;
	int			n;
} Words;

#define WORDS(...) {(const char *const[]){__VA_ARGS__}, LEN(((const char *const[]){__VA_ARGS__}))}

static const Words materials[NMATERIALS] = {
	[M_KNIT] = WORDS("cotton jersey", "organic cotton", "pique cotton", "cotton blend", "slub cotton", "polyester"),
	[M_WOVEN] = WORDS("cotton poplin", "oxford cotton", "linen", "cotton twill", "chambray", "viscose"),
	[M_LIGHT] = WORDS("viscose", "georgette", "cotton", "crepe", "rayon", "linen blend", "chiffon"),
	[M_ETHNIC] = WORDS("cotton", "silk blend", "chanderi", "georgette", "rayon", "khadi"),
	[M_FLEECE] = WORDS("cotton fleece", "brushed fleece", "french terry", "polyester fleece"),
	[M_WOOL] = WORDS("merino wool", "lambswool", "acrylic wool blend", "cashmere blend", "cotton knit"),
	[M_OUTER] = WORDS("nylon", "denim", "faux leather", "quilted polyester", "suede", "cotton canvas"),
	[M_SUIT] = WORDS("wool blend", "linen", "tweed", "polyester viscose", "cotton twill", "stretch cotton"),
	[M_DENIM] = WORDS("stretch denim", "rigid denim", "washed denim", "organic cotton denim"),
	[M_STRETCH] = WORDS("cotton lycra", "stretch viscose", "polyester spandex", "dry-fit polyester"),
	[M_INNER] = WORDS("cotton modal", "micro modal", "cotton spandex", "lace", "bamboo fabric"),
	[M_SHOE] = WORDS("canvas", "suede", "leather", "mesh", "synthetic leather", "knit fabric"),
	[M_SPORT] = WORDS("breathable mesh", "knit mesh", "synthetic", "lightweight mesh"),
	[M_LEATHER] = WORDS("genuine leather", "synthetic leather", "patent leather", "suede", "nubuck"),
	[M_RUBBER] = WORDS("rubber", "EVA foam", "PU", "textured rubber"),
	[M_WATCH] = WORDS("a stainless steel bracelet", "a leather strap", "a silicone strap", "a metal mesh strap", "a ceramic bracelet"),
	[M_BAG] = WORDS("faux leather", "genuine leather", "canvas", "jute", "nylon", "suede"),
	[M_CANVAS] = WORDS("polyester", "nylon", "canvas", "recycled polyester"),
	[M_EYE] = WORDS("metal", "acetate", "polycarbonate", "titanium"),
	[M_SILK] = WORDS("silk", "microfibre", "polyester", "knitted silk"),
	[M_SCARF] = WORDS("wool", "cotton", "viscose", "cashmere blend", "modal"),
	[M_METAL] = WORDS("sterling silver", "gold-plated brass", "stainless steel", "oxidised silver", "rose gold-plated alloy"),
	[M_BEAUTY] = WORDS("matte", "creamy", "satin", "long-wear"),
	[M_FRAGRANCE] = WORDS("floral", "woody", "citrus", "musky", "aquatic"),
};

/* how the first sentence is built */
enum
{
	K_GENERIC, K_WATCH, K_JEWEL, K_EYEWEAR, K_BEAUTY
};

typedef struct Family
{
	int			kind;
	bool		apparel;		/* has a pattern and care label */
	bool		leather_care;
	Words		styles;			/* fits, cuts or shapes; also used in the name */
	Words		details;
	Words		pairings;
} Family;

static const Family families[NFAMILIES] = {
	[F_TOP] = {K_GENERIC, true, false,
		WORDS("slim fit", "regular fit", "relaxed fit", "oversized", "cropped"),
		WORDS("It has a round neck and short sleeves.",
			  "Designed with a V-neck, short sleeves and a straight hem.",
			  "It features a polo collar with a two-button placket.",
			  "Finished with ribbed cuffs and a soft hand feel."),
		WORDS("Pair it with jeans and white sneakers.",
			  "Style it with chinos and loafers.",
	"Wear it with shorts for a laid-back look.")},
	[F_SHIRT] = {K_GENERIC, true, false,
		WORDS("slim fit", "regular fit", "tailored fit", "relaxed fit"),
		WORDS("It has a spread collar, a full button placket and long sleeves.",
			  "Features a button-down collar, a chest pocket and a curved hem.",
			  "Comes with roll-up sleeves and a mandarin collar.",
			  "Cut with a tailored back yoke and single-button cuffs."),
		WORDS("Pair it with chinos and loafers.",
			  "Tuck it into tailored trousers for the office.",
	"Wear it open over a t-shirt.")},
	[F_ETHNIC] = {K_GENERIC, true, false,
		WORDS("straight", "A-line", "anarkali", "regular fit", "flared"),
		WORDS("It has a mandarin collar, three-quarter sleeves and side slits.",
			  "Detailed with intricate thread embroidery and mirror work.",
			  "Finished with a zari border and a contrast hem.",
			  "Features a keyhole neckline and a straight hem."),
		WORDS("Pair it with leggings and juttis.",
			  "Complete the look with a dupatta and jhumkas.",
	"Style it with palazzos and flats.")},
	[F_SAREE] = {K_GENERIC, true, false,
		WORDS("handloom", "printed", "embellished", "lightweight", "festive"),
		WORDS("It comes with an unstitched blouse piece.",
			  "Woven with a rich zari border and a contrast pallu.",
			  "Drapes gracefully with a soft fall.",
			  "Detailed with sequin and stone work."),
		WORDS("Complete the look with statement earrings and heels.",
			  "Pair it with a contrast blouse and a potli bag.",
	"Style it with gold jewellery for festive evenings.")},
	[F_OUTER] = {K_GENERIC, true, false,
		WORDS("regular fit", "relaxed fit", "cropped", "longline", "oversized"),
		WORDS("It has a zip closure, two side pockets and a ribbed hem.",
			  "Features a hood with drawstrings and a kangaroo pocket.",
			  "Knitted with a ribbed neckline, cuffs and hem.",
			  "Lined for warmth with a stand collar."),
		WORDS("Layer it over a t-shirt and jeans.",
			  "Throw it on over a hoodie for extra warmth.",
	"Pair it with joggers and sneakers.")},
	[F_TAILORED] = {K_GENERIC, true, false,
		WORDS("slim fit", "regular fit", "tailored fit", "double-breasted"),
		WORDS("It has notched lapels, a two-button closure and flap pockets.",
			  "Structured shoulders and a single vent at the back.",
			  "Fully lined with an inner pocket.",
			  "Finished with horn-effect buttons and a chest pocket."),
		WORDS("Wear it with a crisp shirt and trousers.",
			  "Layer it over a t-shirt for a smart casual look.",
	"Pair it with chinos and loafers.")},
	[F_BOTTOM] = {K_GENERIC, true, false,
		WORDS("slim fit", "regular fit", "skinny fit", "straight fit", "relaxed fit", "high-rise"),
		WORDS("They have a mid-rise waist, belt loops and five pockets.",
			  "Features a zip fly with button closure and a tapered leg.",
			  "Comes with an elasticated waistband and side pockets.",
			  "Cut with a flat front and a clean hem."),
		WORDS("Pair them with a crisp shirt and loafers.",
			  "Wear them with a casual tee and sneakers.",
	"Team them with a knit sweater for cooler days.")},
	[F_ACTIVE] = {K_GENERIC, true, false,
		WORDS("slim fit", "regular fit", "tapered", "jogger"),
		WORDS("Features an elasticated drawstring waist and zip pockets.",
			  "Made with quick-dry, moisture-wicking fabric.",
			  "Has tapered cuffs and reflective details for low light."),
		WORDS("Pair them with a dry-fit tee and running shoes.",
	"Wear them with a hoodie for the commute to the gym.")},
	[F_DRESS] = {K_GENERIC, true, false,
		WORDS("fit and flare", "A-line", "bodycon", "shift", "maxi", "midi"),
		WORDS("It has a fitted bodice, a flared skirt and a concealed back zip.",
			  "Features a wrap front, tie waist and flutter sleeves.",
			  "Designed with a square neckline and puff sleeves.",
			  "Comes with a smocked back and a tiered hem."),
		WORDS("Pair it with heels and a clutch.",
			  "Style it with sneakers and a denim jacket.",
	"Add a belt and sandals for a day look.")},
	[F_INNER] = {K_GENERIC, true, false,
		WORDS("seamless", "everyday", "soft", "stretch", "ribbed"),
		WORDS("Made with a soft elastic waistband and a tag-free finish.",
			  "Offers all-day comfort with breathable, stretchable fabric.",
			  "Designed with flat seams that stay invisible under clothes."),
	WORDS("Comfortable enough to wear all day and all night.")},
	[F_SHOE] = {K_GENERIC, false, true,
		WORDS("lace-up", "slip-on", "low-top", "high-top", "lightweight"),
		WORDS("Each shoe has a cushioned footbed, a padded collar and a textured rubber outsole.",
			  "Features lace-up closure and a lightweight EVA midsole.",
			  "Designed with a breathable lining and a flexible sole.",
			  "Has a round toe and a grippy outsole for all-day wear."),
		WORDS("Pair them with jeans or chinos.",
			  "Wear them with joggers and a hoodie.",
	"Team them with tailored trousers.")},
	[F_SANDAL] = {K_GENERIC, false, true,
		WORDS("block-heel", "strappy", "open-toe", "slip-on", "platform"),
		WORDS("Features an adjustable buckle strap and a contoured footbed.",
			  "Comes with a cushioned insole and a non-slip sole.",
			  "Has a comfortable toe-post design and a lightweight sole.",
			  "Set on a stable base with a padded insole."),
		WORDS("Pair them with linen shorts or a summer dress.",
	"Wear them with shorts or cropped jeans.")},
	[F_WATCH] = {K_WATCH, false, false,
		WORDS("analogue", "chronograph", "digital", "minimalist", "multifunction"),
		WORDS("It has water resistance up to 50 metres and a mineral glass crystal.",
			  "Powered by a reliable quartz movement with a date window.",
			  "Features luminous hands and a scratch-resistant case.",
			  "Comes with a two-year warranty and a secure buckle clasp."),
		WORDS("Pair it with a crisp shirt or a casual tee.",
	"Stack it with a bracelet for a modern look.")},
	[F_BAG] = {K_GENERIC, false, true,
		WORDS("structured", "slouchy", "tote", "sling", "mini"),
		WORDS("It has a zip closure, a padded laptop sleeve and two handles.",
			  "Comes with a detachable sling strap and several inner compartments.",
			  "Features a magnetic snap closure and a structured silhouette.",
			  "Has a spacious main compartment and an outer zip pocket."),
		WORDS("Pair it with a dress and heels.",
	"Carry it with jeans and sneakers every day.")},
	[F_SMALLACC] = {K_GENERIC, false, false,
		WORDS("classic", "textured", "reversible", "slim", "printed"),
		WORDS("Crafted with neat stitching and durable hardware.",
			  "Compact, practical and made to last.",
			  "Finished with a subtle logo detail.",
			  "Sized to fit most adults comfortably."),
	WORDS("Completes a casual or a formal outfit.")},
	[F_EYEWEAR] = {K_EYEWEAR, false, false,
		WORDS("aviator", "wayfarer", "round", "cat-eye", "square"),
		WORDS("Fitted with UV400 lenses that block harmful rays.",
			  "Polarised lenses cut glare on bright days.",
			  "Comes with a protective case and a cleaning cloth."),
	WORDS("Pair them with a t-shirt and denim.")},
	[F_JEWEL] = {K_JEWEL, false, false,
		WORDS("minimal", "statement", "embellished", "textured", "classic"),
		WORDS("Finished with a secure lobster clasp.",
			  "Set with sparkling stones and a polished finish.",
			  "Nickel-free and gentle on sensitive skin.",
			  "Arrives in a gift-ready box."),
	WORDS("Pairs well with an ethnic outfit or a little black dress.")},
	[F_BEAUTY] = {K_BEAUTY, false, false,
		WORDS("long-lasting", "nourishing", "fresh", "intense", "everyday"),
		WORDS("Its long-lasting formula gives a rich, even finish.",
			  "Enriched with nourishing ingredients and dermatologically tested.",
			  "Lasts all day without fading.",
			  "Cruelty-free and suitable for daily use."),
	{NULL, 0}},
};

typedef struct Pattern
{
	const char *name;			/* as in the product name; NULL for plain */
	const char *phrase;
} Pattern;

static const Pattern patterns[] = {
	{NULL, ""},
	{NULL, ""},
	{NULL, ""},
	{"Striped", " with classic stripes"},
	{"Checked", " with a checked pattern"},
	{"Printed", " with an all-over print"},
	{"Floral", " with a floral print"},
	{"Graphic", " with a bold graphic print"},
	{"Colourblocked", " with colourblocked panels"},
	{"Embroidered", " with delicate embroidery"},
};

static const Words usage_sentences[NUSAGES] = {
	[U_CASUAL] = WORDS("An easy choice for weekends, errands and relaxed days out.",
					   "Made for everyday casual wear, from coffee runs to weekend trips."),
	[U_FORMAL] = WORDS("Sharp enough for the office, client meetings and formal dinners.",
					   "A refined formal piece for workdays and business events."),
	[U_SPORTS] = WORDS("Built for training, running and long sessions at the gym.",
					   "Performance-ready for workouts, sport and active days."),
	[U_ETHNIC] = WORDS("Made for festive occasions, weddings and family celebrations.",
					   "A traditional piece for festivals, pujas and ceremonies."),
	[U_PARTY] = WORDS("Designed to stand out at parties, cocktails and nights out.",
					  "A statement choice for evening events and celebrations."),
	[U_SMART] = WORDS("Bridges office and weekend with an easy smart casual look.",
					  "Smart casual styling that works from desk to dinner."),
	[U_TRAVEL] = WORDS("Practical for travel, commutes and weekend getaways.",
					   "Packs easily for trips, flights and city breaks."),
};

static const Words season_sentences[NSEASONS] = {
	[S_WINTER] = WORDS("Warm and cosy for cold winter days.",
					   "A winter essential for when temperatures drop."),
	[S_SPRING] = WORDS("Fresh and light for spring days.",
					   "A bright addition to your spring wardrobe."),
	[S_SUMMER] = WORDS("Light and breathable for hot summer weather.",
					   "Keeps you cool through the summer heat."),
	[S_FALL] = WORDS("Layers well for crisp autumn weather.",
					 "A fall favourite for cooler days and evenings."),
};

static const Words band_sentences[NBANDS] = {
	WORDS("Great value for everyday wear.",
		  "An affordable pick that does not compromise on style."),
	WORDS("Quality finishing at a fair price.",
		  "Well made and built to last."),
	WORDS("A premium piece with refined finishing and superior materials.",
		  "Luxurious quality with meticulous attention to detail."),
};

/* accessories wear a season lightly */
static const Words season_accents[NSEASONS] = {
	[S_WINTER] = WORDS("A finishing touch for winter outfits."),
	[S_SPRING] = WORDS("A fresh accent for spring outfits."),
	[S_SUMMER] = WORDS("A bright accent for summer outfits."),
	[S_FALL] = WORDS("A warm accent for fall outfits."),
};

static const Words care_everyday = WORDS("Machine wash cold with similar colours.",
										 "Machine wash gentle; do not tumble dry.",
										 "Hand wash separately in cold water.");
static const Words care_delicate = WORDS("Dry clean recommended.",
										 "Hand wash separately in cold water.");

/* jewellery metal that agrees with its colour */
static const Words metal_gold = WORDS("gold-plated brass", "18k gold-plated silver", "gold-tone alloy");
static const Words metal_silver = WORDS("sterling silver", "oxidised silver", "silver-plated brass");
static const Words metal_steel = WORDS("stainless steel", "brushed steel");
static const Words metal_other = WORDS("enamel-coated alloy", "resin", "beaded alloy");
static const Words care_leather = WORDS("Wipe clean with a soft dry cloth.",
										"Store in a dust bag to keep its shape.");

/* fictional labels, so no real brand is misattributed */
static const Words brands_general = WORDS("Northloom", "Urban Fable", "Kite Street", "Aster Lane",
										  "Marlow & Co", "Cedar & Stone", "Hollow Pine",
										  "Bluefjord", "Tidewell", "Quill & Oak");
static const Words brands_sport = WORDS("Strideline", "Peak Motion", "Vantage Athletics",
										"Kinetic Nine", "Tempo Run");
static const Words brands_ethnic = WORDS("Saffron House", "Indigo Thread", "Mehr Looms",
										 "Kesari", "Chandni");
static const Words brands_luxe = WORDS("Maison Verel", "Sable & Row", "Atelier Mira",
									   "Corvid", "Lumen Noir");
static const Words brands_time = WORDS("Ferro Time", "Meridian", "Axel & Hart", "Chronika");
static const Words brands_beauty = WORDS("Rosewater", "Bloom Lab", "Velvet Theory",
										 "Aura Botanics");

/* ---- random streams -------------------------------------------------------- */

enum
{
	STREAM_PRODUCT = 1,
	STREAM_TEXT,
	STREAM_POPULARITY,
	STREAM_SEGMENT,
	STREAM_CUSTOMER,
	STREAM_EVENTS,
	STREAM_SEASONAL				/* last: the streams before it keep their keys */
};

static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* An independent generator per (seed, stream, entity): the crux of determinism. */
static void
stream_seed(FrRng *rng, uint64_t seed, int stream, int64_t index)
{
	uint64_t	h = mix64(seed ^ (UINT64_C(0x9E3779B97F4A7C15) * (uint64_t) stream));

	h = mix64(h + UINT64_C(0xD1B54A32D192ED03) * ((uint64_t) index + 1));
	fr_rng_seed(rng, h);
}

static int
pick_weighted(FrRng *rng, const unsigned char *w, int n)
{
	int			total = 0;
	int			r;

	for (int i = 0; i < n; i++)
		total += w[i];
	if (total == 0)
		return 0;
	r = (int) fr_rng_below(rng, (uint64_t) total);
	for (int i = 0; i < n; i++)
	{
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

static int
pick_weighted_int(FrRng *rng, const int *w, int n)
{
	int			total = 0;
	int			r;

	for (int i = 0; i < n; i++)
		total += w[i];
	r = (int) fr_rng_below(rng, (uint64_t) total);
	for (int i = 0; i < n; i++)
	{
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

static const char *
pick_word(FrRng *rng, const Words *words)
{
	return words->w[fr_rng_below(rng, (uint64_t) words->n)];
}

/* ---- products ---------------------------------------------------------------- */

/* 8% of the catalogue arrives during the window: cold-start items */
#define NEW_ARRIVAL_SHARE	0.08
#define OUT_OF_STOCK_SHARE	0.08

static int
pick_article(FrRng *rng)
{
	int			total = 0;
	int			r;

	for (int i = 0; i < NARTICLES; i++)
		total += articles[i].weight;
	r = (int) fr_rng_below(rng, (uint64_t) total);
	for (int i = 0; i < NARTICLES; i++)
	{
		if (r < articles[i].weight)
			return i;
		r -= articles[i].weight;
	}
	return NARTICLES - 1;
}

static void
product_attributes(uint64_t seed, int64_t index, FrShopProduct *p)
{
	FrRng		rng;
	const Article *a;
	double		lo,
				hi,
				x;
	int64_t		whole;
	static const int endings[3] = {99, 49, 0};
	static const int ending_weights[3] = {60, 20, 20};

	stream_seed(&rng, seed, STREAM_PRODUCT, index);
	p->product_id = index + 1;
	p->article = pick_article(&rng);
	a = &articles[p->article];
	p->gender = pick_weighted(&rng, a->gender, NGENDERS);
	p->usage = pick_weighted(&rng, a->usage, NUSAGES);
	p->season = pick_weighted(&rng, a->season, NSEASONS);
	p->colour = pick_weighted_int(&rng, palettes[a->palette], NCOLOURS);
	p->band = pick_weighted_int(&rng, band_weights, NBANDS);

	/* log-uniform price inside the band's third of the article's range */
	lo = log((double) a->price_lo);
	hi = log((double) a->price_hi);
	x = exp(lo + (hi - lo) * (p->band + fr_rng_uniform(&rng)) / NBANDS);
	whole = (int64_t) floor(x);
	if (whole < 1)
		whole = 1;
	p->price_cents = whole * 100 + endings[pick_weighted_int(&rng, ending_weights, 3)];

	/* product 0 always predates the window, so every event has a fallback */
	if (index > 0 && fr_rng_uniform(&rng) < NEW_ARRIVAL_SHARE)
	{
		p->created_at = (int64_t) (fr_rng_uniform(&rng) * (FR_SHOP_WINDOW_SECONDS - 30 * 86400));
		p->in_stock = true;
	}
	else
	{
		p->created_at = -1 - (int64_t) (fr_rng_uniform(&rng) * (730.0 * 86400));
		p->in_stock = fr_rng_uniform(&rng) >= OUT_OF_STOCK_SHARE;
	}

	p->category = a->category;
	p->sub_category = a->sub_category;
	p->article_type = a->type;
	p->colour_name = colour_names[p->colour];
	p->season_name = season_names[p->season];
	p->gender_name = gender_names[p->gender];
	p->usage_name = usage_names[p->usage];
	p->band_name = band_names[p->band];
}

typedef struct Text
{
	char	   *buf;
	size_t		size;
	size_t		len;
} Text;

static void text_add(Text *t, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
text_add(Text *t, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t) n;
	if (t->len >= t->size)
		t->len = t->size - 1;
}

/* append words with each first letter upper-cased, for product names */
static void
text_add_title(Text *t, const char *s)
{
	bool		start = true;

	text_add(t, " ");
	for (; *s; s++)
	{
		char		c = *s;

		if (start && c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		start = (c == ' ');
		text_add(t, "%c", c);
	}
}

static void
lower_copy(char *dst, size_t size, const char *src)
{
	size_t		i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char) (src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

/* "A" or "An" before word, by its sound as far as our vocabulary needs */
static const char *
indefinite(const char *word)
{
	if (strncmp(word, "uni", 3) == 0)
		return "A";
	return word[0] && strchr("aeiouAEIOU", word[0]) ? "An" : "A";
}

static void
product_text(uint64_t seed, int64_t index, FrShopProduct *p)
{
	FrRng		rng;
	const Article *a = &articles[p->article];
	const Family *f = &families[a->family];
	const Words *brands;
	const char *brand;
	const char *style;
	const char *material;
	const Pattern *pattern = &patterns[0];
	char		colour[32];
	bool		plural = (a->number != N_ONE);
	Text		t;

	stream_seed(&rng, seed, STREAM_TEXT, index);

	if (a->family == F_BEAUTY)
		brands = &brands_beauty;
	else if (a->family == F_WATCH)
		brands = (p->band == 2 && fr_rng_uniform(&rng) < 0.5) ? &brands_luxe : &brands_time;
	else if (p->usage == U_SPORTS)
		brands = &brands_sport;
	else if (p->usage == U_ETHNIC)
		brands = &brands_ethnic;
	else if (p->band == 2 && fr_rng_uniform(&rng) < 0.5)
		brands = &brands_luxe;
	else
		brands = &brands_general;
	brand = pick_word(&rng, brands);
	style = pick_word(&rng, &f->styles);
	material = pick_word(&rng, &materials[a->material]);
	if (f->kind == K_JEWEL)
		material = pick_word(&rng, p->colour == C_GOLD ? &metal_gold :
							 p->colour == C_SILVER ? &metal_silver :
							 p->colour == C_STEEL ? &metal_steel : &metal_other);
	if (f->apparel)
		pattern = &patterns[fr_rng_below(&rng, LEN(patterns))];
	lower_copy(colour, sizeof(colour), colour_names[p->colour]);

	/* name, Myntra style: "Brand Gender Colour [Pattern] Style Noun" */
	t.buf = p->name;
	t.size = sizeof(p->name);
	t.len = 0;
	p->name[0] = '\0';
	text_add(&t, "%s %s %s", brand, gender_names[p->gender], colour_names[p->colour]);
	if (pattern->name)
		text_add(&t, " %s", pattern->name);
	text_add_title(&t, style);
	text_add_title(&t, a->noun);

	/* description: what it is, details, occasion, season, pairing, price, care */
	t.buf = p->description;
	t.size = sizeof(p->description);
	t.len = 0;
	p->description[0] = '\0';
	switch (f->kind)
	{
		case K_WATCH:
			text_add(&t, "%s %s %s %s with a %s dial and %s.",
					 indefinite(gender_possessive[p->gender]),
					 gender_possessive[p->gender], style, a->noun, colour, material);
			break;
		case K_JEWEL:
			text_add(&t, "%s %s %s %s in %s with a %s finish.",
					 plural ? "A pair of" : indefinite(gender_possessive[p->gender]),
					 gender_possessive[p->gender], style, a->noun, material, colour);
			break;
		case K_EYEWEAR:
			text_add(&t, "A pair of %s %s with %s %s frames.",
					 style, a->noun, colour, material);
			break;
		case K_BEAUTY:
			text_add(&t, "%s %s %s %s from %s in a %s %s.",
					 indefinite(style), style, material, a->noun, brand,
					 colour, a->palette == PAL_BEAUTY ? "shade" : "bottle");
			break;
		default:
			switch (fr_rng_below(&rng, 3))
			{
				case 0:
					text_add(&t, "%s %s %s in %s %s%s.",
							 a->number == N_PAIR ? "A pair of" :
							 a->number == N_PACK ? "A pack of" :
							 indefinite(style),
							 style, a->noun, colour, material, pattern->phrase);
					break;
				case 1:
					text_add(&t, "%s %s %s from %s %s in %s %s%s.",
							 plural ? "These" : "This", style, a->noun, brand,
							 plural ? "come" : "comes", colour, material, pattern->phrase);
					break;
				default:
					text_add(&t, "Our %s %s %s %s crafted from %s %s%s.",
							 gender_possessive[p->gender], style, a->noun,
							 plural ? "are" : "is", colour, material, pattern->phrase);
					break;
			}
			break;
	}
	text_add(&t, " %s", pick_word(&rng, &f->details));
	text_add(&t, " %s", pick_word(&rng, &usage_sentences[p->usage]));
	if (a->family != F_BEAUTY)
		text_add(&t, " %s", pick_word(&rng, f->apparel || a->family == F_SHOE || a->family == F_SANDAL
									  ? &season_sentences[p->season] : &season_accents[p->season]));
	if (f->pairings.n > 0 && fr_rng_uniform(&rng) < 0.6)
		text_add(&t, " %s", pick_word(&rng, &f->pairings));
	text_add(&t, " %s", pick_word(&rng, &band_sentences[p->band]));
	if (f->apparel)
		text_add(&t, " %s", pick_word(&rng, p->usage == U_FORMAL || p->usage == U_ETHNIC ||
									  p->usage == U_PARTY || p->band == 2
									  ? &care_delicate : &care_everyday));
	else if (f->leather_care)
		text_add(&t, " %s", pick_word(&rng, &care_leather));
}

void
fr_shop_product(uint64_t seed, int64_t index, bool with_text, FrShopProduct *out)
{
	product_attributes(seed, index, out);
	if (with_text)
		product_text(seed, index, out);
	else
	{
		out->name[0] = '\0';
		out->description[0] = '\0';
	}
}

/* ---- the world: catalogue summary, popularity, segments ------------------------ */

#define POPULARITY_EXPONENT 0.8
#define HOURS (FR_SHOP_WINDOW_DAYS * 24)
/* Jan-Feb winter, spring, summer, fall, December winter */
#define SEASON_RUNS 5

/*
 * Products grouped by a key; each group carries a Walker alias table
 * (Vose's construction) so a popularity-weighted draw costs O(1) — binary
 * searches over cold memory were most of the generator's time.
 */
typedef struct AliasSlot
{
	float		prob;			/* take item with this probability ... */
	int32_t		item;
	int32_t		other;			/* ... else this one */
} AliasSlot;

typedef struct Bucket
{
	int32_t		nkeys;
	int32_t    *start;			/* nkeys + 1 offsets into slots */
	AliasSlot  *slots;
} Bucket;

/* what the event generator looks at per product, packed into one cache line's share */
typedef struct ProductInfo
{
	int32_t		created;
	int16_t		article;
	int8_t		colour;
	int8_t		band;
	int8_t		season;
	int8_t		gender;
} ProductInfo;

typedef struct Segment
{
	int			gender;
	int			band;
	double		age_mean;
	int			n;
	int			article[FR_SHOP_MAX_PREFS];
	int			colour[FR_SHOP_MAX_PREFS];
	int			band_of[FR_SHOP_MAX_PREFS];
	double		share[FR_SHOP_MAX_PREFS];
} Segment;

struct FrShopWorld
{
	uint64_t	seed;
	int32_t		n_customers;
	int32_t		n_products;
	int			n_segments;
	ProductInfo *products;
	double	   *p_weight;		/* popularity */
	Bucket		global;
	Bucket		by_cell;		/* (article, colour, band) */
	Bucket		by_article_band;
	Bucket		by_article;
	Segment    *segments;
	/* traffic: cumulative share of the window up to each hour */
	double		traffic[HOURS + 1];
	int8_t		day_season[FR_SHOP_WINDOW_DAYS];
	/* the window as runs of one season: their traffic shares and seasons */
	int			n_runs;
	double		run_cdf[SEASON_RUNS + 1];
	int8_t		run_season[SEASON_RUNS];
};

static inline int
cell_key(int article, int colour, int band)
{
	return (article * NCOLOURS + colour) * NBANDS + band;
}

/* Vose's alias construction over items[lo, hi), given scratch of hi - lo ints */
static void
alias_build(AliasSlot *slots, const int32_t *items, int32_t lo, int32_t hi,
			const double *weight, int32_t *scratch)
{
	int32_t		n = hi - lo;
	int32_t    *small = scratch;
	int32_t    *large = scratch + n;	/* grows downwards from the end */
	int32_t		ns = 0,
				nl = 0;
	double		total = 0.0;
	double	   *q;

	if (n <= 0)
		return;
	q = fr_alloc(fr_mul_size((size_t) n, sizeof(double)));
	for (int32_t i = 0; i < n; i++)
		total += weight[items[lo + i]];
	for (int32_t i = 0; i < n; i++)
	{
		slots[lo + i].item = items[lo + i];
		slots[lo + i].other = items[lo + i];
		slots[lo + i].prob = 1.0f;
		q[i] = weight[items[lo + i]] * n / total;
		if (q[i] < 1.0)
			small[ns++] = i;
		else
			*(large - ++nl) = i;
	}
	while (ns > 0 && nl > 0)
	{
		int32_t		s = small[--ns];
		int32_t		l = *(large - nl);

		slots[lo + s].prob = (float) q[s];
		slots[lo + s].other = items[lo + l];
		q[l] = (q[l] + q[s]) - 1.0;
		if (q[l] < 1.0)
		{
			nl--;
			small[ns++] = l;
		}
	}
	/* whatever is left has probability 1 up to rounding: keeps its own item */
	fr_free(q);
}

/* items grouped by keys[] (NULL: one group in the order of items), with aliases */
static void
bucket_build(Bucket *b, int32_t nkeys, const int32_t *keys, const int32_t *order,
			 const double *weight, int32_t n)
{
	int32_t    *items;
	int32_t    *scratch;

	b->nkeys = nkeys;
	b->start = fr_alloc(fr_mul_size((size_t) nkeys + 1, sizeof(int32_t)));
	b->slots = fr_alloc(fr_mul_size((size_t) n, sizeof(AliasSlot)));
	items = fr_alloc(fr_mul_size((size_t) n, sizeof(int32_t)));
	if (keys == NULL)
	{
		memcpy(items, order, sizeof(int32_t) * (size_t) n);
		b->start[1] = n;
	}
	else
	{
		int32_t    *fill;

		for (int32_t i = 0; i < n; i++)
			b->start[keys[i] + 1]++;
		for (int32_t k = 0; k < nkeys; k++)
			b->start[k + 1] += b->start[k];
		fill = fr_alloc(fr_mul_size((size_t) nkeys + 1, sizeof(int32_t)));
		memcpy(fill, b->start, sizeof(int32_t) * (size_t) nkeys);
		for (int32_t i = 0; i < n; i++)
			items[fill[keys[i]]++] = i;
		fr_free(fill);
	}
	scratch = fr_alloc(fr_mul_size((size_t) n, sizeof(int32_t)));
	for (int32_t k = 0; k < nkeys; k++)
	{
		fr_check_interrupts();
		alias_build(b->slots, items, b->start[k], b->start[k + 1], weight, scratch);
	}
	fr_free(scratch);
	fr_free(items);
}

static void
bucket_free(Bucket *b)
{
	fr_free(b->start);
	fr_free(b->slots);
}

/* a product of the key's group with probability proportional to popularity, or -1 */
static inline int32_t
bucket_sample(const Bucket *b, int32_t key, double u)
{
	int32_t		lo = b->start[key];
	int32_t		n = b->start[key + 1] - lo;
	const AliasSlot *slot;
	double		x;
	int32_t		i;

	if (n <= 0)
		return -1;
	/* one uniform: its integer part picks the slot, the fraction tosses the coin */
	x = u * n;
	i = (int32_t) x;
	if (i >= n)
		i = n - 1;
	slot = &b->slots[lo + i];
	return (x - i) < slot->prob ? slot->item : slot->other;
}

static const int month_start[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

static int
month_of_day(int day)
{
	int			m = 0;

	while (m < 11 && day >= month_start[m + 1])
		m++;
	return m;
}

/*
 * Relative traffic of each hour of 2025: growth through the year, busier
 * weekends, January and July sales, Black Friday week and the run-up to
 * Christmas; evenings busier than nights.
 */
static void
traffic_build(FrShopWorld *w)
{
	static const double hour_weight[24] = {
		3, 2, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 10, 10, 9, 9, 10, 11, 13, 15, 16, 15, 11, 6
	};
	double		total;

	w->traffic[0] = 0.0;
	for (int d = 0; d < FR_SHOP_WINDOW_DAYS; d++)
	{
		int			month = month_of_day(d);
		int			dom = d - month_start[month];	/* 0-based day of month */
		int			dow = (2 + d) % 7;	/* 2025-01-01 was a Wednesday; 0 = Monday */
		double		dw = 1.0 + 0.25 * d / FR_SHOP_WINDOW_DAYS;

		if (dow >= 5)
			dw *= 1.2;
		if ((month == 0 || month == 6) && dom < 15)
			dw *= 1.3;
		if (d >= 326 && d <= 335)	/* Nov 23 - Dec 2: Black Friday, Cyber Monday */
			dw *= 2.0;
		else if (d > 335 && d <= 356)	/* to Dec 23 */
			dw *= 1.4;
		else if (d == 358 || d == 359)	/* Christmas days */
			dw *= 0.7;

		/* meteorological seasons of the northern hemisphere */
		w->day_season[d] = (int8_t) ((month == 11 || month <= 1) ? S_WINTER :
									 month <= 4 ? S_SPRING :
									 month <= 7 ? S_SUMMER : S_FALL);
		for (int h = 0; h < 24; h++)
		{
			int			i = d * 24 + h;

			w->traffic[i + 1] = w->traffic[i] + dw * hour_weight[h];
		}
	}
	total = w->traffic[HOURS];
	for (int i = 0; i <= HOURS; i++)
		w->traffic[i] /= total;

	w->n_runs = 0;
	for (int d = 0; d < FR_SHOP_WINDOW_DAYS; d++)
		if (d == 0 || w->day_season[d] != w->day_season[d - 1])
		{
			w->run_cdf[w->n_runs] = w->traffic[d * 24];
			w->run_season[w->n_runs++] = w->day_season[d];
		}
	w->run_cdf[w->n_runs] = 1.0;
}

/* share of the window's traffic before second t */
static double
traffic_cdf(const FrShopWorld *w, int64_t t)
{
	int64_t		h;

	if (t <= 0)
		return 0.0;
	if (t >= FR_SHOP_WINDOW_SECONDS)
		return 1.0;
	h = t / 3600;
	return w->traffic[h] + (w->traffic[h + 1] - w->traffic[h]) * (double) (t - h * 3600) / 3600.0;
}

/* inverse of traffic_cdf; monotone, so sorted shares give sorted times */
static int64_t
traffic_time(const FrShopWorld *w, double x)
{
	int			lo = 0,
				hi = HOURS;
	double		span;

	if (x <= 0.0)
		return 0;
	if (x >= 1.0)
		return FR_SHOP_WINDOW_SECONDS - 1;
	while (hi - lo > 1)
	{
		int			mid = (lo + hi) / 2;

		if (w->traffic[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	span = w->traffic[lo + 1] - w->traffic[lo];
	return (int64_t) lo * 3600 +
		(int64_t) (span > 0 ? 3600.0 * (x - w->traffic[lo]) / span : 0.0);
}

static bool
gender_fits(int customer_gender, int product_gender)
{
	if (product_gender == G_UNISEX)
		return true;
	if (customer_gender == G_MEN)
		return product_gender == G_MEN || product_gender == G_BOYS;
	return product_gender == G_WOMEN || product_gender == G_GIRLS;
}

/*
 * A segment's style cluster is anchored on real catalogue products, so each
 * cell it names holds at least one product even in a 100-item shop.
 */
static void
segment_build(FrShopWorld *w, int s)
{
	Segment    *seg = &w->segments[s];
	FrRng		rng;
	int			want;
	double		total = 0.0;

	stream_seed(&rng, w->seed, STREAM_SEGMENT, s);
	seg->gender = fr_rng_uniform(&rng) < 0.55 ? G_WOMEN : G_MEN;
	seg->band = pick_weighted_int(&rng, band_weights, NBANDS);
	seg->age_mean = 20.0 + 28.0 * fr_rng_uniform(&rng);
	want = 2 + (int) fr_rng_below(&rng, FR_SHOP_MAX_PREFS - 1);
	seg->n = 0;
	for (int j = 0; j < want; j++)
	{
		int32_t		found = -1;

		for (int tries = 0; tries < 512 && found < 0; tries++)
		{
			int32_t		p = (int32_t) fr_rng_below(&rng, (uint64_t) w->n_products);
			bool		dup = false;

			for (int k = 0; k < seg->n; k++)
				if (seg->article[k] == w->products[p].article)
					dup = true;
			if (dup)
				continue;
			/* relax the gender and band wishes for tiny catalogues */
			if (tries < 384 && !gender_fits(seg->gender, w->products[p].gender))
				continue;
			if (tries < 256 && w->products[p].band != seg->band && fr_rng_uniform(&rng) >= 0.3)
				continue;
			found = p;
		}
		if (found < 0)
			break;
		seg->article[seg->n] = w->products[found].article;
		seg->colour[seg->n] = w->products[found].colour;
		seg->band_of[seg->n] = w->products[found].band;
		seg->share[seg->n] = exp(0.5 * fr_rng_normal(&rng));
		total += seg->share[seg->n];
		seg->n++;
	}
	if (seg->n == 0)
	{
		/* every product had the same article: impossible past tries, but be total */
		seg->article[0] = w->products[0].article;
		seg->colour[0] = w->products[0].colour;
		seg->band_of[0] = w->products[0].band;
		seg->share[0] = total = 1.0;
		seg->n = 1;
	}
	for (int j = 0; j < seg->n; j++)
		seg->share[j] /= total;
}

FrShopWorld *
fr_shop_world_build(uint64_t seed, int32_t n_customers, int32_t n_products)
{
	FrShopWorld *w;
	int32_t    *keys;
	FrRng		rng;
	int32_t    *perm;
	int			k;

	if (n_customers < 1 || n_customers > FR_SHOP_MAX_CUSTOMERS)
		fr_fail(FR_FAIL_PARAM, "customers must be between 1 and %d", FR_SHOP_MAX_CUSTOMERS);
	if (n_products < 1 || n_products > FR_SHOP_MAX_PRODUCTS)
		fr_fail(FR_FAIL_PARAM, "products must be between 1 and %d", FR_SHOP_MAX_PRODUCTS);

	w = fr_alloc(sizeof(FrShopWorld));
	w->seed = seed;
	w->n_customers = n_customers;
	w->n_products = n_products;
	w->products = fr_alloc(fr_mul_size((size_t) n_products, sizeof(ProductInfo)));
	w->p_weight = fr_alloc(fr_mul_size((size_t) n_products, sizeof(double)));

	for (int32_t i = 0; i < n_products; i++)
	{
		FrShopProduct p;

		if ((i & 0xFFFF) == 0)
			fr_check_interrupts();
		product_attributes(seed, i, &p);
		w->products[i].article = (int16_t) p.article;
		w->products[i].colour = (int8_t) p.colour;
		w->products[i].band = (int8_t) p.band;
		w->products[i].season = (int8_t) p.season;
		w->products[i].gender = (int8_t) p.gender;
		w->products[i].created = (int32_t) p.created_at;
	}

	/* Zipf popularity over a seeded random ranking (Fisher-Yates) */
	perm = fr_alloc(fr_mul_size((size_t) n_products, sizeof(int32_t)));
	for (int32_t i = 0; i < n_products; i++)
		perm[i] = i;
	stream_seed(&rng, seed, STREAM_POPULARITY, 0);
	for (int32_t i = n_products - 1; i > 0; i--)
	{
		int32_t		j = (int32_t) fr_rng_below(&rng, (uint64_t) i + 1);
		int32_t		tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (int32_t r = 0; r < n_products; r++)
		w->p_weight[perm[r]] = pow((double) r + 1.0, -POPULARITY_EXPONENT);

	bucket_build(&w->global, 1, NULL, perm, w->p_weight, n_products);
	fr_free(perm);
	keys = fr_alloc(fr_mul_size((size_t) n_products, sizeof(int32_t)));
	for (int32_t i = 0; i < n_products; i++)
		keys[i] = cell_key(w->products[i].article, w->products[i].colour, w->products[i].band);
	bucket_build(&w->by_cell, NCELLS, keys, NULL, w->p_weight, n_products);
	for (int32_t i = 0; i < n_products; i++)
		keys[i] = w->products[i].article * NBANDS + w->products[i].band;
	bucket_build(&w->by_article_band, NARTICLES * NBANDS, keys, NULL, w->p_weight, n_products);
	for (int32_t i = 0; i < n_products; i++)
		keys[i] = w->products[i].article;
	bucket_build(&w->by_article, NARTICLES, keys, NULL, w->p_weight, n_products);
	fr_free(keys);

	traffic_build(w);

	/* about sqrt(customers)/2 segments: 8 for 200 customers, 64 from 16k on */
	k = (int) ceil(sqrt((double) n_customers) / 2.0);
	w->n_segments = k < 1 ? 1 : k > 64 ? 64 : k;
	w->segments = fr_alloc(fr_mul_size((size_t) w->n_segments, sizeof(Segment)));
	for (int s = 0; s < w->n_segments; s++)
		segment_build(w, s);

	return w;
}

void
fr_shop_world_free(FrShopWorld *w)
{
	if (w == NULL)
		return;
	fr_free(w->products);
	fr_free(w->p_weight);
	bucket_free(&w->global);
	bucket_free(&w->by_cell);
	bucket_free(&w->by_article_band);
	bucket_free(&w->by_article);
	fr_free(w->segments);
	fr_free(w);
}

int
fr_shop_world_segments(const FrShopWorld *w)
{
	return w->n_segments;
}

/* ---- customers ------------------------------------------------------------------ */

void
fr_shop_customer(const FrShopWorld *w, int64_t index, FrShopCustomer *c)
{
	FrRng		rng;
	const Segment *seg;
	double		age,
				active,
				total = 0.0;
	double		raw[FR_SHOP_MAX_PREFS];

	stream_seed(&rng, w->seed, STREAM_CUSTOMER, index);
	c->customer_id = index + 1;
	c->segment = (int) fr_rng_below(&rng, (uint64_t) w->n_segments);
	seg = &w->segments[c->segment];
	c->segment++;
	c->gender = seg->gender;
	c->gender_name = gender_names[seg->gender];
	age = floor(seg->age_mean + 7.0 * fr_rng_normal(&rng) + 0.5);
	c->age = age < 16 ? 16 : age > 80 ? 80 : (int) age;

	/* a quarter sign up during the window: cold-start users */
	if (fr_rng_uniform(&rng) < 0.75)
		c->signup_at = -1 - (int64_t) (fr_rng_uniform(&rng) * (3.0 * 365 * 86400));
	else
		c->signup_at = (int64_t) (fr_rng_uniform(&rng) * (FR_SHOP_WINDOW_SECONDS - 14 * 86400));

	/* heavy-tailed activity, scaled by the part of the window they are members */
	active = (double) (FR_SHOP_WINDOW_SECONDS - (c->signup_at > 0 ? c->signup_at : 0)) /
		FR_SHOP_WINDOW_SECONDS;
	c->activity = exp(fr_rng_normal(&rng)) * active;

	c->pref_prob = 0.6 + 0.1 * fr_rng_uniform(&rng);
	c->n_prefs = seg->n;
	for (int j = 0; j < seg->n; j++)
	{
		raw[j] = seg->share[j] * exp(0.25 * fr_rng_normal(&rng));
		total += raw[j];
	}
	for (int j = 0; j < seg->n; j++)
	{
		FrShopPref *p = &c->prefs[j];

		p->article = seg->article[j];
		p->colour = seg->colour[j];
		p->band = seg->band_of[j];
		p->strength = c->pref_prob * raw[j] / total;
		p->article_type = articles[p->article].type;
		p->colour_name = colour_names[p->colour];
		p->band_name = band_names[p->band];
	}
}

/* ---- events ------------------------------------------------------------------------ */

#define MEAN_SESSION_EVENTS	4.5
#define REPEAT_SHARE		0.05	/* a view of something bought before */
#define REVISIT_SHARE		0.15	/* a view of something viewed before */
#define HISTORY				8

enum
{
	STAGE_BROWSE, STAGE_CART, STAGE_PURCHASE
};

struct FrShopEventGen
{
	const FrShopWorld *w;
	int64_t		n_events;
	int64_t    *first;			/* first event index per customer, n_customers + 1 */

	int64_t		customer;		/* current customer index; -1 before the first */
	FrShopCustomer cust;
	FrRng		rng;
	int64_t		next_index;		/* global event index of the next event */
	int64_t		left;			/* events left for this customer */
	int			sessions_left;
	int64_t		session_left;	/* events left in this session */
	double		order_pos;		/* sequential sorted uniforms for session starts */
	double		cdf_lo;
	double		cdf_hi;
	int64_t		t;				/* time of the last event */
	int64_t		session_id;
	int			stage;
	int32_t		product;
	bool		repeat;			/* the current product was bought before */
	int32_t		bought[HISTORY];
	int			n_bought;
	int32_t		viewed[HISTORY];
	int			n_viewed;
	bool		first_session;
	/* seasonal tastes: the favourite season and the customer's own traffic */
	bool		seasonal;
	int			favourite;
	double		own_cdf[SEASON_RUNS + 1];	/* own share of traffic up to each run */
};

const char *
fr_shop_event_type_name(FrShopEventType type)
{
	switch (type)
	{
		case FR_SHOP_VIEW:
			return "view";
		case FR_SHOP_CART:
			return "cart";
		case FR_SHOP_PURCHASE:
			return "purchase";
	}
	return "view";
}

FrShopEventGen *
fr_shop_events_begin(const FrShopWorld *w, int64_t n_events, bool seasonal_tastes)
{
	FrShopEventGen *g;
	double		total = 0.0,
				run = 0.0;
	int64_t		nc = w->n_customers;

	if (n_events < 0 || n_events > FR_SHOP_MAX_EVENTS)
		fr_fail(FR_FAIL_PARAM, "events must be between 0 and %lld",
				(long long) FR_SHOP_MAX_EVENTS);

	g = fr_alloc(sizeof(FrShopEventGen));
	g->w = w;
	g->n_events = n_events;
	g->first = fr_alloc(fr_mul_size((size_t) nc + 1, sizeof(int64_t)));

	/*
	 * Quotas proportional to activity, as cumulative floors so they add up
	 * to n_events exactly.  Two passes recompute the activities instead of
	 * holding them: the same additions in the same order give the same sum.
	 */
	for (int64_t c = 0; c < nc; c++)
	{
		FrShopCustomer cust;

		if ((c & 0xFFFF) == 0)
			fr_check_interrupts();
		fr_shop_customer(w, c, &cust);
		total += cust.activity;
	}
	for (int64_t c = 0; c < nc; c++)
	{
		FrShopCustomer cust;

		if ((c & 0xFFFF) == 0)
			fr_check_interrupts();
		g->first[c] = (int64_t) floor((double) n_events * (run / total));
		if (g->first[c] > n_events)
			g->first[c] = n_events;
		if (c > 0 && g->first[c] < g->first[c - 1])
			g->first[c] = g->first[c - 1];
		fr_shop_customer(w, c, &cust);
		run += cust.activity;
	}
	g->first[nc] = n_events;

	g->seasonal = seasonal_tastes;
	g->customer = -1;
	g->left = 0;
	g->session_left = 0;
	g->sessions_left = 0;
	g->session_id = 0;
	g->stage = STAGE_BROWSE;
	return g;
}

void
fr_shop_events_end(FrShopEventGen *g)
{
	if (g == NULL)
		return;
	fr_free(g->first);
	fr_free(g);
}

int64_t
fr_shop_events_quota(const FrShopEventGen *g, int64_t c)
{
	return g->first[c + 1] - g->first[c];
}

#define FAVOURITE_TRAFFIC 3.0

int
fr_shop_favourite_season(uint64_t seed, int64_t index, const char **name)
{
	FrRng		rng;
	int			s;

	stream_seed(&rng, seed, STREAM_SEASONAL, index);
	s = (int) fr_rng_below(&rng, NSEASONS);
	if (name)
		*name = season_names[s];
	return s;
}

/*
 * A customer with a favourite season sees the shop's traffic curve scaled
 * by FAVOURITE_TRAFFIC in its runs.  Their cumulative share is piecewise
 * linear in the shop's over the season runs, so session starts still
 * stream as sorted uniforms: mapped back run by run, then through the
 * shop's curve.
 */
static void
own_traffic_build(FrShopEventGen *g)
{
	const FrShopWorld *w = g->w;

	g->own_cdf[0] = 0.0;
	for (int k = 0; k < w->n_runs; k++)
		g->own_cdf[k + 1] = g->own_cdf[k] + (w->run_cdf[k + 1] - w->run_cdf[k]) *
			(w->run_season[k] == g->favourite ? FAVOURITE_TRAFFIC : 1.0);
	for (int k = 1; k <= w->n_runs; k++)
		g->own_cdf[k] /= g->own_cdf[w->n_runs];
}

/*
 * x on the piecewise linear curve through (from[k], to[k]), k = 0 .. n:
 * the customer's share of their traffic before the shop's share x
 * (from run_cdf to own_cdf), and back.
 */
static double
remap(const double *from, const double *to, int n, double x)
{
	int			k = 0;

	while (k < n - 1 && x >= from[k + 1])
		k++;
	return to[k] + (x - from[k]) * (to[k + 1] - to[k]) / (from[k + 1] - from[k]);
}

static void
start_customer(FrShopEventGen *g, int64_t c)
{
	const FrShopWorld *w = g->w;
	int64_t		t_lo,
				t_hi;
	double		s;

	g->customer = c;
	fr_shop_customer(w, c, &g->cust);
	stream_seed(&g->rng, w->seed, STREAM_EVENTS, c);
	g->next_index = g->first[c];
	g->left = g->first[c + 1] - g->first[c];

	s = floor((double) g->left / MEAN_SESSION_EVENTS * (0.6 + 0.8 * fr_rng_uniform(&g->rng)) + 0.5);
	if (s < 1)
		s = 1;
	if (s > (double) g->left)
		s = (double) g->left;
	if (s > 1e8)
		s = 1e8;
	g->sessions_left = (int) s;
	g->session_left = 0;

	t_lo = g->cust.signup_at > 0 ? g->cust.signup_at : 0;
	t_hi = FR_SHOP_WINDOW_SECONDS - 6 * 3600;
	g->cdf_lo = traffic_cdf(w, t_lo);
	g->cdf_hi = traffic_cdf(w, t_hi);
	if (g->seasonal)
	{
		g->favourite = fr_shop_favourite_season(w->seed, c, NULL);
		own_traffic_build(g);
		g->cdf_lo = remap(w->run_cdf, g->own_cdf, w->n_runs, g->cdf_lo);
		g->cdf_hi = remap(w->run_cdf, g->own_cdf, w->n_runs, g->cdf_hi);
	}
	g->order_pos = 0.0;
	g->t = t_lo;
	g->n_bought = 0;
	g->n_viewed = 0;
	g->first_session = true;
	g->stage = STAGE_BROWSE;
}

static void
start_session(FrShopEventGen *g)
{
	int64_t		size;
	int64_t		start;
	double		v,
				at;

	if (g->sessions_left <= 1)
		size = g->left;
	else
	{
		/* geometric around the mean that is left, leaving one event per session */
		double		m = (double) g->left / g->sessions_left;
		int64_t		cap = g->left - (g->sessions_left - 1);

		size = 1;
		if (m > 1.0)
		{
			double		u = fr_rng_uniform(&g->rng);

			size += (int64_t) floor(log(1.0 - u) / log(1.0 - 1.0 / m));
		}
		if (size > cap)
			size = cap;
	}

	/*
	 * The next of sessions_left sorted uniforms on [order_pos, 1): the minimum
	 * of n uniforms is 1 - V^(1/n).  Streams session starts in time order
	 * without storing them.
	 */
	v = 1.0 - fr_rng_uniform(&g->rng);
	g->order_pos += (1.0 - g->order_pos) * (1.0 - pow(v, 1.0 / g->sessions_left));
	at = g->cdf_lo + g->order_pos * (g->cdf_hi - g->cdf_lo);
	start = traffic_time(g->w, g->seasonal ? remap(g->own_cdf, g->w->run_cdf, g->w->n_runs, at) : at);
	/* half an hour of silence separates two sessions of a customer */
	if (!g->first_session && start < g->t + 1800)
		start = g->t + 1800;
	g->first_session = false;
	if (start >= FR_SHOP_WINDOW_SECONDS)
		start = FR_SHOP_WINDOW_SECONDS - 1;
	if (start < g->t)
		start = g->t;
	g->t = start;
	g->sessions_left--;
	g->session_left = size;
	g->session_id++;
	g->stage = STAGE_BROWSE;
}

static double
season_acceptance(int product_season, int now_season)
{
	int			d = (product_season - now_season + NSEASONS) % NSEASONS;

	return d == 0 ? 1.0 : d == 2 ? 0.25 : 0.55;
}

/* a fresh pick from one source, season and gender willing; -1 if none exists yet */
static int32_t
draw_from(FrShopEventGen *g, const Bucket *b, int32_t key, int now_season)
{
	const FrShopWorld *w = g->w;
	int32_t		fallback = -1;

	for (int tries = 0; tries < 16; tries++)
	{
		int32_t		p = bucket_sample(b, key, fr_rng_uniform(&g->rng));
		const ProductInfo *info;
		double		acc;

		if (p < 0)
			return -1;
		info = &w->products[p];
		if (info->created > g->t)
			continue;
		fallback = p;
		acc = season_acceptance(info->season, now_season);
		if (g->seasonal)
			acc = now_season == g->favourite ? acc * acc : sqrt(acc);
		if (!gender_fits(g->cust.gender, info->gender))
			acc *= 0.12;
		if (fr_rng_uniform(&g->rng) < acc)
			return p;
	}
	return fallback;
}

static bool
is_preferred(const FrShopCustomer *c, int article)
{
	for (int j = 0; j < c->n_prefs; j++)
		if (c->prefs[j].article == article)
			return true;
	return false;
}

static int32_t
pick_product(FrShopEventGen *g)
{
	const FrShopWorld *w = g->w;
	int64_t		day = g->t / 86400;
	int			now_season = w->day_season[day < FR_SHOP_WINDOW_DAYS ? day : FR_SHOP_WINDOW_DAYS - 1];
	double		u = fr_rng_uniform(&g->rng);
	int32_t		p = -1;

	g->repeat = false;
	if (g->n_bought > 0 && u < REPEAT_SHARE)
	{
		g->repeat = true;
		return g->bought[fr_rng_below(&g->rng, (uint64_t) (g->n_bought < HISTORY ? g->n_bought : HISTORY))];
	}
	if (g->n_viewed > 0 && u < REPEAT_SHARE + REVISIT_SHARE)
		return g->viewed[fr_rng_below(&g->rng, (uint64_t) (g->n_viewed < HISTORY ? g->n_viewed : HISTORY))];

	if (fr_rng_uniform(&g->rng) < g->cust.pref_prob)
	{
		/* around one cell of the style cluster: the cell, its article and band, its article */
		const FrShopPref *pref = &g->cust.prefs[g->cust.n_prefs - 1];
		double		x = fr_rng_uniform(&g->rng) * g->cust.pref_prob;
		double		level = fr_rng_uniform(&g->rng);

		for (int j = 0; j < g->cust.n_prefs; j++)
		{
			if (x < g->cust.prefs[j].strength)
			{
				pref = &g->cust.prefs[j];
				break;
			}
			x -= g->cust.prefs[j].strength;
		}
		if (level < 0.6)
			p = draw_from(g, &w->by_cell, cell_key(pref->article, pref->colour, pref->band), now_season);
		else if (level < 0.85)
			p = draw_from(g, &w->by_article_band, pref->article * NBANDS + pref->band, now_season);
		else
			p = draw_from(g, &w->by_article, pref->article, now_season);
	}
	if (p < 0)
		p = draw_from(g, &w->global, 0, now_season);
	if (p < 0)
		p = 0;					/* product 0 predates the window */
	return p;
}

bool
fr_shop_events_next(FrShopEventGen *g, FrShopEvent *ev)
{
	const FrShopWorld *w = g->w;
	double		p_cart,
				p_purchase;

	while (g->left == 0)
	{
		int64_t		c = g->customer + 1;

		if (c >= w->n_customers)
			return false;
		fr_check_interrupts();
		start_customer(g, c);
	}
	/* one customer may hold all the events: check now and then, not only per customer */
	if ((g->next_index & 0xFFF) == 0)
		fr_check_interrupts();
	if (g->session_left == 0)
		start_session(g);

	ev->event_id = g->next_index + 1;
	ev->customer_id = g->cust.customer_id;
	ev->session_id = g->session_id;

	if (g->stage == STAGE_BROWSE)
	{
		g->product = pick_product(g);
		ev->type = FR_SHOP_VIEW;
		g->viewed[g->n_viewed % HISTORY] = g->product;
		g->n_viewed++;
		/* repeats and preferred types convert better */
		p_cart = g->repeat ? 0.5 :
			is_preferred(&g->cust, w->products[g->product].article) ? 0.3 : 0.15;
		g->stage = fr_rng_uniform(&g->rng) < p_cart ? STAGE_CART : STAGE_BROWSE;
	}
	else if (g->stage == STAGE_CART)
	{
		ev->type = FR_SHOP_CART;
		p_purchase = g->repeat ? 0.7 : 0.45;
		g->stage = fr_rng_uniform(&g->rng) < p_purchase ? STAGE_PURCHASE : STAGE_BROWSE;
	}
	else
	{
		ev->type = FR_SHOP_PURCHASE;
		g->bought[g->n_bought % HISTORY] = g->product;
		g->n_bought++;
		g->stage = STAGE_BROWSE;
	}
	ev->product_id = (int64_t) g->product + 1;
	ev->occurred_at = g->t;

	/* the next event of the session follows after a short pause */
	g->t += 5 + (int64_t) (-70.0 * log(1.0 - fr_rng_uniform(&g->rng)));
	if (g->t >= FR_SHOP_WINDOW_SECONDS)
		g->t = FR_SHOP_WINDOW_SECONDS - 1;

	g->session_left--;
	g->left--;
	g->next_index++;
	return true;
}
