/*
 * scratch.c — the per-item float arrays of a serving call, kept by the
 * backend between calls (scratch.h).
 *
 * A hybrid's call used to palloc a raw and a normalised array per signal
 * and the scores (five arrays of 400 kB at 100,000 items for ALS and
 * popularity), and the statement's end freed them; glibc may hand memory
 * that large back to the system at each free (its trim threshold), and the
 * next call then faults it in again (not measured apart: docs/benchmarks.md
 * has the call's time before and after).  Each backend keeps
 * SCRATCH_SLOTS arrays instead, grown to the largest catalogue it served;
 * a call that needs more at once (a nested call, many signals) gets the
 * rest palloc'd as before.
 *
 * An array is leased to a call, and given back by fr_scratch_release() or
 * by a reset callback on the memory context it was taken in: an error
 * resets that context, so a call that fails mid-way leaves no array taken.
 * The arrays hold no state between calls (every user writes what it reads),
 * so nothing needs clearing.  A caller that takes many arrays in one
 * context (recommend_all, a user at a time) registers one callback per
 * array, not one per take.  Arrays of a catalogue of FR_TRIM_ITEMS items
 * or more are freed when model.c gives a large catalogue's scratch back at
 * commit (fr_scratch_trim), so idle connections do not keep them.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "model.h"
#include "scratch.h"

/* a hybrid with every signal and a context takes about eleven at once */
#define SCRATCH_SLOTS 16

typedef struct ScratchLease ScratchLease;

typedef struct ScratchSlot
{
	float	   *data;			/* NULL: not allocated yet */
	int64		capacity;		/* floats */
	bool		in_use;
	uint64		lease;			/* which take holds it */
	ScratchLease *armed;		/* the callback registered for it, if still registered */
	MemoryContext armed_in;		/* ... in this context */
} ScratchSlot;

struct ScratchLease
{
	MemoryContextCallback cb;
	ScratchSlot *slot;
	uint64		lease;
};

static ScratchSlot slots[SCRATCH_SLOTS];
static uint64 leases = 0;
static MemoryContext scratch_cxt = NULL;

/* the context a take was made in went away: the take ends with it */
static void
lease_lost(void *arg)
{
	ScratchLease *l = (ScratchLease *) arg;

	if (l->slot->armed == l)
		l->slot->armed = NULL;
	if (l->slot->in_use && l->slot->lease == l->lease)
		l->slot->in_use = false;
}

/* the free slot that fits n best: large enough and smallest, else the largest */
static ScratchSlot *
free_slot(int64 n)
{
	ScratchSlot *best = NULL;

	for (int i = 0; i < SCRATCH_SLOTS; i++)
	{
		ScratchSlot *s = &slots[i];
		bool		fits = s->capacity >= n;

		if (s->in_use)
			continue;
		if (best == NULL ||
			(fits && (best->capacity < n || s->capacity < best->capacity)) ||
			(!fits && best->capacity < n && s->capacity > best->capacity))
			best = s;
	}
	return best;
}

float *
fr_scratch_floats(int64 n)
{
	ScratchSlot *s = free_slot(Max(n, 1));
	ScratchLease *l;

	n = Max(n, 1);
	if (s == NULL)
		return palloc_extended(mul_size(n, sizeof(float)), MCXT_ALLOC_HUGE);
	if (s->capacity < n)
	{
		float	   *data;

		if (scratch_cxt == NULL)
			scratch_cxt = AllocSetContextCreate(TopMemoryContext, "fashionrec serving scratch",
												ALLOCSET_DEFAULT_SIZES);
		/* allocated before the old one is freed: an error leaves the slot as it was */
		data = MemoryContextAllocExtended(scratch_cxt, mul_size(n, sizeof(float)), MCXT_ALLOC_HUGE);
		if (s->data)
			pfree(s->data);
		s->data = data;
		s->capacity = n;
	}
	s->in_use = true;
	s->lease = ++leases;
	if (s->armed == NULL || s->armed_in != CurrentMemoryContext)
	{
		l = palloc(sizeof(ScratchLease));
		l->slot = s;
		l->cb.func = lease_lost;
		l->cb.arg = l;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, &l->cb);
		s->armed = l;
		s->armed_in = CurrentMemoryContext;
	}
	s->armed->lease = s->lease;
	return s->data;
}

void
fr_scratch_release(float *p)
{
	for (int i = 0; i < SCRATCH_SLOTS; i++)
		if (slots[i].in_use && slots[i].data == p)
		{
			slots[i].in_use = false;
			return;
		}
	pfree(p);					/* more than the slots at once: palloc'd */
}

void
fr_scratch_trim(void)
{
	for (int i = 0; i < SCRATCH_SLOTS; i++)
	{
		ScratchSlot *s = &slots[i];

		if (s->in_use || s->capacity < FR_TRIM_ITEMS)
			continue;
		pfree(s->data);
		s->data = NULL;
		s->capacity = 0;
	}
}
