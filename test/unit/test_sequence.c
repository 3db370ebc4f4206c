/*
 * test_sequence.c — the session transition model (sequence.c) against a
 * brute-force count on seeded random timed histories, for several option
 * sets, then small histories worked out by hand: time order versus storage
 * order, ties in time, the session gap (a pause equal to the gap does not
 * split), the window and its 1 / distance weights, the strongest-successor
 * cut and its ties, recent items, items with no successor, and scoring a
 * list of recent items with weights and recency decay.
 *
 * Inputs are built as source.c builds them: (user, item, time) triples
 * through fr_csr_from_coo, which keeps one entry per (user, item) pair, so a
 * user's history never repeats an item.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"
#include "sequence.h"
#include "tap.h"

#define NU 60
#define NI 25
#define MAXLEN 16

/* ---- a random history ------------------------------------------------- */

static int	hist_len[NU];
static int32_t hist_item[NU][MAXLEN];	/* distinct items, in time order */
static double hist_time[NU][MAXLEN];

static void
make_history(FrRng *rng)
{
	for (int u = 0; u < NU; u++)
	{
		int32_t		perm[NI];
		double		t = 1.6e9 + 1000.0 * (double) fr_rng_below(rng, 1000);
		double		times[MAXLEN];

		/* a few users with no or one event, the rest up to MAXLEN */
		hist_len[u] = u < 3 ? u : (int) fr_rng_below(rng, MAXLEN + 1);
		for (int i = 0; i < NI; i++)
			perm[i] = i;
		for (int i = NI - 1; i > 0; i--)
		{
			int			j = (int) fr_rng_below(rng, (uint64_t) i + 1);
			int32_t		tmp = perm[i];

			perm[i] = perm[j];
			perm[j] = tmp;
		}
		/* pauses: ties, short, exactly the gap (60), just over it, long */
		for (int p = 0; p < hist_len[u]; p++)
		{
			double		x = fr_rng_uniform(rng);

			t += x < 0.2 ? 0 : x < 0.6 ? 1 + (double) fr_rng_below(rng, 30)
				: x < 0.75 ? 60 : x < 0.85 ? 61 : 100 + (double) fr_rng_below(rng, 5000);
			times[p] = t;
		}
		/*
		 * items in random order of time: the CSR stores them by item index,
		 * so the kernel has to sort by time
		 */
		for (int p = 0; p < hist_len[u]; p++)
		{
			hist_item[u][p] = perm[p];
			hist_time[u][p] = times[p];
		}
	}
}

static void
history_csr(FrCsr *ui, double **times)
{
	int32_t		rows[NU * MAXLEN],
				cols[NU * MAXLEN];
	double		t[NU * MAXLEN];
	int64_t		n = 0;

	for (int u = 0; u < NU; u++)
		for (int p = 0; p < hist_len[u]; p++)
		{
			rows[n] = u;
			cols[n] = hist_item[u][p];
			t[n++] = hist_time[u][p];
		}
	fr_csr_from_coo(ui, NU, NI, n, rows, cols, NULL, t, times);
}

/* ---- the brute-force model ---------------------------------------------- */

typedef struct RefModel
{
	int64_t		unit;			/* weights are integers in units of 1/unit */
	int64_t		w[NI][NI];		/* all transitions, before the cut */
	int			n_recent[NU];
	int32_t		recent[NU][MAXLEN];
} RefModel;

static int64_t
lcm_upto(int n)
{
	int64_t		l = 1;

	for (int64_t d = 2; d <= n; d++)
	{
		int64_t		a = l,
					b = d;

		while (b)
		{
			int64_t		r = a % b;

			a = b;
			b = r;
		}
		l = l / a * d;
	}
	return l;
}

/*
 * By the definition, with exact integer weights: order each user's events
 * by (time, item), number the sessions (a pause longer than the gap opens
 * one), and let every event lead to the next `window` events of its own
 * session with weight 1 / distance.
 */
static void
ref_fit(const FrSequenceOptions *opt, RefModel *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->unit = lcm_upto(opt->window);
	for (int u = 0; u < NU; u++)
	{
		int			n = hist_len[u];
		int32_t		item[MAXLEN];
		double		t[MAXLEN];
		int			session[MAXLEN];

		memcpy(item, hist_item[u], sizeof(int32_t) * n);
		memcpy(t, hist_time[u], sizeof(double) * n);
		for (int p = 1; p < n; p++)		/* insertion sort by (time, item) */
			for (int q = p; q > 0 && (t[q] < t[q - 1] || (t[q] == t[q - 1] && item[q] < item[q - 1])); q--)
			{
				double		tt = t[q];
				int32_t		ii = item[q];

				t[q] = t[q - 1];
				item[q] = item[q - 1];
				t[q - 1] = tt;
				item[q - 1] = ii;
			}
		for (int p = 0; p < n; p++)
			session[p] = p == 0 ? 0 : session[p - 1] + (t[p] - t[p - 1] > opt->gap_seconds);
		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++)
				if (session[q] == session[p] && q - p <= opt->window)
					ref->w[item[p]][item[q]] += ref->unit / (q - p);
		ref->n_recent[u] = n < opt->recent ? n : opt->recent;
		for (int r = 0; r < ref->n_recent[u]; r++)
			ref->recent[u][r] = item[n - ref->n_recent[u] + r];
	}
}

/* row a's successors, strongest first, ties to the lower index */
static int
ref_ranked(const RefModel *ref, int a, int32_t *out)
{
	int			n = 0;

	for (int b = 0; b < NI; b++)
		if (ref->w[a][b] > 0)
		{
			int			q = n++;

			while (q > 0 && ref->w[a][out[q - 1]] < ref->w[a][b])
			{
				out[q] = out[q - 1];
				q--;
			}
			out[q] = b;
		}
	return n;
}

/*
 * Compare the kernel's fit with the reference; on a mismatch write why and
 * return 0.  strict: the kept set must be exactly the reference's (ties to
 * the lower index); otherwise, for windows whose weights (1/3, 1/5...) are
 * not exact in float, a tie in exact arithmetic may be cut either way, so
 * the set must only be a valid cut: nothing weaker than the cut kept,
 * nothing stronger dropped.
 */
static int
compare_fit(const FrSequenceOptions *opt, const RefModel *ref, const FrCsr *trans,
			const int64_t *rptr, const int32_t *ridx, bool strict, char *why, size_t len)
{
	int64_t		kept_total = 0;

	if (trans->nrows != NI || trans->ncols != NI || trans->indptr[0] != 0)
	{
		snprintf(why, len, "shape %d x %d", trans->nrows, trans->ncols);
		return 0;
	}
	for (int a = 0; a < NI; a++)
	{
		int32_t		ranked[NI];
		int			n = ref_ranked(ref, a, ranked);
		int			keep = n < opt->max_neighbors ? n : opt->max_neighbors;
		int64_t		lo = trans->indptr[a];
		int64_t		cut = keep > 0 ? ref->w[a][ranked[keep - 1]] : 0;
		int64_t		total = 0;
		double		sum = 0;

		if (trans->indptr[a + 1] - lo != keep)
		{
			snprintf(why, len, "item %d keeps %lld successors, want %d", a,
					 (long long) (trans->indptr[a + 1] - lo), keep);
			return 0;
		}
		for (int64_t j = lo; j < lo + keep; j++)
		{
			int32_t		b = trans->indices[j];

			if (j > lo && b <= trans->indices[j - 1])
			{
				snprintf(why, len, "item %d: successors not in index order", a);
				return 0;
			}
			if (b < 0 || b >= NI || ref->w[a][b] == 0 || ref->w[a][b] < cut)
			{
				snprintf(why, len, "item %d keeps %d, which is no top-%d successor", a, b, keep);
				return 0;
			}
			total += ref->w[a][b];
		}
		for (int r = 0; r < keep; r++)
		{
			int32_t		b = ranked[r];
			bool		found = false;

			for (int64_t j = lo; j < lo + keep; j++)
				found |= trans->indices[j] == b;
			if (!found && (strict || ref->w[a][b] > cut))
			{
				snprintf(why, len, "item %d drops successor %d (weight %g, cut %g)", a, b,
						 (double) ref->w[a][b] / ref->unit, (double) cut / ref->unit);
				return 0;
			}
		}
		for (int64_t j = lo; j < lo + keep; j++)
		{
			double		want = (double) ref->w[a][trans->indices[j]] / (double) total;

			sum += trans->values[j];
			if (fabs(trans->values[j] - want) > 1e-6)
			{
				snprintf(why, len, "P(%d -> %d) = %.9g, want %.9g", a, trans->indices[j],
						 trans->values[j], want);
				return 0;
			}
		}
		if (keep > 0 && fabs(sum - 1) > 1e-5)
		{
			snprintf(why, len, "row %d sums to %.9g", a, sum);
			return 0;
		}
		kept_total += keep;
	}
	if (trans->nnz != kept_total || trans->indptr[NI] != kept_total)
	{
		snprintf(why, len, "nnz %lld, want %lld", (long long) trans->nnz, (long long) kept_total);
		return 0;
	}
	if (rptr[0] != 0)
	{
		snprintf(why, len, "recent_indptr[0] = %lld", (long long) rptr[0]);
		return 0;
	}
	for (int u = 0; u < NU; u++)
	{
		if (rptr[u + 1] - rptr[u] != ref->n_recent[u])
		{
			snprintf(why, len, "user %d has %lld recent items, want %d", u,
					 (long long) (rptr[u + 1] - rptr[u]), ref->n_recent[u]);
			return 0;
		}
		for (int r = 0; r < ref->n_recent[u]; r++)
			if (ridx[rptr[u] + r] != ref->recent[u][r])
			{
				snprintf(why, len, "user %d recent[%d] = %d, want %d", u, r,
						 ridx[rptr[u] + r], ref->recent[u][r]);
				return 0;
			}
	}
	snprintf(why, len, "ok");
	return 1;
}

static void
free_fit(FrCsr *trans, int64_t *rptr, int32_t *ridx)
{
	fr_free(trans->indptr);
	fr_free(trans->indices);
	fr_free(trans->values);
	fr_free(rptr);
	fr_free(ridx);
}

/* ---- scoring ----------------------------------------------------------------- */

/*
 * scores by the header's formula, in double: sum over r of
 * weights[r] * decay^(n - 1 - r) * trans[items[r], :], with 0^0 = 1.
 * Returns the largest error relative to the magnitude of the terms.
 */
static double
score_error(const FrCsr *trans, const int32_t *items, const float *weights, int n,
			double decay, const float *got)
{
	double		want[NI] = {0},
				mag[NI] = {0},
				err = 0;

	for (int r = 0; r < n; r++)
	{
		double		f = (weights ? weights[r] : 1.0) * (n - 1 - r == 0 ? 1.0 : pow(decay, n - 1 - r));

		for (int64_t j = trans->indptr[items[r]]; j < trans->indptr[items[r] + 1]; j++)
		{
			want[trans->indices[j]] += f * trans->values[j];
			mag[trans->indices[j]] += fabs(f * trans->values[j]);
		}
	}
	for (int j = 0; j < NI; j++)
	{
		double		e = fabs(got[j] - want[j]) / (mag[j] > 1 ? mag[j] : 1);

		if (isnan(got[j]) || e > err)
			err = isnan(got[j]) ? INFINITY : e;
	}
	return err;
}

/* ---- small hand-made histories -------------------------------------------------- */

typedef struct Event
{
	int32_t		user;
	int32_t		item;
	double		time;
} Event;

static void
fit_events(const FrSequenceOptions *opt, int n_users, int n_items, const Event *ev, int n,
		   FrCsr *trans, int64_t **rptr, int32_t **ridx)
{
	int32_t		rows[32],
				cols[32];
	double		t[32];
	double	   *times;
	FrCsr		ui;

	for (int e = 0; e < n; e++)
	{
		rows[e] = ev[e].user;
		cols[e] = ev[e].item;
		t[e] = ev[e].time;
	}
	fr_csr_from_coo(&ui, n_users, n_items, n, rows, cols, NULL, t, &times);
	fr_sequence_fit(opt, &ui, times, trans, rptr, ridx);
	fr_free(ui.indptr);
	fr_free(ui.indices);
	fr_free(ui.values);
	fr_free(times);
}

/* P(a -> b) in a fitted model, or -1 when b is not among a's successors */
static double
prob(const FrCsr *trans, int a, int b)
{
	for (int64_t j = trans->indptr[a]; j < trans->indptr[a + 1]; j++)
		if (trans->indices[j] == b)
			return trans->values[j];
	return -1;
}

static int
row_len(const FrCsr *trans, int a)
{
	return (int) (trans->indptr[a + 1] - trans->indptr[a]);
}

/* does fr_sequence_fit refuse these options (fr_fail aborts in the unit-test stub)? */
static int
refused(FrSequenceOptions opt)
{
	pid_t		pid;
	int			status;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
	{
		int64_t		indptr[] = {0, 0};
		FrCsr		ui = {1, 1, 0, indptr, NULL, NULL};
		FrCsr		trans;
		int64_t    *rptr;
		int32_t    *ridx;

		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		fr_sequence_fit(&opt, &ui, NULL, &trans, &rptr, &ridx);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

int
main(void)
{
	FrRng		rng;
	FrCsr		ui,
				trans;
	double	   *times;
	int64_t    *rptr;
	int32_t    *ridx;
	char		why[200];
	static RefModel ref;

	fr_rng_seed(&rng, 1807);
	make_history(&rng);
	history_csr(&ui, &times);

	/* random histories, several option sets, against the brute-force count */
	{
		FrSequenceOptions sets[] = {
			/* gap, window, max_neighbors, recent */
			{60, 1, 100, 5},
			{60, 2, 3, 4},
			{60, 3, 2, 1},
			{0, 5, 4, 20},		/* gap 0: only events at the same second chain */
			{59.5, 4, 6, 3},
			{1e12, 2, 1, 2},	/* one session per user */
		};
		int			n_sets = (int) (sizeof(sets) / sizeof(sets[0]));
		int64_t		cut_rows = 0,
					tie_rows = 0;

		for (int s = 0; s < n_sets; s++)
		{
			const FrSequenceOptions *o = &sets[s];
			bool		strict = o->window <= 2;	/* weights 1 and 1/2 add exactly in float */

			ref_fit(o, &ref);
			fr_sequence_fit(o, &ui, times, &trans, &rptr, &ridx);
			ok(compare_fit(o, &ref, &trans, rptr, ridx, strict, why, sizeof(why)),
			   "random histories, gap %g window %d max_neighbors %d recent %d: %s%s",
			   o->gap_seconds, o->window, o->max_neighbors, o->recent, why,
			   strict ? " (ties exact)" : "");
			for (int a = 0; a < NI; a++)
			{
				int32_t		ranked[NI];
				int			n = ref_ranked(&ref, a, ranked);

				if (n > o->max_neighbors)
				{
					cut_rows++;
					tie_rows += ref.w[a][ranked[o->max_neighbors - 1]] == ref.w[a][ranked[o->max_neighbors]];
				}
			}

			/* scoring random recent lists (repeats allowed, as next_items passes them) */
			{
				double		decays[] = {0.5, 0, 1, 0.8};
				double		worst = 0;
				int			trials = 200;

				for (int t = 0; t < trials; t++)
				{
					int			n = (int) fr_rng_below(&rng, 9);
					int32_t		items[8];
					float		w[8];
					float		got[NI];
					bool		weighted = t % 2;
					double		decay = decays[t % 4];
					double		e;

					for (int r = 0; r < n; r++)
					{
						items[r] = (int32_t) fr_rng_below(&rng, NI);
						w[r] = (float) (0.1 + 3 * fr_rng_uniform(&rng));
					}
					for (int j = 0; j < NI; j++)
						got[j] = NAN;
					fr_sequence_score(&trans, items, weighted ? w : NULL, n, decay, got);
					e = score_error(&trans, items, weighted ? w : NULL, n, decay, got);
					worst = e > worst ? e : worst;
				}
				ok(worst < 1e-6, "scoring %d random lists with weights and decay 0, 0.5, 0.8, 1 "
				   "(window %d): largest error %g", trials, o->window, worst);
			}
			free_fit(&trans, rptr, ridx);
		}
		/* the draw must cut rows, some at a tie, or the cut is untested */
		ok(cut_rows > 20 && tie_rows > 5, "the random sets cut %lld rows, %lld of them at a tie",
		   (long long) cut_rows, (long long) tie_rows);
	}
	fr_free(ui.indptr);
	fr_free(ui.indices);
	fr_free(ui.values);
	fr_free(times);

	/*
	 * Time order, not storage order: one user saw item 1 at t 10, item 2 at
	 * 20, item 0 at 30 (stored 0, 1, 2).  Window 2: 1 -> 2 (1), 1 -> 0 (1/2),
	 * 2 -> 0 (1).  Rows: 0 none; 1 {0: 1/3, 2: 2/3}; 2 {0: 1}.  Recent 2:
	 * items 2, 0, oldest first.
	 */
	{
		FrSequenceOptions o = {100, 2, 10, 2};
		Event		ev[] = {{0, 0, 30}, {0, 1, 10}, {0, 2, 20}};

		fit_events(&o, 1, 3, ev, 3, &trans, &rptr, &ridx);
		ok(row_len(&trans, 0) == 0, "the last item has no successor");
		ok(row_len(&trans, 1) == 2 && fabs(prob(&trans, 1, 0) - 1.0 / 3) < 1e-7 &&
		   fabs(prob(&trans, 1, 2) - 2.0 / 3) < 1e-7,
		   "1 -> 2 at distance 1, 1 -> 0 at distance 2: %.7g, %.7g (want 2/3, 1/3)",
		   prob(&trans, 1, 2), prob(&trans, 1, 0));
		ok(row_len(&trans, 2) == 1 && prob(&trans, 2, 0) == 1.0, "2 -> 0 with probability 1 (%g)",
		   prob(&trans, 2, 0));
		ok(rptr[1] == 2 && ridx[0] == 2 && ridx[1] == 0, "recent items in time order: %d %d",
		   ridx[0], ridx[1]);
		free_fit(&trans, rptr, ridx);
	}

	/*
	 * Ties in time go by item index: items 5 and 2 at t 0, item 7 at t 10,
	 * window 1: 2 -> 5 -> 7 (not 5 -> 2 -> 7).
	 */
	{
		FrSequenceOptions o = {100, 1, 10, 3};
		Event		ev[] = {{0, 5, 0}, {0, 7, 10}, {0, 2, 0}};

		fit_events(&o, 1, 8, ev, 3, &trans, &rptr, &ridx);
		ok(prob(&trans, 2, 5) == 1 && prob(&trans, 5, 7) == 1 && row_len(&trans, 7) == 0 &&
		   trans.nnz == 2, "a tie in time is ordered by item: 2 -> 5 -> 7 (nnz %lld)",
		   (long long) trans.nnz);
		ok(ridx[0] == 2 && ridx[1] == 5 && ridx[2] == 7, "recent items with a tie: %d %d %d",
		   ridx[0], ridx[1], ridx[2]);
		free_fit(&trans, rptr, ridx);
	}

	/*
	 * The gap: item 0 at t 0, 1 at 100, 2 at 150, 3 at 151; window 3.
	 * Gap 50: 0 | 1 2 3 (a pause of exactly 50 does not split): 1 -> 2 (1),
	 * 1 -> 3 (1/2), 2 -> 3 (1); rows 1 {2: 2/3, 3: 1/3}, 2 {3: 1}; 0 leads
	 * nowhere, not even across the pause.  Gap 49.9: 0 | 1 | 2 3.
	 */
	{
		FrSequenceOptions o = {50, 3, 10, 5};
		Event		ev[] = {{0, 0, 0}, {0, 1, 100}, {0, 2, 150}, {0, 3, 151}};

		fit_events(&o, 1, 4, ev, 4, &trans, &rptr, &ridx);
		ok(row_len(&trans, 0) == 0, "a pause longer than the gap cuts 0 from what follows");
		ok(row_len(&trans, 1) == 2 && fabs(prob(&trans, 1, 2) - 2.0 / 3) < 1e-7 &&
		   fabs(prob(&trans, 1, 3) - 1.0 / 3) < 1e-7,
		   "a pause equal to the gap keeps the session: 1 -> 2 %.7g, 1 -> 3 %.7g",
		   prob(&trans, 1, 2), prob(&trans, 1, 3));
		ok(trans.nnz == 3 && prob(&trans, 2, 3) == 1, "gap 50: three transitions (%lld)",
		   (long long) trans.nnz);
		ok(rptr[1] == 4, "recent items span sessions (%lld)", (long long) rptr[1]);
		free_fit(&trans, rptr, ridx);

		o.gap_seconds = 49.9;
		fit_events(&o, 1, 4, ev, 4, &trans, &rptr, &ridx);
		ok(trans.nnz == 1 && prob(&trans, 2, 3) == 1, "gap 49.9: only 2 -> 3 (nnz %lld)",
		   (long long) trans.nnz);
		free_fit(&trans, rptr, ridx);
	}

	/*
	 * The window and 1 / distance: 0 1 2 3 4 at t 0..4.  Window 1: each to
	 * the next with probability 1.  Window 3, row 0: {1: 1, 2: 1/2, 3: 1/3}
	 * / (11/6) = {6/11, 3/11, 2/11}; 4 is out of reach.
	 */
	{
		FrSequenceOptions o = {10, 1, 10, 5};
		Event		ev[] = {{0, 0, 0}, {0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {0, 4, 4}};

		fit_events(&o, 1, 5, ev, 5, &trans, &rptr, &ridx);
		ok(trans.nnz == 4 && prob(&trans, 0, 1) == 1 && prob(&trans, 3, 4) == 1,
		   "window 1: a chain of probability-1 steps (nnz %lld)", (long long) trans.nnz);
		free_fit(&trans, rptr, ridx);

		o.window = 3;
		fit_events(&o, 1, 5, ev, 5, &trans, &rptr, &ridx);
		ok(row_len(&trans, 0) == 3 && fabs(prob(&trans, 0, 1) - 6.0 / 11) < 1e-7 &&
		   fabs(prob(&trans, 0, 2) - 3.0 / 11) < 1e-7 && fabs(prob(&trans, 0, 3) - 2.0 / 11) < 1e-7,
		   "window 3: 0 -> 1, 2, 3 as 6/11, 3/11, 2/11 (%.7g %.7g %.7g)",
		   prob(&trans, 0, 1), prob(&trans, 0, 2), prob(&trans, 0, 3));
		ok(prob(&trans, 0, 4) == -1 && trans.nnz == 3 + 3 + 2 + 1,
		   "window 3: nothing beyond distance 3 (nnz %lld, want 9)", (long long) trans.nnz);
		free_fit(&trans, rptr, ridx);
	}

	/*
	 * Counts add over users, and the cut keeps the strongest: users 0 and 1
	 * go 0 -> 1, user 2 goes 0 -> 2; user 3 sees 3 and, after a pause of
	 * 1000 s (gap 100), 0: no transition.  Row 0 = {1: 2, 2: 1} = {2/3, 1/3};
	 * max_neighbors 1 keeps {1: 1}.  A tie: user 4 goes 3 -> 2, user 5 goes
	 * 3 -> 1, so row 3 = {1: 1, 2: 1}; max_neighbors 1 keeps the lower
	 * index, 1, although user 4 came first.
	 */
	{
		FrSequenceOptions o = {100, 1, 10, 5};
		Event		ev[] = {
			{0, 0, 0}, {0, 1, 1}, {1, 0, 5}, {1, 1, 6}, {2, 0, 0}, {2, 2, 1},
			{3, 3, 0}, {3, 0, 1000}, {4, 3, 0}, {4, 2, 1}, {5, 3, 0}, {5, 1, 1},
		};

		fit_events(&o, 6, 4, ev, 12, &trans, &rptr, &ridx);
		ok(row_len(&trans, 0) == 2 && fabs(prob(&trans, 0, 1) - 2.0 / 3) < 1e-7 &&
		   fabs(prob(&trans, 0, 2) - 1.0 / 3) < 1e-7,
		   "counts add over users: 0 -> 1 %.7g, 0 -> 2 %.7g", prob(&trans, 0, 1), prob(&trans, 0, 2));
		ok(row_len(&trans, 3) == 2 && prob(&trans, 3, 0) == -1,
		   "a pause of 1000 s (gap 100) links nothing: no 3 -> 0");
		free_fit(&trans, rptr, ridx);

		o.max_neighbors = 1;
		fit_events(&o, 6, 4, ev, 12, &trans, &rptr, &ridx);
		ok(row_len(&trans, 0) == 1 && prob(&trans, 0, 1) == 1,
		   "max_neighbors 1 keeps the strongest, rescaled to 1 (%g)", prob(&trans, 0, 1));
		ok(row_len(&trans, 3) == 1 && prob(&trans, 3, 1) == 1,
		   "max_neighbors 1 at a tie keeps the lower index (3 -> 1: %g, 3 -> 2: %g)",
		   prob(&trans, 3, 1), prob(&trans, 3, 2));
		free_fit(&trans, rptr, ridx);
	}

	/*
	 * Recent items: the last `recent` per user, oldest first; none, one, all.
	 * User 0 sees 0..6 (4 and 5 both at t 5), user 1 nothing, user 2 only 7,
	 * user 3 0 then 1.  Window 2: row 0 = {1: 1 (user 0) + 1 (user 3),
	 * 2: 1/2} -> P(0 -> 1) = 2 / 2.5 = 0.8; item 7 leads nowhere.
	 */
	{
		FrSequenceOptions o = {100, 2, 10, 3};
		Event		ev[] = {
			{0, 4, 5}, {0, 1, 1}, {0, 6, 6}, {0, 0, 0}, {0, 3, 3}, {0, 5, 5}, {0, 2, 2},
			{2, 7, 7},
			{3, 1, 9}, {3, 0, 8},
		};

		fit_events(&o, 4, 8, ev, 10, &trans, &rptr, &ridx);
		ok(rptr[1] == 3 && ridx[0] == 4 && ridx[1] == 5 && ridx[2] == 6,
		   "7 events, recent 3: 4 5 6 (a tie at t 5 by index): %d %d %d", ridx[0], ridx[1], ridx[2]);
		ok(rptr[2] == rptr[1], "a user without events has no recent items");
		ok(rptr[3] - rptr[2] == 1 && ridx[rptr[2]] == 7, "a user with one event: that item");
		ok(rptr[4] - rptr[3] == 2 && ridx[rptr[3]] == 0 && ridx[rptr[3] + 1] == 1,
		   "a user with fewer events than recent: all, oldest first");
		ok(row_len(&trans, 7) == 0 && fabs(prob(&trans, 0, 1) - 0.8) < 1e-7,
		   "a lone event leads nowhere; users 0 and 3 both add to 0 -> 1 (%.7g, want 0.8)",
		   prob(&trans, 0, 1));
		free_fit(&trans, rptr, ridx);
	}

	/* nothing at all: no users, no items */
	{
		FrSequenceOptions o = {60, 3, 10, 5};
		int64_t		indptr[] = {0};
		FrCsr		empty = {0, 0, 0, indptr, NULL, NULL};

		fr_sequence_fit(&o, &empty, NULL, &trans, &rptr, &ridx);
		ok(trans.nrows == 0 && trans.nnz == 0 && trans.indptr[0] == 0 && rptr[0] == 0,
		   "no users and no items: an empty model");
		free_fit(&trans, rptr, ridx);
	}

	/* the options are checked: each bad one aborts in the stub, a good one does not */
	{
		FrSequenceOptions good = {60, 3, 10, 5};
		FrSequenceOptions bad[] = {
			{60, 0, 10, 5}, {60, 3, 0, 5}, {60, 3, 10, 0}, {-1, 3, 10, 5}, {NAN, 3, 10, 5},
		};
		int			refusals = 0;

		ok(refused(good) == 0, "valid options are accepted");
		for (int b = 0; b < 5; b++)
			refusals += refused(bad[b]) == 1;
		ok(refusals == 5, "window 0, max_neighbors 0, recent 0, gap -1, gap NaN are refused (%d of 5)",
		   refusals);
	}

	/*
	 * Scoring by hand.  trans: 0 {1: .5, 2: .5}, 1 {2: 1}, 2 nothing,
	 * 3 {0: .25, 3: .75}.
	 */
	{
		int64_t		indptr[] = {0, 2, 3, 3, 5};
		int32_t		indices[] = {1, 2, 2, 0, 3};
		float		values[] = {.5f, .5f, 1, .25f, .75f};
		FrCsr		t = {4, 4, 5, indptr, indices, values};
		float		s[4];

#define SCORE(items_, weights_, n_, decay_) \
	do { \
		for (int j_ = 0; j_ < 4; j_++) \
			s[j_] = NAN; \
		fr_sequence_score(&t, items_, weights_, n_, decay_, s); \
	} while (0)
#define IS(a, b, c, d) (s[0] == (a) && s[1] == (b) && s[2] == (c) && s[3] == (d))

		{
			int32_t		i[] = {0};

			SCORE(i, NULL, 1, 0.5);
			ok(IS(0, .5, .5, 0), "one item: its row (%g %g %g %g)", s[0], s[1], s[2], s[3]);
		}
		{
			int32_t		i[] = {0, 1};

			/* last (1) weighs 1: {2: 1}; 0 weighs .5: {1: .25, 2: .25} */
			SCORE(i, NULL, 2, 0.5);
			ok(IS(0, .25, 1.25, 0), "[0, 1], decay .5: the last item counts most (%g %g %g %g)",
			   s[0], s[1], s[2], s[3]);
		}
		{
			int32_t		i[] = {1, 0};

			/* last (0) weighs 1: {1: .5, 2: .5}; 1 weighs .5: {2: .5} */
			SCORE(i, NULL, 2, 0.5);
			ok(IS(0, .5, 1, 0), "[1, 0], decay .5: order matters (%g %g %g %g)", s[0], s[1], s[2], s[3]);
		}
		{
			int32_t		i[] = {0, 1};
			float		w[] = {2, 3};

			/* 1: 3 * {2: 1}; 0: 2 * .5 * {1: .5, 2: .5} */
			SCORE(i, w, 2, 0.5);
			ok(IS(0, .5, 3.5, 0), "weights 2, 3 times decay (%g %g %g %g)", s[0], s[1], s[2], s[3]);
		}
		{
			int32_t		i[] = {3, 1, 0};

			SCORE(i, NULL, 3, 0);
			ok(IS(0, .5, .5, 0), "decay 0: only the last item (%g %g %g %g)", s[0], s[1], s[2], s[3]);
			SCORE(i, NULL, 3, 1);
			ok(IS(.25, .5, 1.5, .75), "decay 1: a plain sum (%g %g %g %g)", s[0], s[1], s[2], s[3]);
		}
		{
			int32_t		i[] = {2};

			SCORE(i, NULL, 1, 0.5);
			ok(IS(0, 0, 0, 0), "an item with no successor scores nothing, every slot written");
		}
		{
			int32_t		i[] = {2, 2};
			float		w[] = {5, 5};

			SCORE(i, w, 2, 1);
			ok(IS(0, 0, 0, 0), "only items with no successor: all 0");
		}
		{
			SCORE(NULL, NULL, 0, 0.5);
			ok(IS(0, 0, 0, 0), "an empty list: all 0");
		}
		{
			int32_t		i[] = {1, 1};

			SCORE(i, NULL, 2, 1);
			ok(IS(0, 0, 2, 0), "a repeated item counts twice (%g)", s[2]);
		}
		{
			int32_t		i[] = {0, 3};
			float		w[] = {4, 0};

			/* 3 weighs 0; 0 weighs 4 * .25 = 1 */
			SCORE(i, w, 2, 0.25);
			ok(IS(0, .5, .5, 0), "weight 0 silences the last item (%g %g %g %g)", s[0], s[1], s[2], s[3]);
		}
#undef SCORE
#undef IS
	}

	return done_testing();
}
