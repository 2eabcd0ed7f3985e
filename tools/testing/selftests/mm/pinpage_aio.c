// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage_aio: AIO completion rings as pinpage owners.
 *
 * Every kioctx owns the references its ring_folios[] hold (owner kind
 * "aio_ring" in /sys/kernel/debug/pinpage/owners), so ring pages move under
 * move_pages(2), compaction, memory offlining and CMA allocation while I/O
 * completes into them, and are allocated from movable memory.  The I/O loop
 * keeps O_DIRECT reads and writes on a zram device and buffered ones on
 * tmpfs in flight, and O_DIRECT ones on null_blk, which completes them from a
 * timer (interrupt context, racing the ring copy), each with its own cookie;
 * every I/O must complete exactly once with its full length, every write to
 * zram and tmpfs must read back byte for byte, and
 * events are reaped alternately with io_getevents(2) and from the ring in
 * userspace (head/tail, the way user-space reapers do).
 *
 *  - ring_move_pages, ring_compaction, ring_offline, ring_cma: the loop runs
 *    while the ring's pages move; every ring page must change PFN (compaction:
 *    one).  For compaction, offlining and CMA the ring is placed first: pages
 *    faulted until enough lie where wanted are freed just before io_setup(),
 *    which takes them from the per-cpu free list.
 *  - ring_in_movable: ring pages can be in ZONE_MOVABLE (never on stock 6.12).
 *  - two_owners: a gup_test owner pins the ring read-only as well; the pages
 *    move only when both owners agree.  A reader stalled in a fault on its
 *    events buffer does not hold them: they move, the event arrives once.
 *  - mremap_destroy_race: move_pages(2) against mremap() of the ring,
 *    io_setup()/io_destroy() with requests in flight and exiting children.
 *  - libaio: the loop through libaio only, while the ring moves.
 *  - ring_move_cost: move_pages(2) of a 256-page ring; prints ns per page and
 *    asserts nothing pinpage-specific (it runs on stock kernels too).
 *
 * Needs root and two NUMA nodes with memory (skips without them); parts skip
 * without gup_test, ZONE_MOVABLE (movablecore=), a CMA area (cma=) or an
 * offlinable memory block, or when the ring cannot be placed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <libaio.h>

#include "../../../../mm/gup_test.h"
/*
 * kselftest_harness.h is not clean with -Wextra: an unused parameter, and the
 * TEST_F() wrappers keep a non-volatile local across setjmp().
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "../kselftest_harness.h"
#pragma GCC diagnostic pop
#include "pinpage_util.h"
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

#define OWNERS_PATH	"/sys/kernel/debug/pinpage/owners"
#define OWNER_KIND	"aio_ring"
#define GUP_TEST_PATH	"/sys/kernel/debug/gup_test"
#define NULLB_DEV	"/dev/nullb0"
#define NULLB_PARAMS	"/sys/module/null_blk/parameters"
#define CMA_AREA	"/sys/kernel/debug/cma/reserved"
#define AIO_NR		"/proc/sys/fs/aio-nr"

#define AIO_RING_MAGIC	0xa10a10a1
#define RING_EVENTS	500	/* the kernel doubles it: 8 ring pages */
#define COST_EVENTS	16380	/* 256 ring pages */
#define NSLOT		32	/* I/Os in flight */
#define BLOCKS		4	/* file blocks of each slot */
#define MAX_RP		16	/* ring pages of the I/O loop's rings, at most */
#define MAX_FDS		8
#define MAX_MAPS	8
#define MAX_ZONES	64
#define MAXNODE		1024
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN(e)	((e) & ((1ULL << 55) - 1))
#define MP_UNSET	(-1000)		/* move_pages() left the status alone */
#define LOOP_MIN_NS	(3 * NSEC)
#define LOOP_MAX_NS	(8 * NSEC)
#define COMPACT_PASSES	20
#define PLACE_TRIES	5
#define PLACE_BATCH	64		/* pages faulted per pagemap read */
#define TARGET_SAMPLE	(64UL << 20)	/* faulted above the ring for compaction */
#define PAGEBLOCK	512		/* pages */
#define RACE_NS		(4 * NSEC)
#define COST_ROUNDS	10

static size_t psize;

/* The ring header the kernel maps at the context id (fs/aio.c). */
struct aio_ring {
	unsigned int id, nr, head, tail;
	unsigned int magic, compat_features, incompat_features, header_length;
	struct io_event io_events[];
};

struct ctx {
	int pagemap_fd, kpageflags_fd, gup_fd;
	int home, other;		/* two nodes with memory */
	int zram_id;			/* zram device to remove, or -1 */
	bool pinned;			/* gup_test owner 0 holds the ring */
	long offline;			/* memory block to online again, or -1 */
	char cma_alloc[32];		/* CMA allocation to free, or "" */
	int owners0;			/* aio_ring owners before the test */
	int fds[MAX_FDS], nr_fds;
	struct { void *addr; size_t len; } maps[MAX_MAPS];
	int nr_maps;
};

struct zone_rec {
	int node;
	char name[16];
	unsigned long start, spanned, free;
};

/* --- small helpers --- */

/* aio_ring owners in debugfs, or -1 without the file. */
static int owners_nr(void)
{
	char line[256], ptr[64], kind[64];
	int bounded, nr = 0;
	long pins;
	FILE *f = fopen(OWNERS_PATH, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		nr += line[0] != '#' &&
		      sscanf(line, "%63s %63s %d %ld", ptr, kind, &bounded, &pins) == 4 &&
		      !strcmp(kind, OWNER_KIND) && bounded;
	fclose(f);
	return nr;
}

/* Rings are freed after an RCU grace period: wait until @want owners are left. */
static int wait_owners(int want, int secs)
{
	uint64_t end = now_ns() + secs * NSEC;
	int nr;

	while ((nr = owners_nr()) != want && nr >= 0 && now_ns() < end)
		usleep(20000);
	return nr;
}

/* Contents: a stream of 64-bit words derived from @seed and the offset. */
static void fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = mix(seed * 0x100000001b3ULL + i);
}

/* Offset of the first word that fill() did not write, or -1. */
static long check(const void *buf, size_t len, uint64_t seed)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != mix(seed * 0x100000001b3ULL + i))
			return i * 8;
	return -1;
}

/* --- memory: mappings, nodes, PFNs, zones --- */

static char *map_anon(struct ctx *c, size_t len)
{
	char *p;

	if (c->nr_maps == MAX_MAPS)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	c->maps[c->nr_maps].addr = p;
	c->maps[c->nr_maps++].len = len;
	return p;
}

static int add_fd(struct ctx *c, int fd)
{
	if (fd >= 0 && c->nr_fds < MAX_FDS)
		c->fds[c->nr_fds++] = fd;
	return fd;
}

/* Memory policy @mode for @node; @node < 0: back to the default. */
static int set_policy(int mode, int node)
{
	unsigned long mask[MAXNODE / 64] = { 0 };

	if (node < 0)
		return syscall(__NR_set_mempolicy, MPOL_DEFAULT, NULL, 0) ? -errno : 0;
	mask[node / 64] = 1UL << (node % 64);
	return syscall(__NR_set_mempolicy, mode, mask, MAXNODE + 1) ? -errno : 0;
}

static int bind_node(int node)
{
	return set_policy(MPOL_BIND, node);
}

/* Move @n pages from @base of process @pid to @node; move_pages()'s return value. */
static long move_range(pid_t pid, char *base, unsigned long n, int node, int *status)
{
	void *pages[MAX_RP];
	int nodes[MAX_RP];
	unsigned long i;

	if (n > MAX_RP)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		pages[i] = base + i * psize;
		nodes[i] = node;
		status[i] = MP_UNSET;
	}
	return syscall(__NR_move_pages, pid, n, pages, nodes, status, MPOL_MF_MOVE) < 0 ?
	       -errno : 0;
}

/* PFNs of the @n pages at @addr; -ENOENT if one stays not present (migrating). */
static int pfns_of(struct ctx *c, const char *addr, unsigned long n, uint64_t *pfns)
{
	ssize_t len = n * sizeof(*pfns);
	unsigned long i;
	int tries = 0;

again:
	if (pread(c->pagemap_fd, pfns, len, (uintptr_t)addr / psize * sizeof(*pfns)) != len)
		return -EIO;
	for (i = 0; i < n; i++) {
		if (!(pfns[i] & PM_PRESENT)) {
			if (++tries > 200)
				return -ENOENT;
			usleep(1000);
			goto again;
		}
		pfns[i] = PM_PFN(pfns[i]);
	}
	return 0;
}

/* How many of the @n pages at @addr lie in PFNs [@lo, @hi), or -1. */
static long pages_in(struct ctx *c, const char *addr, unsigned long n, uint64_t lo, uint64_t hi)
{
	uint64_t pfns[MAX_RP];
	unsigned long i;
	long in = 0;

	if (n > ARRAY_SIZE(pfns) || pfns_of(c, addr, n, pfns))
		return -1;
	for (i = 0; i < n; i++)
		in += pfns[i] >= lo && pfns[i] < hi;
	return in;
}

static int read_zones(struct zone_rec *z, int max)
{
	struct zone_rec cur = { .node = -1 };
	char line[256], name[16];
	unsigned long v;
	int n = 0, node;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			cur = (struct zone_rec){ .node = node };
			snprintf(cur.name, sizeof(cur.name), "%s", name);
		} else if (sscanf(line, " pages free %lu", &v) == 1) {
			cur.free = v;
		} else if (sscanf(line, " spanned %lu", &v) == 1) {
			cur.spanned = v;
		} else if (sscanf(line, " start_pfn: %lu", &v) == 1) {
			cur.start = v;
			if (cur.node >= 0 && cur.spanned)
				z[n++] = cur;
		}
	}
	fclose(f);
	return n;
}

/* The zone holding @pfn, or -1. */
static int zone_of(const struct zone_rec *z, int nz, uint64_t pfn)
{
	int i;

	for (i = 0; i < nz; i++)
		if (pfn >= z[i].start && pfn < z[i].start + z[i].spanned)
			return i;
	return -1;
}

/*
 * The zone that serves @node's movable allocations first: the highest one with
 * 64 MiB free (/proc/zoneinfo lists them upwards); with @movable, the
 * ZONE_MOVABLE of any node that has the most free.  -1 if none.
 */
static int pick_zone(const struct zone_rec *z, int nz, int node, bool movable)
{
	int i, best = -1;

	for (i = 0; i < nz; i++) {
		if (movable) {
			if (strcmp(z[i].name, "Movable") ||
			    (best >= 0 && z[i].free <= z[best].free))
				continue;
		} else if (z[i].node != node || z[i].free < (64UL << 20) / psize) {
			continue;
		}
		best = i;
	}
	return best;
}

/* Does memory block @block (of @ppb pages) hold a reserved page? */
static bool block_reserved(struct ctx *c, long block, unsigned long ppb)
{
	return block_has_reserved(c->kpageflags_fd, block, ppb);
}

/* --- files and devices --- */

/* An unlinked file of @size bytes on tmpfs (/tmp or /dev/shm), or -errno. */
static int tmpfs_file(struct ctx *c, off_t size)
{
	int fd = tmpfs_open(size);

	return fd < 0 ? fd : add_fd(c, fd);
}

/* A new zram device of 64 MiB (zram0 may be someone's swap), opened O_DIRECT. */
static int zram_create(struct ctx *c)
{
	int fd = zram_open(&c->zram_id);

	return fd < 0 ? fd : add_fd(c, fd);
}

static int zram_remove(struct ctx *c)
{
	char id[16];
	int ret, i;

	snprintf(id, sizeof(id), "%d", c->zram_id);
	for (i = 0; i < 50; i++) {
		ret = write_str(ZRAM_CONTROL "/hot_remove", id);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	return ret;
}

/* --- AIO contexts --- */

/* The ring's pages: a header of one event's size, then ring->nr events. */
static unsigned long ring_pages(const struct aio_ring *ring)
{
	return (ring->nr + 1) * sizeof(struct io_event) / psize;
}

/*
 * Map every page of the ring at @ctx, as a reader of the ring would: io_setup()
 * does not populate the mapping, and pagemap and move_pages() see only mapped
 * pages.
 */
static void ring_touch(io_context_t ctx)
{
	const struct aio_ring *ring = (const struct aio_ring *)ctx;
	volatile const char *p = (volatile const char *)ctx;
	unsigned long i, n = ring_pages(ring);

	for (i = 0; i < n; i++)
		(void)p[i * psize];
}

/* A context of @nr events, its ring allocated bound to @node (< 0: anywhere). */
static struct aio_ring *ctx_new(struct __test_metadata *_metadata, int nr, int node,
				io_context_t *ctxp)
{
	int ret;

	*ctxp = NULL;
	if (node >= 0)
		ASSERT_EQ(0, bind_node(node));
	ret = io_setup(nr, ctxp);
	bind_node(-1);
	ASSERT_EQ(0, ret) TH_LOG("io_setup(%d): %s", nr, strerror(-ret));
	ASSERT_EQ(AIO_RING_MAGIC, ((struct aio_ring *)*ctxp)->magic);
	ring_touch(*ctxp);
	return (struct aio_ring *)*ctxp;
}

/* The ring pages of a context of @nr events, from one made and destroyed. */
static unsigned long ring_pages_for(struct __test_metadata *_metadata, int nr)
{
	io_context_t ctx;
	unsigned long np = ring_pages(ctx_new(_metadata, nr, -1, &ctx));

	ASSERT_EQ(0, io_destroy(ctx));
	ASSERT_GE((unsigned long)MAX_RP, np);
	return np;
}

/* --- the I/O loop --- */

struct slot {
	struct iocb cb;
	char *buf;
	bool busy;		/* in flight */
	bool verify;		/* a read of what the last write put at fd/off */
	int fd;
	long long off;
	uint64_t seed, cookie;
};

struct job {
	io_context_t ctx;
	struct aio_ring *ring;		/* == ctx, until mremap() */
	unsigned int nr;		/* ring->nr at setup */
	bool libaio;			/* reap with libaio's io_getevents() only */
	int fd[3];			/* zram O_DIRECT, tmpfs, null_blk O_DIRECT */
	struct slot s[NSLOT];
	int busy;
	uint64_t seq;
	unsigned long submitted, completed, verified, rounds, ring_reaps, timer_done;
	char err[256];
};

static void job_init(struct __test_metadata *_metadata, struct ctx *c, struct job *j,
		     io_context_t ctx, bool libaio)
{
	char *bufs = map_anon(c, NSLOT * psize);
	int i;

	ASSERT_NE(NULL, bufs);
	memset(j, 0, sizeof(*j));
	j->ctx = ctx;
	j->ring = (struct aio_ring *)ctx;
	j->nr = j->ring->nr;
	j->libaio = libaio;
	j->fd[0] = zram_create(c);
	ASSERT_LE(0, j->fd[0]) TH_LOG("creating a zram device (" ZRAM_CONTROL "): %s",
				      strerror(-j->fd[0]));
	j->fd[1] = tmpfs_file(c, NSLOT * BLOCKS * psize);
	ASSERT_LE(0, j->fd[1]) TH_LOG("no tmpfs at /tmp or /dev/shm");
	/*
	 * null_blk completes from a timer (the group boots with irqmode=2):
	 * aio_complete() then runs in interrupt context, racing the ring
	 * copy from another CPU.  zram and tmpfs complete inside io_submit().
	 */
	j->fd[2] = add_fd(c, open(NULLB_DEV, O_RDWR | O_DIRECT));
	ASSERT_LE(0, j->fd[2]) TH_LOG("cannot open " NULLB_DEV ": %s (CONFIG_BLK_DEV_NULL_BLK?)",
				      strerror(errno));
	ASSERT_EQ(2, read_ll(NULLB_PARAMS "/irqmode"))
		TH_LOG("null_blk does not complete from a timer: boot with null_blk.irqmode=2");
	for (i = 0; i < NSLOT; i++)
		j->s[i].buf = bufs + i * psize;
}

/* Next I/O of slot @s: read back its last write, or write a new block. */
static void job_prep(struct job *j, struct slot *s)
{
	int k = s - j->s;

	s->cookie = ++j->seq;
	if (s->verify) {
		memset(s->buf, 0, psize);
		io_prep_pread(&s->cb, s->fd, s->buf, psize, s->off);
	} else {
		s->fd = j->fd[j->seq % 3];
		s->off = (long long)(k + NSLOT * (j->seq % BLOCKS)) * psize;
		s->seed = j->seq;
		fill(s->buf, psize, s->seed);
		io_prep_pwrite(&s->cb, s->fd, s->buf, psize, s->off);
	}
	s->cb.data = (void *)(uintptr_t)s->cookie;
	s->busy = true;
}

/* The header is intact and holds no more events than there are I/Os in flight. */
static int ring_check(struct job *j)
{
	struct aio_ring *r = j->ring;
	unsigned int head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	unsigned int tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	if (r->magic == AIO_RING_MAGIC && r->header_length == sizeof(*r) && r->nr == j->nr &&
	    head < j->nr && tail < j->nr && (tail - head + j->nr) % j->nr <= (unsigned int)j->busy)
		return 0;
	snprintf(j->err, sizeof(j->err),
		 "ring header: magic %#x, header_length %u, nr %u (was %u), head %u, tail %u, %d in flight",
		 r->magic, r->header_length, r->nr, j->nr, head, tail, j->busy);
	return -1;
}

/* Reap from the ring in userspace: events head..tail, then the new head. */
static int ring_reap(struct job *j, struct io_event *ev)
{
	struct aio_ring *r = j->ring;
	unsigned int head = __atomic_load_n(&r->head, __ATOMIC_RELAXED), tail;
	uint64_t end = now_ns() + 30 * NSEC;
	int n = 0;

	while ((tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) == head) {
		if (now_ns() > end)
			return 0;
		usleep(100);
	}
	for (; head != tail && n < NSLOT; head = (head + 1) % j->nr)
		ev[n++] = r->io_events[head];
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	j->ring_reaps++;
	return n;
}

/* One event: of an I/O in flight, with its cookie, its full length and its data. */
static int job_event(struct job *j, const struct io_event *ev)
{
	uintptr_t k = ((uintptr_t)ev->obj - (uintptr_t)&j->s[0].cb) / sizeof(j->s[0]);
	struct slot *s = k < NSLOT ? &j->s[k] : NULL;
	long off;

	if (!s || &s->cb != ev->obj || !s->busy || (uintptr_t)ev->data != s->cookie) {
		snprintf(j->err, sizeof(j->err),
			 "event for iocb %p, cookie %#lx: no such I/O in flight (lost or duplicate)",
			 (void *)ev->obj, (unsigned long)(uintptr_t)ev->data);
		return -1;
	}
	if (ev->res != psize || ev->res2) {
		snprintf(j->err, sizeof(j->err), "%s of fd %d at %lld: res %ld, res2 %ld",
			 s->verify ? "read" : "write", s->fd, s->off, (long)ev->res,
			 (long)ev->res2);
		return -1;
	}
	/* null_blk keeps no data: its reads only have to complete. */
	j->timer_done += s->fd == j->fd[2];
	off = s->verify && s->fd != j->fd[2] ? check(s->buf, psize, s->seed) : -1;
	if (off >= 0) {
		snprintf(j->err, sizeof(j->err), "fd %d at %lld read back other data (byte %ld)",
			 s->fd, s->off, off);
		return -1;
	}
	j->verified += s->verify && s->fd != j->fd[2];
	s->verify = !s->verify;
	s->busy = false;
	j->busy--;
	j->completed++;
	return 0;
}

static int job_reap(struct job *j)
{
	struct timespec ts = { .tv_sec = 30 }, zero = { 0 };
	struct io_event ev[NSLOT];
	const char *how;
	int n, i;

	if (ring_check(j))
		return -1;
	if (j->libaio) {
		how = "libaio io_getevents()";
		n = io_getevents(j->ctx, 0, NSLOT, ev, &zero);
		if (!n)
			n = io_getevents(j->ctx, 1, NSLOT, ev, &ts);
	} else if (j->rounds & 1) {
		how = "the ring in userspace";
		n = ring_reap(j, ev);
	} else {
		how = "io_getevents(2)";
		n = syscall(__NR_io_getevents, j->ctx, 1, NSLOT, ev, &ts);
		if (n < 0)
			n = -errno;
	}
	if (n <= 0) {
		snprintf(j->err, sizeof(j->err), "reaping from %s with %d in flight: %s", how,
			 j->busy, n ? strerror(-n) : "nothing in 30 s");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (job_event(j, &ev[i]))
			return -1;
	return 0;
}

/* Submit an I/O for every idle slot, then reap once. */
static int job_round(struct job *j)
{
	struct iocb *cbs[NSLOT];
	int n = 0, i, ret;

	for (i = 0; i < NSLOT; i++) {
		if (!j->s[i].busy) {
			job_prep(j, &j->s[i]);
			cbs[n++] = &j->s[i].cb;
		}
	}
	ret = n ? io_submit(j->ctx, n, cbs) : 0;
	if (ret != n) {
		snprintf(j->err, sizeof(j->err), "io_submit of %d: %d (%s)", n, ret,
			 ret < 0 ? strerror(-ret) : "short");
		return -1;
	}
	j->busy += n;
	j->submitted += n;
	j->rounds++;
	return job_reap(j);
}

static void job_drain(struct job *j)
{
	while (j->busy && !j->err[0])
		job_reap(j);
}

/* @rounds rounds, drained: all must complete. */
static void job_run(struct __test_metadata *_metadata, struct job *j, int rounds)
{
	while (rounds-- && !j->err[0])
		job_round(j);
	job_drain(j);
	ASSERT_EQ('\0', j->err[0]) TH_LOG("I/O: %s", j->err);
	ASSERT_EQ(j->submitted, j->completed);
}

/* --- the mover thread: move_pages(2), compaction, offline or CMA --- */

enum { MV_PAGES, MV_COMPACT, MV_OFFLINE, MV_CMA };

struct mover {
	struct ctx *c;
	int how;
	int node;			/* MV_COMPACT: the node to compact */
	long arg;			/* MV_OFFLINE: the block; MV_CMA: pages */
	char *ring;
	unsigned long np;
	volatile int stop, done;
	unsigned long rounds, moves, nr_changed;
	int ret, tries;			/* MV_OFFLINE, MV_CMA: the last write */
	uint64_t pfn0[MAX_RP], prev[MAX_RP], pfn[MAX_RP];
	bool changed[MAX_RP];
	char err[160];
};

/* Count PFN changes since the last scan and pages that left their first PFN. */
static int mover_scan(struct mover *m)
{
	unsigned long i;
	int ret = pfns_of(m->c, m->ring, m->np, m->pfn);

	for (i = 0; !ret && i < m->np; i++) {
		m->moves += m->pfn[i] != m->prev[i];
		m->prev[i] = m->pfn[i];
		if (!m->changed[i] && m->pfn[i] != m->pfn0[i]) {
			m->changed[i] = true;
			m->nr_changed++;
		}
	}
	return ret;
}

/* Offline the block, or allocate the CMA area (it may be busy for a moment). */
static int mover_once(struct mover *m)
{
	char buf[32];

	if (m->how == MV_OFFLINE) {
		m->ret = block_set(m->arg, "offline");
		if (!m->ret)
			m->c->offline = m->arg;
		return m->ret;
	}
	snprintf(buf, sizeof(buf), "%ld", m->arg);
	for (m->tries = 1; (m->ret = write_str(CMA_AREA "/alloc", buf)) && m->tries < 5; m->tries++)
		usleep(100000);
	if (!m->ret)
		snprintf(m->c->cma_alloc, sizeof(m->c->cma_alloc), "%s", buf);
	return m->ret;
}

static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	int st[MAX_RP], ret = 0, node;

	while (!m->stop && !m->err[0]) {
		node = m->rounds & 1 ? m->c->home : m->c->other;
		if (m->how == MV_PAGES) {
			ret = move_range(0, m->ring, m->np, node, st);
			if (ret)
				snprintf(m->err, sizeof(m->err), "move_pages: %s", strerror(-ret));
		} else if (m->how == MV_COMPACT) {
			if (m->rounds == COMPACT_PASSES || m->nr_changed)
				break;
			ret = compact_pass(m->node, m->rounds);
			if (ret)
				snprintf(m->err, sizeof(m->err), "compaction: %s", strerror(-ret));
		} else if (!m->rounds) {
			mover_once(m);
		} else {
			break;
		}
		m->rounds++;
		ret = mover_scan(m);
		if (ret)
			snprintf(m->err, sizeof(m->err), "pagemap of the ring: %s", strerror(-ret));
	}
	m->done = 1;
	return NULL;
}

/*
 * The I/O loop in this thread, @m in another, until the mover is done (or,
 * with move_pages(), every ring page changed PFN in two rounds) after
 * @min_ns, or @max_ns are up; then drain and check.
 */
static void run_job(struct __test_metadata *_metadata, struct job *j, struct mover *m,
		    uint64_t min_ns, uint64_t max_ns)
{
	uint64_t t0 = now_ns(), el;
	pthread_t t;

	ASSERT_EQ(0, pfns_of(m->c, m->ring, m->np, m->pfn0));
	memcpy(m->prev, m->pfn0, sizeof(m->prev));
	ASSERT_EQ(0, pthread_create(&t, NULL, mover_fn, m));
	while (!job_round(j)) {
		el = now_ns() - t0;
		if (el >= max_ns)
			break;
		if (el >= min_ns && (m->done || (m->how == MV_PAGES && m->rounds >= 2 &&
						 m->nr_changed == m->np)))
			break;
	}
	m->stop = 1;
	pthread_join(t, NULL);
	job_drain(j);
	TH_LOG("%.1f s: %lu I/Os (%lu reads checked, %lu completed from a timer), %lu reaps from the ring in userspace; %lu mover rounds, %lu PFN changes, %lu of %lu ring pages moved",
	       (now_ns() - t0) / 1e9, j->completed, j->verified, j->timer_done, j->ring_reaps,
	       m->rounds, m->moves, m->nr_changed, m->np);
	ASSERT_EQ('\0', j->err[0]) TH_LOG("I/O: %s", j->err);
	ASSERT_EQ('\0', m->err[0]) TH_LOG("mover: %s", m->err);
	ASSERT_EQ(j->submitted, j->completed);
	ASSERT_LT(0UL, j->verified);
	ASSERT_LT(0UL, j->timer_done);
	ASSERT_EQ(0, ring_check(j)) TH_LOG("%s", j->err);
}

static long first_unchanged(const struct mover *m)
{
	unsigned long i;

	for (i = 0; i < m->np; i++)
		if (!m->changed[i])
			return i;
	return -1;
}

/* --- placing a ring --- */

struct place {
	const struct zone_rec *zone;	/* the zone of [lo, hi) */
	uint64_t lo, hi;
	size_t max;			/* bytes to fault at most */
	bool targets;			/* keep compaction targets above the ring */
};

static void dontneed(char *mem, unsigned long from, unsigned long to)
{
	if (to > from)
		madvise(mem + from * psize, (to - from) * psize, MADV_DONTNEED);
}

/*
 * Fault @mem until @np pages lie in [lo, hi) (with targets, TARGET_SAMPLE
 * more); give back the other faulted pages of the zone, so that it
 * has room (with targets, keep one per pageblock above the @np: compaction's
 * free scanner takes no page from a wholly free pageblock); last, the @np
 * pages, which go to the head of this CPU's free list.  Pages of other zones
 * stay, so that a zone above, which had to be full to get here, stays full.
 */
static unsigned long place_free(struct ctx *c, char *mem, const struct place *p,
				unsigned long np)
{
	unsigned long n = p->max / psize, until = n, i, j, found = 0, from = 0, idx[MAX_RP], b;
	unsigned char *mark = calloc(n + p->zone->spanned / PAGEBLOCK + 1, 1), *kept;
	uint64_t pfn[PLACE_BATCH], top = 0;
	bool keep;

	if (!mark)
		return 0;
	kept = mark + n;
	for (i = 0; i < until; i += PLACE_BATCH) {
		for (j = 0; j < PLACE_BATCH; j++)
			mem[(i + j) * psize] = 1;
		if (pfns_of(c, mem + i * psize, PLACE_BATCH, pfn))
			continue;
		for (j = 0; j < PLACE_BATCH && found < np; j++) {
			if (pfn[j] < p->lo || pfn[j] >= p->hi)
				continue;
			mark[i + j] = 1;
			idx[found++] = i + j;
			top = pfn[j] > top ? pfn[j] : top;
		}
		if (found == np && until == n && !p->targets)
			until = i + PLACE_BATCH;
		else if (found == np && until == n && n > i + TARGET_SAMPLE / psize)
			until = i + TARGET_SAMPLE / psize;
	}
	until = i;
	for (i = 0; found == np && i < until; i += PLACE_BATCH) {
		if (pfns_of(c, mem + i * psize, PLACE_BATCH, pfn))
			memset(pfn, 0, sizeof(pfn));
		for (j = 0; j < PLACE_BATCH; j++) {
			b = (pfn[j] - p->zone->start) / PAGEBLOCK;
			keep = mark[i + j] || pfn[j] < p->zone->start ||
			       pfn[j] >= p->zone->start + p->zone->spanned;
			if (!keep && p->targets && pfn[j] > top && !kept[b]) {
				kept[b] = 1;
				keep = true;
			}
			if (keep) {
				dontneed(mem, from, i + j);
				from = i + j + 1;
			}
		}
	}
	dontneed(mem, from, until);
	for (i = 0; found == np && i < np; i++)
		dontneed(mem, idx[i], idx[i] + 1);
	free(mark);
	return found;
}

/*
 * A context of @nr events whose @np ring pages lie in @p's range: pinned to
 * one CPU, under the caller's memory policy, free pages there right before
 * io_setup() (see place_free()); retried.  Returns the ring pages in the range.
 */
static long place_ring(struct __test_metadata *_metadata, struct ctx *c, const struct place *p,
		       int nr, unsigned long np, io_context_t *ctxp)
{
	unsigned long found = 0;
	cpu_set_t all, one;
	int try, ret = 0;
	long in = 0;
	char *mem;

	*ctxp = NULL;
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	for (try = 0; try < PLACE_TRIES && in < (long)np && !ret; try++) {
		if (*ctxp)
			io_destroy(*ctxp);
		*ctxp = NULL;
		mem = mmap(NULL, p->max, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mem == MAP_FAILED)
			break;
		madvise(mem, p->max, MADV_NOHUGEPAGE);
		found = place_free(c, mem, p, np);
		ret = found == np ? io_setup(nr, ctxp) : -ENOSPC;
		munmap(mem, p->max);
		if (!ret) {
			ring_touch(*ctxp);
			in = pages_in(c, (char *)*ctxp, np, p->lo, p->hi);
		}
	}
	sched_setaffinity(0, sizeof(all), &all);
	bind_node(-1);
	TH_LOG("ring of %lu pages: %ld in pfn [%#llx, %#llx) of node %d %s after %d tries (%lu pages found there)",
	       np, in, (unsigned long long)p->lo, (unsigned long long)p->hi, p->zone->node,
	       p->zone->name, try, found);
	ASSERT_TRUE(!ret || ret == -ENOSPC) TH_LOG("io_setup: %s", strerror(-ret));
	return ret ? -1 : in;
}

/* --- fixture --- */

FIXTURE(aio) {
	struct ctx c;
};

FIXTURE_SETUP(aio)
{
	struct ctx *c = &self->c;
	char list[256];
	int a, b, n = 0, ret;

	c->pagemap_fd = -1;
	c->kpageflags_fd = -1;
	c->gup_fd = -1;
	c->zram_id = -1;
	c->offline = -1;
	if (geteuid())
		SKIP(return, "needs root");
	ret = read_str(NODE_SYSFS "/has_memory", list, sizeof(list));
	if (ret > 0)
		n = sscanf(list, "%d%*[-,]%d", &a, &b);
	if (n != 2)
		SKIP(return, "needs two NUMA nodes with memory; has_memory: \"%s\"",
		     ret > 0 ? list : strerror(-ret));
	c->home = a;
	c->other = b;
	psize = sysconf(_SC_PAGESIZE);
	c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, c->pagemap_fd) TH_LOG("/proc/self/pagemap: %s", strerror(errno));
	c->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	ASSERT_LE(0, c->kpageflags_fd) TH_LOG("/proc/kpageflags: %s", strerror(errno));
	/* Rings of the previous case may still be going away. */
	c->owners0 = wait_owners(0, 10);
}

FIXTURE_TEARDOWN(aio)
{
	struct ctx *c = &self->c;
	struct pin_owned_test args = { .owner = 0 };
	int i, ret;

	if (c->pinned && ioctl(c->gup_fd, PIN_OWNED_TEST_STOP, &args))
		TH_LOG("PIN_OWNED_TEST_STOP: %s", strerror(errno));
	if (c->offline >= 0 && block_set(c->offline, "online_movable"))
		TH_LOG("onlining memory%ld again failed", c->offline);
	if (c->cma_alloc[0] && write_str(CMA_AREA "/free", c->cma_alloc))
		TH_LOG("freeing the CMA allocation failed");
	for (i = 0; i < c->nr_fds; i++)
		close(c->fds[i]);
	for (i = 0; i < c->nr_maps; i++)
		munmap(c->maps[i].addr, c->maps[i].len);
	if (c->zram_id >= 0) {
		ret = zram_remove(c);
		if (ret)
			TH_LOG("removing zram%d: %s", c->zram_id, strerror(-ret));
	}
	if (c->gup_fd >= 0)
		close(c->gup_fd);
	close(c->kpageflags_fd);
	close(c->pagemap_fd);
}

/* --- cases --- */

/*
 * I/O completing into the ring while move_pages(2) moves its pages between
 * the nodes: every ring page changes PFN, through pinpage.
 */
TEST_F_TIMEOUT(aio, ring_move_pages, 120)
{
	struct ctx *c = &self->c;
	struct mover m = { .c = c, .how = MV_PAGES };
	long long migrated = vmstat_get("pinpage_migrated");
	io_context_t ctx;
	struct job j;
	long bad;

	m.ring = (char *)ctx_new(_metadata, RING_EVENTS, c->home, &ctx);
	m.np = ring_pages((struct aio_ring *)m.ring);
	ASSERT_LE(8UL, m.np);
	job_init(_metadata, c, &j, ctx, false);
	run_job(_metadata, &j, &m, LOOP_MIN_NS, LOOP_MAX_NS);
	migrated = vmstat_get("pinpage_migrated") - migrated;
	TH_LOG("pinpage_migrated +%lld", migrated);
	bad = first_unchanged(&m);
	ASSERT_EQ(-1, bad) TH_LOG("ring page %ld never changed PFN", bad);
	ASSERT_LT(0, migrated) TH_LOG("the ring did not move through pinpage");
}

/*
 * The same loop while compaction runs; the ring lies in the lower half of
 * its zone with targets above, so that compaction has to move it.
 */
TEST_F_TIMEOUT(aio, ring_compaction, 400)
{
	struct ctx *c = &self->c;
	struct mover m = { .c = c, .how = MV_COMPACT };
	struct zone_rec z[MAX_ZONES];
	struct place p = { .max = 512UL << 20, .targets = true };
	long long migrated;
	io_context_t ctx;
	struct job j;
	int nz, k;
	long in;

	m.np = ring_pages_for(_metadata, RING_EVENTS);
	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, c->other, false);
	ASSERT_LE(0, k) TH_LOG("no zone of node %d with 64 MiB free", c->other);
	p.zone = &z[k];
	p.lo = z[k].start;
	p.hi = z[k].start + z[k].spanned / 2;
	ASSERT_EQ(0, bind_node(z[k].node));
	in = place_ring(_metadata, c, &p, RING_EVENTS, m.np, &ctx);
	if (in != (long)m.np)
		SKIP(return, "could not place the ring in the lower half of node %d %s (%ld of %lu pages)",
		     z[k].node, z[k].name, in, m.np);
	m.ring = (char *)ctx;
	m.node = z[k].node;
	job_init(_metadata, c, &j, ctx, false);
	migrated = vmstat_get("pinpage_migrated");
	run_job(_metadata, &j, &m, NSEC, 300 * NSEC);
	migrated = vmstat_get("pinpage_migrated") - migrated;
	TH_LOG("pinpage_migrated +%lld", migrated);
	ASSERT_LT(0UL, m.nr_changed) TH_LOG("%lu compaction passes moved no ring page", m.rounds);
	ASSERT_LT(0, migrated);
}

/*
 * Offlining a ZONE_MOVABLE memory block (one without reserved pages) that
 * holds the ring, with I/O completing: the ring's pages leave it.
 */
TEST_F_TIMEOUT(aio, ring_offline, 180)
{
	struct ctx *c = &self->c;
	struct mover m = { .c = c, .how = MV_OFFLINE, .arg = -1 };
	unsigned long ppb = block_pages();
	struct zone_rec z[MAX_ZONES];
	struct place p = { .max = 384UL << 20 };
	char path[96], state[32];
	io_context_t ctx;
	struct job j;
	int nz, k;
	long b, in;

	if (!ppb)
		SKIP(return, "no " MEMORY_SYSFS "/block_size_bytes (memory hotplug)");
	nz = read_zones(z, MAX_ZONES);
	for (k = 0; k < nz && m.arg < 0; k++) {
		if (strcmp(z[k].name, "Movable"))
			continue;
		for (b = (z[k].start + ppb - 1) / ppb; (b + 1) * ppb <= z[k].start + z[k].spanned;
		     b++) {
			snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/state", b);
			if (read_str(path, state, sizeof(state)) > 0 && !strcmp(state, "online") &&
			    !block_reserved(c, b, ppb)) {
				m.arg = b;
				break;
			}
		}
	}
	if (m.arg < 0)
		SKIP(return, "no online ZONE_MOVABLE memory block without reserved pages (movablecore=)");
	p.zone = &z[k - 1];
	p.lo = m.arg * ppb;
	p.hi = p.lo + ppb;
	m.np = ring_pages_for(_metadata, RING_EVENTS);
	ASSERT_EQ(0, bind_node(p.zone->node));
	in = place_ring(_metadata, c, &p, RING_EVENTS, m.np, &ctx);
	if (in != (long)m.np)
		SKIP(return, "could not place the ring in memory%ld (%ld of %lu pages)", m.arg, in,
		     m.np);
	m.ring = (char *)ctx;
	job_init(_metadata, c, &j, ctx, false);
	run_job(_metadata, &j, &m, NSEC, 150 * NSEC);
	ASSERT_EQ(0, m.ret) TH_LOG("offlining memory%ld with the ring in it: %s", m.arg,
				   strerror(-m.ret));
	ASSERT_EQ(0, pages_in(c, m.ring, m.np, p.lo, p.hi))
		TH_LOG("ring pages left in memory%ld", m.arg);
	ASSERT_EQ(m.np, m.nr_changed);
	ASSERT_EQ(0, block_set(m.arg, "online_movable")) TH_LOG("onlining memory%ld again", m.arg);
	c->offline = -1;
	job_run(_metadata, &j, 8);
}

/*
 * An allocation of the whole CMA area while the ring lies in it, with I/O
 * completing: the ring's pages leave it.  The ring is placed preferring the
 * area's node, not bound to it.
 */
TEST_F_TIMEOUT(aio, ring_cma, 180)
{
	struct ctx *c = &self->c;
	struct mover m = { .c = c, .how = MV_CMA };
	struct zone_rec z[MAX_ZONES];
	struct place p = { .max = 640UL << 20 };
	io_context_t ctx;
	char buf[64];
	struct job j;
	int nz, k;
	long in;

	if (read_str(CMA_AREA "/base_pfn", buf, sizeof(buf)) < 0)
		SKIP(return, "no CMA area " CMA_AREA " (boot with cma=, CONFIG_CMA_DEBUGFS)");
	p.lo = strtoul(buf, NULL, 10);
	ASSERT_LT(0, read_str(CMA_AREA "/count", buf, sizeof(buf)));
	m.arg = strtol(buf, NULL, 10);
	p.hi = p.lo + m.arg;
	nz = read_zones(z, MAX_ZONES);
	k = zone_of(z, nz, p.lo);
	ASSERT_LE(0, k) TH_LOG("CMA area at pfn %#llx in no zone", (unsigned long long)p.lo);
	p.zone = &z[k];
	m.np = ring_pages_for(_metadata, RING_EVENTS);
	ASSERT_EQ(0, set_policy(MPOL_PREFERRED, z[k].node));
	in = place_ring(_metadata, c, &p, RING_EVENTS, m.np, &ctx);
	if (in != (long)m.np)
		SKIP(return, "could not place the ring in the CMA area (%ld of %lu pages)", in,
		     m.np);
	m.ring = (char *)ctx;
	job_init(_metadata, c, &j, ctx, false);
	run_job(_metadata, &j, &m, NSEC, 150 * NSEC);
	ASSERT_EQ(0, m.ret) TH_LOG("allocating the whole CMA area (%ld pages) with the ring in it, %d tries: %s",
				   m.arg, m.tries, strerror(-m.ret));
	ASSERT_EQ(0, pages_in(c, m.ring, m.np, p.lo, p.hi)) TH_LOG("ring pages left in CMA");
	ASSERT_EQ(m.np, m.nr_changed);
	ASSERT_EQ(0, write_str(CMA_AREA "/free", c->cma_alloc))
		TH_LOG("freeing the CMA allocation");
	c->cma_alloc[0] = '\0';
	job_run(_metadata, &j, 8);
}

/* Ring pages come from movable memory: they can be in ZONE_MOVABLE (not on stock). */
TEST_F_TIMEOUT(aio, ring_in_movable, 120)
{
	struct ctx *c = &self->c;
	struct zone_rec z[MAX_ZONES];
	struct place p = { .max = 256UL << 20 };
	unsigned long np = ring_pages_for(_metadata, RING_EVENTS);
	io_context_t ctx;
	struct job j;
	int nz, k;
	long in;

	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, -1, true);
	if (k < 0)
		SKIP(return, "no ZONE_MOVABLE (boot with movablecore=)");
	p.zone = &z[k];
	p.lo = z[k].start;
	p.hi = z[k].start + z[k].spanned;
	ASSERT_EQ(0, bind_node(z[k].node));
	in = place_ring(_metadata, c, &p, RING_EVENTS, np, &ctx);
	ASSERT_EQ((long)np, in) TH_LOG("%ld of %lu ring pages in ZONE_MOVABLE of node %d: ring pages are not movable allocations",
				       in, np, z[k].node);
	ASSERT_EQ(c->owners0 + 1, wait_owners(c->owners0 + 1, 10))
		TH_LOG("the context is not one bounded " OWNER_KIND " owner in " OWNERS_PATH);
	job_init(_metadata, c, &j, ctx, false);
	job_run(_metadata, &j, 16);
	ASSERT_EQ((long)np, pages_in(c, (char *)ctx, np, p.lo, p.hi));
	ASSERT_EQ(0, io_destroy(ctx));
	ASSERT_EQ(c->owners0, wait_owners(c->owners0, 10)) TH_LOG("owner left after io_destroy()");
}

struct getter {
	io_context_t ctx;
	struct io_event *ev;
	long ret;
	int err;
};

static void *getter_fn(void *arg)
{
	struct timespec ts = { .tv_sec = 30 };
	struct getter *g = arg;

	g->ret = syscall(__NR_io_getevents, g->ctx, 1, 1, g->ev, &ts);
	g->err = errno;
	return NULL;
}

static void owned_status(struct __test_metadata *_metadata, struct ctx *c,
			 struct pin_owned_test *st)
{
	*st = (struct pin_owned_test){ .owner = 0 };
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STATUS, st));
}

/* move_pages() of the ring to the other node moves none of its pages. */
static void nothing_moves(struct __test_metadata *_metadata, struct ctx *c, char *ring,
			  unsigned long np, const char *why)
{
	uint64_t before[MAX_RP], after[MAX_RP];
	int st[MAX_RP];
	unsigned long i;

	ASSERT_EQ(0, pfns_of(c, ring, np, before));
	ASSERT_EQ(0, move_range(0, ring, np, c->other, st));
	ASSERT_EQ(0, pfns_of(c, ring, np, after));
	for (i = 0; i < np; i++)
		ASSERT_TRUE(st[i] != c->other && before[i] == after[i])
			TH_LOG("ring page %lu moved while %s (status %d)", i, why, st[i]);
}

/*
 * A gup_test owner pins the ring read-only (bounded) too: (a) it refuses, and
 * nothing moves; (b) AIO refuses while io_getevents() holds ring_lock, stuck
 * in a userfaultfd fault on its event buffer, and nothing moves; (c) both
 * agree: the pages move, and both owners see the new ones.
 */
TEST_F_TIMEOUT(aio, two_owners, 120)
{
	struct ctx *c = &self->c;
	struct pin_owned_test args = { .owner = 0 }, st0, st1;
	uint64_t pfns[MAX_RP], owned[MAX_RP];
	struct pollfd pfd = { .events = POLLIN };
	struct uffd_msg msg;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zp = { 0 };
	struct getter g = { 0 };
	struct iocb cb, *cbs[1] = { &cb };
	long long refused;
	unsigned long np, i;
	char *ring, *view, *copy, *evpage;
	io_context_t ctx;
	struct job j;
	pthread_t t;
	int st[MAX_RP], uffd;

	if (access(GUP_TEST_PATH, R_OK | W_OK))
		SKIP(return, "no " GUP_TEST_PATH " (CONFIG_GUP_TEST, debugfs)");
	c->gup_fd = open(GUP_TEST_PATH, O_RDWR);
	ASSERT_LE(0, c->gup_fd);
	ring = (char *)ctx_new(_metadata, RING_EVENTS, c->home, &ctx);
	np = ring_pages((struct aio_ring *)ring);
	job_init(_metadata, c, &j, ctx, false);
	job_run(_metadata, &j, 4);
	args.addr = (uintptr_t)ring;
	args.size = np * psize;
	args.flags = PIN_OWNED_TEST_FLAG_BOUNDED;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_START, &args))
		TH_LOG("PIN_OWNED_TEST_START on the ring, read-only: %s", strerror(errno));
	c->pinned = true;

	/* (a) gup_test refuses. */
	args.flags = PIN_OWNED_TEST_FLAG_REFUSE;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_CONFIG, &args));
	owned_status(_metadata, c, &st0);
	nothing_moves(_metadata, c, ring, np, "gup_test refused");
	owned_status(_metadata, c, &st1);
	TH_LOG("(a) gup_test refusing: refused +%llu", st1.nr_refused - st0.nr_refused);
	ASSERT_LT(st0.nr_refused, st1.nr_refused) TH_LOG("gup_test was never asked");
	job_run(_metadata, &j, 4);
	args.flags = 0;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_CONFIG, &args));

	/*
	 * (b) io_getevents() stalls in a fault on a missing page while it
	 * copies an event out: the ring is not held, its pages move, and the
	 * event arrives exactly once when the fault is served.
	 */
	uffd = add_fd(c, syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK));
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	evpage = map_anon(c, psize);
	ASSERT_NE(NULL, evpage);
	reg.range = (struct uffdio_range){ (uintptr_t)evpage, psize };
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	/* Past the loop's blocks: a slot may be about to read its last write back. */
	io_prep_pwrite(&cb, j.fd[1], j.s[0].buf, psize, NSLOT * BLOCKS * psize);
	cb.data = (void *)0xb0bULL;
	ASSERT_EQ(1, io_submit(ctx, 1, cbs));
	g = (struct getter){ .ctx = ctx, .ev = (struct io_event *)evpage };
	ASSERT_EQ(0, pthread_create(&t, NULL, getter_fn, &g));
	pfd.fd = uffd;
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("io_getevents() did not fault on its buffer");
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	owned_status(_metadata, c, &st0);
	refused = vmstat_get("pinpage_isolate_refused");
	ASSERT_EQ(0, pfns_of(c, ring, np, owned));
	ASSERT_EQ(0, move_range(0, ring, np, c->other, st));
	ASSERT_EQ(0, pfns_of(c, ring, np, pfns));
	refused = vmstat_get("pinpage_isolate_refused") - refused;
	owned_status(_metadata, c, &st1);
	TH_LOG("(b) io_getevents() stalled: pinpage_isolate_refused +%lld; gup_test isolate +%llu, putback +%llu",
	       refused, st1.nr_isolate - st0.nr_isolate, st1.nr_putback - st0.nr_putback);
	for (i = 0; i < np; i++)
		ASSERT_TRUE(st[i] == c->other && pfns[i] != owned[i])
			TH_LOG("ring page %lu did not move while io_getevents() waited in a fault (status %d)",
			       i, st[i]);
	ASSERT_EQ(st1.nr_isolate - st0.nr_isolate, st1.nr_putback - st0.nr_putback);
	zp.range = reg.range;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp)) TH_LOG("UFFDIO_ZEROPAGE: %s",
							       strerror(errno));
	pthread_join(t, NULL);
	ASSERT_EQ(1, g.ret) TH_LOG("io_getevents(): %s", g.ret < 0 ? strerror(g.err) : "no event");
	ASSERT_EQ(0xb0bULL, (uintptr_t)g.ev->data);
	ASSERT_EQ(psize, g.ev->res);

	/* (c) both agree: all pages move back; both owners and pagemap agree on them. */
	job_run(_metadata, &j, 4);
	ASSERT_EQ(0, pfns_of(c, ring, np, owned));
	owned_status(_metadata, c, &st0);
	ASSERT_EQ(0, move_range(0, ring, np, c->home, st));
	owned_status(_metadata, c, &st1);
	ASSERT_EQ(0, pfns_of(c, ring, np, pfns));
	for (i = 0; i < np; i++)
		ASSERT_TRUE(st[i] == c->home && pfns[i] != owned[i])
			TH_LOG("ring page %lu did not move (status %d)", i, st[i]);
	TH_LOG("(c) both agreeing: %lu pages moved; gup_test migrate +%llu", np,
	       st1.nr_migrate - st0.nr_migrate);
	ASSERT_LE(np, st1.nr_migrate - st0.nr_migrate);
	args.addr = (uintptr_t)owned;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_PFNS, &args));
	for (i = 0; i < np; i++)
		ASSERT_EQ(pfns[i], owned[i]) TH_LOG("ring page %lu: gup_test holds pfn %#llx", i,
						    (unsigned long long)owned[i]);
	view = map_anon(c, np * psize);
	copy = map_anon(c, np * psize);
	ASSERT_TRUE(view && copy);
	memcpy(copy, ring, np * psize);
	args.addr = (uintptr_t)view;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_READ, &args));
	ASSERT_EQ(0, memcmp(view, copy, np * psize))
		TH_LOG("gup_test's view differs from the ring");
	job_run(_metadata, &j, 8);
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STOP, &args));
	c->pinned = false;
}

/* A forked child's two contexts, for the mover. */
struct child_info {
	int pid;
	unsigned int np;
	char *ring[2];
};

struct race {
	struct ctx *c;
	struct job *a;			/* ring A: I/O and mremap() in the main thread */
	unsigned long np_a, np;		/* pages of A and of the 64-event rings */
	char *cyc_ring;			/* the cycler's ring of the moment */
	struct child_info *ci;		/* shared with the children */
	int pipe[2], fd;		/* polls that never complete; tmpfs */
	char *buf;
	volatile int stop;
	unsigned long rounds, moved, cycles, forks;
	char err[3][160];		/* mover, cycler, forker */
};

/* Move the @n pages at @ring of @pid: only clean errors. */
static void race_move(struct race *r, pid_t pid, char *ring, unsigned long n, int node)
{
	int st[MAX_RP];
	unsigned long i;
	long ret;

	if (!ring)
		return;
	ret = move_range(pid, ring, n, node, st);
	if (ret && !(pid && (ret == -ESRCH || ret == -EINVAL))) {
		snprintf(r->err[0], sizeof(r->err[0]), "move_pages(pid %d): %s", pid,
			 strerror(-ret));
		return;
	}
	for (i = 0; !ret && i < n; i++) {
		r->moved += st[i] == node;
		if (st[i] < 0 && st[i] != MP_UNSET && st[i] != -EFAULT && st[i] != -ENOENT &&
		    st[i] != -EACCES && st[i] != -EBUSY && st[i] != -EAGAIN && st[i] != -ENOMEM)
			snprintf(r->err[0], sizeof(r->err[0]), "move_pages(pid %d): status %d", pid,
				 st[i]);
	}
}

static void *race_mover(void *arg)
{
	struct race *r = arg;
	int node, pid;
	char *a;

	for (; !r->stop && !r->err[0][0]; r->rounds++) {
		node = r->rounds & 1 ? r->c->home : r->c->other;
		a = (char *)__atomic_load_n(&r->a->ring, __ATOMIC_ACQUIRE);
		race_move(r, 0, a, r->np_a, node);
		race_move(r, 0, __atomic_load_n(&r->cyc_ring, __ATOMIC_ACQUIRE), r->np, node);
		pid = __atomic_load_n(&r->ci->pid, __ATOMIC_ACQUIRE);
		if (pid) {
			race_move(r, pid, r->ci->ring[0], r->np, node);
			race_move(r, pid, r->ci->ring[1], r->np, node);
		}
	}
	return NULL;
}

/* Submit three polls that never complete and @writes tmpfs writes. */
static int submit_inflight(struct race *r, io_context_t ctx, int writes)
{
	struct iocb cb[5], *cbs[5];
	int k;

	for (k = 0; k < 3 + writes; k++) {
		if (k < 3)
			io_prep_poll(&cb[k], r->pipe[0], POLLIN);
		else
			io_prep_pwrite(&cb[k], r->fd, r->buf, psize, 0);
		cbs[k] = &cb[k];
	}
	return io_submit(ctx, 3 + writes, cbs) == 3 + writes ? 0 : -1;
}

/* io_setup(), requests in flight, io_destroy(), while the ring's pages move. */
static void *race_cycler(void *arg)
{
	struct timespec ts = { .tv_sec = 10 };
	struct race *r = arg;
	struct io_event ev[2];
	io_context_t ctx;
	char *e = r->err[1];
	long n;
	int ret;

	for (; !r->stop && !e[0]; r->cycles++) {
		ctx = NULL;
		ret = io_setup(64, &ctx);
		if (ret) {
			snprintf(e, sizeof(r->err[1]), "io_setup: %s", strerror(-ret));
			break;
		}
		__atomic_store_n(&r->cyc_ring, (char *)ctx, __ATOMIC_RELEASE);
		if (submit_inflight(r, ctx, 2))
			snprintf(e, sizeof(r->err[1]), "io_submit of polls and writes failed");
		n = syscall(__NR_io_getevents, ctx, 2, 2, ev, &ts);
		if (!e[0] && (n != 2 || ev[0].res != psize || ev[1].res != psize))
			snprintf(e, sizeof(r->err[1]), "the writes: %ld events", n);
		ret = io_destroy(ctx);
		if (ret && !e[0])
			snprintf(e, sizeof(r->err[1]), "io_destroy with polls in flight: %s",
				 strerror(-ret));
	}
	return NULL;
}

/* The child: two contexts with requests in flight, then exit while they move. */
static void race_child(struct race *r)
{
	io_context_t ctx[2] = { NULL, NULL };
	int i;

	for (i = 0; i < 2; i++) {
		if (io_setup(64, &ctx[i]))
			_exit(2);
		if (submit_inflight(r, ctx[i], 1))
			_exit(3);
		r->ci->ring[i] = (char *)ctx[i];
	}
	__atomic_store_n(&r->ci->pid, getpid(), __ATOMIC_RELEASE);
	usleep(3000);
	_exit(0);
}

static void *race_forker(void *arg)
{
	struct race *r = arg;
	int status = 0;
	pid_t pid;

	for (; !r->stop && !r->err[2][0]; r->forks++) {
		pid = fork();
		if (!pid)
			race_child(r);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			snprintf(r->err[2], sizeof(r->err[2]), "fork/child: %s, status %#x",
				 strerror(errno), status);
		__atomic_store_n(&r->ci->pid, 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *(*const race_fns[3])(void *) = { race_mover, race_cycler, race_forker };

/*
 * mremap() ring A from under the mover and go on with the new id (the old one
 * must give EINVAL); other threads cycle contexts with requests in flight
 * and fork children that exit with theirs.  Nothing but clean errors, and
 * everything accounted for at the end.
 */
TEST_F_TIMEOUT(aio, mremap_destroy_race, 120)
{
	struct ctx *c = &self->c;
	struct race r = { .c = c };
	struct timespec zero = { 0 };
	long long stale = vmstat_get("pinpage_stale_freed"), aio_nr = read_ll(AIO_NR);
	unsigned long remaps = 0, einval = 0, taken = 0;
	pthread_t th[3];
	struct io_event ev;
	char *old, *spot, *p;
	io_context_t ctx;
	struct job j;
	size_t size;
	uint64_t end;
	int i, n = 0;

	ASSERT_LE(0, aio_nr) TH_LOG("no " AIO_NR);
	r.np = ring_pages_for(_metadata, 64);
	ctx_new(_metadata, RING_EVENTS, -1, &ctx);
	job_init(_metadata, c, &j, ctx, false);
	r.a = &j;
	r.np_a = ring_pages(j.ring);
	size = r.np_a * psize;
	r.ci = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.ci);
	r.buf = map_anon(c, psize);
	r.fd = tmpfs_file(c, psize);
	ASSERT_TRUE(r.buf && r.fd >= 0);
	ASSERT_EQ(0, pipe2(r.pipe, O_CLOEXEC));
	add_fd(c, r.pipe[0]);
	add_fd(c, r.pipe[1]);
	spot = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, spot);

	for (n = 0; n < 3; n++)
		if (pthread_create(&th[n], NULL, race_fns[n], &r))
			break;
	for (end = now_ns() + RACE_NS; n == 3 && now_ns() < end && !j.err[0]; ) {
		for (i = 0; i < 4 && !j.err[0]; i++)
			job_round(&j);
		job_drain(&j);
		if (j.err[0])
			break;
		/* Move A onto our placeholder and put a placeholder where it was. */
		old = (char *)j.ring;
		p = mremap(old, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, spot);
		if (p == MAP_FAILED) {
			snprintf(j.err, sizeof(j.err), "mremap of the ring: %s", strerror(errno));
			break;
		}
		__atomic_store_n(&j.ring, (struct aio_ring *)p, __ATOMIC_RELEASE);
		j.ctx = (io_context_t)p;
		remaps++;
		spot = mmap(old, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			    -1, 0);
		if (spot == old) {
			errno = 0;
			if (syscall(__NR_io_getevents, old, 0, 1, &ev, &zero) != -1 ||
			    errno != EINVAL)
				snprintf(j.err, sizeof(j.err), "the old id after mremap: %s",
					 errno ? strerror(errno) : "works");
			einval++;
			continue;
		}
		/* Someone mapped something there already: no check this time. */
		if (spot != MAP_FAILED)
			munmap(spot, size);
		taken++;
		spot = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	r.stop = 1;
	while (n--)
		pthread_join(th[n], NULL);
	job_drain(&j);
	TH_LOG("%lu remaps (%lu old ids checked, %lu taken), %lu I/Os on A; %lu move rounds moved %lu pages; %lu context cycles; %lu children",
	       remaps, einval, taken, j.completed, r.rounds, r.moved, r.cycles, r.forks);
	ASSERT_EQ('\0', j.err[0]) TH_LOG("ring A: %s", j.err);
	for (i = 0; i < 3; i++)
		ASSERT_EQ('\0', r.err[i][0]) TH_LOG("%s", r.err[i]);
	ASSERT_EQ(j.submitted, j.completed);
	ASSERT_LT(0UL, einval);
	ASSERT_LT(0UL, r.moved) TH_LOG("nothing moved: no race happened");
	ASSERT_LT(0UL, r.cycles);
	ASSERT_LT(0UL, r.forks);
	ASSERT_EQ(0, io_destroy(j.ctx));
	for (i = 0; i < 100 && read_ll(AIO_NR) != aio_nr; i++)
		usleep(100000);
	ASSERT_EQ(aio_nr, read_ll(AIO_NR)) TH_LOG(AIO_NR " did not return to its start");
	ASSERT_EQ(c->owners0, wait_owners(c->owners0, 15)) TH_LOG(OWNER_KIND " owners left");
	ASSERT_EQ(stale, vmstat_get("pinpage_stale_freed")) TH_LOG("pages freed with records left");
}

/* The I/O loop through libaio only (io_getevents() looks at the ring first). */
TEST_F_TIMEOUT(aio, libaio, 120)
{
	struct ctx *c = &self->c;
	struct mover m = { .c = c, .how = MV_PAGES };
	io_context_t ctx = NULL;
	struct job j;
	int ret;

	ASSERT_EQ(0, bind_node(c->home));
	ret = io_queue_init(RING_EVENTS, &ctx);
	bind_node(-1);
	ASSERT_EQ(0, ret) TH_LOG("io_queue_init: %s", strerror(-ret));
	/*
	 * Map every ring page: fault-around skips a page that a migration has
	 * locked at that moment, and libaio only touches the header.
	 */
	ring_touch(ctx);
	m.ring = (char *)ctx;
	m.np = ring_pages((struct aio_ring *)ctx);
	job_init(_metadata, c, &j, ctx, true);
	run_job(_metadata, &j, &m, LOOP_MIN_NS, LOOP_MAX_NS);
	ASSERT_EQ(-1, first_unchanged(&m)) TH_LOG("a ring page never changed PFN");
	ASSERT_EQ(0, io_queue_release(ctx));
}

/*
 * Cost: move_pages(2) of a 256-page ring between the nodes, COST_ROUNDS
 * times.  Prints pages moved and ns per page; asserts nothing about either.
 */
TEST_F_TIMEOUT(aio, ring_move_cost, 120)
{
	struct ctx *c = &self->c;
	unsigned long np, i, moved = 0;
	uint64_t ns = 0, t, *pfn0, *pfn1;
	int *nodes, *st, r;
	io_context_t ctx;
	void **pages;
	char *ring;

	ring = (char *)ctx_new(_metadata, COST_EVENTS, c->home, &ctx);
	np = ring_pages((struct aio_ring *)ring);
	ASSERT_LE(256UL, np);
	pages = calloc(np, sizeof(*pages));
	nodes = calloc(np, sizeof(*nodes));
	st = calloc(np, sizeof(*st));
	pfn0 = calloc(np, sizeof(*pfn0));
	pfn1 = calloc(np, sizeof(*pfn1));
	ASSERT_TRUE(pages && nodes && st && pfn0 && pfn1);
	for (i = 0; i < np; i++)
		pages[i] = ring + i * psize;
	for (r = 0; r < COST_ROUNDS; r++) {
		for (i = 0; i < np; i++)
			nodes[i] = r & 1 ? c->home : c->other;
		ASSERT_EQ(0, pfns_of(c, ring, np, pfn0));
		t = now_ns();
		ASSERT_LE(0, syscall(__NR_move_pages, 0, np, pages, nodes, st, MPOL_MF_MOVE))
			TH_LOG("move_pages: %s", strerror(errno));
		ns += now_ns() - t;
		ASSERT_EQ(0, pfns_of(c, ring, np, pfn1));
		for (i = 0; i < np; i++)
			moved += pfn0[i] != pfn1[i];
	}
	ksft_print_msg("ring_move_cost: %lu pages, %llu ns/page\n", moved,
		       moved ? (unsigned long long)(ns / moved) : 0ULL);
	fflush(stdout);
}

TEST_HARNESS_MAIN
