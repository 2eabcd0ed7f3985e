// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage: migration of pages held by owned long-term pins.
 *
 * A page pinned long-term through a registered pinpage owner stays
 * migratable: the VM asks every owner to isolate, moves the folio, calls each
 * owner's ->migrate() so it repoints to the new page and finally puts the
 * owners back.  Pins taken without an owner keep the upstream behaviour and
 * make the page unmigratable.
 *
 * The test drives test owners through /sys/kernel/debug/gup_test
 * (PIN_OWNED_TEST_*) and checks:
 *
 *  - pinpage_migrate.owned_pin_migrates: an owned pin is migrated by
 *    compaction (buffer placed low in its zone, so compaction must move it),
 *    by a CMA allocation of the whole CMA area (bounded owner, buffer placed
 *    in the area), by offlining its memory block (bounded owner, buffer placed
 *    in a ZONE_MOVABLE block without reserved pages) and by move_pages(2),
 *    with small pages and, where it makes sense, THPs.  Placing means
 *    faulting memory (on the target's node) until a chunk lands where needed.
 *    After migration the pin is still held, the owner's pages
 *    (PIN_OWNED_TEST_PFNS) are exactly the pages the process maps
 *    (/proc/self/pagemap), the owner got a ->migrate() per moved folio, every
 *    isolation was put back and both the process's and the owner's view of
 *    the memory hold the original data.
 *  - pinpage.nested_owners: two owners pin the same pages; both are repointed.
 *  - pinpage.refusing_owner: one of two owners refuses isolation; nothing
 *    moves and the other owner is put back.
 *  - pinpage.unowned_pin: an additional unowned long-term pin keeps the pages
 *    in place (pinpage_unowned_skipped).
 *  - pinpage.fork_during_migration: fork() racing with move_pages() keeps
 *    a pinned page the parent's; fails unless forks overlapped migrations.
 *  - pinpage.switch_off: vm.pinpage_migrate=0 restores the stock behaviour:
 *    an owner made meanwhile records nothing and its pins never move.
 *  - pinpage.bad_input: bad writes to vm.pinpage_migrate and the debugfs
 *    files, bad arguments to every PIN_OWNED_TEST ioctl; nothing stays
 *    pinned.  pinpage.bad_input_huge_size: absurd sizes, without a warning.
 *  - pinpage.hugetlb_movable_bounded: a bounded owner's pin of a hugetlb page
 *    in ZONE_MOVABLE (pinpage cannot move it) migrates it out first, and the
 *    memory block can be offlined.
 *  - pinpage.mbind_unbounded: mbind(MPOL_MF_MOVE) moves an unbounded owner's
 *    pins to a kernel zone of the new node, never to ZONE_MOVABLE or CMA.
 *
 * Needs root, debugfs, CONFIG_GUP_TEST and CONFIG_PINPAGE; parts need a second
 * NUMA node, THP, a CMA area (cma=) and ZONE_MOVABLE memory (movablecore=) and
 * are skipped without them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/mempolicy.h>
#include <linux/types.h>

#include "../../../../mm/gup_test.h"
#include "../kselftest_harness.h"
#include "vm_util.h"

#ifndef PIN_OWNED_TEST_START
#define PIN_OWNED_TEST_START	_IOW('g', 10, struct pin_owned_test)
#define PIN_OWNED_TEST_STOP	_IOW('g', 11, struct pin_owned_test)
#define PIN_OWNED_TEST_READ	_IOW('g', 12, struct pin_owned_test)
#define PIN_OWNED_TEST_PFNS	_IOW('g', 13, struct pin_owned_test)
#define PIN_OWNED_TEST_CONFIG	_IOW('g', 14, struct pin_owned_test)
#define PIN_OWNED_TEST_STATUS	_IOWR('g', 15, struct pin_owned_test)
#define PIN_OWNED_TEST_MAX_OWNERS	4
#define PIN_OWNED_TEST_FLAG_BOUNDED	0x100
#define PIN_OWNED_TEST_FLAG_REFUSE	0x200
struct pin_owned_test {
	__u64 addr;
	__u64 size;
	__u32 owner;
	__u32 flags;
	__u64 nr_pages;
	__u64 nr_isolate;
	__u64 nr_refused;
	__u64 nr_migrate;
	__u64 nr_putback;
};
#endif

#define GUP_TEST_PATH		"/sys/kernel/debug/gup_test"
#define PINPAGE_SYSCTL		"/proc/sys/vm/pinpage_migrate"
#define COMPACT_PATH		"/proc/sys/vm/compact_memory"
#define THP_ENABLED_PATH	"/sys/kernel/mm/transparent_hugepage/enabled"
#define CMA_DEBUGFS		"/sys/kernel/debug/cma"
#define MEMORY_SYSFS		"/sys/devices/system/memory"
#define NODE_SYSFS		"/sys/devices/system/node"
#define PINPAGE_STATS		"/sys/kernel/debug/pinpage/stats"
#define ZONEINFO_PATH		"/proc/zoneinfo"
#define MEMINFO_PATH		"/proc/meminfo"

#define NR_SMALL_PAGES		64
#define NR_THPS			2
#define NR_OWNERS		PIN_OWNED_TEST_MAX_OWNERS
#define MAX_NODES		1024
#define OFFLINE_TIMEOUT		20	/* seconds */
#define KPF_THP			22
#define KPF_RESERVED		32
#define STATUS_UNSET		(-100000)	/* move_pages() status not written */
#define MAX_ZONES		256
#define LOW_SAMPLE_SIZE		(128UL << 20)	/* to fault in DMA32/Normal zones */
#define LOW_MAX_FAULT		(1UL << 30)	/* at most, and half of MemAvailable */
#define NODE_MAX_FAULT		(700UL << 20)	/* at most, and 3/4 of the node's MemFree */
#define MAX_BLOCKS		512		/* memory blocks to offline, at most */
#define NODEMASK_LONGS		(MAX_NODES / (8 * sizeof(unsigned long)))
#define TRACEFS			"/sys/kernel/tracing"
#define COMPACT_TRACE		TRACEFS "/events/compaction/mm_compaction_end/enable"
#define HUGETLB_DIR		"/sys/kernel/mm/hugepages/hugepages-2048kB"
#define HUGETLB_NR		HUGETLB_DIR "/nr_hugepages"
#define HUGETLB_SIZE		(2UL << 20)
#define HUGETLB_STEP		64		/* pool growth per round */
#define HUGETLB_MAX_ROUNDS	6
#define TAINTED_PATH		"/proc/sys/kernel/tainted"
#define TAINT_WARN		(1UL << 9)
#define FORK_MIN		100		/* forks, at least */
#define FORK_MAX		3000		/* forks, at most */
#define FORK_OVERLAPS		10		/* stop early once this many overlapped */

enum pp_trigger {
	PP_COMPACT,
	PP_CMA,
	PP_OFFLINE,
	PP_MOVE_PAGES,
};

static const char * const pp_trigger_names[] = {
	[PP_COMPACT]	= "compaction",
	[PP_CMA]	= "CMA allocation",
	[PP_OFFLINE]	= "memory offline",
	[PP_MOVE_PAGES]	= "move_pages",
};

/* Where setup_buffer() places the buffer. */
enum pp_place {
	PLACE_ANY,
	PLACE_CMA,		/* in the CMA area */
	PLACE_ZONE_LOW,		/* in the lower half of a DMA32 or Normal zone */
	PLACE_OFFLINE,		/* in an offlinable ZONE_MOVABLE memory block */
};

static const enum pp_place pp_trigger_place[] = {
	[PP_COMPACT]	= PLACE_ZONE_LOW,
	[PP_CMA]	= PLACE_CMA,
	[PP_OFFLINE]	= PLACE_OFFLINE,
	[PP_MOVE_PAGES]	= PLACE_ANY,
};

/* A zone from /proc/zoneinfo. */
struct pp_zone {
	int node;
	char name[16];
	unsigned long start;		/* start_pfn */
	unsigned long spanned;		/* pages spanned, holes included */
	unsigned long free;		/* free pages */
};

enum {
	VS_ISOLATE,
	VS_REFUSED,
	VS_MIGRATED,
	VS_FAILED,
	VS_UNOWNED,
	VS_NR,
};

static const char * const vs_names[VS_NR] = {
	[VS_ISOLATE]	= "pinpage_isolate",
	[VS_REFUSED]	= "pinpage_isolate_refused",
	[VS_MIGRATED]	= "pinpage_migrated",
	[VS_FAILED]	= "pinpage_failed",
	[VS_UNOWNED]	= "pinpage_unowned_skipped",
};

struct pp_vmstat {
	long long v[VS_NR];		/* -1: counter not present */
};

/* Everything a test sets up, so that teardown can undo it. */
struct pp_ctx {
	int gup_fd;
	int pagemap_fd;
	int kpageflags_fd;		/* -1 if unavailable */
	size_t pagesize;
	size_t folio_size;		/* pagesize or PMD size */
	size_t size;			/* bytes under test */
	unsigned long nr_pages;
	unsigned long nr_folios;
	char *map;			/* mmap()ed region containing buf */
	size_t map_size;
	char *buf;			/* the range the owners pin */
	char *pattern;			/* expected contents of buf */
	char *readbuf;			/* owner's view (PIN_OWNED_TEST_READ) */
	uint64_t *old_pfns;		/* pagemap PFNs after pinning */
	uint64_t *pfns;			/* pagemap PFNs now */
	uint64_t *owner_pfns;		/* PIN_OWNED_TEST_PFNS result */
	bool *must_move;		/* trigger guarantees this page moves */
	uint64_t forbid_lo, forbid_hi;	/* no page may be here afterwards */
	void **mp_pages;		/* move_pages() arguments, per folio */
	int *mp_nodes;
	int *mp_status;
	unsigned int owners;		/* bitmask of started owners */
	bool unbounded;			/* some owner did not declare BOUNDED */
	bool unowned;			/* PIN_LONGTERM_TEST session active */
	bool restore_migrate;
	char saved_migrate[16];
	char saved_thp[16];		/* THP "enabled" to restore, or "" */
	char cma_dir[300];
	unsigned long cma_allocated;	/* pages allocated through debugfs */
	long offline_block;		/* memory block to online again, or -1 */
	struct pp_zone zone;		/* PLACE_ZONE_LOW: the buffer's zone */
	char *spare;			/* PLACE_ZONE_LOW: pages kept above the buffer */
	size_t spare_size;
	unsigned long nr_kept;
	long saved_hugepages;		/* nr_hugepages to restore, or -1 */
	bool trace_on;			/* compaction tracepoint enabled */
	bool policy_bound;		/* steer_bind() changed the memory policy */
	int saved_mode;
	unsigned long saved_nodes[NODEMASK_LONGS];
	bool cpus_bound;		/* steer_bind() changed the CPU affinity */
	cpu_set_t saved_cpus;
};

/* --- small file helpers --- */

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = read(fd, buf, len - 1);
	if (ret < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		return ret;
	buf[ret] = '\0';
	while (ret && (buf[ret - 1] == '\n' || buf[ret - 1] == ' '))
		buf[--ret] = '\0';
	return ret;
}

static int write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t ret;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = write(fd, val, len);
	if (ret < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		return ret;
	return (size_t)ret == len ? 0 : -EIO;
}

static int read_ulong(const char *path, int base, unsigned long *val)
{
	char buf[64], *end;
	int ret;

	ret = read_file(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*val = strtoul(buf, &end, base);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static int write_ulong(const char *path, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	return write_file(path, buf);
}

static void on_alarm(int sig)
{
}

/* A write that is interrupted (EINTR) after @secs seconds instead of hanging. */
static int write_file_timeout(const char *path, const char *val, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	int ret;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART */
	if (sigaction(SIGALRM, &sa, &old))
		return -errno;
	alarm(secs);
	ret = write_file(path, val);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	return ret;
}

static void vmstat_read(struct pp_vmstat *vs)
{
	char name[64];
	long long val;
	FILE *f;
	int i;

	for (i = 0; i < VS_NR; i++)
		vs->v[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &val) == 2)
		for (i = 0; i < VS_NR; i++)
			if (!strcmp(name, vs_names[i]))
				vs->v[i] = val;
	fclose(f);
}

static long long vmstat_delta(const struct pp_vmstat *a, const struct pp_vmstat *b, int i)
{
	if (a->v[i] < 0 || b->v[i] < 0)
		return -1;
	return b->v[i] - a->v[i];
}

static void vmstat_log(struct __test_metadata *_metadata, const struct pp_vmstat *a,
		       const struct pp_vmstat *b)
{
	TH_LOG("vmstat deltas: isolate %lld refused %lld migrated %lld failed %lld unowned_skipped %lld",
	       vmstat_delta(a, b, VS_ISOLATE), vmstat_delta(a, b, VS_REFUSED),
	       vmstat_delta(a, b, VS_MIGRATED), vmstat_delta(a, b, VS_FAILED),
	       vmstat_delta(a, b, VS_UNOWNED));
}

/* Log pinpage's debugfs statistics (owned folios, record memory), if present. */
static void pinpage_stats_log(struct __test_metadata *_metadata)
{
	char line[256];
	FILE *f;

	f = fopen(PINPAGE_STATS, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		TH_LOG("pinpage stats: %s", line);
	}
	fclose(f);
}

/* The value of @key in pinpage's debugfs statistics, or -1. */
static long stats_get(const char *key)
{
	char line[256], k[64];
	long v, ret = -1;
	FILE *f;

	f = fopen(PINPAGE_STATS, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* --- gup_test owner ioctls: 0 or -errno --- */

static int owned_ioctl(struct pp_ctx *c, unsigned long cmd, unsigned int owner,
		       uint64_t addr, uint64_t size, unsigned int flags)
{
	struct pin_owned_test args = {
		.addr = addr,
		.size = size,
		.owner = owner,
		.flags = flags,
	};

	return ioctl(c->gup_fd, cmd, &args) ? -errno : 0;
}

static int owner_start(struct pp_ctx *c, unsigned int owner, unsigned int flags)
{
	int ret;

	ret = owned_ioctl(c, PIN_OWNED_TEST_START, owner, (uintptr_t)c->buf, c->size,
			  PIN_LONGTERM_TEST_FLAG_USE_WRITE | flags);
	if (!ret) {
		c->owners |= 1u << owner;
		c->unbounded |= !(flags & PIN_OWNED_TEST_FLAG_BOUNDED);
	}
	return ret;
}

static int owner_config(struct pp_ctx *c, unsigned int owner, unsigned int flags)
{
	return owned_ioctl(c, PIN_OWNED_TEST_CONFIG, owner, 0, 0, flags);
}

static int owner_pfns(struct pp_ctx *c, unsigned int owner)
{
	return owned_ioctl(c, PIN_OWNED_TEST_PFNS, owner, (uintptr_t)c->owner_pfns, 0, 0);
}

static int owner_read(struct pp_ctx *c, unsigned int owner)
{
	memset(c->readbuf, 0, c->size);
	return owned_ioctl(c, PIN_OWNED_TEST_READ, owner, (uintptr_t)c->readbuf, 0, 0);
}

static int owner_status(struct pp_ctx *c, unsigned int owner, struct pin_owned_test *st)
{
	memset(st, 0, sizeof(*st));
	st->owner = owner;
	return ioctl(c->gup_fd, PIN_OWNED_TEST_STATUS, st) ? -errno : 0;
}

static int owners_status(struct pp_ctx *c, unsigned int owners, struct pin_owned_test *st)
{
	unsigned int o;
	int ret;

	for (o = 0; o < NR_OWNERS; o++) {
		if (!(owners & (1u << o)))
			continue;
		ret = owner_status(c, o, &st[o]);
		if (ret)
			return ret;
	}
	return 0;
}

static int unowned_start(struct pp_ctx *c)
{
	struct pin_longterm_test args = {
		.addr = (uintptr_t)c->buf,
		.size = c->size,
		.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE,
	};

	if (ioctl(c->gup_fd, PIN_LONGTERM_TEST_START, &args))
		return -errno;
	c->unowned = true;
	return 0;
}

static int unowned_read(struct pp_ctx *c)
{
	__u64 addr = (uintptr_t)c->readbuf;

	memset(c->readbuf, 0, c->size);
	return ioctl(c->gup_fd, PIN_LONGTERM_TEST_READ, &addr) ? -errno : 0;
}

static int unowned_stop(struct pp_ctx *c)
{
	if (!c->unowned)
		return 0;
	c->unowned = false;
	return ioctl(c->gup_fd, PIN_LONGTERM_TEST_STOP) ? -errno : 0;
}

/* --- the buffer under test --- */

/* PFNs of the @nr pages at @addr; -ENOENT if one is not present. */
static int pagemap_range(struct pp_ctx *c, const char *addr, unsigned long nr,
			 uint64_t *pfns)
{
	off_t off = (uintptr_t)addr / c->pagesize * sizeof(uint64_t);
	size_t len = nr * sizeof(uint64_t);
	unsigned long i;

	if (pread(c->pagemap_fd, pfns, len, off) != (ssize_t)len)
		return -EIO;
	for (i = 0; i < nr; i++) {
		if (!(pfns[i] & PM_PRESENT))
			return -ENOENT;
		pfns[i] = PAGEMAP_PFN(pfns[i]);
	}
	return 0;
}

static int pagemap_pfns(struct pp_ctx *c, uint64_t *pfns)
{
	return pagemap_range(c, c->buf, c->nr_pages, pfns);
}

/* Index of the first differing page, or -1. */
static long first_page_diff(struct pp_ctx *c, const char *a, const char *b)
{
	unsigned long i;

	for (i = 0; i < c->nr_pages; i++)
		if (memcmp(a + i * c->pagesize, b + i * c->pagesize, c->pagesize))
			return i;
	return -1;
}

/* Index of the first differing PFN, or -1. */
static long first_pfn_diff(struct pp_ctx *c, const uint64_t *a, const uint64_t *b)
{
	unsigned long i;

	for (i = 0; i < c->nr_pages; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

/* Number of pages whose PFN changed; *folios: number of folios with one. */
static unsigned long count_moved(struct pp_ctx *c, unsigned long *folios)
{
	unsigned long per_folio = c->folio_size / c->pagesize, i, moved = 0;
	long last = -1;

	*folios = 0;
	for (i = 0; i < c->nr_pages; i++) {
		if (c->pfns[i] == c->old_pfns[i])
			continue;
		moved++;
		if ((long)(i / per_folio) != last) {
			last = i / per_folio;
			(*folios)++;
		}
	}
	return moved;
}

static void fill_pattern(struct pp_ctx *c)
{
	size_t words = c->pagesize / sizeof(uint64_t);
	unsigned long i;
	size_t j;

	for (i = 0; i < c->nr_pages; i++) {
		uint64_t *p = (uint64_t *)(c->pattern + i * c->pagesize);

		for (j = 0; j < words; j++)
			p[j] = 0x70696e7000000000ULL ^ ((uint64_t)i << 20) ^ j;
	}
}

static bool buffer_is_thp(struct pp_ctx *c)
{
	unsigned long i;
	uint64_t flags;

	if (c->kpageflags_fd < 0)
		return check_huge_anon(c->buf, c->nr_folios, c->folio_size);
	if (pagemap_pfns(c, c->pfns))
		return false;
	for (i = 0; i < c->nr_pages; i++) {
		if (pread(c->kpageflags_fd, &flags, sizeof(flags),
			  c->pfns[i] * sizeof(flags)) != sizeof(flags))
			return false;
		if (!(flags & (1ULL << KPF_THP)))
			return false;
	}
	return true;
}

/*
 * The folios of the buffer that are whole THPs at @pfns: PMD-aligned,
 * contiguous and, where /proc/kpageflags can tell, flagged THP.
 */
static unsigned long count_thps(struct pp_ctx *c, const uint64_t *pfns)
{
	unsigned long per = c->folio_size / c->pagesize, f, j, n = 0;
	const uint64_t *p;
	uint64_t flags;
	bool ok;

	for (f = 0; f < c->nr_folios; f++) {
		p = pfns + f * per;
		ok = !(p[0] % per);
		for (j = 1; ok && j < per; j++)
			ok = p[j] == p[0] + j;
		for (j = 0; ok && c->kpageflags_fd >= 0 && j < per; j += per - 1)
			ok = pread(c->kpageflags_fd, &flags, sizeof(flags),
				   p[j] * sizeof(flags)) == sizeof(flags) &&
			     (flags & (1ULL << KPF_THP));
		n += ok;
	}
	return n;
}

/* A /proc/vmstat counter, or -1. */
static long long vmstat_get(const char *key)
{
	char name[64];
	long long val;
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &val) == 2) {
		if (!strcmp(name, key)) {
			fclose(f);
			return val;
		}
	}
	fclose(f);
	return -1;
}

/*
 * Pins held on node @nid by its own counters (after vm.stat_refresh), or
 * LLONG_MIN when the node does not exist.  A pin is counted as acquired on
 * the node of the page it was taken on and as released on the node of the
 * page it is dropped from, so the counters balance only if they follow pins
 * that migration moved between nodes.
 */
#define PP_MAX_NODES	8

static long long node_pins_held(int nid)
{
	long long val, acq = -1, rel = -1;
	char path[64], name[64];
	FILE *f;

	write_file("/proc/sys/vm/stat_refresh", "1");
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/vmstat", nid);
	f = fopen(path, "r");
	if (!f)
		return LLONG_MIN;
	while (fscanf(f, "%63s %lld", name, &val) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acq = val;
		else if (!strcmp(name, "nr_foll_pin_released"))
			rel = val;
	}
	fclose(f);
	return acq < 0 || rel < 0 ? LLONG_MIN : acq - rel;
}

/* Make THP available for MADV_HUGEPAGE regions; teardown restores it. */
static int thp_enable(struct pp_ctx *c)
{
	char buf[128], *lb, *rb;
	int ret;

	ret = read_file(THP_ENABLED_PATH, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	lb = strchr(buf, '[');
	rb = lb ? strchr(lb, ']') : NULL;
	if (!rb)
		return -EINVAL;
	*rb = '\0';
	if (strcmp(lb + 1, "never"))
		return 0;
	ret = write_file(THP_ENABLED_PATH, "madvise");
	if (!ret)
		snprintf(c->saved_thp, sizeof(c->saved_thp), "%s", lb + 1);
	return ret;
}

static int alloc_arrays(struct pp_ctx *c)
{
	c->pattern = malloc(c->size);
	c->readbuf = malloc(c->size);
	c->old_pfns = calloc(c->nr_pages, sizeof(uint64_t));
	c->pfns = calloc(c->nr_pages, sizeof(uint64_t));
	c->owner_pfns = calloc(c->nr_pages, sizeof(uint64_t));
	c->must_move = calloc(c->nr_pages, sizeof(bool));
	c->mp_pages = calloc(c->nr_folios, sizeof(void *));
	c->mp_nodes = calloc(c->nr_folios, sizeof(int));
	c->mp_status = calloc(c->nr_folios, sizeof(int));
	if (!c->pattern || !c->readbuf || !c->old_pfns || !c->pfns || !c->owner_pfns ||
	    !c->must_move || !c->mp_pages || !c->mp_nodes || !c->mp_status)
		return -ENOMEM;
	/* Fault these in now, not from the pages prepared for the buffer. */
	memset(c->readbuf, 0, c->size);
	fill_pattern(c);
	return 0;
}

static int map_buffer(struct pp_ctx *c, bool thp)
{
	uintptr_t start;
	char *aligned;

	c->map_size = thp ? c->size + c->folio_size : c->size;
	c->map = mmap(NULL, c->map_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return -errno;
	}
	c->buf = c->map;
	if (thp) {
		start = (uintptr_t)c->map;
		aligned = (char *)((start + c->folio_size - 1) & ~(c->folio_size - 1));
		/* Trim the slack so that the VMA is exactly the aligned buffer. */
		if (aligned != c->map)
			munmap(c->map, aligned - c->map);
		if (aligned + c->size != c->map + c->map_size)
			munmap(aligned + c->size, c->map + c->map_size - (aligned + c->size));
		c->map = c->buf = aligned;
		c->map_size = c->size;
	}
	return madvise(c->buf, c->size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) ? -errno : 0;
}

/* The populated zones in /proc/zoneinfo: their number, or -errno. */
static int read_zones(struct pp_zone *zones, int max)
{
	struct pp_zone cur = { .node = -1 };
	char line[512], name[16];
	unsigned long val;
	int n = 0, node;
	FILE *f;

	f = fopen(ZONEINFO_PATH, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			cur = (struct pp_zone){ .node = node };
			snprintf(cur.name, sizeof(cur.name), "%s", name);
		} else if (sscanf(line, " pages free %lu", &val) == 1) {
			cur.free = val;
		} else if (sscanf(line, " spanned %lu", &val) == 1) {
			cur.spanned = val;
		} else if (sscanf(line, " start_pfn: %lu", &val) == 1) {
			/* Printed last, and only for populated zones. */
			cur.start = val;
			if (cur.node >= 0 && cur.spanned)
				zones[n++] = cur;
		}
	}
	fclose(f);
	return n;
}

/* The zone spanning @pfn, or -1 if none or several (overlapping spans) do. */
static int zone_of(const struct pp_zone *zones, int nr_zones, uint64_t pfn)
{
	int i, found = -1;

	for (i = 0; i < nr_zones; i++) {
		if (pfn < zones[i].start || pfn >= zones[i].start + zones[i].spanned)
			continue;
		if (found >= 0)
			return -1;
		found = i;
	}
	return found;
}

/* Compaction's zones: not DMA (tiny), not Movable (no unbounded pins there). */
static bool zone_compactable(const struct pp_zone *z)
{
	return !strcmp(z->name, "DMA32") || !strcmp(z->name, "Normal");
}

static bool pfn_in_low_half(const struct pp_zone *z, uint64_t pfn)
{
	return pfn >= z->start && pfn < z->start + z->spanned / 2;
}

/* The value of @key (say "MemFree:") in a meminfo file, in bytes; 0 if absent. */
static uint64_t meminfo_bytes(const char *path, const char *key)
{
	unsigned long long kb = 0;
	char line[256], *p;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, key);
		if (p && sscanf(p + strlen(key), "%llu", &kb) == 1)
			break;
	}
	fclose(f);
	return kb << 10;
}

static uint64_t node_free(int node)
{
	char path[64];

	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/meminfo", node);
	return meminfo_bytes(path, "MemFree:");
}

/* Parse a node or CPU list such as "0-1,3" into @set[0..@max). */
static void parse_list(const char *s, bool *set, long max)
{
	long a, b, n;
	char *end;

	while (*s) {
		a = strtol(s, &end, 10);
		if (end == s)
			return;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s)
				return;
		}
		for (n = a; n <= b && n >= 0 && n < max; n++)
			set[n] = true;
		s = end;
		if (*s != ',')
			return;
		s++;
	}
}

static void cma_path(struct pp_ctx *c, const char *file, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", c->cma_dir, file);
}

/* Find the CMA debugfs directory, preferring the cma= area "reserved". */
static bool cma_find(struct pp_ctx *c)
{
	char path[512];
	struct dirent *d;
	DIR *dir;

	snprintf(c->cma_dir, sizeof(c->cma_dir), CMA_DEBUGFS "/reserved");
	cma_path(c, "base_pfn", path, sizeof(path));
	if (!access(path, R_OK))
		return true;
	c->cma_dir[0] = '\0';
	dir = opendir(CMA_DEBUGFS);
	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(c->cma_dir, sizeof(c->cma_dir), CMA_DEBUGFS "/%s", d->d_name);
		cma_path(c, "base_pfn", path, sizeof(path));
		if (!access(path, R_OK))
			break;
		c->cma_dir[0] = '\0';
	}
	closedir(dir);
	return c->cma_dir[0];
}

static int cma_range(struct pp_ctx *c, unsigned long *base, unsigned long *count)
{
	char path[512];
	int ret;

	if (!c->cma_dir[0] && !cma_find(c))
		return -ENOENT;
	cma_path(c, "base_pfn", path, sizeof(path));
	ret = read_ulong(path, 10, base);
	if (ret)
		return ret;
	cma_path(c, "count", path, sizeof(path));
	return read_ulong(path, 10, count);
}

/* The CMA area's PFNs as [*lo, *hi), empty if there is none. */
static void cma_bounds(struct pp_ctx *c, uint64_t *lo, uint64_t *hi)
{
	unsigned long base, count;

	if (cma_range(c, &base, &count))
		base = count = 0;
	*lo = base;
	*hi = base + count;
}

static int cma_alloc_pages(struct pp_ctx *c, unsigned long nr)
{
	char path[512];
	int ret;

	cma_path(c, "alloc", path, sizeof(path));
	ret = write_ulong(path, nr);
	if (!ret)
		c->cma_allocated += nr;
	return ret;
}

static int cma_free_all(struct pp_ctx *c)
{
	char path[512];
	int ret;

	if (!c->cma_allocated)
		return 0;
	cma_path(c, "free", path, sizeof(path));
	ret = write_ulong(path, c->cma_allocated);
	if (!ret)
		c->cma_allocated = 0;
	return ret;
}

/* --- memory blocks --- */

static int block_path(long block, const char *file, char *path, size_t len)
{
	return snprintf(path, len, MEMORY_SYSFS "/memory%ld/%s", block, file);
}

/* Pages per memory block, 0 without memory hotplug sysfs. */
static unsigned long block_pages(struct pp_ctx *c)
{
	unsigned long size;

	if (read_ulong(MEMORY_SYSFS "/block_size_bytes", 16, &size))
		return 0;
	return size / c->pagesize;
}

/* The node memory block @block belongs to (its nodeN link), or -1. */
static int block_node(long block)
{
	char path[256];
	struct dirent *d;
	int node = -1;
	DIR *dir;

	block_path(block, "", path, sizeof(path));
	dir = opendir(path);
	if (!dir)
		return -1;
	while (node < 0 && (d = readdir(dir)))
		if (sscanf(d->d_name, "node%d", &node) != 1)
			node = -1;
	closedir(dir);
	return node;
}

/* The node holding @pfn, from its memory block or else the zones; -1 if unknown. */
static int pfn_node(struct pp_ctx *c, uint64_t pfn)
{
	unsigned long pages_per_block = block_pages(c);
	struct pp_zone zones[MAX_ZONES];
	int node = -1, nr_zones, zone;

	if (pages_per_block)
		node = block_node(pfn / pages_per_block);
	if (node >= 0)
		return node;
	nr_zones = read_zones(zones, MAX_ZONES);
	zone = nr_zones > 0 ? zone_of(zones, nr_zones, pfn) : -1;
	return zone >= 0 ? zones[zone].node : -1;
}

/* Is @block an online ZONE_MOVABLE block not overlapping [lo, hi)? */
static bool block_usable(long block, unsigned long pages_per_block, uint64_t lo, uint64_t hi)
{
	uint64_t first = block * pages_per_block, last = first + pages_per_block;
	char path[256], buf[128];

	if (first < hi && lo < last)
		return false;
	block_path(block, "state", path, sizeof(path));
	if (read_file(path, buf, sizeof(buf)) < 0 || strcmp(buf, "online"))
		return false;
	block_path(block, "valid_zones", path, sizeof(path));
	if (read_file(path, buf, sizeof(buf)) < 0)
		return false;
	return !strncmp(buf, "Movable", 7);
}

/*
 * Does memory block @block hold a PageReserved page?  In ZONE_MOVABLE those
 * are the only pages has_unmovable_pages() refuses, and memblock allocations
 * (KASAN shadow, node data) may sit there.  Scans /proc/kpageflags over the
 * block's PFNs: @pages_per_block of them from phys_index (the N of memoryN)
 * times that.  1 and the PFN in *pfn, 0 if there is none, or -errno.
 */
static int block_reserved(struct pp_ctx *c, long block, unsigned long pages_per_block,
			  uint64_t *pfn)
{
	static uint64_t flags[4096];
	uint64_t first = block * pages_per_block, done, i;
	size_t n;
	ssize_t ret;

	if (c->kpageflags_fd < 0)
		return -EBADF;
	for (done = 0; done < pages_per_block; done += n) {
		n = pages_per_block - done;
		if (n > ARRAY_SIZE(flags))
			n = ARRAY_SIZE(flags);
		ret = pread(c->kpageflags_fd, flags, n * sizeof(*flags),
			    (first + done) * sizeof(*flags));
		if (ret != (ssize_t)(n * sizeof(*flags)))
			return ret < 0 ? -errno : -EIO;
		for (i = 0; i < n; i++) {
			if (flags[i] & (1ULL << KPF_RESERVED)) {
				*pfn = first + done + i;
				return 1;
			}
		}
	}
	return 0;
}

/* --- placing the buffer --- */

/*
 * Bind the memory policy to @node and, if the node has CPUs we may use, run on
 * them, so that faults are served by the node's zones and per-cpu lists.
 * steer_unbind() restores both; teardown calls it too.
 */
static int steer_bind(struct pp_ctx *c, int node)
{
	const size_t bits = 8 * sizeof(unsigned long);
	unsigned long mask[NODEMASK_LONGS] = { 0 };
	static bool cpus[CPU_SETSIZE];
	char path[64], list[4096];
	cpu_set_t set;
	int cpu;

	if (node < 0 || node >= MAX_NODES)
		return -EINVAL;
	if (syscall(__NR_get_mempolicy, &c->saved_mode, c->saved_nodes, MAX_NODES + 1,
		    NULL, 0))
		return errno == ENOSYS ? 0 : -errno;	/* no NUMA: nothing to bind */
	mask[node / bits] = 1UL << (node % bits);
	if (syscall(__NR_set_mempolicy, MPOL_BIND, mask, MAX_NODES + 1))
		return -errno;
	c->policy_bound = true;

	if (sched_getaffinity(0, sizeof(c->saved_cpus), &c->saved_cpus))
		return -errno;
	memset(cpus, 0, sizeof(cpus));
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/cpulist", node);
	if (read_file(path, list, sizeof(list)) > 0)
		parse_list(list, cpus, CPU_SETSIZE);
	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (cpus[cpu] && CPU_ISSET(cpu, &c->saved_cpus))
			CPU_SET(cpu, &set);
	if (!CPU_COUNT(&set))
		return 0;		/* memory-only node, or none of its CPUs allowed */
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	c->cpus_bound = true;
	return 0;
}

static int steer_unbind(struct pp_ctx *c)
{
	int ret = 0;

	if (c->policy_bound &&
	    syscall(__NR_set_mempolicy, c->saved_mode, c->saved_nodes, MAX_NODES + 1))
		ret = -errno;
	c->policy_bound = false;
	if (c->cpus_bound && sched_setaffinity(0, sizeof(c->saved_cpus), &c->saved_cpus))
		ret = -errno;
	c->cpus_bound = false;
	return ret;
}

/* Where map_chunk() places the buffer. */
struct pp_target {
	enum pp_place place;
	char what[128];			/* the target, for messages */
	int node;			/* fault on this node only, or -1 */
	uint64_t limit;			/* bytes to fault at most */
	unsigned long sample;		/* pages to get into the target before choosing */
	struct pp_zone zones[MAX_ZONES];	/* PLACE_ZONE_LOW */
	int nr_zones;
	uint64_t lo, hi;		/* PLACE_CMA: the CMA area */
	long blocks[MAX_BLOCKS];	/* PLACE_OFFLINE: the candidate memory blocks */
	int nr_blocks;
	unsigned long pages_per_block;
};

/* At most @cap, and no more than @node (-1: the system) can spare. */
static uint64_t fault_limit(int node, uint64_t cap)
{
	uint64_t avail = node >= 0 ? node_free(node) / 4 * 3 : 0;

	if (!avail)		/* no node given, or no per-node meminfo */
		avail = meminfo_bytes(MEMINFO_PATH, "MemAvailable:") / 2;
	return avail < cap ? avail : cap;
}

/*
 * The part of the target holding @pfn (zone index, memory block, 0 for the
 * CMA area), or -1 if it is outside.  The buffer must lie in a single part.
 */
static long pfn_region(const struct pp_target *t, uint64_t pfn)
{
	int i;

	switch (t->place) {
	case PLACE_ZONE_LOW:
		/* Not in CMA: the unbounded owner's pin would move it out first. */
		if (pfn >= t->lo && pfn < t->hi)
			return -1;
		i = zone_of(t->zones, t->nr_zones, pfn);
		return i >= 0 && zone_compactable(&t->zones[i]) ? i : -1;
	case PLACE_CMA:
		return pfn >= t->lo && pfn < t->hi ? 0 : -1;
	case PLACE_OFFLINE:
		for (i = 0; i < t->nr_blocks; i++)
			if (pfn / t->pages_per_block == (uint64_t)t->blocks[i])
				return t->blocks[i];
		return -1;
	case PLACE_ANY:
		break;
	}
	return -1;
}

/* Pages per pageblock: pageblock_order is the PMD order with THP, else 512. */
static unsigned long pageblock_pages(struct pp_ctx *c)
{
	unsigned long pmd = read_pmd_pagesize();

	return pmd ? pmd / c->pagesize : 512;
}

static void dontneed(struct pp_ctx *c, char *chunk, unsigned long from, unsigned long to)
{
	if (to > from)
		madvise(chunk + from * c->pagesize, (to - from) * c->pagesize, MADV_DONTNEED);
}

/*
 * Compaction's free scanner takes no page from a pageblock that is wholly free
 * (suitable_migration_target(): a free page of pageblock order at its start),
 * and that is what unmapping the chunks we faulted above the buffer leaves.
 * So keep one page mapped in every pageblock of the buffer's zone above it
 * that our chunks reach, and free the rest: the room above the buffer is then
 * in partly used movable pageblocks the free scanner fills.
 */
static void keep_room(struct pp_ctx *c, const struct pp_target *t, char *base,
		      unsigned long nr_chunks, const char *best, long region, uint64_t above)
{
	const struct pp_zone *z = &t->zones[region];
	unsigned long pb = pageblock_pages(c), nr_pb = z->spanned / pb + 2;
	unsigned long i, j, from, idx;
	unsigned char *kept;
	uint64_t pfn;
	char *chunk;

	kept = calloc(nr_pb, 1);
	for (i = 0; kept && i < nr_chunks; i++) {
		chunk = base + i * c->size;
		if (chunk == best)
			continue;
		if (pread(c->pagemap_fd, c->pfns, c->nr_pages * sizeof(uint64_t),
			  (uintptr_t)chunk / c->pagesize * sizeof(uint64_t)) !=
		    (ssize_t)(c->nr_pages * sizeof(uint64_t)))
			continue;
		for (from = 0, j = 0; j < c->nr_pages; j++) {
			if (!(c->pfns[j] & PM_PRESENT))
				continue;
			pfn = PAGEMAP_PFN(c->pfns[j]);
			if (pfn <= above || pfn_region(t, pfn) != region)
				continue;
			idx = pfn / pb - z->start / pb;
			if (idx >= nr_pb || kept[idx])
				continue;
			kept[idx] = 1;
			c->nr_kept++;
			dontneed(c, chunk, from, j);
			from = j + 1;
		}
		dontneed(c, chunk, from, c->nr_pages);
	}
	free(kept);
}

/*
 * Steer the buffer into @t: fault a large mapping chunk by chunk (chunks of
 * the buffer's size, aligned to it), on @t->node only if it is set, and read
 * where each chunk landed from pagemap.  Keep the first chunk that lies in one
 * part of the target or, once @t->sample pages landed in the target, the one
 * with the lowest PFNs so far; unmap the rest so that free memory surrounds
 * it.  Small pages only.  0, or 1 if skipped.
 */
static int map_chunk(struct __test_metadata *_metadata, struct pp_ctx *c, struct pp_target *t)
{
	uint64_t lo, hi, best_lo = 0, best_hi = UINT64_MAX, seen_lo = UINT64_MAX, seen_hi = 0;
	unsigned long nr_chunks, hits = 0, best_i = 0, i, j;
	char *map, *base, *chunk, *end, *best = NULL;
	long region, best_region = -1, r;
	bool fits;
	int ret;

	nr_chunks = t->limit / c->size;
	if (!nr_chunks)
		SKIP(return 1, "too little free memory to place the buffer in %s", t->what);

	/* One chunk of slack to align the chunks. */
	map = mmap(NULL, (nr_chunks + 1) * c->size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	c->map = map;
	c->map_size = (nr_chunks + 1) * c->size;
	ASSERT_EQ(0, madvise(c->map, c->map_size, MADV_NOHUGEPAGE));
	base = (char *)(((uintptr_t)c->map + c->size - 1) & ~(uintptr_t)(c->size - 1));
	if (t->node >= 0) {
		ret = steer_bind(c, t->node);
		ASSERT_EQ(0, ret) TH_LOG("binding to node %d: %s", t->node, strerror(-ret));
	}

	for (i = 0; i < nr_chunks && !(best && hits >= t->sample); i++) {
		chunk = base + i * c->size;
		for (j = 0; j < c->nr_pages; j++)
			chunk[j * c->pagesize] = 1;
		ret = pagemap_range(c, chunk, c->nr_pages, c->pfns);
		if (ret == -ENOENT)	/* reclaimed already */
			continue;
		ASSERT_EQ(0, ret);
		region = pfn_region(t, c->pfns[0]);
		/*
		 * CMA pages are handed out mixed with others, so a chunk with
		 * any page in the area will do; every other target wants the
		 * whole chunk in one part of it.
		 */
		fits = t->place == PLACE_CMA ? false : region >= 0;
		lo = UINT64_MAX;
		hi = 0;
		for (j = 0; j < c->nr_pages; j++) {
			r = pfn_region(t, c->pfns[j]);
			hits += r >= 0;
			if (t->place == PLACE_CMA)
				fits = fits || r >= 0;
			else
				fits = fits && r == region &&
				       (t->place != PLACE_ZONE_LOW ||
					pfn_in_low_half(&t->zones[r], c->pfns[j]));
			if (c->pfns[j] < lo)
				lo = c->pfns[j];
			if (c->pfns[j] > hi)
				hi = c->pfns[j];
		}
		if (lo < seen_lo)
			seen_lo = lo;
		if (hi > seen_hi)
			seen_hi = hi;
		if (fits && hi < best_hi) {
			best = chunk;
			best_i = i;
			best_lo = lo;
			best_hi = hi;
			best_region = region;
		}
	}
	ret = steer_unbind(c);
	ASSERT_EQ(0, ret) TH_LOG("restoring memory policy and CPU affinity: %s", strerror(-ret));
	if (!best)
		SKIP(return 1,
		     "no %lu-page chunk landed in %s: %lu MiB faulted at pfn %#llx-%#llx, %lu MiB of it there",
		     c->nr_pages, t->what, i * c->size >> 20, (unsigned long long)seen_lo,
		     (unsigned long long)seen_hi, hits * c->pagesize >> 20);
	TH_LOG("buffer in %s at pfn %#llx-%#llx: landed after %lu MiB faulted (%lu MiB in all, pfn %#llx-%#llx)",
	       t->what, (unsigned long long)best_lo, (unsigned long long)best_hi,
	       (best_i + 1) * c->size >> 20, i * c->size >> 20, (unsigned long long)seen_lo,
	       (unsigned long long)seen_hi);

	if (t->place == PLACE_ZONE_LOW) {
		/* Teardown unmaps c->spare, the kept pages and the buffer with it. */
		keep_room(c, t, base, i, best, best_region, best_hi);
		c->spare = c->map;
		c->spare_size = c->map_size;
		c->zone = t->zones[best_region];
		TH_LOG("kept %lu pages mapped, one per pageblock of the zone above the buffer",
		       c->nr_kept);
	} else {
		end = c->map + c->map_size;
		if (best != c->map)
			munmap(c->map, best - c->map);
		if (best + c->size != end)
			munmap(best + c->size, end - (best + c->size));
	}
	c->map = c->buf = best;
	c->map_size = c->size;
	return 0;
}

/*
 * For compaction: its migrate scanner walks the zone upwards from the start,
 * its free scanner downwards from the end, and it moves only pages below where
 * they meet.  Fault until LOW_SAMPLE_SIZE came from DMA32/Normal zones
 * (anonymous faults are served from ZONE_MOVABLE first) and keep the lowest
 * chunk in the lower half of one.
 */
static int target_zone_low(struct __test_metadata *_metadata, struct pp_ctx *c,
			   struct pp_target *t)
{
	t->nr_zones = read_zones(t->zones, MAX_ZONES);
	if (t->nr_zones <= 0)
		SKIP(return 1, "cannot read the zones from " ZONEINFO_PATH);
	cma_bounds(c, &t->lo, &t->hi);
	t->limit = fault_limit(-1, LOW_MAX_FAULT);
	t->sample = LOW_SAMPLE_SIZE / c->pagesize;
	snprintf(t->what, sizeof(t->what), "the lower half of a DMA32/Normal zone");
	return 0;
}

/*
 * For a CMA allocation: movable allocations take CMA pageblocks mainly as a
 * fallback, once the zone's other movable free lists run low.  Fault on the
 * CMA area's node until a chunk comes from the area.
 */
static int target_cma(struct __test_metadata *_metadata, struct pp_ctx *c,
		      struct pp_target *t)
{
	unsigned long base, count;
	int ret;

	ret = cma_range(c, &base, &count);
	if (ret)
		SKIP(return 1, "no CMA area in " CMA_DEBUGFS " (boot with cma=): %s",
		     strerror(-ret));
	t->lo = base;
	t->hi = base + count;
	t->node = pfn_node(c, base);
	t->limit = fault_limit(t->node, NODE_MAX_FAULT);
	snprintf(t->what, sizeof(t->what), "the CMA area (pfn %#lx + %lu, node %d)", base,
		 count, t->node);
	return 0;
}

/*
 * For memory offline: a block that is online in ZONE_MOVABLE, outside the CMA
 * area (CMA pageblocks cannot be offlined) and without reserved pages.  Fault
 * on the node with the most free memory among those holding such blocks.
 */
static int target_offline(struct __test_metadata *_metadata, struct pp_ctx *c,
			  struct pp_target *t)
{
	uint64_t cma_lo, cma_hi, pfn, free, best_free = 0;
	int nodes[MAX_BLOCKS], nr = 0, i, ret;
	struct dirent *d;
	long block;
	DIR *dir;

	t->pages_per_block = block_pages(c);
	if (!t->pages_per_block)
		SKIP(return 1, "no memory hotplug sysfs (" MEMORY_SYSFS ")");
	if (c->kpageflags_fd < 0)
		SKIP(return 1, "cannot open /proc/kpageflags to find reserved pages");
	cma_bounds(c, &cma_lo, &cma_hi);
	dir = opendir(MEMORY_SYSFS);
	ASSERT_NE(NULL, dir) TH_LOG("opendir " MEMORY_SYSFS ": %s", strerror(errno));
	while (nr < MAX_BLOCKS && (d = readdir(dir))) {
		if (sscanf(d->d_name, "memory%ld", &block) != 1 ||
		    !block_usable(block, t->pages_per_block, cma_lo, cma_hi))
			continue;
		ret = block_reserved(c, block, t->pages_per_block, &pfn);
		if (ret > 0)
			TH_LOG("memory%ld: reserved page at pfn %#llx, not offlinable", block,
			       (unsigned long long)pfn);
		else if (ret < 0)
			TH_LOG("memory%ld: reading /proc/kpageflags: %s", block, strerror(-ret));
		if (ret)
			continue;
		t->blocks[nr] = block;
		nodes[nr++] = block_node(block);
	}
	closedir(dir);
	if (!nr)
		SKIP(return 1,
		     "no online ZONE_MOVABLE memory block outside CMA without reserved pages (movablecore=)");

	t->node = nodes[0];
	for (i = 0; i < nr; i++) {
		free = nodes[i] >= 0 ? node_free(nodes[i]) : 0;
		if (free > best_free) {
			best_free = free;
			t->node = nodes[i];
		}
	}
	for (i = 0; i < nr; i++)
		if (nodes[i] == t->node)
			t->blocks[t->nr_blocks++] = t->blocks[i];
	t->limit = fault_limit(t->node, NODE_MAX_FAULT);
	snprintf(t->what, sizeof(t->what),
		 "one of %d offlinable ZONE_MOVABLE blocks of node %d (of %d such blocks)",
		 t->nr_blocks, t->node, nr);
	return 0;
}

/* Map the buffer where @place asks for.  0, or 1 if skipped. */
static int place_buffer(struct __test_metadata *_metadata, struct pp_ctx *c, bool thp,
			enum pp_place place)
{
	struct pp_target t = { .place = place, .node = -1 };
	int ret = 0;

	switch (place) {
	case PLACE_ANY:
		ASSERT_EQ(0, map_buffer(c, thp));
		return 0;
	case PLACE_ZONE_LOW:
		ret = target_zone_low(_metadata, c, &t);
		break;
	case PLACE_CMA:
		ret = target_cma(_metadata, c, &t);
		break;
	case PLACE_OFFLINE:
		ret = target_offline(_metadata, c, &t);
		break;
	}
	return ret ? ret : map_chunk(_metadata, c, &t);
}

/* Map and place the buffer, and fill it with the pattern.  0, or 1 if skipped. */
static int setup_buffer(struct __test_metadata *_metadata, struct pp_ctx *c, bool thp,
			enum pp_place place)
{
	if (thp) {
		c->folio_size = read_pmd_pagesize();
		if (!c->folio_size)
			SKIP(return 1, "THP not supported");
		if (thp_enable(c))
			SKIP(return 1, "cannot enable THP in " THP_ENABLED_PATH);
		c->size = NR_THPS * c->folio_size;
	} else {
		c->folio_size = c->pagesize;
		c->size = NR_SMALL_PAGES * c->pagesize;
	}
	c->nr_pages = c->size / c->pagesize;
	c->nr_folios = c->size / c->folio_size;
	ASSERT_EQ(0, alloc_arrays(c));
	if (place_buffer(_metadata, c, thp, place))
		return 1;
	memcpy(c->buf, c->pattern, c->size);

	if (thp && !buffer_is_thp(c))
		SKIP(return 1, "could not get THPs for the buffer");
	return 0;
}

/* --- move_pages(2) --- */

static long sys_move_pages(unsigned long count, void **pages, const int *nodes, int *status,
			   int flags)
{
	return syscall(__NR_move_pages, 0, count, pages, nodes, status, flags);
}

/* First node with memory other than @node, or -1. */
static int other_mem_node(const bool *mem, int node)
{
	int i, n;

	for (i = 1; i < MAX_NODES; i++) {
		n = (node + i) % MAX_NODES;
		if (mem[n])
			return n;
	}
	return -1;
}

/*
 * Fill the move_pages() arguments: one address per folio, each to be moved to
 * a node other than its current one.  -ENODEV if there is no such node.
 */
static int prepare_move(struct pp_ctx *c)
{
	static bool mem[MAX_NODES];
	char list[1024];
	unsigned long i;
	long ret;

	memset(mem, 0, sizeof(mem));
	if (read_file(NODE_SYSFS "/has_memory", list, sizeof(list)) < 0 &&
	    read_file(NODE_SYSFS "/online", list, sizeof(list)) < 0)
		return -ENODEV;
	parse_list(list, mem, MAX_NODES);

	for (i = 0; i < c->nr_folios; i++)
		c->mp_pages[i] = c->buf + i * c->folio_size;
	ret = sys_move_pages(c->nr_folios, c->mp_pages, NULL, c->mp_status, 0);
	if (ret)
		return ret < 0 ? -errno : -EIO;
	for (i = 0; i < c->nr_folios; i++) {
		if (c->mp_status[i] < 0)
			return c->mp_status[i];
		c->mp_nodes[i] = other_mem_node(mem, c->mp_status[i]);
		if (c->mp_nodes[i] < 0)
			return -ENODEV;
	}
	return 0;
}

/* Returns move_pages()'s return value; errno is valid if it is -1. */
static long move_buffer(struct pp_ctx *c)
{
	unsigned long i;

	for (i = 0; i < c->nr_folios; i++)
		c->mp_status[i] = STATUS_UNSET;
	return sys_move_pages(c->nr_folios, c->mp_pages, c->mp_nodes, c->mp_status,
			      MPOL_MF_MOVE);
}

static int prepare_move_or_skip(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	int ret = prepare_move(c);

	if (ret == -ENODEV)
		SKIP(return 1, "needs a second NUMA node with memory");
	ASSERT_EQ(0, ret) TH_LOG("querying nodes with move_pages() failed: %s",
				  strerror(-ret));
	return 0;
}

/* --- migration triggers: 0 done, 1 skipped --- */

/*
 * Count, from /proc/kpageflags, the pages on the LRU in [@from, @to) and the
 * free (buddy) pages in [@to2, @end): what compaction must move below the
 * buffer and the room it has above it.
 */
static int zone_room(struct pp_ctx *c, uint64_t from, uint64_t to, uint64_t to2,
		     uint64_t end, unsigned long *lru_below, unsigned long *free_above)
{
	uint64_t flags[512], pfn;
	ssize_t n;
	int i;

	*lru_below = *free_above = 0;
	if (c->kpageflags_fd < 0)
		return -ENOENT;
	for (pfn = from; pfn < end; pfn += n) {
		if (pfn >= to && pfn < to2)
			pfn = to2;
		n = pread(c->kpageflags_fd, flags, sizeof(flags), pfn * sizeof(flags[0]));
		if (n <= 0)
			return n ? -errno : 0;
		n /= sizeof(flags[0]);
		for (i = 0; i < n && pfn + i < end; i++) {
			if (pfn + i < to)
				*lru_below += !!(flags[i] & (1ULL << 5));	/* KPF_LRU */
			else if (pfn + i >= to2)
				*free_above += !!(flags[i] & (1ULL << 10));	/* KPF_BUDDY */
		}
	}
	return 0;
}

/* Enable the mm_compaction_end tracepoint (best effort) and empty the trace. */
static void compact_trace_start(struct pp_ctx *c)
{
	int fd;

	if (access(TRACEFS "/trace", W_OK))
		mount("nodev", TRACEFS, "tracefs", 0, NULL);
	if (write_file(COMPACT_TRACE, "1"))
		return;
	c->trace_on = true;
	fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

static void compact_trace_stop(struct pp_ctx *c)
{
	if (c->trace_on)
		write_file(COMPACT_TRACE, "0");
	c->trace_on = false;
}

/* Log where compaction's scanners stopped in @z. */
static void compact_trace_log(struct __test_metadata *_metadata, struct pp_ctx *c,
			      const struct pp_zone *z)
{
	char line[512], key[64], *p;
	FILE *f;

	f = c->trace_on ? fopen(TRACEFS "/trace", "r") : NULL;
	if (!f) {
		TH_LOG("no mm_compaction_end tracepoint in " TRACEFS);
		return;
	}
	snprintf(key, sizeof(key), "zone_start=0x%lx ", z->start);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, key);
		if (!p)
			continue;
		line[strcspn(line, "\n")] = '\0';
		TH_LOG("mm_compaction_end: %s", p);
	}
	fclose(f);
}

/*
 * Setup placed the buffer low in its zone, below where compaction's scanners
 * meet, kept the free room above it in pageblocks the free scanner uses and
 * kept it out of CMA, so compaction has to move it: anything else is a
 * failure.  The mm_compaction_end tracepoint shows where the scanners met.
 */
static int trigger_compaction(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	struct pin_owned_test before, after;
	unsigned long lru_below, free_above;
	const struct pp_zone *z = &c->zone;
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned long i, folios, moved = 0;
	char path[128];
	int pass, ret;

	for (i = 0; i < c->nr_pages; i++) {
		if (c->old_pfns[i] < lo)
			lo = c->old_pfns[i];
		if (c->old_pfns[i] > hi)
			hi = c->old_pfns[i];
	}
	TH_LOG("zone %s of node %d: pfn %#lx + %lu; buffer at %#llx-%#llx, %lld%%-%lld%% into it",
	       z->name, z->node, z->start, z->spanned, (unsigned long long)lo,
	       (unsigned long long)hi, (long long)(lo - z->start) * 100 / (long long)z->spanned,
	       (long long)(hi - z->start) * 100 / (long long)z->spanned);
	ASSERT_TRUE(pfn_in_low_half(z, lo) && pfn_in_low_half(z, hi))
		TH_LOG("pinning moved the buffer out of the lower half of its zone");

	/* The buffer's node only, if the kernel has per-node compaction. */
	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/compact", z->node);
	if (access(path, W_OK))
		snprintf(path, sizeof(path), COMPACT_PATH);
	ASSERT_EQ(0, owner_status(c, 0, &before));
	compact_trace_start(c);
	/*
	 * Another pass only if the last moved nothing: no page moves twice.
	 * The scanners' cached positions differ from pass to pass; every other
	 * pass compacts all nodes (the free scanner met the migration scanner
	 * below the buffer once in seven runs with two node passes).
	 */
	for (pass = 0; pass < 5 && !moved; pass++) {
		ret = write_file(pass & 1 ? COMPACT_PATH : path, "1");
		if (ret == -ENOENT)
			SKIP(return 1, "no %s (CONFIG_COMPACTION=n)", path);
		ASSERT_EQ(0, ret) TH_LOG("writing %s: %s", path, strerror(-ret));
		ASSERT_EQ(0, pagemap_pfns(c, c->pfns));
		moved = count_moved(c, &folios);
	}
	compact_trace_log(_metadata, c, z);
	compact_trace_stop(c);
	ASSERT_EQ(0, owner_status(c, 0, &after));
	TH_LOG("%s, %d pass(es): owner asked %llu times, refused %llu", path, pass,
	       (unsigned long long)(after.nr_isolate - before.nr_isolate),
	       (unsigned long long)(after.nr_refused - before.nr_refused));
	if (!moved && !zone_room(c, z->start, lo, hi + 1, z->start + z->spanned, &lru_below,
				 &free_above))
		TH_LOG("%lu LRU pages below the buffer, %lu free pages above it", lru_below,
		       free_above);
	ASSERT_NE(0, moved) TH_LOG("compaction did not move the buffer");
	return 0;
}

/* Allocate every free page of the CMA area through debugfs. */
static int cma_alloc_all(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	unsigned long chunk;
	char path[512];
	int i, try, ret;

	cma_path(c, "maxchunk", path, sizeof(path));
	for (i = 0; i < 64; i++) {
		ret = read_ulong(path, 10, &chunk);
		if (ret || !chunk)
			return ret;
		for (try = 0; try < 3; try++) {
			ret = cma_alloc_pages(c, chunk);
			if (!ret)
				break;
			usleep(200000);
		}
		if (ret) {
			TH_LOG("allocating %lu CMA pages failed: %s", chunk, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int trigger_cma(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	unsigned long base, count, i, nr_in_cma = 0;
	int ret;

	ret = cma_range(c, &base, &count);
	if (ret)
		SKIP(return 1, "cannot read the CMA area from debugfs: %s", strerror(-ret));
	for (i = 0; i < c->nr_pages; i++) {
		c->must_move[i] = c->old_pfns[i] >= base && c->old_pfns[i] < base + count;
		nr_in_cma += c->must_move[i];
	}
	TH_LOG("CMA area %s: pfn %#lx + %lu; %lu of %lu pinned pages in it",
	       c->cma_dir, base, count, nr_in_cma, c->nr_pages);
	/* Setup put pages there and a bounded owner's pins may stay. */
	ASSERT_NE(0, nr_in_cma) TH_LOG("pinning moved the pages out of the CMA area");

	ret = cma_alloc_all(_metadata, c);
	ASSERT_EQ(0, ret) TH_LOG("CMA allocation failed with %lu pinned pages in the area",
				  nr_in_cma);
	TH_LOG("allocated %lu CMA pages", c->cma_allocated);
	/* The whole area is allocated now: no page of ours may be left in it. */
	c->forbid_lo = base;
	c->forbid_hi = base + count;
	return 0;
}

/*
 * Setup placed the buffer in a ZONE_MOVABLE block that can be offlined.  Check
 * that it still can before offlining it: a reserved page would make offlining
 * fail with EBUSY.
 */
static int trigger_offline(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	unsigned long pages_per_block = block_pages(c), i;
	uint64_t cma_lo, cma_hi, pfn = 0;
	char path[256];
	long block;
	int ret;

	ASSERT_NE(0, pages_per_block);
	block = c->old_pfns[0] / pages_per_block;
	for (i = 0; i < c->nr_pages; i++) {
		ASSERT_EQ(block, (long)(c->old_pfns[i] / pages_per_block))
			TH_LOG("page %lu (pfn %#llx) is outside memory%ld", i,
			       (unsigned long long)c->old_pfns[i], block);
		c->must_move[i] = true;
	}
	cma_bounds(c, &cma_lo, &cma_hi);
	ASSERT_TRUE(block_usable(block, pages_per_block, cma_lo, cma_hi))
		TH_LOG("memory%ld is no longer online in ZONE_MOVABLE", block);
	ret = block_reserved(c, block, pages_per_block, &pfn);
	ASSERT_LE(0, ret) TH_LOG("memory%ld: reading /proc/kpageflags: %s", block,
				  strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("memory%ld: reserved page at pfn %#llx", block,
				  (unsigned long long)pfn);
	TH_LOG("offlining memory%ld (all %lu pinned pages in it)", block, c->nr_pages);

	block_path(block, "state", path, sizeof(path));
	ret = write_file_timeout(path, "offline", OFFLINE_TIMEOUT);
	ASSERT_EQ(0, ret) TH_LOG("offlining memory%ld failed: %s%s", block, strerror(-ret),
				  ret == -EINTR ? " (timed out)" : "");
	c->offline_block = block;
	c->forbid_lo = block * pages_per_block;
	c->forbid_hi = c->forbid_lo + pages_per_block;
	return 0;
}

static int trigger_move_pages(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	unsigned long i;
	long ret;

	if (prepare_move_or_skip(_metadata, c))
		return 1;
	ret = move_buffer(c);
	ASSERT_EQ(0, ret) {
		TH_LOG("move_pages() returned %ld: %s", ret,
		       ret < 0 ? strerror(errno) : "pages not migrated");
		if (c->unbounded)
			TH_LOG("note: unbounded owners refuse a ZONE_MOVABLE/CMA target: %s %d?",
			       "does it come from ZONE_MOVABLE on node", c->mp_nodes[0]);
	}
	for (i = 0; i < c->nr_folios; i++)
		ASSERT_EQ(c->mp_nodes[i], c->mp_status[i]) TH_LOG("folio %lu", i);
	for (i = 0; i < c->nr_pages; i++)
		c->must_move[i] = true;
	return 0;
}

static int run_trigger(struct __test_metadata *_metadata, struct pp_ctx *c,
		       enum pp_trigger trigger)
{
	switch (trigger) {
	case PP_COMPACT:
		return trigger_compaction(_metadata, c);
	case PP_CMA:
		return trigger_cma(_metadata, c);
	case PP_OFFLINE:
		return trigger_offline(_metadata, c);
	case PP_MOVE_PAGES:
		return trigger_move_pages(_metadata, c);
	}
	return 1;
}

/* --- checks --- */

/* Record the PFNs after pinning and check that each owner sees them. */
static void record_pins(struct __test_metadata *_metadata, struct pp_ctx *c,
			unsigned int owners, struct pin_owned_test *before)
{
	unsigned int o;

	ASSERT_EQ(0, pagemap_pfns(c, c->old_pfns));
	for (o = 0; o < NR_OWNERS; o++) {
		if (!(owners & (1u << o)))
			continue;
		ASSERT_EQ(0, owner_pfns(c, o));
		ASSERT_EQ(-1, first_pfn_diff(c, c->owner_pfns, c->old_pfns))
			TH_LOG("owner %u does not pin the mapped pages", o);
	}
	ASSERT_EQ(0, owners_status(c, owners, before));
}

/* The status of @owner once all its isolations have been put back. */
static void settled_status(struct __test_metadata *_metadata, struct pp_ctx *c,
			   unsigned int owner, const struct pin_owned_test *before,
			   struct pin_owned_test *after)
{
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, owner_status(c, owner, after));
		if (after->nr_putback - before->nr_putback ==
		    after->nr_isolate - before->nr_isolate)
			return;
		usleep(50000);
	}
	ASSERT_EQ(after->nr_isolate - before->nr_isolate,
		  after->nr_putback - before->nr_putback)
		TH_LOG("owner %u: isolations not put back", owner);
}

/*
 * After a migration attempt: every owner in @owners still pins all pages, pins
 * exactly the pages the process maps, had every isolation put back, and both
 * the process's and the owners' views hold the pattern.
 */
static void check_pins(struct __test_metadata *_metadata, struct pp_ctx *c,
		       unsigned int owners, const struct pin_owned_test *before,
		       struct pin_owned_test *after)
{
	unsigned int o;
	long i;

	ASSERT_EQ(0, pagemap_pfns(c, c->pfns));
	i = first_page_diff(c, c->buf, c->pattern);
	ASSERT_EQ(-1, i) TH_LOG("process view: page %ld corrupted", i);
	for (o = 0; o < NR_OWNERS; o++) {
		if (!(owners & (1u << o)))
			continue;
		settled_status(_metadata, c, o, &before[o], &after[o]);
		ASSERT_EQ(c->nr_pages, after[o].nr_pages) TH_LOG("owner %u lost its pin", o);
		ASSERT_EQ(0, owner_pfns(c, o));
		i = first_pfn_diff(c, c->owner_pfns, c->pfns);
		ASSERT_EQ(-1, i) TH_LOG("owner %u page %ld: pfn %#llx, mapped pfn %#llx", o, i,
					(unsigned long long)c->owner_pfns[i < 0 ? 0 : i],
					(unsigned long long)c->pfns[i < 0 ? 0 : i]);
		ASSERT_EQ(0, owner_read(c, o));
		i = first_page_diff(c, c->readbuf, c->pattern);
		ASSERT_EQ(-1, i) TH_LOG("owner %u view: page %ld corrupted", o, i);
	}
}

/* The pages the trigger must have moved did, and none is in the forbidden range. */
static void check_moved(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	unsigned long i;

	for (i = 0; i < c->nr_pages; i++) {
		if (c->must_move[i]) {
			ASSERT_NE(c->old_pfns[i], c->pfns[i])
				TH_LOG("page %lu not migrated (pfn %#llx)", i,
				       (unsigned long long)c->pfns[i]);
		}
		ASSERT_FALSE(c->pfns[i] >= c->forbid_lo && c->pfns[i] < c->forbid_hi)
			TH_LOG("page %lu still at pfn %#llx", i, (unsigned long long)c->pfns[i]);
	}
}

/* move_pages() failed for every folio and nothing moved. */
static void check_not_moved(struct __test_metadata *_metadata, struct pp_ctx *c, long ret,
			    int err)
{
	bool all_failed = true;
	unsigned long i;
	long diff;

	TH_LOG("move_pages() returned %ld%s%s, status[0] %d", ret, ret < 0 ? ": " : "",
	       ret < 0 ? strerror(err) : "", c->mp_status[0]);
	for (i = 0; i < c->nr_folios; i++) {
		ASSERT_NE(c->mp_nodes[i], c->mp_status[i]) TH_LOG("folio %lu moved", i);
		if (c->mp_status[i] >= 0 || c->mp_status[i] == STATUS_UNSET)
			all_failed = false;
	}
	ASSERT_TRUE(ret != 0 || all_failed) TH_LOG("move_pages() did not report the failure");
	ASSERT_EQ(0, pagemap_pfns(c, c->pfns));
	diff = first_pfn_diff(c, c->pfns, c->old_pfns);
	ASSERT_EQ(-1, diff) TH_LOG("page %ld moved", diff);
}

/* --- fixture helpers --- */

static void ctx_setup(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	int ret;

	c->offline_block = -1;
	c->saved_hugepages = -1;
	c->kpageflags_fd = -1;
	c->pagesize = sysconf(_SC_PAGESIZE);
	c->gup_fd = open(GUP_TEST_PATH, O_RDWR);
	if (c->gup_fd < 0)
		SKIP(return, "cannot open " GUP_TEST_PATH ": %s (root, debugfs, CONFIG_GUP_TEST?)",
		     strerror(errno));
	ret = read_file(PINPAGE_SYSCTL, c->saved_migrate, sizeof(c->saved_migrate));
	if (ret < 0)
		SKIP(return, "no " PINPAGE_SYSCTL " (CONFIG_PINPAGE=n)");
	c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_GE(c->pagemap_fd, 0);
	c->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	/* Last: the only change to the system, undone by teardown. */
	ret = write_file(PINPAGE_SYSCTL, "1");
	ASSERT_EQ(0, ret) TH_LOG("enabling " PINPAGE_SYSCTL ": %s", strerror(-ret));
	c->restore_migrate = true;
}

static void ctx_teardown(struct __test_metadata *_metadata, struct pp_ctx *c)
{
	char path[256];
	unsigned int o;
	int ret;

	ret = unowned_stop(c);
	if (ret)
		TH_LOG("PIN_LONGTERM_TEST_STOP failed: %s", strerror(-ret));
	for (o = 0; o < NR_OWNERS; o++) {
		if (!(c->owners & (1u << o)))
			continue;
		owner_config(c, o, 0);
		ret = owned_ioctl(c, PIN_OWNED_TEST_STOP, o, 0, 0, 0);
		if (ret)
			TH_LOG("stopping owner %u failed: %s", o, strerror(-ret));
	}
	c->owners = 0;
	ret = steer_unbind(c);
	if (ret)
		TH_LOG("restoring memory policy and CPU affinity failed: %s", strerror(-ret));
	if (cma_free_all(c))
		TH_LOG("freeing %lu CMA pages failed", c->cma_allocated);
	if (c->offline_block >= 0) {
		block_path(c->offline_block, "state", path, sizeof(path));
		if (write_file(path, "online_movable") && write_file(path, "online"))
			TH_LOG("onlining memory%ld failed", c->offline_block);
	}
	if (c->restore_migrate && write_file(PINPAGE_SYSCTL, c->saved_migrate))
		TH_LOG("restoring " PINPAGE_SYSCTL " failed");
	if (c->saved_thp[0] && write_file(THP_ENABLED_PATH, c->saved_thp))
		TH_LOG("restoring " THP_ENABLED_PATH " failed");
	compact_trace_stop(c);
	if (c->map)
		munmap(c->map, c->map_size);
	if (c->spare)
		munmap(c->spare, c->spare_size);
	if (c->saved_hugepages >= 0 && write_ulong(HUGETLB_NR, c->saved_hugepages))
		TH_LOG("restoring " HUGETLB_NR " failed");
	free(c->pattern);
	free(c->readbuf);
	free(c->old_pfns);
	free(c->pfns);
	free(c->owner_pfns);
	free(c->must_move);
	free(c->mp_pages);
	free(c->mp_nodes);
	free(c->mp_status);
	if (c->kpageflags_fd >= 0)
		close(c->kpageflags_fd);
	close(c->pagemap_fd);
	close(c->gup_fd);
}

/* --- owned pins migrated by each trigger --- */

FIXTURE(pinpage_migrate) {
	struct pp_ctx c;
};

FIXTURE_VARIANT(pinpage_migrate) {
	enum pp_trigger trigger;
	bool thp;
	bool bounded;		/* owner declares bounded isolation */
};

/*
 * Unbounded owner: compaction's target is in the buffer's zone.  No THP
 * variant: compaction never isolates pageblock-order folios.
 */
FIXTURE_VARIANT_ADD(pinpage_migrate, compaction_small) {
	.trigger = PP_COMPACT,
	.thp = false,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, cma_small) {
	.trigger = PP_CMA,
	.thp = false,
	.bounded = true,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, offline_small) {
	.trigger = PP_OFFLINE,
	.thp = false,
	.bounded = true,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, move_pages_small) {
	.trigger = PP_MOVE_PAGES,
	.thp = false,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, move_pages_thp) {
	.trigger = PP_MOVE_PAGES,
	.thp = true,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, move_pages_bounded_small) {
	.trigger = PP_MOVE_PAGES,
	.thp = false,
	.bounded = true,
};

FIXTURE_VARIANT_ADD(pinpage_migrate, move_pages_bounded_thp) {
	.trigger = PP_MOVE_PAGES,
	.thp = true,
	.bounded = true,
};

FIXTURE_SETUP(pinpage_migrate)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(pinpage_migrate)
{
	ctx_teardown(_metadata, &self->c);
}

TEST_F_TIMEOUT(pinpage_migrate, owned_pin_migrates, 180)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	unsigned long moved, moved_folios, thp_pinned = 0, thp_mapped, thp_owned;
	long long split_before = 0, msplit_before = 0;
	struct pp_vmstat vs_before, vs_after;
	struct pp_ctx *c = &self->c;
	unsigned long long migrated;
	long long node_held[PP_MAX_NODES];
	int nid;

	if (setup_buffer(_metadata, c, variant->thp, pp_trigger_place[variant->trigger]))
		return;
	for (nid = 0; nid < PP_MAX_NODES; nid++)
		node_held[nid] = node_pins_held(nid);
	ASSERT_EQ(0, owner_start(c, 0, variant->bounded ? PIN_OWNED_TEST_FLAG_BOUNDED : 0));
	record_pins(_metadata, c, 1u << 0, before);
	ASSERT_EQ(c->nr_pages, before[0].nr_pages);
	if (variant->thp) {
		thp_pinned = count_thps(c, c->old_pfns);
		TH_LOG("%lu of %lu folios are THPs after pinning", thp_pinned, c->nr_folios);
		/* A bounded owner's pin does not migrate, so it cannot split. */
		if (variant->bounded)
			ASSERT_EQ(c->nr_folios, thp_pinned) TH_LOG("pinning split a THP");
		split_before = vmstat_get("thp_split_page");
		msplit_before = vmstat_get("thp_migration_split");
	}
	pinpage_stats_log(_metadata);
	vmstat_read(&vs_before);

	if (run_trigger(_metadata, c, variant->trigger))
		return;

	vmstat_read(&vs_after);
	check_pins(_metadata, c, 1u << 0, before, after);
	check_moved(_metadata, c);
	moved = count_moved(c, &moved_folios);
	migrated = after[0].nr_migrate - before[0].nr_migrate;
	TH_LOG("%s: %lu of %lu pages (%lu folios) moved", pp_trigger_names[variant->trigger],
	       moved, c->nr_pages, moved_folios);
	TH_LOG("owner: +%llu isolate +%llu refused +%llu migrate +%llu putback",
	       (unsigned long long)(after[0].nr_isolate - before[0].nr_isolate),
	       (unsigned long long)(after[0].nr_refused - before[0].nr_refused), migrated,
	       (unsigned long long)(after[0].nr_putback - before[0].nr_putback));
	vmstat_log(_metadata, &vs_before, &vs_after);
	if (variant->thp) {
		/* check_pins() left the last owner's PFNs in c->owner_pfns. */
		thp_mapped = count_thps(c, c->pfns);
		thp_owned = count_thps(c, c->owner_pfns);
		TH_LOG("THPs after the move: %lu mapped, %lu pinned by the owner (%lu before); thp_split_page +%lld thp_migration_split +%lld",
		       thp_mapped, thp_owned, thp_pinned,
		       vmstat_get("thp_split_page") - split_before,
		       vmstat_get("thp_migration_split") - msplit_before);
		ASSERT_EQ(thp_pinned, thp_mapped) TH_LOG("the move split a pinned THP");
		ASSERT_EQ(thp_pinned, thp_owned) TH_LOG("the owner's pins are not whole THPs");
	}
	if (variant->trigger == PP_COMPACT) {
		ASSERT_GE(moved, 1) TH_LOG("compaction did not move the buffer");
		/* Each moved folio went through ->migrate() exactly once. */
		ASSERT_EQ(moved_folios, migrated);
	} else {
		/* Every moved folio went through the owner's ->migrate(). */
		ASSERT_GE(migrated, moved_folios);
	}
	if (moved && vs_after.v[VS_MIGRATED] >= 0) {
		ASSERT_GE(vmstat_delta(&vs_before, &vs_after, VS_MIGRATED), 1);
	}

	/* Once the owner let go, every node holds the pins it held before. */
	ASSERT_EQ(0, owned_ioctl(c, PIN_OWNED_TEST_STOP, 0, 0, 0, 0));
	c->owners &= ~1u;
	for (nid = 0; nid < PP_MAX_NODES; nid++) {
		if (node_held[nid] == LLONG_MIN)
			continue;
		EXPECT_EQ(node_held[nid], node_pins_held(nid))
			TH_LOG("node %d: pin counters did not follow the moved pins", nid);
	}
}

/* --- owner interaction, unowned pins, the switch and bad input --- */

FIXTURE(pinpage) {
	struct pp_ctx c;
};

FIXTURE_SETUP(pinpage)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(pinpage)
{
	ctx_teardown(_metadata, &self->c);
}

/*
 * Two owners pin the same pages: both are repointed.  The owners are bounded
 * so that the move does not depend on the zone the target node allocates from.
 */
TEST_F(pinpage, nested_owners)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	const unsigned int owners = (1u << 0) | (1u << 1);
	struct pp_ctx *c = &self->c;
	unsigned long moved, moved_folios;
	unsigned int o;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	ASSERT_EQ(0, owner_start(c, 0, PIN_OWNED_TEST_FLAG_BOUNDED));
	ASSERT_EQ(0, owner_start(c, 1, PIN_OWNED_TEST_FLAG_BOUNDED));
	record_pins(_metadata, c, owners, before);
	if (trigger_move_pages(_metadata, c))
		return;

	check_pins(_metadata, c, owners, before, after);
	check_moved(_metadata, c);
	moved = count_moved(c, &moved_folios);
	ASSERT_EQ(c->nr_pages, moved);
	for (o = 0; o < 2; o++) {
		TH_LOG("owner %u: +%llu isolate +%llu migrate", o,
		       (unsigned long long)(after[o].nr_isolate - before[o].nr_isolate),
		       (unsigned long long)(after[o].nr_migrate - before[o].nr_migrate));
		ASSERT_GE(after[o].nr_migrate - before[o].nr_migrate, moved_folios);
	}
}

/* A time interval, CLOCK_MONOTONIC in ns. */
struct span {
	uint64_t start, end;
};

#define FORK_MAX_SPANS	200000
#define FORK_MAX_SECS	120

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct fork_race {
	struct pp_ctx *c;
	int nodes[2];			/* the buffer goes back and forth */
	volatile bool stop;
	unsigned long calls;		/* move_pages() calls */
	unsigned long moved;		/* pages whose node changed */
	struct span *spans;		/* calls that moved pages */
	unsigned long nr_spans;
};

static void *fork_race_mover(void *arg)
{
	struct fork_race *r = arg;
	struct pp_ctx *c = r->c;
	int *nodes = calloc(c->nr_folios, sizeof(*nodes));
	int *status = calloc(c->nr_folios, sizeof(*status));
	int *where = calloc(c->nr_folios, sizeof(*where));
	unsigned long i, moved;
	uint64_t start;
	int target;

	for (i = 0; where && i < c->nr_folios; i++)
		where[i] = r->nodes[1];		/* the buffer starts at home */
	for (; nodes && status && where && !r->stop; r->calls++) {
		target = r->nodes[r->calls & 1];
		for (i = 0; i < c->nr_folios; i++) {
			nodes[i] = target;
			status[i] = STATUS_UNSET;
		}
		start = now_ns();
		sys_move_pages(c->nr_folios, c->mp_pages, nodes, status, MPOL_MF_MOVE);
		for (i = 0, moved = 0; i < c->nr_folios; i++) {
			if (status[i] < 0)
				continue;
			moved += status[i] != where[i];
			where[i] = status[i];
		}
		r->moved += moved;
		if (moved && r->nr_spans < FORK_MAX_SPANS)
			r->spans[r->nr_spans++] = (struct span){ start, now_ns() };
	}
	free(nodes);
	free(status);
	free(where);
	return NULL;
}

/* Forks whose interval intersects one of the mover's (both sorted by start). */
static unsigned long count_overlaps(const struct span *forks, unsigned long nr_forks,
				    const struct span *moves, unsigned long nr_moves)
{
	unsigned long f, m = 0, n = 0;

	for (f = 0; f < nr_forks; f++) {
		while (m < nr_moves && moves[m].end < forks[f].start)
			m++;
		n += m < nr_moves && moves[m].start <= forks[f].end;
	}
	return n;
}

/*
 * fork() while owned pins move between nodes.  A pinned anonymous page must
 * stay the parent's: after each fork the parent writes to every page and the
 * owner must see the write through its pins (were the page shared with the
 * child, the write would go to a copy).  A run in which no fork overlapped a
 * migration proves nothing, so fork until enough did, with a bound, and fail
 * if none did.  Two measures of overlap: the fork's interval intersects a
 * move_pages() call that moved pages (timestamps), and the owner had an
 * isolation outstanding when fork started, or got one while it ran (the
 * owner's STATUS counters).
 */
TEST_F_TIMEOUT(pinpage, fork_during_migration, 300)
{
	struct pp_ctx *c = &self->c;
	struct fork_race r = { .c = c };
	unsigned long i, k, bad = ULONG_MAX, by_time, by_owner = 0;
	struct pin_owned_test st0, st1;
	struct span *forks;
	uint64_t deadline;
	void *page0;
	pthread_t t;
	int home = -1, err = 0;
	pid_t pid;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	ASSERT_EQ(0, owner_start(c, 0, PIN_OWNED_TEST_FLAG_BOUNDED));
	if (prepare_move_or_skip(_metadata, c))
		return;
	page0 = c->buf;
	ASSERT_EQ(0, sys_move_pages(1, &page0, NULL, &home, 0));
	r.nodes[0] = c->mp_nodes[0];
	r.nodes[1] = home;
	r.spans = calloc(FORK_MAX_SPANS, sizeof(*r.spans));
	forks = calloc(FORK_MAX, sizeof(*forks));
	ASSERT_TRUE(r.spans && forks);
	ASSERT_EQ(0, pthread_create(&t, NULL, fork_race_mover, &r));

	deadline = now_ns() + FORK_MAX_SECS * 1000000000ULL;
	for (k = 0; k < FORK_MAX && bad == ULONG_MAX && !err; k++) {
		if (k >= FORK_MIN && (by_owner >= FORK_OVERLAPS || now_ns() > deadline))
			break;
		if (owner_status(c, 0, &st0)) {
			err = errno;
			break;
		}
		forks[k].start = now_ns();
		pid = fork();
		forks[k].end = now_ns();
		if (!pid)
			_exit(0);
		if (owner_status(c, 0, &st1))
			err = errno;
		by_owner += st0.nr_isolate != st0.nr_putback || st1.nr_isolate != st0.nr_isolate;
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			err = errno;
			break;
		}
		for (i = 0; i < c->nr_pages; i++)
			c->buf[i * c->pagesize] = (char)(k + i);
		if (owner_read(c, 0)) {
			err = errno;
			break;
		}
		for (i = 0; i < c->nr_pages && bad == ULONG_MAX; i++)
			if (c->readbuf[i * c->pagesize] != (char)(k + i))
				bad = i;
	}
	r.stop = true;
	pthread_join(t, NULL);
	by_time = count_overlaps(forks, k, r.spans, r.nr_spans);
	free(forks);
	free(r.spans);
	TH_LOG("%lu forks against %lu move_pages() calls that moved %lu pages", k, r.calls,
	       r.moved);
	TH_LOG("forks overlapping a migration: %lu by time, %lu by the owner's isolations",
	       by_time, by_owner);
	ASSERT_EQ(ULONG_MAX, bad)
		TH_LOG("after fork %lu the owner's pin no longer reaches page %lu", k - 1, bad);
	ASSERT_EQ(0, err) TH_LOG("fork, waitpid or a gup_test ioctl failed: %s", strerror(err));
	ASSERT_GE(k, FORK_MIN);
	ASSERT_NE(0, r.moved) TH_LOG("move_pages() never moved a page");
	ASSERT_NE(0, by_time) TH_LOG("no fork overlapped a move_pages() call that moved pages");
	ASSERT_NE(0, by_owner) TH_LOG("no fork overlapped an isolation of the owner");
	ASSERT_EQ(0, pagemap_pfns(c, c->pfns));
	ASSERT_EQ(0, owner_pfns(c, 0));
	for (i = 0; i < c->nr_pages; i++)
		ASSERT_EQ(c->pfns[i], c->owner_pfns[i]) TH_LOG("page %lu", i);
}

/*
 * One of two (bounded, see nested_owners) owners refuses isolation: nothing
 * moves and the other owner is put back.
 */
TEST_F(pinpage, refusing_owner)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	const unsigned int owners = (1u << 0) | (1u << 1);
	struct pp_ctx *c = &self->c;
	struct pp_vmstat vs_before, vs_after;
	long ret;
	int err;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	ASSERT_EQ(0, owner_start(c, 0, PIN_OWNED_TEST_FLAG_BOUNDED));
	ASSERT_EQ(0, owner_start(c, 1, PIN_OWNED_TEST_FLAG_BOUNDED));
	ASSERT_EQ(0, owner_config(c, 1, PIN_OWNED_TEST_FLAG_REFUSE));
	record_pins(_metadata, c, owners, before);
	if (prepare_move_or_skip(_metadata, c))
		return;
	vmstat_read(&vs_before);

	ret = move_buffer(c);
	err = errno;
	vmstat_read(&vs_after);
	vmstat_log(_metadata, &vs_before, &vs_after);
	check_not_moved(_metadata, c, ret, err);
	check_pins(_metadata, c, owners, before, after);
	TH_LOG("owner 0: +%llu isolate +%llu putback; owner 1: +%llu refused",
	       (unsigned long long)(after[0].nr_isolate - before[0].nr_isolate),
	       (unsigned long long)(after[0].nr_putback - before[0].nr_putback),
	       (unsigned long long)(after[1].nr_refused - before[1].nr_refused));
	ASSERT_GE(after[1].nr_refused - before[1].nr_refused, 1);
	ASSERT_EQ(after[1].nr_isolate, before[1].nr_isolate);
	ASSERT_EQ(after[0].nr_migrate, before[0].nr_migrate);
	ASSERT_EQ(after[1].nr_migrate, before[1].nr_migrate);
	ASSERT_EQ(0, owner_config(c, 1, 0));
}

/* An additional unowned long-term pin keeps the pages in place. */
TEST_F(pinpage, unowned_pin)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	struct pp_vmstat vs_before, vs_after;
	struct pp_ctx *c = &self->c;
	long ret, i;
	int err;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	ASSERT_EQ(0, owner_start(c, 0, 0));
	ret = unowned_start(c);
	ASSERT_EQ(0, ret) TH_LOG("PIN_LONGTERM_TEST_START: %s", strerror(-ret));
	record_pins(_metadata, c, 1u << 0, before);
	if (prepare_move_or_skip(_metadata, c))
		return;
	vmstat_read(&vs_before);

	ret = move_buffer(c);
	err = errno;
	vmstat_read(&vs_after);
	vmstat_log(_metadata, &vs_before, &vs_after);
	check_not_moved(_metadata, c, ret, err);
	check_pins(_metadata, c, 1u << 0, before, after);
	ASSERT_EQ(after[0].nr_migrate, before[0].nr_migrate);
	ASSERT_EQ(0, unowned_read(c));
	i = first_page_diff(c, c->readbuf, c->pattern);
	ASSERT_EQ(-1, i) TH_LOG("unowned pin view: page %ld corrupted", i);
	if (vs_after.v[VS_UNOWNED] >= 0) {
		ASSERT_GT(vmstat_delta(&vs_before, &vs_after, VS_UNOWNED), 0);
	} else {
		TH_LOG("no pinpage_unowned_skipped in /proc/vmstat");
	}
	ASSERT_EQ(0, unowned_stop(c));
}

/*
 * vm.pinpage_migrate=0: owned pins behave like any long-term pin, and an
 * owner made meanwhile records nothing (stock's cost), for good.
 */
TEST_F(pinpage, switch_off)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	struct pp_vmstat vs_before, vs_after;
	struct pp_ctx *c = &self->c;
	long ret, pins0;
	int err;

	/* Teardown restores the saved value. */
	ASSERT_EQ(0, write_file(PINPAGE_SYSCTL, "0"));
	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	pins0 = stats_get("owned_pins");
	ASSERT_LE(0, pins0) TH_LOG("no owned_pins in " PINPAGE_STATS);
	ASSERT_EQ(0, owner_start(c, 0, 0));
	ASSERT_EQ(pins0, stats_get("owned_pins")) TH_LOG("pins recorded with the switch off");
	record_pins(_metadata, c, 1u << 0, before);
	if (prepare_move_or_skip(_metadata, c))
		return;
	vmstat_read(&vs_before);

	ret = move_buffer(c);
	err = errno;
	vmstat_read(&vs_after);
	vmstat_log(_metadata, &vs_before, &vs_after);
	check_not_moved(_metadata, c, ret, err);
	check_pins(_metadata, c, 1u << 0, before, after);
	ASSERT_EQ(after[0].nr_isolate, before[0].nr_isolate);
	ASSERT_EQ(after[0].nr_migrate, before[0].nr_migrate);

	/* Switched on again: the owner made meanwhile still records nothing. */
	ASSERT_EQ(0, write_file(PINPAGE_SYSCTL, "1"));
	ASSERT_EQ(pins0, stats_get("owned_pins"));
	ret = move_buffer(c);
	err = errno;
	check_not_moved(_metadata, c, ret, err);
	check_pins(_metadata, c, 1u << 0, before, after);
	ASSERT_EQ(after[0].nr_isolate, before[0].nr_isolate);
}

static const unsigned long owned_cmds[] = {
	PIN_OWNED_TEST_START, PIN_OWNED_TEST_STOP, PIN_OWNED_TEST_READ,
	PIN_OWNED_TEST_PFNS, PIN_OWNED_TEST_CONFIG, PIN_OWNED_TEST_STATUS,
};

static const char * const owned_cmd_names[] = {
	"START", "STOP", "READ", "PFNS", "CONFIG", "STATUS",
};

/*
 * Pins held system-wide: nr_foll_pin_acquired - nr_foll_pin_released, with
 * the per-cpu differences folded in first (vm.stat_refresh).
 */
static long long pins_held(void)
{
	write_file("/proc/sys/vm/stat_refresh", "1");
	return vmstat_get("nr_foll_pin_acquired") - vmstat_get("nr_foll_pin_released");
}

static unsigned long tainted(void)
{
	unsigned long val = 0;

	read_ulong(TAINTED_PATH, 10, &val);
	return val;
}

/*
 * vm.pinpage_migrate takes 0 or 1: anything else is EINVAL and leaves the
 * value alone.  A write of no bytes is a no-op (proc_dointvec), a lone
 * newline is not a number.
 */
static void check_sysctl_rejects(struct __test_metadata *_metadata, const char *set)
{
	static const char * const bad[] = { "2", "-1", "abc", "1abc", "\n", " " };
	char val[16];
	unsigned int i;
	int ret;

	ASSERT_EQ(0, write_file(PINPAGE_SYSCTL, set));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = write_file(PINPAGE_SYSCTL, bad[i]);
		ASSERT_EQ(-EINVAL, ret) TH_LOG("writing \"%s\" to " PINPAGE_SYSCTL ": %s",
					       bad[i], strerror(-ret));
		ASSERT_LT(0, read_file(PINPAGE_SYSCTL, val, sizeof(val)));
		ASSERT_STREQ(set, val) TH_LOG("after writing \"%s\"", bad[i]);
	}
	ASSERT_EQ(0, write_file(PINPAGE_SYSCTL, ""));
	ASSERT_LT(0, read_file(PINPAGE_SYSCTL, val, sizeof(val)));
	ASSERT_STREQ(set, val) TH_LOG("after an empty write");
}

/*
 * Bad calls through every interface pinpage adds: the vm.pinpage_migrate
 * sysctl, the read-only debugfs files and each PIN_OWNED_TEST ioctl (bad
 * owner, unknown flags, bad ranges, bad user pointers, wrong order).  A failed
 * START must leave nothing pinned.
 */
TEST_F(pinpage, bad_input)
{
	static const char * const dbg[] = { "/sys/kernel/debug/pinpage/owners", PINPAGE_STATS };
	const unsigned int wr = PIN_LONGTERM_TEST_FLAG_USE_WRITE;
	const unsigned int bad_owners[] = { NR_OWNERS, 0x80000000u, 0xffffffffu };
	const uint64_t kaddr = 0xfffffffffffff000ULL;	/* not a user address */
	struct pp_ctx *c = &self->c;
	struct pin_owned_test st, *ro_st;
	char *ro, *hole, tmp[4096];
	uintptr_t addr;
	long long pins;
	unsigned int i, j;
	int ret;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	addr = (uintptr_t)c->buf;

	/* The sysctl, from either value; teardown restores the saved one. */
	check_sysctl_rejects(_metadata, "0");
	check_sysctl_rejects(_metadata, "1");

	/* debugfs: root may open the 0400 files for writing, but not write. */
	for (i = 0; i < ARRAY_SIZE(dbg); i++) {
		if (access(dbg[i], F_OK)) {
			TH_LOG("no %s", dbg[i]);
			continue;
		}
		ret = write_file(dbg[i], "1\n");
		ASSERT_EQ(-EINVAL, ret) TH_LOG("writing %s: %s", dbg[i], strerror(-ret));
		ASSERT_LE(0, read_file(dbg[i], tmp, sizeof(tmp))) TH_LOG("reading %s", dbg[i]);
	}

	/*
	 * For bad pointers: read-only memory (real pages, not the zero page),
	 * then one writable page, then a hole (mapped, then unmapped).
	 */
	ro = mmap(NULL, 2 * c->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0, c->size);		/* and owner 0 in the STATUS argument */
	hole = ro + c->size;
	ASSERT_EQ(0, munmap(hole, c->size));
	ASSERT_EQ(0, mprotect(ro, c->size - c->pagesize, PROT_READ));
	ro_st = (struct pin_owned_test *)ro;
	pins = pins_held();

	/* Every command: bad owner index, and the argument pointer itself. */
	for (i = 0; i < ARRAY_SIZE(owned_cmds); i++) {
		for (j = 0; j < ARRAY_SIZE(bad_owners); j++) {
			ret = owned_ioctl(c, owned_cmds[i], bad_owners[j], addr, c->size, wr);
			ASSERT_EQ(-EINVAL, ret) TH_LOG("%s with owner %#x: %s", owned_cmd_names[i],
						       bad_owners[j], strerror(-ret));
		}
		ret = ioctl(c->gup_fd, owned_cmds[i], NULL) ? -errno : 0;
		ASSERT_EQ(-EFAULT, ret) TH_LOG("%s with a NULL argument: %s",
					       owned_cmd_names[i], strerror(-ret));
		ret = ioctl(c->gup_fd, owned_cmds[i], hole) ? -errno : 0;
		ASSERT_EQ(-EFAULT, ret) TH_LOG("%s with an unmapped argument: %s",
					       owned_cmd_names[i], strerror(-ret));
	}
	/* STATUS writes its answer back: not into read-only memory. */
	ret = ioctl(c->gup_fd, PIN_OWNED_TEST_STATUS, ro_st) ? -errno : 0;
	ASSERT_EQ(-EFAULT, ret) TH_LOG("STATUS into read-only memory: %s", strerror(-ret));

	/* Unknown flags, and each command's flags given to the other. */
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, c->size, 0x10000));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, c->size, 0x80000000u));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, c->size,
				       wr | PIN_OWNED_TEST_FLAG_REFUSE));
	ASSERT_EQ(-EINVAL, owner_config(c, 0, 0x10000));
	ASSERT_EQ(-EINVAL, owner_config(c, 0, PIN_OWNED_TEST_FLAG_BOUNDED));

	/* Bad ranges. */
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr + 1, c->size, wr));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, c->size - 1, wr));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, 0, wr));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, ~0xfffULL, wr));
	ret = owned_ioctl(c, PIN_OWNED_TEST_START, 0, (uintptr_t)hole, c->size, wr);
	ASSERT_EQ(-EFAULT, ret) TH_LOG("START on an unmapped range: %s", strerror(-ret));
	/* Mapped, then a hole: the pages pinned before the hole are let go. */
	ret = owned_ioctl(c, PIN_OWNED_TEST_START, 0, (uintptr_t)ro, 2 * c->size, 0);
	ASSERT_EQ(-EFAULT, ret) TH_LOG("START on a range ending in a hole: %s", strerror(-ret));
	ret = owned_ioctl(c, PIN_OWNED_TEST_START, 1, (uintptr_t)ro, c->size, wr);
	ASSERT_EQ(-EFAULT, ret) TH_LOG("START for writing on read-only memory: %s",
				       strerror(-ret));
	ret = owned_ioctl(c, PIN_OWNED_TEST_START, 2, kaddr - c->size, c->size, wr);
	ASSERT_EQ(-EFAULT, ret) TH_LOG("START on a kernel address: %s", strerror(-ret));

	/* Failed STARTs pin nothing. */
	for (j = 0; j < NR_OWNERS; j++) {
		ASSERT_EQ(0, owner_status(c, j, &st));
		ASSERT_EQ(0, st.nr_pages) TH_LOG("owner %u", j);
	}
	ASSERT_EQ(pins, pins_held()) TH_LOG("failed STARTs left pins behind");

	/* READ and PFNS before START: nothing pinned; STOP is harmless. */
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_READ, 0, (uintptr_t)c->readbuf, 0, 0));
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_PFNS, 0, (uintptr_t)c->owner_pfns,
				       0, 0));
	ASSERT_EQ(0, owned_ioctl(c, PIN_OWNED_TEST_STOP, 0, 0, 0, 0));

	ASSERT_EQ(0, owner_start(c, 0, 0));
	ASSERT_EQ(c->nr_pages, pins_held() - pins);
	ASSERT_EQ(-EBUSY, owned_ioctl(c, PIN_OWNED_TEST_START, 0, addr, c->size, wr));
	ASSERT_EQ(-EBUSY, owned_ioctl(c, PIN_OWNED_TEST_START, 0, (uintptr_t)ro, c->size, 0));
	/* READ and PFNS into bad destinations. */
	for (i = 0; i < 2; i++) {
		const unsigned long cmd = i ? PIN_OWNED_TEST_PFNS : PIN_OWNED_TEST_READ;
		/* The last one starts on the writable page and runs into the hole. */
		const uint64_t dst[] = { 0, kaddr, (uintptr_t)ro, (uintptr_t)hole,
					 (uintptr_t)hole - (i ? 256 : c->pagesize) };

		for (j = 0; j < ARRAY_SIZE(dst); j++) {
			ret = owned_ioctl(c, cmd, 0, dst[j], 0, 0);
			ASSERT_EQ(-EFAULT, ret) TH_LOG("%s into %#llx: %s", owned_cmd_names[2 + i],
						       (unsigned long long)dst[j], strerror(-ret));
		}
	}
	/* The owner is unharmed. */
	ASSERT_EQ(0, owner_status(c, 0, &st));
	ASSERT_EQ(c->nr_pages, st.nr_pages);
	ASSERT_EQ(0, owner_read(c, 0));
	ASSERT_EQ(-1, first_page_diff(c, c->readbuf, c->pattern));
	ASSERT_EQ(0, owned_ioctl(c, PIN_OWNED_TEST_STOP, 0, 0, 0, 0));
	c->owners = 0;
	ASSERT_EQ(0, owner_status(c, 0, &st));
	ASSERT_EQ(0, st.nr_pages);
	ASSERT_EQ(pins, pins_held()) TH_LOG("STOP left pins behind");
	ASSERT_EQ(-EINVAL, owned_ioctl(c, PIN_OWNED_TEST_READ, 0, (uintptr_t)c->readbuf, 0, 0));
	munmap(ro, c->size);
}

/*
 * START with a size no user range has: refused without allocating for it
 * and without a kernel warning (the WARN taint bit must not appear).
 */
TEST_F(pinpage, bad_input_huge_size)
{
	const uint64_t sizes[] = { 1ULL << 62, 1ULL << 40 };
	const unsigned int wr = PIN_LONGTERM_TEST_FLAG_USE_WRITE;
	struct pp_ctx *c = &self->c;
	unsigned long taint;
	struct pin_owned_test st;
	long long pins;
	unsigned int i;
	int ret;

	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	pins = pins_held();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		taint = tainted();
		ret = owned_ioctl(c, PIN_OWNED_TEST_START, 0, (uintptr_t)c->buf, sizes[i], wr);
		TH_LOG("START of %#llx bytes: %s", (unsigned long long)sizes[i], strerror(-ret));
		EXPECT_TRUE(ret == -EINVAL || ret == -EFAULT || ret == -ENOMEM);
		if (taint & TAINT_WARN)
			TH_LOG("kernel tainted with a warning already: cannot tell");
		EXPECT_FALSE(~taint & tainted() & TAINT_WARN)
			TH_LOG("START of %#llx bytes made the kernel warn (see the console)",
			       (unsigned long long)sizes[i]);
	}
	ASSERT_EQ(0, owner_status(c, 0, &st));
	ASSERT_EQ(0, st.nr_pages);
	ASSERT_EQ(pins, pins_held());
}

/* --- long-term pins and the zones they may not stay in --- */

/* Is @pfn in ZONE_MOVABLE (per /proc/zoneinfo) or in the CMA area? */
static bool pfn_unpinnable(struct pp_ctx *c, const struct pp_zone *zones, int nr_zones,
			   uint64_t pfn, char *what, size_t len)
{
	uint64_t cma_lo, cma_hi;
	int z = zone_of(zones, nr_zones, pfn);

	cma_bounds(c, &cma_lo, &cma_hi);
	snprintf(what, len, "pfn %#llx: node %d zone %s%s", (unsigned long long)pfn,
		 z >= 0 ? zones[z].node : -1, z >= 0 ? zones[z].name : "?",
		 pfn >= cma_lo && pfn < cma_hi ? ", CMA" : "");
	return z < 0 || !strcmp(zones[z].name, "Movable") || (pfn >= cma_lo && pfn < cma_hi);
}

/*
 * Grow the 2 MiB hugetlb pool past what ZONE_MOVABLE holds, map every free
 * huge page and return the index of one in an offlinable ZONE_MOVABLE block
 * (-1 if none); *kernel: how many lie outside ZONE_MOVABLE and CMA, where a
 * long-term pin may take them.
 */
static long hugetlb_pick_movable(struct __test_metadata *_metadata, struct pp_ctx *c,
				 char **map, unsigned long *nr, unsigned long *kernel)
{
	unsigned long ppb = block_pages(c), i, want, movable_free = 0, mapped;
	struct pp_zone zones[MAX_ZONES];
	uint64_t cma_lo, cma_hi, pfn, rpfn;
	int nr_zones, z, round;
	long pick = -1;
	char what[128];

	nr_zones = read_zones(zones, MAX_ZONES);
	for (z = 0; z < nr_zones; z++)
		if (!strcmp(zones[z].name, "Movable"))
			movable_free += zones[z].free;
	cma_bounds(c, &cma_lo, &cma_hi);
	want = c->saved_hugepages + movable_free / (HUGETLB_SIZE / c->pagesize) + 16;
	for (round = 0; round < HUGETLB_MAX_ROUNDS; round++, want += HUGETLB_STEP / 2) {
		*map = NULL;
		*kernel = 0;
		pick = -1;
		write_ulong(HUGETLB_NR, want);
		if (read_ulong(HUGETLB_DIR "/free_hugepages", 10, nr) || !*nr)
			continue;
		*map = mmap(NULL, *nr * HUGETLB_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (*map == MAP_FAILED) {
			*map = NULL;
			continue;
		}
		for (i = 0, mapped = 0; i < *nr; i++) {
			(*map)[i * HUGETLB_SIZE] = 1;
			if (pagemap_range(c, *map + i * HUGETLB_SIZE, 1, &pfn))
				continue;
			mapped++;
			if (!pfn_unpinnable(c, zones, nr_zones, pfn, what, sizeof(what))) {
				(*kernel)++;
				continue;
			}
			z = zone_of(zones, nr_zones, pfn);
			if (pick >= 0 || z < 0 || strcmp(zones[z].name, "Movable") ||
			    !block_usable(pfn / ppb, ppb, cma_lo, cma_hi) ||
			    block_reserved(c, pfn / ppb, ppb, &rpfn))
				continue;
			pick = i;
		}
		TH_LOG("hugetlb pool %lu pages (asked %lu), %lu mapped: %lu outside ZONE_MOVABLE/CMA, %s",
		       *nr, want, mapped, *kernel,
		       pick >= 0 ? "one in an offlinable ZONE_MOVABLE block" :
		       "none in an offlinable ZONE_MOVABLE block");
		/* Short of room outside in the last round: the test says so if it fails. */
		if (pick >= 0 && (*kernel >= 2 || round == HUGETLB_MAX_ROUNDS - 1))
			return pick;
		munmap(*map, *nr * HUGETLB_SIZE);
		*map = NULL;
	}
	return -1;
}

/*
 * A bounded owner pins a 2 MiB hugetlb page that lies in ZONE_MOVABLE.
 * pinpage cannot move hugetlb folios, so its bounded isolation promise is
 * worth nothing for them: the pin must migrate the page out of ZONE_MOVABLE
 * first, as any FOLL_LONGTERM pin does, and offlining the block that held it
 * must succeed.  The offline is bounded by a timeout: with the page pinned
 * in the block it would retry until interrupted.
 */
TEST_F_TIMEOUT(pinpage, hugetlb_movable_bounded, 300)
{
	unsigned long ppb, nr, kernel, saved, i, bad;
	struct pin_owned_test st;
	struct pp_ctx *c = &self->c;
	struct pp_zone zones[MAX_ZONES];
	char *map, what[128], path[256];
	uint64_t old_pfn;
	int nr_zones, ret;
	long pick, block;

	if (access(HUGETLB_NR, W_OK))
		SKIP(return, "no " HUGETLB_NR " (CONFIG_HUGETLBFS?)");
	ppb = block_pages(c);
	if (!ppb)
		SKIP(return, "no memory hotplug sysfs (" MEMORY_SYSFS ")");
	if (c->kpageflags_fd < 0)
		SKIP(return, "cannot open /proc/kpageflags to find reserved pages");
	ASSERT_EQ(0, read_ulong(HUGETLB_NR, 10, &saved));
	c->saved_hugepages = saved;
	c->folio_size = c->size = HUGETLB_SIZE;
	c->nr_pages = c->size / c->pagesize;
	c->nr_folios = 1;
	ASSERT_EQ(0, alloc_arrays(c));

	pick = hugetlb_pick_movable(_metadata, c, &map, &nr, &kernel);
	if (pick < 0)
		SKIP(return, "no 2 MiB hugetlb page in an offlinable ZONE_MOVABLE block (movablecore=)");
	/* Keep the one page, give the others back to the pool. */
	c->buf = c->map = map + pick * HUGETLB_SIZE;
	c->map_size = HUGETLB_SIZE;
	if (pick)
		munmap(map, pick * HUGETLB_SIZE);
	if ((unsigned long)pick + 1 < nr)
		munmap(c->buf + HUGETLB_SIZE, (nr - pick - 1) * HUGETLB_SIZE);
	memcpy(c->buf, c->pattern, c->size);
	ASSERT_EQ(0, pagemap_pfns(c, c->old_pfns));
	old_pfn = c->old_pfns[0];
	block = old_pfn / ppb;
	nr_zones = read_zones(zones, MAX_ZONES);
	pfn_unpinnable(c, zones, nr_zones, old_pfn, what, sizeof(what));
	TH_LOG("hugetlb page at %s, memory%ld; %lu free huge pages outside ZONE_MOVABLE/CMA",
	       what, block, kernel);

	ret = owner_start(c, 0, PIN_OWNED_TEST_FLAG_BOUNDED);
	ASSERT_EQ(0, ret) TH_LOG("bounded owner cannot pin the hugetlb page: %s", strerror(-ret));
	ASSERT_EQ(0, owner_status(c, 0, &st));
	ASSERT_EQ(c->nr_pages, st.nr_pages);
	ASSERT_EQ(0, owner_pfns(c, 0));
	ASSERT_EQ(0, pagemap_pfns(c, c->pfns));
	for (i = 0, bad = ULONG_MAX; i < c->nr_pages; i++)
		if (pfn_unpinnable(c, zones, nr_zones, c->owner_pfns[i], what, sizeof(what)) &&
		    bad == ULONG_MAX)
			bad = i;
	pfn_unpinnable(c, zones, nr_zones, c->owner_pfns[0], what, sizeof(what));
	TH_LOG("owner pins %s (mapped pfn %#llx)", what, (unsigned long long)c->pfns[0]);
	EXPECT_EQ(ULONG_MAX, bad) {
		pfn_unpinnable(c, zones, nr_zones, c->owner_pfns[bad], what, sizeof(what));
		TH_LOG("the pinned hugetlb page stayed where a long-term pin may not: page %lu, %s",
		       bad, what);
	}
	EXPECT_EQ(-1, first_pfn_diff(c, c->owner_pfns, c->pfns));
	ASSERT_EQ(0, owner_read(c, 0));
	EXPECT_EQ(-1, first_page_diff(c, c->readbuf, c->pattern));

	block_path(block, "state", path, sizeof(path));
	TH_LOG("offlining memory%ld, which held the page", block);
	ret = write_file_timeout(path, "offline", OFFLINE_TIMEOUT);
	if (!ret)
		c->offline_block = block;
	EXPECT_EQ(0, ret) TH_LOG("offlining memory%ld failed: %s%s", block, strerror(-ret),
				 ret == -EINTR ? " (timed out)" : "");
	ASSERT_EQ(0, owner_pfns(c, 0));
	for (i = 0, bad = 0; i < c->nr_pages; i++)
		bad += (long)(c->owner_pfns[i] / ppb) == block;
	EXPECT_EQ(0, bad) TH_LOG("%lu pinned pages still in memory%ld", bad, block);
	ASSERT_EQ(0, owner_read(c, 0));
	EXPECT_EQ(-1, first_page_diff(c, c->readbuf, c->pattern));
	EXPECT_EQ(-1, first_page_diff(c, c->buf, c->pattern));
}

/*
 * mbind(MPOL_MF_MOVE) moves an unbounded owner's pins to the new node, and
 * never into ZONE_MOVABLE or CMA there: the pages must land in a kernel zone
 * of the target node, with the owner repointed and the contents intact.
 */
TEST_F(pinpage, mbind_unbounded)
{
	struct pin_owned_test before[NR_OWNERS], after[NR_OWNERS];
	unsigned long mask[NODEMASK_LONGS] = { 0 };
	const size_t bits = 8 * sizeof(unsigned long);
	static bool mem[MAX_NODES];
	struct pp_zone zones[MAX_ZONES];
	struct pp_vmstat vs_before, vs_after;
	struct pp_ctx *c = &self->c;
	unsigned long moved, folios, i;
	int src = -1, dst, nr_zones, ret;
	char list[1024], what[128];
	long r;

	memset(mem, 0, sizeof(mem));
	if (read_file(NODE_SYSFS "/has_memory", list, sizeof(list)) > 0)
		parse_list(list, mem, MAX_NODES);
	for (i = 0; i < MAX_NODES && src < 0; i++)
		if (mem[i])
			src = i;
	dst = src >= 0 ? other_mem_node(mem, src) : -1;
	if (dst < 0)
		SKIP(return, "needs a second NUMA node with memory");

	/* Fault the buffer on @src. */
	ret = steer_bind(c, src);
	ASSERT_EQ(0, ret) TH_LOG("binding to node %d: %s", src, strerror(-ret));
	if (setup_buffer(_metadata, c, false, PLACE_ANY))
		return;
	ret = steer_unbind(c);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, owner_start(c, 0, 0));
	record_pins(_metadata, c, 1u << 0, before);
	nr_zones = read_zones(zones, MAX_ZONES);
	pfn_unpinnable(c, zones, nr_zones, c->old_pfns[0], what, sizeof(what));
	TH_LOG("pinned on %s; mbind to node %d", what, dst);
	for (i = 0; i < c->nr_pages; i++)
		ASSERT_EQ(src, pfn_node(c, c->old_pfns[i])) TH_LOG("page %lu not on node %d", i, src);

	vmstat_read(&vs_before);
	mask[dst / bits] = 1UL << (dst % bits);
	r = syscall(__NR_mbind, c->buf, c->size, MPOL_BIND, mask, MAX_NODES + 1, MPOL_MF_MOVE);
	ASSERT_EQ(0, r) TH_LOG("mbind: %s", strerror(errno));
	vmstat_read(&vs_after);
	vmstat_log(_metadata, &vs_before, &vs_after);
	check_pins(_metadata, c, 1u << 0, before, after);
	moved = count_moved(c, &folios);
	TH_LOG("mbind moved %lu of %lu pages; owner: +%llu isolate +%llu refused +%llu migrate",
	       moved, c->nr_pages,
	       (unsigned long long)(after[0].nr_isolate - before[0].nr_isolate),
	       (unsigned long long)(after[0].nr_refused - before[0].nr_refused),
	       (unsigned long long)(after[0].nr_migrate - before[0].nr_migrate));
	for (i = 0; i < c->nr_pages; i++) {
		ASSERT_EQ(dst, pfn_node(c, c->owner_pfns[i]))
			TH_LOG("page %lu not moved to node %d: pfn %#llx", i, dst,
			       (unsigned long long)c->owner_pfns[i]);
		ASSERT_FALSE(pfn_unpinnable(c, zones, nr_zones, c->owner_pfns[i], what,
					    sizeof(what)))
			TH_LOG("page %lu of an unbounded owner moved to %s", i, what);
	}
	ASSERT_GE(after[0].nr_migrate - before[0].nr_migrate, folios);
}

TEST_HARNESS_MAIN
