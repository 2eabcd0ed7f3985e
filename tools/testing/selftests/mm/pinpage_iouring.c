// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage_iouring: io_uring registered buffers as pinpage owners.
 *
 * Every io_mapped_ubuf (IORING_REGISTER_BUFFERS, BUFFERS2, BUFFERS_UPDATE,
 * CLONE_BUFFERS) is an owner of kind "io_uring_buf" in
 * /sys/kernel/debug/pinpage/owners, so the VM may move its pages: the owner
 * waits for (or, in MIGRATE_ASYNC, refuses while) requests doing I/O on the
 * buffer, and repoints the buffer's bio_vecs to the new pages.  Their owners
 * are unbounded: their pins leave ZONE_MOVABLE and CMA when they are taken,
 * as on stock (the movable_* and cma_alloc cases, run in the
 * pinpage-iouring-movable group, boot with movablecore= and cma=).  The
 * cases check real effects:
 * PFNs from /proc/self/pagemap, /proc/vmstat counters, the owners file and
 * the bytes that went through io_uring.
 *
 *  - rw.fixed_rw_move_pages: WRITE_FIXED/READ_FIXED loop (tmpfs, O_DIRECT on
 *    zram, small pages and THPs) while another thread moves the buffers
 *    between two nodes with move_pages(2).
 *  - iou.fixed_rw_compaction: the same loop while compaction runs, the
 *    buffers placed low in their zone so that compaction must move them.
 *  - iou.nested_rings: one set of pages registered in two rings and cloned
 *    into a third; owners shared and separate; unregistering one ring.
 *  - iou.with_gup_owner, iou.unowned_pin_stays: a gup_test owned pin next
 *    to io_uring's (both repointed), an unowned pin (nothing moves).
 *  - iou.isolated_buffer_no_block: a READ_FIXED submitted while a migration
 *    holds its buffer isolated goes to io-wq instead of sleeping in
 *    io_uring_enter() with uring_lock held.
 *  - iou.long_inflight: a buffer under a slow read (null_blk completing
 *    after completion_nsec) does not move, an idle one of the same ring does.
 *  - iou.parked_pipe_read: a read parked on an empty pipe does not hold its
 *    buffer; it lands on the new page.
 *  - iou.send_zc_holds: SEND_ZC holds its buffer until the notification.
 *  - iou.bad_input: registrations that must fail, and some that must not;
 *    nothing stays pinned or owned.
 *  - iou.teardown_races: register/update/unregister/close against
 *    move_pages(2) and fork().
 *  - iou.ring_memory_moves{,_defer,_taskrun_flag,_sqpoll}: a ring set up
 *    with IORING_SETUP_NO_MMAP and a provided buffer ring in application
 *    memory (owners of kind "io_uring_mem"): reads through kernel-selected
 *    buffers, inline and through io-wq, while SQE, SQ/CQ ring and buffer
 *    ring pages move.
 *  - iou.ring_memory_bad_input: unaligned, unmapped and read-only ring memory
 *    gets stock's errors; nothing stays owned or pinned.
 *  - iou.movable_buffers_leave, iou.movable_offline, iou.cma_alloc: buffers
 *    faulted in ZONE_MOVABLE or CMA leave it at registration, keep their
 *    data and never move back; the block goes offline, the area allocates.
 *  - iou.movable_ring_memory: the same memory in ZONE_MOVABLE leaves it at
 *    setup, as on stock (the owners are not bounded), works and moves.
 *  - iou.switch_off: vm.pinpage_migrate=0 keeps registered buffers in place;
 *    buffers registered meanwhile get no owner and never move.
 *
 * Needs root and CONFIG_PINPAGE (skips without them); anything else missing
 * (a second node, debugfs, gup_test, zram, null_blk, loopback TCP) fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/mempolicy.h>
#include <linux/types.h>

#if __has_include("local_config.h")
#include "local_config.h"
#else
#define LOCAL_CONFIG_HAVE_LIBURING 1	/* built by hand, with -luring */
#endif

#ifdef LOCAL_CONFIG_HAVE_LIBURING
#include "../../../../mm/gup_test.h"
/*
 * kselftest_harness.h is not clean with -Wextra: an unused parameter, and the
 * TEST_F() wrappers (expanded in this file) keep a non-volatile local across
 * setjmp().  Nothing here uses setjmp() itself.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "../kselftest_harness.h"
#pragma GCC diagnostic pop
#include "pinpage_util.h"
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

/* The kernel's UAPI first: liburing 2.3's copy predates CLONE_BUFFERS. */
#include <linux/io_uring.h>
#include <liburing.h>

#define PINPAGE_SYSCTL	"/proc/sys/vm/pinpage_migrate"
#define OWNERS_PATH	"/sys/kernel/debug/pinpage/owners"
#define OWNER_KIND	"io_uring_buf"
#define GUP_TEST_PATH	"/sys/kernel/debug/gup_test"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_PMD_SIZE	"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"
#define NULLB_PARAMS	"/sys/module/null_blk/parameters"

#define NR_BUFS		64		/* buffers per set in the I/O loops */
#define MAX_BUFS	(2 * NR_BUFS)
#define MAX_MAPS	16
#define MAX_FDS		16
#define MAX_ZONES	64
#define MAXNODE		1024
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN(e)	((e) & ((1ULL << 55) - 1))
#define KPF_THP		22
#define MP_UNSET	(-1000)		/* move_pages() left the status alone */
#define LOOP_MIN_NS	(3 * NSEC)	/* I/O loops: at least, ... */
#define LOOP_MAX_NS	(8 * NSEC)	/* ... and at most (move_pages) */
#define COMPACT_PASSES	20	/* passes before a compaction case gives up */
#define STEER_SAMPLE	(128UL << 20)	/* fault this much from DMA32/Normal first */
#define STEER_MAX	(1UL << 30)
#define RACE_NS		(3 * NSEC)

static size_t psize;

struct ctx {
	int pagemap_fd;
	int kpageflags_fd;
	int gup_fd;
	int home, other;		/* two nodes with memory */
	char saved_migrate[16];
	bool restore_migrate;
	char saved_thp[32];		/* THP "enabled" to restore, or "" */
	int zram_id;			/* zram device to remove, or -1 */
	bool lo_was_down;
	bool owned_pin, unowned_pin;	/* gup_test pins to drop */
	int owners0;			/* io_uring_buf owners before the test */
	long long pins0;		/* pins held before the test */
	struct io_uring ring[3];
	bool ring_up[3];
	int fds[MAX_FDS];
	int nr_fds;
	struct { void *addr; size_t len; } maps[MAX_MAPS];
	int nr_maps;
};

/* One fixed-buffer I/O: @len bytes at @addr (registered index @idx) and file offset @off. */
struct seg {
	char *addr;
	unsigned int len;
	int idx;
	off_t off;
};

struct zone_rec {
	int node;
	char name[16];
	unsigned long start, spanned;
};

/* --- small helpers --- */

/* Pins held system-wide, with the per-cpu differences folded in. */
static long long pins_held(void)
{
	write_str("/proc/sys/vm/stat_refresh", "1");
	return vmstat_get("nr_foll_pin_acquired") - vmstat_get("nr_foll_pin_released");
}

static long long wait_pins(long long want, int secs)
{
	uint64_t end = now_ns() + secs * NSEC;
	long long held;

	while ((held = pins_held()) != want && now_ns() < end)
		usleep(50000);
	return held;
}

struct owners {
	int nr;			/* io_uring_buf owners */
	long pins;		/* their pins */
	int bounded;		/* of them declaring bounded isolation */
};

/* Lines "<ptr> <kind> <bounded> <pins>" of owners of @kind: 0 or -errno. */
static int owners_read_kind(struct owners *o, const char *owner_kind)
{
	char line[256], ptr[64], kind[64];
	int bounded;
	long pins;
	FILE *f = fopen(OWNERS_PATH, "r");

	memset(o, 0, sizeof(*o));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    sscanf(line, "%63s %63s %d %ld", ptr, kind, &bounded, &pins) != 4 ||
		    strcmp(kind, owner_kind))
			continue;
		o->nr++;
		o->pins += pins;
		o->bounded += bounded != 0;
	}
	fclose(f);
	return 0;
}

static int owners_read(struct owners *o)
{
	return owners_read_kind(o, OWNER_KIND);
}

static int owners_nr(void)
{
	struct owners o;

	return owners_read(&o) ? -1 : o.nr;
}

/* Ring teardown is asynchronous: wait until @want owners are left. */
static int wait_owners(int want, int secs)
{
	uint64_t end = now_ns() + secs * NSEC;
	int nr;

	while ((nr = owners_nr()) != want && now_ns() < end)
		usleep(20000);
	return nr;
}

/* Contents: a stream of 64-bit words derived from @seed and the offset. */
static void fill(void *buf, size_t len, uint64_t seed)
{
	size_t i;
	uint64_t w;

	for (i = 0; i < len; i += 8) {
		w = mix(seed * 0x100000001b3ULL + i / 8);
		memcpy((char *)buf + i, &w, len - i < 8 ? len - i : 8);
	}
}

/* Offset of the first byte that is not what fill() wrote, or -1. */
static long check(const void *buf, size_t len, uint64_t seed)
{
	size_t i;
	uint64_t w;

	for (i = 0; i < len; i += 8) {
		w = mix(seed * 0x100000001b3ULL + i / 8);
		if (memcmp((const char *)buf + i, &w, len - i < 8 ? len - i : 8))
			return i;
	}
	return -1;
}

static uint64_t seed_of(uint64_t round, int k)
{
	return round * 1000003 + k + 1;
}

/* --- memory: mappings, nodes, PFNs --- */

static char *map_anon(struct ctx *c, size_t len, bool thp)
{
	size_t pmd = thp ? len : 0;
	char *p, *a;

	if (c->nr_maps == MAX_MAPS)
		return NULL;
	p = mmap(NULL, len + pmd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = p;
	if (thp) {
		a = (char *)(((uintptr_t)p + pmd - 1) & ~(uintptr_t)(pmd - 1));
		if (a != p)
			munmap(p, a - p);
		munmap(a + len, p + len + pmd - (a + len));
	}
	c->maps[c->nr_maps].addr = a;
	c->maps[c->nr_maps++].len = len;
	madvise(a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

static int add_fd(struct ctx *c, int fd)
{
	if (fd >= 0 && c->nr_fds < MAX_FDS)
		c->fds[c->nr_fds++] = fd;
	return fd;
}

static int bind_node(int node)
{
	unsigned long mask[MAXNODE / 64] = { 0 };

	if (node < 0)
		return syscall(__NR_set_mempolicy, MPOL_DEFAULT, NULL, 0) ? -errno : 0;
	mask[node / 64] = 1UL << (node % 64);
	return syscall(__NR_set_mempolicy, MPOL_BIND, mask, MAXNODE + 1) ? -errno : 0;
}

static long sys_move_pages(unsigned long n, void **pages, const int *nodes, int *status)
{
	return syscall(__NR_move_pages, 0, n, pages, nodes, status, nodes ? MPOL_MF_MOVE : 0);
}

/*
 * Move the page at @p to @node.  The node it is on afterwards, a negative
 * errno (its status, or move_pages() failing), or MP_UNSET when the
 * migration failed: move_pages() then returns a positive count and leaves
 * the status alone.
 */
static int move_one(void *p, int node)
{
	int status = MP_UNSET;

	if (sys_move_pages(1, &p, &node, &status) < 0)
		return -errno;
	return status;
}

/* Move @n pages from @base to @node in one call; its return value. */
static long move_range(char *base, unsigned long n, int node, int *status)
{
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes));
	unsigned long i;
	long ret = -ENOMEM;

	for (i = 0; pages && nodes && i < n; i++) {
		pages[i] = base + i * psize;
		nodes[i] = node;
		status[i] = MP_UNSET;
	}
	if (pages && nodes) {
		ret = sys_move_pages(n, pages, nodes, status);
		if (ret < 0)
			ret = -errno;
	}
	free(pages);
	free(nodes);
	return ret;
}

/* The node of each of @n pages at @base (move_pages() without nodes). */
static int nodes_of(char *base, unsigned long n, int *status)
{
	void **pages = calloc(n, sizeof(*pages));
	unsigned long i;
	long ret = -ENOMEM;

	for (i = 0; pages && i < n; i++)
		pages[i] = base + i * psize;
	if (pages)
		ret = sys_move_pages(n, pages, NULL, status) ? -errno : 0;
	free(pages);
	return ret;
}

/*
 * PFNs of the @n pages at @addr; -ENOENT if one is not present (for a
 * while: a migration by someone else, kcompactd say, unmaps it briefly).
 */
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

static uint64_t pfn_at(struct ctx *c, const char *addr)
{
	uint64_t pfn;

	return pfns_of(c, addr, 1, &pfn) ? 0 : pfn;
}

/*
 * Fault @len bytes at @addr on @node (memory policy bound while touching)
 * and check that they are there: -1, or the index of a page elsewhere.
 */
static long fault_on(char *addr, size_t len, int node)
{
	unsigned long n = len / psize, i;
	int *st = calloc(n, sizeof(*st));
	long bad = 0;

	if (!st || bind_node(node))
		goto out;
	memset(addr, 0, len);
	bind_node(-1);
	if (nodes_of(addr, n, st))
		goto out;
	for (i = 0, bad = -1; i < n && bad < 0; i++)
		if (st[i] != node)
			bad = i;
out:
	free(st);
	return bad;
}

static size_t pmd_size(void)
{
	long long v = read_ll(THP_PMD_SIZE);

	return v > 0 ? v : 0;
}

/* Is [@addr, +@len) one PMD-mapped THP (contiguous, aligned, KPF_THP)? */
static bool is_thp(struct ctx *c, char *addr, size_t len)
{
	unsigned long n = len / psize, i;
	uint64_t *pfns = calloc(n, sizeof(*pfns)), *flags = calloc(n, sizeof(*flags));
	bool ok = pfns && flags && !pfns_of(c, addr, n, pfns) && !(pfns[0] % n) &&
		  pread(c->kpageflags_fd, flags, n * sizeof(*flags), pfns[0] * sizeof(*flags)) ==
		  (ssize_t)(n * sizeof(*flags));

	for (i = 0; ok && i < n; i++)
		ok = pfns[i] == pfns[0] + i && (flags[i] & (1ULL << KPF_THP));
	free(pfns);
	free(flags);
	return ok;
}

/* Let MADV_HUGEPAGE regions have THPs; teardown restores the setting. */
static int thp_enable(struct ctx *c)
{
	char buf[128];
	int ret;

	ret = read_str(THP_ENABLED, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (!strstr(buf, "[never]"))
		return 0;
	ret = write_str(THP_ENABLED, "madvise");
	if (!ret)
		snprintf(c->saved_thp, sizeof(c->saved_thp), "never");
	return ret;
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
		usleep(100000);		/* a closing ring may still hold the file */
	}
	return ret;
}

/* Bring lo up (or, @up false, down again): 0 or -errno. */
static int lo_set(struct ctx *c, bool up)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ret = -errno;
	} else if (!!(ifr.ifr_flags & IFF_UP) != up) {
		ifr.ifr_flags ^= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			ret = -errno;
		else if (up)
			c->lo_was_down = true;
	}
	close(s);
	return ret;
}

/* --- zones, compaction and placing buffers low in a zone --- */

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

/* The DMA32/Normal zone holding @pfn (compaction's zones here), or -1. */
static int zone_at(const struct zone_rec *z, int n, uint64_t pfn)
{
	int i;

	for (i = 0; i < n; i++)
		if (pfn >= z[i].start && pfn < z[i].start + z[i].spanned)
			return strcmp(z[i].name, "DMA32") && strcmp(z[i].name, "Normal") ? -1 : i;
	return -1;
}

static void dontneed(char *chunk, unsigned long from, unsigned long to)
{
	if (to > from)
		madvise(chunk + from * psize, (to - from) * psize, MADV_DONTNEED);
}

/*
 * Compaction moves pages from the bottom of a zone to free pages at its top,
 * and takes no target from a wholly free pageblock.  So fault @npages-page
 * chunks until STEER_SAMPLE came from DMA32/Normal, keep the lowest chunk
 * that lies in the lower half of one zone, and of the other chunks keep one
 * page per pageblock above it (free room the free scanner will use).
 * Small pages; teardown unmaps it all.
 */
static char *steer_low(struct __test_metadata *_metadata, struct ctx *c, unsigned long npages,
		       struct zone_rec *zone)
{
	size_t chunk = npages * psize, limit;
	unsigned long nr_chunks, i, j, from, hits = 0, pb, nr_pb, idx;
	uint64_t *pfns = calloc(npages, sizeof(*pfns)), hi, best_hi = UINT64_MAX;
	struct zone_rec zones[MAX_ZONES];
	int nz, z, best_z = -1;
	char *map, *ch, *best = NULL;
	unsigned char *kept;
	bool fits;

	ASSERT_NE(NULL, pfns);
	nz = read_zones(zones, MAX_ZONES);
	ASSERT_LT(0, nz) TH_LOG("cannot read /proc/zoneinfo");
	limit = sysconf(_SC_AVPHYS_PAGES) * psize / 2;
	if (limit > STEER_MAX)
		limit = STEER_MAX;
	nr_chunks = limit / chunk;
	map = map_anon(c, nr_chunks * chunk, false);
	ASSERT_NE(NULL, map);
	for (i = 0; i < nr_chunks && !(best && hits * psize >= STEER_SAMPLE); i++) {
		ch = map + i * chunk;
		for (j = 0; j < npages; j++)
			ch[j * psize] = 1;
		if (pfns_of(c, ch, npages, pfns))
			continue;
		z = zone_at(zones, nz, pfns[0]);
		hi = 0;
		for (j = 0, fits = z >= 0; j < npages; j++) {
			hits += zone_at(zones, nz, pfns[j]) >= 0;
			fits = fits && zone_at(zones, nz, pfns[j]) == z &&
			       pfns[j] < zones[z].start + zones[z].spanned / 2;
			hi = pfns[j] > hi ? pfns[j] : hi;
		}
		if (fits && hi < best_hi) {
			best = ch;
			best_hi = hi;
			best_z = z;
		}
	}
	ASSERT_NE(NULL, best)
		TH_LOG("no %lu-page chunk landed in the lower half of a DMA32/Normal zone (%lu MiB faulted)",
		       npages, i * chunk >> 20);
	*zone = zones[best_z];
	pb = pmd_size() ? pmd_size() / psize : 512;
	nr_pb = zone->spanned / pb + 2;
	kept = calloc(nr_pb, 1);
	ASSERT_NE(NULL, kept);
	for (nr_chunks = i, i = 0; i < nr_chunks; i++) {
		ch = map + i * chunk;
		if (ch == best)
			continue;
		if (pread(c->pagemap_fd, pfns, npages * sizeof(*pfns),
			  (uintptr_t)ch / psize * sizeof(*pfns)) != (ssize_t)(npages * sizeof(*pfns)))
			continue;
		for (from = 0, j = 0; j < npages; j++) {
			if (!(pfns[j] & PM_PRESENT) || PM_PFN(pfns[j]) <= best_hi ||
			    zone_at(zones, nz, PM_PFN(pfns[j])) != best_z)
				continue;
			idx = (PM_PFN(pfns[j]) - zone->start) / pb;
			if (idx >= nr_pb || kept[idx])
				continue;
			kept[idx] = 1;
			dontneed(ch, from, j);
			from = j + 1;
		}
		dontneed(ch, from, npages);
	}
	free(kept);
	free(pfns);
	TH_LOG("buffer of %lu pages in node %d %s below pfn %#llx (zone pfn %#lx + %lu), after %lu MiB faulted",
	       npages, zone->node, zone->name, (unsigned long long)best_hi, zone->start,
	       zone->spanned, nr_chunks * chunk >> 20);
	return best;
}

/* --- io_uring --- */

static void ring_init(struct __test_metadata *_metadata, struct ctx *c, int i, unsigned int n)
{
	int ret = io_uring_queue_init(n, &c->ring[i], 0);

	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s (kernel.io_uring_disabled?)",
				 strerror(-ret));
	c->ring_up[i] = true;
}

static void ring_exit(struct ctx *c, int i)
{
	if (c->ring_up[i])
		io_uring_queue_exit(&c->ring[i]);
	c->ring_up[i] = false;
}

static int wait_cqe(struct io_uring *r, struct io_uring_cqe **cqe, unsigned int secs)
{
	struct __kernel_timespec ts = { .tv_sec = secs };

	return io_uring_wait_cqe_timeout(r, cqe, &ts);
}

/* user_data of io_batch() requests: other CQEs (buffer tags) are not theirs. */
#define IO_BATCH_UD	(1ULL << 40)

/*
 * Submit @n fixed-buffer reads or writes and reap them: 0, or -1 with
 * @err saying which went wrong (a CQE's res must be the length).  CQEs that
 * are not ours (a tagged buffer's removal posts one) are skipped.
 */
static int io_batch(struct io_uring *r, bool write, int fd, const struct seg *s, int n,
		    char *err, size_t errlen)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int k, ret, bad = -1, res = 0;

	for (k = 0; k < n; k++) {
		sqe = io_uring_get_sqe(r);
		if (!sqe) {
			snprintf(err, errlen, "no SQE for request %d", k);
			return -1;
		}
		if (write)
			io_uring_prep_write_fixed(sqe, fd, s[k].addr, s[k].len, s[k].off, s[k].idx);
		else
			io_uring_prep_read_fixed(sqe, fd, s[k].addr, s[k].len, s[k].off, s[k].idx);
		sqe->user_data = IO_BATCH_UD + k;
	}
	ret = io_uring_submit(r);
	if (ret != n) {
		snprintf(err, errlen, "io_uring_submit: %d of %d", ret, n);
		return -1;
	}
	for (k = 0; k < n;) {
		ret = wait_cqe(r, &cqe, 30);
		if (ret) {
			snprintf(err, errlen, "waiting for CQE %d of %d: %s", k, n, strerror(-ret));
			return -1;
		}
		if (cqe->user_data >= IO_BATCH_UD && cqe->user_data < IO_BATCH_UD + n) {
			if (cqe->res != (int)s[cqe->user_data - IO_BATCH_UD].len && bad < 0) {
				bad = cqe->user_data - IO_BATCH_UD;
				res = cqe->res;
			}
			k++;
		}
		io_uring_cqe_seen(r, cqe);
	}
	if (bad < 0)
		return 0;
	snprintf(err, errlen, "%s_FIXED of buffer %d (%u bytes at %p, file offset %lld): res %d%s%s",
		 write ? "WRITE" : "READ", s[bad].idx, s[bad].len, s[bad].addr,
		 (long long)s[bad].off, res, res < 0 ? " " : "", res < 0 ? strerror(-res) : "");
	return -1;
}

/* @n one-page segments from @base, registered from index @idx0, file offset i pages. */
static void page_segs(struct seg *s, char *base, int n, int idx0)
{
	int i;

	for (i = 0; i < n; i++)
		s[i] = (struct seg){ base + i * psize, psize, idx0 + i, (off_t)i * psize };
}

static void page_iovs(struct iovec *iov, char *base, int n)
{
	int i;

	for (i = 0; i < n; i++)
		iov[i] = (struct iovec){ base + i * psize, psize };
}

/* Fill @n pages at @buf, WRITE_FIXED them, and check the file with pread(). */
static void write_check(struct __test_metadata *_metadata, struct io_uring *r, int fd,
			char *buf, int n, int idx0, uint64_t round)
{
	char err[256] = "", *tmp = malloc(psize);
	struct seg s[MAX_BUFS];
	long off;
	int i;

	ASSERT_NE(NULL, tmp);
	page_segs(s, buf, n, idx0);
	for (i = 0; i < n; i++)
		fill(s[i].addr, psize, seed_of(round, i));
	ASSERT_EQ(0, io_batch(r, true, fd, s, n, err, sizeof(err))) TH_LOG("%s", err);
	for (i = 0; i < n; i++) {
		ASSERT_EQ((ssize_t)psize, pread(fd, tmp, psize, s[i].off));
		off = check(tmp, psize, seed_of(round, i));
		ASSERT_EQ(-1, off) TH_LOG("WRITE_FIXED from buffer %d wrote wrong data (byte %ld)",
					  s[i].idx, off);
	}
	free(tmp);
}

/* pwrite() a pattern, READ_FIXED it into @n pages at @buf, check the user mapping. */
static void read_check(struct __test_metadata *_metadata, struct io_uring *r, int fd,
		       char *buf, int n, int idx0, uint64_t round)
{
	char err[256] = "", *tmp = malloc(psize);
	struct seg s[MAX_BUFS];
	long off;
	int i;

	ASSERT_NE(NULL, tmp);
	page_segs(s, buf, n, idx0);
	for (i = 0; i < n; i++) {
		fill(tmp, psize, seed_of(round, i));
		ASSERT_EQ((ssize_t)psize, pwrite(fd, tmp, psize, s[i].off));
	}
	memset(buf, 0x5a, n * psize);
	ASSERT_EQ(0, io_batch(r, false, fd, s, n, err, sizeof(err))) TH_LOG("%s", err);
	for (i = 0; i < n; i++) {
		off = check(s[i].addr, psize, seed_of(round, i));
		ASSERT_EQ(-1, off) TH_LOG("READ_FIXED into buffer %d: user mapping differs at byte %ld",
					  s[i].idx, off);
	}
	free(tmp);
}

/* --- the mover thread: move_pages(2) back and forth, or compaction --- */

struct mover {
	struct ctx *c;
	bool compaction;
	int node;			/* compaction: the node to compact */
	void *pages[MAX_BUFS];		/* move_pages(): one address per folio */
	int nr;
	char *reg[3];			/* the buffer sets, for pagemap */
	int nr_reg;
	unsigned long reg_pages;	/* pages in each */
	volatile int stop, done;
	unsigned long rounds, calls, moved, unset, errors;
	int last_error;
	unsigned long nr_pfns, nr_changed;
	uint64_t *pfn0, *pfn;
	bool *changed;
	char err[160];
};

/* Read the PFNs of the buffer sets and note those that differ from the start. */
static int mover_scan(struct mover *m)
{
	unsigned long i, r;
	int ret;

	for (r = 0; r < (unsigned long)m->nr_reg; r++) {
		ret = pfns_of(m->c, m->reg[r], m->reg_pages, m->pfn + r * m->reg_pages);
		if (ret)
			return ret;
	}
	for (i = 0; i < m->nr_pfns; i++) {
		if (!m->changed[i] && m->pfn[i] != m->pfn0[i]) {
			m->changed[i] = true;
			m->nr_changed++;
		}
	}
	return 0;
}

static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	int where[MAX_BUFS], target, st, i, ret;

	for (i = 0; i < m->nr; i++)
		where[i] = m->c->home;
	while (!m->stop && !m->err[0]) {
		if (m->compaction) {
			if (m->rounds == COMPACT_PASSES || m->nr_changed)
				break;
			ret = compact_pass(m->node, m->rounds);
			if (ret)
				snprintf(m->err, sizeof(m->err), "compaction: %s", strerror(-ret));
		} else {
			target = m->rounds & 1 ? m->c->home : m->c->other;
			for (i = 0; i < m->nr && !m->stop; i++, m->calls++) {
				st = move_one(m->pages[i], target);
				if (st == target) {
					m->moved += where[i] != target;
					where[i] = target;
				} else if (st == MP_UNSET) {
					m->unset++;
				} else {
					m->errors++;
					m->last_error = st;
				}
			}
		}
		m->rounds++;
		ret = mover_scan(m);
		if (ret)
			snprintf(m->err, sizeof(m->err), "pagemap: %s", strerror(-ret));
	}
	m->done = 1;
	return NULL;
}

struct rw_job {
	struct io_uring *ring;
	int fd;
	struct seg *w, *r;		/* written from, read into */
	int n;
	unsigned long iters;
	char err[256];
};

/* One round of the loop: fill w, write it out, read it into r, compare. */
static int rw_round(struct rw_job *j)
{
	long off;
	int k;

	for (k = 0; k < j->n; k++)
		fill(j->w[k].addr, j->w[k].len, seed_of(j->iters, k));
	if (io_batch(j->ring, true, j->fd, j->w, j->n, j->err, sizeof(j->err)))
		return -1;
	for (k = 0; k < j->n; k++)
		memset(j->r[k].addr, 0xa5, j->r[k].len);
	if (io_batch(j->ring, false, j->fd, j->r, j->n, j->err, sizeof(j->err)))
		return -1;
	for (k = 0; k < j->n; k++) {
		off = check(j->r[k].addr, j->r[k].len, seed_of(j->iters, k));
		if (off < 0)
			off = check(j->w[k].addr, j->w[k].len, seed_of(j->iters, k));
		if (off >= 0) {
			snprintf(j->err, sizeof(j->err),
				 "round %lu, segment %d (%u bytes at +%#lx): %s buffer differs at byte %ld",
				 j->iters, k, j->w[k].len, (unsigned long)(j->w[k].addr - j->w[0].addr),
				 check(j->r[k].addr, j->r[k].len, seed_of(j->iters, k)) >= 0 ?
				 "read-back" : "written", off);
			return -1;
		}
	}
	return 0;
}

/*
 * Run the I/O loop in this thread and @m in another until the mover has done
 * its part (every page changed PFN and two rounds, or compaction moved one)
 * or time is up.  Nothing asserts until the mover is joined.
 */
static uint64_t run_rw(struct __test_metadata *_metadata, struct rw_job *j, struct mover *m,
		       uint64_t min_ns, uint64_t max_ns)
{
	uint64_t t0 = now_ns(), el = 0;
	pthread_t t;
	int ret;

	ASSERT_EQ(0, mover_scan(m));
	m->nr_changed = 0;
	memcpy(m->pfn0, m->pfn, m->nr_pfns * sizeof(*m->pfn));
	memset(m->changed, 0, m->nr_pfns * sizeof(*m->changed));
	ret = pthread_create(&t, NULL, mover_fn, m);
	ASSERT_EQ(0, ret);
	while (!j->err[0] && !rw_round(j)) {
		j->iters++;
		el = now_ns() - t0;
		if (el >= max_ns)
			break;
		if (el < min_ns)
			continue;
		if (m->done || (!m->compaction && m->rounds >= 2 && m->nr_changed == m->nr_pfns))
			break;
	}
	m->stop = 1;
	pthread_join(t, NULL);
	return now_ns() - t0;
}

static void mover_alloc(struct __test_metadata *_metadata, struct mover *m, struct ctx *c,
			char *w, char *r, size_t setsize)
{
	m->c = c;
	m->reg[0] = w;
	m->reg[1] = r;
	m->reg[2] = NULL;
	m->nr_reg = 2;
	m->reg_pages = setsize / psize;
	m->nr_pfns = 3 * m->reg_pages;
	m->pfn0 = calloc(m->nr_pfns, sizeof(*m->pfn0));
	m->pfn = calloc(m->nr_pfns, sizeof(*m->pfn));
	m->changed = calloc(m->nr_pfns, sizeof(*m->changed));
	ASSERT_TRUE(m->pfn0 && m->pfn && m->changed);
	m->nr_pfns = 2 * m->reg_pages;
}

/* A third set of the same size for @m to watch (mover_alloc() made room). */
static void mover_add_set(struct mover *m, char *set)
{
	m->reg[m->nr_reg++] = set;
	m->nr_pfns += m->reg_pages;
}

static void mover_free(struct mover *m)
{
	free(m->pfn0);
	free(m->pfn);
	free(m->changed);
}

static long first_unchanged(const struct mover *m)
{
	unsigned long i;

	for (i = 0; i < m->nr_pfns; i++)
		if (!m->changed[i])
			return i;
	return -1;
}

/* --- fixture setup and teardown --- */

static void ctx_setup(struct __test_metadata *_metadata, struct ctx *c)
{
	char list[256];
	int a, b, n, ret;

	c->pagemap_fd = c->kpageflags_fd = c->gup_fd = c->zram_id = -1;
	if (geteuid())
		SKIP(return, "needs root");
	if (read_str(PINPAGE_SYSCTL, c->saved_migrate, sizeof(c->saved_migrate)) < 0)
		SKIP(return, "no " PINPAGE_SYSCTL " (CONFIG_PINPAGE=n)");
	psize = sysconf(_SC_PAGESIZE);
	c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, c->pagemap_fd) TH_LOG("/proc/self/pagemap: %s", strerror(errno));
	c->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	ASSERT_LE(0, c->kpageflags_fd) TH_LOG("/proc/kpageflags: %s", strerror(errno));
	ASSERT_EQ(0, access(OWNERS_PATH, R_OK))
		TH_LOG("cannot read " OWNERS_PATH ": %s (debugfs mounted?)", strerror(errno));
	n = 0;
	ret = read_str(NODE_SYSFS "/has_memory", list, sizeof(list));
	if (ret > 0)
		n = sscanf(list, "%d%*[-,]%d", &a, &b);
	ASSERT_EQ(2, n) TH_LOG("needs two NUMA nodes with memory; has_memory: \"%s\"",
			       ret > 0 ? list : strerror(-ret));
	c->home = a;
	c->other = b;
	/* Rings of the previous case may still be going away. */
	c->owners0 = wait_owners(0, 10);
	ASSERT_LE(0, c->owners0);
	if (c->owners0)
		TH_LOG("%d io_uring_buf owners left from before", c->owners0);
	for (n = 0, c->pins0 = pins_held(); n < 20; n++) {
		usleep(100000);
		if (pins_held() == c->pins0)
			break;
		c->pins0 = pins_held();
	}
	/* Last: the only change to the system, undone by teardown. */
	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "1"));
	c->restore_migrate = true;
}

static void ctx_teardown(struct __test_metadata *_metadata, struct ctx *c)
{
	int i, ret;

	for (i = 0; i < 3; i++)
		ring_exit(c, i);
	if (c->unowned_pin && ioctl(c->gup_fd, PIN_LONGTERM_TEST_STOP))
		TH_LOG("PIN_LONGTERM_TEST_STOP: %s", strerror(errno));
	if (c->owned_pin) {
		struct pin_owned_test args = { .owner = 0 };

		/* Not slow, not refusing, for the next case. */
		ioctl(c->gup_fd, PIN_OWNED_TEST_CONFIG, &args);
		if (ioctl(c->gup_fd, PIN_OWNED_TEST_STOP, &args))
			TH_LOG("PIN_OWNED_TEST_STOP: %s", strerror(errno));
	}
	for (i = 0; i < c->nr_fds; i++)
		close(c->fds[i]);
	for (i = 0; i < c->nr_maps; i++)
		munmap(c->maps[i].addr, c->maps[i].len);
	if (c->zram_id >= 0) {
		ret = zram_remove(c);
		if (ret)
			TH_LOG("removing zram%d: %s", c->zram_id, strerror(-ret));
	}
	if (c->saved_thp[0] && write_str(THP_ENABLED, c->saved_thp))
		TH_LOG("restoring " THP_ENABLED " failed");
	if (c->lo_was_down && lo_set(c, false))
		TH_LOG("bringing lo down again failed");
	if (c->restore_migrate && write_str(PINPAGE_SYSCTL, c->saved_migrate))
		TH_LOG("restoring " PINPAGE_SYSCTL " failed");
	if (c->gup_fd >= 0)
		close(c->gup_fd);
	close(c->kpageflags_fd);
	close(c->pagemap_fd);
}

/* Close every ring; the owners and pins must go with them. */
static void check_released(struct __test_metadata *_metadata, struct ctx *c)
{
	int i, nr;
	long long held;

	for (i = 0; i < 3; i++)
		ring_exit(c, i);
	nr = wait_owners(c->owners0, 15);
	ASSERT_EQ(c->owners0, nr) TH_LOG("io_uring_buf owners left after closing the rings");
	held = wait_pins(c->pins0, 15);
	ASSERT_EQ(c->pins0, held) TH_LOG("pins left after closing the rings");
}

static void open_gup(struct __test_metadata *_metadata, struct ctx *c)
{
	c->gup_fd = open(GUP_TEST_PATH, O_RDWR);
	ASSERT_LE(0, c->gup_fd) TH_LOG("cannot open " GUP_TEST_PATH ": %s (CONFIG_GUP_TEST?)",
				       strerror(errno));
}

/* A buffer of @n small pages on the home node, filled. */
static char *small_buf(struct __test_metadata *_metadata, struct ctx *c, unsigned long n)
{
	char *buf = map_anon(c, n * psize, false);
	long bad;

	ASSERT_NE(NULL, buf);
	bad = fault_on(buf, n * psize, c->home);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld of the buffer not on node %d", bad, c->home);
	return buf;
}

static void register_bufs(struct __test_metadata *_metadata, struct ctx *c, int ring,
			  struct iovec *iov, int n)
{
	int before = owners_nr(), ret;

	ret = io_uring_register_buffers(&c->ring[ring], iov, n);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_register_buffers(%d): %s", n, strerror(-ret));
	ASSERT_EQ(before + n, owners_nr()) TH_LOG("%d buffers registered", n);
}

/* Move @n pages at @buf to @node in one call: all must get there and change PFN. */
static void move_all(struct __test_metadata *_metadata, struct ctx *c, char *buf,
		     unsigned long n, int node)
{
	uint64_t *before = calloc(n, sizeof(*before)), *after = calloc(n, sizeof(*after));
	int *st = calloc(n, sizeof(*st));
	unsigned long i;
	long ret;

	ASSERT_TRUE(before && after && st);
	ASSERT_EQ(0, pfns_of(c, buf, n, before));
	ret = move_range(buf, n, node, st);
	ASSERT_EQ(0, ret) TH_LOG("move_pages() of %lu pages to node %d: %ld (%s)", n, node, ret,
				 ret < 0 ? strerror(-ret) : "status[0] and on not written");
	ASSERT_EQ(0, pfns_of(c, buf, n, after));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(node, st[i]) TH_LOG("page %lu", i);
		ASSERT_NE(before[i], after[i]) TH_LOG("page %lu kept pfn %#llx", i,
						      (unsigned long long)after[i]);
	}
	free(before);
	free(after);
	free(st);
}

FIXTURE(rw) {
	struct ctx c;
};

FIXTURE_VARIANT(rw) {
	bool direct;		/* O_DIRECT on zram, else buffered on tmpfs */
	bool thp;		/* one 2 MiB THP per set, else 64 small pages */
};

FIXTURE_VARIANT_ADD(rw, tmpfs) {
	.direct = false,
	.thp = false,
};

FIXTURE_VARIANT_ADD(rw, zram_direct) {
	.direct = true,
	.thp = false,
};

FIXTURE_VARIANT_ADD(rw, thp_tmpfs) {
	.direct = false,
	.thp = true,
};

FIXTURE_VARIANT_ADD(rw, thp_zram_direct) {
	.direct = true,
	.thp = true,
};

FIXTURE_SETUP(rw)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(rw)
{
	ctx_teardown(_metadata, &self->c);
}

FIXTURE(iou) {
	struct ctx c;
};

FIXTURE_SETUP(iou)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(iou)
{
	ctx_teardown(_metadata, &self->c);
}

/*
 * Segments of a THP buffer crossing 4 KiB, 64 KiB and 1 MiB boundaries, none
 * overlapping another (each is filled and checked on its own).  For
 * O_DIRECT on zram, lengths are whole 4 KiB blocks and addresses 4 KiB
 * aligned (a bio_vec segment must be a multiple of the logical block).
 */
static const struct { unsigned int off, len; } thp_segs[2][6] = {
	{ { 0, 4096 }, { 8192 - 100, 300 }, { 65536 - 1000, 5000 },
	  { 3 * 65536 + 7, 70000 }, { (1 << 20) - 33, 66 }, { (2 << 20) - 12345, 12345 } },
	{ { 0, 4096 }, { 4096, 8192 }, { 65536 - 4096, 8192 },
	  { 3 * 65536, 65536 + 4096 }, { (1 << 20) - 4096, 8192 }, { (2 << 20) - 16384, 16384 } },
};

/*
 * WRITE_FIXED/READ_FIXED through 128 registered buffers (or two THPs) while
 * a thread moves them between two nodes: the data is always exact, every
 * CQE has the full length, and every buffer page changes PFN at least once.
 */
TEST_F_TIMEOUT(rw, fixed_rw_move_pages, 120)
{
	struct ctx *c = &self->c;
	size_t setsize = variant->thp ? pmd_size() : NR_BUFS * psize;
	struct seg ws[NR_BUFS], rs[NR_BUFS];
	struct iovec iov[MAX_BUFS];
	struct rw_job j = { 0 };
	struct mover m = { 0 };
	long long migrated;
	uint64_t ns;
	char *w, *r;
	int nbufs, i, fd;
	long bad;

	if (variant->thp) {
		ASSERT_EQ(2UL << 20, setsize) TH_LOG("needs 2 MiB THPs (" THP_PMD_SIZE ")");
		ASSERT_EQ(0, thp_enable(c)) TH_LOG("cannot enable THP in " THP_ENABLED);
	}
	w = map_anon(c, setsize, variant->thp);
	r = map_anon(c, setsize, variant->thp);
	ASSERT_TRUE(w && r);
	bad = fault_on(w, setsize, c->home);
	ASSERT_EQ(-1, bad) TH_LOG("written set: page %ld not on node %d", bad, c->home);
	bad = fault_on(r, setsize, c->home);
	ASSERT_EQ(-1, bad) TH_LOG("read set: page %ld not on node %d", bad, c->home);
	if (variant->thp) {
		ASSERT_TRUE(is_thp(c, w, setsize) && is_thp(c, r, setsize))
			TH_LOG("the MADV_HUGEPAGE buffers did not get THPs on node %d", c->home);
		iov[0] = (struct iovec){ w, setsize };
		iov[1] = (struct iovec){ r, setsize };
		nbufs = 2;
		j.n = ARRAY_SIZE(thp_segs[0]);
		for (i = 0; i < j.n; i++) {
			ws[i] = (struct seg){ w + thp_segs[variant->direct][i].off,
					      thp_segs[variant->direct][i].len, 0, i * 131072 };
			rs[i] = ws[i];
			rs[i].addr = r + thp_segs[variant->direct][i].off;
			rs[i].idx = 1;
		}
		m.pages[0] = w;
		m.pages[1] = r;
		m.nr = 2;
	} else {
		page_iovs(iov, w, NR_BUFS);
		page_iovs(iov + NR_BUFS, r, NR_BUFS);
		nbufs = MAX_BUFS;
		j.n = NR_BUFS;
		page_segs(ws, w, NR_BUFS, 0);
		page_segs(rs, r, NR_BUFS, NR_BUFS);
		for (i = 0; i < MAX_BUFS; i++)
			m.pages[i] = iov[i].iov_base;
		m.nr = MAX_BUFS;
	}
	if (variant->direct) {
		fd = zram_create(c);
		ASSERT_LE(0, fd) TH_LOG("creating a zram device (" ZRAM_CONTROL "): %s",
					strerror(-fd));
	} else {
		fd = tmpfs_file(c, 1 << 20);
		ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	}
	ring_init(_metadata, c, 0, 2 * NR_BUFS);
	register_bufs(_metadata, c, 0, iov, nbufs);

	j.ring = &c->ring[0];
	j.fd = fd;
	j.w = ws;
	j.r = rs;
	mover_alloc(_metadata, &m, c, w, r, setsize);
	migrated = vmstat_get("pinpage_migrated");
	ns = run_rw(_metadata, &j, &m, LOOP_MIN_NS, LOOP_MAX_NS);
	migrated = vmstat_get("pinpage_migrated") - migrated;
	TH_LOG("%.1f s: %lu I/O rounds of %d writes and %d reads; %lu move rounds, %lu calls",
	       ns / 1e9, j.iters, j.n, j.n, m.rounds, m.calls);
	TH_LOG("moved %lu times, not migrated %lu, errors %lu (last %d); %lu of %lu pages changed PFN; pinpage_migrated +%lld",
	       m.moved, m.unset, m.errors, m.last_error, m.nr_changed, m.nr_pfns, migrated);
	if (variant->thp)
		TH_LOG("THPs at the end: written set %s, read set %s",
		       is_thp(c, w, setsize) ? "yes" : "no", is_thp(c, r, setsize) ? "yes" : "no");
	ASSERT_EQ('\0', j.err[0]) TH_LOG("I/O: %s", j.err);
	ASSERT_EQ('\0', m.err[0]) TH_LOG("mover: %s", m.err);
	ASSERT_LT(0UL, j.iters);
	ASSERT_LT(0UL, m.moved) TH_LOG("move_pages() never moved a registered buffer");
	bad = first_unchanged(&m);
	ASSERT_EQ(-1, bad) TH_LOG("buffer page %ld never changed PFN (%#llx)", bad,
				  (unsigned long long)m.pfn[bad < 0 ? 0 : bad]);
	ASSERT_LT(0, migrated);
	mover_free(&m);
	check_released(_metadata, c);
}

/*
 * The same loop while compaction runs; the buffers lie low in their zone, so
 * that compaction has to move them.
 */
TEST_F_TIMEOUT(iou, fixed_rw_compaction, 400)
{
	struct ctx *c = &self->c;
	struct seg ws[NR_BUFS], rs[NR_BUFS];
	struct iovec iov[MAX_BUFS];
	struct rw_job j = { .n = NR_BUFS };
	struct mover m = { .compaction = true };
	long long migrated, isolated, refused;
	struct zone_rec zone;
	uint64_t ns;
	char *w;
	int fd;

	w = steer_low(_metadata, c, MAX_BUFS, &zone);
	page_iovs(iov, w, MAX_BUFS);
	page_segs(ws, w, NR_BUFS, 0);
	page_segs(rs, w + NR_BUFS * psize, NR_BUFS, NR_BUFS);
	fd = tmpfs_file(c, 1 << 20);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 2 * NR_BUFS);
	register_bufs(_metadata, c, 0, iov, MAX_BUFS);

	j.ring = &c->ring[0];
	j.fd = fd;
	j.w = ws;
	j.r = rs;
	m.node = zone.node;
	mover_alloc(_metadata, &m, c, w, w + NR_BUFS * psize, NR_BUFS * psize);
	migrated = vmstat_get("pinpage_migrated");
	isolated = vmstat_get("pinpage_isolate");
	refused = vmstat_get("pinpage_isolate_refused");
	ns = run_rw(_metadata, &j, &m, NSEC, 300 * NSEC);
	migrated = vmstat_get("pinpage_migrated") - migrated;
	isolated = vmstat_get("pinpage_isolate") - isolated;
	refused = vmstat_get("pinpage_isolate_refused") - refused;
	TH_LOG("%.1f s: %lu I/O rounds, %lu compaction passes; %lu of %lu pages changed PFN; pinpage_migrated +%lld, isolate +%lld, refused +%lld",
	       ns / 1e9, j.iters, m.rounds, m.nr_changed, m.nr_pfns, migrated, isolated, refused);
	ASSERT_EQ('\0', j.err[0]) TH_LOG("I/O: %s", j.err);
	ASSERT_EQ('\0', m.err[0]) TH_LOG("mover: %s", m.err);
	ASSERT_LT(0UL, j.iters);
	ASSERT_LT(0UL, m.nr_changed) TH_LOG("%d compaction passes moved no buffer page",
					  COMPACT_PASSES);
	ASSERT_LT(0, migrated);
	mover_free(&m);
	check_released(_metadata, c);
}

static int clone_buffers(struct io_uring *dst, struct io_uring *src)
{
	struct io_uring_clone_buffers arg = { .src_fd = src->ring_fd };

	return syscall(__NR_io_uring_register, dst->ring_fd, IORING_REGISTER_CLONE_BUFFERS,
		       &arg, 1) ? -errno : 0;
}

/*
 * The same 16 pages registered in ring A and ring B, and A's buffers cloned
 * into ring C: one owner per io_mapped_ubuf, so A and C share 16 owners and
 * B has 16 of its own.  All of them are repointed when the pages move.
 */
TEST_F_TIMEOUT(iou, nested_rings, 60)
{
	enum { A, B, C, NB = 16 };
	struct ctx *c = &self->c;
	struct iovec iov[NB];
	struct owners o0, o;
	char *buf;
	int fd, ret;

	ASSERT_EQ(0, owners_read(&o0));
	buf = small_buf(_metadata, c, NB);
	page_iovs(iov, buf, NB);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, A, 32);
	ring_init(_metadata, c, B, 32);
	ring_init(_metadata, c, C, 32);
	register_bufs(_metadata, c, A, iov, NB);
	register_bufs(_metadata, c, B, iov, NB);
	ret = clone_buffers(&c->ring[C], &c->ring[A]);
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_CLONE_BUFFERS: %s", strerror(-ret));
	ASSERT_EQ(0, owners_read(&o));
	TH_LOG("after A, B and the clone C: %d owners, %ld pins, %d bounded", o.nr, o.pins,
	       o.bounded);
	ASSERT_EQ(o0.nr + 2 * NB, o.nr) TH_LOG("the clone must share A's owners");
	ASSERT_EQ(o0.pins + 2 * NB, o.pins) TH_LOG("one pin per owner and page");
	/* Bounded only with pages in ZONE_MOVABLE or CMA, and small pages are not there. */
	ASSERT_EQ(0, o.bounded) TH_LOG("io_uring buffers outside ZONE_MOVABLE/CMA are unbounded owners");

	move_all(_metadata, c, buf, NB, c->other);
	write_check(_metadata, &c->ring[A], fd, buf, NB, 0, 1);
	read_check(_metadata, &c->ring[B], fd, buf, NB, 0, 2);
	read_check(_metadata, &c->ring[C], fd, buf, NB, 0, 3);

	/* C still holds A's buffers. */
	ret = io_uring_unregister_buffers(&c->ring[A]);
	ASSERT_EQ(0, ret) TH_LOG("unregistering A's buffers: %s", strerror(-ret));
	ASSERT_EQ(c->owners0 + 2 * NB, owners_nr()) TH_LOG("C's buffers went with A's");
	move_all(_metadata, c, buf, NB, c->home);
	write_check(_metadata, &c->ring[C], fd, buf, NB, 0, 4);
	read_check(_metadata, &c->ring[C], fd, buf, NB, 0, 5);
	read_check(_metadata, &c->ring[B], fd, buf, NB, 0, 6);
	ring_exit(c, C);
	ASSERT_EQ(c->owners0 + NB, wait_owners(c->owners0 + NB, 15))
		TH_LOG("closing C (A unregistered) must drop 16 owners");
	check_released(_metadata, c);
}

/*
 * A gup_test owned pin on the registered pages: both owners are repointed,
 * and the gup_test owner, pagemap and io_uring see the same pages.
 */
TEST_F_TIMEOUT(iou, with_gup_owner, 60)
{
	enum { NB = 16 };
	struct ctx *c = &self->c;
	struct pin_owned_test args = { .owner = 0 }, st = { .owner = 0 }, st0 = { .owner = 0 };
	uint64_t pfns[NB], owner_pfns[NB];
	struct iovec iov[NB];
	char *buf, *view;
	int fd, i;

	open_gup(_metadata, c);
	buf = small_buf(_metadata, c, NB);
	view = malloc(NB * psize);
	ASSERT_NE(NULL, view);
	page_iovs(iov, buf, NB);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	register_bufs(_metadata, c, 0, iov, NB);
	args.addr = (uintptr_t)buf;
	args.size = NB * psize;
	args.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_START, &args))
		TH_LOG("PIN_OWNED_TEST_START: %s", strerror(errno));
	c->owned_pin = true;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STATUS, &st0));
	for (i = 0; i < NB; i++)
		fill(buf + i * psize, psize, seed_of(7, i));

	move_all(_metadata, c, buf, NB, c->other);
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfns));
	args.addr = (uintptr_t)owner_pfns;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_PFNS, &args));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(pfns[i], owner_pfns[i]) TH_LOG("page %d: gup_test owner not repointed", i);
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STATUS, &st));
	TH_LOG("gup_test owner: +%llu isolate +%llu migrate", st.nr_isolate - st0.nr_isolate,
	       st.nr_migrate - st0.nr_migrate);
	ASSERT_LE((__u64)NB, st.nr_migrate - st0.nr_migrate);
	args.addr = (uintptr_t)view;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_READ, &args));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(-1, check(view + i * psize, psize, seed_of(7, i)))
			TH_LOG("page %d: the gup_test owner's view differs", i);
	/* io_uring's view, both ways, and the owner's after a READ_FIXED. */
	write_check(_metadata, &c->ring[0], fd, buf, NB, 0, 8);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 9);
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_READ, &args));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(-1, check(view + i * psize, psize, seed_of(9, i)))
			TH_LOG("page %d: READ_FIXED did not reach the owner's page", i);
	args.owner = 0;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STOP, &args));
	c->owned_pin = false;
	free(view);
	check_released(_metadata, c);
}

struct one_mover {
	char *addr;
	int node;
	int status;
};

static void *one_mover_fn(void *arg)
{
	struct one_mover *m = arg;

	m->status = move_one(m->addr, m->node);
	return NULL;
}

/*
 * While a migration has a registered buffer isolated (here for
 * PIN_OWNED_TEST_SLOW_MS: a gup_test owner of the same page takes its time
 * to step aside after io_uring did), a READ_FIXED on it submitted inline
 * must not sleep in io_uring_enter() with uring_lock held: it goes to io-wq,
 * waits there and completes into the new page once the migration is over.
 */
TEST_F_TIMEOUT(iou, isolated_buffer_no_block, 60)
{
	struct pin_owned_test args = { .owner = 0 };
	struct ctx *c = &self->c;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct one_mover m;
	struct iovec iov;
	uint64_t pfn0, t0;
	char *buf, *data;
	int fd, ret, res;
	double took;
	pthread_t t;
	long off;

	open_gup(_metadata, c);
	buf = small_buf(_metadata, c, 1);
	fd = tmpfs_file(c, psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	data = malloc(psize);
	ASSERT_NE(NULL, data);
	fill(data, psize, seed_of(33, 0));
	ASSERT_EQ((ssize_t)psize, pwrite(fd, data, psize, 0));
	ring_init(_metadata, c, 0, 8);
	iov = (struct iovec){ buf, psize };
	register_bufs(_metadata, c, 0, &iov, 1);
	args.addr = (uintptr_t)buf;
	args.size = psize;
	args.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_START, &args))
		TH_LOG("PIN_OWNED_TEST_START: %s", strerror(errno));
	c->owned_pin = true;
	args.flags = PIN_OWNED_TEST_FLAG_SLOW;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_CONFIG, &args))
		TH_LOG("PIN_OWNED_TEST_CONFIG(SLOW): %s", strerror(errno));
	pfn0 = pfn_at(c, buf);

	m = (struct one_mover){ buf, c->other, 0 };
	ASSERT_EQ(0, pthread_create(&t, NULL, one_mover_fn, &m));
	/* The migration is inside the gup_test owner's isolate by now. */
	usleep(500000);
	sqe = io_uring_get_sqe(&c->ring[0]);
	io_uring_prep_read_fixed(sqe, fd, buf, psize, 0, 0);
	t0 = now_ns();
	ret = io_uring_submit(&c->ring[0]);
	took = (now_ns() - t0) / 1e9;
	TH_LOG("io_uring_enter() with the buffer isolated returned after %.2f s", took);
	ASSERT_EQ(1, ret) TH_LOG("io_uring_submit: %s", strerror(-ret));
	ret = wait_cqe(&c->ring[0], &cqe, 30);
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("waiting for READ_FIXED: %s", strerror(-ret));
	res = cqe->res;
	io_uring_cqe_seen(&c->ring[0], cqe);
	ASSERT_EQ((int)psize, res) TH_LOG("READ_FIXED: %s", strerror(-res));
	ASSERT_GT(1.5, took) TH_LOG("the submitter slept while the buffer was isolated");
	ASSERT_EQ(c->other, m.status) TH_LOG("the page did not move: status %d", m.status);
	ASSERT_NE(pfn0, pfn_at(c, buf));
	off = check(buf, psize, seed_of(33, 0));
	ASSERT_EQ(-1, off) TH_LOG("the read did not land in the new page (byte %ld)", off);

	args.flags = 0;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_CONFIG, &args));
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_OWNED_TEST_STOP, &args));
	c->owned_pin = false;
	free(data);
	check_released(_metadata, c);
}

/*
 * An unowned long-term pin (PIN_LONGTERM_TEST_START) next to io_uring's: the
 * pages stay (pinpage_unowned_skipped), I/O stays correct; once the unowned
 * pin is gone, the pages move.
 */
TEST_F_TIMEOUT(iou, unowned_pin_stays, 60)
{
	enum { NB = 16 };
	struct ctx *c = &self->c;
	struct pin_longterm_test args = { .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	uint64_t pfn0[NB], pfns[NB], view_addr;
	struct iovec iov[NB];
	long long skipped;
	char *buf, *view;
	int fd, i, st;

	open_gup(_metadata, c);
	buf = small_buf(_metadata, c, NB);
	view = malloc(NB * psize);
	ASSERT_NE(NULL, view);
	page_iovs(iov, buf, NB);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	register_bufs(_metadata, c, 0, iov, NB);
	args.addr = (uintptr_t)buf;
	args.size = NB * psize;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_LONGTERM_TEST_START, &args))
		TH_LOG("PIN_LONGTERM_TEST_START: %s", strerror(errno));
	c->unowned_pin = true;
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfn0));

	skipped = vmstat_get("pinpage_unowned_skipped");
	for (i = 0; i < NB; i++) {
		st = move_one(buf + i * psize, c->other);
		ASSERT_NE(c->other, st) TH_LOG("page %d moved despite an unowned pin", i);
	}
	skipped = vmstat_get("pinpage_unowned_skipped") - skipped;
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfns));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(pfn0[i], pfns[i]) TH_LOG("page %d changed PFN", i);
	TH_LOG("pinpage_unowned_skipped +%lld", skipped);
	ASSERT_LT(0, skipped);

	write_check(_metadata, &c->ring[0], fd, buf, NB, 0, 10);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 11);
	view_addr = (uintptr_t)view;
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_LONGTERM_TEST_READ, &view_addr));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(-1, check(view + i * psize, psize, seed_of(11, i)))
			TH_LOG("page %d: the unowned pin sees other data", i);
	ASSERT_EQ(0, ioctl(c->gup_fd, PIN_LONGTERM_TEST_STOP));
	c->unowned_pin = false;
	move_all(_metadata, c, buf, NB, c->other);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 12);
	free(view);
	check_released(_metadata, c);
}

struct compactor {
	int node;
	volatile int done;
	int ret;
};

static void *compactor_fn(void *arg)
{
	struct compactor *k = arg;

	k->ret = compact_pass(k->node, 0);
	k->done = 1;
	return NULL;
}

/* Reap CQEs of the read chain until @k (if any) is done; the number reaped, or -errno. */
static int reap_chain(struct io_uring *r, struct compactor *k, int left, int *bad_res)
{
	struct io_uring_cqe *cqe;
	int got = 0, ret;

	while (got < left && !(k && k->done)) {
		ret = wait_cqe(r, &cqe, k ? 1 : 60);
		if (ret == -ETIME && k)
			continue;
		if (ret)
			return ret;
		if (cqe->res != (int)psize && *bad_res == (int)psize)
			*bad_res = cqe->res;
		io_uring_cqe_seen(r, cqe);
		got++;
	}
	return got;
}

/*
 * Buffer X under a chain of O_DIRECT reads from /dev/nullb0, each completing
 * after null_blk's completion_nsec: while one is in flight, move_pages() and
 * compaction leave X alone and the owner refuses, while the idle buffer Y of
 * the same registration moves.  Once the reads completed, both move X.
 * Compaction runs in another thread so that this one keeps reaping
 * completions (issuing the next read of the chain).
 */
/* Wait up to @secs for /dev/nullb0 to have a read in flight: 0, or -ETIMEDOUT. */
static int wait_nullb_read(int secs)
{
	uint64_t end = now_ns() + secs * NSEC;
	char buf[64];
	long reads;

	do {
		if (read_str("/sys/block/nullb0/inflight", buf, sizeof(buf)) >= 0 &&
		    sscanf(buf, "%ld", &reads) == 1 && reads > 0)
			return 0;
		usleep(1000);
	} while (now_ns() < end);
	return -ETIMEDOUT;
}

TEST_F_TIMEOUT(iou, long_inflight, 300)
{
	struct ctx *c = &self->c;
	struct compactor k = { 0 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct iovec iov[2];
	struct zone_rec zone;
	long long completion, irqmode, refused;
	uint64_t t, tc, x0, y0;
	int nreads, done, reaped, i, st, dev, bad_res = psize, ret, away;
	char *x, *y, *chunk;
	pthread_t th;

	completion = read_ll(NULLB_PARAMS "/completion_nsec");
	irqmode = read_ll(NULLB_PARAMS "/irqmode");
	ASSERT_LE(0, completion) TH_LOG("no " NULLB_PARAMS "/completion_nsec (CONFIG_BLK_DEV_NULL_BLK?)");
	ASSERT_EQ(2, irqmode) TH_LOG("null_blk.irqmode is %lld: boot with null_blk.irqmode=2", irqmode);
	ASSERT_LE(200000000LL, completion)
		TH_LOG("null_blk.completion_nsec=%lld: reads must stay in flight 200 ms or more",
		       completion);
	dev = add_fd(c, open("/dev/nullb0", O_RDONLY | O_DIRECT));
	ASSERT_LE(0, dev) TH_LOG("/dev/nullb0: %s (null_blk.nr_devices?)", strerror(errno));

	/* How long a compaction pass takes here sizes the chain (measured, not asserted). */
	t = now_ns();
	ASSERT_EQ(0, compact_pass(c->home, 0));
	tc = now_ns() - t;
	nreads = (2 * tc + 3 * NSEC) / completion + 1;
	nreads = nreads < 3 ? 3 : nreads > 60 ? 60 : nreads;
	TH_LOG("compaction pass %.2f s; chain of %d reads of %.2f s", tc / 1e9, nreads,
	       completion / 1e9);

	chunk = steer_low(_metadata, c, 16, &zone);
	/* steer_low() may have found room on either node: move away from it. */
	away = zone.node == c->home ? c->other : c->home;
	x = chunk;
	y = chunk + 8 * psize;
	memset(y, 0x22, psize);
	iov[0] = (struct iovec){ x, psize };
	iov[1] = (struct iovec){ y, psize };
	ring_init(_metadata, c, 0, 64);
	register_bufs(_metadata, c, 0, iov, 2);
	x0 = pfn_at(c, x);
	y0 = pfn_at(c, y);

	for (i = 0; i < nreads; i++) {
		sqe = io_uring_get_sqe(&c->ring[0]);
		ASSERT_NE(NULL, sqe);
		io_uring_prep_read_fixed(sqe, dev, x, psize, 0, 0);
		sqe->user_data = i;
		if (i + 1 < nreads)
			sqe->flags |= IOSQE_IO_LINK;
	}
	ASSERT_EQ(nreads, io_uring_submit(&c->ring[0]));
	ASSERT_EQ(0U, io_uring_cq_ready(&c->ring[0]))
		TH_LOG("a read from /dev/nullb0 completed at once");

	/*
	 * The first read may still wait for an io-wq worker: only a read the
	 * device has is in flight on X.
	 */
	ASSERT_EQ(0, wait_nullb_read(10)) TH_LOG("/dev/nullb0 never had a read in flight");

	/* 1: X, under a read, does not move and its owner refuses. */
	refused = vmstat_get("pinpage_isolate_refused");
	t = now_ns();
	st = move_one(x, away);
	t = now_ns() - t;
	refused = vmstat_get("pinpage_isolate_refused") - refused;
	done = io_uring_cq_ready(&c->ring[0]);	/* completed, not reaped yet */
	TH_LOG("move_pages(X) under a read: status %d after %.3f s; pinpage_isolate_refused +%lld",
	       st, t / 1e9, refused);
	ASSERT_NE(away, st) TH_LOG("X moved while a read was in flight");
	ASSERT_EQ(x0, pfn_at(c, x));
	ASSERT_LT(0, refused) TH_LOG("the busy owner was never asked or never refused");
	ASSERT_GT(nreads, done) TH_LOG("the reads were done before move_pages() ended");

	/* 2: Y, idle, moves meanwhile. */
	st = move_one(y, away);
	ASSERT_EQ(away, st) TH_LOG("idle Y did not move while X was busy: status %d", st);
	ASSERT_NE(y0, pfn_at(c, y));
	for (i = 0; i < (int)psize; i++)
		ASSERT_EQ(0x22, y[i]) TH_LOG("Y's byte %d changed in the move", i);
	ASSERT_GT(nreads, (int)io_uring_cq_ready(&c->ring[0]))
		TH_LOG("the reads were done before Y moved");

	/* 3: compaction of X's node leaves X alone while the chain runs. */
	refused = vmstat_get("pinpage_isolate_refused");
	k.node = zone.node;
	ASSERT_EQ(0, pthread_create(&th, NULL, compactor_fn, &k));
	ret = reap_chain(&c->ring[0], &k, nreads, &bad_res);
	pthread_join(th, NULL);
	refused = vmstat_get("pinpage_isolate_refused") - refused;
	ASSERT_LE(0, ret) TH_LOG("reaping the reads: %s", strerror(-ret));
	reaped = ret;
	done = reaped + io_uring_cq_ready(&c->ring[0]);
	TH_LOG("compaction under the reads: %d of %d reads done at its end; pinpage_isolate_refused +%lld",
	       done, nreads, refused);
	ASSERT_EQ(0, k.ret) TH_LOG("compaction: %s", strerror(-k.ret));
	ASSERT_EQ(x0, pfn_at(c, x))
		TH_LOG("compaction moved X (%s)", done < nreads ? "while a read was in flight" :
		       "the chain ended before the pass: cannot tell, lengthen it");
	/* No other owner refuses here: compaction did find X busy. */
	ASSERT_LT(0, refused) TH_LOG("compaction never asked X's busy owner");

	/* 4: the reads complete with their full length. */
	ret = reap_chain(&c->ring[0], NULL, nreads - reaped, &bad_res);
	ASSERT_EQ(nreads - reaped, ret) TH_LOG("reaping the reads: %d", ret);
	ASSERT_EQ((int)psize, bad_res) TH_LOG("a read from /dev/nullb0 returned %d", bad_res);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&c->ring[0], &cqe));

	/* 5: now compaction moves X (which makes step 3 mean something), 6: and move_pages. */
	for (i = 0; i < COMPACT_PASSES && pfn_at(c, x) == x0; i++)
		ASSERT_EQ(0, compact_pass(zone.node, i));
	TH_LOG("X idle: %d compaction pass(es), pfn %#llx -> %#llx", i,
	       (unsigned long long)x0, (unsigned long long)pfn_at(c, x));
	ASSERT_NE(x0, pfn_at(c, x)) TH_LOG("compaction does not move idle X: step 3 proves nothing");
	x0 = pfn_at(c, x);
	st = move_one(x, away);
	ASSERT_EQ(away, st) TH_LOG("idle X did not move: status %d", st);
	ASSERT_NE(x0, pfn_at(c, x));
	check_released(_metadata, c);
}

/*
 * READ_FIXED from an empty pipe parks on poll and does not hold its buffer:
 * X moves, and the data written to the pipe afterwards lands in X's new page.
 */
TEST_F_TIMEOUT(iou, parked_pipe_read, 60)
{
	struct ctx *c = &self->c;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct iovec iov;
	uint64_t x0, x1;
	int p[2], st, ret;
	char *x, *data;
	long off;

	x = small_buf(_metadata, c, 1);
	memset(x, 0xee, psize);
	data = malloc(psize);
	ASSERT_NE(NULL, data);
	fill(data, psize, seed_of(13, 0));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	add_fd(c, p[0]);
	add_fd(c, p[1]);
	ring_init(_metadata, c, 0, 8);
	iov = (struct iovec){ x, psize };
	register_bufs(_metadata, c, 0, &iov, 1);
	x0 = pfn_at(c, x);

	sqe = io_uring_get_sqe(&c->ring[0]);
	io_uring_prep_read_fixed(sqe, p[0], x, psize, 0, 0);
	ASSERT_EQ(1, io_uring_submit(&c->ring[0]));
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&c->ring[0], &cqe))
		TH_LOG("the read of an empty pipe completed: res %d", cqe->res);

	st = move_one(x, c->other);
	x1 = pfn_at(c, x);
	TH_LOG("move_pages(X) with a parked read: status %d, pfn %#llx -> %#llx", st,
	       (unsigned long long)x0, (unsigned long long)x1);
	ASSERT_EQ(c->other, st) TH_LOG("a read parked on poll held its buffer");
	ASSERT_NE(x0, x1);

	ASSERT_EQ((ssize_t)psize, write(p[1], data, psize));
	ret = wait_cqe(&c->ring[0], &cqe, 30);
	ASSERT_EQ(0, ret) TH_LOG("waiting for the read: %s", strerror(-ret));
	ASSERT_EQ((int)psize, cqe->res);
	io_uring_cqe_seen(&c->ring[0], cqe);
	off = check(x, psize, seed_of(13, 0));
	ASSERT_EQ(-1, off) TH_LOG("X at its new page differs at byte %ld (0xee: old page written)",
				  off);
	free(data);
	check_released(_metadata, c);
}

/*
 * SEND_ZC of a 1 MiB fixed buffer to a receiver that does not read: the
 * data still queued references the buffer until the notification, so (some
 * of) its pages refuse to move; the receiver gets exact bytes; after the
 * notification every page moves.
 */
TEST_F_TIMEOUT(iou, send_zc_holds, 120)
{
	enum { NP = 256, SAMPLE = 8 };
	struct ctx *c = &self->c;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 10 };
	socklen_t sl = sizeof(sa);
	int lsn, tx, rx, rcvbuf = 4096, sndbuf = 256 << 10, st, i, failed = 0, ret, status[NP];
	size_t len = NP * psize, sent, got;
	uint64_t pfn0[NP], pfns[NP], t;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct iovec iov;
	char *buf, *in;
	ssize_t n;
	long off;

	ret = lo_set(c, true);
	ASSERT_EQ(0, ret) TH_LOG("bringing up lo: %s", strerror(-ret));
	lsn = add_fd(c, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	tx = add_fd(c, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	ASSERT_TRUE(lsn >= 0 && tx >= 0) TH_LOG("socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, setsockopt(lsn, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(lsn, (struct sockaddr *)&sa, sizeof(sa))) TH_LOG("bind 127.0.0.1: %s",
									    strerror(errno));
	ASSERT_EQ(0, listen(lsn, 1));
	ASSERT_EQ(0, getsockname(lsn, (struct sockaddr *)&sa, &sl));
	ASSERT_EQ(0, setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	ASSERT_EQ(0, connect(tx, (struct sockaddr *)&sa, sizeof(sa)))
		TH_LOG("connect to 127.0.0.1:%d: %s", ntohs(sa.sin_port), strerror(errno));
	rx = add_fd(c, accept4(lsn, NULL, NULL, SOCK_CLOEXEC));
	ASSERT_LE(0, rx) TH_LOG("accept: %s", strerror(errno));
	ASSERT_EQ(0, setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));

	buf = small_buf(_metadata, c, NP);
	fill(buf, len, seed_of(14, 0));
	in = malloc(len);
	ASSERT_NE(NULL, in);
	ring_init(_metadata, c, 0, 8);
	iov = (struct iovec){ buf, len };
	register_bufs(_metadata, c, 0, &iov, 1);
	ASSERT_EQ(0, pfns_of(c, buf, NP, pfn0));

	sqe = io_uring_get_sqe(&c->ring[0]);
	io_uring_prep_send_zc_fixed(sqe, tx, buf, len, 0, 0, 0);
	sqe->user_data = 42;
	ASSERT_EQ(1, io_uring_submit(&c->ring[0]));
	ret = wait_cqe(&c->ring[0], &cqe, 10);
	ASSERT_EQ(0, ret) TH_LOG("waiting for the SEND_ZC CQE: %s", strerror(-ret));
	TH_LOG("SEND_ZC: res %d flags %#x", cqe->res, cqe->flags);
	ASSERT_LT(0, cqe->res) TH_LOG("SEND_ZC failed: %s", strerror(-cqe->res));
	ASSERT_TRUE(!!(cqe->flags & IORING_CQE_F_MORE));
	ASSERT_FALSE(!!(cqe->flags & IORING_CQE_F_NOTIF));
	sent = cqe->res;
	io_uring_cqe_seen(&c->ring[0], cqe);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&c->ring[0], &cqe))
		TH_LOG("notification before the receiver read anything: nothing was held");

	/* Pages under the queued data, sampled (a refusing page costs the owner's wait). */
	for (i = 0; i < SAMPLE; i++) {
		char *p = buf + ((sent - 1) / psize) * i / (SAMPLE - 1) * psize;

		t = now_ns();
		st = move_one(p, c->other);
		failed += st != c->other;
		TH_LOG("page %ld of %zu sent: status %d after %.3f s", (long)((p - buf) / psize),
		       (sent + psize - 1) / psize, st, (now_ns() - t) / 1e9);
	}
	ASSERT_LT(0, failed) TH_LOG("every page under unsent zero-copy data moved");

	for (got = 0; got < sent; got += n) {
		n = read(rx, in + got, sent - got);
		ASSERT_LT(0, n) TH_LOG("receiving byte %zu of %zu: %s", got, sent,
				       n ? strerror(errno) : "EOF");
	}
	off = check(in, sent, seed_of(14, 0));
	ASSERT_EQ(-1, off) TH_LOG("received data differs at byte %ld of %zu", off, sent);
	ASSERT_EQ(-1, check(buf, len, seed_of(14, 0)));
	ret = wait_cqe(&c->ring[0], &cqe, 20);
	ASSERT_EQ(0, ret) TH_LOG("no notification after the receiver read it all: %s",
				 strerror(-ret));
	ASSERT_TRUE(!!(cqe->flags & IORING_CQE_F_NOTIF)) TH_LOG("flags %#x", cqe->flags);
	ASSERT_EQ(42ULL, cqe->user_data);
	io_uring_cqe_seen(&c->ring[0], cqe);

	/* Every page reaches the other node now (the sampled ones that moved are there). */
	ret = move_range(buf, NP, c->other, status);
	ASSERT_EQ(0, ret) TH_LOG("move_pages() after the notification: %d", ret);
	ASSERT_EQ(0, pfns_of(c, buf, NP, pfns));
	for (i = 0; i < NP; i++) {
		ASSERT_EQ(c->other, status[i]) TH_LOG("page %d", i);
		ASSERT_NE(pfn0[i], pfns[i]) TH_LOG("page %d never moved", i);
	}
	ASSERT_EQ(-1, check(buf, len, seed_of(14, 0)));
	free(in);
	check_released(_metadata, c);
}

/*
 * io_uring_register_buffers() with bad iovecs fails as in 6.12 and leaves
 * nothing pinned or owned; the odd ones that succeed add one owner per
 * buffer and pin every page, until unregistered.
 */
static void bad_input_cases(struct __test_metadata *_metadata, struct ctx *c, char *buf,
			    char *ro, char *shm, char *hole)
{
	const struct {
		const char *name;
		int nr;
		struct iovec iov[2];
		int want, owners;
		long long pins;
	} cases[] = {
		{ "NULL base, 4 KiB", 1, { { NULL, psize } }, -EFAULT, 0, 0 },
		{ "zero length", 1, { { buf, 0 } }, -EFAULT, 0, 0 },
		{ "over 1 GiB", 1, { { buf, (1UL << 30) + psize } }, -EFAULT, 0, 0 },
		{ "unmapped", 1, { { hole, psize } }, -EFAULT, 0, 0 },
		{ "read-only mapping", 1, { { ro, psize } }, -EFAULT, 0, 0 },
		{ "range wraps around", 1, { { (void *)-psize, 2 * psize } }, -EOVERFLOW, 0, 0 },
		{ "valid, then unmapped", 2, { { buf, psize }, { hole, psize } }, -EFAULT, 0, 0 },
		{ "no iovec", 0, { { buf, psize } }, -EINVAL, 0, 0 },
		{ "sparse slot (NULL, 0)", 1, { { NULL, 0 } }, 0, 0, 0 },
		{ "two overlapping", 2, { { buf, 2 * psize }, { buf + psize, 2 * psize } }, 0, 2, 4 },
		{ "MAP_SHARED tmpfs", 1, { { shm, 2 * psize } }, 0, 1, 2 },
	};
	long long pins;
	unsigned int i;
	int before, ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		before = owners_nr();
		pins = pins_held();
		ret = io_uring_register_buffers(&c->ring[0], cases[i].iov, cases[i].nr);
		ASSERT_EQ(cases[i].want, ret) TH_LOG("%s: %d (%s), expected %d (%s)", cases[i].name,
						     ret, strerror(-ret), cases[i].want,
						     strerror(-cases[i].want));
		if (!ret) {
			ASSERT_EQ(before + cases[i].owners, owners_nr())
				TH_LOG("%s: owners", cases[i].name);
			ASSERT_EQ(cases[i].pins, pins_held() - pins) TH_LOG("%s: pins", cases[i].name);
			ret = io_uring_unregister_buffers(&c->ring[0]);
			ASSERT_EQ(0, ret) TH_LOG("%s: unregister: %s", cases[i].name, strerror(-ret));
		}
		ASSERT_EQ(before, owners_nr()) TH_LOG("%s: owners left", cases[i].name);
		ASSERT_EQ(pins, wait_pins(pins, 5)) TH_LOG("%s: pins left", cases[i].name);
	}
}

TEST_F_TIMEOUT(iou, bad_input, 60)
{
	struct ctx *c = &self->c;
	char *buf, *hole, *ro, *shm;
	int fd;

	ring_init(_metadata, c, 0, 8);
	buf = small_buf(_metadata, c, 4);
	ro = mmap(NULL, psize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	c->maps[c->nr_maps].addr = ro;
	c->maps[c->nr_maps++].len = psize;
	ASSERT_EQ(0, ro[0]);
	fd = tmpfs_file(c, 2 * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	shm = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, shm);
	c->maps[c->nr_maps].addr = shm;
	c->maps[c->nr_maps++].len = 2 * psize;
	/* Last, so that no later mapping lands there. */
	hole = mmap(NULL, psize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, psize));
	bad_input_cases(_metadata, c, buf, ro, shm, hole);
	check_released(_metadata, c);
}

struct race {
	struct ctx *c;
	char *region;			/* RACE_PAGES pages */
	int fd;
	volatile int stop;
	unsigned long moves, moved, forks, cycles, ios;
	char err[256];
};

#define RACE_PAGES	32

static void *race_mover(void *arg)
{
	struct race *r = arg;
	int target, i;

	for (; !r->stop; r->moves++) {
		target = r->moves & 1 ? r->c->home : r->c->other;
		for (i = 0; i < RACE_PAGES && !r->stop; i++)
			r->moved += move_one(r->region + i * psize, target) == target;
	}
	return NULL;
}

static void *race_forker(void *arg)
{
	struct race *r = arg;
	int status, i;
	pid_t pid;

	for (; !r->stop && !r->err[0]; r->forks++) {
		pid = fork();
		if (!pid) {
			for (i = 0; i < RACE_PAGES; i++)
				r->region[i * psize] = i;
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			snprintf(r->err, sizeof(r->err), "fork/child: %s, status %#x",
				 strerror(errno), status);
	}
	return NULL;
}

/* One ring's life: register (BUFFERS or BUFFERS2), I/O, BUFFERS_UPDATE, I/O, close. */
static int race_cycle(struct race *r)
{
	struct iovec iov[16], upd[8];
	__u64 tags[16];
	struct seg s[2];
	struct io_uring ring;
	char *e = r->err;
	size_t el = sizeof(r->err);
	int i, ret, fail = -1;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret) {
		snprintf(e, el, "io_uring_queue_init: %s", strerror(-ret));
		return -1;
	}
	page_iovs(iov, r->region, 16);
	page_iovs(upd, r->region + 16 * psize, 8);
	for (i = 0; i < 16; i++)
		tags[i] = i + 1;
	ret = r->cycles & 1 ? io_uring_register_buffers_tags(&ring, iov, tags, 16) :
			      io_uring_register_buffers(&ring, iov, 16);
	if (ret) {
		snprintf(e, el, "registering: %s", strerror(-ret));
		goto out;
	}
	/* Write from slot k, read into slot k + 1; then the same through updated slots. */
	for (i = 0; i < 2; i++) {
		int k = i ? 0 : r->cycles % 15;

		s[0] = (struct seg){ i ? upd[0].iov_base : iov[k].iov_base, psize, k, 0 };
		s[1] = (struct seg){ iov[k + (i ? 8 : 1)].iov_base, psize, k + (i ? 8 : 1), 0 };
		fill(s[0].addr, psize, seed_of(r->cycles, i));
		if (io_batch(&ring, true, r->fd, &s[0], 1, e, el) ||
		    io_batch(&ring, false, r->fd, &s[1], 1, e, el))
			goto out;
		if (check(s[1].addr, psize, seed_of(r->cycles, i)) >= 0) {
			snprintf(e, el, "cycle %lu: slot %d read back other data", r->cycles,
				 s[1].idx);
			goto out;
		}
		r->ios++;
		if (i)
			break;
		ret = io_uring_register_buffers_update_tag(&ring, 0, upd, tags, 8);
		if (ret != 8) {
			snprintf(e, el, "IORING_REGISTER_BUFFERS_UPDATE: %d (%s)", ret,
				 strerror(-ret));
			goto out;
		}
	}
	ret = io_uring_unregister_buffers(&ring);
	if (ret)
		snprintf(e, el, "unregistering: %s", strerror(-ret));
	else
		fail = 0;
out:
	io_uring_queue_exit(&ring);
	return fail;
}

/*
 * Rings registering, updating, unregistering and closing while another
 * thread moves the pages and a third forks children that write to them:
 * every I/O is correct, and in the end nothing is owned or pinned and no
 * page was freed with records left.
 */
TEST_F_TIMEOUT(iou, teardown_races, 120)
{
	struct ctx *c = &self->c;
	struct race r = { .c = c };
	pthread_t tm, tf;
	long long stale;
	uint64_t end;

	r.region = small_buf(_metadata, c, RACE_PAGES);
	r.fd = tmpfs_file(c, psize);
	ASSERT_LE(0, r.fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	stale = vmstat_get("pinpage_stale_freed");
	ASSERT_LE(0, stale) TH_LOG("no pinpage_stale_freed in /proc/vmstat");
	ASSERT_EQ(0, pthread_create(&tm, NULL, race_mover, &r));
	if (pthread_create(&tf, NULL, race_forker, &r)) {
		r.stop = 1;
		pthread_join(tm, NULL);
		ASSERT_TRUE(0) TH_LOG("pthread_create failed");
	}
	for (end = now_ns() + RACE_NS; now_ns() < end && !r.err[0]; r.cycles++)
		if (race_cycle(&r))
			break;
	r.stop = 1;
	pthread_join(tm, NULL);
	pthread_join(tf, NULL);
	TH_LOG("%lu ring cycles (%lu I/Os), %lu move rounds moving %lu pages, %lu forks",
	       r.cycles, r.ios, r.moves, r.moved, r.forks);
	ASSERT_EQ('\0', r.err[0]) TH_LOG("%s", r.err);
	ASSERT_LT(0UL, r.cycles);
	ASSERT_LT(0UL, r.moved) TH_LOG("nothing moved: no race happened");
	ASSERT_LT(0UL, r.forks);
	check_released(_metadata, c);
	ASSERT_EQ(stale, vmstat_get("pinpage_stale_freed")) TH_LOG("pages freed with records left");
}

/* Pages of the @n at @buf whose PFN lies in a ZONE_MOVABLE zone, or -1. */
static int movable_pages(struct ctx *c, char *buf, unsigned long n)
{
	struct zone_rec z[MAX_ZONES];
	uint64_t pfn;
	unsigned long i;
	int nz = read_zones(z, MAX_ZONES), in = 0, k;

	if (nz < 0)
		return -1;
	for (i = 0; i < n; i++) {
		pfn = pfn_at(c, buf + i * psize);
		for (k = 0; k < nz; k++)
			if (pfn >= z[k].start && pfn < z[k].start + z[k].spanned)
				break;
		in += k < nz && !strcmp(z[k].name, "Movable");
	}
	return in;
}

/*
 * @n new pages in ZONE_MOVABLE, filled: on whichever node's movable zone
 * still has room (boot-time page cache may have taken one's).
 */
static char *movable_buf(struct __test_metadata *_metadata, struct ctx *c, unsigned long n,
			 int *node)
{
	int nodes[2] = { c->home, c->other }, i, in = -1;
	char *buf = NULL;

	for (i = 0; i < 2 && in != (int)n; i++) {
		buf = map_anon(c, n * psize, false);
		ASSERT_NE(NULL, buf);
		ASSERT_EQ(-1, fault_on(buf, n * psize, nodes[i]));
		in = movable_pages(c, buf, n);
		*node = nodes[i];
	}
	ASSERT_EQ((int)n, in) TH_LOG("%d of %lu new anonymous pages in ZONE_MOVABLE on either node (boot with movablecore=)",
				     in, n);
	return buf;
}

/*
 * ZONE_MOVABLE (its own group boots with movablecore=): buffers faulted there
 * leave it at registration, as on stock.  A registered buffer's use is not
 * bounded in time (a request may stay in flight for as long as a peer or a
 * device likes: see pinpage_adversary), so its owner is unbounded.  The
 * buffers keep their data, work, move between nodes and never go back into
 * ZONE_MOVABLE; with vm.pinpage_migrate=0 registration behaves the same.
 */
TEST_F_TIMEOUT(iou, movable_buffers_leave, 60)
{
	enum { NB = 16 };
	struct ctx *c = &self->c;
	struct iovec iov[NB];
	struct owners o0, o;
	int fd, in, ret, node, away;
	char *buf;
	long off;

	buf = movable_buf(_metadata, c, NB, &node);
	fill(buf, NB * psize, seed_of(20, 0));
	away = node == c->home ? c->other : c->home;
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	ASSERT_EQ(0, owners_read(&o0));
	page_iovs(iov, buf, NB);
	register_bufs(_metadata, c, 0, iov, NB);
	ASSERT_EQ(0, owners_read(&o));
	ASSERT_EQ(o0.nr + NB, o.nr);
	ASSERT_EQ(o0.bounded, o.bounded) TH_LOG("registered buffers declare bounded isolation");
	in = movable_pages(c, buf, NB);
	ASSERT_EQ(0, in) TH_LOG("%d of %d pages stayed in ZONE_MOVABLE at registration", in, NB);
	off = check(buf, NB * psize, seed_of(20, 0));
	ASSERT_EQ(-1, off) TH_LOG("the buffers differ at byte %ld after registration", off);

	write_check(_metadata, &c->ring[0], fd, buf, NB, 0, 21);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 22);

	/* They still move, but never into ZONE_MOVABLE, on either node. */
	move_all(_metadata, c, buf, NB, away);
	ASSERT_EQ(0, movable_pages(c, buf, NB)) TH_LOG("buffers were moved into ZONE_MOVABLE");
	move_all(_metadata, c, buf, NB, node);
	ASSERT_EQ(0, movable_pages(c, buf, NB)) TH_LOG("buffers were moved into ZONE_MOVABLE");
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 24);

	/* Switched off: the same. */
	ASSERT_EQ(0, io_uring_unregister_buffers(&c->ring[0]));
	buf = movable_buf(_metadata, c, NB, &node);
	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "0"));
	page_iovs(iov, buf, NB);
	ret = io_uring_register_buffers(&c->ring[0], iov, NB);
	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "1"));
	ASSERT_EQ(0, ret) TH_LOG("registering with the switch off: %s", strerror(-ret));
	in = movable_pages(c, buf, NB);
	ASSERT_EQ(0, in) TH_LOG("%d pages stayed in ZONE_MOVABLE with the switch off", in);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 25);
	check_released(_metadata, c);
}

/* Does memory block @block (of @ppb pages) hold a reserved page? */
static bool block_reserved(struct ctx *c, long block, unsigned long ppb)
{
	return block_has_reserved(c->kpageflags_fd, block, ppb);
}

/*
 * Fault the pages of @mem (@len bytes, under the caller's memory policy)
 * until @n of them lie in PFNs [@lo, @hi); fill those with seed_of(@round, i)
 * and describe them in @iov; give the other faulted pages back.  Returns the
 * number found; *@faulted says how much was faulted to find them.
 */
static int place_pages(struct ctx *c, char *mem, size_t len, uint64_t lo, uint64_t hi,
		       struct iovec *iov, int n, uint64_t round, size_t *faulted)
{
	size_t off, end;
	uint64_t pfn;
	int found = 0, i;

	for (off = 0; off < len && found < n; off += psize) {
		mem[off] = 1;
		pfn = pfn_at(c, mem + off);
		if (pfn < lo || pfn >= hi)
			continue;
		fill(mem + off, psize, seed_of(round, found));
		iov[found++] = (struct iovec){ mem + off, psize };
	}
	*faulted = off;
	for (end = off, off = 0, i = 0; off < end; off += psize) {
		if (i < found && mem + off == iov[i].iov_base) {
			i++;
			continue;
		}
		madvise(mem + off, psize, MADV_DONTNEED);
	}
	return found;
}

/*
 * After a move: every buffer of @iov holds seed_of(@round, i) for the kernel
 * too (WRITE_FIXED from it writes that to @fd).
 */
static void write_each_check(struct __test_metadata *_metadata, struct ctx *c, int fd,
			     const struct iovec *iov, int n, uint64_t round, const char *after)
{
	char err[256] = "", *tmp = malloc(psize);
	int i;

	ASSERT_NE(NULL, tmp);
	for (i = 0; i < n; i++) {
		struct seg s = { iov[i].iov_base, psize, i, (off_t)i * psize };

		ASSERT_EQ(0, io_batch(&c->ring[0], true, fd, &s, 1, err, sizeof(err))) TH_LOG("%s", err);
		ASSERT_EQ((ssize_t)psize, pread(fd, tmp, psize, s.off));
		ASSERT_EQ(-1, check(tmp, psize, seed_of(round, i)))
			TH_LOG("WRITE_FIXED from buffer %d after %s wrote other data", i, after);
	}
	free(tmp);
}

/*
 * Buffers faulted in a ZONE_MOVABLE memory block leave it at registration
 * (unbounded owners), with their data, and the block goes offline.  The
 * block is one without reserved pages; a chunk faulted on its node provides
 * @NB pages inside it.
 */
TEST_F_TIMEOUT(iou, movable_offline, 120)
{
	enum { NB = 16 };
	const size_t chunk = 384UL << 20;
	struct zone_rec z[MAX_ZONES];
	struct iovec iov[NB];
	struct ctx *c = &self->c;
	unsigned long ppb = block_pages();
	uint64_t pfn0[NB], pfn;
	size_t faulted;
	long block = -1, b;
	int nz, k, n = 0, i, fd, ret;
	char *mem;

	ASSERT_LT(0UL, ppb) TH_LOG("no " MEMORY_SYSFS "/block_size_bytes (memory hotplug?)");
	nz = read_zones(z, MAX_ZONES);
	ASSERT_LT(0, nz);
	for (k = 0; k < nz && block < 0; k++) {
		if (strcmp(z[k].name, "Movable"))
			continue;
		for (b = (z[k].start + ppb - 1) / ppb; (b + 1) * ppb <= z[k].start + z[k].spanned; b++)
			if (!block_reserved(c, b, ppb)) {
				block = b;
				break;
			}
	}
	ASSERT_LE(0, block) TH_LOG("no ZONE_MOVABLE memory block without reserved pages");
	k--;
	mem = map_anon(c, chunk, false);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, bind_node(z[k].node));
	/* What is not a buffer goes back, so that offlining has room. */
	n = place_pages(c, mem, chunk, block * ppb, (block + 1) * ppb, iov, NB, 31, &faulted);
	bind_node(-1);
	ASSERT_EQ(NB, n) TH_LOG("%zu MiB faulted on node %d, %d pages in memory%ld", faulted >> 20,
				z[k].node, n, block);
	for (i = 0; i < NB; i++)
		pfn0[i] = pfn_at(c, iov[i].iov_base);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	register_bufs(_metadata, c, 0, iov, NB);
	for (i = 0; i < NB; i++) {
		pfn = pfn_at(c, iov[i].iov_base);
		ASSERT_NE(pfn0[i], pfn) TH_LOG("registration left buffer %d in memory%ld", i, block);
		ASSERT_NE((unsigned long)block, pfn / ppb);
	}

	ret = block_set(block, "offline");
	ASSERT_EQ(0, ret) TH_LOG("offlining memory%ld with %d registered buffers in it: %s", block,
				 NB, strerror(-ret));
	for (i = 0; i < NB; i++) {
		pfn = pfn_at(c, iov[i].iov_base);
		ASSERT_NE((unsigned long)block, pfn / ppb) TH_LOG("buffer %d still in memory%ld", i, block);
		ASSERT_EQ(-1, check(iov[i].iov_base, psize, seed_of(31, i)))
			TH_LOG("buffer %d lost its data in the move", i);
	}
	TH_LOG("memory%ld offline; its %d registered buffers had left it", block, NB);
	ret = block_set(block, "online_movable");
	ASSERT_EQ(0, ret) TH_LOG("onlining memory%ld again: %s", block, strerror(-ret));
	/* The kernel's view moved with them. */
	write_each_check(_metadata, c, fd, iov, NB, 31, "the offline");
	check_released(_metadata, c);
}

#define CMA_AREA	"/sys/kernel/debug/cma/reserved"

/*
 * Buffers faulted in the cma= area leave it at registration (unbounded
 * owners), with their data, and a CMA allocation of the whole area succeeds.
 * The buffers are placed by faulting on the area's node, preferred, not
 * bound, until the allocator serves pages from CMA.
 */
TEST_F_TIMEOUT(iou, cma_alloc, 120)
{
	enum { NB = 16 };
	const size_t chunk = 640UL << 20;
	unsigned long base, count, mask[MAXNODE / 64] = { 0 };
	size_t faulted;
	struct zone_rec z[MAX_ZONES];
	struct ctx *c = &self->c;
	struct iovec iov[NB];
	uint64_t pfn0[NB], pfn;
	char buf[64], *mem;
	int nz, k, node = -1, n = 0, i, fd, ret;

	ASSERT_LE(0, read_str(CMA_AREA "/base_pfn", buf, sizeof(buf)))
		TH_LOG("no " CMA_AREA " (boot with cma=, CONFIG_CMA_DEBUGFS)");
	base = strtoul(buf, NULL, 10);
	ASSERT_LE(0, read_str(CMA_AREA "/count", buf, sizeof(buf)));
	count = strtoul(buf, NULL, 10);
	ASSERT_LT(0UL, count);
	nz = read_zones(z, MAX_ZONES);
	for (k = 0; k < nz; k++)
		if (base >= z[k].start && base < z[k].start + z[k].spanned)
			node = z[k].node;
	ASSERT_LE(0, node) TH_LOG("CMA area at pfn %#lx in no zone", base);

	mem = map_anon(c, chunk, false);
	ASSERT_NE(NULL, mem);
	mask[node / 64] = 1UL << (node % 64);
	ASSERT_EQ(0, syscall(__NR_set_mempolicy, MPOL_PREFERRED, mask, MAXNODE + 1));
	n = place_pages(c, mem, chunk, base, base + count, iov, NB, 41, &faulted);
	bind_node(-1);
	ASSERT_EQ(NB, n) TH_LOG("%zu MiB faulted preferring node %d, %d pages in CMA", faulted >> 20,
				node, n);
	for (i = 0; i < NB; i++)
		pfn0[i] = pfn_at(c, iov[i].iov_base);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	register_bufs(_metadata, c, 0, iov, NB);
	for (i = 0; i < NB; i++) {
		pfn = pfn_at(c, iov[i].iov_base);
		ASSERT_NE(pfn0[i], pfn) TH_LOG("registration left buffer %d in CMA", i);
		ASSERT_TRUE(pfn < base || pfn >= base + count);
	}

	snprintf(buf, sizeof(buf), "%lu", count);
	ret = write_str(CMA_AREA "/alloc", buf);
	ASSERT_EQ(0, ret) TH_LOG("allocating the whole CMA area (%lu pages) with %d registered buffers in it: %s",
				 count, NB, strerror(-ret));
	for (i = 0; i < NB; i++) {
		pfn = pfn_at(c, iov[i].iov_base);
		ASSERT_TRUE(pfn < base || pfn >= base + count) TH_LOG("buffer %d still in CMA", i);
		ASSERT_EQ(-1, check(iov[i].iov_base, psize, seed_of(41, i)))
			TH_LOG("buffer %d lost its data in the move", i);
	}
	ret = write_str(CMA_AREA "/free", buf);
	ASSERT_EQ(0, ret) TH_LOG("freeing the CMA allocation: %s", strerror(-ret));
	TH_LOG("CMA allocation of %lu pages done; %d registered buffers had left the area", count, NB);
	write_each_check(_metadata, c, fd, iov, NB, 41, "the CMA allocation");
	check_released(_metadata, c);
}

/* vm.pinpage_migrate=0: registered buffers stay; back to 1: they move. */
/* --- application ring memory: IORING_SETUP_NO_MMAP SQEs, provided buffer rings --- */

#define MEM_KIND	"io_uring_mem"
#define RAW_ENTRIES	256		/* 16 KiB of SQEs: four pages */
#define RAW_BATCH	16
#define PBUF_ENTRIES	1024		/* 16 KiB of buffer ring: four pages */
#define PBUF_BGID	7
#define PBUF_BUFS	64		/* buffers handed to the ring, one page each */
#define FILE_PAGES	64
#define RING_MEM	(16UL << 10)	/* each of rings, SQEs and buffer ring */

/* A NO_MMAP ring driven by hand: liburing 2.3 cannot set one up. */
struct raw_ring {
	int fd;
	char *rings;
	struct io_uring_sqe *sqes;
	unsigned int *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned int sq_cached;
	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned short br_tail;
};

static int raw_setup(struct raw_ring *r, char *rings, char *sqes, unsigned int flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_NO_MMAP | IORING_SETUP_CQSIZE | flags;
	p.cq_entries = RAW_ENTRIES;
	/* An SQPOLL thread that sleeps (and sets IORING_SQ_NEED_WAKEUP) often. */
	p.sq_thread_idle = 1;
	p.sq_off.user_addr = (uintptr_t)sqes;
	p.cq_off.user_addr = (uintptr_t)rings;
	r->fd = syscall(__NR_io_uring_setup, RAW_ENTRIES, &p);
	if (r->fd < 0)
		return -errno;
	r->rings = rings;
	r->sqes = (struct io_uring_sqe *)sqes;
	r->sq_tail = (unsigned int *)(rings + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(rings + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(rings + p.sq_off.array);
	r->sq_flags = (unsigned int *)(rings + p.sq_off.flags);
	r->cq_head = (unsigned int *)(rings + p.cq_off.head);
	r->cq_tail = (unsigned int *)(rings + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(rings + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
	r->sq_cached = *r->sq_tail;
	return 0;
}

/* Close @r, the last file add_fd() took. */
static void raw_close(struct ctx *c, struct raw_ring *r)
{
	close(r->fd);
	if (c->nr_fds && c->fds[c->nr_fds - 1] == r->fd)
		c->nr_fds--;
	r->fd = -1;
}

/* Ring teardown is asynchronous: wait until @want io_uring_mem owners are left. */
static int wait_mem_owners(int want)
{
	struct owners o;
	int i;

	for (i = 0; i < 100; i++) {
		if (owners_read_kind(&o, MEM_KIND))
			return -1;
		if (o.nr == want)
			break;
		usleep(100000);
	}
	return o.nr;
}

/* Register @br (application memory) as buffer group PBUF_BGID, consumed incrementally. */
static int raw_pbuf_register(struct raw_ring *r, char *br, char *bufs)
{
	struct io_uring_buf_reg reg;
	int i;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = PBUF_ENTRIES;
	reg.bgid = PBUF_BGID;
	reg.flags = IOU_PBUF_RING_INC;
	if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_PBUF_RING, &reg, 1))
		return -errno;
	r->br = (struct io_uring_buf_ring *)br;
	r->bufs = bufs;
	r->br_tail = 0;
	for (i = 0; i < PBUF_BUFS; i++) {
		struct io_uring_buf *b = &r->br->bufs[r->br_tail++ & (PBUF_ENTRIES - 1)];

		b->addr = (uintptr_t)(bufs + i * psize);
		b->len = psize;
		b->bid = i;
	}
	__atomic_store_n(&r->br->tail, r->br_tail, __ATOMIC_RELEASE);
	return 0;
}

static int raw_pbuf_unregister(struct raw_ring *r)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.bgid = PBUF_BGID;
	return syscall(__NR_io_uring_register, r->fd, IORING_UNREGISTER_PBUF_RING, &reg, 1) ?
	       -errno : 0;
}

/*
 * One batch: RAW_BATCH reads of file blocks (chosen from @round) into
 * buffers the kernel selects from the buffer ring; every CQE must name a
 * request of the batch once, carry a whole page and the block's bytes, and
 * its buffer goes back to the ring.  0, or -1 with @err set.
 */
static int raw_round(struct raw_ring *r, int fd, unsigned long round, char *err, size_t errlen)
{
	unsigned int mask = *r->sq_mask, head, tail, seen = 0, k, idx, bid, got, flags;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	long ret, bad;
	uint64_t blk;

	for (k = 0; k < RAW_BATCH; k++) {
		idx = r->sq_cached & mask;
		sqe = &r->sqes[idx];
		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_READ;
		sqe->fd = fd;
		sqe->off = ((round * 5 + k * 3) % FILE_PAGES) * psize;
		sqe->len = psize;
		/* Every other one through io-wq, which completes it from a worker. */
		sqe->flags = IOSQE_BUFFER_SELECT | (k & 1 ? IOSQE_ASYNC : 0);
		sqe->buf_group = PBUF_BGID;
		sqe->user_data = round << 8 | k;
		r->sq_array[idx] = idx;
		r->sq_cached++;
	}
	__atomic_store_n(r->sq_tail, r->sq_cached, __ATOMIC_RELEASE);
	/*
	 * An SQPOLL thread is woken only if it said it sleeps, as liburing
	 * does: an IORING_SQ_NEED_WAKEUP lost while the ring page moved would
	 * leave these SQEs unsubmitted and the wait below without end.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = IORING_ENTER_GETEVENTS;
	if (__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) & IORING_SQ_NEED_WAKEUP)
		flags |= IORING_ENTER_SQ_WAKEUP;
	ret = syscall(__NR_io_uring_enter, r->fd, RAW_BATCH, RAW_BATCH, flags, NULL, 0);
	if (ret != RAW_BATCH) {
		snprintf(err, errlen, "round %lu: io_uring_enter() submitted %ld of %d (%s)",
			 round, ret, RAW_BATCH, ret < 0 ? strerror(errno) : "short");
		return -1;
	}
	for (got = 0; got < RAW_BATCH; ) {
		head = *r->cq_head;
		tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
		if (head == tail) {
			ret = syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS,
				      NULL, 0);
			if (ret < 0 && errno != EINTR) {
				snprintf(err, errlen, "round %lu: waiting: %s", round,
					 strerror(errno));
				return -1;
			}
			continue;
		}
		for (; head != tail; head++, got++) {
			cqe = &r->cqes[head & *r->cq_mask];
			k = cqe->user_data & 0xff;
			if (cqe->user_data >> 8 != round || k >= RAW_BATCH || (seen & 1U << k)) {
				snprintf(err, errlen, "round %lu: CQE for %#llx: not in this batch, or twice",
					 round, (unsigned long long)cqe->user_data);
				return -1;
			}
			seen |= 1U << k;
			bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			if (cqe->res != (int)psize || !(cqe->flags & IORING_CQE_F_BUFFER) ||
			    bid >= PBUF_BUFS) {
				snprintf(err, errlen, "round %lu, read %u: res %d, flags %#x",
					 round, k, cqe->res, cqe->flags);
				return -1;
			}
			blk = (round * 5 + k * 3) % FILE_PAGES;
			bad = check(r->bufs + bid * psize, psize, 1000 + blk);
			if (bad >= 0) {
				snprintf(err, errlen, "round %lu, read %u of block %llu into buffer %u: byte %ld differs",
					 round, k, (unsigned long long)blk, bid, bad);
				return -1;
			}
			memset(r->bufs + bid * psize, 0x5a, psize);
			r->br->bufs[r->br_tail & (PBUF_ENTRIES - 1)].addr =
				(uintptr_t)(r->bufs + bid * psize);
			r->br->bufs[r->br_tail & (PBUF_ENTRIES - 1)].len = psize;
			r->br->bufs[r->br_tail & (PBUF_ENTRIES - 1)].bid = bid;
			r->br_tail++;
			__atomic_store_n(&r->br->tail, r->br_tail, __ATOMIC_RELEASE);
		}
		__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	}
	return 0;
}

/* A tmpfs file of FILE_PAGES blocks, block b filled with seed 1000 + b (@tmp: a page). */
static int raw_file(struct __test_metadata *_metadata, struct ctx *c, char *tmp)
{
	int fd = tmpfs_file(c, FILE_PAGES * psize), i;

	EXPECT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	for (i = 0; fd >= 0 && i < FILE_PAGES; i++) {
		fill(tmp, psize, 1000 + i);
		EXPECT_EQ((ssize_t)psize, pwrite(fd, tmp, psize, i * psize));
	}
	return fd;
}

/*
 * A ring set up with IORING_SETUP_NO_MMAP and a provided buffer ring, both in
 * the application's memory, reading a tmpfs file through buffers the kernel
 * selects from that ring, while a thread moves the SQE and buffer ring pages
 * between the nodes: both are io_uring_mem owners, every page changes PFN,
 * and every read is exact, so the kernel always read the SQEs and the buffer
 * ring the application had just written through its moved pages.  With
 * @rings_move, the SQ/CQ rings are a third owner and move too, so every CQE
 * the kernel posted (inline, from task_work, from io-wq) and every sq_flags
 * bit it set (IORING_SQ_TASKRUN, IORING_SQ_NEED_WAKEUP) reached the moved
 * page; without @rings_move the ring page would keep a plain pin and stay.
 * Unregistering the buffer ring and closing the ring while pages move:
 * nothing stays owned or pinned.
 */
static void ring_memory_case(struct __test_metadata *_metadata, struct ctx *c,
			     unsigned int flags, bool rings_move)
{
	struct raw_ring r = { .fd = -1 };
	char *rings, *sqes, *br, *bufs, err[256] = "";
	unsigned long round = 0, i, npg = RING_MEM / psize;
	uint64_t rings_pfn0[16], t0;
	struct owners o, o0;
	struct mover m;
	pthread_t t;
	int fd, ret, st;

	ASSERT_GE(16UL, npg);
	rings = small_buf(_metadata, c, npg);
	sqes = small_buf(_metadata, c, npg);
	br = small_buf(_metadata, c, npg);
	bufs = small_buf(_metadata, c, PBUF_BUFS);
	fd = raw_file(_metadata, c, bufs);
	ASSERT_EQ(0, owners_read_kind(&o0, MEM_KIND));

	ret = raw_setup(&r, rings, sqes, flags);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup(IORING_SETUP_NO_MMAP | %#x): %s", flags,
				 strerror(-ret));
	add_fd(c, r.fd);
	ret = raw_pbuf_register(&r, br, bufs);
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_PBUF_RING (IOU_PBUF_RING_INC): %s",
				 strerror(-ret));
	ASSERT_EQ(0, owners_read_kind(&o, MEM_KIND));
	ASSERT_EQ(o0.nr + 2 + rings_move, o.nr)
		TH_LOG("the SQEs, the buffer ring%s are " MEM_KIND " owners",
		       rings_move ? " and the SQ/CQ rings" : "");
	if (!rings_move)
		ASSERT_EQ(o0.pins + 2 * (long)npg, o.pins);
	ASSERT_EQ(0, pfns_of(c, rings, npg, rings_pfn0));

	memset(&m, 0, sizeof(m));
	mover_alloc(_metadata, &m, c, sqes, br, RING_MEM);
	if (rings_move)
		mover_add_set(&m, rings);
	for (i = 0; i < npg; i++) {
		m.pages[m.nr++] = sqes + i * psize;
		m.pages[m.nr++] = br + i * psize;
		if (rings_move)
			m.pages[m.nr++] = rings + i * psize;
	}
	ASSERT_EQ(0, mover_scan(&m));
	memcpy(m.pfn0, m.pfn, m.nr_pfns * sizeof(*m.pfn));
	m.nr_changed = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, mover_fn, &m));
	t0 = now_ns();
	while (!raw_round(&r, fd, round, err, sizeof(err))) {
		round++;
		if (now_ns() - t0 >= LOOP_MAX_NS ||
		    (now_ns() - t0 >= LOOP_MIN_NS && m.rounds >= 2 && m.nr_changed == m.nr_pfns))
			break;
	}
	m.stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%lu batches of %d reads, %lu pages moved in %lu mover rounds (%lu not moved, %lu errors, last %d)",
	       round, RAW_BATCH, m.moved, m.rounds, m.unset, m.errors, m.last_error);
	ASSERT_EQ(0, err[0]) TH_LOG("%s", err);
	ASSERT_EQ(0, m.err[0]) TH_LOG("%s", m.err);
	ASSERT_EQ(-1, first_unchanged(&m))
		TH_LOG("page %ld (%s) never changed PFN", first_unchanged(&m),
		       first_unchanged(&m) < (long)npg ? "SQEs" :
		       first_unchanged(&m) < 2 * (long)npg ? "buffer ring" : "SQ/CQ rings");

	/* Otherwise the SQ/CQ rings are pinned the plain way: they stay. */
	if (!rings_move) {
		st = move_one(rings, c->other);
		ASSERT_NE(c->other, st) TH_LOG("the SQ/CQ ring page moved");
		ASSERT_EQ(rings_pfn0[0], pfn_at(c, rings))
			TH_LOG("the SQ/CQ ring page changed PFN");
	}

	/* Unregister and close while the pages move: owners and pins go. */
	m.stop = 0;
	m.done = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, mover_fn, &m));
	usleep(200000);
	ret = raw_pbuf_unregister(&r);
	usleep(100000);
	raw_close(c, &r);
	usleep(200000);
	m.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("IORING_UNREGISTER_PBUF_RING: %s", strerror(-ret));
	ASSERT_EQ(o0.nr, wait_mem_owners(o0.nr))
		TH_LOG(MEM_KIND " owners left after closing the ring");
	mover_free(&m);
	check_released(_metadata, c);
}

TEST_F_TIMEOUT(iou, ring_memory_moves, 120)
{
	ring_memory_case(_metadata, &self->c, 0, true);
}

TEST_F_TIMEOUT(iou, ring_memory_moves_defer, 120)
{
	ring_memory_case(_metadata, &self->c,
			 IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER, true);
}

TEST_F_TIMEOUT(iou, ring_memory_taskrun_flag, 120)
{
	ring_memory_case(_metadata, &self->c,
			 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, true);
}

TEST_F_TIMEOUT(iou, ring_memory_sqpoll, 120)
{
	ring_memory_case(_metadata, &self->c, IORING_SETUP_SQPOLL, true);
}

/*
 * ZONE_MOVABLE: SQEs and a buffer ring faulted in application memory there
 * leave it at setup, as on stock: their owner needs uring_lock, which the
 * ring's process can hold for as long as it likes, so it is not bounded (the
 * adversary group shows what that would cost).  They work, and still move
 * between the kernel zones of the nodes.
 */
TEST_F_TIMEOUT(iou, movable_ring_memory, 60)
{
	struct ctx *c = &self->c;
	struct raw_ring r = { .fd = -1 };
	char *rings, *sqes, *br, *bufs, err[256] = "";
	unsigned long round, npg = RING_MEM / psize;
	struct owners o0, o;
	int fd, ret, node, node2, away;

	rings = small_buf(_metadata, c, npg);
	bufs = small_buf(_metadata, c, PBUF_BUFS);
	sqes = movable_buf(_metadata, c, npg, &node);
	br = movable_buf(_metadata, c, npg, &node2);
	fd = raw_file(_metadata, c, bufs);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, owners_read_kind(&o0, MEM_KIND));

	ret = raw_setup(&r, rings, sqes, 0);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup(IORING_SETUP_NO_MMAP): %s", strerror(-ret));
	add_fd(c, r.fd);
	ret = raw_pbuf_register(&r, br, bufs);
	ASSERT_EQ(0, ret) TH_LOG("IORING_REGISTER_PBUF_RING: %s", strerror(-ret));
	ASSERT_EQ(0, owners_read_kind(&o, MEM_KIND));
	ASSERT_EQ(o0.nr + 3, o.nr) TH_LOG("ring memory owners (rings, SQEs, buffer ring)");
	ASSERT_EQ(o0.bounded, o.bounded) TH_LOG("ring memory owners declare bounded isolation");
	ASSERT_EQ(0, movable_pages(c, sqes, npg))
		TH_LOG("SQE pages pinned in ZONE_MOVABLE");
	ASSERT_EQ(0, movable_pages(c, br, npg))
		TH_LOG("buffer ring pages pinned in ZONE_MOVABLE");
	for (round = 0; round < 20; round++)
		ASSERT_EQ(0, raw_round(&r, fd, round, err, sizeof(err))) TH_LOG("%s", err);

	/* They move as well, from where they are now, to the other node. */
	ASSERT_EQ(0, nodes_of(sqes, 1, &node));
	away = node == c->home ? c->other : c->home;
	move_all(_metadata, c, sqes, npg, away);
	ASSERT_EQ(0, nodes_of(br, 1, &node2));
	away = node2 == c->home ? c->other : c->home;
	move_all(_metadata, c, br, npg, away);
	ASSERT_EQ(0, movable_pages(c, sqes, npg)) TH_LOG("SQE pages moved into ZONE_MOVABLE");
	for (; round < 40; round++)
		ASSERT_EQ(0, raw_round(&r, fd, round, err, sizeof(err))) TH_LOG("%s", err);
	raw_close(c, &r);
	ASSERT_EQ(o0.nr, wait_mem_owners(o0.nr))
		TH_LOG(MEM_KIND " owners left after closing the rings");
	check_released(_metadata, c);
}

/*
 * Ring memory that cannot be used gets the errors it gets on stock (the
 * checks come before pinning), and leaves no owner and no pin behind.
 */
TEST_F_TIMEOUT(iou, ring_memory_bad_input, 60)
{
	struct ctx *c = &self->c;
	struct raw_ring r = { .fd = -1 };
	char *rings, *sqes, *ro, *hole, *bufs;
	unsigned long npg = RING_MEM / psize;
	struct owners o0, o;
	struct io_uring_buf_reg reg;
	/* Which memory is bad (0: SQEs, 1: rings), at addr[i]. */
	const struct { const char *what; int which; int err; } cases[] = {
		{ "SQEs not page aligned", 0, -EINVAL },
		{ "SQEs unmapped", 0, -EFAULT },
		{ "SQEs read-only", 0, -EFAULT },
		{ "rings unmapped", 1, -EFAULT },
	};
	const char *said;
	char *addr[4];
	unsigned int i;
	int ret;

	rings = small_buf(_metadata, c, npg);
	sqes = small_buf(_metadata, c, npg);
	bufs = small_buf(_metadata, c, PBUF_BUFS);
	ro = map_anon(c, RING_MEM, false);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, mprotect(ro, RING_MEM, PROT_READ));
	hole = map_anon(c, RING_MEM, false);
	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, munmap(hole, RING_MEM));
	c->nr_maps--;
	addr[0] = sqes + 64;
	addr[1] = hole;
	addr[2] = ro;
	addr[3] = hole;
	ASSERT_EQ(0, owners_read_kind(&o0, MEM_KIND));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].which)
			ret = raw_setup(&r, addr[i], sqes, 0);
		else
			ret = raw_setup(&r, rings, addr[i], 0);
		if (!ret)
			close(r.fd);
		said = ret ? strerror(-ret) : "ok";
		ASSERT_EQ(cases[i].err, ret)
			TH_LOG("%s: io_uring_setup() said %s", cases[i].what, said);
	}

	ASSERT_EQ(0, raw_setup(&r, rings, sqes, 0));
	add_fd(c, r.fd);
	for (i = 0; i < 3; i++) {
		char *br = i == 0 ? bufs + 64 : i == 1 ? hole : ro;
		int want = i == 0 ? -EINVAL : -EFAULT;

		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (uintptr_t)br;
		reg.ring_entries = PBUF_ENTRIES;
		reg.bgid = PBUF_BGID;
		ret = syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_PBUF_RING, &reg, 1) ?
		      -errno : 0;
		ASSERT_EQ(want, ret)
			TH_LOG("buffer ring %s: %s",
			       i == 0 ? "not page aligned" : i == 1 ? "unmapped" : "read-only",
			       ret ? strerror(-ret) : "registered");
	}
	ASSERT_EQ(0, owners_read_kind(&o, MEM_KIND));
	ASSERT_EQ(o0.nr + 2, o.nr)
		TH_LOG("only the rings and SQEs of the one ring set up are owned");
	raw_close(c, &r);
	ASSERT_EQ(o0.nr, wait_mem_owners(o0.nr)) TH_LOG(MEM_KIND " owners left");
	check_released(_metadata, c);
}

TEST_F_TIMEOUT(iou, switch_off, 60)
{
	enum { NB = 16 };
	struct ctx *c = &self->c;
	uint64_t pfn0[NB], pfns[NB];
	struct iovec iov[NB];
	struct owners o0, o;
	long long isolate;
	char *buf;
	int fd, i, st, ret;

	buf = small_buf(_metadata, c, NB);
	page_iovs(iov, buf, NB);
	fd = tmpfs_file(c, NB * psize);
	ASSERT_LE(0, fd) TH_LOG("no tmpfs at /tmp or /dev/shm");
	ring_init(_metadata, c, 0, 32);
	register_bufs(_metadata, c, 0, iov, NB);
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfn0));

	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "0"));
	isolate = vmstat_get("pinpage_isolate");
	for (i = 0; i < NB; i++) {
		st = move_one(buf + i * psize, c->other);
		ASSERT_NE(c->other, st) TH_LOG("page %d moved with " PINPAGE_SYSCTL "=0", i);
	}
	TH_LOG("switched off: pinpage_isolate +%lld", vmstat_get("pinpage_isolate") - isolate);
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfns));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(pfn0[i], pfns[i]) TH_LOG("page %d changed PFN", i);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 15);

	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "1"));
	move_all(_metadata, c, buf, NB, c->other);
	write_check(_metadata, &c->ring[0], fd, buf, NB, 0, 16);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 17);

	/* Registered while off: no owner, no records, as on stock; never moved. */
	ASSERT_EQ(0, io_uring_unregister_buffers(&c->ring[0]));
	ASSERT_EQ(0, owners_read(&o0));
	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "0"));
	ret = io_uring_register_buffers(&c->ring[0], iov, NB);
	ASSERT_EQ(0, write_str(PINPAGE_SYSCTL, "1"));
	ASSERT_EQ(0, ret) TH_LOG("registering with the switch off: %s", strerror(-ret));
	ASSERT_EQ(0, owners_read(&o));
	ASSERT_EQ(o0.nr, o.nr) TH_LOG("%d owners made with the switch off", o.nr - o0.nr);
	ASSERT_EQ(o0.pins, o.pins);
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfn0));
	for (i = 0; i < NB; i++) {
		st = move_one(buf + i * psize, c->home);
		ASSERT_NE(c->home, st) TH_LOG("page %d of a buffer registered while off moved", i);
	}
	ASSERT_EQ(0, pfns_of(c, buf, NB, pfns));
	for (i = 0; i < NB; i++)
		ASSERT_EQ(pfn0[i], pfns[i]) TH_LOG("page %d changed PFN", i);
	write_check(_metadata, &c->ring[0], fd, buf, NB, 0, 18);
	read_check(_metadata, &c->ring[0], fd, buf, NB, 0, 19);
	check_released(_metadata, c);
}

TEST_HARNESS_MAIN

#else	/* !LOCAL_CONFIG_HAVE_LIBURING */

#include "../kselftest.h"

int main(void)
{
	ksft_print_header();
	ksft_exit_fail_msg("built without liburing: io_uring registered buffers cannot be tested\n");
}

#endif
