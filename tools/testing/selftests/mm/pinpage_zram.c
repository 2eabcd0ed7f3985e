// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage_zram: zsmalloc (zram, zswap) as a pinpage owner.
 *
 * Every zsmalloc pool (one per zram device, one per zswap pool) is an owner
 * of kind "zsmalloc"; every page of its zspages carries one recorded
 * reference.  The VM moves those pages through the owner protocol, and the
 * cases check the real effects: the "zsmalloc" line of
 * /sys/kernel/debug/pinpage/kinds (owners, pins, folios migrated), the PFNs
 * of /sys/kernel/debug/pinpage/folios, and every byte that went through
 * zram or zswap.  zram devices are hot_added (zram0 may be swap), filled
 * with O_DIRECT writes: half the pages incompressible (a seeded PRNG), half
 * compressing to about 100 B, 1 KiB and 3 KiB (random bytes, then a
 * repeated pattern, all derived from the page index), and read back.
 *
 *  - zram_compaction: the pool's pages are steered into the lower half of a
 *    zone, with a used page in every pageblock above (compaction takes no
 *    target page from a wholly free pageblock); compaction passes move some:
 *    zsmalloc "migrated" goes up and PFNs from before are gone.
 *  - zram_offline: offlining the ZONE_MOVABLE memory block (one without
 *    reserved pages) that holds the most zsmalloc pages moves them all out.
 *  - zram_cma: the pool's pages are steered into the cma= area (a memory hog
 *    takes what is free outside it, ZONE_MOVABLE first); an allocation of
 *    the whole area moves them out.
 *  - zram_io_while_moving: two threads overwrite random pages of a zram
 *    device (compressible, incompressible, same-filled and zero pages: the
 *    last two free the old object, and zspages empty), discard them
 *    (BLKDISCARD) and read them back, every page's expected contents known
 *    by a generation number written into it, while the pool's pages move:
 *    compaction, and offlining of the ZONE_MOVABLE memory block holding the
 *    most of them, in turn.  Every read and a final read of every page match,
 *    "migrated" goes up, no page is freed with a record left.
 *  - zswap_moves: anonymous memory paged out with MADV_PAGEOUT into zswap
 *    (zsmalloc pool), its pool's pages moved (offline of their memory block,
 *    or compaction without ZONE_MOVABLE), every page read back.
 *  - records_released: hot_remove of a zram device takes its owner and all
 *    its folios' records with it; no page is freed with a record left.
 *
 * zsmalloc pages are not mapped into user space: move_pages(2) and NUMA
 * placement do not apply to them, and no case tries.
 *
 * Needs root, CONFIG_PINPAGE with debugfs and zram (skips without them);
 * zram_offline skips without ZONE_MOVABLE (movablecore=) or memory hotplug,
 * zram_cma without a CMA area (cma=) or when no zsmalloc page could be
 * steered into it, zswap_moves without swap or without zswap on zsmalloc.
 * zram_io_while_moving only compacts without ZONE_MOVABLE (the pool steered
 * as in zram_compaction), and does not discard where BLKDISCARD fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mempolicy.h>

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

#define KINDS_PATH	"/sys/kernel/debug/pinpage/kinds"
#define FOLIOS_PATH	"/sys/kernel/debug/pinpage/folios"
#define KIND		"zsmalloc"
#define CMA_DIR		"/sys/kernel/debug/cma"
#define CMA_AREA	CMA_DIR "/reserved"
#define ZSWAP_PARAMS	"/sys/module/zswap/parameters"
#define ZSWAP_STORED	"/sys/kernel/debug/zswap/stored_pages"

#define CHUNK		64		/* pages per O_DIRECT write or read */
#define NCLASS		4		/* page contents: ~100 B, ~1 KiB, ~3 KiB, random */
#define MAX_ZONES	64
#define MAX_MAPS	8
#define MAXNODE		1024
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN(e)	((e) & ((1ULL << 55) - 1))
#define PAGEBLOCK	512		/* pages */
#define HOG_BATCH	2048		/* pages faulted between two looks at the zone */
#define HOG_EXTRA	(64UL << 20)	/* faulted beyond the zone's free memory, at most */
#define COMPACT_PASSES	10
#define OFFLINE_TRIES	5
#define OFFLINE_SECS	60		/* one offline attempt, at most */
#define CMA_TRIES	8
#define ANON_SIZE	(64UL << 20)	/* zswap_moves */
#define RELEASE_PAGES	4096		/* records_released fills this much */
#define IO_THREADS	2		/* zram_io_while_moving: I/O threads */
#define IO_RUN		8		/* pages of a run: one thread's, an I/O's most */
#define IO_READ_PCT	35		/* I/Os that read and check */
#define IO_DISCARD_PCT	10		/* I/Os that discard (where BLKDISCARD works) */
#define RACE_MIN_NS	(4 * NSEC)	/* I/O and moves, at least (and RACE_ROUNDS) */
#define RACE_MAX_NS	(8 * NSEC)	/* no mover round starts after this */
#define RACE_ROUNDS	4		/* mover rounds, at least, within RACE_MAX_NS */
#define RACE_OFFLINE_SECS 20		/* one offline attempt during the race, at most */
#define GEN_TAG		0xa5ULL		/* top byte of word 0 of a rewritten page */
#define SAME_TAG	0x5aULL		/* top byte of the word of a same-filled page */

static size_t psize;

static const char * const class_name[NCLASS] = {
	"~100 B", "~1 KiB", "~3 KiB", "incompressible"
};

/* Random bytes at the start of a page of each class, in 64ths of the page. */
static const unsigned int class_random[NCLASS] = { 1, 15, 46, 64 };

/* What a page of zram_io_while_moving holds: a class above, or one of these. */
enum { K_SAME = NCLASS, K_ZERO, K_DISCARD, NKIND };

static const char * const kind_name[NKIND] = {
	"~100 B", "~1 KiB", "~3 KiB", "incompressible", "same-filled", "zero", "discarded"
};

/*
 * The kind of each page a write stores, by twentieths: 45% compressible,
 * 25% incompressible, 15% same-filled, 15% zero.
 */
static const unsigned char write_kind[20] = {
	0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3,
	K_SAME, K_SAME, K_SAME, K_ZERO, K_ZERO, K_ZERO
};

/* A page's expected state in zram_io_while_moving; generation 0: as written first. */
struct io_page {
	uint32_t gen;
	uint8_t kind;
};

struct zone_rec {
	int node;
	char name[16];
	long start, spanned, free, low, high, cma_free;
};

struct kind_stat {
	long long owners, pins, isolated, refused, migrated;
};

/* zsmalloc folios of /sys/kernel/debug/pinpage/folios, by PFN. */
struct zs_folio {
	uint64_t pfn;
	unsigned long pins, refs;
	bool mixed;			/* another kind owns it too */
};

struct pfnset {
	struct zs_folio *f;
	size_t nr, cap;
};

/* Anonymous memory that takes free pages of a zone, PFN by PFN. */
struct hog {
	char *mem;
	unsigned long max, n;		/* pages mapped, faulted */
	uint64_t *pfn;			/* of each faulted page; 0: given back */
};

struct ctx {
	int pagemap_fd, kpageflags_fd;
	int zram_id;			/* zram device to remove, or -1 */
	int zram_fd;
	unsigned long pages;		/* pages of the device written */
	uint64_t seed;
	long offline;			/* memory block to online again, or -1 */
	char cma_alloc[32];		/* CMA allocation to free, or "" */
	struct kind_stat k0;		/* zsmalloc before the case */
	long long stale0;		/* pinpage_stale_freed before the case */
	char *buf;			/* CHUNK pages, O_DIRECT */
	struct hog hog;
	struct pfnset pre, before, after, fresh;
	struct { void *addr; size_t len; } maps[MAX_MAPS];
	int nr_maps;
	struct io_page *io;		/* zram_io_while_moving: each page's state */
};

/* --- page contents --- */

static int page_class(unsigned long i, bool mixed)
{
	if (!mixed)
		return i % 3;
	return i & 1 ? 3 : (i >> 1) % 3;
}

/* Word @k of page @i: random words, then a repeated 32-byte pattern. */
static inline uint64_t page_word(uint64_t s, size_t k, size_t random)
{
	return k < random ? mix(s + k) : s + (k & 3);
}

static void page_fill(void *page, unsigned long i, uint64_t seed, int cls)
{
	size_t k, n = psize / 8, r = n * class_random[cls] / 64;
	uint64_t *w = page, s = mix(seed << 32 ^ i);

	for (k = 0; k < n; k++)
		w[k] = page_word(s, k, r);
}

/* Offset of the first byte of page @i that page_fill() did not write, or -1. */
static long page_check(const void *page, unsigned long i, uint64_t seed, int cls)
{
	size_t k, j, n = psize / 8, r = n * class_random[cls] / 64;
	const uint64_t *w = page;
	uint64_t s = mix(seed << 32 ^ i), want;

	for (k = 0; k < n; k++) {
		want = page_word(s, k, r);
		if (w[k] == want)
			continue;
		for (j = 0; ((const char *)&w[k])[j] == ((const char *)&want)[j]; j++)
			;
		return k * 8 + j;
	}
	return -1;
}

/* --- zram --- */

/* Pages @first.. of the device, through @c->buf: O_DIRECT writes of page_fill(). */
static void dev_write(struct __test_metadata *_metadata, struct ctx *c, unsigned long first,
		      unsigned long n)
{
	unsigned long i, j, end = first + n, len;
	ssize_t ret;

	for (i = first; i < end; i += CHUNK) {
		len = end - i < CHUNK ? end - i : CHUNK;
		for (j = 0; j < len; j++)
			page_fill(c->buf + j * psize, i + j, c->seed, page_class(i + j, true));
		ret = pwrite(c->zram_fd, c->buf, len * psize, i * psize);
		ASSERT_EQ((ssize_t)(len * psize), ret)
			TH_LOG("O_DIRECT write of pages %lu-%lu of zram%d: %s", i, i + len - 1,
			       c->zram_id, ret < 0 ? strerror(errno) : "short");
	}
}

/* Every page of the device reads back (O_DIRECT) what dev_write() wrote. */
static void dev_check(struct __test_metadata *_metadata, struct ctx *c, const char *after)
{
	unsigned long i, j, len, bad = 0, first = 0;
	long off = -1, o;
	ssize_t ret;

	for (i = 0; i < c->pages; i += CHUNK) {
		len = c->pages - i < CHUNK ? c->pages - i : CHUNK;
		memset(c->buf, 0, len * psize);
		ret = pread(c->zram_fd, c->buf, len * psize, i * psize);
		ASSERT_EQ((ssize_t)(len * psize), ret)
			TH_LOG("O_DIRECT read of pages %lu-%lu of zram%d after %s: %s", i,
			       i + len - 1, c->zram_id, after, ret < 0 ? strerror(errno) : "short");
		for (j = 0; j < len; j++) {
			o = page_check(c->buf + j * psize, i + j, c->seed, page_class(i + j, true));
			if (o < 0)
				continue;
			if (!bad++) {
				first = i + j;
				off = o;
			}
		}
	}
	TH_LOG("zram%d: %lu pages read back after %s, %lu differ", c->zram_id, c->pages, after,
	       bad);
	ASSERT_EQ(0UL, bad)
		TH_LOG("page %lu (%s) of zram%d differs at byte %ld after %s, and %lu more", first,
		       class_name[page_class(first, true)], c->zram_id, off, after, bad - 1);
}

static int zram_remove(int id)
{
	char buf[16];
	int ret, i;

	snprintf(buf, sizeof(buf), "%d", id);
	for (i = 0; i < 50; i++) {
		ret = write_str(ZRAM_CONTROL "/hot_remove", buf);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	return ret;
}

/* --- debugfs: kinds and folios --- */

/* The "zsmalloc" line of kinds (all zero without one): 0, or -errno without the file. */
static int kind_get(struct kind_stat *k)
{
	char line[256], name[64];
	struct kind_stat v;
	FILE *f = fopen(KINDS_PATH, "r");

	memset(k, 0, sizeof(*k));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    sscanf(line, "%63s %lld %lld %lld %lld %lld", name, &v.owners, &v.pins,
			   &v.isolated, &v.refused, &v.migrated) != 6 || strcmp(name, KIND))
			continue;
		*k = v;
	}
	fclose(f);
	return 0;
}

static void kinds(struct __test_metadata *_metadata, struct kind_stat *k)
{
	int ret = kind_get(k);

	ASSERT_EQ(0, ret) TH_LOG("reading " KINDS_PATH ": %s", strerror(-ret));
}

static void kind_log(struct __test_metadata *_metadata, const char *when,
		     const struct kind_stat *from, const struct kind_stat *to)
{
	TH_LOG("%s: " KIND " owners %lld, pins %lld; isolated +%lld, refused +%lld, migrated +%lld; pinpage_migrated %lld, pgmigrate_success %lld",
	       when, to->owners, to->pins, to->isolated - from->isolated,
	       to->refused - from->refused, to->migrated - from->migrated,
	       vmstat_get("pinpage_migrated"), vmstat_get("pgmigrate_success"));
}

static int pfn_cmp(const void *a, const void *b)
{
	const struct zs_folio *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/* The zsmalloc folios of the folios file, sorted by PFN: 0 or -errno. */
static int zs_snapshot(struct pfnset *s)
{
	char line[512], kinds[256], *tok, *save;
	unsigned long long pfn;
	unsigned long pins, refs;
	struct zs_folio *f;
	bool ours, other;
	FILE *file = fopen(FOLIOS_PATH, "r");

	s->nr = 0;
	if (!file)
		return -errno;
	while (fgets(line, sizeof(line), file)) {
		if (line[0] == '#' ||
		    sscanf(line, "%llx %255s %lu %lu", &pfn, kinds, &pins, &refs) != 4)
			continue;
		ours = false;
		other = false;
		for (tok = strtok_r(kinds, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!strcmp(tok, KIND))
				ours = true;
			else
				other = true;
		}
		if (!ours)
			continue;
		if (s->nr == s->cap) {
			f = realloc(s->f, (s->cap * 2 + 4096) * sizeof(*f));
			if (!f) {
				fclose(file);
				return -ENOMEM;
			}
			s->f = f;
			s->cap = s->cap * 2 + 4096;
		}
		s->f[s->nr++] = (struct zs_folio){ pfn, pins, refs, other };
	}
	fclose(file);
	qsort(s->f, s->nr, sizeof(*s->f), pfn_cmp);
	return 0;
}

static void snapshot(struct __test_metadata *_metadata, struct pfnset *s)
{
	int ret = zs_snapshot(s);

	ASSERT_EQ(0, ret) TH_LOG("reading " FOLIOS_PATH ": %s", strerror(-ret));
}

static bool pfnset_has(const struct pfnset *s, uint64_t pfn)
{
	struct zs_folio key = { .pfn = pfn };

	return s->nr && bsearch(&key, s->f, s->nr, sizeof(key), pfn_cmp);
}

static size_t pfnset_in(const struct pfnset *s, uint64_t lo, uint64_t hi)
{
	size_t i, n = 0;

	for (i = 0; i < s->nr; i++)
		n += s->f[i].pfn >= lo && s->f[i].pfn < hi;
	return n;
}

/* How many folios of @a are not in @b. */
static size_t pfnset_gone(const struct pfnset *a, const struct pfnset *b)
{
	size_t i, n = 0;

	for (i = 0; i < a->nr; i++)
		n += !pfnset_has(b, a->f[i].pfn);
	return n;
}

/* @out: the folios of @a that are not in @b. */
static void pfnset_minus(struct __test_metadata *_metadata, struct pfnset *out,
			 const struct pfnset *a, const struct pfnset *b)
{
	size_t i;

	out->nr = 0;
	if (out->cap < a->nr) {
		free(out->f);
		out->f = calloc(a->nr + 1, sizeof(*out->f));
		out->cap = out->f ? a->nr : 0;
		ASSERT_NE(NULL, out->f) TH_LOG("out of memory");
	}
	for (i = 0; i < a->nr; i++)
		if (!pfnset_has(b, a->f[i].pfn))
			out->f[out->nr++] = a->f[i];
}

/* --- memory: policy, PFNs, zones, blocks --- */

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

/* Memory policy @mode for @node (< 0: back to the default): 0 or -errno. */
static int set_policy(int mode, int node)
{
	unsigned long mask[MAXNODE / 64] = { 0 };

	if (node < 0)
		return syscall(__NR_set_mempolicy, MPOL_DEFAULT, NULL, 0) ? -errno : 0;
	mask[node / 64] = 1UL << (node % 64);
	return syscall(__NR_set_mempolicy, mode, mask, MAXNODE + 1) ? -errno : 0;
}

/* Prefer @node for this task's allocations, the kernel's on its behalf included. */
static void prefer_node(struct __test_metadata *_metadata, int node)
{
	int ret = set_policy(MPOL_PREFERRED, node);

	ASSERT_EQ(0, ret) TH_LOG("set_mempolicy(MPOL_PREFERRED, node %d): %s", node,
				 strerror(-ret));
}

/* The pagemap entries of the @n pages at @addr: 0 or -EIO. */
static int pagemap_read(struct ctx *c, const char *addr, unsigned long n, uint64_t *ent)
{
	ssize_t len = n * sizeof(*ent);

	return pread(c->pagemap_fd, ent, len, (uintptr_t)addr / psize * sizeof(*ent)) == len ?
	       0 : -EIO;
}

static int read_zones(struct zone_rec *z, int max)
{
	struct zone_rec cur = { .node = -1 };
	char line[256], name[16];
	int n = 0, node;
	long v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			cur = (struct zone_rec){ .node = node };
			snprintf(cur.name, sizeof(cur.name), "%s", name);
		} else if (sscanf(line, " pages free %ld", &v) == 1) {
			cur.free = v;
		} else if (sscanf(line, " low %ld", &v) == 1) {
			cur.low = v;
		} else if (sscanf(line, " high %ld", &v) == 1) {
			cur.high = v;
		} else if (sscanf(line, " spanned %ld", &v) == 1) {
			cur.spanned = v;
		} else if (sscanf(line, " nr_free_cma %ld", &v) == 1) {
			cur.cma_free = v;
		} else if (sscanf(line, " start_pfn: %ld", &v) == 1) {
			cur.start = v;
			if (cur.node >= 0 && cur.spanned)
				z[n++] = cur;
		}
	}
	fclose(f);
	return n;
}

/* @zone as /proc/zoneinfo shows it now: 0 or -ENOENT. */
static int zone_now(const struct zone_rec *zone, struct zone_rec *now)
{
	struct zone_rec z[MAX_ZONES];
	int nz = read_zones(z, MAX_ZONES), i;

	for (i = 0; i < nz; i++) {
		if (z[i].node == zone->node && !strcmp(z[i].name, zone->name)) {
			*now = z[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* The zone holding @pfn, or -1. */
static int zone_of(const struct zone_rec *z, int nz, uint64_t pfn)
{
	int i;

	for (i = 0; i < nz; i++)
		if (pfn >= (uint64_t)z[i].start && pfn < (uint64_t)(z[i].start + z[i].spanned))
			return i;
	return -1;
}

/*
 * The zone where movable allocations go first, for the case to steer into:
 * the ZONE_MOVABLE with the most free memory; without one (@movable false
 * only), the zone with the most free memory.  -1 if none.
 */
static int pick_zone(const struct zone_rec *z, int nz, bool movable)
{
	int i, best = -1, pass;

	for (pass = 0; pass < 2 && best < 0; pass++) {
		for (i = 0; i < nz; i++) {
			if (!pass && strcmp(z[i].name, "Movable"))
				continue;
			if (best < 0 || z[i].free > z[best].free)
				best = i;
		}
		if (movable)
			break;
	}
	return best;
}

/*
 * Do PFNs [@lo, @hi) overlap a CMA area of CMA_DIR?  A memory block with CMA
 * pageblocks in it cannot be offlined: they fail isolation (-EBUSY).
 */
static bool in_cma(uint64_t lo, uint64_t hi)
{
	char path[512], buf[64];
	uint64_t base, count;
	struct dirent *d;
	bool ret = false;
	DIR *dir = opendir(CMA_DIR);

	while (dir && !ret && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CMA_DIR "/%s/base_pfn", d->d_name);
		if (read_str(path, buf, sizeof(buf)) <= 0)
			continue;
		base = strtoull(buf, NULL, 10);
		snprintf(path, sizeof(path), CMA_DIR "/%s/count", d->d_name);
		if (read_str(path, buf, sizeof(buf)) <= 0)
			continue;
		count = strtoull(buf, NULL, 10);
		ret = base < hi && lo < base + count;
	}
	if (dir)
		closedir(dir);
	return ret;
}

/*
 * The online ZONE_MOVABLE memory block without reserved pages or CMA that
 * holds the most folios of @s: its number, or -1.  *@nr: how many of @s it
 * holds.
 */
static long pick_block(struct ctx *c, const struct zone_rec *z, int nz, const struct pfnset *s,
		       unsigned long ppb, size_t *nr)
{
	char path[128], buf[64];
	long b, best = -1;
	unsigned long end;
	size_t n;
	int k;

	*nr = 0;
	for (k = 0; k < nz; k++) {
		if (strcmp(z[k].name, "Movable"))
			continue;
		end = z[k].start + z[k].spanned;
		for (b = (z[k].start + ppb - 1) / ppb; (b + 1) * ppb <= end; b++) {
			n = pfnset_in(s, b * ppb, (b + 1) * ppb);
			if (n <= *nr)
				continue;
			snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/state", b);
			if (read_str(path, buf, sizeof(buf)) <= 0 || strcmp(buf, "online"))
				continue;
			snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/valid_zones", b);
			if (read_str(path, buf, sizeof(buf)) <= 0 || strcmp(buf, "Movable"))
				continue;
			snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/removable", b);
			if (read_str(path, buf, sizeof(buf)) > 0 && !strcmp(buf, "0"))
				continue;
			if (block_has_reserved(c->kpageflags_fd, b, ppb) ||
			    in_cma(b * ppb, (b + 1) * ppb))
				continue;
			best = b;
			*nr = n;
		}
	}
	return best;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * Offline memory block @block: up to @max_tries attempts, retried on -EBUSY
 * and -EAGAIN; an attempt that takes longer than @secs is interrupted
 * (offline_pages() retries until a signal comes) and fails with -EINTR.
 * SIGALRM must reach this thread: other threads block it.  0 or -errno;
 * *@tries.
 */
static int offline_block(struct ctx *c, long block, unsigned int secs, int max_tries, int *tries)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	int ret;

	sigaction(SIGALRM, &sa, &old);
	for (*tries = 1;; (*tries)++) {
		alarm(secs);
		ret = block_set(block, "offline");
		alarm(0);
		if (!ret)
			c->offline = block;
		if ((ret != -EBUSY && ret != -EAGAIN) || *tries >= max_tries)
			break;
		usleep(200000);
	}
	sigaction(SIGALRM, &old, NULL);
	return ret;
}

/*
 * Move the zsmalloc folios out of the block that holds most of @s (in
 * ZONE_MOVABLE, without reserved pages) by offlining it: none is left in it,
 * "migrated" went up by at least as many as were there; online it again.
 */
static void offline_moves(struct __test_metadata *_metadata, struct ctx *c, const struct pfnset *s)
{
	unsigned long ppb = block_pages();
	struct zone_rec z[MAX_ZONES];
	struct kind_stat k1, k2;
	size_t nr, in, left;
	int nz, tries, ret;
	long block;

	ASSERT_LT(0UL, ppb) TH_LOG("no " MEMORY_SYSFS "/block_size_bytes");
	nz = read_zones(z, MAX_ZONES);
	block = pick_block(c, z, nz, s, ppb, &nr);
	ASSERT_LE(0, block) TH_LOG("no online ZONE_MOVABLE memory block without reserved pages holds one of the %zu new " KIND " folios: are zsmalloc pages movable allocations?",
				   s->nr);
	snapshot(_metadata, &c->before);
	in = pfnset_in(&c->before, block * ppb, (block + 1) * ppb);
	kinds(_metadata, &k1);
	ret = offline_block(c, block, OFFLINE_SECS, OFFLINE_TRIES, &tries);
	ASSERT_EQ(0, ret)
		TH_LOG("offlining memory%ld, which holds %zu " KIND " folios, %d tries: %s", block,
		       in, tries, strerror(-ret));
	kinds(_metadata, &k2);
	snapshot(_metadata, &c->after);
	left = pfnset_in(&c->after, block * ppb, (block + 1) * ppb);
	TH_LOG("memory%ld (pfn %#lx-%#lx) offline after %d tries: it held %zu " KIND " folios (%zu of the new ones), %zu left",
	       block, block * ppb, (block + 1) * ppb - 1, tries, in, nr, left);
	kind_log(_metadata, "after the offline", &k1, &k2);
	ASSERT_EQ(0UL, left) TH_LOG(KIND " folios still recorded in offline memory%ld", block);
	ASSERT_LE(k1.migrated + (long long)in, k2.migrated)
		TH_LOG("%zu " KIND " folios left memory%ld, %lld migrated through pinpage", in,
		       block, k2.migrated - k1.migrated);
	ret = block_set(block, "online_movable");
	ASSERT_EQ(0, ret) TH_LOG("onlining memory%ld again: %s", block, strerror(-ret));
	c->offline = -1;
}

/* The CMA area's first pfn and size in *@base and *@count; false without one. */
static bool cma_area(unsigned long *base, unsigned long *count)
{
	char buf[64];

	if (read_str(CMA_AREA "/base_pfn", buf, sizeof(buf)) <= 0)
		return false;
	*base = strtoul(buf, NULL, 10);
	if (read_str(CMA_AREA "/count", buf, sizeof(buf)) <= 0)
		return false;
	*count = strtoul(buf, NULL, 10);
	return *count > 0;
}

/*
 * Move the zsmalloc folios out of the CMA area at @base (@count pages) by
 * allocating all of it: none is left in it, "migrated" went up by at least as
 * many as were there; free the allocation again.
 */
static void cma_moves(struct __test_metadata *_metadata, struct ctx *c, unsigned long base,
		      unsigned long count)
{
	struct kind_stat k1, k2;
	size_t in, left;
	int tries, ret;
	char buf[64];

	snapshot(_metadata, &c->before);
	in = pfnset_in(&c->before, base, base + count);
	kinds(_metadata, &k1);
	snprintf(buf, sizeof(buf), "%lu", count);
	for (tries = 1; (ret = write_str(CMA_AREA "/alloc", buf)) && tries < CMA_TRIES; tries++)
		usleep(200000);
	ASSERT_EQ(0, ret) TH_LOG("allocating the whole CMA area (%lu pages) with %zu " KIND " folios in it, %d tries: %s",
				 count, in, tries, strerror(-ret));
	snprintf(c->cma_alloc, sizeof(c->cma_alloc), "%s", buf);
	kinds(_metadata, &k2);
	snapshot(_metadata, &c->after);
	left = pfnset_in(&c->after, base, base + count);
	TH_LOG("CMA allocation of %lu pages after %d tries: %zu " KIND " folios were in the area, %zu left",
	       count, tries, in, left);
	kind_log(_metadata, "after the CMA allocation", &k1, &k2);
	ASSERT_EQ(0UL, left) TH_LOG(KIND " folios still recorded in the allocated CMA area");
	ASSERT_LE(k1.migrated + (long long)in, k2.migrated)
		TH_LOG("%zu " KIND " folios left the CMA area, %lld migrated through pinpage", in,
		       k2.migrated - k1.migrated);
	ret = write_str(CMA_AREA "/free", c->cma_alloc);
	ASSERT_EQ(0, ret) TH_LOG("freeing the CMA allocation: %s", strerror(-ret));
	c->cma_alloc[0] = '\0';
}

/* --- the hog: steering allocations in a zone --- */

/*
 * Fault the hog, under the caller's memory policy, until @zone has at most
 * its high watermark and a batch free (with @no_cma: free outside CMA), or
 * HOG_EXTRA more than the zone had free is faulted.
 */
static void hog_fill(struct __test_metadata *_metadata, struct ctx *c, const struct zone_rec *zone,
		     bool no_cma)
{
	struct hog *h = &c->hog;
	struct zone_rec now = *zone;
	unsigned long i, n;
	long room;
	char *mem;

	ASSERT_EQ(NULL, h->mem) TH_LOG("one hog per case");
	n = zone->free + HOG_EXTRA / psize;
	mem = mmap(NULL, n * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem) TH_LOG("mapping a hog of %lu MiB: %s", n * psize >> 20,
					  strerror(errno));
	h->mem = mem;
	h->max = n;
	madvise(h->mem, h->max * psize, MADV_NOHUGEPAGE);
	h->pfn = calloc(h->max, sizeof(*h->pfn));
	ASSERT_NE(NULL, h->pfn) TH_LOG("out of memory");
	while (h->n < h->max) {
		room = now.free - (no_cma ? now.cma_free : 0);
		if (room <= now.high + HOG_BATCH)
			break;
		n = h->max - h->n < HOG_BATCH ? h->max - h->n : HOG_BATCH;
		for (i = 0; i < n; i++)
			h->mem[(h->n + i) * psize] = 1;
		ASSERT_EQ(0, pagemap_read(c, h->mem + h->n * psize, n, h->pfn + h->n))
			TH_LOG("reading /proc/self/pagemap: %s", strerror(errno));
		for (i = h->n; i < h->n + n; i++)
			h->pfn[i] = h->pfn[i] & PM_PRESENT ? PM_PFN(h->pfn[i]) : 0;
		h->n += n;
		ASSERT_EQ(0, zone_now(zone, &now))
			TH_LOG("node %d %s left /proc/zoneinfo", zone->node, zone->name);
	}
	TH_LOG("hog: %lu MiB faulted; node %d %s: %ld pages free (%ld in CMA), high watermark %ld",
	       h->n * psize >> 20, zone->node, zone->name, now.free, now.cma_free, now.high);
}

/* Give back the hog's pages that @keep does not mark; how many it keeps. */
static unsigned long hog_drop(struct hog *h, const unsigned char *keep)
{
	unsigned long i = 0, j, kept = 0;

	while (i < h->n) {
		if (keep[i]) {
			kept += !!h->pfn[i];
			i++;
			continue;
		}
		for (j = i; j < h->n && !keep[j]; j++)
			h->pfn[j] = 0;
		madvise(h->mem + i * psize, (j - i) * psize, MADV_DONTNEED);
		i = j;
	}
	return kept;
}

/* Give back the hog's pages in PFNs [@lo, @hi): room for what comes next. */
static unsigned long hog_drop_range(struct __test_metadata *_metadata, struct ctx *c,
				    uint64_t lo, uint64_t hi)
{
	struct hog *h = &c->hog;
	unsigned char *keep = calloc(h->n + 1, 1);
	unsigned long i, n = 0;

	ASSERT_NE(NULL, keep) TH_LOG("out of memory");
	for (i = 0; i < h->n; i++) {
		keep[i] = !h->pfn[i] || h->pfn[i] < lo || h->pfn[i] >= hi;
		n += !keep[i];
	}
	hog_drop(h, keep);
	free(keep);
	return n;
}

/*
 * Keep one hog page in every pageblock of @zone from PFN @from up, give back
 * the others: compaction's free scanner then finds targets up there (it
 * takes none from a wholly free pageblock).  How many pages it keeps.
 */
static unsigned long hog_targets(struct __test_metadata *_metadata, struct ctx *c,
				 const struct zone_rec *zone, uint64_t from)
{
	struct hog *h = &c->hog;
	uint64_t end = zone->start + zone->spanned, b;
	unsigned char *keep = calloc(h->n + 1, 1);
	unsigned char *seen = calloc(zone->spanned / PAGEBLOCK + 2, 1);
	unsigned long i, kept;

	ASSERT_TRUE(keep && seen) TH_LOG("out of memory");
	for (i = 0; i < h->n; i++) {
		if (h->pfn[i] < from || h->pfn[i] >= end)
			continue;
		b = (h->pfn[i] - zone->start) / PAGEBLOCK;
		if (!seen[b]) {
			seen[b] = 1;
			keep[i] = 1;
		}
	}
	kept = hog_drop(h, keep);
	free(seen);
	free(keep);
	return kept;
}

static void hog_free(struct hog *h)
{
	if (h->mem)
		munmap(h->mem, h->max * psize);
	free(h->pfn);
	memset(h, 0, sizeof(*h));
}

/*
 * Compaction passes (node @node, then all nodes, in turn) until a zsmalloc
 * folio migrated since @k0 and one of @c->before is gone, or COMPACT_PASSES.
 * @k0 and @c->before are from before the compaction targets were made, so
 * that what kcompactd moves in between counts as well.
 */
static void compact_moves(struct __test_metadata *_metadata, struct ctx *c, int node,
			  const struct kind_stat *k0)
{
	long long pgmigrate = vmstat_get("pgmigrate_success");
	struct kind_stat k1 = *k0, k2 = *k0;
	size_t gone = 0;
	int pass, ret;

	for (pass = 0; pass < COMPACT_PASSES; pass++) {
		ret = compact_pass(node, pass);
		ASSERT_EQ(0, ret) TH_LOG("compaction pass %d (writing 1 to %s): %s", pass,
					 pass & 1 ? COMPACT_ALL : "node compact", strerror(-ret));
		kinds(_metadata, &k2);
		snapshot(_metadata, &c->after);
		gone = pfnset_gone(&c->before, &c->after);
		if (k2.migrated > k1.migrated && gone)
			break;
	}
	TH_LOG("%d compaction passes: %zu of %zu " KIND " folios from before gone, %zu now; pgmigrate_success +%lld",
	       pass + (pass < COMPACT_PASSES), gone, c->before.nr, c->after.nr,
	       vmstat_get("pgmigrate_success") - pgmigrate);
	kind_log(_metadata, "after compaction", &k1, &k2);
	ASSERT_LT(k1.migrated, k2.migrated) TH_LOG("compaction migrated no " KIND " folio");
	ASSERT_LT(0UL, gone)
		TH_LOG("every " KIND " folio from before is still recorded at its PFN");
}

/* --- zram_io_while_moving: I/O threads and the mover --- */

static inline uint64_t rnd(uint64_t *s)
{
	return mix((*s)++);
}

static inline uint64_t gen_word(uint64_t tag, unsigned long i, uint32_t gen)
{
	return tag << 56 | (uint64_t)i << 32 | gen;
}

/*
 * Page @i in state @p: generation 0 is what zram_fill() wrote; a later one of
 * a class is page_fill() of another seed, word 0 saying page and generation;
 * a same-filled page repeats such a word; zero and discarded pages read zeros.
 */
static void io_expect(void *page, unsigned long i, struct io_page p, uint64_t seed)
{
	uint64_t *w = page;
	size_t k, n = psize / 8;

	if (p.kind == K_ZERO || p.kind == K_DISCARD) {
		memset(page, 0, psize);
	} else if (p.kind == K_SAME) {
		for (k = 0; k < n; k++)
			w[k] = gen_word(SAME_TAG, i, p.gen);
	} else if (!p.gen) {
		page_fill(page, i, seed, p.kind);
	} else {
		page_fill(page, i, seed + ((uint64_t)p.gen << 8), p.kind);
		w[0] = gen_word(GEN_TAG, i, p.gen);
	}
}

/* Offset of the first byte where @a and @b differ, or -1. */
static long page_diff(const void *a, const void *b)
{
	const unsigned char *x = a, *y = b;
	long k;

	if (!memcmp(a, b, psize))
		return -1;
	for (k = 0; x[k] == y[k]; k++)
		;
	return k;
}

/*
 * @page was read from page @i in state @p and differs from it at byte @off:
 * say what it holds instead (zeros, a same-filled or a rewritten page, and
 * whose, generation 0, or something else).
 */
static void io_bad(char *out, size_t len, const void *page, unsigned long i, struct io_page p,
		   uint64_t seed, long off)
{
	const uint64_t *w = page;
	size_t k, n = psize / 8;
	char what[96];
	int cls;

	for (k = 1; k < n && w[k] == w[0]; k++)
		;
	if (k == n && !w[0]) {
		snprintf(what, sizeof(what), "zeros");
	} else if (k == n && w[0] >> 56 == SAME_TAG) {
		snprintf(what, sizeof(what), "a same-filled page of page %llu, generation %llu",
			 (unsigned long long)(w[0] >> 32 & 0xffffff),
			 (unsigned long long)(w[0] & 0xffffffff));
	} else if (k == n) {
		snprintf(what, sizeof(what), "a same-filled page of %#llx",
			 (unsigned long long)w[0]);
	} else if (w[0] >> 56 == GEN_TAG) {
		snprintf(what, sizeof(what), "a rewritten page (page %llu, generation %llu)",
			 (unsigned long long)(w[0] >> 32 & 0xffffff),
			 (unsigned long long)(w[0] & 0xffffffff));
	} else {
		for (cls = 0; cls < NCLASS && page_check(page, i, seed, cls) >= 0; cls++)
			;
		if (cls < NCLASS)
			snprintf(what, sizeof(what), "its generation 0 (%s)", kind_name[cls]);
		else
			snprintf(what, sizeof(what), "other data, word 0 %#llx",
				 (unsigned long long)w[0]);
	}
	snprintf(out, len, "page %lu (%s, generation %u) differs at byte %ld: it holds %s", i,
		 kind_name[p.kind], p.gen, off, what);
}

/* One I/O thread: random I/Os on its runs of pages until told to stop. */
struct io_thread {
	struct ctx *c;
	int id;
	bool discard;			/* BLKDISCARD works */
	pthread_t tid;
	int *stop;			/* __atomic: set by the mover */
	int failed;			/* __atomic: err[] is written */
	char *buf;			/* IO_RUN pages for O_DIRECT, then one to compare with */
	uint64_t rnd;
	unsigned long ios, reads, read_pages, writes, write_pages, discards;
	unsigned long kinds[NKIND];	/* pages written of each kind, and discarded */
	unsigned long bad;		/* pages read that differed */
	char first_bad[224];
	char err[160];
};

/* Read pages @first.. (@n) and check them against their state: 0, or -1 (@t->err). */
static int io_read(struct io_thread *t, unsigned long first, unsigned long n)
{
	struct ctx *c = t->c;
	char *page, *want = t->buf + IO_RUN * psize;
	ssize_t ret = pread(c->zram_fd, t->buf, n * psize, first * psize);
	unsigned long j;
	long off;

	if (ret != (ssize_t)(n * psize)) {
		snprintf(t->err, sizeof(t->err), "O_DIRECT read of pages %lu-%lu: %s", first,
			 first + n - 1, ret < 0 ? strerror(errno) : "short");
		return -1;
	}
	t->reads++;
	t->read_pages += n;
	for (j = 0; j < n; j++) {
		page = t->buf + j * psize;
		io_expect(want, first + j, c->io[first + j], c->seed);
		off = page_diff(page, want);
		if (off >= 0 && !t->bad++)
			io_bad(t->first_bad, sizeof(t->first_bad), page, first + j,
			       c->io[first + j], c->seed, off);
	}
	return 0;
}

/* Discard pages @first.. (@n): 0, or -1 (@t->err). */
static int io_discard(struct io_thread *t, unsigned long first, unsigned long n)
{
	struct io_page *st = &t->c->io[first];
	uint64_t range[2] = { first * psize, n * psize };
	unsigned long j;

	if (ioctl(t->c->zram_fd, BLKDISCARD, range)) {
		snprintf(t->err, sizeof(t->err), "BLKDISCARD of pages %lu-%lu: %s", first,
			 first + n - 1, strerror(errno));
		return -1;
	}
	t->discards++;
	t->kinds[K_DISCARD] += n;
	for (j = 0; j < n; j++)
		st[j] = (struct io_page){ st[j].gen + 1, K_DISCARD };
	return 0;
}

/* Write a new generation of pages @first.. (@n), each of a random kind: 0, or -1 (@t->err). */
static int io_write(struct io_thread *t, unsigned long first, unsigned long n)
{
	struct ctx *c = t->c;
	struct io_page next[IO_RUN], *st = &c->io[first];
	unsigned long j;
	ssize_t ret;

	for (j = 0; j < n; j++) {
		next[j].gen = st[j].gen + 1;
		next[j].kind = write_kind[rnd(&t->rnd) % 20];
		io_expect(t->buf + j * psize, first + j, next[j], c->seed);
	}
	ret = pwrite(c->zram_fd, t->buf, n * psize, first * psize);
	if (ret != (ssize_t)(n * psize)) {
		snprintf(t->err, sizeof(t->err), "O_DIRECT write of pages %lu-%lu: %s", first,
			 first + n - 1, ret < 0 ? strerror(errno) : "short");
		return -1;
	}
	t->writes++;
	t->write_pages += n;
	for (j = 0; j < n; j++) {
		st[j] = next[j];
		t->kinds[next[j].kind]++;
	}
	return 0;
}

/*
 * Runs of IO_RUN pages alternate between the threads, so that each page has
 * one writer and its state in ctx.io needs no lock.  An I/O covers 1 to
 * IO_RUN pages of a run (one page half the time): it reads and checks them,
 * discards them, or writes a new generation of each, of a random kind.
 */
static void *io_fn(void *arg)
{
	struct io_thread *t = arg;
	unsigned long runs = (t->c->pages / IO_RUN - t->id + IO_THREADS - 1) / IO_THREADS;
	unsigned long first, n, j;
	int op, ret = 0;

	while (!__atomic_load_n(t->stop, __ATOMIC_RELAXED)) {
		first = ((rnd(&t->rnd) % runs) * IO_THREADS + t->id) * IO_RUN;
		j = rnd(&t->rnd) % IO_RUN;
		n = rnd(&t->rnd) & 1 ? 1 : 1 + rnd(&t->rnd) % (IO_RUN - j);
		first += j;
		op = rnd(&t->rnd) % 100;
		if (op < IO_READ_PCT)
			ret = io_read(t, first, n);
		else if (op < IO_READ_PCT + IO_DISCARD_PCT && t->discard)
			ret = io_discard(t, first, n);
		else
			ret = io_write(t, first, n);
		if (ret)
			break;
		t->ios++;
	}
	__atomic_store_n(&t->failed, ret != 0, __ATOMIC_RELEASE);
	return NULL;
}

/* The mover: compaction and offlining in turn, in the test's thread. */
struct race {
	struct ctx *c;
	bool movable;			/* offline too */
	int stop;			/* __atomic: for the I/O threads */
	unsigned long rounds, compactions, offlines, offlined, busy, timed_out, no_block;
	long long compact_migrated, offline_migrated;
	size_t offline_folios;		/* zsmalloc folios in the blocks offlined, before */
	char err[160];
};

/* Compaction of all nodes. */
static void race_compact(struct race *r)
{
	struct kind_stat a, b;
	int ret;

	kind_get(&a);
	ret = write_str(COMPACT_ALL, "1");
	kind_get(&b);
	if (ret)
		snprintf(r->err, sizeof(r->err), "compaction (writing 1 to " COMPACT_ALL "): %s",
			 strerror(-ret));
	r->compactions++;
	r->compact_migrated += b.migrated - a.migrated;
}

/*
 * Offline the ZONE_MOVABLE block holding the most zsmalloc folios now (one
 * attempt, RACE_OFFLINE_SECS at most): none may be left recorded in it; then
 * online it again.  -EBUSY, -EAGAIN and -EINTR are counted, not errors.
 */
static void race_offline(struct race *r)
{
	struct ctx *c = r->c;
	unsigned long ppb = block_pages();
	struct zone_rec z[MAX_ZONES];
	struct kind_stat a, b;
	int nz, ret, snap, tries;
	size_t nr, left;
	long block;

	nz = read_zones(z, MAX_ZONES);
	ret = zs_snapshot(&c->before);
	if (ret) {
		snprintf(r->err, sizeof(r->err), "reading " FOLIOS_PATH ": %s", strerror(-ret));
		return;
	}
	block = pick_block(c, z, nz, &c->before, ppb, &nr);
	if (block < 0) {
		r->no_block++;
		return;
	}
	r->offlines++;
	kind_get(&a);
	ret = offline_block(c, block, RACE_OFFLINE_SECS, 1, &tries);
	kind_get(&b);
	if (ret == -EBUSY || ret == -EAGAIN) {
		r->busy++;
		return;
	}
	if (ret == -EINTR) {
		r->timed_out++;
		return;
	}
	if (ret) {
		snprintf(r->err, sizeof(r->err), "offlining memory%ld: %s", block, strerror(-ret));
		return;
	}
	r->offlined++;
	r->offline_folios += nr;
	r->offline_migrated += b.migrated - a.migrated;
	snap = zs_snapshot(&c->after);
	left = snap ? 0 : pfnset_in(&c->after, block * ppb, (block + 1) * ppb);
	ret = block_set(block, "online_movable");
	if (!ret)
		c->offline = -1;
	if (snap)
		snprintf(r->err, sizeof(r->err), "reading " FOLIOS_PATH ": %s", strerror(-snap));
	else if (left)
		snprintf(r->err, sizeof(r->err),
			 "%zu " KIND " folios still recorded in offline memory%ld", left, block);
	else if (ret)
		snprintf(r->err, sizeof(r->err), "onlining memory%ld again: %s", block,
			 strerror(-ret));
}

/* Every page of the device reads back (O_DIRECT) what @c->io says; @want: a page. */
static void io_check(struct __test_metadata *_metadata, struct ctx *c, char *want)
{
	unsigned long i, j, len, bad = 0, nk[NKIND] = { 0 };
	char first[224] = "";
	struct io_page p;
	ssize_t ret;
	long off;

	for (i = 0; i < c->pages; i += CHUNK) {
		len = c->pages - i < CHUNK ? c->pages - i : CHUNK;
		memset(c->buf, 0, len * psize);
		ret = pread(c->zram_fd, c->buf, len * psize, i * psize);
		ASSERT_EQ((ssize_t)(len * psize), ret)
			TH_LOG("O_DIRECT read of pages %lu-%lu of zram%d: %s", i, i + len - 1,
			       c->zram_id, ret < 0 ? strerror(errno) : "short");
		for (j = 0; j < len; j++) {
			p = c->io[i + j];
			nk[p.kind]++;
			io_expect(want, i + j, p, c->seed);
			off = page_diff(c->buf + j * psize, want);
			if (off >= 0 && !bad++)
				io_bad(first, sizeof(first), c->buf + j * psize, i + j, p, c->seed,
				       off);
		}
	}
	TH_LOG("zram%d: %lu pages read back after the race (%lu %s, %lu %s, %lu %s, %lu %s, %lu %s, %lu %s, %lu %s), %lu differ",
	       c->zram_id, c->pages, nk[0], kind_name[0], nk[1], kind_name[1], nk[2], kind_name[2],
	       nk[3], kind_name[3], nk[K_SAME], kind_name[K_SAME], nk[K_ZERO], kind_name[K_ZERO],
	       nk[K_DISCARD], kind_name[K_DISCARD], bad);
	ASSERT_EQ(0UL, bad) TH_LOG("zram%d: %s, and %lu more", c->zram_id, first, bad - 1);
}

/* --- fixture --- */

FIXTURE(zram) {
	struct ctx c;
};

FIXTURE_SETUP(zram)
{
	struct ctx *c = &self->c;
	int ret;

	c->pagemap_fd = -1;
	c->kpageflags_fd = -1;
	c->zram_id = -1;
	c->zram_fd = -1;
	c->offline = -1;
	if (geteuid())
		SKIP(return, "needs root");
	if (access(KINDS_PATH, R_OK) || access(FOLIOS_PATH, R_OK))
		SKIP(return, "no " KINDS_PATH " or " FOLIOS_PATH " (CONFIG_PINPAGE, debugfs)");
	if (access(ZRAM_CONTROL "/hot_add", R_OK))
		SKIP(return, "no " ZRAM_CONTROL "/hot_add (CONFIG_ZRAM)");
	psize = sysconf(_SC_PAGESIZE);
	c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, c->pagemap_fd) TH_LOG("/proc/self/pagemap: %s", strerror(errno));
	c->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	ASSERT_LE(0, c->kpageflags_fd) TH_LOG("/proc/kpageflags: %s", strerror(errno));
	c->buf = mmap(NULL, CHUNK * psize, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, c->buf) TH_LOG("mapping the I/O buffer: %s", strerror(errno));
	ret = kind_get(&c->k0);
	ASSERT_EQ(0, ret) TH_LOG("reading " KINDS_PATH ": %s", strerror(-ret));
	c->stale0 = vmstat_get("pinpage_stale_freed");
}

FIXTURE_TEARDOWN(zram)
{
	struct ctx *c = &self->c;
	int ret, i;

	set_policy(MPOL_DEFAULT, -1);
	if (c->offline >= 0) {
		ret = block_set(c->offline, "online_movable");
		if (ret)
			TH_LOG("onlining memory%ld again: %s", c->offline, strerror(-ret));
	}
	if (c->cma_alloc[0]) {
		ret = write_str(CMA_AREA "/free", c->cma_alloc);
		if (ret)
			TH_LOG("freeing the CMA allocation of %s pages: %s", c->cma_alloc,
			       strerror(-ret));
	}
	hog_free(&c->hog);
	for (i = 0; i < c->nr_maps; i++)
		munmap(c->maps[i].addr, c->maps[i].len);
	if (c->zram_fd >= 0)
		close(c->zram_fd);
	if (c->zram_id >= 0) {
		ret = zram_remove(c->zram_id);
		if (ret)
			TH_LOG("removing zram%d: %s", c->zram_id, strerror(-ret));
	}
	free(c->pre.f);
	free(c->before.f);
	free(c->after.f);
	free(c->fresh.f);
	free(c->io);
	if (c->buf && c->buf != MAP_FAILED)
		munmap(c->buf, CHUNK * psize);
	if (c->kpageflags_fd >= 0)
		close(c->kpageflags_fd);
	if (c->pagemap_fd >= 0)
		close(c->pagemap_fd);
}

/*
 * A new zram device (hot_add), @pages of it (0: all) written under the
 * caller's memory policy: one more zsmalloc owner, holding pages.
 */
static void zram_fill(struct __test_metadata *_metadata, struct ctx *c, unsigned long pages,
		      uint64_t seed)
{
	unsigned long cls[NCLASS] = { 0 }, i;
	struct kind_stat k;
	char path[64], stat[256];

	c->zram_fd = zram_open(&c->zram_id);
	ASSERT_LE(0, c->zram_fd)
		TH_LOG("creating a zram device through " ZRAM_CONTROL "/hot_add: %s",
		       strerror(-c->zram_fd));
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", c->zram_id);
	c->pages = read_ll(path) / psize;
	ASSERT_LT(0UL, c->pages) TH_LOG("%s: no size", path);
	if (pages && pages < c->pages)
		c->pages = pages;
	c->seed = seed;
	dev_write(_metadata, c, 0, c->pages);
	for (i = 0; i < c->pages; i++)
		cls[page_class(i, true)]++;
	snprintf(path, sizeof(path), "/sys/block/zram%d/mm_stat", c->zram_id);
	if (read_str(path, stat, sizeof(stat)) < 0)
		snprintf(stat, sizeof(stat), "?");
	kinds(_metadata, &k);
	TH_LOG("zram%d: %lu pages written (%lu %s, %lu %s, %lu %s, %lu %s); mm_stat %s", c->zram_id,
	       c->pages, cls[0], class_name[0], cls[1], class_name[1], cls[2], class_name[2],
	       cls[3], class_name[3], stat);
	kind_log(_metadata, "written", &c->k0, &k);
	ASSERT_EQ(c->k0.owners + 1, k.owners)
		TH_LOG("zram%d's pool is not one more " KIND " owner in " KINDS_PATH, c->zram_id);
	ASSERT_LT(c->k0.pins, k.pins) TH_LOG("zram%d's pool holds no recorded page", c->zram_id);
}

/* --- cases --- */

/*
 * Compaction moves zsmalloc pages: written into the lower half of a zone
 * (ZONE_MOVABLE where there is one; the hog holds the rest of the zone while
 * zram allocates), with one hog page kept in every pageblock above.
 */
TEST_F_TIMEOUT(zram, zram_compaction, 240)
{
	struct ctx *c = &self->c;
	struct zone_rec z[MAX_ZONES], *zone;
	struct kind_stat k1;
	uint64_t lo, hi;
	unsigned long freed, kept;
	size_t low;
	int nz, k;

	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, false);
	ASSERT_LE(0, k) TH_LOG("no zone in /proc/zoneinfo");
	zone = &z[k];
	lo = zone->start;
	hi = zone->start + zone->spanned / 2;
	prefer_node(_metadata, zone->node);
	hog_fill(_metadata, c, zone, false);
	freed = hog_drop_range(_metadata, c, lo, hi);
	zram_fill(_metadata, c, 0, 1);
	set_policy(MPOL_DEFAULT, -1);
	kinds(_metadata, &k1);
	snapshot(_metadata, &c->before);
	low = pfnset_in(&c->before, lo, hi);
	kept = hog_targets(_metadata, c, zone, hi);
	TH_LOG("node %d %s, pfn %#lx-%#lx: %zu of %zu " KIND " folios in its lower half (%lu hog pages given back there), %lu hog pages kept above as compaction targets",
	       zone->node, zone->name, zone->start, zone->start + zone->spanned - 1, low,
	       c->before.nr, freed, kept);
	ASSERT_LT(0UL, c->before.nr) TH_LOG("no " KIND " folio in " FOLIOS_PATH);
	compact_moves(_metadata, c, zone->node, &k1);
	snapshot(_metadata, &c->after);
	TH_LOG("%zu " KIND " folios left in the lower half (%zu before)",
	       pfnset_in(&c->after, lo, hi), low);
	dev_check(_metadata, c, "compaction");
}

/*
 * Offlining the ZONE_MOVABLE memory block that holds the most zsmalloc
 * pages moves every one of them out, through pinpage.
 */
TEST_F_TIMEOUT(zram, zram_offline, 240)
{
	struct ctx *c = &self->c;
	struct zone_rec z[MAX_ZONES];
	int nz, k;

	if (!block_pages())
		SKIP(return, "no " MEMORY_SYSFS "/block_size_bytes (CONFIG_MEMORY_HOTPLUG)");
	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, true);
	if (k < 0)
		SKIP(return, "no ZONE_MOVABLE (boot with movablecore=)");
	snapshot(_metadata, &c->pre);
	prefer_node(_metadata, z[k].node);
	zram_fill(_metadata, c, 0, 2);
	set_policy(MPOL_DEFAULT, -1);
	snapshot(_metadata, &c->before);
	pfnset_minus(_metadata, &c->fresh, &c->before, &c->pre);
	TH_LOG("%zu " KIND " folios, %zu of them new (zram%d), written preferring node %d",
	       c->before.nr, c->fresh.nr, c->zram_id, z[k].node);
	offline_moves(_metadata, c, &c->fresh);
	dev_check(_metadata, c, "the offline");
}

/*
 * An allocation of the whole CMA area moves the zsmalloc pages in it out.
 * They are steered in: a hog takes what is free outside CMA in the area's
 * zone (and in the zones above it), then gives back its pages in the area,
 * so that CMA holds more than half of the zone's free memory while zram
 * allocates (the allocator then serves movable requests from CMA first).
 */
TEST_F_TIMEOUT(zram, zram_cma, 240)
{
	struct ctx *c = &self->c;
	struct zone_rec z[MAX_ZONES], now;
	unsigned long base, count, freed;
	size_t in;
	int nz, k;

	if (!cma_area(&base, &count))
		SKIP(return, "no CMA area " CMA_AREA " (boot with cma=, CONFIG_CMA_DEBUGFS)");
	nz = read_zones(z, MAX_ZONES);
	k = zone_of(z, nz, base);
	ASSERT_LE(0, k) TH_LOG("CMA area at pfn %#lx in no zone", base);
	prefer_node(_metadata, z[k].node);
	hog_fill(_metadata, c, &z[k], true);
	freed = hog_drop_range(_metadata, c, base, base + count);
	ASSERT_EQ(0, zone_now(&z[k], &now))
		TH_LOG("node %d %s left /proc/zoneinfo", z[k].node, z[k].name);
	zram_fill(_metadata, c, 0, 3);
	set_policy(MPOL_DEFAULT, -1);
	snapshot(_metadata, &c->before);
	in = pfnset_in(&c->before, base, base + count);
	TH_LOG("CMA area pfn %#lx-%#lx in node %d %s: %zu of %zu " KIND " folios in it (hog: %lu pages faulted, %lu given back in CMA; the zone had %ld pages free, %ld in CMA, before zram wrote)",
	       base, base + count - 1, z[k].node, z[k].name, in, c->before.nr, c->hog.n, freed,
	       now.free, now.cma_free);
	if (!in)
		SKIP(return, "no " KIND " page could be steered into the CMA area (0 of %zu, %lu hog pages faulted); this skip is unexpected",
		     c->before.nr, c->hog.n);
	/* Room outside CMA for what has to leave it. */
	hog_free(&c->hog);
	cma_moves(_metadata, c, base, count);
	dev_check(_metadata, c, "the CMA allocation");
}

/*
 * zram I/O against the moves of its pool's pages: two threads overwrite,
 * discard and read back random pages (see io_fn()) while this thread
 * compacts and offlines the ZONE_MOVABLE block holding the most zsmalloc
 * pages, in turn (without ZONE_MOVABLE it only compacts, the pool steered
 * as in zram_compaction).  Objects are freed and zspages emptied while their
 * pages are isolated or being copied, and objects are read while their
 * handles are rewritten.  Every read matches the page's last write, and so
 * does every page at the end; "migrated" went up; no page was freed with a
 * record.
 */
TEST_F_TIMEOUT(zram, zram_io_while_moving, 180)
{
	struct ctx *c = &self->c;
	struct io_thread t[IO_THREADS];
	struct race r = { .c = c };
	struct zone_rec z[MAX_ZONES], *zone;
	unsigned long i, sum[NKIND] = { 0 }, ios = 0, reads = 0, read_pages = 0;
	unsigned long writes = 0, write_pages = 0, discards = 0, bad = 0;
	char path[64], stat0[256], stat1[256];
	const char *first_bad = "";
	uint64_t range[2], t0, el;
	struct kind_stat k1, k2;
	sigset_t alrm, old;
	int nz, k, n, j, ret;
	bool discard;

	memset(t, 0, sizeof(t));
	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, true);
	r.movable = k >= 0 && block_pages();
	if (!r.movable)
		k = pick_zone(z, nz, false);
	ASSERT_LE(0, k) TH_LOG("no zone in /proc/zoneinfo");
	zone = &z[k];
	prefer_node(_metadata, zone->node);
	if (!r.movable) {
		hog_fill(_metadata, c, zone, false);
		hog_drop_range(_metadata, c, zone->start, zone->start + zone->spanned / 2);
	}
	zram_fill(_metadata, c, 0, 6);
	ASSERT_LE((unsigned long)IO_RUN * IO_THREADS, c->pages);
	ASSERT_GT(1UL << 24, c->pages) TH_LOG("page numbers must fit in 24 bits of a word");
	if (!r.movable)
		hog_targets(_metadata, c, zone, zone->start + zone->spanned / 2);
	c->io = calloc(c->pages, sizeof(*c->io));
	ASSERT_NE(NULL, c->io) TH_LOG("out of memory");
	for (i = 0; i < c->pages; i++)
		c->io[i].kind = page_class(i, true);

	/* Does discard work?  Page 0 tells. */
	range[0] = 0;
	range[1] = psize;
	ret = ioctl(c->zram_fd, BLKDISCARD, range) ? -errno : 0;
	ASSERT_TRUE(!ret || ret == -EOPNOTSUPP)
		TH_LOG("BLKDISCARD of page 0 of zram%d: %s", c->zram_id, strerror(-ret));
	discard = !ret;
	if (discard)
		c->io[0] = (struct io_page){ 1, K_DISCARD };
	TH_LOG("zram%d: BLKDISCARD %s; %d I/O threads, runs of %d pages, %d%% reads, %d%% discards, the rest writes (45%% compressible, 25%% incompressible, 15%% same-filled, 15%% zero pages); mover: %s",
	       c->zram_id, discard ? "works" : "not supported, no discards", IO_THREADS, IO_RUN,
	       IO_READ_PCT, discard ? IO_DISCARD_PCT : 0,
	       r.movable ? "compaction and offline in turn" : "compaction (no ZONE_MOVABLE)");

	for (n = 0; n < IO_THREADS; n++) {
		t[n].c = c;
		t[n].id = n;
		t[n].discard = discard;
		t[n].stop = &r.stop;
		t[n].rnd = mix(c->seed << 8 ^ n);
		t[n].buf = map_anon(c, (IO_RUN + 1) * psize);
		ASSERT_NE(NULL, t[n].buf) TH_LOG("mapping I/O buffers: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "/sys/block/zram%d/mm_stat", c->zram_id);
	if (read_str(path, stat0, sizeof(stat0)) < 0)
		snprintf(stat0, sizeof(stat0), "?");
	kinds(_metadata, &k1);

	/*
	 * The I/O threads block SIGALRM, which ends an offline that takes too
	 * long in this thread, and allocate preferring the zone's node.
	 */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	t0 = now_ns();
	for (n = 0; n < IO_THREADS; n++) {
		ret = pthread_create(&t[n].tid, NULL, io_fn, &t[n]);
		if (ret)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	set_policy(MPOL_DEFAULT, -1);
	while (n == IO_THREADS && !r.err[0]) {
		for (j = 0; j < IO_THREADS && !__atomic_load_n(&t[j].failed, __ATOMIC_ACQUIRE); j++)
			;
		if (j < IO_THREADS || now_ns() - t0 >= RACE_MAX_NS ||
		    (now_ns() - t0 >= RACE_MIN_NS && r.rounds >= RACE_ROUNDS))
			break;
		if (r.movable && r.rounds & 1)
			race_offline(&r);
		else
			race_compact(&r);
		r.rounds++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (j = 0; j < n; j++)
		pthread_join(t[j].tid, NULL);
	el = now_ns() - t0;
	ASSERT_EQ(IO_THREADS, n) TH_LOG("creating I/O thread %d: %s", n, strerror(ret));
	kinds(_metadata, &k2);
	if (read_str(path, stat1, sizeof(stat1)) < 0)
		snprintf(stat1, sizeof(stat1), "?");

	for (n = 0; n < IO_THREADS; n++) {
		ios += t[n].ios;
		reads += t[n].reads;
		read_pages += t[n].read_pages;
		writes += t[n].writes;
		write_pages += t[n].write_pages;
		discards += t[n].discards;
		for (k = 0; k < NKIND; k++)
			sum[k] += t[n].kinds[k];
		if (t[n].bad && !bad)
			first_bad = t[n].first_bad;
		bad += t[n].bad;
	}
	TH_LOG("%.1f s: %lu I/Os: %lu reads of %lu pages checked, %lu differed; %lu writes of %lu pages (%lu %s, %lu %s, %lu %s, %lu %s, %lu %s, %lu %s); %lu discards of %lu pages",
	       el / 1e9, ios, reads, read_pages, bad, writes, write_pages, sum[0],
	       kind_name[0], sum[1], kind_name[1], sum[2], kind_name[2], sum[3], kind_name[3],
	       sum[K_SAME], kind_name[K_SAME], sum[K_ZERO], kind_name[K_ZERO], discards,
	       sum[K_DISCARD]);
	TH_LOG("mover: %lu rounds: %lu compactions (" KIND " migrated +%lld); %lu offlines of %lu attempted (%lu busy, %lu timed out after %d s; %lu rounds without a block to offline; %zu " KIND " folios were in the blocks, migrated +%lld)",
	       r.rounds, r.compactions, r.compact_migrated, r.offlined, r.offlines, r.busy,
	       r.timed_out, RACE_OFFLINE_SECS, r.no_block, r.offline_folios, r.offline_migrated);
	kind_log(_metadata, "after the race", &k1, &k2);
	TH_LOG("zram%d mm_stat before the race: %s", c->zram_id, stat0);
	TH_LOG("zram%d mm_stat after the race:  %s", c->zram_id, stat1);
	for (n = 0; n < IO_THREADS; n++)
		ASSERT_EQ('\0', t[n].err[0]) TH_LOG("I/O thread %d: %s", n, t[n].err);
	ASSERT_EQ('\0', r.err[0]) TH_LOG("mover: %s", r.err);
	ASSERT_EQ(0UL, bad)
		TH_LOG("reads during the race: %s; %lu pages differed in all", first_bad, bad);
	ASSERT_LT(0UL, reads) TH_LOG("no read during the race");
	ASSERT_LT(0UL, writes) TH_LOG("no write during the race");
	ASSERT_TRUE(!r.offlines || r.offlined)
		TH_LOG("no offline of %lu attempted succeeded (%lu busy, %lu timed out)",
		       r.offlines, r.busy, r.timed_out);
	io_check(_metadata, c, t[0].buf + IO_RUN * psize);
	ASSERT_LT(k1.migrated, k2.migrated) TH_LOG("no " KIND " folio migrated during the race");
	TH_LOG("pinpage_stale_freed %lld -> %lld", c->stale0, vmstat_get("pinpage_stale_freed"));
	ASSERT_EQ(c->stale0, vmstat_get("pinpage_stale_freed"))
		TH_LOG("pages were freed with pinpage records left");
}

/* Pages of the @n at @mem that are swapped out (pagemap), or -1. */
static long swapped_out(struct ctx *c, const char *mem, unsigned long n)
{
	uint64_t *ent = calloc(n, sizeof(*ent));
	unsigned long i;
	long nr = 0;

	if (!ent || pagemap_read(c, mem, n, ent)) {
		free(ent);
		return -1;
	}
	for (i = 0; i < n; i++)
		nr += !!(ent[i] & PM_SWAP);
	free(ent);
	return nr;
}

/*
 * Anonymous memory paged out into zswap (a zsmalloc pool): its pool's pages
 * move (offline of the ZONE_MOVABLE block holding the most of them; without
 * ZONE_MOVABLE, compaction as in zram_compaction), and every page reads back.
 */
TEST_F_TIMEOUT(zram, zswap_moves, 240)
{
	struct ctx *c = &self->c;
	unsigned long n = ANON_SIZE / psize, i, bad = 0, first = 0;
	struct zone_rec z[MAX_ZONES], *zone;
	long long stored0, stored1;
	struct kind_stat k1;
	long out, off = -1, o;
	char buf[64], *mem;
	int nz, k, lines = 0;
	const char *how;
	bool movable;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	while (f && fgets(buf, sizeof(buf), f))
		lines += buf[strlen(buf) - 1] == '\n';
	if (f)
		fclose(f);
	if (lines < 2)
		SKIP(return, "no swap (/proc/swaps; the pinpage-zram group swaps on zram0)");
	if (read_str(ZSWAP_PARAMS "/enabled", buf, sizeof(buf)) <= 0 || strcmp(buf, "Y"))
		SKIP(return, "zswap is not enabled (" ZSWAP_PARAMS "/enabled)");
	if (read_str(ZSWAP_PARAMS "/zpool", buf, sizeof(buf)) <= 0 || strcmp(buf, KIND))
		SKIP(return, "zswap's zpool is not zsmalloc (" ZSWAP_PARAMS "/zpool)");
	stored0 = read_ll(ZSWAP_STORED);
	if (stored0 < 0)
		SKIP(return, "no " ZSWAP_STORED " (debugfs)");

	nz = read_zones(z, MAX_ZONES);
	k = pick_zone(z, nz, true);
	movable = k >= 0 && block_pages();
	if (!movable)
		k = pick_zone(z, nz, false);
	ASSERT_LE(0, k) TH_LOG("no zone in /proc/zoneinfo");
	if (k < 0)
		return;
	zone = &z[k];
	how = movable ? "the offline" : "compaction";
	mem = map_anon(c, ANON_SIZE);
	ASSERT_NE(NULL, mem) TH_LOG("mapping %lu MiB: %s", ANON_SIZE >> 20, strerror(errno));
	c->seed = 4;
	for (i = 0; i < n; i++)
		page_fill(mem + i * psize, i, c->seed, page_class(i, false));
	prefer_node(_metadata, zone->node);
	if (!movable) {
		hog_fill(_metadata, c, zone, false);
		hog_drop_range(_metadata, c, zone->start, zone->start + zone->spanned / 2);
	}
	snapshot(_metadata, &c->pre);
	ASSERT_EQ(0, madvise(mem, ANON_SIZE, MADV_PAGEOUT))
		TH_LOG("MADV_PAGEOUT of %lu MiB: %s", ANON_SIZE >> 20, strerror(errno));
	set_policy(MPOL_DEFAULT, -1);
	out = swapped_out(c, mem, n);
	stored1 = read_ll(ZSWAP_STORED);
	kinds(_metadata, &k1);
	snapshot(_metadata, &c->before);
	pfnset_minus(_metadata, &c->fresh, &c->before, &c->pre);
	TH_LOG("MADV_PAGEOUT of %lu pages preferring node %d: %ld swapped out, zswap stored_pages %lld -> %lld; %zu new " KIND " folios",
	       n, zone->node, out, stored0, stored1, c->fresh.nr);
	ASSERT_LT(stored0, stored1) TH_LOG("nothing went to zswap (%ld of %lu pages swapped out)",
					   out, n);
	ASSERT_LT(0UL, c->fresh.nr) TH_LOG("zswap stored %lld pages and no new " KIND " folio appeared in " FOLIOS_PATH,
					   stored1 - stored0);
	if (movable) {
		struct zone_rec zz[MAX_ZONES];
		unsigned long base, count;
		size_t nr;

		/*
		 * The pool's pages may have gone to the CMA pageblocks of
		 * ZONE_MOVABLE, which offlining cannot isolate: a CMA
		 * allocation moves them then.
		 */
		if (pick_block(c, zz, read_zones(zz, MAX_ZONES), &c->fresh, block_pages(),
			       &nr) >= 0 || !cma_area(&base, &count) ||
		    !pfnset_in(&c->fresh, base, base + count)) {
			offline_moves(_metadata, c, &c->fresh);
		} else {
			how = "the CMA allocation";
			cma_moves(_metadata, c, base, count);
		}
	} else {
		hog_targets(_metadata, c, zone, zone->start + zone->spanned / 2);
		compact_moves(_metadata, c, zone->node, &k1);
	}
	for (i = 0; i < n; i++) {
		o = page_check(mem + i * psize, i, c->seed, page_class(i, false));
		if (o >= 0 && !bad++) {
			first = i;
			off = o;
		}
	}
	TH_LOG("%lu pages read back from zswap after %s, %lu differ; stored_pages now %lld", n,
	       how, bad, read_ll(ZSWAP_STORED));
	ASSERT_EQ(0UL, bad)
		TH_LOG("page %lu (%s) differs at byte %ld after %s, and %lu more", first,
		       class_name[page_class(first, false)], off, how, bad - 1);
}

/*
 * hot_remove of a zram device: its owner leaves the kinds file, no folio of
 * its pool keeps a record, and no page was freed with one.  While it lives,
 * every folio of its pool carries exactly one recorded reference.
 */
TEST_F_TIMEOUT(zram, records_released, 120)
{
	struct ctx *c = &self->c;
	uint64_t end = now_ns() + 10 * NSEC;
	struct kind_stat k1, k2;
	size_t i, left;
	int ret, id;

	snapshot(_metadata, &c->pre);
	zram_fill(_metadata, c, RELEASE_PAGES, 5);
	kinds(_metadata, &k1);
	snapshot(_metadata, &c->before);
	pfnset_minus(_metadata, &c->fresh, &c->before, &c->pre);
	TH_LOG("zram%d: %zu new " KIND " folios; " KIND " pins %lld -> %lld", c->zram_id,
	       c->fresh.nr, c->k0.pins, k1.pins);
	ASSERT_LT(0UL, c->fresh.nr) TH_LOG("no new " KIND " folio in " FOLIOS_PATH);
	for (i = 0; i < c->fresh.nr; i++)
		ASSERT_TRUE(!c->fresh.f[i].mixed && !c->fresh.f[i].pins && c->fresh.f[i].refs == 1)
			TH_LOG("folio %#llx of zram%d's pool: %lu pins, %lu refs%s, not one ref",
			       (unsigned long long)c->fresh.f[i].pfn, c->zram_id,
			       c->fresh.f[i].pins, c->fresh.f[i].refs,
			       c->fresh.f[i].mixed ? ", other owners too" : "");

	close(c->zram_fd);
	c->zram_fd = -1;
	id = c->zram_id;
	ret = zram_remove(id);
	ASSERT_EQ(0, ret) TH_LOG("removing zram%d (" ZRAM_CONTROL "/hot_remove): %s", id,
				 strerror(-ret));
	c->zram_id = -1;
	do {
		kinds(_metadata, &k2);
		if (k2.owners == c->k0.owners)
			break;
		usleep(20000);
	} while (now_ns() < end);
	snapshot(_metadata, &c->after);
	left = c->fresh.nr - pfnset_gone(&c->fresh, &c->after);
	kind_log(_metadata, "after hot_remove", &c->k0, &k2);
	TH_LOG("%zu of zram%d's %zu folios still recorded as " KIND "; pinpage_stale_freed %lld -> %lld",
	       left, id, c->fresh.nr, c->stale0, vmstat_get("pinpage_stale_freed"));
	ASSERT_EQ(c->k0.owners, k2.owners) TH_LOG("zram%d's owner is still in " KINDS_PATH, id);
	ASSERT_EQ(0UL, left) TH_LOG("folios of removed zram%d still carry " KIND " records", id);
	ASSERT_GE(c->k0.pins, k2.pins) TH_LOG(KIND " owners hold more than before zram%d existed",
					      id);
	ASSERT_EQ(c->stale0, vmstat_get("pinpage_stale_freed"))
		TH_LOG("pages were freed with pinpage records left");
}

TEST_HARNESS_MAIN
