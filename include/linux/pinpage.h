/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinpage: migration of pages that are pinned long term by known owners.
 *
 * A subsystem that keeps pages pinned for a long time (a driver's DMA buffer, an
 * io_uring registered buffer, an AIO ring) embeds a struct pinpage_owner and pins
 * through pinpage_pin_user_pages() or records its pins with pinpage_add().  When the
 * VM wants such a page moved (compaction, CMA, memory offline, NUMA), it asks every
 * owner of the page to step aside, moves the page and hands every owner the new page.
 *
 * See Documentation/mm/pinpage.rst.
 */
#ifndef _LINUX_PINPAGE_H
#define _LINUX_PINPAGE_H

#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <linux/jump_label_ratelimit.h>
#include <linux/list.h>
#include <linux/migrate_mode.h>
#include <linux/mm_types.h>

struct pinpage_owner;

/* The owner's isolate callback completes in bounded time (see pinpage_ops.flags). */
#define PINPAGE_BOUNDED_ISOLATE		BIT(0)
/* The owner records plain folio references, not FOLL_PIN pins. */
#define PINPAGE_REFERENCES		BIT(1)

/*
 * How long a bounded owner may keep refusing the migration of folios that an
 * offline or a CMA allocation needs (their pageblock is isolated) before it
 * loses the privilege of %PINPAGE_BOUNDED_ISOLATE, and the longest pause
 * between two such refusals that still counts as one run of them.
 */
#define PINPAGE_BOUND_MS		5000
#define PINPAGE_BOUND_GAP_MS		1000

struct pinpage_kind;

/*
 * The cookie a callback gets when the owner recorded pins on one folio under
 * different cookies (see pinpage_add()): it has to find its references itself.
 */
#define PINPAGE_COOKIE_MULTI		U32_MAX

/**
 * struct pinpage_ops - callbacks of a pin owner
 * @name: short name of the owner kind, shown in debugfs and tracepoints.
 * @flags: %PINPAGE_BOUNDED_ISOLATE if nothing that user space controls can
 *	hold @isolate off: no lock it needs is ever held across a user-space
 *	fault, a sleep of unbounded length or I/O of unbounded duration, and
 *	no other owner that copies can share the owner's folios.  Only such
 *	owners may keep pins in ZONE_MOVABLE or CMA; the pins of other owners
 *	are moved out of those before they are taken, as for any FOLL_LONGTERM
 *	pin.  The VM checks the promise: an owner that keeps refusing an
 *	offline or a CMA allocation for %PINPAGE_BOUND_MS loses it.
 *	%PINPAGE_REFERENCES if what the owner records (pinpage_add()) are plain
 *	references it holds with folio_get() (a kernel subsystem's own pages)
 *	rather than FOLL_PIN pins; "pins" then means those references
 *	throughout; such an owner records with pinpage_add() or
 *	pinpage_add_pages(), not through pinpage_pin_user_pages().  Migration
 *	looks for such records only on kernel pages made movable with
 *	pinpage_set_page_movable() and on page cache folios whose mapping had
 *	a folio recorded while it was in the mapping (recording marks the
 *	mapping); records on other folios are not found.
 * @isolate: asked before the VM migrates @folio, of which the owner holds
 *	pins.  The owner stops new use of the folio and makes sure that no DMA
 *	or CPU access through its pins is in flight, then returns 0; until
 *	@putback it must not use the folio.  Called with @folio locked.  Return
 *	-EAGAIN for "busy, try again later", any other errno to refuse this
 *	migration; the VM then calls @putback on the owners already isolated.
 *	Isolations of one owner nest: one migrate_pages() batch may isolate
 *	many folios of the same owner before it moves any of them, and puts
 *	each back after it moved (or failed to move) it.  An owner that counts
 *	its isolations stops its users once per batch, at the first @isolate,
 *	and resumes them at the last @putback.
 * @migrate: the folio's contents have been copied to @dst and the pins moved
 *	to it; the owner repoints every reference it holds from @src (or its
 *	pages) to @dst (the page at the same index).  Both folios are locked.
 *	May not fail.  Not called for an owner that dropped all its pins on
 *	@src while it was isolated.
 * @putback: the migration of @folio is over: the owner resumes using
 *	@folio, which is the new folio after a successful migration and the
 *	untouched old one after a failure.  Called exactly once for each
 *	successful @isolate, with @folio locked, even if the owner dropped its
 *	pins on the folio meanwhile.  May not fail.
 * @copy: optional, for an owner that cannot stop every writer of @src in
 *	@isolate (one that writes from interrupt context under the owner's
 *	spinlock, say).  The VM then does not copy @src itself: at the
 *	migration's point of no return it calls @copy, which takes the owner's
 *	lock that excludes those writers, copies @src to @dst and repoints its
 *	own references to @dst before it drops the lock, so that no write is
 *	lost.  For a folio in a mapping that point is after the mapping was
 *	switched to @dst (still locked and not uptodate), outside the mapping's
 *	lock and with interrupts on; @copy must then return 0.  For other
 *	folios it runs with @src's references checked, and may return -EAGAIN
 *	when the owner's lock cannot be taken now (a trylock): the migration
 *	then fails and nothing changed.  Never sleeps; it may spin
 *	on a lock of the owner instead of trylocking it only if no holder of
 *	that lock ever sleeps or allocates memory while holding it.  @migrate is
 *	still called after a successful @copy.  At most one owner of a folio
 *	may copy it (the VM refuses a folio with two), and only folios that
 *	migrate through the generic migrate_folio() (filemap_migrate_folio(),
 *	folios without a mapping) or that are kernel pages (below) can be
 *	copied by their owner.
 *
 * Every callback gets the cookie the owner recorded its pins on the folio
 * with (pinpage_add(), pinpage_add_pages()), so that it can go from the folio
 * to its own reference without a search, or %PINPAGE_COOKIE_MULTI when it
 * recorded pins on the folio under different cookies.
 *
 * Kernel pages: a subsystem that allocates pages for itself (zsmalloc's
 * zspages) records its allocation reference (%PINPAGE_REFERENCES, with
 * pinpage_add_gfp() in the context it allocates in) and makes each page
 * movable with pinpage_set_page_movable().  Such pages are not on the LRU and
 * not mapped into user space; compaction, CMA and offlining isolate them
 * through the movable_operations that pinpage installs, and the migration
 * runs the same protocol as for user pages: ->isolate() for every owner,
 * the reference count check (one isolation reference plus what the records
 * hold; compared, not frozen, so that the owner may let others take a
 * reference for a moment under its lock), ->copy() or a plain copy,
 * ->migrate(), ->putback().  The owner that allocated the page sets up its
 * own metadata on @dst (page type, ->private) in ->copy() or ->migrate(); the
 * VM moves contents, references and records.  Before it frees such a page,
 * the owner takes the page lock, clears the movable state
 * (__ClearPageMovable()) and drops its record with pinpage_drop_nowait().
 *
 * Context of the callbacks (one rule, see Documentation/mm/pinpage.rst): they
 * run inside migration, which may be direct compaction in any task that
 * allocates memory (and may hold the owner's own locks), or the migration
 * that fork() waits for while it holds mmap_write_lock().  So no callback may
 * block on a lock (use a trylock and return -EAGAIN), allocate memory with
 * direct reclaim, take mmap_lock or a folio lock, or call pinpage_add() or
 * pinpage_drop().  @migrate and @putback never sleep; the VM calls them in an
 * RCU read-side critical section, so that a sleep is reported by lockdep.
 * @isolate never sleeps in %MIGRATE_ASYNC mode (it is called in an RCU
 * read-side critical section then, too); in the sync modes it may sleep to
 * wait for the owner's own in-flight I/O on @folio, for a bounded time.
 */
struct pinpage_ops {
	const char *name;
	unsigned int flags;
	int (*isolate)(struct pinpage_owner *owner, struct folio *folio,
		       u32 cookie, enum migrate_mode mode);
	void (*migrate)(struct pinpage_owner *owner, struct folio *src,
			struct folio *dst, u32 cookie);
	void (*putback)(struct pinpage_owner *owner, struct folio *folio,
			u32 cookie);
	int (*copy)(struct pinpage_owner *owner, struct folio *src,
		    struct folio *dst, u32 cookie);
};

/**
 * struct pinpage_owner - a holder of long-term pins, embedded in its object
 * @ops: the owner's callbacks.
 * @nr_pins: pins recorded for this owner, over all folios.
 * @busy: migrations currently calling into this owner; pinpage_owner_quiesce()
 *	and pinpage_owner_destroy() wait for it to drop to zero.
 * @id: a number that stands for the owner in a compact record (one pin with
 *	a cookie), or 0 when none could be allocated.
 * @list: entry on the list of live owners (debugfs), under pinpage_owners_lock.
 * @kind: counters of the owners with the same @ops->name (debugfs
 *	pinpage/kinds), or NULL when none could be allocated.
 * @refused_first: jiffies (64-bit) of the first refusal of the current run
 *	of refusals that held off an offline or a CMA allocation, or 0.
 * @refused_last: jiffies (64-bit) of the last such refusal.
 * @revoked: non-zero once the owner held such a migration off for
 *	%PINPAGE_BOUND_MS: it is treated as an owner without
 *	%PINPAGE_BOUNDED_ISOLATE from then on (see mm/pinpage.c).
 * @unrecorded: the owner was made while vm.pinpage_migrate was 0: it records
 *	nothing and nothing of it is tracked (see pinpage_records_wanted()).
 * @closing: set by pinpage_owner_quiesce(): migrations no longer ask the
 *	owner, they refuse its folios without calling ->isolate().
 *
 * Initialise with pinpage_owner_init() before the first pin and tear down with
 * pinpage_owner_destroy() after the last one is dropped.  The structure is
 * 8-byte aligned on every architecture: pinpage tags owner pointers with
 * bit 2.
 */
struct pinpage_owner {
	const struct pinpage_ops *ops;
	atomic_long_t nr_pins;
	atomic_t busy;
	u32 id;
	struct list_head list;
	struct pinpage_kind *kind;
	u64 refused_first;
	u64 refused_last;
	atomic_t revoked;
	bool unrecorded;
	bool closing;
} __aligned(8);

#ifdef CONFIG_PINPAGE

bool pinpage_records_wanted(const struct pinpage_ops *ops);
void pinpage_owner_init(struct pinpage_owner *owner,
			const struct pinpage_ops *ops);
void pinpage_owner_quiesce(struct pinpage_owner *owner);
void pinpage_owner_destroy(struct pinpage_owner *owner);
int pinpage_add(struct pinpage_owner *owner, struct folio *folio,
		unsigned int count, u32 cookie);
int pinpage_add_gfp(struct pinpage_owner *owner, struct folio *folio,
		    unsigned int count, u32 cookie, gfp_t gfp);
void pinpage_drop(struct pinpage_owner *owner, struct folio *folio,
		  unsigned int count);
void pinpage_drop_nowait(struct pinpage_owner *owner, struct folio *folio,
			 unsigned int count);
void pinpage_set_page_movable(struct page *page);
bool pinpage_page_movable(struct page *page);
int pinpage_add_pages(struct pinpage_owner *owner, struct page **pages,
		      unsigned long nr, u32 cookie);
void pinpage_drop_pages(struct pinpage_owner *owner, struct page **pages,
			unsigned long nr);
long pinpage_pin_user_pages(struct pinpage_owner *owner, unsigned long start,
			    unsigned long nr_pages, unsigned int gup_flags,
			    struct page **pages, u32 cookie);
long pinpage_pin_user_pages_unrecorded(const struct pinpage_ops *ops,
				       unsigned long start,
				       unsigned long nr_pages,
				       unsigned int gup_flags,
				       struct page **pages);
void pinpage_unpin_user_pages(struct pinpage_owner *owner,
			      struct page **pages, unsigned long nr_pages,
			      bool make_dirty);

extern struct static_key_false_deferred pinpage_in_use;
extern struct static_key_false_deferred pinpage_refs_in_use;
bool __pinpage_folio_isolated(struct folio *folio);

/*
 * For the rmap code: may this pinned anonymous folio lose PageAnonExclusive
 * while it is unmapped for migration?  Yes when pinpage isolated all its
 * owners; the migration's reference count check then catches any other pin.
 */
static inline bool pinpage_folio_isolated(struct folio *folio)
{
	return static_branch_unlikely(&pinpage_in_use.key) &&
	       __pinpage_folio_isolated(folio);
}

#else /* !CONFIG_PINPAGE */

#include <linux/mm.h>

static inline bool pinpage_records_wanted(const struct pinpage_ops *ops)
{
	return false;
}

static inline void pinpage_owner_init(struct pinpage_owner *owner,
				      const struct pinpage_ops *ops)
{
	owner->ops = ops;
}

static inline void pinpage_owner_quiesce(struct pinpage_owner *owner)
{
}

static inline void pinpage_owner_destroy(struct pinpage_owner *owner)
{
}

static inline int pinpage_add(struct pinpage_owner *owner,
			      struct folio *folio, unsigned int count,
			      u32 cookie)
{
	return 0;
}

static inline int pinpage_add_gfp(struct pinpage_owner *owner,
				  struct folio *folio, unsigned int count,
				  u32 cookie, gfp_t gfp)
{
	return 0;
}

static inline void pinpage_drop(struct pinpage_owner *owner,
				struct folio *folio, unsigned int count)
{
}

static inline void pinpage_drop_nowait(struct pinpage_owner *owner,
				       struct folio *folio, unsigned int count)
{
}

static inline void pinpage_set_page_movable(struct page *page)
{
}

static inline bool pinpage_page_movable(struct page *page)
{
	return false;
}

static inline int pinpage_add_pages(struct pinpage_owner *owner,
				    struct page **pages, unsigned long nr,
				    u32 cookie)
{
	return 0;
}

static inline void pinpage_drop_pages(struct pinpage_owner *owner,
				      struct page **pages, unsigned long nr)
{
}

static inline long pinpage_pin_user_pages(struct pinpage_owner *owner,
					  unsigned long start,
					  unsigned long nr_pages,
					  unsigned int gup_flags,
					  struct page **pages, u32 cookie)
{
	return pin_user_pages_fast(start, nr_pages, gup_flags | FOLL_LONGTERM,
				   pages);
}

static inline long pinpage_pin_user_pages_unrecorded(const struct pinpage_ops *ops,
						     unsigned long start,
						     unsigned long nr_pages,
						     unsigned int gup_flags,
						     struct page **pages)
{
	return pin_user_pages_fast(start, nr_pages, gup_flags | FOLL_LONGTERM,
				   pages);
}

static inline void pinpage_unpin_user_pages(struct pinpage_owner *owner,
					    struct page **pages,
					    unsigned long nr_pages,
					    bool make_dirty)
{
	unpin_user_pages_dirty_lock(pages, nr_pages, make_dirty);
}

static inline bool pinpage_folio_isolated(struct folio *folio)
{
	return false;
}

#endif /* CONFIG_PINPAGE */
#endif /* _LINUX_PINPAGE_H */
