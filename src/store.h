/*
 * store.h — the server-wide model store (store.c): one copy of each model
 * version per server, in dynamic shared memory, mapped by every backend.
 *
 * model.c is the only caller.  A version is claimed before it is loaded: the
 * first backend to claim it loads it and publishes its arrays as one segment;
 * backends that claim it meanwhile wait, then attach to that segment.
 * Without fashionrec in shared_preload_libraries (or with
 * fashionrec.shared_cache_size = 0) the store is off and model.c keeps a
 * private copy per backend as before.
 */
#ifndef FR_STORE_H
#define FR_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/dsm.h"

#define FR_STORE_NAME_LEN 64

/* One named array of a model version, as loaded (model.c records them). */
typedef struct FrStoreArray
{
	char		name[FR_STORE_NAME_LEN];
	char		dtype;			/* FrDtype */
	bool		absent;			/* an optional artifact the model lacks */
	int64		nrows;
	int32		ncols;
	Size		bytes;
	const void *data;			/* in the loader's memory, or in the mapping */
} FrStoreArray;

/* A backend's hold on a published version: its mapping and the entry it came from. */
typedef struct FrStoreRef
{
	Oid			dbid;
	Oid			catalog;		/* fashionrec.model's oid: ids restart with the extension */
	int64		model_id;
	int64		token;
	uint64		incarnation;	/* which publication of the key: a reload is another */
	dsm_segment *seg;
	int32		n_arrays;
	const FrStoreArray *arrays; /* in the mapping; data pointers resolved per backend */
	uint64		pinned_xact;	/* the transaction that pinned it last (store.c's count) */
} FrStoreRef;

typedef enum FrStoreClaim
{
	FR_STORE_OFF,				/* not preloaded or size 0: load privately */
	FR_STORE_ATTACHED,			/* *ref maps the published version */
	FR_STORE_LOAD,				/* the caller loads it, then publishes or abandons */
	FR_STORE_TOO_BIG			/* known larger than the store: load privately */
} FrStoreClaim;

/* _PG_init: the setting, and the shared memory hooks when preloading */
extern void fr_store_init(void);
extern bool fr_store_enabled(void);
extern Size fr_store_limit(void);

/*
 * The version (model_id, token) of name/version: attach to it (waiting for a
 * backend that is loading it), or be the one to load it.  *ref is filled for
 * FR_STORE_ATTACHED (in TopMemoryContext: fr_store_detach() frees it).
 */
extern FrStoreClaim fr_store_claim(int64 model_id, int64 token, const char *name, int32 version,
								   FrStoreRef **ref);

/*
 * After FR_STORE_LOAD: copy the arrays into a new segment and attach to it
 * (*ref); false when it does not fit (a NOTICE says why; the caller serves
 * its private copy).  load_ms is the load's time, for the view.
 */
extern bool fr_store_publish(const FrStoreArray *arrays, int n_arrays, double load_ms,
							 FrStoreRef **ref);
/* After FR_STORE_LOAD, when the load failed: nothing half-built stays behind (no-op once published) */
extern void fr_store_abandon(int64 model_id, int64 token);

/* Still the published version (not evicted or dropped)?  Pins it for this transaction and counts a hit. */
extern bool fr_store_use(FrStoreRef *ref);
/* Still the published version?  (no pin, no hit) */
extern bool fr_store_current(const FrStoreRef *ref);
/* Unmap: the private cache let the version go */
extern void fr_store_detach(FrStoreRef *ref);
/* Did any version leave the store since the last call?  (the cache then drops stale mappings) */
extern bool fr_store_evictions_since_last(void);
/* The array of that name in the mapping, or NULL */
extern const FrStoreArray *fr_store_array(const FrStoreRef *ref, const char *name);

/* The view fashionrec.model_cache: this database's versions in the store */
typedef struct FrStoreInfo
{
	int64		model_id;
	char		name[NAMEDATALEN];
	int32		version;
	Size		bytes;
	const char *state;			/* "shared", "loading", "too big" */
	TimestampTz loaded_at;
	double		load_ms;
	int64		hits;
	int32		attached;
	int32		pins;
} FrStoreInfo;

extern int	fr_store_list(FrStoreInfo **out);
/* Evict every version of a model row (in use or not: mappings stay valid until let go) */
extern int	fr_store_drop(int64 model_id);
/* Versions published since the server started */
extern int64 fr_store_loads(void);

#endif							/* FR_STORE_H */
