/*
 * skipmask.c — the exclusion flags of a serving call (a byte per item: seen,
 * excluded, the query item itself), and the scratch that deduplicates an id
 * list, without a per-call allocation.
 *
 * A call that allocates and zeroes a byte per item pays for it at every call:
 * 1 MB at 1M items, and since model.c gives a large catalog's scratch back to
 * the kernel at commit, the page faults of that megabyte too.  An exact scan
 * hides that cost behind its own; an index search, which reads a few hundred
 * items' vectors, does not.  So each backend keeps two sets of flags, and a
 * call clears only the flags it set: it records them as it sets them, or,
 * past a sixteenth of the catalog, clears the whole array.
 *
 * The flags come from calloc, not palloc: a fresh mapping is zero pages that
 * the kernel backs only when touched, so a backend pays memory for the pages
 * its marks fall on rather than a byte per item.  An error between acquire
 * and release leaves flags set: the call's memory context, reset by the
 * abort, marks the set dirty, and the next acquire zeroes it whole.
 */
#include "postgres.h"

#include <stdlib.h>

#include "utils/memutils.h"

#include "skipmask.h"

/* a call's own flags and the scratch of fr_apply_filters */
#define SKIP_SLOTS 2

typedef struct SkipSlot
{
	uint8	   *flags;
	int32		capacity;		/* items */
	bool		in_use;
	bool		dirty;			/* flags may be set anywhere */
	uint64		lease;			/* which acquire holds it */
	int32	   *marked;			/* the flags set, in TopMemoryContext */
	int32		n_marked;
	int32		max_marked;		/* past it: clear all */
} SkipSlot;

static SkipSlot slots[SKIP_SLOTS];
static uint64 leases = 0;

typedef struct SkipLease
{
	MemoryContextCallback cb;
	SkipSlot   *slot;
	uint64		lease;
} SkipLease;

/* the acquiring call's context went away without a release: an error */
static void
lease_lost(void *arg)
{
	SkipLease  *l = (SkipLease *) arg;

	if (l->slot->in_use && l->slot->lease == l->lease)
	{
		l->slot->in_use = false;
		l->slot->dirty = true;
	}
}

static void
slot_grow(SkipSlot *s, int32 n_items)
{
	int32		max_marked = Max(n_items / 16, 64);
	int32	   *marked = MemoryContextAlloc(TopMemoryContext, sizeof(int32) * max_marked);
	uint8	   *flags = calloc(n_items, 1);

	/* allocate both before freeing either: an error leaves the slot as it was */
	if (flags == NULL)
	{
		pfree(marked);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for the exclusion flags of %d items", n_items),
				 errhint("Lower the server's memory use, or serve this model from fewer connections.")));
	}
	free(s->flags);
	if (s->marked)
		pfree(s->marked);
	s->flags = flags;
	s->capacity = n_items;
	s->dirty = false;
	s->max_marked = max_marked;
	s->marked = marked;
	s->n_marked = 0;
}

uint8 *
fr_skip_acquire(int32 n_items)
{
	SkipSlot   *s = NULL;
	SkipLease  *l;

	n_items = Max(n_items, 1);
	for (int i = 0; i < SKIP_SLOTS && s == NULL; i++)
		if (!slots[i].in_use)
			s = &slots[i];
	if (s == NULL)
		return palloc0(n_items);
	if (s->capacity < n_items)
		slot_grow(s, n_items);
	else if (s->dirty)
		memset(s->flags, 0, s->capacity);
	s->dirty = false;
	s->n_marked = 0;
	s->in_use = true;
	s->lease = ++leases;
	l = palloc(sizeof(SkipLease));
	l->slot = s;
	l->lease = s->lease;
	l->cb.func = lease_lost;
	l->cb.arg = l;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &l->cb);
	return s->flags;
}

static SkipSlot *
slot_of(const uint8 *skip)
{
	for (int i = 0; i < SKIP_SLOTS; i++)
		if (slots[i].in_use && slots[i].flags == skip)
			return &slots[i];
	return NULL;
}

void
fr_skip_set(uint8 *skip, int32 item)
{
	SkipSlot   *s;

	if (skip[item])
		return;
	skip[item] = 1;
	s = slot_of(skip);
	if (s == NULL || s->dirty)
		return;
	if (s->n_marked < s->max_marked)
		s->marked[s->n_marked++] = item;
	else
		s->dirty = true;
}

void
fr_skip_release(uint8 *skip)
{
	SkipSlot   *s = slot_of(skip);

	if (s == NULL)
		return;					/* a palloc0'd array: its context frees it */
	if (s->dirty)
		memset(s->flags, 0, s->capacity);
	else
		for (int32 i = 0; i < s->n_marked; i++)
			s->flags[s->marked[i]] = 0;
	s->n_marked = 0;
	s->dirty = false;
	s->in_use = false;
}
