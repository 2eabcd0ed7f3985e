// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage: owner records for long-term pins, and the owner side of migration.
 *
 * Every folio that carries pins taken through the owner API has an entry in
 * pinpage_xa, indexed by the folio's PFN.  One owner holding one pin (the
 * common case) costs no allocation: the entry is the owner itself when the
 * owner's cookie for the folio is 0, and otherwise a value entry holding the
 * owner's id and the cookie.  Anything else is a tagged pointer to a struct
 * pinpage_node holding a record (owner, count, cookie) per owner.  Folios
 * without owned pins have no entry and cost nothing.
 *
 * Records come in two kinds, after their owner's ops: FOLL_PIN pins (what
 * GUP hands out; a small folio's pin is GUP_PIN_COUNTING_BIAS references)
 * and, for owners with %PINPAGE_REFERENCES, plain references (folio_get(),
 * as a kernel subsystem holds its own pages).  Every record knows its kind
 * (a value entry in a bit, a node record in a field, an owner pointer entry
 * is always a pin), so that lockless readers can count both without looking
 * at the owner; "pins" below means either kind where the kind does not matter.
 *
 * Lock order:
 *   folio lock (migration holds src and dst locked)
 *     owner's own locks (only trylocked inside callbacks, never waited on)
 *       pinpage_xa.xa_lock (IRQ-safe: the free path may check it from IRQ)
 *   pinpage_owners_lock (mutex): owner init/destroy and debugfs only.
 *
 * No callback runs under xa_lock.  Entries and nodes are changed only under
 * xa_lock; lockless readers (the compaction hint, debugfs) use RCU, only sum
 * counts and never dereference an owner, and may see a count that is a moment
 * old, which only makes a hint wrong, never a migration: migration decides
 * under xa_lock with the folio locked.  Owners are dereferenced only under
 * xa_lock (their records keep them alive: pinpage_owner_destroy() removes
 * any left) or while the migration holds them busy.
 *
 * A migration of one folio goes through these states of its node:
 *   migrating            owners being asked or isolated; a record change
 *                        sets ->changed, and the count check then fails;
 *   migrating+committed  the reference count check passed (it may still be
 *                        repeated): src's count must not change any more;
 *   migrating+moved      pins and records are on dst; src's slot still
 *                        points to the node until the owners are put back.
 * An owner that drops pins while it is isolated (teardown racing a
 * migration) is handled in pinpage_drop(): see there.
 */
#define pr_fmt(fmt) "pinpage: " fmt

#include <linux/debugfs.h>
#include <linux/jhash.h>
#include <linux/jump_label.h>
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/page-isolation.h>
#include <linux/pagemap.h>
#include <linux/pinpage.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/vmstat.h>
#include <linux/wait_bit.h>
#include <linux/xarray.h>

#define CREATE_TRACE_POINTS
#include <trace/events/pinpage.h>

#include "internal.h"

/**
 * struct pinpage_rec - pins of one owner on one folio
 * @owner: the owner.
 * @count: pins it holds on the folio (each page pinned once counts once).
 *	While @isolated, a record may stay with a count of zero: the owner
 *	dropped its pins during the migration and still gets its ->putback().
 * @cookie: the owner's cookie for its pins on the folio, given to its
 *	callbacks; %PINPAGE_COOKIE_MULTI once pins with different cookies
 *	were added.
 * @isolated: @owner agreed to the migration in progress (->isolate returned 0).
 * @refs: @count counts plain folio references, not FOLL_PIN pins (the owner
 *	has %PINPAGE_REFERENCES).
 */
struct pinpage_rec {
	struct pinpage_owner *owner;
	unsigned int count;
	u32 cookie;
	bool isolated;
	bool refs;
};

/**
 * struct pinpage_node - the owner list of a folio that needs more than a pointer
 * @rcu: frees the node after lockless readers are done.
 * @nr: records in use, @rec[0..nr-1].
 * @size: records allocated.
 * @migrating: owners are being isolated or are isolated for a migration.
 * @changed: records were added or dropped while @migrating, before
 *	@committed: the reference count check must fail.
 * @committed: the migration's reference count check passed; from now on
 *	nothing may change the reference count of the source.
 * @moved: the pins and records were moved to the folio at @dst_pfn.
 * @src_pfn: PFN of the folio being migrated.  After the records moved to
 *	the target, its slot keeps pointing at the node until the owners are
 *	put back, so that the old folio still reads as isolated while
 *	migration entries to it remain (see copy_nonpresent_pte()).
 * @dst_pfn: PFN of the migration target, whose xarray slot is reserved.
 * @csum: under CONFIG_DEBUG_VM, a hash of the source's contents taken at
 *	the reference count check, compared when the pins move: nothing may
 *	write to the source while its owners are isolated and it is unmapped.
 * @rec: the records.
 *
 * All fields are protected by pinpage_xa.xa_lock; @migrating, @committed,
 * @moved and @dst_pfn are only set and cleared by the migration that holds
 * the folio lock.
 */
struct pinpage_node {
	struct rcu_head rcu;
	unsigned short nr;
	unsigned short size;
	bool migrating;
	bool changed;
	bool committed;
	bool moved;
	unsigned long src_pfn;
	unsigned long dst_pfn;
#ifdef CONFIG_DEBUG_VM
	u32 csum;
#endif
	struct pinpage_rec rec[] __counted_by(size);
} __aligned(8);

/**
 * struct pinpage_kind - counters of the owners of one kind
 * @list: entry on pinpage_kinds, under pinpage_owners_lock.
 * @isolated: ->isolate() calls that agreed, since boot.
 * @refused: ->isolate() calls that refused (-EAGAIN included).
 * @migrated: records moved to a new folio by a migration.
 * @revoked: owners that lost %PINPAGE_BOUNDED_ISOLATE (owner_refused()).
 * @name: the kind, the owners' ops->name (a copy: owners may be modules).
 *
 * A kind stays once created: there are as many as there are pinpage_ops.
 */
struct pinpage_kind {
	struct list_head list;
	atomic_long_t isolated;
	atomic_long_t refused;
	atomic_long_t migrated;
	atomic_long_t revoked;
	char name[];
};

/*
 * An entry is an owner pointer, a value entry (owner id << 32 | cookie, with
 * PINPAGE_VALUE_REFS for a reference), or a node pointer with this bit set.
 */
#define PINPAGE_NODE_TAG	4UL
/* Owner ids fit below the kind bit of a value entry. */
#define PINPAGE_ID_MAX		((1U << 30) - 1)
#define PINPAGE_VALUE_REFS	BIT_ULL(62)
static_assert(__alignof__(struct pinpage_owner) > PINPAGE_NODE_TAG);
static_assert(__alignof__(struct pinpage_node) > PINPAGE_NODE_TAG);

static DEFINE_XARRAY_FLAGS(pinpage_xa, XA_FLAGS_LOCK_IRQ);
/* Owner ids, for value entries; an id lives as long as its owner. */
static DEFINE_XARRAY_ALLOC1(pinpage_owner_ids);
DEFINE_STATIC_KEY_DEFERRED_FALSE(pinpage_in_use, HZ);
/* Some owner records plain references: unpinned folios may be owned too. */
DEFINE_STATIC_KEY_DEFERRED_FALSE(pinpage_refs_in_use, HZ);
static int sysctl_pinpage_migrate __read_mostly = 1;
static LIST_HEAD(pinpage_owners);
static LIST_HEAD(pinpage_kinds);
static DEFINE_MUTEX(pinpage_owners_lock);
static atomic_long_t pinpage_nr_folios;
static atomic_long_t pinpage_nr_nodes;

/* ------------------------------------------------------------------------ */
/* Entries                                                                  */
/* ------------------------------------------------------------------------ */

static bool entry_is_node(void *entry)
{
	return !xa_is_value(entry) && ((unsigned long)entry & PINPAGE_NODE_TAG);
}

static bool owner_refs(struct pinpage_owner *owner)
{
	return owner->ops->flags & PINPAGE_REFERENCES;
}

/*
 * The entry for one pin of @owner with @cookie, or NULL if it needs a node:
 * a value entry holds the owner's id in its upper and the cookie in its lower
 * 32 bits, so it only exists on 64-bit.  A reference is always a value entry:
 * the pointer form has no room for the kind.
 */
static void *single_entry(struct pinpage_owner *owner, u32 cookie)
{
	bool refs = owner_refs(owner);

	if (!cookie && !refs)
		return owner;
#ifdef CONFIG_64BIT
	if (owner->id)
		return xa_mk_value((refs ? PINPAGE_VALUE_REFS : 0) |
				   (unsigned long)owner->id << 32 | cookie);
#endif
	return NULL;
}

static u32 value_id(void *entry)
{
	return upper_32_bits(xa_to_value(entry)) & PINPAGE_ID_MAX;
}

/* Is @entry the single record of one pin of @owner? */
static bool entry_is_single(void *entry, struct pinpage_owner *owner)
{
	if (xa_is_value(entry))
		return owner->id && value_id(entry) == owner->id;
	return entry == owner;
}

/*
 * The record behind a single-record @entry (not a node).  Under xa_lock: the
 * entry keeps its owner, and so the owner's id, alive.
 */
static struct pinpage_rec single_rec(void *entry)
{
	unsigned long v;

	if (!xa_is_value(entry))
		return (struct pinpage_rec){ .owner = entry, .count = 1 };
	v = xa_to_value(entry);
	return (struct pinpage_rec){
		.owner = xa_load(&pinpage_owner_ids, value_id(entry)),
		.count = 1,
		.cookie = lower_32_bits(v),
		.refs = v & PINPAGE_VALUE_REFS,
	};
}

static struct pinpage_node *entry_node(void *entry)
{
	return (void *)((unsigned long)entry & ~PINPAGE_NODE_TAG);
}

static void *node_entry(struct pinpage_node *node)
{
	return (void *)((unsigned long)node | PINPAGE_NODE_TAG);
}

static struct pinpage_node *node_alloc(unsigned int size, gfp_t gfp)
{
	struct pinpage_node *node;

	node = kzalloc(struct_size(node, rec, size), gfp);
	if (node) {
		node->size = size;
		atomic_long_inc(&pinpage_nr_nodes);
	}
	return node;
}

static void node_free(struct pinpage_node *node)
{
	atomic_long_dec(&pinpage_nr_nodes);
	kfree_rcu(node, rcu);
}

static struct pinpage_rec *node_find(struct pinpage_node *node,
				     struct pinpage_owner *owner)
{
	unsigned int i;

	for (i = 0; i < node->nr; i++)
		if (node->rec[i].owner == owner)
			return &node->rec[i];
	return NULL;
}

/* The entry at @xas, with a slot reserved for a migration read as empty. */
static void *slot_load(struct xa_state *xas)
{
	void *entry = xas_load(xas);

	return xa_is_zero(entry) ? NULL : entry;
}

/* What the records on one folio hold: FOLL_PIN pins and plain references. */
struct pinpage_counts {
	unsigned long pins;
	unsigned long refs;
};

/* Pins and references recorded on the folio behind @entry. */
static struct pinpage_counts entry_counts(void *entry)
{
	struct pinpage_counts c = {};
	struct pinpage_node *node;
	unsigned int i, nr, count;

	if (!entry)
		return c;
	if (xa_is_value(entry) && (xa_to_value(entry) & PINPAGE_VALUE_REFS)) {
		c.refs = 1;
		return c;
	}
	if (!entry_is_node(entry)) {
		c.pins = 1;
		return c;
	}
	node = entry_node(entry);
	nr = min(READ_ONCE(node->nr), node->size);
	for (i = 0; i < nr; i++) {
		count = READ_ONCE(node->rec[i].count);
		if (READ_ONCE(node->rec[i].refs))
			c.refs += count;
		else
			c.pins += count;
	}
	return c;
}

/*
 * References that the records @c hold on @folio: a pin as try_grab_folio()
 * takes it, and a reference as itself.
 */
static unsigned long counts_to_refs(struct folio *folio,
				    struct pinpage_counts c)
{
	return (folio_test_large(folio) ? c.pins :
		c.pins * GUP_PIN_COUNTING_BIAS) + c.refs;
}

/*
 * Records and counts agree (CONFIG_DEBUG_VM): a folio carries at least the
 * pins recorded on it, and pins and references hold references.
 */
static void check_counts(struct folio *folio, struct pinpage_counts c)
{
	if (!IS_ENABLED(CONFIG_DEBUG_VM) || (!c.pins && !c.refs))
		return;
	if (folio_test_large(folio))
		VM_WARN_ON_ONCE_FOLIO(atomic_read(&folio->_pincount) < c.pins,
				      folio);
	VM_WARN_ON_ONCE_FOLIO(folio_ref_count(folio) < counts_to_refs(folio, c),
			      folio);
}

/* Move the references of the owned pins and references @c from @from to @to. */
static void move_counts(struct folio *from, struct folio *to,
			struct pinpage_counts c)
{
	unsigned long refs = counts_to_refs(from, c);

	folio_ref_add(to, refs);
	folio_ref_sub(from, refs);
	if (!c.pins)
		return;
	if (folio_test_large(from)) {
		atomic_add(c.pins, &to->_pincount);
		atomic_sub(c.pins, &from->_pincount);
	}
	/* The per-node pin counters must balance where the pins are dropped. */
	node_stat_mod_folio(from, NR_FOLL_PIN_ACQUIRED, -(long)c.pins);
	node_stat_mod_folio(to, NR_FOLL_PIN_ACQUIRED, c.pins);
}

/* @count pins or references of @owner, as counts. */
static struct pinpage_counts owner_counts(struct pinpage_owner *owner,
					  unsigned int count)
{
	if (owner_refs(owner))
		return (struct pinpage_counts){ .refs = count };
	return (struct pinpage_counts){ .pins = count };
}

/*
 * Replace the entry at @xas (currently @old) by @new.  Only a store into an
 * empty slot can need memory; the caller retries after xas_nomem().
 */
static void entry_replace(struct xa_state *xas, void *old, void *new)
{
	xas_store(xas, new);
	if (xas_error(xas))
		return;
	if (!old && new)
		atomic_long_inc(&pinpage_nr_folios);
	else if (old && !new)
		atomic_long_dec(&pinpage_nr_folios);
	if (entry_is_node(old) && (!new || entry_node(new) != entry_node(old)))
		node_free(entry_node(old));
}

/* Store the smallest form of the node entry @entry at @xas. */
static void node_shrink(struct xa_state *xas, void *entry)
{
	struct pinpage_node *node = entry_node(entry);
	void *single;

	if (!node->nr) {
		entry_replace(xas, entry, NULL);
	} else if (node->nr == 1 && node->rec[0].count == 1) {
		single = single_entry(node->rec[0].owner, node->rec[0].cookie);
		if (single)
			entry_replace(xas, entry, single);
	}
}

/* Remove @rec from @node (lockless readers only sum counts). */
static void node_remove(struct pinpage_node *node, struct pinpage_rec *rec)
{
	*rec = node->rec[node->nr - 1];
	WRITE_ONCE(node->nr, node->nr - 1);
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * While migrating, the node may be reachable from both the old and the new
 * folio's slot (see struct pinpage_node): when it is replaced at @index,
 * repoint the other slot too.  Slots are replaced, so nothing is allocated.
 */
static void node_follow(struct pinpage_node *node, unsigned long index,
			void *old, void *new)
{
	unsigned long other = index == node->src_pfn ? node->dst_pfn : node->src_pfn;

	if (other != index && xa_load(&pinpage_xa, other) == old)
		__xa_store(&pinpage_xa, other, new, 0);
}

/* Add @count pins with @cookie to the record @rec of the same owner. */
static void rec_add(struct pinpage_rec *rec, unsigned int count, u32 cookie)
{
	rec->count += count;
	if (rec->cookie != cookie)
		rec->cookie = PINPAGE_COOKIE_MULTI;
}

/*
 * Add @count pins of @owner with @cookie to the entry at @xas.  Returns 0, or
 * -ENOMEM when a node of *@size records must be allocated without the lock
 * first.
 */
static int __pinpage_add(struct xa_state *xas, struct pinpage_owner *owner,
			 unsigned int count, u32 cookie,
			 struct pinpage_node **spare, unsigned int *size)
{
	void *old = slot_load(xas), *single;
	struct pinpage_node *node = entry_is_node(old) ? entry_node(old) : NULL;
	struct pinpage_node *new;
	struct pinpage_rec *rec;

	if (!old && count == 1) {
		single = single_entry(owner, cookie);
		if (single) {
			entry_replace(xas, NULL, single);
			return 0;
		}
	}
	if (node) {
		rec = node_find(node, owner);
		if (node->migrating) {
			/*
			 * No pin can be taken on an unmapped, checked folio;
			 * once the pins moved, owners that were put back may
			 * pin the new one.
			 */
			VM_WARN_ON_ONCE(node->committed &&
					!(node->moved &&
					  xas->xa_index == node->dst_pfn));
			node->changed = true;
		}
		if (rec) {
			VM_WARN_ON_ONCE(rec->isolated);
			rec_add(rec, count, cookie);
			return 0;
		}
	}
	/* A new record: build a larger node. */
	*size = node ? node->nr + 1 : (old ? 2 : 1);
	if (!*spare || (*spare)->size < *size)
		return -ENOMEM;
	new = *spare;
	if (node) {
		memcpy(new->rec, node->rec, node->nr * sizeof(node->rec[0]));
		new->nr = node->nr;
		new->migrating = node->migrating;
		new->changed = node->changed;
		new->committed = node->committed;
		new->moved = node->moved;
		new->src_pfn = node->src_pfn;
		new->dst_pfn = node->dst_pfn;
#ifdef CONFIG_DEBUG_VM
		new->csum = node->csum;
#endif
	} else if (old) {
		new->rec[0] = single_rec(old);
		new->nr = 1;
		if (new->rec[0].owner == owner) {
			rec_add(&new->rec[0], count, cookie);
			goto store;
		}
	}
	new->rec[new->nr++] = (struct pinpage_rec){
		.owner = owner, .count = count, .cookie = cookie,
		.refs = owner_refs(owner),
	};
store:
	entry_replace(xas, old, node_entry(new));
	if (xas_error(xas)) {
		/* Only an empty slot needs memory: the spare is used next time. */
		memset(new->rec, 0, new->size * sizeof(new->rec[0]));
		new->nr = 0;
		return 0;
	}
	*spare = NULL;
	if (node && node->migrating)
		node_follow(node, xas->xa_index, old, node_entry(new));
	return 0;
}

/*
 * __pinpage_add() needs a node of @size records: replace the spare by one,
 * allocated without the lock.
 */
static int spare_grow(struct pinpage_node **spare, unsigned int size,
		      gfp_t gfp)
{
	if (*spare)
		node_free(*spare);
	*spare = node_alloc(size, gfp);
	return *spare ? 0 : -ENOMEM;
}

/*
 * Migration looks up folios without FOLL_PIN pins only where an owner of
 * references can have records (pinpage_refs_possible()): kernel pages made
 * movable by pinpage, and page cache folios of mappings marked here.
 */
static void note_refs_mapping(struct pinpage_owner *owner, struct folio *folio)
{
	unsigned long mapping = (unsigned long)folio->mapping;

	if (owner_refs(owner) && mapping && !(mapping & PAGE_MAPPING_FLAGS))
		mapping_set_pinpage_refs((struct address_space *)mapping);
}

/**
 * pinpage_add() - record pins of an owner on a folio
 * @owner: the owner, initialised with pinpage_owner_init().
 * @folio: the folio; the caller already holds the @count pins.
 * @count: pins taken (one per page pinned).
 * @cookie: a number of the owner's choosing that its callbacks get for
 *	@folio, typically the index of its own reference to the folio.  Adding
 *	pins to a folio under another cookie makes it %PINPAGE_COOKIE_MULTI.
 *
 * Context: process context; may sleep to allocate memory.
 * Return: 0, or -ENOMEM (nothing recorded: the pins stay unowned, so the folio
 * is not migratable, as without pinpage).
 */
int pinpage_add(struct pinpage_owner *owner, struct folio *folio,
		unsigned int count, u32 cookie)
{
	might_sleep();
	return pinpage_add_gfp(owner, folio, count, cookie, GFP_KERNEL);
}
EXPORT_SYMBOL_GPL(pinpage_add);

/**
 * pinpage_add_gfp() - record pins of an owner on a folio, allocating with @gfp
 * @owner: the owner, initialised with pinpage_owner_init().
 * @folio: the folio; the caller already holds the @count pins.
 * @count: pins taken (one per page pinned).
 * @cookie: as for pinpage_add().
 * @gfp: how the records may allocate memory: the caller's own allocation
 *	flags will do (zone and placement modifiers are ignored), so that an
 *	owner that allocates pages under GFP_NOIO, in reclaim, or without
 *	direct reclaim records them in the same context.  One reference or pin
 *	per folio needs no memory beyond an XArray slot.
 *
 * Records use no memory cgroup charge: they are the VM's bookkeeping of the
 * folio, as struct page is.
 *
 * Context: any context but hard interrupt; may sleep if @gfp allows direct
 * reclaim.
 * Return: 0, or -ENOMEM (nothing recorded).
 */
int pinpage_add_gfp(struct pinpage_owner *owner, struct folio *folio,
		    unsigned int count, u32 cookie, gfp_t gfp)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(folio));
	struct pinpage_node *spare = NULL;
	unsigned int size = 0;
	unsigned long flags;
	int ret;

	if (WARN_ON_ONCE(!count || !owner->ops))
		return -EINVAL;
	if (owner->unrecorded)
		return 0;
	note_refs_mapping(owner, folio);
	gfp &= GFP_RECLAIM_MASK;
	might_sleep_if(gfpflags_allow_blocking(gfp));
	for (;;) {
		xas_lock_irqsave(&xas, flags);
		ret = __pinpage_add(&xas, owner, count, cookie, &spare, &size);
		if (!ret && !xas_error(&xas))
			check_counts(folio, entry_counts(slot_load(&xas)));
		xas_unlock_irqrestore(&xas, flags);
		if (ret == -ENOMEM) {
			if (spare_grow(&spare, size, gfp))
				return -ENOMEM;
			xas_reset(&xas);
			continue;
		}
		if (!xas_nomem(&xas, gfp))
			break;
	}
	if (spare)
		node_free(spare);
	ret = xas_error(&xas);
	if (!ret) {
		atomic_long_add(count, &owner->nr_pins);
		trace_pinpage_add(folio, owner, count);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(pinpage_add_gfp);

/* What __pinpage_drop() found. */
enum pinpage_drop_result {
	PINPAGE_DROPPED,	/* the record went down by the count */
	PINPAGE_NO_RECORD,	/* the owner holds fewer pins here */
	PINPAGE_IN_FLIGHT,	/* a checked migration is moving these pins */
};

/*
 * Drop @count pins of @owner from the entry at @xas.  For PINPAGE_IN_FLIGHT,
 * *@dst is the migration target, with a reference taken for the caller.
 */
static enum pinpage_drop_result __pinpage_drop(struct xa_state *xas,
					       struct pinpage_owner *owner,
					       unsigned int count,
					       struct folio **dst)
{
	void *old = slot_load(xas);
	struct pinpage_node *node;
	struct pinpage_rec *rec;

	if (old && entry_is_single(old, owner) && count == 1) {
		entry_replace(xas, old, NULL);
		return PINPAGE_DROPPED;
	}
	node = entry_is_node(old) ? entry_node(old) : NULL;
	rec = node ? node_find(node, owner) : NULL;
	if (!rec || rec->count < count)
		return PINPAGE_NO_RECORD;
	if (node->migrating) {
		/*
		 * The caller holds its pins on the folio at this index.  Until
		 * the count check, dropping them only fails the migration.
		 * After it, the source's count must not change, and after the
		 * move the pins are on the target: the caller waits for the
		 * migration to end.  At the target's index (an owner that
		 * already follows the new folio), the pins are there.
		 */
		if (node->committed && xas->xa_index == node->src_pfn &&
		    node->src_pfn != node->dst_pfn) {
			*dst = pfn_folio(node->dst_pfn);
			folio_get(*dst);
			return PINPAGE_IN_FLIGHT;
		}
		if (!node->committed)
			node->changed = true;
	}
	rec->count -= count;
	if (rec->count || rec->isolated)
		return PINPAGE_DROPPED;
	node_remove(node, rec);
	/* A migrating node stays, even empty: the migration ends it. */
	if (!node->migrating)
		node_shrink(xas, old);
	return PINPAGE_DROPPED;
}

/**
 * pinpage_drop() - forget pins of an owner on a folio
 * @owner: the owner.
 * @folio: the folio; the caller still holds the pins and drops them after.
 * @count: pins to forget, as given to pinpage_add().
 *
 * An owner should not drop pins while it is isolated for @folio (between a
 * successful ->isolate() and ->putback()), but teardown paths race with
 * migrations, so this is handled: before the migration's reference count
 * check, the drop makes that migration fail, or, once every owner dropped
 * every pin, lets it go on as the migration of an unowned folio, and the
 * owner still gets its ->putback(); after the check, pinpage_drop() waits until the migration is
 * over, and if the pins moved to a new folio meanwhile, it moves them back to
 * @folio, so that the caller can drop its pins on @folio as it intended.
 *
 * Context: process context; may sleep (only while a migration of @folio is
 * moving @owner's pins).  Not from the owner's own callbacks.
 */
void pinpage_drop(struct pinpage_owner *owner, struct folio *folio,
		  unsigned int count)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(folio));
	struct folio *cur = folio, *next, *again;
	enum pinpage_drop_result ret;

	might_sleep();
	if (owner->unrecorded)
		return;
	folio_get(folio);
	for (;;) {
		xas_set(&xas, folio_pfn(cur));
		xas_lock_irq(&xas);
		ret = __pinpage_drop(&xas, owner, count, &next);
		xas_unlock_irq(&xas);
		if (ret != PINPAGE_IN_FLIGHT)
			break;
		/* The migration holds @cur locked until its owners resume. */
		folio_wait_locked(cur);
		/* It is over: the pins stayed on @cur, or are on @next now. */
		xas_set(&xas, folio_pfn(cur));
		xas_lock_irq(&xas);
		ret = __pinpage_drop(&xas, owner, count, &again);
		xas_unlock_irq(&xas);
		if (ret == PINPAGE_IN_FLIGHT) {	/* and a new one began */
			folio_put(again);
			folio_put(next);
			continue;
		}
		if (ret == PINPAGE_DROPPED) {
			folio_put(next);
			break;
		}
		if (cur != folio)
			folio_put(cur);
		cur = next;
	}
	WARN_ONCE(ret == PINPAGE_NO_RECORD,
		  "dropping %u pins that %s does not hold\n", count,
		  owner->ops->name);
	if (cur != folio) {
		/* Give the caller its pins back where it will drop them. */
		if (ret == PINPAGE_DROPPED) {
			move_counts(cur, folio, owner_counts(owner, count));
			/* Their writes were copied: keep @cur's data saved. */
			set_page_dirty_lock(&cur->page);
		}
		folio_put(cur);
	}
	folio_put(folio);
	if (ret == PINPAGE_DROPPED) {
		atomic_long_sub(count, &owner->nr_pins);
		trace_pinpage_drop(folio, owner, count);
	}
}
EXPORT_SYMBOL_GPL(pinpage_drop);

/**
 * pinpage_drop_nowait() - forget pins of an owner on a folio no migration has
 * @owner: the owner.
 * @folio: the folio; the caller still holds the pins and drops them after.
 * @count: pins to forget, as given to pinpage_add().
 *
 * pinpage_drop() for an owner that knows no migration of @folio is moving its
 * pins: it holds @folio's lock (a migration holds it from the isolation of the
 * owners to their ->putback()), or never made @folio movable.  A kernel page's
 * owner calls it on its free path, under its own spinlocks.
 *
 * Context: any context but hard interrupt; never sleeps.
 */
void pinpage_drop_nowait(struct pinpage_owner *owner, struct folio *folio,
			 unsigned int count)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(folio));
	enum pinpage_drop_result ret;
	struct folio *dst = NULL;
	unsigned long flags;

	if (owner->unrecorded)
		return;
	xas_lock_irqsave(&xas, flags);
	ret = __pinpage_drop(&xas, owner, count, &dst);
	xas_unlock_irqrestore(&xas, flags);
	if (WARN_ONCE(ret == PINPAGE_IN_FLIGHT,
		      "%s drops pins that a migration is moving\n",
		      owner->ops->name)) {
		folio_put(dst);
		return;
	}
	WARN_ONCE(ret == PINPAGE_NO_RECORD,
		  "dropping %u pins that %s does not hold\n", count,
		  owner->ops->name);
	if (ret == PINPAGE_DROPPED) {
		atomic_long_sub(count, &owner->nr_pins);
		trace_pinpage_drop(folio, owner, count);
	}
}
EXPORT_SYMBOL_GPL(pinpage_drop_nowait);

/* The end of the run of pages[@i..] that lie in one folio. */
static unsigned long folio_run_end(struct page **pages, unsigned long i,
				   unsigned long nr)
{
	struct folio *folio = page_folio(pages[i]);

	while (++i < nr && page_folio(pages[i]) == folio)
		;
	return i;
}

/* Folios whose records pinpage_{add,drop}_pages() update under one lock hold. */
#define PINPAGE_BATCH	64

/**
 * pinpage_add_pages() - record pins of an owner on an array of pages
 * @owner: the owner, initialised with pinpage_owner_init().
 * @pages: pages the caller pinned (FOLL_PIN), one pin per entry; pages of
 *	one folio next to each other are recorded together.
 * @nr: number of entries.
 * @cookie: the cookie of the run that starts at @pages[0]; the run that
 *	starts at @pages[i] gets @cookie + i.
 *
 * Like pinpage_add() for each folio, with one record update per run of pages
 * in one folio and one lock round trip per batch of folios.
 *
 * Context: process context; may sleep to allocate memory.
 * Return: 0, or -ENOMEM: then nothing is recorded and the pins stay unowned.
 */
int pinpage_add_pages(struct pinpage_owner *owner, struct page **pages,
		      unsigned long nr, u32 cookie)
{
	XA_STATE(xas, &pinpage_xa, 0);
	struct pinpage_node *spare = NULL;
	unsigned long i = 0, j, added = 0;
	unsigned int size = 0, batch;
	struct folio *folio;
	int ret = 0;

	might_sleep();
	if (owner->unrecorded)
		return 0;
	while (i < nr) {
		xas_lock_irq(&xas);
		for (batch = 0; i < nr && batch < PINPAGE_BATCH; i = j, batch++) {
			folio = page_folio(pages[i]);
			j = folio_run_end(pages, i, nr);
			if (is_zero_folio(folio))
				continue;	/* never pinned, see try_grab_folio() */
			note_refs_mapping(owner, folio);
			xas_set(&xas, folio_pfn(folio));
			ret = __pinpage_add(&xas, owner, j - i, cookie + i,
					    &spare, &size);
			if (ret || xas_error(&xas))
				break;		/* retried after allocating */
			check_counts(folio, entry_counts(slot_load(&xas)));
			trace_pinpage_add(folio, owner, j - i);
			added += j - i;
		}
		xas_unlock_irq(&xas);
		if (ret == -ENOMEM) {
			if (spare_grow(&spare, size, GFP_KERNEL))
				break;
			ret = 0;
		} else if (xas_error(&xas) && !xas_nomem(&xas, GFP_KERNEL)) {
			ret = xas_error(&xas);
			break;
		}
		cond_resched();
	}
	if (spare)
		node_free(spare);
	atomic_long_add(added, &owner->nr_pins);
	if (ret) {
		pinpage_drop_pages(owner, pages, i);
		return ret;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(pinpage_add_pages);

/**
 * pinpage_drop_pages() - forget pins recorded by pinpage_add_pages()
 * @owner: the owner.
 * @pages: the pages, as recorded or as the owner's ->migrate() updated them.
 * @nr: number of entries.
 *
 * pinpage_drop() for each run of pages in one folio, with one lock round trip
 * per batch of folios; a run whose pins a migration is moving right now goes
 * through pinpage_drop() alone, which waits for it.  The caller still holds
 * the pins and drops them after.
 *
 * Context: process context; may sleep (see pinpage_drop()).
 */
void pinpage_drop_pages(struct pinpage_owner *owner, struct page **pages,
			unsigned long nr)
{
	XA_STATE(xas, &pinpage_xa, 0);
	enum pinpage_drop_result ret = PINPAGE_DROPPED;
	unsigned long i = 0, j = 0, dropped = 0;
	struct folio *folio = NULL, *dst;
	unsigned int batch;

	might_sleep();
	if (owner->unrecorded)
		return;
	while (i < nr) {
		xas_lock_irq(&xas);
		for (batch = 0; i < nr && batch < PINPAGE_BATCH; i = j, batch++) {
			folio = page_folio(pages[i]);
			j = folio_run_end(pages, i, nr);
			if (is_zero_folio(folio))
				continue;
			xas_set(&xas, folio_pfn(folio));
			ret = __pinpage_drop(&xas, owner, j - i, &dst);
			if (ret != PINPAGE_DROPPED)
				break;
			trace_pinpage_drop(folio, owner, j - i);
			dropped += j - i;
		}
		xas_unlock_irq(&xas);
		if (ret != PINPAGE_DROPPED) {
			if (ret == PINPAGE_IN_FLIGHT)
				folio_put(dst);
			/* The slow path waits, or warns about a missing record. */
			pinpage_drop(owner, folio, j - i);
			ret = PINPAGE_DROPPED;
			i = j;
		}
		cond_resched();
	}
	atomic_long_sub(dropped, &owner->nr_pins);
}
EXPORT_SYMBOL_GPL(pinpage_drop_pages);

/**
 * pinpage_unpin_user_pages() - drop owned pins taken by pinpage_pin_user_pages()
 * @owner: the owner that pinned the pages.
 * @pages: the pages, as pinpage_pin_user_pages() returned them, or as the
 *	owner's ->migrate() callbacks updated them since.
 * @nr_pages: number of pages.
 * @make_dirty: mark the pages dirty first, as unpin_user_pages_dirty_lock().
 *
 * Context: process context; may sleep (see pinpage_drop()).
 */
void pinpage_unpin_user_pages(struct pinpage_owner *owner,
			      struct page **pages, unsigned long nr_pages,
			      bool make_dirty)
{
	pinpage_drop_pages(owner, pages, nr_pages);
	unpin_user_pages_dirty_lock(pages, nr_pages, make_dirty);
}
EXPORT_SYMBOL_GPL(pinpage_unpin_user_pages);

/* ------------------------------------------------------------------------ */
/* Owners                                                                   */
/* ------------------------------------------------------------------------ */

/* The counters of the kind @name, created on first use; under pinpage_owners_lock. */
static struct pinpage_kind *kind_get(const char *name)
{
	struct pinpage_kind *kind;
	size_t len = strlen(name) + 1;

	list_for_each_entry(kind, &pinpage_kinds, list)
		if (!strcmp(kind->name, name))
			return kind;
	kind = kzalloc(struct_size(kind, name, len), GFP_KERNEL);
	if (!kind)
		return NULL;
	memcpy(kind->name, name, len);
	list_add_tail(&kind->list, &pinpage_kinds);
	return kind;
}

/**
 * pinpage_records_wanted() - would an owner made now record its pins?
 * @ops: the callbacks of the owner about to be made.
 *
 * With vm.pinpage_migrate at 0, owners of FOLL_PIN pins made from then on
 * record nothing, so that their pins cost what they cost without pinpage
 * (and stay where they are, unowned, after the switch goes back to 1).
 * Owners of references (%PINPAGE_REFERENCES: kernel pages, AIO rings) always
 * record: their pages moved before pinpage existed and still do.  An owner
 * with a cost of its own per use of its pins (io_uring counts requests in
 * flight) asks this before it makes itself an owner at all.
 *
 * Context: any context.
 * Return: true if an owner with @ops made now would record its pins.
 */
bool pinpage_records_wanted(const struct pinpage_ops *ops)
{
	return (ops->flags & PINPAGE_REFERENCES) ||
	       READ_ONCE(sysctl_pinpage_migrate);
}
EXPORT_SYMBOL_GPL(pinpage_records_wanted);

/**
 * pinpage_owner_init() - make an object a pin owner
 * @owner: the struct pinpage_owner embedded in the object.
 * @ops: its callbacks; must stay valid until pinpage_owner_destroy().
 *
 * If pinpage_records_wanted() is false for @ops, the owner records nothing
 * for its whole life: pinpage_add() and its kin succeed without recording,
 * the drops do nothing, and its pins never move.
 *
 * Context: process context; may sleep.
 */
void pinpage_owner_init(struct pinpage_owner *owner,
			const struct pinpage_ops *ops)
{
	owner->ops = ops;
	atomic_long_set(&owner->nr_pins, 0);
	atomic_set(&owner->busy, 0);
	owner->refused_first = 0;
	owner->refused_last = 0;
	atomic_set(&owner->revoked, 0);
	owner->closing = false;
	owner->unrecorded = !pinpage_records_wanted(ops);
	if (owner->unrecorded) {
		owner->id = 0;
		owner->kind = NULL;
		INIT_LIST_HEAD(&owner->list);
		return;
	}
	/* Without an id, single pins with a cookie take a node. */
	if (xa_alloc(&pinpage_owner_ids, &owner->id, owner,
		     XA_LIMIT(1, PINPAGE_ID_MAX), GFP_KERNEL))
		owner->id = 0;
	static_branch_deferred_inc(&pinpage_in_use);
	if (owner_refs(owner))
		static_branch_deferred_inc(&pinpage_refs_in_use);
	mutex_lock(&pinpage_owners_lock);
	owner->kind = kind_get(ops->name);
	list_add_tail(&owner->list, &pinpage_owners);
	mutex_unlock(&pinpage_owners_lock);
}
EXPORT_SYMBOL_GPL(pinpage_owner_init);

/* Remove every record of @owner; returns the pins they counted. */
static unsigned long owner_forget(struct pinpage_owner *owner)
{
	XA_STATE(xas, &pinpage_xa, 0);
	unsigned long pins = 0, seen = 0;
	struct pinpage_node *node;
	struct pinpage_rec *rec;
	void *entry;

	xas_lock_irq(&xas);
	xas_for_each(&xas, entry, ULONG_MAX) {
		if (entry_is_single(entry, owner)) {
			pins++;
			entry_replace(&xas, entry, NULL);
		} else if (entry_is_node(entry)) {
			node = entry_node(entry);
			rec = node_find(node, owner);
			/* No migration can be calling it: it is not busy. */
			if (rec && !rec->isolated) {
				pins += rec->count;
				node_remove(node, rec);
				if (!node->migrating)
					node_shrink(&xas, entry);
			}
		}
		if (++seen % XA_CHECK_SCHED)
			continue;
		xas_pause(&xas);
		xas_unlock_irq(&xas);
		cond_resched();
		xas_lock_irq(&xas);
	}
	xas_unlock_irq(&xas);
	return pins;
}

/**
 * pinpage_owner_quiesce() - end the migrations of an owner's folios
 * @owner: the owner, about to be torn down.
 *
 * For teardown: from the call on, migrations refuse @owner's folios without
 * calling its ->isolate(), for good; once it returns, no migration isolates,
 * moves or puts back @owner's folios, so the owner's own references to its
 * folios are stable and it can drop its pins with pinpage_drop() on the
 * folios it names.  Migrations that isolated @owner before are waited for;
 * that wait is as bounded as the migration.  Attempts to isolate the owner
 * that start meanwhile (a retrying offline, compaction) keep ->busy up for
 * a moment only, without a call into the owner, so they cannot starve the
 * wait.
 *
 * Context: process context; may sleep.  Not from the owner's callbacks.
 */
void pinpage_owner_quiesce(struct pinpage_owner *owner)
{
	WRITE_ONCE(owner->closing, true);
	/* Pairs with the barrier after ->busy goes up, before ->isolate(). */
	smp_mb();
	/* Acquire: the owner reads what ->migrate() wrote before busy fell. */
	wait_var_event(&owner->busy, !atomic_read_acquire(&owner->busy));
}
EXPORT_SYMBOL_GPL(pinpage_owner_quiesce);

/**
 * pinpage_owner_destroy() - end an owner's life
 * @owner: the owner, which should have dropped all its pins.
 *
 * Waits until no migration is still calling into @owner.  Records that the
 * owner left behind are removed, with an error message: the pins they stood
 * for stay unowned, so those folios can no longer move, but no record points
 * to the gone owner.
 *
 * Context: process context; may sleep.
 */
void pinpage_owner_destroy(struct pinpage_owner *owner)
{
	unsigned long left;

	if (owner->unrecorded)
		return;
	pinpage_owner_quiesce(owner);
	if (atomic_long_read(&owner->nr_pins)) {
		left = owner_forget(owner);
		pr_err("owner %s destroyed with %ld pins recorded; removed %lu\n",
		       owner->ops->name, atomic_long_read(&owner->nr_pins),
		       left);
		atomic_long_set(&owner->nr_pins, 0);
	}
	/* No value entry names the id any more. */
	if (owner->id)
		xa_erase(&pinpage_owner_ids, owner->id);
	mutex_lock(&pinpage_owners_lock);
	list_del(&owner->list);
	mutex_unlock(&pinpage_owners_lock);
	if (owner_refs(owner))
		static_branch_slow_dec_deferred(&pinpage_refs_in_use);
	static_branch_slow_dec_deferred(&pinpage_in_use);
}
EXPORT_SYMBOL_GPL(pinpage_owner_destroy);

static void owner_put(struct pinpage_owner *owner)
{
	if (atomic_dec_and_test(&owner->busy))
		wake_up_var(&owner->busy);
}

/* ------------------------------------------------------------------------ */
/* Migration                                                                */
/* ------------------------------------------------------------------------ */

static bool pinpage_enabled(void)
{
	return READ_ONCE(sysctl_pinpage_migrate);
}

/*
 * Does @owner bound its ->isolate()?  It says so with %PINPAGE_BOUNDED_ISOLATE
 * and keeps its word (owner_refused()).
 */
static bool owner_bounded(struct pinpage_owner *owner)
{
	return (owner->ops->flags & PINPAGE_BOUNDED_ISOLATE) &&
	       !atomic_read(&owner->revoked);
}

/* Whether pinpage_pin_user_pages() may leave @owner's pins in MOVABLE/CMA. */
bool pinpage_may_stay_movable(struct pinpage_owner *owner)
{
	/* An unrecorded owner's pins are plain ones: never there. */
	return pinpage_enabled() && !owner->unrecorded && owner_bounded(owner);
}

/*
 * Is @folio needed elsewhere?  Memory offlining and CMA (alloc_contig_range())
 * isolate the pageblocks of the range they empty, and no other migration does.
 * Racy (no zone->lock), as every reader of the migratetype outside the
 * allocator: a stale answer only shifts the moment owner_refused() acts.
 */
static bool folio_range_isolated(struct folio *folio)
{
	return is_migrate_isolate_page(&folio->page);
}

/*
 * @owner refused to step aside for a migration of @folio.  A bounded owner may
 * keep pins in ZONE_MOVABLE and CMA because it promised that nothing holds its
 * ->isolate() off for long; this is where that promise is checked.  A refusal
 * counts when an offline or a CMA allocation needs @folio
 * (folio_range_isolated()); the caller retries.  Once an owner's refusals of
 * such migrations have run for %PINPAGE_BOUND_MS, with no pause longer than
 * %PINPAGE_BOUND_GAP_MS and no such isolation agreed to in between
 * (owner_agreed()), it is treated as unbounded for good: its folios are
 * migrated only to targets outside ZONE_MOVABLE and CMA from then on (so the
 * next isolation it agrees to moves them out), and pinpage_pin_user_pages()
 * moves its new pins out first.  Racy updates of the two times only shift the
 * moment.
 */
static void owner_refused(struct pinpage_owner *owner, struct folio *folio)
{
	u64 now = get_jiffies_64(), first, last;

	if (!owner_bounded(owner) || !folio_range_isolated(folio))
		return;
	first = READ_ONCE(owner->refused_first);
	last = READ_ONCE(owner->refused_last);
	WRITE_ONCE(owner->refused_last, now);
	if (!first ||
	    time_after64(now, last + msecs_to_jiffies(PINPAGE_BOUND_GAP_MS))) {
		WRITE_ONCE(owner->refused_first, now);
		return;
	}
	if (time_before64(now, first + msecs_to_jiffies(PINPAGE_BOUND_MS)) ||
	    atomic_xchg(&owner->revoked, 1))
		return;
	count_vm_event(PINPAGE_BOUND_REVOKED);
	if (owner->kind)
		atomic_long_inc(&owner->kind->revoked);
	trace_pinpage_revoked(folio, owner, jiffies_to_msecs(now - first));
	pr_warn_ratelimited("%s owner held off an offline or CMA allocation for %u ms: its pins leave ZONE_MOVABLE and CMA\n",
			    owner->ops->name, jiffies_to_msecs(now - first));
}

/* @owner agreed to step aside for @folio: a run of refusals ends. */
static void owner_agreed(struct pinpage_owner *owner, struct folio *folio)
{
	if (READ_ONCE(owner->refused_first) && folio_range_isolated(folio))
		WRITE_ONCE(owner->refused_first, 0);
}

/*
 * Whether the migration core asks owners before moving @folio.  hugetlb
 * folios (unmap_and_move_huge_page()) and ZONE_DEVICE folios take paths
 * without the owner protocol: a pin on them can never be moved.
 */
bool pinpage_can_move(struct folio *folio)
{
	return !folio_test_hugetlb(folio) && !folio_is_zone_device(folio);
}

/*
 * References that @folio's mappings and page cache hold: none for a kernel
 * page (typed, or movable through movable_operations), which is in neither.
 */
static int base_refs(struct folio *folio)
{
	if (page_has_type(&folio->page) || __folio_test_movable(folio))
		return 0;
	return folio_expected_ref_count(folio);
}

/*
 * References of @folio beyond the caller's one, the mappings' and those of
 * the @owned pins and references (negative: fewer than the records say).
 */
static long refs_surplus(struct folio *folio, struct pinpage_counts owned)
{
	return folio_ref_count(folio) - base_refs(folio) - 1 -
	       (long)counts_to_refs(folio, owned);
}

/* Pins of a large folio beyond the @owned ones (0 for a small folio). */
static long pins_surplus(struct folio *folio, struct pinpage_counts owned)
{
	if (!folio_test_large(folio))
		return 0;
	return atomic_read(&folio->_pincount) - (long)owned.pins;
}

/*
 * Does @folio carry pins beyond the @owned ones that records explain?  Exact
 * for large folios (_pincount); for small ones, any surplus of a whole
 * GUP_PIN_COUNTING_BIAS over the references the caller, the mappings and the
 * owned pins and references account for.  Smaller surpluses are transient
 * references, which the migration's own count check deals with.
 */
static bool has_unowned_pins(struct folio *folio, struct pinpage_counts owned)
{
	if (folio_test_large(folio))
		return pins_surplus(folio, owned) > 0;
	return refs_surplus(folio, owned) >= (long)GUP_PIN_COUNTING_BIAS;
}

/*
 * Does @folio hold fewer pins or references than its records say?  Owners pin
 * before they record and drop the record before they unpin, so this means an
 * owner unpinned too early: a pin that someone else takes later would then
 * read as owned and move under its holder's DMA.
 */
static bool records_exceed_pins(struct folio *folio, struct pinpage_counts owned)
{
	return pins_surplus(folio, owned) < 0 || refs_surplus(folio, owned) < 0;
}

/*
 * The compaction hint (pinpage_folio_movable()): the caller holds one
 * reference, and the folio is worth isolating only if the mappings and the
 * records explain every other one, as the migration's count check will
 * demand.  A folio with an extra plain reference (a pipe buffer, an skb
 * fragment, a FOLL_GET user) would have its owners isolated, and their I/O
 * stalled, on every pass for a check that always fails.
 */
bool __pinpage_folio_movable(struct folio *folio)
{
	struct pinpage_counts owned;

	if (!pinpage_enabled())
		return false;
	rcu_read_lock();
	owned = entry_counts(xa_load(&pinpage_xa, folio_pfn(folio)));
	rcu_read_unlock();
	return (owned.pins || owned.refs) && !pins_surplus(folio, owned) &&
	       !refs_surplus(folio, owned);
}

/*
 * Is @folio, which has no FOLL_PIN pin, owned through references?  For the
 * migration hooks once an owner with %PINPAGE_REFERENCES exists: a lockless
 * look-up, which the hooks repeat under the lock before they act on it.
 */
bool __pinpage_folio_has_refs(struct folio *folio)
{
	bool ret;

	rcu_read_lock();
	ret = !!xa_load(&pinpage_xa, folio_pfn(folio));
	rcu_read_unlock();
	return ret;
}

bool __pinpage_folio_isolated(struct folio *folio)
{
	void *entry;
	bool ret;

	rcu_read_lock();
	entry = xa_load(&pinpage_xa, folio_pfn(folio));
	ret = entry_is_node(entry) && READ_ONCE(entry_node(entry)->migrating);
	rcu_read_unlock();
	return ret;
}

/* Owners of the folio behind @entry that copy it themselves (->copy). */
static unsigned int entry_copiers(void *entry)
{
	struct pinpage_node *node;
	unsigned int i, nr = 0;

	if (!entry_is_node(entry))
		return !!single_rec(entry).owner->ops->copy;
	node = entry_node(entry);
	for (i = 0; i < node->nr; i++)
		nr += !!node->rec[i].owner->ops->copy;
	return nr;
}

/* Do all owners of the folio behind @entry bound their ->isolate()? */
static bool entry_all_bounded(void *entry)
{
	struct pinpage_node *node;
	unsigned int i;

	if (!entry_is_node(entry))
		return owner_bounded(single_rec(entry).owner);
	node = entry_node(entry);
	for (i = 0; i < node->nr; i++)
		if (!owner_bounded(node->rec[i].owner))
			return false;
	return true;
}

bool __pinpage_folio_needs_pinnable(struct folio *folio)
{
	unsigned long flags;
	void *entry;
	bool ret;

	/* Under the lock: a record keeps its owner alive, RCU does not. */
	xa_lock_irqsave(&pinpage_xa, flags);
	entry = xa_load(&pinpage_xa, folio_pfn(folio));
	ret = entry && !entry_all_bounded(entry);
	xa_unlock_irqrestore(&pinpage_xa, flags);
	return ret;
}

/*
 * Start migrating @folio to @dst, under xa_lock: check that every pin on
 * @folio is owned, reserve @dst's slot for the records, and turn the entry into
 * a node that can carry the migration state.  Returns 1 when the owners must
 * now be isolated, 0 when @folio has no owned pins, or a negative errno.
 */
static int isolate_begin(struct xa_state *xas, struct folio *folio,
			 struct folio *dst)
{
	void *entry = slot_load(xas), *cur;
	struct pinpage_counts counts;
	struct pinpage_node *node;

	if (!entry)
		return 0;
	counts = entry_counts(entry);
	/*
	 * vm.pinpage_migrate=0 keeps pinned folios in place, as without
	 * pinpage; folios held by references alone moved before pinpage
	 * existed (AIO rings), and still do.
	 */
	if (!pinpage_enabled() && counts.pins)
		return 0;
	if (has_unowned_pins(folio, counts)) {
		count_vm_event(PINPAGE_UNOWNED_SKIPPED);
		trace_pinpage_unowned(folio);
		return -EBUSY;
	}
	if (records_exceed_pins(folio, counts)) {
		pr_warn_ratelimited("pfn %#lx holds fewer pins than its owners recorded (unpinned before the record was dropped?): not moving it\n",
				    folio_pfn(folio));
		return -EBUSY;
	}
	node = entry_is_node(entry) ? entry_node(entry) : NULL;
	if (WARN_ON_ONCE(node && node->migrating))
		return -EBUSY;
	/* Two owners cannot both copy under their own locks. */
	if (entry_copiers(entry) > 1)
		return -EBUSY;
	/* Pins of owners that may not bound ->isolate() stay out of MOVABLE/CMA. */
	if (!entry_all_bounded(entry) && !folio_is_longterm_pinnable(dst)) {
		count_vm_event(PINPAGE_TARGET_REFUSED);
		return -EBUSY;
	}
	if (!node) {
		node = node_alloc(1, GFP_NOWAIT | __GFP_NOWARN);
		if (!node)
			return -EAGAIN;
		node->rec[0] = single_rec(entry);
		node->nr = 1;
	}
	cur = __xa_cmpxchg(&pinpage_xa, folio_pfn(dst), NULL, XA_ZERO_ENTRY,
			   GFP_NOWAIT | __GFP_NOWARN);
	if (cur) {
		/* A free page with records would be a leak of ours. */
		WARN_ON_ONCE(!xa_is_err(cur));
		if (!entry_is_node(entry))
			node_free(node);
		return xa_is_err(cur) ? -EAGAIN : -EBUSY;
	}
	WRITE_ONCE(node->migrating, true);
	node->changed = false;
	node->committed = false;
	node->moved = false;
	node->src_pfn = folio_pfn(folio);
	node->dst_pfn = folio_pfn(dst);
	if (!entry_is_node(entry)) {
		xas_reset(xas);
		xas_store(xas, node_entry(node));	/* replaces: no allocation */
	}
	return 1;
}

/*
 * End the migration that @node (stored as @entry at @xas) describes: with
 * @failed, @folio is the untouched source; otherwise it is the new folio.
 * Under xa_lock.
 */
static void migration_end(struct xa_state *xas, struct pinpage_node *node,
			  void *entry, struct folio *folio, bool failed)
{
	if (failed)
		__xa_cmpxchg(&pinpage_xa, node->dst_pfn, XA_ZERO_ENTRY, NULL, 0);
	else
		__xa_cmpxchg(&pinpage_xa, node->src_pfn, entry, NULL, 0);
	WRITE_ONCE(node->migrating, false);
	node->changed = false;
	node->committed = false;
	node->moved = false;
	node->src_pfn = 0;
	node->dst_pfn = 0;
	xas_reset(xas);
	check_counts(folio, entry_counts(entry));
	node_shrink(xas, entry);
}

/*
 * Put back the owners of @folio isolated for a migration, and end it: with
 * @failed, @folio is the untouched source; otherwise it is the new folio.
 * The migration ends in the same xa_lock section that takes the last
 * isolated record, before that owner's ->putback() runs: one lock round trip
 * per owner.  The owner is kept alive by its busy count, not by the record.
 */
static void putback_owners(struct folio *folio, bool failed)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(folio));
	struct pinpage_owner *owner;
	struct pinpage_node *node;
	struct pinpage_rec *rec;
	bool last = false;
	void *entry;
	unsigned int i;
	u32 cookie;

	xas_lock_irq(&xas);
	while (!last) {
		xas_reset(&xas);
		entry = slot_load(&xas);
		if (WARN_ON_ONCE(!entry_is_node(entry))) {
			xas_unlock_irq(&xas);
			return;
		}
		node = entry_node(entry);
		for (i = 0, rec = NULL, last = true; i < node->nr; i++) {
			if (!node->rec[i].isolated)
				continue;
			if (rec) {
				last = false;
				break;
			}
			rec = &node->rec[i];
		}
		if (!rec) {
			migration_end(&xas, node, entry, folio, failed);
			xas_unlock_irq(&xas);
			break;
		}
		rec->isolated = false;
		owner = rec->owner;
		cookie = rec->cookie;
		/* It dropped all its pins while isolated: the record goes. */
		if (!rec->count)
			node_remove(node, rec);
		if (last)
			migration_end(&xas, node, entry, folio, failed);
		xas_unlock_irq(&xas);
		rcu_read_lock();	/* ->putback() must not sleep */
		owner->ops->putback(owner, folio, cookie);
		rcu_read_unlock();
		trace_pinpage_putback(folio, owner, failed);
		owner_put(owner);
		if (!last)
			xas_lock_irq(&xas);
	}
	if (failed)
		count_vm_event(PINPAGE_FAILED);
}

/* Ask @owner to step aside; in MIGRATE_ASYNC it may not sleep. */
static int owner_isolate(struct pinpage_owner *owner, struct folio *folio,
			 u32 cookie, enum migrate_mode mode)
{
	int ret;

	if (mode != MIGRATE_ASYNC)
		return owner->ops->isolate(owner, folio, cookie, mode);
	rcu_read_lock();
	ret = owner->ops->isolate(owner, folio, cookie, mode);
	rcu_read_unlock();
	return ret;
}

/**
 * __pinpage_isolate_folio() - ask every owner of @folio to step aside
 * @folio: the folio about to be unmapped for migration (locked, isolated).
 * @dst: the folio it will be copied to (locked).
 * @mode: the migration mode, passed to ->isolate().
 *
 * Return: 0 if @folio has no owned pins (migration goes on as without pinpage),
 * 1 if every owner is isolated (__pinpage_putback_folio() must follow), or a
 * negative errno: -EAGAIN to retry later, -EBUSY if some pin is not owned or
 * an owner refused.
 */
int __pinpage_isolate_folio(struct folio *folio, struct folio *dst,
			    enum migrate_mode mode)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(folio));
	struct pinpage_owner *owner;
	struct pinpage_node *node;
	struct pinpage_rec *rec;
	bool changed = false;
	unsigned int i;
	u32 cookie;
	int ret;

	xas_lock_irq(&xas);
	ret = isolate_begin(&xas, folio, dst);
	if (ret <= 0) {
		xas_unlock_irq(&xas);
		return ret;
	}

	/*
	 * xa_lock is held at the top of the loop: one round trip per owner.
	 * The node stays while migrating, even if all records go, but it may
	 * be replaced by a larger one: look it up again after each unlock.
	 */
	for (i = 0; ; i++) {
		xas_reset(&xas);
		node = entry_node(slot_load(&xas));
		changed = node->changed;
		if (changed || i >= node->nr) {
			xas_unlock_irq(&xas);
			break;
		}
		owner = node->rec[i].owner;
		cookie = node->rec[i].cookie;
		if (READ_ONCE(owner->closing)) {
			xas_unlock_irq(&xas);
			ret = -EAGAIN;
			break;
		}
		atomic_inc(&owner->busy);
		xas_unlock_irq(&xas);
		/* Pairs with pinpage_owner_quiesce(): it sees busy, or we closing. */
		smp_mb__after_atomic();
		if (unlikely(READ_ONCE(owner->closing))) {
			owner_put(owner);
			ret = -EAGAIN;
			break;
		}

		ret = owner_isolate(owner, folio, cookie, mode);
		trace_pinpage_isolate(folio, owner, ret);
		if (ret) {
			count_vm_event(PINPAGE_ISOLATE_REFUSED);
			if (owner->kind)
				atomic_long_inc(&owner->kind->refused);
			owner_refused(owner, folio);
			owner_put(owner);
			break;
		}
		owner_agreed(owner, folio);
		count_vm_event(PINPAGE_ISOLATE);
		if (owner->kind)
			atomic_long_inc(&owner->kind->isolated);
		xas_lock_irq(&xas);
		xas_reset(&xas);
		rec = node_find(entry_node(slot_load(&xas)), owner);
		if (!rec) {
			xas_unlock_irq(&xas);
			/* Dropped its record before ->isolate(): undo it alone. */
			rcu_read_lock();
			owner->ops->putback(owner, folio, cookie);
			rcu_read_unlock();
			owner_put(owner);
			changed = true;
			break;
		}
		rec->isolated = true;
	}
	if (ret || changed) {
		putback_owners(folio, true);
		return ret == -EAGAIN || !ret ? -EAGAIN : -EBUSY;
	}
	return 1;
}

#ifdef CONFIG_DEBUG_VM
static u32 folio_csum(struct folio *folio)
{
	unsigned long i, nr = folio_nr_pages(folio);
	u32 csum = 0;

	for (i = 0; i < nr; i++) {
		u32 *addr = kmap_local_folio(folio, i * PAGE_SIZE);

		csum = jhash2(addr, PAGE_SIZE / sizeof(u32), csum);
		kunmap_local(addr);
	}
	return csum;
}
#endif

/**
 * __pinpage_migration_refs() - references on @folio held by isolated owners
 * @folio: a folio being migrated, unmapped and locked by the caller.
 * @refs: set to the references that the owned pins hold, which the
 *	migration's reference count check must expect; 0 when pinpage has not
 *	isolated @folio.
 *
 * From this call on, pinpage_drop() by an isolated owner waits for the
 * migration instead of letting the owner change @folio's reference count.
 *
 * Return: false when the records changed after the owners were isolated: the
 * migration must fail whatever the count says.
 */
bool __pinpage_migration_refs(struct folio *folio, int *refs)
{
	struct pinpage_node *node;
#ifdef CONFIG_DEBUG_VM
	u32 csum;
#endif
	bool ret = true;
	unsigned long flags;
	void *entry;
	unsigned int i;

	*refs = 0;
#ifdef CONFIG_DEBUG_VM
	/* Hash outside the lock: the folio is unmapped and its owners isolated. */
	csum = __pinpage_folio_isolated(folio) ? folio_csum(folio) : 0;
#endif
	xa_lock_irqsave(&pinpage_xa, flags);
	entry = xa_load(&pinpage_xa, folio_pfn(folio));
	node = entry_is_node(entry) ? entry_node(entry) : NULL;
	if (node && node->migrating) {
		for (i = 0; i < node->nr; i++)
			if (!node->rec[i].isolated)
				node->changed = true;
		if (node->changed) {
			ret = false;
		} else {
			*refs = counts_to_refs(folio, entry_counts(entry));
#ifdef CONFIG_DEBUG_VM
			if (!node->committed)
				node->csum = csum;
#endif
			node->committed = true;
		}
	}
	xa_unlock_irqrestore(&pinpage_xa, flags);
	return ret;
}

/* The isolated owner of @folio that copies it, with its cookie, or NULL. */
static struct pinpage_owner *copier(struct folio *folio, u32 *cookie)
{
	struct pinpage_owner *owner = NULL;
	struct pinpage_node *node;
	unsigned long flags;
	unsigned int i;
	void *entry;

	xa_lock_irqsave(&pinpage_xa, flags);
	entry = xa_load(&pinpage_xa, folio_pfn(folio));
	node = entry_is_node(entry) ? entry_node(entry) : NULL;
	if (node && node->migrating && node->committed) {
		for (i = 0; i < node->nr && !owner; i++) {
			if (node->rec[i].isolated && node->rec[i].count &&
			    node->rec[i].owner->ops->copy) {
				owner = node->rec[i].owner;
				*cookie = node->rec[i].cookie;
			}
		}
	}
	xa_unlock_irqrestore(&pinpage_xa, flags);
	return owner;
}

/**
 * __pinpage_owner_copies() - does an owner of @folio copy it itself?
 * @folio: a folio being migrated, after __pinpage_migration_refs().
 *
 * Return: true when an isolated owner of @folio has a ->copy() callback: the
 * migration must not copy @folio, and calls __pinpage_copy_folio() at its
 * point of no return instead.
 */
bool __pinpage_owner_copies(struct folio *folio)
{
	u32 cookie;

	return copier(folio, &cookie);
}

/* Let @owner, the isolated copier of @src (see copier()), copy it to @dst. */
static int owner_copy(struct pinpage_owner *owner, u32 cookie,
		      struct folio *src, struct folio *dst)
{
	int ret;

	/* Isolated: the migration holds the owner busy, it stays alive. */
	ret = owner->ops->copy(owner, src, dst, cookie);
	trace_pinpage_copy(src, owner, ret);
	if (ret) {
		WARN_ON_ONCE(ret != -EAGAIN);
		return -EAGAIN;
	}
#ifdef CONFIG_DEBUG_VM
	{
		struct pinpage_node *node;
		unsigned long flags;
		u32 csum = folio_csum(src);

		/*
		 * src stays as it is from now on.  (dst may already differ:
		 * the owner's writers write to it once it repointed.)
		 */
		xa_lock_irqsave(&pinpage_xa, flags);
		node = entry_node(xa_load(&pinpage_xa, folio_pfn(src)));
		node->csum = csum;
		xa_unlock_irqrestore(&pinpage_xa, flags);
	}
#endif
	return 0;
}

/**
 * __pinpage_copy_folio() - let the owner that copies @src copy it to @dst
 * @src: the folio being migrated, locked.
 * @dst: the new folio, locked; if @src is in a mapping, the mapping points
 *	at @dst already (not uptodate yet), else nobody sees @dst yet.
 *
 * Called at the migration's point of no return (see ->copy()): it cannot
 * fail after this returns 0.  Process context, interrupts on, no spinlock
 * held by the migration.
 *
 * Return: 0 after the owner copied @src to @dst and repointed its own
 * references, or the owner's -EAGAIN (only for a folio without a mapping):
 * nothing changed, the migration fails.
 */
int __pinpage_copy_folio(struct folio *src, struct folio *dst)
{
	struct pinpage_owner *owner;
	u32 cookie = 0;

	owner = copier(src, &cookie);
	if (WARN_ON_ONCE(!owner))
		return -EAGAIN;
	return owner_copy(owner, cookie, src, dst);
}

/**
 * __pinpage_migrate_folio() - move owned pins and records from @src to @dst
 * @src: the old folio, unmapped, its contents copied to @dst (locked).
 * @dst: the new folio, not mapped yet (locked).
 *
 * Called after the reference count of @src was checked against
 * __pinpage_migration_refs().  Moves the pin references and every record to
 * @dst and lets each owner repoint to it.  The owners stay isolated until
 * __pinpage_putback_folio(@dst).
 */
void __pinpage_migrate_folio(struct folio *src, struct folio *dst)
{
	XA_STATE(xas, &pinpage_xa, folio_pfn(src));
	struct pinpage_owner *owner;
	struct pinpage_node *node;
	struct pinpage_counts counts;
	unsigned int i, nr;
	void *entry, *cur;
	u32 cookie = 0;
#ifdef CONFIG_DEBUG_VM
	u32 csum = __pinpage_folio_isolated(src) ? folio_csum(src) : 0;
#endif

	xas_lock_irq(&xas);
	entry = slot_load(&xas);
	node = entry_is_node(entry) ? entry_node(entry) : NULL;
	if (!node || !node->migrating) {
		xas_unlock_irq(&xas);
		return;
	}
	VM_WARN_ON_ONCE_FOLIO(node->moved || node->dst_pfn != folio_pfn(dst),
			      src);
	counts = entry_counts(entry);
	if (!node->committed) {
		/*
		 * Every owner dropped its pins after it was isolated, so the
		 * migration checked src's count as an unowned folio's: there
		 * are no pins to move and no owner to repoint, only the node,
		 * which stays until the owners are put back.
		 */
		WARN_ON_ONCE(counts.pins || counts.refs);
		node->moved = true;
		cur = __xa_store(&pinpage_xa, folio_pfn(dst), entry, 0);
		WARN_ON_ONCE(xa_is_err(cur));	/* the slot was reserved */
		xas_unlock_irq(&xas);
		return;
	}
#ifdef CONFIG_DEBUG_VM
	/* Nothing wrote to src since the count check: owners are isolated. */
	VM_WARN_ON_ONCE_FOLIO(node->csum != csum, src);
#endif
	check_counts(src, counts);
	move_counts(src, dst, counts);
	node->moved = true;
	/* src's slot stays until the owners resume: see struct pinpage_node. */
	cur = __xa_store(&pinpage_xa, folio_pfn(dst), entry, 0);
	WARN_ON_ONCE(xa_is_err(cur));	/* the slot was reserved */

	/*
	 * Every owner is isolated and the count check passed: records can
	 * only go down (pinpage_drop() waits for us), and isolated records
	 * stay in place.  Look the node up each time all the same: nothing
	 * here holds it.  ->migrate() runs in an RCU read-side section: it
	 * must not sleep.  xa_lock is held at the top of the loop.
	 */
	xas_set(&xas, folio_pfn(dst));
	for (i = 0; ; i++) {
		if (i)
			xas_lock_irq(&xas);
		xas_reset(&xas);
		node = entry_node(slot_load(&xas));
		nr = node->nr;
		owner = i < nr && node->rec[i].count ? node->rec[i].owner : NULL;
		if (owner)
			cookie = node->rec[i].cookie;
		xas_unlock_irq(&xas);
		if (i >= nr)
			break;
		if (!owner)
			continue;
		rcu_read_lock();
		owner->ops->migrate(owner, src, dst, cookie);
		rcu_read_unlock();
		if (owner->kind)
			atomic_long_inc(&owner->kind->migrated);
		/* A record added from now on pins @dst: it needs no ->migrate(). */
		if (i + 1 >= nr)
			break;
	}
	count_vm_event(PINPAGE_MIGRATED);
	trace_pinpage_migrate(src, dst, counts.pins + counts.refs, nr);
}

/**
 * __pinpage_putback_folio() - let the isolated owners of @folio resume
 * @folio: the new folio after a successful migration, or the untouched old one.
 * @failed: the migration did not happen.
 *
 * Does nothing when pinpage did not isolate @folio.  Caller holds the folio lock.
 */
void __pinpage_putback_folio(struct folio *folio, bool failed)
{
	if (__pinpage_folio_isolated(folio))
		putback_owners(folio, failed);
}

/**
 * __pinpage_check_free() - a page being freed must have no owner record
 * @page: the first page being freed.
 * @order: its order.
 *
 * Under CONFIG_DEBUG_VM, from free_pages_prepare(): records that outlive their
 * folio (an owner that unpinned without dropping, or a bug of ours) would make
 * the next folio at that PFN read as owned.  Report and remove them.
 */
void __pinpage_check_free(struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(page), last = pfn + (1UL << order) - 1;
	unsigned long flags, index = pfn;
	void *entry;

	rcu_read_lock();
	entry = xa_find(&pinpage_xa, &index, last, XA_PRESENT);
	rcu_read_unlock();
	if (likely(!entry))
		return;
	count_vm_event(PINPAGE_STALE_FREED);
	pr_err("freeing pfn %#lx (order %u) with owner records at pfn %#lx\n",
	       pfn, order, index);
	xa_lock_irqsave(&pinpage_xa, flags);
	for (index = pfn; index <= last; index++)
		if (__xa_erase(&pinpage_xa, index))
			atomic_long_dec(&pinpage_nr_folios);
	xa_unlock_irqrestore(&pinpage_xa, flags);
}

/* ------------------------------------------------------------------------ */
/* Kernel pages                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Kernel pages of owners (zsmalloc's zspages) are not on the LRU: compaction,
 * CMA and offlining find and isolate them through the movable_operations in
 * page->mapping, as every non-LRU movable page (isolate_movable_page()), and
 * migrate_folio_move() dispatches to them.  pinpage installs one set for all
 * its owners, so that this dispatch is the entry of the owner protocol for
 * kernel pages and not a protocol of its own: migrate_folio_unmap() asks the
 * owners of a kernel page to isolate as it does for a user folio
 * (pinpage_isolate_folio()), and pinpage_kernel_migrate() does the rest.
 */
static const struct movable_operations pinpage_kernel_mops;

/* Taken off for migration (page locked): is it still owned? */
static bool pinpage_kernel_isolate(struct page *page, isolate_mode_t mode)
{
	/* The owner drops its record under the page lock before freeing it. */
	return __pinpage_folio_has_refs(page_folio(page));
}

/*
 * Move the kernel page @srcp, whose owners all isolated, to @dstp: the
 * reference count check (the isolation reference and the owners' references
 * and pins), the copy (by the owner that copies, or here), the move of the
 * records with ->migrate() for each owner, and ->putback() on @dstp: a kernel
 * page has no mappings to restore in between.
 */
static int pinpage_kernel_migrate(struct page *dstp, struct page *srcp,
				  enum migrate_mode mode)
{
	struct folio *src = page_folio(srcp), *dst = page_folio(dstp);
	struct pinpage_owner *owner;
	u32 cookie = 0;
	int refs, ret;

	/* No owner isolated it: vm.pinpage_migrate=0 with pins on it. */
	if (!__pinpage_folio_isolated(src))
		return -EBUSY;
	if (!__pinpage_migration_refs(src, &refs))
		return -EAGAIN;
	/*
	 * The isolation reference (isolate_movable_page()) and the owners'.
	 * Compared, not frozen, as for an anonymous folio without a mapping:
	 * an owner may let others take a reference for a moment under its own
	 * lock, and a frozen count reads as a free page to them (zsmalloc's
	 * lock_zspage() takes one, under zspage->lock, on a page that the
	 * migration holds locked, to wait for the unlock).  Such references
	 * only wait.  One that nobody recorded and that is held at this point
	 * fails the migration; the page is in no page table and no mapping, so
	 * no new user can find it but through its owners, which are isolated.
	 */
	if (folio_ref_count(src) != 1 + refs)
		return -EAGAIN;
	/* The owner that copies, if any, looked up once. */
	owner = copier(src, &cookie);
	if (owner) {
		ret = owner_copy(owner, cookie, src, dst);
		if (ret)
			return ret;
	} else {
		folio_copy(dst, src);
	}
	__pinpage_migrate_folio(src, dst);
	if (PageMovable(srcp))
		__ClearPageMovable(srcp);
	__SetPageMovable(dstp, &pinpage_kernel_mops);
	__pinpage_putback_folio(dst, false);
	return MIGRATEPAGE_SUCCESS;
}

/* The owners were put back when the migration failed. */
static void pinpage_kernel_putback(struct page *page)
{
}

static const struct movable_operations pinpage_kernel_mops = {
	.isolate_page	= pinpage_kernel_isolate,
	.migrate_page	= pinpage_kernel_migrate,
	.putback_page	= pinpage_kernel_putback,
};

/**
 * pinpage_set_page_movable() - let compaction, CMA and offlining move a kernel page
 * @page: a page that a kernel subsystem allocated for itself (not on the LRU,
 *	not mapped into user space, not a slab page, order 0), on which its
 *	owners' records are in place (pinpage_add_gfp()).
 *
 * From now on the page moves through the owner protocol.  Before freeing the
 * page, its owner clears the state with __ClearPageMovable() and drops its
 * record (pinpage_drop_nowait()), both under the page lock.  Without
 * CONFIG_COMPACTION, non-LRU pages never move, and this does nothing.
 *
 * Context: @page locked.
 */
void pinpage_set_page_movable(struct page *page)
{
	VM_WARN_ON_ONCE_PAGE(PageLRU(page) || PageCompound(page) ||
			     page_mapped(page), page);
	VM_WARN_ON_ONCE_PAGE(!__pinpage_folio_has_refs(page_folio(page)), page);
	__SetPageMovable(page, &pinpage_kernel_mops);
}
EXPORT_SYMBOL_GPL(pinpage_set_page_movable);

/**
 * pinpage_page_movable() - is @page a kernel page that moves through pinpage?
 * @page: any page.
 *
 * Lockless, so only a hint unless the caller holds the page lock.
 */
bool pinpage_page_movable(struct page *page)
{
	return __PageMovable(page) &&
	       page_movable_ops(page) == &pinpage_kernel_mops;
}

/* ------------------------------------------------------------------------ */
/* Interfaces: sysctl and debugfs                                           */
/* ------------------------------------------------------------------------ */

static struct ctl_table pinpage_sysctl[] = {
	{
		.procname	= "pinpage_migrate",
		.data		= &sysctl_pinpage_migrate,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
};

static int owners_show(struct seq_file *m, void *v)
{
	struct pinpage_owner *owner;

	seq_puts(m, "# owner kind bounded pins\n");
	mutex_lock(&pinpage_owners_lock);
	list_for_each_entry(owner, &pinpage_owners, list)
		seq_printf(m, "%p %s %d %ld\n", owner, owner->ops->name,
			   owner_bounded(owner),
			   atomic_long_read(&owner->nr_pins));
	mutex_unlock(&pinpage_owners_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(owners);

static int kinds_show(struct seq_file *m, void *v)
{
	struct pinpage_owner *owner;
	struct pinpage_kind *kind;
	unsigned long owners, pins;

	seq_puts(m, "# kind owners pins isolated refused migrated revoked\n");
	mutex_lock(&pinpage_owners_lock);
	list_for_each_entry(kind, &pinpage_kinds, list) {
		owners = 0;
		pins = 0;
		list_for_each_entry(owner, &pinpage_owners, list) {
			if (owner->kind != kind)
				continue;
			owners++;
			pins += atomic_long_read(&owner->nr_pins);
		}
		seq_printf(m, "%s %lu %lu %ld %ld %ld %ld\n", kind->name, owners,
			   pins, atomic_long_read(&kind->isolated),
			   atomic_long_read(&kind->refused),
			   atomic_long_read(&kind->migrated),
			   atomic_long_read(&kind->revoked));
	}
	mutex_unlock(&pinpage_owners_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kinds);

/* The kinds of the owners of the folio behind @entry, under xa_lock. */
static void show_entry_kinds(struct seq_file *m, void *entry)
{
	struct pinpage_node *node;
	struct pinpage_rec rec;
	unsigned int i;

	if (!entry_is_node(entry)) {
		rec = single_rec(entry);
		seq_puts(m, rec.owner ? rec.owner->ops->name : "?");
		return;
	}
	node = entry_node(entry);
	for (i = 0; i < node->nr; i++)
		seq_printf(m, "%s%s", i ? "," : "",
			   node->rec[i].owner->ops->name);
	if (!node->nr)
		seq_puts(m, "-");
}

static int folios_show(struct seq_file *m, void *v)
{
	XA_STATE(xas, &pinpage_xa, 0);
	struct pinpage_counts c;
	unsigned long seen = 0;
	void *entry;

	seq_puts(m, "# pfn kinds pins refs\n");
	/* Under the lock: a record keeps its owner, and its name, alive. */
	xas_lock_irq(&xas);
	xas_for_each(&xas, entry, ULONG_MAX) {
		if (xa_is_zero(entry))
			continue;
		c = entry_counts(entry);
		seq_printf(m, "%#lx ", xas.xa_index);
		show_entry_kinds(m, entry);
		seq_printf(m, " %lu %lu\n", c.pins, c.refs);
		if (++seen % XA_CHECK_SCHED)
			continue;
		xas_pause(&xas);
		xas_unlock_irq(&xas);
		cond_resched();
		xas_lock_irq(&xas);
	}
	xas_unlock_irq(&xas);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(folios);

static int stats_show(struct seq_file *m, void *v)
{
	XA_STATE(xas, &pinpage_xa, 0);
	unsigned long leaves = 0, pins = 0, refs = 0, folios = 0;
	struct pinpage_counts c;
	struct xa_node *last = NULL;
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, ULONG_MAX) {
		if (xas_retry(&xas, entry) || xa_is_zero(entry))
			continue;
		folios++;
		c = entry_counts(entry);
		pins += c.pins;
		refs += c.refs;
		if (xas.xa_node != last) {
			leaves++;
			last = xas.xa_node;
		}
		if (folios % XA_CHECK_SCHED)
			continue;
		/* Millions of owned folios: let others run. */
		xas_pause(&xas);
		rcu_read_unlock();
		cond_resched();
		rcu_read_lock();
		last = NULL;
	}
	rcu_read_unlock();
	seq_printf(m, "migrate_enabled %d\n", pinpage_enabled());
	seq_printf(m, "owned_folios %lu\n", folios);
	seq_printf(m, "owned_pins %lu\n", pins);
	seq_printf(m, "owned_refs %lu\n", refs);
	seq_printf(m, "nodes %ld\n", atomic_long_read(&pinpage_nr_nodes));
	seq_printf(m, "xarray_leaves %lu\n", leaves);
	seq_printf(m, "bytes %lu\n", leaves * sizeof(struct xa_node) +
		   atomic_long_read(&pinpage_nr_nodes) *
		   kmalloc_size_roundup(struct_size_t(struct pinpage_node, rec, 2)));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int __init pinpage_init(void)
{
	struct dentry *dir;

	register_sysctl_init("vm", pinpage_sysctl);
	dir = debugfs_create_dir("pinpage", NULL);
	debugfs_create_file("owners", 0400, dir, NULL, &owners_fops);
	debugfs_create_file("stats", 0400, dir, NULL, &stats_fops);
	debugfs_create_file("kinds", 0400, dir, NULL, &kinds_fops);
	debugfs_create_file("folios", 0400, dir, NULL, &folios_fops);
	return 0;
}
late_initcall(pinpage_init);
