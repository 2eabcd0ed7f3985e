// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for pinpage (mm/pinpage.c): the owner records of long-term pins
 * and the owner side of migration.
 *
 * The tests call the hooks of mm/migrate.c in the order in which a migration
 * calls them, with the source and destination folios locked, on kernel folios
 * whose pins are taken as try_grab_folio() takes them: GUP_PIN_COUNTING_BIAS
 * references per pin on a small folio, one reference and one _pincount per pin
 * on a large one.  The allocation reference of a folio plays the reference that
 * the migration holds on the folio it isolated, so pinpage finds the reference
 * count it expects: folio_expected_ref_count() (0 here) + 1 + the pin
 * references.
 *
 * The test owners count their callbacks.  A test keeps its pins and records in
 * a context (struct pp_ctx), so that the exit handler can undo them, and never
 * leaves a pinpage warning to fire, even after a failed assertion where it can.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/migrate.h>
#include <linux/migrate_mode.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pinpage.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/shmem_fs.h>
#include <linux/zsmalloc.h>

#include "internal.h"

#define PP_MAX_OWNERS		12
#define PP_MAX_FOLIOS		12

/*
 * The migration race: threads that pin and unpin the migrating folio as its
 * owners, threads that pin and unpin PFN-adjacent pages (the same xarray leaf)
 * as other owners, and the test thread migrating the folio back and forth.
 * The counts are modest: the test runs on debug kernels under emulation.
 */
#define PP_RACE_BLOCK_ORDER	3
#define PP_RACE_OWNER_THREADS	2
#define PP_RACE_CHURN_THREADS	2
#define PP_RACE_THREADS		(PP_RACE_OWNER_THREADS + PP_RACE_CHURN_THREADS)
#define PP_RACE_OWNER_LOOPS	300
#define PP_RACE_CHURN_LOOPS	500
#define PP_RACE_MIGRATIONS	200
#define PP_RACE_ATTEMPTS	2000

/* pp_finish() failures, after the isolation: */
#define PP_STALE	(-ESTALE)	/* the records changed */
#define PP_MISMATCH	(-ERANGE)	/* the reference count check failed */

struct pp_ctx;

/**
 * struct pp_owner - a test pin owner
 * @owner: the pinpage owner.
 * @ctx: the test context.
 * @live: between pinpage_owner_init() and pinpage_owner_destroy().
 * @refuse: what ->isolate() returns (0: it agrees).
 * @lock: if set, ->isolate() trylocks it (-EAGAIN if busy) and holds it until
 *	->putback(), like an owner that excludes its own use of the pages.
 * @mutex: the lock of an owner thread (@lock may point to another's).
 * @hook: called by ->isolate() before it answers.
 * @partner: another owner, for @hook.
 * @isolated: between an ->isolate() that returned 0 and ->putback().
 * @cur: the folio that the owner pins; ->migrate() moves it from src to dst.
 * @mode: the migration mode of the last ->isolate().
 * @src: @src of the last ->migrate().
 * @dst: @dst of the last ->migrate().
 * @putback_folio: the folio of the last ->putback().
 * @cookie: the cookie of the last callback.
 * @nr_isolate: ->isolate() calls.
 * @nr_isolated: ->isolate() calls that returned 0.
 * @nr_migrate: ->migrate() calls.
 * @nr_putback: ->putback() calls.
 * @nr_bad: ->migrate() calls out of protocol (it runs under rcu_read_lock(),
 *	so it counts instead of reporting).
 * @refuse_copy: what ->copy() returns (0: it copies), for owners with one.
 * @nr_copy: ->copy() calls.
 * @ref_in_copy: ->copy() takes a reference on @src and puts it, as someone
 *	that the owner's lock lets in would.
 * @nr_frozen: ->copy() calls that found @src's reference count frozen.
 *
 * The callbacks run in the test thread only, which owns the counts.
 */
struct pp_owner {
	struct pinpage_owner owner;
	struct pp_ctx *ctx;
	bool live;
	int refuse;
	struct mutex *lock;		/* see @lock above */
	struct mutex mutex;		/* see @mutex above */
	void (*hook)(struct pp_owner *o, struct folio *folio);
	struct pp_owner *partner;
	bool isolated;
	struct folio *cur;
	enum migrate_mode mode;
	struct folio *src, *dst, *putback_folio;
	u32 cookie;
	int nr_isolate, nr_isolated, nr_migrate, nr_putback;
	int nr_bad;
	int refuse_copy;
	int nr_copy;
	bool ref_in_copy;
	int nr_frozen;
};

/**
 * struct pp_thread - a thread of the migration race
 * @ctx: the test context.
 * @task: the thread, with a reference held; NULL when not running.
 * @a: owner thread: the owner holding a pin on the migrating folio throughout;
 *	churn thread: one of its two owners.
 * @b: owner thread: an owner that pins the migrating folio for a moment,
 *	under the lock of @a, while its own ->isolate() takes no lock;
 *	churn thread: its other owner.
 * @folio: churn thread: its two pages.
 * @churn: a churn thread.
 * @loops: iterations to run.
 * @done: iterations done.
 * @nomem: iterations in which pinpage_add() failed.
 */
struct pp_thread {
	struct pp_ctx *ctx;
	struct task_struct *task;
	struct pp_owner *a, *b;
	struct folio *folio[2];
	bool churn;
	unsigned int loops;
	unsigned int done;
	unsigned int nomem;
};

/* pinpage_test_destroy_waits: the thread destroying an owner. */
struct pp_destroyer {
	struct pp_owner *o;
	struct task_struct *task;
	struct completion done;
	int nr_putback;		/* of @o when pinpage_owner_destroy() is done */
};

/**
 * struct pp_ctx - what a test holds, for checks and for the cleanup
 * @test: the test.
 * @owners: owners, @nr_owners of them used.
 * @nr_owners: used @owners.
 * @folios: folios, @nr_folios of them used.
 * @nr_folios: used @folios.
 * @locked: @folios[i] is locked by the test.
 * @pins: simulated pins on @folios[i], owned or not.
 * @refs: extra plain references on @folios[i].
 * @recs: pins recorded for @owners[i] on @folios[j].
 * @spare: a folio that never has records, as destination for pp_no_records().
 * @threads: the threads of the migration race.
 * @running: threads of the race still in their loop.
 * @destroyer: see struct pp_destroyer.
 */
struct pp_ctx {
	struct kunit *test;
	struct pp_owner owners[PP_MAX_OWNERS];
	unsigned int nr_owners;
	struct folio *folios[PP_MAX_FOLIOS];
	unsigned int nr_folios;
	bool locked[PP_MAX_FOLIOS];
	unsigned int pins[PP_MAX_FOLIOS];
	unsigned int refs[PP_MAX_FOLIOS];
	unsigned int recs[PP_MAX_OWNERS][PP_MAX_FOLIOS];
	struct folio *spare;
	struct pp_thread threads[PP_RACE_THREADS];
	atomic_t running;
	struct pp_destroyer destroyer;
};

/* ------------------------------------------------------------------------ */
/* Test owners                                                              */
/* ------------------------------------------------------------------------ */

static struct pp_owner *to_pp_owner(struct pinpage_owner *owner)
{
	return container_of(owner, struct pp_owner, owner);
}

static int pp_isolate_cb(struct pinpage_owner *owner, struct folio *folio,
			 u32 cookie, enum migrate_mode mode)
{
	struct pp_owner *o = to_pp_owner(owner);
	struct kunit *test = o->ctx->test;

	KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
	KUNIT_EXPECT_FALSE(test, o->isolated);
	o->nr_isolate++;
	o->mode = mode;
	o->cookie = cookie;
	if (o->hook)
		o->hook(o, folio);
	if (o->refuse)
		return o->refuse;
	if (o->lock && !mutex_trylock(o->lock))
		return -EAGAIN;
	o->isolated = true;
	o->nr_isolated++;
	return 0;
}

static void pp_migrate_cb(struct pinpage_owner *owner, struct folio *src,
			  struct folio *dst, u32 cookie)
{
	struct pp_owner *o = to_pp_owner(owner);

	if (!o->isolated || !folio_test_locked(src) || !folio_test_locked(dst) ||
	    cookie != o->cookie)
		o->nr_bad++;
	o->nr_migrate++;
	o->src = src;
	o->dst = dst;
	/* Under o->lock, which an owner thread takes to read it. */
	if (o->cur == src)
		WRITE_ONCE(o->cur, dst);
}

static void pp_putback_cb(struct pinpage_owner *owner, struct folio *folio,
			  u32 cookie)
{
	struct pp_owner *o = to_pp_owner(owner);
	struct kunit *test = o->ctx->test;

	KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
	KUNIT_EXPECT_TRUE(test, o->isolated);
	KUNIT_EXPECT_EQ(test, cookie, o->cookie);
	o->nr_putback++;
	o->putback_folio = folio;
	if (!o->isolated)
		return;
	o->isolated = false;
	if (o->lock)
		mutex_unlock(o->lock);
}

static const struct pinpage_ops pp_ops = {
	.name		= "pinpage_kunit",
	.flags		= PINPAGE_BOUNDED_ISOLATE,
	.isolate	= pp_isolate_cb,
	.migrate	= pp_migrate_cb,
	.putback	= pp_putback_cb,
};

/* An owner that copies the folio itself, under its lock (here: none). */
static int pp_copy_cb(struct pinpage_owner *owner, struct folio *src,
		      struct folio *dst, u32 cookie)
{
	struct pp_owner *o = to_pp_owner(owner);
	long i;

	if (!o->isolated || cookie != o->cookie)
		o->nr_bad++;
	o->nr_copy++;
	if (o->refuse_copy)
		return o->refuse_copy;
	/*
	 * Someone that the owner's lock lets in takes a reference for a
	 * moment (zsmalloc's lock_zspage() does, to wait for the page lock):
	 * the count must not read as that of a free page.
	 */
	if (o->ref_in_copy) {
		if (folio_try_get(src))
			folio_put(src);
		else
			o->nr_frozen++;
	}
	for (i = 0; i < folio_nr_pages(src); i++)
		copy_highpage(folio_page(dst, i), folio_page(src, i));
	if (o->cur == src)
		WRITE_ONCE(o->cur, dst);
	return 0;
}

/* A kernel subsystem's owner: plain references, and it copies itself. */
static const struct pinpage_ops pp_ref_ops = {
	.name		= "pinpage_kunit_ref",
	.flags		= PINPAGE_BOUNDED_ISOLATE | PINPAGE_REFERENCES,
	.isolate	= pp_isolate_cb,
	.migrate	= pp_migrate_cb,
	.putback	= pp_putback_cb,
	.copy		= pp_copy_cb,
};

static const struct pinpage_ops pp_unbounded_ops = {
	.name		= "pinpage_kunit_unbounded",
	.isolate	= pp_isolate_cb,
	.migrate	= pp_migrate_cb,
	.putback	= pp_putback_cb,
};

static struct pp_owner *pp_owner_new(struct pp_ctx *ctx,
				     const struct pinpage_ops *ops)
{
	struct pp_owner *o;

	KUNIT_ASSERT_LT(ctx->test, ctx->nr_owners, PP_MAX_OWNERS);
	o = &ctx->owners[ctx->nr_owners++];
	o->ctx = ctx;
	mutex_init(&o->mutex);
	pinpage_owner_init(&o->owner, ops);
	o->live = true;
	return o;
}

static long pp_nr_pins(struct pp_owner *o)
{
	return atomic_long_read(&o->owner.nr_pins);
}

/* Every successful ->isolate() was followed by exactly one ->putback(). */
static void pp_expect_balanced(struct kunit *test, struct pp_owner *o)
{
	KUNIT_EXPECT_FALSE(test, o->isolated);
	KUNIT_EXPECT_EQ(test, o->nr_isolated, o->nr_putback);
	KUNIT_EXPECT_EQ(test, o->nr_bad, 0);
}

/* ------------------------------------------------------------------------ */
/* Folios and pins                                                          */
/* ------------------------------------------------------------------------ */

static int pp_idx(struct pp_ctx *ctx, struct folio *folio)
{
	unsigned int i;

	for (i = 0; i < ctx->nr_folios; i++)
		if (ctx->folios[i] == folio)
			return i;
	KUNIT_FAIL(ctx->test, "folio not allocated by the test");
	return -1;
}

static int pp_owner_idx(struct pp_owner *o)
{
	return o - o->ctx->owners;
}

static void pp_add_folio(struct pp_ctx *ctx, struct folio *folio)
{
	ctx->folios[ctx->nr_folios++] = folio;
}

/* An order-@order kernel folio; skips the test if there is none. */
static struct folio *pp_folio(struct pp_ctx *ctx, unsigned int order)
{
	struct folio *folio;

	KUNIT_ASSERT_LT(ctx->test, ctx->nr_folios, PP_MAX_FOLIOS);
	folio = folio_alloc(GFP_KERNEL | __GFP_NOWARN, order);
	if (!folio)
		kunit_skip(ctx->test, "no order-%u folio", order);
	pp_add_folio(ctx, folio);
	return folio;
}

/* Small folios of 2^@order adjacent PFNs, in @folios. */
static void pp_folio_block(struct pp_ctx *ctx, unsigned int order,
			   struct folio **folios)
{
	unsigned int i, nr = 1U << order;
	struct page *page;

	KUNIT_ASSERT_LE(ctx->test, ctx->nr_folios + nr, PP_MAX_FOLIOS);
	page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	if (!page)
		kunit_skip(ctx->test, "no order-%u block of pages", order);
	split_page(page, order);
	for (i = 0; i < nr; i++) {
		folios[i] = page_folio(page + i);
		pp_add_folio(ctx, folios[i]);
	}
}

/* Pins as try_grab_folio(FOLL_PIN) takes them, and gup_put_folio() drops. */
static void pp_sim_pin(struct folio *folio, unsigned int pins)
{
	if (folio_test_large(folio)) {
		folio_ref_add(folio, pins);
		atomic_add(pins, &folio->_pincount);
	} else {
		folio_ref_add(folio, pins * GUP_PIN_COUNTING_BIAS);
	}
}

static void pp_sim_unpin(struct folio *folio, unsigned int pins)
{
	if (folio_test_large(folio)) {
		atomic_sub(pins, &folio->_pincount);
		folio_ref_sub(folio, pins);
	} else {
		folio_ref_sub(folio, pins * GUP_PIN_COUNTING_BIAS);
	}
}

/* References that @pins pins hold on @folio. */
static int pp_pin_refs(struct folio *folio, unsigned int pins)
{
	return folio_test_large(folio) ? pins : pins * GUP_PIN_COUNTING_BIAS;
}

static int pp_pincount(struct folio *folio)
{
	return folio_test_large(folio) ? atomic_read(&folio->_pincount) : 0;
}

/* The reference count and pin count of @folio when it carries @pins pins. */
static void pp_expect_pins(struct kunit *test, struct folio *folio,
			   unsigned int pins)
{
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1 + pp_pin_refs(folio, pins));
	KUNIT_EXPECT_EQ(test, pp_pincount(folio),
			folio_test_large(folio) ? (int)pins : 0);
}

/* Take @pins pins on @folio that no owner records. */
static void pp_take(struct pp_ctx *ctx, struct folio *folio, unsigned int pins)
{
	int f = pp_idx(ctx, folio);

	if (f < 0)
		return;
	pp_sim_pin(folio, pins);
	ctx->pins[f] += pins;
}

static void pp_release(struct pp_ctx *ctx, struct folio *folio,
		       unsigned int pins)
{
	int f = pp_idx(ctx, folio);

	if (f < 0)
		return;
	if (ctx->pins[f] < pins) {
		KUNIT_FAIL(ctx->test, "releasing pins not taken");
		return;
	}
	ctx->pins[f] -= pins;
	pp_sim_unpin(folio, pins);
}

/* Record @pins pins of @o, already taken, on @folio, with @cookie. */
static int pp_add_cookie(struct pp_ctx *ctx, struct pp_owner *o,
			 struct folio *folio, unsigned int pins, u32 cookie)
{
	int f = pp_idx(ctx, folio);
	int ret;

	if (f < 0)
		return -EINVAL;
	ret = pinpage_add(&o->owner, folio, pins, cookie);
	if (!ret)
		ctx->recs[pp_owner_idx(o)][f] += pins;
	return ret;
}

/*
 * Record @pins pins of @o, already taken, on @folio.  The cookie is the
 * folio's index in the test: 0 (an owner pointer entry for a single pin) for
 * the first folio, a value entry with the owner's id for the others.
 */
static int pp_add(struct pp_ctx *ctx, struct pp_owner *o, struct folio *folio,
		  unsigned int pins)
{
	int f = pp_idx(ctx, folio);

	return f < 0 ? -EINVAL : pp_add_cookie(ctx, o, folio, pins, f);
}

/* Forget @pins recorded pins of @o on @folio; the pins stay taken. */
static void pp_drop(struct pp_ctx *ctx, struct pp_owner *o, struct folio *folio,
		    unsigned int pins)
{
	int f = pp_idx(ctx, folio);

	if (f < 0)
		return;
	/* Never let pinpage warn: drop only what the test recorded. */
	if (ctx->recs[pp_owner_idx(o)][f] < pins) {
		KUNIT_FAIL(ctx->test, "dropping pins not recorded");
		return;
	}
	ctx->recs[pp_owner_idx(o)][f] -= pins;
	pinpage_drop(&o->owner, folio, pins);
}

/* Pin @folio @pins times on behalf of @o, as pinpage_pin_user_pages(). */
static int pp_pin(struct pp_ctx *ctx, struct pp_owner *o, struct folio *folio,
		  unsigned int pins)
{
	int ret;

	pp_take(ctx, folio, pins);
	ret = pp_add(ctx, o, folio, pins);
	if (ret)
		pp_release(ctx, folio, pins);
	return ret;
}

/* Undo pp_pin(), as pinpage_unpin_user_pages(). */
static void pp_unpin(struct pp_ctx *ctx, struct pp_owner *o,
		     struct folio *folio, unsigned int pins)
{
	pp_drop(ctx, o, folio, pins);
	pp_release(ctx, folio, pins);
}

/* A plain reference, as a speculative folio_try_get() takes it. */
static void pp_get(struct pp_ctx *ctx, struct folio *folio)
{
	int f = pp_idx(ctx, folio);

	if (f < 0)
		return;
	folio_get(folio);
	ctx->refs[f]++;
}

static void pp_put(struct pp_ctx *ctx, struct folio *folio)
{
	int f = pp_idx(ctx, folio);

	if (f < 0)
		return;
	if (!ctx->refs[f]) {
		KUNIT_FAIL(ctx->test, "putting a reference not taken");
		return;
	}
	ctx->refs[f]--;
	folio_put(folio);
}

/* Pins recorded on @folio, as the test took them. */
static unsigned int pp_owned(struct pp_ctx *ctx, struct folio *folio)
{
	int f = pp_idx(ctx, folio);
	unsigned int i, pins = 0;

	if (f < 0)
		return 0;
	for (i = 0; i < ctx->nr_owners; i++)
		pins += ctx->recs[i][f];
	return pins;
}

/* The migration moved the recorded pins of @src to @dst. */
static void pp_moved(struct pp_ctx *ctx, struct folio *src, struct folio *dst)
{
	int s = pp_idx(ctx, src), d = pp_idx(ctx, dst);
	unsigned int i, pins = 0;

	if (s < 0 || d < 0)
		return;
	for (i = 0; i < ctx->nr_owners; i++) {
		pins += ctx->recs[i][s];
		ctx->recs[i][d] += ctx->recs[i][s];
		ctx->recs[i][s] = 0;
	}
	ctx->pins[s] -= pins;
	ctx->pins[d] += pins;
}

/* ------------------------------------------------------------------------ */
/* The migration steps                                                      */
/* ------------------------------------------------------------------------ */

/* Lock @src and @dst as the migration holds them. */
static void pp_lock(struct pp_ctx *ctx, struct folio *src, struct folio *dst)
{
	int s = pp_idx(ctx, src), d = pp_idx(ctx, dst);

	if (s < 0 || d < 0)
		return;
	folio_lock(src);
	ctx->locked[s] = true;
	folio_lock(dst);
	ctx->locked[d] = true;
}

static void pp_unlock(struct pp_ctx *ctx, struct folio *src,
		      struct folio *dst)
{
	int s = pp_idx(ctx, src), d = pp_idx(ctx, dst);

	if (s < 0 || d < 0)
		return;
	ctx->locked[d] = false;
	folio_unlock(dst);
	ctx->locked[s] = false;
	folio_unlock(src);
}

static int pp_isolate_calls(struct pp_ctx *ctx)
{
	unsigned int i;
	int calls = 0;

	for (i = 0; i < ctx->nr_owners; i++)
		calls += ctx->owners[i].nr_isolate;
	return calls;
}

/* __pinpage_migration_refs(), with -1 when the records changed. */
static int pp_refs(struct folio *folio)
{
	int refs;

	return __pinpage_migration_refs(folio, &refs) ? refs : -1;
}

/*
 * __pinpage_isolate_folio(), tried again when it fails before asking any owner:
 * it allocates with GFP_NOWAIT, which may fail for a moment.
 */
static int pp_isolate(struct pp_ctx *ctx, struct folio *src,
		      struct folio *dst, enum migrate_mode mode)
{
	int calls, ret, tries = 0;

	do {
		calls = pp_isolate_calls(ctx);
		ret = __pinpage_isolate_folio(src, dst, mode);
	} while (ret == -EAGAIN && pp_isolate_calls(ctx) == calls &&
		 ++tries < 5);
	return ret;
}

/*
 * The rest of a migration after __pinpage_isolate_folio() returned 1, as
 * __migrate_folio() and migrate_folio_move() do it, with @src and @dst locked:
 * check the reference count, move the pins, put the owners back.  Returns 0
 * when the pins moved to @dst, PP_STALE or PP_MISMATCH when the migration
 * failed and the owners were put back on @src.
 */
static int pp_finish(struct pp_ctx *ctx, struct folio *src, struct folio *dst)
{
	int refs = pp_refs(src);

	/*
	 * The check that __migrate_folio() makes for a folio without mapping,
	 * with what pinpage adds to the expected count.
	 */
	if (folio_migrate_mapping(NULL, dst, src, 0)) {
		__pinpage_putback_folio(src, true);
		return refs < 0 ? PP_STALE : PP_MISMATCH;
	}
	KUNIT_EXPECT_EQ(ctx->test, refs, pp_pin_refs(src, pp_owned(ctx, src)));
	__pinpage_migrate_folio(src, dst);
	pp_moved(ctx, src, dst);
	__pinpage_putback_folio(dst, false);
	return 0;
}

/*
 * Migrate @src to @dst as far as pinpage is concerned.  Returns 1 when the
 * pins moved, 0 when @src has no records, or a negative error.
 */
static int pp_migrate(struct pp_ctx *ctx, struct folio *src,
		      struct folio *dst, enum migrate_mode mode)
{
	int ret;

	pp_lock(ctx, src, dst);
	ret = pp_isolate(ctx, src, dst, mode);
	if (ret > 0)
		ret = pp_finish(ctx, src, dst) ?: 1;
	pp_unlock(ctx, src, dst);
	return ret;
}

/*
 * Whether pinpage has no record on @folio: isolating it then asks no owner and
 * returns 0.  (With records it returns 1, or -EBUSY if the pins are not all
 * owned.)
 */
static bool pp_no_records(struct pp_ctx *ctx, struct folio *folio)
{
	int ret;

	if (!ctx->spare)
		ctx->spare = pp_folio(ctx, 0);
	pp_lock(ctx, folio, ctx->spare);
	ret = pp_isolate(ctx, folio, ctx->spare, MIGRATE_SYNC);
	if (ret > 0)
		__pinpage_putback_folio(folio, true);
	pp_unlock(ctx, folio, ctx->spare);
	return !ret;
}

/* ------------------------------------------------------------------------ */
/* Setup and cleanup                                                        */
/* ------------------------------------------------------------------------ */

static void pp_stop_threads(struct pp_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < PP_RACE_THREADS; i++) {
		if (ctx->threads[i].task)
			kthread_stop_put(ctx->threads[i].task);
		ctx->threads[i].task = NULL;
	}
}

static int pp_test_init(struct kunit *test)
{
	struct pinpage_owner probe = { .ops = &pp_ops };
	struct pp_ctx *ctx;

	/* False when vm.pinpage_migrate is 0, or when the check is broken. */
	KUNIT_ASSERT_TRUE_MSG(test, pinpage_may_stay_movable(&probe),
			      "vm.pinpage_migrate is off, or a bounded owner may not stay movable");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->test = test;
	atomic_set(&ctx->running, 0);
	init_completion(&ctx->destroyer.done);
	test->priv = ctx;
	return 0;
}

/* Undo whatever a test left, for instance after a failed assertion. */
static void pp_test_exit(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int i, j;

	if (!ctx)
		return;
	pp_stop_threads(ctx);
	if (ctx->destroyer.task)
		kthread_stop_put(ctx->destroyer.task);

	/* A migration left half done: put its owners back. */
	for (i = 0; i < ctx->nr_folios; i++) {
		if (!__pinpage_folio_isolated(ctx->folios[i]))
			continue;
		if (!ctx->locked[i]) {
			folio_lock(ctx->folios[i]);
			ctx->locked[i] = true;
		}
		__pinpage_putback_folio(ctx->folios[i], true);
	}
	for (i = 0; i < ctx->nr_folios; i++)
		if (ctx->locked[i])
			folio_unlock(ctx->folios[i]);

	for (i = 0; i < ctx->nr_owners; i++)
		for (j = 0; j < ctx->nr_folios; j++)
			if (ctx->recs[i][j])
				pinpage_drop(&ctx->owners[i].owner,
					     ctx->folios[j], ctx->recs[i][j]);
	for (i = 0; i < ctx->nr_owners; i++) {
		KUNIT_EXPECT_EQ_MSG(test, ctx->owners[i].nr_bad, 0,
				    "owner %u: ->migrate() out of protocol", i);
		if (ctx->owners[i].live)
			pinpage_owner_destroy(&ctx->owners[i].owner);
	}
	for (i = 0; i < ctx->nr_folios; i++) {
		pp_sim_unpin(ctx->folios[i], ctx->pins[i]);
		if (ctx->refs[i])
			folio_put_refs(ctx->folios[i], ctx->refs[i]);
		folio_put(ctx->folios[i]);
	}
	test->priv = NULL;
}

static const unsigned int pp_orders[] = { 0, 2 };

static void pp_order_desc(const unsigned int *order, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "order-%u folio", *order);
}

KUNIT_ARRAY_PARAM(pp_order, pp_orders, pp_order_desc);

static unsigned int pp_param_order(struct kunit *test)
{
	return *(const unsigned int *)test->param_value;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

/* One pin recorded and dropped leaves no record behind. */
static void pinpage_test_add_drop(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *folio = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);

	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(folio));

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 1), 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 1);
	pp_expect_pins(test, folio, 1);
	/* Every pin is owned: compaction may take the folio. */
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(folio));
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(folio));

	/* The record goes first, then the pin: pinpage_unpin_user_pages(). */
	pp_drop(ctx, a, folio, 1);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(folio));
	pp_release(ctx, folio, 1);
	pp_expect_pins(test, folio, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));
	KUNIT_EXPECT_EQ(test, a->nr_isolate, 0);
}

/* An owner holding a page twice keeps its record until both pins are gone. */
static void pinpage_test_same_owner_twice(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *folio = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);

	/* One pin, then a second one: the owner entry becomes a count of 2. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 1), 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 2);
	pp_expect_pins(test, folio, 2);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(folio));

	/* One pin forgotten but still held: it is not owned any more. */
	pp_drop(ctx, a, folio, 1);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 1);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(folio));
	pp_release(ctx, folio, 1);
	/* The other one is still recorded. */
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(folio));
	KUNIT_EXPECT_FALSE(test, pp_no_records(ctx, folio));

	pp_unpin(ctx, a, folio, 1);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
	pp_expect_pins(test, folio, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));

	/* Two pins recorded at once, dropped one by one. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 2), 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 2);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(folio));
	pp_unpin(ctx, a, folio, 1);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(folio));
	pp_unpin(ctx, a, folio, 1);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
	pp_expect_pins(test, folio, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));
	pp_expect_balanced(test, a);
}

/*
 * Every callback gets the cookie the owner recorded: in the compact entry of
 * one pin (a value entry holding the owner's id), in a node, and
 * %PINPAGE_COOKIE_MULTI once the owner recorded the folio under two cookies,
 * which stays when the node shrinks back to a single pin.
 */
static void pinpage_test_cookies(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_NE(test, a->owner.id, 0U);
	pp_take(ctx, src, 1);
	KUNIT_ASSERT_EQ(test, pp_add_cookie(ctx, a, src, 1, 41), 0);
	KUNIT_ASSERT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, a->cookie, 41U);

	/* A second pin under the same cookie: a node, same cookie. */
	pp_take(ctx, dst, 1);
	KUNIT_ASSERT_EQ(test, pp_add_cookie(ctx, a, dst, 1, 41), 0);
	KUNIT_ASSERT_EQ(test, pp_migrate(ctx, dst, src, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, a->cookie, 41U);

	/* Another owner with cookie 0, and a pin of @a under another cookie. */
	pp_take(ctx, src, 2);
	KUNIT_ASSERT_EQ(test, pp_add_cookie(ctx, b, src, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, pp_add_cookie(ctx, a, src, 1, 7), 0);
	b->cookie = 99;
	KUNIT_ASSERT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_ASYNC), 1);
	KUNIT_EXPECT_EQ(test, a->cookie, PINPAGE_COOKIE_MULTI);
	KUNIT_EXPECT_EQ(test, b->cookie, 0U);

	/* Back to one pin of @a: a single entry again, still "multi". */
	pp_unpin(ctx, b, dst, 1);
	pp_unpin(ctx, a, dst, 2);
	a->cookie = 0;
	KUNIT_ASSERT_EQ(test, pp_migrate(ctx, dst, src, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, a->cookie, PINPAGE_COOKIE_MULTI);
	pp_unpin(ctx, a, src, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
}

/* Outside a migration the migration hooks change nothing. */
static void pinpage_test_hooks_idle(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);
	int round;

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	/* Round 0: the owner alone; round 1: two owners. */
	for (round = 0; round < 2; round++) {
		if (round)
			KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);
		pp_lock(ctx, src, dst);
		KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
		KUNIT_EXPECT_EQ(test, pp_refs(src), 0);
		__pinpage_migrate_folio(src, dst);
		__pinpage_putback_folio(src, true);
		__pinpage_putback_folio(dst, false);
		pp_unlock(ctx, src, dst);

		pp_expect_pins(test, src, round + 1);
		pp_expect_pins(test, dst, 0);
		KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));
		KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	}
	KUNIT_EXPECT_EQ(test, a->nr_isolate + a->nr_migrate + a->nr_putback, 0);
	KUNIT_EXPECT_EQ(test, b->nr_isolate + b->nr_migrate + b->nr_putback, 0);
	pp_unpin(ctx, b, src, 1);
	pp_unpin(ctx, a, src, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/* ------------------------------------------------------------------------ */
/* Migration                                                                */
/* ------------------------------------------------------------------------ */

/* Three owners: each is isolated, migrated and put back once. */
static void pinpage_test_several_owners(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *o[3];
	int i, refs;

	for (i = 0; i < ARRAY_SIZE(o); i++) {
		o[i] = pp_owner_new(ctx, &pp_ops);
		KUNIT_ASSERT_EQ(test, pp_pin(ctx, o[i], src, 1), 0);
	}
	pp_expect_pins(test, src, 3);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));

	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_isolated(src));
	KUNIT_EXPECT_TRUE(test, pinpage_folio_isolated(src));
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		KUNIT_EXPECT_EQ(test, o[i]->nr_isolate, 1);
		KUNIT_EXPECT_TRUE(test, o[i]->isolated);
		KUNIT_EXPECT_EQ(test, o[i]->mode, MIGRATE_SYNC);
	}

	/* What __migrate_folio() adds to the expected reference count. */
	refs = pp_refs(src);
	KUNIT_EXPECT_EQ(test, refs, pp_pin_refs(src, 3));
	KUNIT_EXPECT_EQ(test, folio_ref_count(src),
			folio_expected_ref_count(src) + 1 + refs);

	__pinpage_migrate_folio(src, dst);
	pp_moved(ctx, src, dst);
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 3);
	/* src reads as isolated until the owners resume: fork waits on it. */
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_isolated(src));
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_isolated(dst));
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		KUNIT_EXPECT_EQ(test, o[i]->nr_migrate, 1);
		KUNIT_EXPECT_PTR_EQ(test, o[i]->src, src);
		KUNIT_EXPECT_PTR_EQ(test, o[i]->dst, dst);
		/* Still isolated until the putback. */
		KUNIT_EXPECT_TRUE(test, o[i]->isolated);
		KUNIT_EXPECT_EQ(test, o[i]->nr_putback, 0);
	}

	__pinpage_putback_folio(dst, false);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(dst));
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		KUNIT_EXPECT_EQ(test, o[i]->nr_putback, 1);
		KUNIT_EXPECT_PTR_EQ(test, o[i]->putback_folio, dst);
		pp_expect_balanced(test, o[i]);
	}
	pp_unlock(ctx, src, dst);

	/* The records moved with the pins. */
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(dst));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		KUNIT_EXPECT_EQ(test, pp_nr_pins(o[i]), 1);
		pp_unpin(ctx, o[i], dst, 1);
		KUNIT_EXPECT_EQ(test, pp_nr_pins(o[i]), 0);
	}
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/* An owner that refuses stops the migration; the others are put back. */
static void pinpage_test_owner_refuses(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a, *b, *c, *o[3];
	static const int refusals[] = { -EBUSY, -EPERM };
	int i, r;

	for (i = 0; i < ARRAY_SIZE(o); i++) {
		o[i] = pp_owner_new(ctx, &pp_ops);
		KUNIT_ASSERT_EQ(test, pp_pin(ctx, o[i], src, 1), 0);
	}
	a = o[0];
	b = o[1];
	c = o[2];

	/* Any error but -EAGAIN is a refusal, reported as -EBUSY. */
	for (r = 0; r < ARRAY_SIZE(refusals); r++) {
		b->refuse = refusals[r];
		pp_lock(ctx, src, dst);
		KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC),
				-EBUSY);
		KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
		pp_unlock(ctx, src, dst);

		/* The owners are asked in the order they were recorded. */
		KUNIT_EXPECT_EQ(test, a->nr_isolate, r + 1);
		KUNIT_EXPECT_EQ(test, a->nr_putback, r + 1);
		KUNIT_EXPECT_PTR_EQ(test, a->putback_folio, src);
		KUNIT_EXPECT_EQ(test, b->nr_isolate, r + 1);
		KUNIT_EXPECT_EQ(test, b->nr_isolated, 0);
		KUNIT_EXPECT_EQ(test, c->nr_isolate, 0);
		for (i = 0; i < ARRAY_SIZE(o); i++) {
			pp_expect_balanced(test, o[i]);
			KUNIT_EXPECT_EQ(test, o[i]->nr_migrate, 0);
			KUNIT_EXPECT_EQ(test, pp_nr_pins(o[i]), 1);
		}
		/* Nothing moved, the records stay. */
		pp_expect_pins(test, src, 3);
		pp_expect_pins(test, dst, 0);
		KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));
		KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	}

	/* Once b agrees, the same dst (its reservation released) takes them. */
	b->refuse = 0;
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	for (i = 0; i < ARRAY_SIZE(o); i++) {
		pp_expect_balanced(test, o[i]);
		KUNIT_EXPECT_EQ(test, o[i]->nr_migrate, 1);
		KUNIT_EXPECT_PTR_EQ(test, o[i]->putback_folio, dst);
	}
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 3);
	for (i = 0; i < ARRAY_SIZE(o); i++)
		pp_unpin(ctx, o[i], dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/*
 * An owner that is busy makes the migration fail with -EAGAIN; the owners
 * then stay on the source when a migration fails after their isolation.
 */
static void pinpage_test_owner_busy(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);

	b->refuse = -EAGAIN;
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_ASYNC),
			-EAGAIN);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, b->nr_isolate, 1);
	KUNIT_EXPECT_EQ(test, b->mode, MIGRATE_ASYNC);
	KUNIT_EXPECT_EQ(test, a->nr_putback, 1);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	pp_expect_pins(test, src, 2);

	/* Isolated, then the migration fails: back on the untouched source. */
	b->refuse = 0;
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC_LIGHT), 1);
	KUNIT_EXPECT_EQ(test, b->mode, MIGRATE_SYNC_LIGHT);
	KUNIT_EXPECT_TRUE(test, a->isolated);
	KUNIT_EXPECT_TRUE(test, b->isolated);
	__pinpage_putback_folio(src, true);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_PTR_EQ(test, a->putback_folio, src);
	KUNIT_EXPECT_PTR_EQ(test, b->putback_folio, src);
	KUNIT_EXPECT_EQ(test, a->nr_migrate + b->nr_migrate, 0);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	pp_expect_pins(test, src, 2);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));

	/* And the next attempt moves them. */
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, dst, 2);
	pp_unpin(ctx, a, dst, 1);
	pp_unpin(ctx, b, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/* Pins and pin counts follow the records, there and back again. */
static void pinpage_test_transfer_counts(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	/* One owner with one pin: the owner itself is the record. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	a->cur = src;
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 1);
	KUNIT_EXPECT_PTR_EQ(test, a->cur, dst);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));

	/* Two owners, four pins, back to the first folio. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, dst, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, dst, 2), 0);
	b->cur = dst;
	pp_expect_pins(test, dst, 4);
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, dst, src, MIGRATE_SYNC), 1);
	pp_expect_pins(test, src, 4);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_PTR_EQ(test, a->cur, src);
	KUNIT_EXPECT_PTR_EQ(test, b->cur, src);

	/* One pin fewer, and over again. */
	pp_unpin(ctx, a, src, 1);
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 3);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 3);
	KUNIT_EXPECT_EQ(test, b->nr_migrate, 2);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 1);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(b), 2);

	pp_unpin(ctx, a, dst, 1);
	pp_unpin(ctx, b, dst, 2);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/*
 * The end of a migration whose owner copies: the reference count check, the
 * owner's copy at the point of no return, the move.  Returns 0 when the
 * records moved to @dst, or the copy's error after putting the owners back.
 */
static int pp_finish_copy(struct pp_ctx *ctx, struct folio *src,
			  struct folio *dst, int want_refs)
{
	int ret, s = pp_idx(ctx, src), d = pp_idx(ctx, dst);
	unsigned int i;

	KUNIT_EXPECT_EQ(ctx->test, pp_refs(src), want_refs);
	KUNIT_EXPECT_TRUE(ctx->test, __pinpage_owner_copies(src));
	ret = __pinpage_copy_folio(src, dst);
	if (ret) {
		__pinpage_putback_folio(src, true);
		return ret;
	}
	__pinpage_migrate_folio(src, dst);
	/* The test's books: pins as pp_moved(), and the owners' references. */
	for (i = 0; i < ctx->nr_owners; i++) {
		if (ctx->owners[i].owner.ops != &pp_ref_ops)
			continue;
		ctx->refs[s] -= ctx->recs[i][s];
		ctx->refs[d] += ctx->recs[i][s];
		ctx->pins[s] += ctx->recs[i][s];	/* not pins: undone below */
		ctx->pins[d] -= ctx->recs[i][s];
	}
	pp_moved(ctx, src, dst);
	__pinpage_putback_folio(dst, false);
	return 0;
}

/*
 * An owner that holds plain references, as a kernel subsystem holds its own
 * pages, and copies the folio itself: alone on a folio that nobody pinned,
 * then next to a pin owner, each refusing in turn, then both agreeing.
 */
static void pinpage_test_references(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *r = pp_owner_new(ctx, &pp_ref_ops);
	struct pp_owner *p = pp_owner_new(ctx, &pp_ops);
	u32 *data;

	/* One reference, recorded: a value entry (cookie 0), not a pin. */
	pp_get(ctx, src);
	KUNIT_ASSERT_EQ(test, pp_add(ctx, r, src, 1), 0);
	r->cur = src;
	KUNIT_EXPECT_FALSE(test, folio_maybe_dma_pinned(src));
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_has_refs(src));
	/* Not a kind of folio such owners hold: migration would not look. */
	KUNIT_EXPECT_FALSE(test, pinpage_maybe_owned(src));
	data = kmap_local_folio(src, 0);
	data[0] = 0x5eed1234;
	kunmap_local(data);

	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, pp_finish_copy(ctx, src, dst, 1), 0);
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, folio_ref_count(src), 1);
	KUNIT_EXPECT_EQ(test, folio_ref_count(dst), 2);
	KUNIT_EXPECT_EQ(test, pp_pincount(dst), 0);
	KUNIT_EXPECT_PTR_EQ(test, r->cur, dst);
	KUNIT_EXPECT_EQ(test, r->nr_copy, 1);
	KUNIT_EXPECT_EQ(test, r->nr_migrate, 1);
	data = kmap_local_folio(dst, 0);
	KUNIT_EXPECT_EQ(test, data[0], 0x5eed1234);
	kunmap_local(data);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));

	/* A pin owner joins on dst: one node, a reference and a pin. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, p, dst, 1), 0);
	p->cur = dst;

	/* The copying owner cannot take its lock: nothing moves. */
	r->refuse_copy = -EAGAIN;
	pp_lock(ctx, dst, src);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, dst, src, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, pp_finish_copy(ctx, dst, src,
					     1 + pp_pin_refs(dst, 1)), -EAGAIN);
	pp_unlock(ctx, dst, src);
	r->refuse_copy = 0;
	KUNIT_EXPECT_EQ(test, folio_ref_count(dst), 2 + pp_pin_refs(dst, 1));
	KUNIT_EXPECT_PTR_EQ(test, r->cur, dst);
	KUNIT_EXPECT_EQ(test, p->nr_migrate, 0);

	/* The pin owner refuses: the copying owner is put back too. */
	p->refuse = -EBUSY;
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, dst, src, MIGRATE_SYNC), -EBUSY);
	p->refuse = 0;
	KUNIT_EXPECT_EQ(test, r->nr_copy, 2);

	/* Both agree: the reference and the pin follow the copy. */
	pp_lock(ctx, dst, src);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, dst, src, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, pp_finish_copy(ctx, dst, src,
					     1 + pp_pin_refs(dst, 1)), 0);
	pp_unlock(ctx, dst, src);
	KUNIT_EXPECT_EQ(test, folio_ref_count(dst), 1);
	KUNIT_EXPECT_EQ(test, folio_ref_count(src), 2 + pp_pin_refs(src, 1));
	KUNIT_EXPECT_EQ(test, pp_pincount(src), folio_test_large(src) ? 1 : 0);
	KUNIT_EXPECT_PTR_EQ(test, r->cur, src);
	KUNIT_EXPECT_PTR_EQ(test, p->cur, src);
	pp_expect_balanced(test, r);
	pp_expect_balanced(test, p);
	KUNIT_EXPECT_EQ(test, r->nr_isolated, 4);
	KUNIT_EXPECT_EQ(test, p->nr_isolate, 3);

	pp_unpin(ctx, p, src, 1);
	pp_drop(ctx, r, src, 1);
	pp_put(ctx, src);
	KUNIT_EXPECT_EQ(test, folio_ref_count(src), 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/* A pin that no owner recorded keeps the folio in place, asking nobody. */
static void pinpage_test_unowned_pin(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	pp_take(ctx, src, 1);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(src));

	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), -EBUSY);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, a->nr_isolate, 0);
	KUNIT_EXPECT_EQ(test, a->nr_putback, 0);
	pp_expect_pins(test, src, 2);

	/* Without it the folio moves (and dst was not left reserved). */
	pp_release(ctx, src, 1);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));

	/*
	 * An unowned pin that slips in after the owners were isolated (GUP-fast
	 * racing the unmap): the reference count check catches it.
	 */
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_take(ctx, src, 1);
	KUNIT_EXPECT_EQ(test, pp_finish(ctx, src, dst), PP_MISMATCH);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	pp_expect_pins(test, src, 2);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	pp_expect_balanced(test, a);
	pp_release(ctx, src, 1);

	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, dst, 1);
	pp_expect_balanced(test, a);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/*
 * A plain reference is no pin: pinpage isolates the owners, and leaves it to
 * the reference count check of the migration to fail.
 */
static void pinpage_test_extra_ref(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));
	pp_get(ctx, src);
	/* Compaction's hint does not take it: the count check would fail. */
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(src));
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC),
			PP_MISMATCH);
	KUNIT_EXPECT_EQ(test, a->nr_isolated, 1);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	KUNIT_EXPECT_PTR_EQ(test, a->putback_folio, src);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_EQ(test, folio_ref_count(src), 2 + pp_pin_refs(src, 1));
	pp_expect_pins(test, dst, 0);

	pp_put(ctx, src);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/*
 * Put @n new folios on the LRU and isolate them onto @list for a real
 * migrate_pages(), counted as isolate_folio_to_list() counts them.
 */
static bool pp_lru_list(struct kunit *test, struct folio **f, int n,
			struct list_head *list)
{
	int i;

	for (i = 0; i < n; i++)
		folio_add_lru(f[i]);
	lru_add_drain_all();
	for (i = 0; i < n; i++) {
		if (!folio_isolate_lru(f[i]))
			break;
		node_stat_mod_folio(f[i], NR_ISOLATED_ANON + folio_is_file_lru(f[i]),
				    folio_nr_pages(f[i]));
		list_add_tail(&f[i]->lru, list);
	}
	if (i < n) {
		putback_movable_pages(list);
		KUNIT_FAIL(test, "folio %d is not on the LRU", i);
		return false;
	}
	return true;
}

/* A get_new_folio callback for migrate_pages() that drops pins on the way. */
struct pp_dropper {
	struct pp_ctx *ctx;
	struct pp_owner *owner;
	struct folio *victim;	/* its pin goes when the second target is made */
	unsigned int targets;
	bool noio[8];		/* each target was made under PF_MEMALLOC_NOIO */
};

static struct folio *pp_target_dropping(struct folio *src, unsigned long private)
{
	struct pp_dropper *d = (struct pp_dropper *)private;

	/*
	 * migrate_pages() makes the targets of a batch one by one, each right
	 * before it isolates the owners of that folio: when the second one is
	 * made, the owners of the first folio have stepped aside.
	 */
	if (d->targets < ARRAY_SIZE(d->noio))
		d->noio[d->targets] = current->flags & PF_MEMALLOC_NOIO;
	if (d->targets++ == 1 && d->victim) {
		pp_unpin(d->ctx, d->owner, d->victim, 1);
		d->victim = NULL;
	}
	return folio_alloc(GFP_KERNEL | __GFP_NOWARN, 0);
}

/*
 * The only owner of a folio drops its pins after it was isolated, through
 * the real migrate_pages(): the migration must put the owner back (its busy
 * count falls, the folio is no longer isolated) although the folio looks
 * unowned by then.  Both folios keep an unexpected reference (the test's),
 * so neither moves; the point is the way back.
 */
static void pinpage_test_drop_between_unmap_and_move(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct folio *f[2] = { pp_folio(ctx, 0), pp_folio(ctx, 0) };
	struct pp_dropper d = { .ctx = ctx, .owner = a, .victim = f[0] };
	unsigned long deadline = jiffies + 5 * HZ;
	LIST_HEAD(list);

	/* With an owner of references alive the hooks look every folio up. */
	while (static_key_enabled(&pinpage_refs_in_use.key) &&
	       time_before(jiffies, deadline))
		msleep(50);
	KUNIT_ASSERT_FALSE_MSG(test, static_key_enabled(&pinpage_refs_in_use.key),
			       "an owner of references is still alive");

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, f[0], 1), 0);
	if (!pp_lru_list(test, f, 2, &list))
		return;
	/*
	 * migrate_pages() tries a batch in MIGRATE_ASYNC first: both targets
	 * are made before any count check, so the drop cannot come after the
	 * check (it would then wait for f[0], which this task holds locked).
	 */
	KUNIT_EXPECT_GT(test, migrate_pages(&list, pp_target_dropping, NULL,
					    (unsigned long)&d, MIGRATE_SYNC,
					    MR_SYSCALL, NULL), 0);
	putback_movable_pages(&list);

	KUNIT_EXPECT_NULL(test, d.victim);
	KUNIT_EXPECT_GE(test, a->nr_isolate, 1);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->owner.busy), 0);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(f[0]));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, f[0]));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, f[1]));
}

/*
 * Once migrate_pages() has isolated an owner, the owner's users wait until
 * the batch is over; one of them may serve the block device that reclaim
 * would write to.  So the targets made after that must be allocated without
 * I/O (PF_MEMALLOC_NOIO), and only those: the first target of the batch, the
 * targets of a batch without owners and the caller afterwards are not.
 */
static void pinpage_test_noio_while_isolated(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct folio *f[2] = { pp_folio(ctx, 0), pp_folio(ctx, 0) };
	struct pp_dropper d = { .ctx = ctx, .owner = a };
	LIST_HEAD(list);
	int i;

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, f[0], 1), 0);
	if (!pp_lru_list(test, f, 2, &list))
		return;
	/*
	 * The test's references keep both folios from moving: migrate_pages()
	 * makes the batch's two targets in MIGRATE_ASYNC, then retries each
	 * folio alone in MIGRATE_SYNC (one target each, f[0]'s owner isolated
	 * only after its target was made).
	 */
	KUNIT_EXPECT_GT(test, migrate_pages(&list, pp_target_dropping, NULL,
					    (unsigned long)&d, MIGRATE_SYNC,
					    MR_SYSCALL, NULL), 0);
	putback_movable_pages(&list);
	KUNIT_EXPECT_FALSE(test, current->flags & PF_MEMALLOC_NOIO);
	KUNIT_ASSERT_GE(test, d.targets, 2U);
	KUNIT_EXPECT_GE(test, a->nr_isolate, 1);
	KUNIT_EXPECT_FALSE_MSG(test, d.noio[0], "first target made without I/O");
	KUNIT_EXPECT_TRUE_MSG(test, d.noio[1],
			      "target made with I/O while an owner was isolated");
	for (i = 2; i < min_t(int, d.targets, ARRAY_SIZE(d.noio)); i++)
		KUNIT_EXPECT_FALSE_MSG(test, d.noio[i],
				       "target %d of a one-folio batch made without I/O", i);
	pp_expect_balanced(test, a);
	pp_unpin(ctx, a, f[0], 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, f[0]));
}

/*
 * Migration looks up folios without FOLL_PIN pins only where an owner of
 * references can hold them: pinpage's kernel pages (the kernel_page cases
 * move them through the real migration) and the folios of a mapping in which
 * such a reference was recorded.  Anonymous memory and other files' page
 * cache are not looked up, whatever owners exist.
 */
static void pinpage_test_refs_lookup_scope(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *r = pp_owner_new(ctx, &pp_ref_ops);
	struct folio *plain = pp_folio(ctx, 0), *f;
	struct file *file;

	KUNIT_ASSERT_TRUE(test, static_key_enabled(&pinpage_refs_in_use.key));
	KUNIT_EXPECT_FALSE(test, pinpage_refs_possible(plain));
	KUNIT_EXPECT_FALSE(test, pinpage_maybe_owned(plain));

	file = shmem_kernel_file_setup("pinpage_kunit", PAGE_SIZE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	f = shmem_read_folio(file->f_mapping, 0);
	if (IS_ERR(f)) {
		fput(file);
		KUNIT_FAIL(test, "shmem_read_folio: %ld", PTR_ERR(f));
		return;
	}
	KUNIT_EXPECT_FALSE(test, pinpage_refs_possible(f));
	KUNIT_EXPECT_FALSE(test, pinpage_maybe_owned(f));

	/* A recorded reference marks the mapping: its folios are looked up. */
	folio_get(f);
	KUNIT_EXPECT_EQ(test, pinpage_add(&r->owner, f, 1, 0), 0);
	KUNIT_EXPECT_TRUE(test, mapping_pinpage_refs(file->f_mapping));
	KUNIT_EXPECT_TRUE(test, pinpage_refs_possible(f));
	KUNIT_EXPECT_TRUE(test, pinpage_maybe_owned(f));
	pinpage_drop(&r->owner, f, 1);
	folio_put(f);
	KUNIT_EXPECT_TRUE(test, pinpage_refs_possible(f));
	KUNIT_EXPECT_FALSE(test, pinpage_maybe_owned(f));
	folio_put(f);
	fput(file);
}

/*
 * An owner that unpins before it drops its record leaves a record that no pin
 * backs: the folio is not moved (a pin taken later by someone else would read
 * as owned), and no owner is asked.
 */
static void pinpage_test_records_exceed_pins(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	pp_release(ctx, src, 1);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(src));
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), -EBUSY);
	KUNIT_EXPECT_EQ(test, a->nr_isolate, 0);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));

	/* Pinned again as recorded: it moves. */
	pp_take(ctx, src, 1);
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/* A record added after the isolation makes the reference count stale. */
static void pinpage_test_stale_records(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *d = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);

	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, pp_pin(ctx, d, src, 1), 0);
	KUNIT_EXPECT_EQ(test, pp_refs(src), -1);
	__pinpage_putback_folio(src, true);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);

	KUNIT_EXPECT_EQ(test, a->nr_putback, 1);
	KUNIT_EXPECT_PTR_EQ(test, a->putback_folio, src);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	KUNIT_EXPECT_EQ(test, d->nr_isolate, 0);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, d);
	pp_expect_pins(test, src, 2);
	pp_expect_pins(test, dst, 0);

	pp_unpin(ctx, d, src, 1);
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, d->nr_isolate, 0);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/* ->isolate() hook: the partner owner pins the folio meanwhile. */
static void pp_hook_add_partner(struct pp_owner *o, struct folio *folio)
{
	o->hook = NULL;
	KUNIT_EXPECT_EQ(o->ctx->test, pp_pin(o->ctx, o->partner, folio, 1), 0);
}

/* A record added while the owners are being isolated: -EAGAIN. */
static void pinpage_test_add_during_isolate(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *d = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);

	a->hook = pp_hook_add_partner;
	a->partner = d;
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), -EAGAIN);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(d), 1);
	/* a was put back; nobody was asked after the change. */
	KUNIT_EXPECT_EQ(test, a->nr_isolated, 1);
	KUNIT_EXPECT_EQ(test, b->nr_isolate, 0);
	KUNIT_EXPECT_EQ(test, d->nr_isolate, 0);
	pp_expect_balanced(test, a);
	pp_expect_pins(test, src, 3);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));

	/* All three move on the next attempt. */
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, b->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, d->nr_migrate, 1);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	pp_expect_balanced(test, d);
	pp_expect_pins(test, dst, 3);
	pp_unpin(ctx, a, dst, 1);
	pp_unpin(ctx, b, dst, 1);
	pp_unpin(ctx, d, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/*
 * ->isolate() hook: the owner forgets its pin just before it gets to the
 * migration's request, as an unpin racing with the migration would.
 */
static void pp_hook_drop_self(struct pp_owner *o, struct folio *folio)
{
	o->hook = NULL;
	pp_drop(o->ctx, o, folio, 1);
}

/* An owner that dropped its record before ->isolate(): -EAGAIN. */
static void pinpage_test_drop_during_isolate(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);

	b->hook = pp_hook_drop_self;
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), -EAGAIN);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	/* b agreed but had no record any more: it was put back alone. */
	KUNIT_EXPECT_EQ(test, b->nr_isolated, 1);
	KUNIT_EXPECT_EQ(test, b->nr_putback, 1);
	KUNIT_EXPECT_PTR_EQ(test, b->putback_folio, src);
	KUNIT_EXPECT_EQ(test, a->nr_isolated, 1);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(b), 0);

	/* b's pin goes after its record; a's record stays. */
	pp_release(ctx, src, 1);
	pp_expect_pins(test, src, 1);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(src));
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, b->nr_isolate, 1);
	KUNIT_EXPECT_EQ(test, b->nr_migrate, 0);
	pp_expect_balanced(test, a);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/*
 * The only record of the folio goes while its owner is asked: the migration
 * fails with -EAGAIN, ends cleanly and releases the destination.
 */
static void pinpage_test_last_drop_during_isolate(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	static const int answers[] = { 0, -EAGAIN };
	int r;

	/* The owner agrees (round 0) or is busy (round 1) after its drop. */
	for (r = 0; r < ARRAY_SIZE(answers); r++) {
		KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
		a->hook = pp_hook_drop_self;
		a->refuse = answers[r];
		pp_lock(ctx, src, dst);
		KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC),
				-EAGAIN);
		KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
		pp_unlock(ctx, src, dst);
		a->refuse = 0;
		KUNIT_EXPECT_EQ(test, a->nr_isolate, r + 1);
		pp_expect_balanced(test, a);
		KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
		pp_release(ctx, src, 1);
		pp_expect_pins(test, src, 0);
		KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
	}

	/* dst is free for the next migration. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	pp_expect_balanced(test, a);
}

/* Owners whose ->isolate() is not bounded need a pinnable destination. */
static void pinpage_test_needs_pinnable(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *folio = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *u = pp_owner_new(ctx, &pp_unbounded_ops);

	KUNIT_EXPECT_TRUE(test, pinpage_may_stay_movable(&a->owner));
	KUNIT_EXPECT_FALSE(test, pinpage_may_stay_movable(&u->owner));
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_needs_pinnable(folio));

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 1), 0);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_needs_pinnable(folio));
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, u, folio, 1), 0);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_needs_pinnable(folio));
	pp_unpin(ctx, a, folio, 1);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_needs_pinnable(folio));
	pp_unpin(ctx, u, folio, 1);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_needs_pinnable(folio));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));
}

/*
 * The isolate step refuses a ZONE_MOVABLE or CMA target for a folio whose
 * owners do not all bound their ->isolate() (the group boots with
 * movablecore=, so a movable allocation comes from ZONE_MOVABLE).
 */
static void pinpage_test_movable_target(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *src = pp_folio(ctx, 0), *dst;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *u = pp_owner_new(ctx, &pp_unbounded_ops);
	int nid;

	/* ZONE_MOVABLE may be on some nodes only. */
	for_each_online_node(nid) {
		dst = __folio_alloc_node(GFP_HIGHUSER_MOVABLE | __GFP_THISNODE |
					 __GFP_NOWARN, 0, nid);
		if (dst && !folio_is_longterm_pinnable(dst))
			break;
		if (dst)
			folio_put(dst);
		dst = NULL;
	}
	KUNIT_ASSERT_NOT_NULL_MSG(test, dst,
				  "no ZONE_MOVABLE target: boot with movablecore=");
	pp_add_folio(ctx, dst);

	/* A bounded owner alone may move there. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	__pinpage_putback_folio(src, true);
	pp_unlock(ctx, src, dst);

	/* With an unbounded owner too, nobody is asked and nothing is left. */
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, u, src, 1), 0);
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), -EBUSY);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, u->nr_isolate, 0);
	KUNIT_EXPECT_EQ(test, a->nr_isolate, 1);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	pp_unpin(ctx, u, src, 1);
	pp_unpin(ctx, a, src, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/*
 * An owner that drops its pin while it is isolated, as a teardown racing the
 * migration does, before the reference count check: the migration fails, the
 * owner still gets exactly one ->putback() and can be destroyed.
 */
static void pinpage_test_drop_while_isolated(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);
	pp_lock(ctx, src, dst);
	KUNIT_ASSERT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_unpin(ctx, b, src, 1);
	KUNIT_EXPECT_EQ(test, pp_finish(ctx, src, dst), PP_STALE);
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_isolated(src));
	pp_unlock(ctx, src, dst);

	KUNIT_EXPECT_EQ(test, b->nr_putback, 1);
	KUNIT_EXPECT_PTR_EQ(test, b->putback_folio, src);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->owner.busy), 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(b), 0);
	pp_expect_pins(test, src, 1);
	pinpage_owner_destroy(&b->owner);
	b->live = false;

	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, a, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/* The teardown thread of pinpage_test_drop_after_move(). */
struct pp_late_drop {
	struct pp_owner *o;
	struct folio *folio;
	struct completion done;
};

static int pp_late_drop_fn(void *data)
{
	struct pp_late_drop *d = data;

	/*
	 * What pinpage_unpin_user_pages() does with a page pointer it read
	 * before ->migrate() repointed it.
	 */
	pinpage_drop(&d->o->owner, d->folio, 1);
	pp_sim_unpin(d->folio, 1);
	complete(&d->done);
	return 0;
}

/*
 * The owner drops its pin on the old folio after the reference count check
 * and after the pins moved to the new one: pinpage_drop() waits for the
 * migration to end and hands the pin back to the old folio, where the owner
 * drops it.  No reference count goes wrong on either folio.
 */
static void pinpage_test_drop_after_move(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	unsigned int order = pp_param_order(test);
	struct folio *src = pp_folio(ctx, order), *dst = pp_folio(ctx, order);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_late_drop d = { .o = a, .folio = src };
	struct task_struct *task;
	int t = pp_idx(ctx, dst);

	init_completion(&d.done);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	pp_lock(ctx, src, dst);
	KUNIT_ASSERT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_ASSERT_EQ(test, folio_migrate_mapping(NULL, dst, src, 0), 0);
	__pinpage_migrate_folio(src, dst);
	pp_moved(ctx, src, dst);
	pp_expect_pins(test, dst, 1);

	task = kthread_run(pp_late_drop_fn, &d, "pinpage_kunit_drop");
	if (IS_ERR(task)) {
		__pinpage_putback_folio(dst, false);
		pp_unlock(ctx, src, dst);
		kunit_skip(test, "cannot start a thread");
	}
	/* The source is locked until the owners resume: the drop waits. */
	msleep(50);
	KUNIT_EXPECT_FALSE(test, completion_done(&d.done));
	__pinpage_putback_folio(dst, false);
	pp_unlock(ctx, src, dst);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&d.done, 10 * HZ), 0UL);
	/* The thread's pin is gone from both folios, and so is its record. */
	ctx->recs[pp_owner_idx(a)][t]--;
	ctx->pins[t]--;
	pp_expect_pins(test, src, 0);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_EQ(test, a->nr_putback, 1);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
	folio_clear_dirty(dst);
}

/* An owner destroyed with pins recorded leaves no record behind. */
static void pinpage_test_destroy_forgets(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *folio = pp_folio(ctx, 0), *big = pp_folio(ctx, 2);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, folio, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, big, 2), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, big, 1), 0);
	pinpage_owner_destroy(&a->owner);
	a->live = false;
	ctx->recs[pp_owner_idx(a)][pp_idx(ctx, folio)] = 0;
	ctx->recs[pp_owner_idx(a)][pp_idx(ctx, big)] = 0;
	/* a's pins are unowned now: they keep their folios in place. */
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, folio));
	KUNIT_EXPECT_FALSE(test, __pinpage_folio_movable(big));
	pp_release(ctx, big, 2);
	KUNIT_EXPECT_TRUE(test, __pinpage_folio_movable(big));
	pp_unpin(ctx, b, big, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, big));
}

/* A folio freed with records is reported, and the records go with it. */
static void pinpage_test_free_with_records(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	unsigned long *before, *after;
	struct folio *folio;
	struct page *page;

	if (!IS_ENABLED(CONFIG_DEBUG_VM))
		kunit_skip(test, "the check needs CONFIG_DEBUG_VM");
	before = kunit_kcalloc(test, NR_VM_EVENT_ITEMS, sizeof(*before), GFP_KERNEL);
	after = kunit_kcalloc(test, NR_VM_EVENT_ITEMS, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, after);
	folio = folio_alloc(GFP_KERNEL, 0);
	KUNIT_ASSERT_NOT_NULL(test, folio);
	page = &folio->page;

	/* An owner that unpins without dropping its record (its bug). */
	pp_sim_pin(folio, 1);
	KUNIT_ASSERT_EQ(test, pinpage_add(&a->owner, folio, 1, 0), 0);
	pp_sim_unpin(folio, 1);
	all_vm_events(before);
	folio_put(folio);
	all_vm_events(after);
	KUNIT_EXPECT_EQ(test, after[PINPAGE_STALE_FREED],
			before[PINPAGE_STALE_FREED] + 1);
	/* The records went with the page: a second look finds nothing. */
	__pinpage_check_free(page, 0);
	all_vm_events(before);
	KUNIT_EXPECT_EQ(test, before[PINPAGE_STALE_FREED],
			after[PINPAGE_STALE_FREED]);
	atomic_long_set(&a->owner.nr_pins, 0);
}

static int pp_destroy_fn(void *data)
{
	struct pp_destroyer *d = data;

	pinpage_owner_destroy(&d->o->owner);
	d->nr_putback = READ_ONCE(d->o->nr_putback);
	d->o->live = false;
	complete(&d->done);
	return 0;
}

/*
 * ->isolate() hook: the owner goes away.  It drops its record and has another
 * thread destroy it, which must wait until pinpage is done calling into it.
 */
static void pp_hook_destroy(struct pp_owner *o, struct folio *folio)
{
	struct pp_destroyer *d = &o->ctx->destroyer;
	struct task_struct *task;

	o->hook = NULL;
	pp_drop(o->ctx, o, folio, 1);
	d->o = o;
	task = kthread_create(pp_destroy_fn, d, "pinpage_kunit_destroy");
	if (IS_ERR(task))
		return;
	get_task_struct(task);
	d->task = task;
	wake_up_process(task);
	/* A sync migration allows ->isolate() a bounded sleep. */
	msleep(20);
	KUNIT_EXPECT_FALSE(o->ctx->test, completion_done(&d->done));
}

/* pinpage_owner_destroy() waits for a migration calling into the owner. */
static void pinpage_test_destroy_waits(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_destroyer *d = &ctx->destroyer;
	struct folio *src = pp_folio(ctx, 0), *dst = pp_folio(ctx, 0);
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);
	unsigned long left;

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, src, 1), 0);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, b, src, 1), 0);

	a->hook = pp_hook_destroy;
	pp_lock(ctx, src, dst);
	KUNIT_EXPECT_EQ(test, pp_isolate(ctx, src, dst, MIGRATE_SYNC), -EAGAIN);
	pp_unlock(ctx, src, dst);
	pp_release(ctx, src, 1);
	if (!d->task)
		kunit_skip(test, "cannot start a thread");

	left = wait_for_completion_timeout(&d->done, 10 * HZ);
	KUNIT_EXPECT_NE(test, left, 0UL);
	kthread_stop_put(d->task);
	d->task = NULL;
	/* The putback came before the destroy returned. */
	KUNIT_EXPECT_EQ(test, d->nr_putback, 1);
	KUNIT_EXPECT_EQ(test, a->nr_isolated, 1);
	KUNIT_EXPECT_FALSE(test, a->isolated);
	KUNIT_EXPECT_FALSE(test, a->live);
	pp_expect_balanced(test, b);

	/* The survivor moves alone. */
	KUNIT_EXPECT_EQ(test, pp_migrate(ctx, src, dst, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_EQ(test, b->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	pp_expect_pins(test, dst, 1);
	pp_unpin(ctx, b, dst, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
}

/* An isolation that keeps its owner busy for a while, then refuses. */
static void pp_hook_slow(struct pp_owner *o, struct folio *folio)
{
	msleep(20);
}

struct pp_hammer {
	struct folio *src, *dst;
	struct completion quiesced;
	struct pinpage_owner *owner;
	unsigned long attempts;
};

/* Try to isolate the owners of h->src, over and over, as a retrying offline. */
static int pp_hammer_fn(void *data)
{
	struct pp_hammer *h = data;

	while (!kthread_should_stop()) {
		folio_lock(h->src);
		folio_lock(h->dst);
		if (__pinpage_isolate_folio(h->src, h->dst, MIGRATE_SYNC) > 0)
			__pinpage_putback_folio(h->src, true);
		folio_unlock(h->dst);
		folio_unlock(h->src);
		h->attempts++;
		cond_resched();
	}
	return 0;
}

static int pp_quiesce_fn(void *data)
{
	struct pp_hammer *h = data;

	pinpage_owner_quiesce(h->owner);
	complete_all(&h->quiesced);
	return 0;
}

/*
 * A stream of isolation attempts, each of which keeps the owner busy for
 * 20 ms before it is refused (an io_uring buffer waiting for its requests),
 * must not starve pinpage_owner_quiesce(); and once it returns, no attempt
 * calls into the owner any more.
 */
static void pinpage_test_quiesce_not_starved(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ops);
	struct pp_hammer h = {
		.src = pp_folio(ctx, 0),
		.dst = pp_folio(ctx, 0),
		.owner = &a->owner,
	};
	struct task_struct *hammer, *quiescer;
	unsigned long left;
	int calls;

	KUNIT_ASSERT_EQ(test, pp_pin(ctx, a, h.src, 1), 0);
	a->hook = pp_hook_slow;
	a->refuse = -EAGAIN;
	init_completion(&h.quiesced);
	hammer = kthread_run(pp_hammer_fn, &h, "pp_hammer");
	if (IS_ERR(hammer))
		kunit_skip(test, "cannot start a thread");
	get_task_struct(hammer);
	msleep(100);
	quiescer = kthread_run(pp_quiesce_fn, &h, "pp_quiesce");
	if (IS_ERR(quiescer)) {
		kthread_stop_put(hammer);
		kunit_skip(test, "cannot start a thread");
	}
	left = wait_for_completion_timeout(&h.quiesced, 3 * HZ);
	KUNIT_EXPECT_NE_MSG(test, left, 0UL,
			    "quiesce starved for 3 s by %lu isolation attempts",
			    h.attempts);
	calls = a->nr_isolate;
	msleep(100);
	KUNIT_EXPECT_EQ_MSG(test, a->nr_isolate, calls,
			    "the owner was asked after quiesce returned");
	kthread_stop_put(hammer);
	/* Without the hammer, the quiesce ends in any case. */
	wait_for_completion(&h.quiesced);
	KUNIT_EXPECT_GT(test, h.attempts, 0UL);
	a->refuse = 0;
	a->hook = NULL;
	pp_unpin(ctx, a, h.src, 1);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, h.src));
}

/* ------------------------------------------------------------------------ */
/* Concurrency                                                              */
/* ------------------------------------------------------------------------ */

/*
 * An owner of the migrating folio: under its lock (which ->isolate() trylocks),
 * pin the folio once more and record it, as the owner and as its partner b,
 * then undo it all.  ->migrate() moves a->cur while the lock is held.
 */
static int pp_owner_thread(void *data)
{
	struct pp_thread *t = data;
	struct mutex *lock = t->a->lock;
	struct folio *folio;
	unsigned int i;

	for (i = 0; i < t->loops && !kthread_should_stop(); i++) {
		mutex_lock(lock);
		folio = READ_ONCE(t->a->cur);
		pp_sim_pin(folio, 2);
		if (!pinpage_add(&t->a->owner, folio, 1, 0)) {
			if (!pinpage_add(&t->b->owner, folio, 1, 0))
				pinpage_drop(&t->b->owner, folio, 1);
			else
				t->nomem++;
			pinpage_drop(&t->a->owner, folio, 1);
		} else {
			t->nomem++;
		}
		pp_sim_unpin(folio, 2);
		mutex_unlock(lock);
		t->done++;
		usleep_range(10, 30);
	}
	atomic_dec(&t->ctx->running);
	return 0;
}

/* One owner, two owners, a count of two, and back to nothing. */
static bool pp_churn_once(struct pinpage_owner *x, struct pinpage_owner *y,
			  struct folio *folio)
{
	bool ok = false;

	pp_sim_pin(folio, 3);
	if (pinpage_add(x, folio, 1, 0))
		goto out;
	if (pinpage_add(y, folio, 1, 0))
		goto drop_x;
	if (pinpage_add(x, folio, 1, 0))
		goto drop_y;
	pinpage_drop(x, folio, 1);
	ok = true;
drop_y:
	pinpage_drop(y, folio, 1);
drop_x:
	pinpage_drop(x, folio, 1);
out:
	pp_sim_unpin(folio, 3);
	return ok;
}

/* Owners of the neighbouring pages: records come and go in the same leaf. */
static int pp_churn_thread(void *data)
{
	struct pp_thread *t = data;
	struct pinpage_owner *x, *y;
	unsigned int i;

	for (i = 0; i < t->loops && !kthread_should_stop(); i++) {
		x = &t->a->owner;
		y = &t->b->owner;
		if (i & 2)
			swap(x, y);
		if (!pp_churn_once(x, y, t->folio[i & 1]))
			t->nomem++;
		t->done++;
		cond_resched();
	}
	atomic_dec(&t->ctx->running);
	return 0;
}

static int pp_start_thread(struct pp_thread *t, unsigned int id)
{
	struct task_struct *task;

	task = kthread_create(t->churn ? pp_churn_thread : pp_owner_thread, t,
			      "pinpage_kunit/%u", id);
	if (IS_ERR(task))
		return PTR_ERR(task);
	get_task_struct(task);
	t->task = task;
	wake_up_process(task);
	return 0;
}

/*
 * The folio of owner m and the owner threads migrates back and forth while
 * they pin and unpin it, and while the churn threads change records of the
 * PFN-adjacent pages.
 */
static void pinpage_test_migration_race(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct folio *block[1U << PP_RACE_BLOCK_ORDER], *src, *dst;
	int moved = 0, failed = 0, none = 0, stale = 0, mismatch = 0;
	unsigned long deadline;
	int attempts, ret;
	struct pp_thread *t;
	struct pp_owner *m;
	unsigned int i, j;

	/* The migrating pair, then two pages for each churn thread. */
	BUILD_BUG_ON(2 + 2 * PP_RACE_CHURN_THREADS >
		     1U << PP_RACE_BLOCK_ORDER);
	pp_folio_block(ctx, PP_RACE_BLOCK_ORDER, block);
	src = block[0];
	dst = block[1];

	m = pp_owner_new(ctx, &pp_ops);
	KUNIT_ASSERT_EQ(test, pp_pin(ctx, m, src, 1), 0);
	m->cur = src;
	for (i = 0; i < PP_RACE_THREADS; i++) {
		t = &ctx->threads[i];
		t->ctx = ctx;
		t->a = pp_owner_new(ctx, &pp_ops);
		t->b = pp_owner_new(ctx, &pp_ops);
		if (i < PP_RACE_OWNER_THREADS) {
			t->a->lock = &t->a->mutex;
			t->b->lock = NULL;	/* b is asked while it changes */
			KUNIT_ASSERT_EQ(test, pp_pin(ctx, t->a, src, 1), 0);
			t->a->cur = src;
			t->loops = PP_RACE_OWNER_LOOPS;
		} else {
			j = i - PP_RACE_OWNER_THREADS;
			t->churn = true;
			t->folio[0] = block[2 + 2 * j];
			t->folio[1] = block[3 + 2 * j];
			t->loops = PP_RACE_CHURN_LOOPS;
		}
	}

	atomic_set(&ctx->running, PP_RACE_THREADS);
	for (i = 0; i < PP_RACE_THREADS; i++) {
		if (pp_start_thread(&ctx->threads[i], i)) {
			pp_stop_threads(ctx);
			kunit_skip(test, "cannot start thread %u", i);
		}
	}

	for (attempts = 0; attempts < PP_RACE_ATTEMPTS; attempts++) {
		if (moved >= PP_RACE_MIGRATIONS && !atomic_read(&ctx->running))
			break;
		ret = pp_migrate(ctx, src, dst,
				 attempts & 1 ? MIGRATE_ASYNC : MIGRATE_SYNC);
		if (ret == 1) {
			swap(src, dst);
			moved++;
		} else if (!ret) {
			none++;
		} else if (ret == PP_STALE) {
			stale++;
		} else if (ret == PP_MISMATCH) {
			mismatch++;
		} else {
			KUNIT_EXPECT_TRUE(test,
					  ret == -EAGAIN || ret == -EBUSY);
			failed++;
		}
		cond_resched();
	}
	/* Let the threads finish their loops, unless one hangs. */
	deadline = jiffies + 30 * HZ;
	while (atomic_read(&ctx->running) && time_before(jiffies, deadline))
		usleep_range(1000, 2000);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->running), 0);
	pp_stop_threads(ctx);

	/*
	 * m and a always have records.  b's records come and go while the
	 * migration runs (b takes no lock in ->isolate()), which makes some
	 * migrations fail as stale; none may fail the reference count check:
	 * records and pins always agree.
	 */
	KUNIT_EXPECT_EQ(test, none, 0);
	KUNIT_EXPECT_EQ(test, mismatch, 0);

	/* Quiet now: the next migration must succeed. */
	ret = pp_migrate(ctx, src, dst, MIGRATE_SYNC);
	KUNIT_EXPECT_EQ(test, ret, 1);
	if (ret == 1) {
		swap(src, dst);
		moved++;
	}
	kunit_info(test, "%d migrations, %d failed (busy), %d stale, in %d attempts\n",
		   moved, failed, stale, attempts + 1);
	for (i = 0; i < PP_RACE_THREADS; i++) {
		t = &ctx->threads[i];
		if (t->nomem)
			kunit_info(test, "thread %u: %u of %u loops: -ENOMEM\n",
				   i, t->nomem, t->done);
	}

	pp_expect_balanced(test, m);
	KUNIT_EXPECT_EQ(test, m->nr_migrate, moved);
	KUNIT_EXPECT_PTR_EQ(test, m->cur, src);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(m), 1);
	for (i = 0; i < PP_RACE_THREADS; i++) {
		t = &ctx->threads[i];
		KUNIT_EXPECT_EQ(test, t->done, t->loops);
		pp_expect_balanced(test, t->a);
		pp_expect_balanced(test, t->b);
		KUNIT_EXPECT_EQ(test, pp_nr_pins(t->b), 0);
		KUNIT_EXPECT_EQ(test, t->b->nr_migrate, 0);
		if (t->churn) {
			KUNIT_EXPECT_EQ(test, pp_nr_pins(t->a), 0);
			KUNIT_EXPECT_EQ(test, t->a->nr_isolate, 0);
			KUNIT_EXPECT_EQ(test, t->b->nr_isolate, 0);
			for (j = 0; j < ARRAY_SIZE(t->folio); j++) {
				struct folio *folio = t->folio[j];

				pp_expect_pins(test, folio, 0);
				KUNIT_EXPECT_TRUE(test,
						  pp_no_records(ctx, folio));
			}
		} else {
			KUNIT_EXPECT_EQ(test, pp_nr_pins(t->a), 1);
			KUNIT_EXPECT_EQ(test, t->a->nr_migrate, moved);
			KUNIT_EXPECT_PTR_EQ(test, t->a->cur, src);
		}
	}

	pp_expect_pins(test, src, 1 + PP_RACE_OWNER_THREADS);
	pp_expect_pins(test, dst, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, dst));
	pp_unpin(ctx, m, src, 1);
	for (i = 0; i < PP_RACE_OWNER_THREADS; i++)
		pp_unpin(ctx, ctx->threads[i].a, src, 1);
	pp_expect_pins(test, src, 0);
	KUNIT_EXPECT_TRUE(test, pp_no_records(ctx, src));
}

/* ------------------------------------------------------------------------ */
/* Kernel pages                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Kernel pages (not on the LRU, not mapped) whose owners record references go
 * through the real migration path here: isolate_movable_page() and
 * migrate_pages(), as compaction, CMA and offlining call them.  The owner
 * holds the page's only reference (its allocation reference), as zsmalloc
 * does; the test folios of struct pp_ctx are not used, since the context's
 * own reference would be an unowned one.
 */
#define PP_KPAGE_MAGIC		0x6b706167U	/* "kpag" */

/* A kernel subsystem's owner whose pages the VM copies. */
static const struct pinpage_ops pp_kref_ops = {
	.name		= "pinpage_kunit_kref",
	.flags		= PINPAGE_BOUNDED_ISOLATE | PINPAGE_REFERENCES,
	.isolate	= pp_isolate_cb,
	.migrate	= pp_migrate_cb,
	.putback	= pp_putback_cb,
};

static void pp_kpage_fill(struct folio *folio, u32 seed)
{
	u32 *data = kmap_local_folio(folio, 0);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u32); i++)
		data[i] = PP_KPAGE_MAGIC ^ seed ^ i;
	kunmap_local(data);
}

static bool pp_kpage_intact(struct folio *folio, u32 seed)
{
	u32 *data = kmap_local_folio(folio, 0);
	unsigned int i;
	bool ok = true;

	for (i = 0; i < PAGE_SIZE / sizeof(u32) && ok; i++)
		ok = data[i] == (PP_KPAGE_MAGIC ^ seed ^ i);
	kunmap_local(data);
	return ok;
}

/*
 * A movable kernel page that @o holds with its allocation reference, recorded;
 * o->cur follows it.  Skips the test without memory.
 */
static struct folio *pp_kpage_new(struct kunit *test, struct pp_owner *o,
				  u32 seed)
{
	struct folio *folio;

	folio = folio_alloc(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, 0);
	if (!folio)
		kunit_skip(test, "no page");
	pp_kpage_fill(folio, seed);
	if (pinpage_add_gfp(&o->owner, folio, 1, 0, GFP_NOWAIT)) {
		folio_put(folio);
		kunit_skip(test, "no memory for the record");
	}
	folio_lock(folio);
	pinpage_set_page_movable(&folio->page);
	folio_unlock(folio);
	o->cur = folio;
	return folio;
}

/* Free the page as its owner does: locked, not movable, record gone. */
static void pp_kpage_free(struct pp_owner *o)
{
	struct folio *folio = o->cur;

	folio_lock(folio);
	if (PageMovable(&folio->page))
		__ClearPageMovable(&folio->page);
	pinpage_drop_nowait(&o->owner, folio, 1);
	folio_unlock(folio);
	o->cur = NULL;
	folio_put(folio);
}

static struct folio *pp_kpage_target(struct folio *src, unsigned long private)
{
	return folio_alloc(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, 0);
}

/*
 * Isolate @folio as compaction does and migrate it in @mode; returns the
 * number of folios not migrated (0 or 1), or -EBUSY when it could not even be
 * isolated.
 */
static int pp_kpage_migrate(struct folio *folio, enum migrate_mode mode)
{
	unsigned int succeeded = 0;
	LIST_HEAD(list);
	int ret;

	if (!isolate_movable_page(&folio->page, ISOLATE_UNEVICTABLE))
		return -EBUSY;
	list_add(&folio->lru, &list);
	ret = migrate_pages(&list, pp_kpage_target, NULL, 0, mode,
			    MR_COMPACTION, &succeeded);
	if (ret)
		putback_movable_pages(&list);
	return ret;
}

/* One owner: the page moves, contents, reference and record follow it. */
static void pinpage_test_kernel_page_moves(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *c = pp_owner_new(ctx, &pp_ref_ops);
	struct pp_owner *v = pp_owner_new(ctx, &pp_kref_ops);
	struct folio *old_c, *old_v;

	old_c = pp_kpage_new(test, c, 1);
	old_v = pp_kpage_new(test, v, 2);
	KUNIT_EXPECT_TRUE(test, pinpage_page_movable(&old_c->page));

	/* The owner copies under its own lock. */
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(old_c, MIGRATE_SYNC), 0);
	KUNIT_EXPECT_PTR_NE(test, c->cur, old_c);
	KUNIT_EXPECT_EQ(test, c->nr_copy, 1);
	KUNIT_EXPECT_EQ(test, c->nr_migrate, 1);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(c->cur, 1));
	KUNIT_EXPECT_EQ(test, folio_ref_count(c->cur), 1);
	KUNIT_EXPECT_TRUE(test, pinpage_page_movable(&c->cur->page));
	KUNIT_EXPECT_EQ(test, pp_nr_pins(c), 1);
	pp_expect_balanced(test, c);

	/* The VM copies; asynchronous compaction moves it too. */
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(old_v, MIGRATE_ASYNC), 0);
	KUNIT_EXPECT_PTR_NE(test, v->cur, old_v);
	KUNIT_EXPECT_EQ(test, v->mode, MIGRATE_ASYNC);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(v->cur, 2));
	KUNIT_EXPECT_EQ(test, folio_ref_count(v->cur), 1);
	pp_expect_balanced(test, v);

	/* And again, from the new page. */
	old_v = v->cur;
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(old_v, MIGRATE_SYNC_LIGHT), 0);
	KUNIT_EXPECT_PTR_NE(test, v->cur, old_v);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(v->cur, 2));
	KUNIT_EXPECT_EQ(test, v->nr_migrate, 2);
	pp_expect_balanced(test, v);

	pp_kpage_free(c);
	pp_kpage_free(v);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(c), 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(v), 0);
}

/* An owner refuses: nothing moves, the others are put back on the page. */
static void pinpage_test_kernel_page_refused(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_kref_ops);
	struct pp_owner *b = pp_owner_new(ctx, &pp_ops);
	struct folio *folio = pp_kpage_new(test, a, 3);

	a->refuse = -EBUSY;
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_PTR_EQ(test, a->cur, folio);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(folio, 3));
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	KUNIT_EXPECT_FALSE(test, folio_test_isolated(folio));
	pp_expect_balanced(test, a);

	/*
	 * A second owner holds a pin and refuses with -EAGAIN: the first,
	 * asked first, agreed and is put back on the untouched page, after
	 * every retry.
	 */
	a->refuse = 0;
	pp_sim_pin(folio, 1);
	KUNIT_ASSERT_EQ(test, pinpage_add(&b->owner, folio, 1, 0), 0);
	b->cur = folio;
	b->refuse = -EAGAIN;
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_PTR_EQ(test, a->cur, folio);
	KUNIT_EXPECT_GT(test, a->nr_isolated, 0);
	KUNIT_EXPECT_GT(test, b->nr_isolate, 0);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	KUNIT_EXPECT_PTR_EQ(test, a->putback_folio, folio);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(folio, 3));
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1 + pp_pin_refs(folio, 1));

	/* Both agree: it moves with the reference and the pin. */
	b->refuse = 0;
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 0);
	KUNIT_EXPECT_PTR_NE(test, a->cur, folio);
	KUNIT_EXPECT_PTR_EQ(test, b->cur, a->cur);
	pp_expect_balanced(test, a);
	pp_expect_balanced(test, b);

	pinpage_drop(&b->owner, b->cur, 1);
	pp_sim_unpin(b->cur, 1);
	pp_kpage_free(a);
}

/*
 * A reference owner and a pin owner on one kernel page: both are asked, both
 * repoint, and the reference count check expects the reference and the pin.
 */
static void pinpage_test_kernel_page_ref_and_pin(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *r = pp_owner_new(ctx, &pp_ref_ops);
	struct pp_owner *p = pp_owner_new(ctx, &pp_ops);
	struct folio *folio = pp_kpage_new(test, r, 4), *dst;

	pp_sim_pin(folio, 2);
	KUNIT_ASSERT_EQ(test, pinpage_add(&p->owner, folio, 2, 7), 0);
	p->cur = folio;

	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 0);
	dst = r->cur;
	KUNIT_EXPECT_PTR_NE(test, dst, folio);
	KUNIT_EXPECT_PTR_EQ(test, p->cur, dst);
	KUNIT_EXPECT_EQ(test, p->cookie, 7);
	KUNIT_EXPECT_EQ(test, r->nr_copy, 1);
	KUNIT_EXPECT_EQ(test, r->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, p->nr_migrate, 1);
	KUNIT_EXPECT_EQ(test, folio_ref_count(dst), 1 + pp_pin_refs(dst, 2));
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(dst, 4));
	pp_expect_balanced(test, r);
	pp_expect_balanced(test, p);

	pinpage_drop(&p->owner, dst, 2);
	pp_sim_unpin(dst, 2);
	pp_kpage_free(r);
}

/*
 * A reference nobody recorded (a speculative folio_try_get(), say) fails the
 * reference count check: the owners are put back and nothing moved.
 */
static void pinpage_test_kernel_page_extra_ref(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ref_ops);
	struct folio *folio = pp_kpage_new(test, a, 5);

	folio_get(folio);
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 1);
	KUNIT_EXPECT_PTR_EQ(test, a->cur, folio);
	KUNIT_EXPECT_EQ(test, a->nr_copy, 0);
	KUNIT_EXPECT_EQ(test, a->nr_migrate, 0);
	KUNIT_EXPECT_GT(test, a->nr_isolated, 0);
	pp_expect_balanced(test, a);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 2);
	folio_put(folio);

	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 0);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(a->cur, 5));
	pp_kpage_free(a);
}

/*
 * A reference taken and put during the copy by someone the owner's lock lets
 * in (zsmalloc's lock_zspage() takes one on a page that the migration holds
 * locked, to wait for the unlock): the count stays live, so that it does not
 * read as a free page, and the page moves.
 */
static void pinpage_test_kernel_page_transient_ref(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ref_ops);
	struct folio *folio = pp_kpage_new(test, a, 6);

	a->ref_in_copy = true;
	KUNIT_EXPECT_EQ(test, pp_kpage_migrate(folio, MIGRATE_SYNC), 0);
	KUNIT_EXPECT_EQ(test, a->nr_copy, 1);
	KUNIT_EXPECT_EQ(test, a->nr_frozen, 0);
	KUNIT_EXPECT_PTR_NE(test, a->cur, folio);
	KUNIT_EXPECT_TRUE(test, pp_kpage_intact(a->cur, 6));
	KUNIT_EXPECT_EQ(test, folio_ref_count(a->cur), 1);
	pp_expect_balanced(test, a);
	pp_kpage_free(a);
}

/* The owner frees the page while it is isolated: no callback, no record. */
static void pinpage_test_kernel_page_freed_isolated(struct kunit *test)
{
	struct pp_ctx *ctx = test->priv;
	struct pp_owner *a = pp_owner_new(ctx, &pp_ref_ops);
	struct folio *folio = pp_kpage_new(test, a, 6);
	unsigned int succeeded = 0;
	LIST_HEAD(list);

	KUNIT_ASSERT_TRUE(test, isolate_movable_page(&folio->page,
						     ISOLATE_UNEVICTABLE));
	list_add(&folio->lru, &list);
	pp_kpage_free(a);
	KUNIT_EXPECT_EQ(test, migrate_pages(&list, pp_kpage_target, NULL, 0,
					    MIGRATE_SYNC, MR_COMPACTION,
					    &succeeded), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&list));
	KUNIT_EXPECT_EQ(test, a->nr_isolate, 0);
	KUNIT_EXPECT_EQ(test, pp_nr_pins(a), 0);
}

#if IS_BUILTIN(CONFIG_ZSMALLOC)
#define PP_ZS_OBJS	8
#define PP_ZS_SIZE	2048

/* A thread that keeps one zsmalloc object mapped for a while. */
struct pp_zs_mapper {
	struct zs_pool *pool;
	unsigned long handle;
	unsigned int hold_ms;	/* 0: until ->release, 10 s at most */
	bool release;
	struct completion mapped;
	ktime_t unmapped_at;
};

static int pp_zs_map_fn(void *data)
{
	struct pp_zs_mapper *m = data;
	ktime_t deadline;

	zs_map_object(m->pool, m->handle, ZS_MM_RO);
	complete(&m->mapped);
	/* zs_map_object() disabled preemption: spin, do not sleep. */
	if (m->hold_ms) {
		mdelay(m->hold_ms);
	} else {
		deadline = ktime_add_ms(ktime_get(), 10000);
		while (!READ_ONCE(m->release) &&
		       ktime_before(ktime_get(), deadline))
			cpu_relax();
	}
	WRITE_ONCE(m->unmapped_at, ktime_get());
	zs_unmap_object(m->pool, m->handle);
	return 0;
}

static struct page *pp_zs_page(struct zs_pool *pool, unsigned long handle)
{
	struct page *page;
	void *addr = zs_map_object(pool, handle, ZS_MM_RO);

	page = virt_to_page(addr);
	zs_unmap_object(pool, handle);
	return page;
}

static bool pp_zs_intact(struct zs_pool *pool, unsigned long *handles)
{
	unsigned int i, j;
	bool ok = true;
	u8 *addr;

	for (i = 0; i < PP_ZS_OBJS && ok; i++) {
		addr = zs_map_object(pool, handles[i], ZS_MM_RO);
		for (j = 0; j < PP_ZS_SIZE && ok; j++)
			ok = addr[j] == (u8)(i * 31 + j);
		zs_unmap_object(pool, handles[i]);
	}
	return ok;
}

/* Hold object 0 mapped from another CPU; returns when it is mapped. */
static struct task_struct *pp_zs_hold(struct pp_zs_mapper *m,
				      unsigned int hold_ms)
{
	struct task_struct *t;

	m->hold_ms = hold_ms;
	m->release = false;
	m->unmapped_at = 0;
	reinit_completion(&m->mapped);
	t = kthread_run(pp_zs_map_fn, m, "pp_zs_map");
	if (IS_ERR(t))
		return NULL;
	get_task_struct(t);
	wait_for_completion(&m->mapped);
	return t;
}

/*
 * zsmalloc: a page of a zspage with an object mapped (zs_map_object()) is
 * refused by an asynchronous migration, and waited for by a synchronous one,
 * which moves it once the object is unmapped; data and handles stay valid.
 */
static void pinpage_test_zsmalloc_mapped_object(struct kunit *test)
{
	unsigned long handles[PP_ZS_OBJS];
	struct pp_zs_mapper m = {};
	struct task_struct *t;
	struct zs_pool *pool;
	struct page *page;
	ktime_t done;
	unsigned int i, j;
	u8 *addr;
	int ret;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs: the object stays mapped on the other one");
	pool = zs_create_pool("pinpage_kunit");
	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (i = 0; i < PP_ZS_OBJS; i++) {
		handles[i] = zs_malloc(pool, PP_ZS_SIZE, GFP_KERNEL |
				       __GFP_HIGHMEM | __GFP_MOVABLE);
		KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(handles[i]));
		addr = zs_map_object(pool, handles[i], ZS_MM_WO);
		for (j = 0; j < PP_ZS_SIZE; j++)
			addr[j] = i * 31 + j;
		zs_unmap_object(pool, handles[i]);
	}
	m.pool = pool;
	m.handle = handles[0];
	init_completion(&m.mapped);

	/* Asynchronous: refused while mapped, so nothing waits in there. */
	page = pp_zs_page(pool, handles[0]);
	t = pp_zs_hold(&m, 0);
	KUNIT_ASSERT_NOT_NULL(test, t);
	ret = pp_kpage_migrate(page_folio(page), MIGRATE_ASYNC);
	KUNIT_EXPECT_EQ_MSG(test, ktime_to_ns(READ_ONCE(m.unmapped_at)), 0,
			    "the mapping ended before the migration: too slow to tell");
	KUNIT_EXPECT_EQ(test, ret, 1);
	WRITE_ONCE(m.release, true);
	kthread_stop_put(t);
	KUNIT_EXPECT_PTR_EQ(test, pp_zs_page(pool, handles[0]), page);

	/* Synchronous: waits for the unmap, then moves the page. */
	t = pp_zs_hold(&m, 300);
	KUNIT_ASSERT_NOT_NULL(test, t);
	ret = pp_kpage_migrate(page_folio(page), MIGRATE_SYNC);
	done = ktime_get();
	kthread_stop_put(t);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_NE(test, ktime_to_ns(m.unmapped_at), 0);
	KUNIT_EXPECT_TRUE(test, ktime_after(done, m.unmapped_at));
	KUNIT_EXPECT_PTR_NE(test, pp_zs_page(pool, handles[0]), page);
	KUNIT_EXPECT_TRUE(test, pp_zs_intact(pool, handles));

	for (i = 0; i < PP_ZS_OBJS; i++)
		zs_free(pool, handles[i]);
	zs_destroy_pool(pool);
}
#endif /* CONFIG_ZSMALLOC */

static struct kunit_case pinpage_test_cases[] = {
	KUNIT_CASE(pinpage_test_add_drop),
	KUNIT_CASE(pinpage_test_same_owner_twice),
	KUNIT_CASE(pinpage_test_cookies),
	KUNIT_CASE(pinpage_test_hooks_idle),
	KUNIT_CASE_PARAM(pinpage_test_several_owners, pp_order_gen_params),
	KUNIT_CASE(pinpage_test_owner_refuses),
	KUNIT_CASE(pinpage_test_owner_busy),
	KUNIT_CASE_PARAM(pinpage_test_transfer_counts, pp_order_gen_params),
	KUNIT_CASE_PARAM(pinpage_test_references, pp_order_gen_params),
	KUNIT_CASE_PARAM(pinpage_test_unowned_pin, pp_order_gen_params),
	KUNIT_CASE_PARAM(pinpage_test_extra_ref, pp_order_gen_params),
	KUNIT_CASE_PARAM(pinpage_test_records_exceed_pins, pp_order_gen_params),
	KUNIT_CASE(pinpage_test_drop_between_unmap_and_move),
	KUNIT_CASE(pinpage_test_noio_while_isolated),
	KUNIT_CASE(pinpage_test_refs_lookup_scope),
	KUNIT_CASE_SLOW(pinpage_test_quiesce_not_starved),
	KUNIT_CASE(pinpage_test_stale_records),
	KUNIT_CASE(pinpage_test_add_during_isolate),
	KUNIT_CASE(pinpage_test_drop_during_isolate),
	KUNIT_CASE(pinpage_test_last_drop_during_isolate),
	KUNIT_CASE(pinpage_test_needs_pinnable),
	KUNIT_CASE(pinpage_test_movable_target),
	KUNIT_CASE_PARAM(pinpage_test_drop_while_isolated, pp_order_gen_params),
	KUNIT_CASE_PARAM(pinpage_test_drop_after_move, pp_order_gen_params),
	KUNIT_CASE(pinpage_test_destroy_forgets),
	KUNIT_CASE(pinpage_test_free_with_records),
	KUNIT_CASE(pinpage_test_destroy_waits),
	KUNIT_CASE(pinpage_test_migration_race),
	KUNIT_CASE(pinpage_test_kernel_page_moves),
	KUNIT_CASE(pinpage_test_kernel_page_refused),
	KUNIT_CASE(pinpage_test_kernel_page_ref_and_pin),
	KUNIT_CASE(pinpage_test_kernel_page_extra_ref),
	KUNIT_CASE(pinpage_test_kernel_page_transient_ref),
	KUNIT_CASE(pinpage_test_kernel_page_freed_isolated),
#if IS_BUILTIN(CONFIG_ZSMALLOC)
	KUNIT_CASE_SLOW(pinpage_test_zsmalloc_mapped_object),
#endif
	{}
};

static struct kunit_suite pinpage_test_suite = {
	.name = "pinpage",
	.init = pp_test_init,
	.exit = pp_test_exit,
	.test_cases = pinpage_test_cases,
};

kunit_test_suite(pinpage_test_suite);

MODULE_DESCRIPTION("KUnit tests for pinpage");
MODULE_LICENSE("GPL");
