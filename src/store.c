/*
 * store.c — the server-wide model store: each model version once per server
 * in dynamic shared memory, mapped read-only by every backend that serves it.
 *
 * Why: applications reach the server through pools of 20–200 connections,
 * and a private copy per backend multiplies a model's memory by the pool
 * size and makes every new connection's first call pay the load.
 *
 * How.  A version is one DSM segment: a table of named arrays (the
 * artifacts the loader read and the arrays it derived, FrStoreArray) and the
 * arrays themselves, 64-byte aligned.  A small fixed hash table in the main
 * shared memory, created at server start, maps (database, model row id, live
 * token) to the segment's handle; versions never change after training, and
 * the token (the sum of the feature sets' generations, model.c) moves when a
 * model that reads a feature set live must be loaded again, so an entry is
 * never stale, only unused.
 *
 *   - The first backend to claim a key inserts it as LOADING and loads the
 *     version privately as before, recording every array the loader keeps
 *     (model.c).  It then copies them into a segment of the exact size,
 *     pins the segment (it outlives every backend's mapping), marks the
 *     entry READY and wakes the waiters.  Backends that claimed the key
 *     meanwhile sleep on the store's condition variable, then attach.
 *   - A load that fails or is cancelled removes its LOADING entry before the
 *     error propagates (model.c's PG_CATCH, or the exit callback for FATAL):
 *     waiters wake and one of them loads it again, or meets the same error.
 *     A crash restarts the server, and with it an empty store.
 *   - fashionrec.shared_cache_size bounds the segments' total.  Publishing
 *     evicts the least recently used versions that no transaction has pinned
 *     (pins: backends using a version in their current transaction); a
 *     version larger than the store, or one that cannot fit beside versions
 *     in use, is served from the loading backend's private memory with a
 *     NOTICE.  An evicted segment is unpinned: it disappears when the last
 *     backend that maps it lets go, which each backend does on its next call
 *     (fr_store_evictions_since_last) or at exit.
 *
 * One LWLock guards the table; per-entry counters (hits, pins, backends) are
 * under the entry's spinlock so that the hot path — a cached version checked
 * still current — takes the lock shared.  No condition variable lives in an
 * entry: entries are recycled, so there is one for the whole store.
 */
#include "postgres.h"

#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"
#include "storage/dsm_impl.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "model.h"
#include "store.h"

/* versions the table can name at once; far more than a store holds in practice */
#define STORE_MAX_ENTRIES 256
#define STORE_ALIGN 64
#define STORE_MAGIC 0x46525331	/* "FRS1" */
/* loads nested in a load: a hybrid's components (model.c's MAX_LOAD_DEPTH) */
#define MAX_CLAIMS 8

typedef struct StoreKey
{
	Oid			dbid;			/* model row ids are per database */
	Oid			catalog;		/* and per extension: fashionrec.model's oid (DROP EXTENSION restarts the ids) */
	int64		model_id;
	int64		token;
} StoreKey;

typedef enum EntryState
{
	ENTRY_LOADING,
	ENTRY_READY,
	ENTRY_TOO_BIG				/* loaded once, larger than the store: load privately */
} EntryState;

typedef struct StoreEntry
{
	StoreKey	key;			/* hash key: must be first */
	EntryState	state;
	int			loader_pid;
	uint64		incarnation;
	dsm_handle	handle;
	Size		bytes;			/* reserved while LOADING, the segment's size when READY */
	char		name[NAMEDATALEN];
	int32		version;
	TimestampTz loaded_at;
	double		load_ms;
	slock_t		mutex;			/* protects the counters below */
	int32		pins;
	int32		attached;
	int64		hits;
	uint64		last_used;
} StoreEntry;

typedef struct StoreShared
{
	LWLock	   *lock;
	ConditionVariable cv;		/* broadcast whenever a load finishes or fails */
	Size		limit;			/* bytes, after checking the machine */
	uint64		incarnations;
	pg_atomic_uint64 clock;		/* for LRU */
	pg_atomic_uint64 evictions;
	int64		loads;
} StoreShared;

/* the segment's layout: this header, n_arrays table rows, then the arrays */
typedef struct SegmentHeader
{
	uint32		magic;
	int32		n_arrays;
	Size		total;
	FrStoreArray arrays[FLEXIBLE_ARRAY_MEMBER];	/* data is an offset here */
} SegmentHeader;

static int	store_size_mb = 1024;

static StoreShared *shared = NULL;
static HTAB *store_hash = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's claims (keys it is loading), innermost last */
static StoreKey claims[MAX_CLAIMS];
static int	n_claims = 0;
/* this backend's mappings, for pins at transaction end and counts at exit */
static List *refs = NIL;
static uint64 xact_count = 1;
static uint64 seen_evictions = 0;
static bool callbacks_registered = false;

static Size
store_memsize(void)
{
	return add_size(MAXALIGN(sizeof(StoreShared)),
					hash_estimate_size(STORE_MAX_ENTRIES, sizeof(StoreEntry)));
}

static void
store_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(store_memsize());
	RequestNamedLWLockTranche("fashionrec model store", 1);
}

/*
 * The store's effective size: the setting, unless the machine cannot hold
 * it (its memory, or for POSIX segments the size of /dev/shm), which the
 * log says once at server start.
 */
static Size
machine_limit(void)
{
	Size		want = (Size) store_size_mb * 1024 * 1024;
	long		pages = sysconf(_SC_PHYS_PAGES);
	long		page = sysconf(_SC_PAGESIZE);
	Size		ram = pages > 0 && page > 0 ? (Size) pages * (Size) page : 0;
	struct statvfs fs;

	if (store_size_mb == 0)
	{
		ereport(LOG,
				(errmsg("fashionrec.shared_cache_size is 0: the shared model store is off"),
				 errdetail("Every backend loads its own copy of each model it serves."),
				 errhint("Set fashionrec.shared_cache_size to the memory the models may take, e.g. 1GB, and restart.")));
		return 0;
	}
	if (ram > 0 && want > ram / 2)
	{
		ereport(WARNING,
				(errmsg("fashionrec.shared_cache_size (%d MB) is more than half of this machine's memory (%zu MB)",
						store_size_mb, ram / (1024 * 1024)),
				 errdetail("The store is limited to %zu MB.", ram / 2 / (1024 * 1024)),
				 errhint("Lower fashionrec.shared_cache_size in postgresql.conf.")));
		want = ram / 2;
	}
	if (dynamic_shared_memory_type == DSM_IMPL_POSIX && statvfs("/dev/shm", &fs) == 0)
	{
		Size		shm = (Size) fs.f_blocks * (Size) fs.f_frsize;

		if (want > shm)
		{
			ereport(WARNING,
					(errmsg("fashionrec.shared_cache_size (%d MB) is more than /dev/shm holds (%zu MB)",
							store_size_mb, shm / (1024 * 1024)),
					 errdetail("The store is limited to %zu MB.", shm / (1024 * 1024)),
					 errhint("Enlarge /dev/shm (in a container: --shm-size) or lower fashionrec.shared_cache_size.")));
			want = shm;
		}
	}
	return want;
}

static void
store_shmem_startup(void)
{
	HASHCTL		info;
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("fashionrec model store", sizeof(StoreShared), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche("fashionrec model store"))->lock;
		ConditionVariableInit(&shared->cv);
		shared->limit = machine_limit();
		shared->incarnations = 0;
		pg_atomic_init_u64(&shared->clock, 0);
		pg_atomic_init_u64(&shared->evictions, 0);
		shared->loads = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StoreKey);
	info.entrysize = sizeof(StoreEntry);
	store_hash = ShmemInitHash("fashionrec model store hash", STORE_MAX_ENTRIES, STORE_MAX_ENTRIES,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

void
fr_store_init(void)
{
	/* a postmaster setting can only be created while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("fashionrec.shared_cache_size",
							"Shared memory for the model store: each model version once per server.",
							"0 turns the store off: every backend then loads its own copy. A version "
							"larger than this is served from the loading backend's memory.",
							&store_size_mb,
							1024, 0, INT_MAX / 2,
							PGC_POSTMASTER, GUC_UNIT_MB,
							NULL, NULL, NULL);
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = store_shmem_request;
#else
	store_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = store_shmem_startup;
}

bool
fr_store_enabled(void)
{
	return shared != NULL && shared->limit > 0;
}

Size
fr_store_limit(void)
{
	return shared ? shared->limit : 0;
}

/* ---- per-backend bookkeeping ------------------------------------------- */

/*
 * fashionrec.model's oid in this database, taken when a statement claims,
 * lists or drops versions: publish and abandon follow their claim, in the
 * same statement, and may run while it aborts, when the catalog cannot be
 * read.
 */
static Oid	store_catalog = InvalidOid;

static StoreKey
make_key(int64 model_id, int64 token)
{
	StoreKey	key;

	memset(&key, 0, sizeof(key));	/* HASH_BLOBS compares the padding too */
	key.dbid = MyDatabaseId;
	key.catalog = store_catalog;
	key.model_id = model_id;
	key.token = token;
	return key;
}

static StoreKey
ref_key(const FrStoreRef *ref)
{
	StoreKey	key = make_key(ref->model_id, ref->token);

	key.dbid = ref->dbid;
	key.catalog = ref->catalog;
	return key;
}

/* The entry of ref if it is still the publication ref maps; lock held. */
static StoreEntry *
ref_entry(const FrStoreRef *ref)
{
	StoreKey	key = ref_key(ref);
	StoreEntry *e = hash_search(store_hash, &key, HASH_FIND, NULL);

	if (e == NULL || e->state != ENTRY_READY || e->incarnation != ref->incarnation)
		return NULL;
	return e;
}

/* Let go of ref's pin and, when detaching, of its count of backends.  Never throws. */
static void
release_ref(FrStoreRef *ref, bool detaching)
{
	bool		pinned = ref->pinned_xact == xact_count;
	StoreEntry *e;

	if (!pinned && !detaching)
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	e = ref_entry(ref);
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		if (pinned)
			e->pins--;
		if (detaching)
			e->attached--;
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(shared->lock);
	ref->pinned_xact = 0;
}

/* Pins last until the transaction ends: a statement never loses its model. */
static void
store_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			foreach(lc, refs)
				release_ref(lfirst(lc), false);
			xact_count++;
			break;
		default:
			break;
	}
}

/* Remove a LOADING entry of this backend and wake the waiters; lock not held. */
static void
remove_claimed(StoreKey key)
{
	StoreEntry *e;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	if (e != NULL && e->state == ENTRY_LOADING && e->loader_pid == MyProcPid)
		hash_search(store_hash, &key, HASH_REMOVE, NULL);
	LWLockRelease(shared->lock);
	ConditionVariableBroadcast(&shared->cv);
}

/* A FATAL error or a plain exit: no claim may stay LOADING, no count stay raised. */
static void
store_exit(int code, Datum arg)
{
	ListCell   *lc;

	if (shared == NULL)
		return;
	while (n_claims > 0)
		remove_claimed(claims[--n_claims]);
	foreach(lc, refs)
		release_ref(lfirst(lc), true);
	refs = NIL;
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(store_xact_callback, NULL);
	before_shmem_exit(store_exit, (Datum) 0);
	callbacks_registered = true;
}

/* ---- eviction ------------------------------------------------------------ */

/* Remove an entry; a published segment goes when its last mapping does.  Lock held exclusively. */
static void
evict(StoreEntry *e)
{
	if (e->state == ENTRY_READY)
		dsm_unpin_segment(e->handle);
	hash_search(store_hash, &e->key, HASH_REMOVE, NULL);
	pg_atomic_fetch_add_u64(&shared->evictions, 1);
}

/*
 * Make room for bytes more (and a free table row when need_row): evict
 * unpinned versions, other tokens of the same model first, then the least
 * recently used.  Lock held exclusively; false when versions in use fill it.
 */
static bool
make_room(Size bytes, int64 model_id, bool need_row)
{
	for (;;)
	{
		HASH_SEQ_STATUS seq;
		StoreEntry *e,
				   *victim = NULL;
		Size		used = 0;
		bool		victim_stale = false;

		hash_seq_init(&seq, store_hash);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			bool		stale;

			if (e->state != ENTRY_TOO_BIG)
				used += e->bytes;
			if (e->state == ENTRY_LOADING || e->pins > 0)
				continue;
			/* a model's superseded token is dropped before anyone else's version */
			stale = e->key.model_id == model_id && e->key.dbid == MyDatabaseId &&
				e->key.catalog == store_catalog;
			if (victim == NULL || (stale && !victim_stale) ||
				(stale == victim_stale && e->last_used < victim->last_used))
			{
				victim = e;
				victim_stale = stale;
			}
		}
		if (used + bytes <= shared->limit &&
			(!need_row || hash_get_num_entries(store_hash) < STORE_MAX_ENTRIES))
			return true;
		if (victim == NULL)
			return false;
		evict(victim);
	}
}

bool
fr_store_evictions_since_last(void)
{
	uint64		now;

	if (shared == NULL)
		return false;
	now = pg_atomic_read_u64(&shared->evictions);
	if (now == seen_evictions)
		return false;
	seen_evictions = now;
	return true;
}

/* ---- claiming, publishing, attaching -------------------------------------- */

/*
 * Map the version read-only in this backend: a loader that wrote into a
 * shared array would change every backend's model; now it faults instead.
 * Only where the segment is a mapping of its own: one carved from the main
 * shared memory region (min_dynamic_shared_memory) shares its pages with
 * later segments, which must stay writable.
 */
static void
protect(dsm_segment *seg)
{
#if !defined(WIN32)
#if PG_VERSION_NUM >= 140000
	if (min_dynamic_shared_memory > 0)
		return;
#endif
	if (mprotect(dsm_segment_address(seg), dsm_segment_map_length(seg), PROT_READ) != 0)
		elog(WARNING, "fashionrec model store: could not map segment read-only: %m");
#endif
}

/* A ref for a mapped segment, its table copied with this backend's pointers. */
static FrStoreRef *
make_ref(dsm_segment *seg, StoreKey key, uint64 incarnation)
{
	const SegmentHeader *h = dsm_segment_address(seg);
	FrStoreRef *ref = MemoryContextAllocZero(TopMemoryContext, sizeof(FrStoreRef));
	FrStoreArray *arrays;

	if (h->magic != STORE_MAGIC)
		elog(ERROR, "fashionrec model store: segment %u is not a model", dsm_segment_handle(seg));
	arrays = MemoryContextAlloc(TopMemoryContext, sizeof(FrStoreArray) * Max(h->n_arrays, 1));
	for (int i = 0; i < h->n_arrays; i++)
	{
		arrays[i] = h->arrays[i];
		arrays[i].data = h->arrays[i].absent ? NULL
			: (const char *) h + (Size) h->arrays[i].data;
	}
	ref->dbid = key.dbid;
	ref->catalog = key.catalog;
	ref->model_id = key.model_id;
	ref->token = key.token;
	ref->incarnation = incarnation;
	ref->seg = seg;
	ref->n_arrays = h->n_arrays;
	ref->arrays = arrays;
	ref->pinned_xact = xact_count;
	protect(seg);
	return ref;
}

/* Remember a mapping; refs lives in TopMemoryContext, allocated before any count moves. */
static void
remember(FrStoreRef *ref)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	refs = lappend(refs, ref);
	MemoryContextSwitchTo(old);
}

/* Undo a claim's counts when its attach failed. */
static void
uncount(StoreKey key, uint64 incarnation)
{
	StoreEntry *e;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	if (e != NULL && e->incarnation == incarnation)
	{
		SpinLockAcquire(&e->mutex);
		e->pins--;
		e->attached--;
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(shared->lock);
}

FrStoreClaim
fr_store_claim(int64 model_id, int64 token, const char *name, int32 version, FrStoreRef **ref)
{
	StoreKey	key;
	FrStoreClaim result;

	*ref = NULL;
	if (!fr_store_enabled())
		return FR_STORE_OFF;
	store_catalog = fr_model_catalog_relid();
	key = make_key(model_id, token);
	register_callbacks();
	if (n_claims == MAX_CLAIMS)
		elog(ERROR, "fashionrec model store: loads nested %d deep", n_claims);

	for (;;)
	{
		StoreEntry *e;
		bool		found;
		dsm_handle	handle;
		uint64		incarnation;
		dsm_segment *volatile seg;

		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		e = hash_search(store_hash, &key, HASH_FIND, NULL);
		if (e == NULL)
		{
			/* a full table drops an unused version; versions in use can fill it */
			if (hash_get_num_entries(store_hash) >= STORE_MAX_ENTRIES && !make_room(0, model_id, true))
			{
				LWLockRelease(shared->lock);
				ereport(NOTICE,
						(errmsg("model \"%s\" version %d is served from this backend's memory: the shared model store names %d versions in use",
								name, version, STORE_MAX_ENTRIES)));
				result = FR_STORE_TOO_BIG;
				break;
			}
			e = hash_search(store_hash, &key, HASH_ENTER, &found);
			e->state = ENTRY_LOADING;
			e->loader_pid = MyProcPid;
			e->incarnation = 0;
			e->handle = 0;
			e->bytes = 0;
			strlcpy(e->name, name, NAMEDATALEN);
			e->version = version;
			e->loaded_at = 0;
			e->load_ms = 0;
			SpinLockInit(&e->mutex);
			e->pins = e->attached = 0;
			e->hits = 0;
			e->last_used = 0;
			claims[n_claims++] = key;
			LWLockRelease(shared->lock);
			result = FR_STORE_LOAD;
			break;
		}
		if (e->state == ENTRY_TOO_BIG)
		{
			Size		bytes = e->bytes;

			LWLockRelease(shared->lock);
			ereport(NOTICE,
					(errmsg("model \"%s\" version %d is served from this backend's memory: its %zu MB are more than fashionrec.shared_cache_size (%zu MB)",
							name, version, bytes / (1024 * 1024), shared->limit / (1024 * 1024)),
					 errhint("Raise fashionrec.shared_cache_size and restart the server to share it between connections.")));
			result = FR_STORE_TOO_BIG;
			break;
		}
		if (e->state == ENTRY_LOADING)
		{
			if (e->loader_pid == MyProcPid)
				elog(ERROR, "fashionrec model store: model \"%s\" version %d waits for its own load",
					 name, version);
			LWLockRelease(shared->lock);
			/* the first call prepares and returns; later ones sleep until a load ends */
			ConditionVariableSleep(&shared->cv, PG_WAIT_EXTENSION);
			continue;
		}

		/* READY: counted before the lock goes, so that no eviction can take it */
		SpinLockAcquire(&e->mutex);
		e->pins++;
		e->attached++;
		e->hits++;
		e->last_used = pg_atomic_fetch_add_u64(&shared->clock, 1);
		SpinLockRelease(&e->mutex);
		handle = e->handle;
		incarnation = e->incarnation;
		LWLockRelease(shared->lock);

		seg = NULL;
		PG_TRY();
		{
			seg = dsm_attach(handle);
			if (seg != NULL)
			{
				dsm_pin_mapping(seg);
				*ref = make_ref(seg, key, incarnation);
				remember(*ref);
			}
		}
		PG_CATCH();
		{
			uncount(key, incarnation);
			PG_RE_THROW();
		}
		PG_END_TRY();
		if (seg == NULL)
		{
			/* dropped meanwhile (model_cache_drop evicts pinned versions too): claim again */
			uncount(key, incarnation);
			continue;
		}
		result = FR_STORE_ATTACHED;
		break;
	}
	ConditionVariableCancelSleep();
	return result;
}

/* Bytes the segment of these arrays takes; arrays sharing memory are stored once. */
static Size
segment_layout(const FrStoreArray *arrays, int n, Size *offsets)
{
	Size		total = MAXALIGN(add_size(offsetof(SegmentHeader, arrays),
										  mul_size(n, sizeof(FrStoreArray))));

	for (int i = 0; i < n; i++)
	{
		offsets[i] = 0;
		if (arrays[i].absent)
			continue;
		for (int j = 0; j < i; j++)
			if (!arrays[j].absent && arrays[j].data == arrays[i].data &&
				arrays[j].bytes >= arrays[i].bytes)
				offsets[i] = offsets[j];
		if (offsets[i] != 0)
			continue;
		total = TYPEALIGN(STORE_ALIGN, total);
		offsets[i] = total;
		total = add_size(total, Max(arrays[i].bytes, 1));
	}
	return total;
}

bool
fr_store_publish(const FrStoreArray *arrays, int n, double load_ms, FrStoreRef **ref)
{
	StoreKey	key;
	Size	   *offsets = palloc(sizeof(Size) * Max(n, 1));
	Size		total = segment_layout(arrays, n, offsets);
	StoreEntry *e;
	dsm_segment *seg;
	SegmentHeader *h;
	FrStoreRef *r;
	char	   *why = NULL;
	char		name[NAMEDATALEN];
	int32		version;

	Assert(n_claims > 0);
	key = claims[n_claims - 1];
	*ref = NULL;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	if (e == NULL || e->state != ENTRY_LOADING || e->loader_pid != MyProcPid)
		elog(ERROR, "fashionrec model store: lost the claim of model %lld", (long long) key.model_id);
	strlcpy(name, e->name, NAMEDATALEN);
	version = e->version;
	if (total > shared->limit)
	{
		/* remembered: the next backends load it privately without waiting */
		e->state = ENTRY_TOO_BIG;
		e->bytes = total;
		why = psprintf("its %zu MB are more than fashionrec.shared_cache_size (%zu MB)",
					   total / (1024 * 1024), shared->limit / (1024 * 1024));
	}
	else if (!make_room(total, key.model_id, false))
	{
		hash_search(store_hash, &key, HASH_REMOVE, NULL);
		why = psprintf("the other versions in fashionrec.shared_cache_size (%zu MB) are in use",
					   shared->limit / (1024 * 1024));
	}
	else
		e->bytes = total;		/* reserved while the segment is filled */
	LWLockRelease(shared->lock);
	if (why != NULL)
	{
		n_claims--;
		ConditionVariableBroadcast(&shared->cv);
		ereport(NOTICE,
				(errmsg("model \"%s\" version %d is served from this backend's memory: %s",
						name, version, why),
				 errhint("Raise fashionrec.shared_cache_size and restart the server to share it between connections.")));
		return false;
	}

	/* an error from here on is caught by model.c, which abandons the claim */
	seg = dsm_create(total, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (seg == NULL)
	{
		fr_store_abandon(key.model_id, key.token);
		ereport(NOTICE,
				(errmsg("model \"%s\" version %d is served from this backend's memory: the server has no free dynamic shared memory segment",
						name, version),
				 errhint("Raise max_connections or drop unused versions with fashionrec.model_cache_drop().")));
		return false;
	}
	h = dsm_segment_address(seg);
	h->magic = STORE_MAGIC;
	h->n_arrays = n;
	h->total = total;
	for (int i = 0; i < n; i++)
	{
		h->arrays[i] = arrays[i];
		h->arrays[i].data = (const void *) offsets[i];
		if (!arrays[i].absent && arrays[i].bytes > 0)
			memcpy((char *) h + offsets[i], arrays[i].data, arrays[i].bytes);
	}
	dsm_pin_mapping(seg);
	r = make_ref(seg, key, 0);
	remember(r);

	/* nothing below can fail: the pinned segment belongs to the entry from here */
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	e = hash_search(store_hash, &key, HASH_FIND, NULL);
	Assert(e != NULL && e->state == ENTRY_LOADING);
	dsm_pin_segment(seg);
	e->handle = dsm_segment_handle(seg);
	e->state = ENTRY_READY;
	e->incarnation = ++shared->incarnations;
	e->loaded_at = GetCurrentTimestamp();
	e->load_ms = load_ms;
	e->pins = 1;
	e->attached = 1;
	e->last_used = pg_atomic_fetch_add_u64(&shared->clock, 1);
	shared->loads++;
	r->incarnation = e->incarnation;
	LWLockRelease(shared->lock);
	n_claims--;
	ConditionVariableBroadcast(&shared->cv);
	*ref = r;
	return true;
}

void
fr_store_abandon(int64 model_id, int64 token)
{
	StoreKey	key = make_key(model_id, token);

	if (n_claims > 0 && memcmp(&claims[n_claims - 1], &key, sizeof(key)) == 0)
		remove_claimed(claims[--n_claims]);
}

bool
fr_store_current(const FrStoreRef *ref)
{
	bool		current;

	LWLockAcquire(shared->lock, LW_SHARED);
	current = ref_entry(ref) != NULL;
	LWLockRelease(shared->lock);
	return current;
}

bool
fr_store_use(FrStoreRef *ref)
{
	StoreEntry *e;

	LWLockAcquire(shared->lock, LW_SHARED);
	e = ref_entry(ref);
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		e->hits++;
		e->last_used = pg_atomic_fetch_add_u64(&shared->clock, 1);
		if (ref->pinned_xact != xact_count)
			e->pins++;
		SpinLockRelease(&e->mutex);
		ref->pinned_xact = xact_count;
	}
	LWLockRelease(shared->lock);
	return e != NULL;
}

void
fr_store_detach(FrStoreRef *ref)
{
	release_ref(ref, true);
	refs = list_delete_ptr(refs, ref);
	dsm_detach(ref->seg);
	pfree((void *) ref->arrays);
	pfree(ref);
}

const FrStoreArray *
fr_store_array(const FrStoreRef *ref, const char *name)
{
	for (int i = 0; i < ref->n_arrays; i++)
		if (strcmp(ref->arrays[i].name, name) == 0)
			return &ref->arrays[i];
	return NULL;
}

/* ---- the view and the drop function (model.c) ------------------------------- */

int
fr_store_list(FrStoreInfo **out)
{
	HASH_SEQ_STATUS seq;
	StoreEntry *e;
	FrStoreInfo *info;
	int			n = 0;

	*out = NULL;
	if (shared == NULL)
		return 0;
	store_catalog = fr_model_catalog_relid();
	info = palloc0(sizeof(FrStoreInfo) * STORE_MAX_ENTRIES);
	LWLockAcquire(shared->lock, LW_SHARED);
	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		FrStoreInfo *i = &info[n];

		if (e->key.dbid != MyDatabaseId || e->key.catalog != store_catalog || n == STORE_MAX_ENTRIES)
			continue;
		i->model_id = e->key.model_id;
		strlcpy(i->name, e->name, NAMEDATALEN);
		i->version = e->version;
		i->bytes = e->bytes;
		i->state = e->state == ENTRY_READY ? "shared" :
			e->state == ENTRY_LOADING ? "loading" : "too big";
		i->loaded_at = e->loaded_at;
		i->load_ms = e->load_ms;
		SpinLockAcquire(&e->mutex);
		i->hits = e->hits;
		i->attached = e->attached;
		i->pins = e->pins;
		SpinLockRelease(&e->mutex);
		n++;
	}
	LWLockRelease(shared->lock);
	*out = info;
	return n;
}

int
fr_store_drop(int64 model_id)
{
	HASH_SEQ_STATUS seq;
	StoreEntry *e;
	int			n = 0;

	if (!fr_store_enabled())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shared model store is off"),
				 errhint("Add fashionrec to shared_preload_libraries, set fashionrec.shared_cache_size above 0 and restart the server.")));
	store_catalog = fr_model_catalog_relid();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, store_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		/* a load in progress finishes; removing the element just returned is allowed */
		if (e->key.dbid != MyDatabaseId || e->key.catalog != store_catalog ||
			e->key.model_id != model_id || e->state == ENTRY_LOADING)
			continue;
		evict(e);
		n++;
	}
	LWLockRelease(shared->lock);
	return n;
}

int64
fr_store_loads(void)
{
	int64		n;

	if (shared == NULL)
		return 0;
	LWLockAcquire(shared->lock, LW_SHARED);
	n = shared->loads;
	LWLockRelease(shared->lock);
	return n;
}
