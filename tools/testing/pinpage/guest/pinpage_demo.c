// SPDX-License-Identifier: GPL-2.0
/*
 * The narrated demo scenario: what the kernel under test does with pages that are
 * pinned long term, without an owner (PIN_LONGTERM_TEST_START: what Linux does
 * today) and with a pinpage owner (PIN_OWNED_TEST_START, owner 0, bounded
 * isolation, so its pins may stay in ZONE_MOVABLE and CMA).
 *
 * Both scenarios run the same four triggers, each on its own fresh 256-page
 * buffer that is first steered to where the trigger can reach it:
 *   move_pages(2)  any buffer; every page is asked to go to the other node;
 *   compaction     a buffer low in a DMA32/Normal zone; then compact_memory;
 *   CMA            a buffer with pages inside the CMA area; then the whole area
 *                  is allocated through /sys/kernel/debug/cma;
 *   offlining      a buffer inside a Movable memory block without reserved pages;
 *                  then the block is offlined (and onlined again).
 * Each buffer is pattern-filled, pinned, put through its trigger, checked through
 * the mapping and through the pin, and unpinned.  Every count comes from
 * /proc/self/pagemap PFNs; nothing is printed that was not measured.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mm/gup_test.h"

#define NPAGES		256
#define PAGE		4096UL
#define CHUNK		(NPAGES * PAGE)
#define STEER_MAX	(640UL << 20)	/* most a steering region may fault */
#define LOW_ENOUGH	(128UL << 20)	/* compaction: chunks seen before picking */
#define MPOL_DEFAULT	0
#define MPOL_BIND	2
#define KPF_RESERVED	32
#define CMA_DIR		"/sys/kernel/debug/cma/reserved"
#define MEM_DIR		"/sys/devices/system/memory"

static int gup_fd = -1, pagemap_fd = -1;
static char *buf;			/* the current 256-page buffer */
static uint64_t pfn[NPAGES];		/* its PFNs when last looked at */
static size_t steer_faulted;		/* bytes the last steer() faulted */
static long cma_base = -1, cma_count;
static unsigned long block_pages;

struct zone_span {
	int node;
	char name[16];
	uint64_t start, spanned;
};

struct block {
	int nr, node;
	uint64_t lo, hi;
};

struct result {
	int pinned, pin_moved;		/* over all pins */
	int mp_moved;			/* -1: not run */
	int compact_moved;
	int cma_in, cma_alloc;		/* cma_alloc: 1 ok, 0 failed */
	int off_in;
	char off[16];
	int contents;			/* intact everywhere */
	int repointed;			/* owner's PFNs matched everywhere */
};

/* ---- small file and PFN helpers ---- */

static int read_str(const char *path, char *s, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, s, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	s[n] = 0;
	s[strcspn(s, "\n")] = 0;
	return 0;
}

static long read_long(const char *path, int base)
{
	char s[64];

	return read_str(path, s, sizeof(s)) ? -1 : strtol(s, NULL, base);
}

static long write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	long r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static void read_pfns(const char *addr, int n, uint64_t *out)
{
	uint64_t e;
	int i;

	for (i = 0; i < n; i++) {
		if (pread(pagemap_fd, &e, 8, ((uintptr_t)addr / PAGE + i) * 8) != 8)
			e = 0;
		out[i] = (e & (1ULL << 63)) ? e & ((1ULL << 55) - 1) : 0;
	}
}

/* How many pages of buf have a new PFN since last time? */
static int changed_pfns(void)
{
	uint64_t now[NPAGES];
	int i, n = 0;

	read_pfns(buf, NPAGES, now);
	for (i = 0; i < NPAGES; i++) {
		n += now[i] != pfn[i];
		pfn[i] = now[i];
	}
	return n;
}

static int pages_in(const uint64_t *p, uint64_t lo, uint64_t hi)
{
	int i, n = 0;

	for (i = 0; i < NPAGES; i++)
		n += p[i] >= lo && p[i] < hi;
	return n;
}

static void pfn_span(const uint64_t *p, uint64_t *lo, uint64_t *hi)
{
	int i;

	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < NPAGES; i++) {
		if (p[i] < *lo)
			*lo = p[i];
		if (p[i] > *hi)
			*hi = p[i];
	}
}

/* The node a PFN's memory block belongs to (memoryN/nodeM), or -1. */
static int node_of_pfn(uint64_t p)
{
	char path[96];
	int node;

	for (node = 0; node < 64; node++) {
		snprintf(path, sizeof(path), MEM_DIR "/memory%lu/node%d",
			 (unsigned long)(p / block_pages), node);
		if (!access(path, F_OK))
			return node;
	}
	return -1;
}

/* ---- steering a buffer into place ---- */

static cpu_set_t saved_cpus;

static void parse_cpulist(const char *s, cpu_set_t *set)
{
	char *end;
	long a, b;

	CPU_ZERO(set);
	for (;;) {
		a = strtol(s, &end, 10);
		if (end == s)
			return;
		b = *end == '-' ? strtol(end + 1, &end, 10) : a;
		for (; a <= b && a < CPU_SETSIZE; a++)
			CPU_SET(a, set);
		if (*end != ',')
			return;
		s = end + 1;
	}
}

/* Allocate from @node only, running on its CPUs. */
static void bind_node(int node)
{
	unsigned long mask = 1UL << node;
	char path[80], list[128];
	cpu_set_t cpus;

	sched_getaffinity(0, sizeof(saved_cpus), &saved_cpus);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	if (!read_str(path, list, sizeof(list))) {
		parse_cpulist(list, &cpus);
		if (CPU_COUNT(&cpus))
			sched_setaffinity(0, sizeof(cpus), &cpus);
	}
	syscall(SYS_set_mempolicy, MPOL_BIND, &mask, sizeof(mask) * 8);
}

static void unbind_node(void)
{
	syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0);
	sched_setaffinity(0, sizeof(saved_cpus), &saved_cpus);
}

enum steer_mode { STEER_ANY, STEER_ALL, STEER_LOWEST };

/*
 * Fault 256-page chunks of a big region, allocating on @node, until a chunk lies
 * where the trigger reaches, [lo, hi): with ANY of its pages, with ALL of them,
 * or (LOWEST) the lowest of the chunks found entirely inside once LOW_ENOUGH of
 * them were seen.  Keep that chunk as buf, unmap the rest.  0 or -1.
 */
static int steer(int node, uint64_t lo, uint64_t hi, enum steer_mode mode)
{
	char *region, *best = NULL;
	uint64_t p[NPAGES], top, best_top = UINT64_MAX, plo;
	size_t off, seen = 0;
	int i, in;

	region = mmap(NULL, STEER_MAX, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		return -1;
	madvise(region, STEER_MAX, MADV_NOHUGEPAGE);
	bind_node(node);
	for (off = 0; off < STEER_MAX; off += CHUNK) {
		for (i = 0; i < NPAGES; i++)
			region[off + i * PAGE] = 1;
		read_pfns(region + off, NPAGES, p);
		in = pages_in(p, lo, hi);
		if (mode == STEER_ANY ? !in : in < NPAGES)
			continue;
		pfn_span(p, &plo, &top);
		if (top < best_top) {
			best = region + off;
			best_top = top;
		}
		if (mode != STEER_LOWEST)
			break;
		seen += CHUNK;
		if (seen >= LOW_ENOUGH)
			break;
	}
	unbind_node();
	steer_faulted = off < STEER_MAX ? off + CHUNK : STEER_MAX;
	if (!best) {
		munmap(region, STEER_MAX);
		return -1;
	}
	if (best > region)
		munmap(region, best - region);
	if (best + CHUNK < region + STEER_MAX)
		munmap(best + CHUNK, region + STEER_MAX - (best + CHUNK));
	buf = best;
	return 0;
}

/* A plain buffer, wherever the allocator puts it. */
static int plain_buffer(void)
{
	int i;

	buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || madvise(buf, CHUNK, MADV_NOHUGEPAGE))
		return -1;
	for (i = 0; i < NPAGES; i++)
		buf[i * PAGE] = 1;
	return 0;
}

/* ---- where the triggers reach ---- */

static void keep_larger(struct zone_span *z, const struct zone_span *cur)
{
	if ((!strcmp(cur->name, "DMA32") || !strcmp(cur->name, "Normal")) &&
	    cur->spanned > z->spanned)
		*z = *cur;
}

/* The largest DMA32/Normal zone: compaction scans it from its low end. */
static int find_compact_zone(struct zone_span *z)
{
	struct zone_span cur = { .node = -1 }, next;
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	unsigned long v;

	memset(z, 0, sizeof(*z));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		memset(&next, 0, sizeof(next));
		if (sscanf(line, "Node %d, zone %15s", &next.node, next.name) == 2) {
			keep_larger(z, &cur);
			cur = next;
		} else if (sscanf(line, " spanned %lu", &v) == 1) {
			cur.spanned = v;
		} else if (sscanf(line, " start_pfn: %lu", &v) == 1) {
			cur.start = v;
		}
	}
	keep_larger(z, &cur);
	fclose(f);
	return z->spanned ? 0 : -1;
}

static int has_reserved_pages(uint64_t lo, uint64_t hi)
{
	int fd = open("/proc/kpageflags", O_RDONLY);
	uint64_t f[512], p;
	size_t i, n;

	if (fd < 0)
		return 1;
	for (p = lo; p < hi; p += n) {
		n = hi - p < 512 ? hi - p : 512;
		if (pread(fd, f, n * 8, p * 8) != (ssize_t)(n * 8))
			break;
		for (i = 0; i < n; i++)
			if (f[i] & (1ULL << KPF_RESERVED))
				break;
		if (i < n)
			break;
	}
	close(fd);
	return p < hi;
}

/* An online Movable block outside CMA and without reserved pages. */
static int find_offline_block(struct block *b)
{
	char path[128], s[64];
	struct dirent *d;
	DIR *dir = opendir(MEM_DIR);
	int nr, best = -1;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "memory%d", &nr) != 1 || (best >= 0 && nr > best))
			continue;
		snprintf(path, sizeof(path), MEM_DIR "/memory%d/state", nr);
		if (read_str(path, s, sizeof(s)) || strcmp(s, "online"))
			continue;
		snprintf(path, sizeof(path), MEM_DIR "/memory%d/valid_zones", nr);
		if (read_str(path, s, sizeof(s)) || strcmp(s, "Movable"))
			continue;
		b->lo = (uint64_t)nr * block_pages;
		b->hi = b->lo + block_pages;
		if (cma_count > 0 && b->lo < (uint64_t)(cma_base + cma_count) &&
		    b->hi > (uint64_t)cma_base)
			continue;
		if (has_reserved_pages(b->lo, b->hi))
			continue;
		best = nr;
	}
	closedir(dir);
	if (best < 0)
		return -1;
	b->nr = best;
	b->lo = (uint64_t)best * block_pages;
	b->hi = b->lo + block_pages;
	b->node = node_of_pfn(b->lo);
	return 0;
}

/* ---- pinning and checking ---- */

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void fill(void)
{
	int i;

	for (i = 0; i < NPAGES; i++) {
		memset(buf + i * PAGE, (char)i, PAGE - 1);
		buf[i * PAGE + PAGE - 1] = (char)~i;
	}
}

static int mapping_intact(void)
{
	int i;

	for (i = 0; i < NPAGES; i++)
		if (buf[i * PAGE] != (char)i || buf[i * PAGE + PAGE / 2] != (char)i ||
		    buf[i * PAGE + PAGE - 1] != (char)~i)
			return 0;
	return 1;
}

/* Read the pages through the pin and compare them with the mapping. */
static int pin_intact(int owned)
{
	char *copy = malloc(CHUNK);
	struct pin_owned_test o = { .addr = (uintptr_t)copy };
	uint64_t arg = (uintptr_t)copy;
	int ok;

	if (!copy)
		return 0;
	if (owned ? ioctl(gup_fd, PIN_OWNED_TEST_READ, &o) :
		    ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &arg))
		ok = 0;
	else
		ok = !memcmp(copy, buf, CHUNK);
	free(copy);
	return ok;
}

/* Do the owner's pins point where the process's page tables do? */
static int owner_repointed(void)
{
	struct pin_owned_test o = { 0 };
	uint64_t theirs[NPAGES];

	o.addr = (uintptr_t)theirs;
	if (ioctl(gup_fd, PIN_OWNED_TEST_PFNS, &o))
		return 0;
	changed_pfns();
	return !memcmp(theirs, pfn, sizeof(theirs));
}

static void owner_status(struct pin_owned_test *st)
{
	memset(st, 0, sizeof(*st));
	ioctl(gup_fd, PIN_OWNED_TEST_STATUS, st);
}

static struct pin_owned_test st_before;

/* Fill buf, pin it, and say where it is and what pinning moved. */
static int pin(int owned, struct result *r)
{
	struct pin_longterm_test p = { .addr = (uintptr_t)buf, .size = CHUNK,
				       .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	struct pin_owned_test o = { .addr = (uintptr_t)buf, .size = CHUNK,
				    .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE |
					     PIN_OWNED_TEST_FLAG_BOUNDED };
	uint64_t lo, hi;
	double t;
	int ret, moved;

	fill();
	read_pfns(buf, NPAGES, pfn);
	pfn_span(pfn, &lo, &hi);
	printf("   buffer: 256 pages, pattern-filled, PFNs %#llx-%#llx (node %d).\n",
	       (unsigned long long)lo, (unsigned long long)hi, node_of_pfn(lo));
	owner_status(&st_before);
	t = now_us();
	ret = owned ? ioctl(gup_fd, PIN_OWNED_TEST_START, &o) :
		      ioctl(gup_fd, PIN_LONGTERM_TEST_START, &p);
	t = now_us() - t;
	if (ret) {
		printf("   pinning failed: %s\n", strerror(errno));
		return -1;
	}
	moved = changed_pfns();
	r->pinned += NPAGES;
	r->pin_moved += moved;
	printf("   pinned %s in %.0f us; %d of 256 pages got a new PFN while pinning.\n",
	       owned ? "by the owner" : "without an owner", t, moved);
	return 0;
}

/* Check the contents both ways, report the owner's work, unpin, unmap. */
static void unpin(int owned, struct result *r)
{
	struct pin_owned_test o = { 0 }, st;
	int via_map = mapping_intact(), via_pin = pin_intact(owned);
	int repointed;

	printf("   contents intact through the mapping: %s, through the pin: %s.\n",
	       via_map ? "yes" : "NO", via_pin ? "yes" : "NO");
	r->contents &= via_map && via_pin;
	if (owned) {
		repointed = owner_repointed();
		owner_status(&st);
		printf("   the owner was asked %llu times to step aside and repointed %llu pins;\n"
		       "   its pins match the page tables: %s.\n",
		       (unsigned long long)(st.nr_isolate - st_before.nr_isolate),
		       (unsigned long long)(st.nr_migrate - st_before.nr_migrate),
		       repointed ? "yes" : "NO");
		r->repointed &= repointed;
		ioctl(gup_fd, PIN_OWNED_TEST_STOP, &o);
	} else {
		ioctl(gup_fd, PIN_LONGTERM_TEST_STOP);
	}
	munmap(buf, CHUNK);
	buf = NULL;
}

/* ---- the four triggers ---- */

static void try_move_pages(int owned, struct result *r)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES], i, refused = 0, err = 0, why = 0;
	long ret;

	printf("\n 1. move_pages(2)\n");
	if (plain_buffer() || pin(owned, r))
		return;
	for (i = 0; i < NPAGES; i++)
		pages[i] = buf + i * PAGE;
	syscall(SYS_move_pages, 0, NPAGES, pages, NULL, status, 0);
	for (i = 0; i < NPAGES; i++)
		nodes[i] = status[i] == 0 ? 1 : 0;	/* the other node */
	ret = syscall(SYS_move_pages, 0, NPAGES, pages, nodes, status, 0);
	if (ret < 0)
		err = errno;
	for (i = 0; i < NPAGES; i++) {
		refused += status[i] != nodes[i];
		if (status[i] < 0 && !why)
			why = -status[i];
	}
	r->mp_moved = changed_pfns();
	printf("   move_pages(2), every page to the other node: %d got a new PFN, %d did not move",
	       r->mp_moved, refused);
	if (err)
		printf(" (call failed: %s)", strerror(err));
	else if (why)
		printf(" (status: %s)", strerror(why));
	else if (ret > 0)
		printf(" (the call reported %ld pages it could not migrate)", ret);
	printf(".\n");
	unpin(owned, r);
}

static void try_compaction(int owned, struct result *r, const struct zone_span *z)
{
	uint64_t lo, hi;

	printf("\n 2. compaction (node %d %s, PFNs %#llx-%#llx)\n", z->node, z->name,
	       (unsigned long long)z->start, (unsigned long long)(z->start + z->spanned - 1));
	if (steer(z->node, z->start, z->start + z->spanned, STEER_LOWEST)) {
		printf("   no chunk landed in that zone after faulting %zu MiB; skipped.\n",
		       steer_faulted >> 20);
		return;
	}
	read_pfns(buf, NPAGES, pfn);
	pfn_span(pfn, &lo, &hi);
	printf("   kept the lowest chunk seen in %zu MiB faulted: it ends %llu%% into the zone.\n",
	       steer_faulted >> 20,
	       (unsigned long long)((hi - z->start) * 100 / z->spanned));
	if (pin(owned, r))
		return;
	write_file("/proc/sys/vm/compact_memory", "1");
	r->compact_moved = changed_pfns();
	printf("   full compaction (compact_memory): %d of 256 pages got a new PFN.\n",
	       r->compact_moved);
	unpin(owned, r);
}

static void try_cma(int owned, struct result *r)
{
	uint64_t lo = cma_base, hi = cma_base + cma_count;
	char n[32];
	long err;

	printf("\n 3. CMA (PFNs %#llx-%#llx, %ld MiB, node %d)\n", (unsigned long long)lo,
	       (unsigned long long)(hi - 1), cma_count * (long)PAGE >> 20, node_of_pfn(lo));
	if (steer(node_of_pfn(lo), lo, hi, STEER_ANY)) {
		printf("   no chunk had pages in the CMA area after faulting %zu MiB; skipped.\n",
		       steer_faulted >> 20);
		return;
	}
	read_pfns(buf, NPAGES, pfn);
	printf("   kept a chunk with %d pages inside the area (found after faulting %zu MiB).\n",
	       pages_in(pfn, lo, hi), steer_faulted >> 20);
	if (pin(owned, r))
		return;
	r->cma_in = pages_in(pfn, lo, hi);
	printf("   pinned pages inside the CMA area now: %d%s.\n", r->cma_in,
	       !owned && !r->cma_in ? " (pinning migrated them out of CMA)" : "");
	snprintf(n, sizeof(n), "%ld", cma_count);
	err = write_file(CMA_DIR "/alloc", n);
	r->cma_alloc = !err;
	if (!err)
		write_file(CMA_DIR "/free", n);
	printf("   allocating all %ld pages of the CMA area: %s%s; %d pinned pages moved.\n",
	       cma_count, err ? "FAILED: " : "succeeded (freed again)",
	       err ? strerror((int)-err) : "", changed_pfns());
	unpin(owned, r);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void try_offline(int owned, struct result *r, const struct block *b)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	char path[96];
	long err;

	printf("\n 4. offlining memory%d (PFNs %#llx-%#llx, node %d, Movable, no reserved pages)\n",
	       b->nr, (unsigned long long)b->lo, (unsigned long long)(b->hi - 1), b->node);
	if (steer(b->node, b->lo, b->hi, STEER_ALL)) {
		printf("   no chunk landed entirely in memory%d after faulting %zu MiB; skipped.\n",
		       b->nr, steer_faulted >> 20);
		return;
	}
	printf("   kept a chunk lying entirely in memory%d (found after faulting %zu MiB).\n",
	       b->nr, steer_faulted >> 20);
	if (pin(owned, r))
		return;
	r->off_in = pages_in(pfn, b->lo, b->hi);
	printf("   pinned pages inside memory%d now: %d%s.\n", b->nr, r->off_in,
	       !owned && !r->off_in ?
	       " (pinning migrated them out of ZONE_MOVABLE: the cost was paid at pin time)" : "");
	snprintf(path, sizeof(path), MEM_DIR "/memory%d/state", b->nr);
	sigaction(SIGALRM, &sa, NULL);
	alarm(10);
	err = write_file(path, "offline");
	alarm(0);
	if (!err) {
		snprintf(r->off, sizeof(r->off), "ok");
		printf("   offlining memory%d: succeeded; onlining it again: %s.\n", b->nr,
		       write_file(path, "online_movable") ? "FAILED" : "done");
	} else if (err == -EINTR) {
		snprintf(r->off, sizeof(r->off), "stuck");
		printf("   offlining memory%d: still retrying after 10 s, stopped by a signal.\n",
		       b->nr);
	} else {
		snprintf(r->off, sizeof(r->off), "%s", err == -EBUSY ? "EBUSY" : "failed");
		printf("   offlining memory%d: refused: %s.\n", b->nr, strerror((int)-err));
	}
	printf("   offlining gave %d pinned pages a new PFN.\n", changed_pfns());
	unpin(owned, r);
}

/* ---- the scenario and the table ---- */

static void scenario(int owned, struct result *r, const struct zone_span *z,
		     const struct block *b, int have_zone, int have_block)
{
	memset(r, 0, sizeof(*r));
	r->mp_moved = -1;
	r->compact_moved = -1;
	r->cma_in = -1;
	r->cma_alloc = -1;
	r->off_in = -1;
	snprintf(r->off, sizeof(r->off), "n/a");
	r->contents = 1;
	r->repointed = 1;

	try_move_pages(owned, r);
	if (have_zone)
		try_compaction(owned, r, z);
	if (cma_count > 0)
		try_cma(owned, r);
	if (have_block)
		try_offline(owned, r, b);
}

static const char *num(char *s, int v)
{
	if (v < 0)
		return "n/a";
	sprintf(s, "%d", v);
	return s;
}

static void row(const char *label, const char *a, const char *b)
{
	printf("%-40s %14s %14s\n", label, a, b);
}

static void table(const struct result *a, const struct result *b, const struct block *blk)
{
	char s1[32], s2[32], label[64];

	printf("\n");
	row("", "unowned pin", "owned pin");
	snprintf(s1, sizeof(s1), "%d of %d", a->pin_moved, a->pinned);
	snprintf(s2, sizeof(s2), "%d of %d", b->pin_moved, b->pinned);
	row("pages migrated when pinning", s1, s2);
	row("moved by move_pages(2), of 256", num(s1, a->mp_moved), num(s2, b->mp_moved));
	row("moved by compaction, of 256", num(s1, a->compact_moved), num(s2, b->compact_moved));
	snprintf(s1, sizeof(s1), "%d / %s", a->cma_in, a->cma_alloc ? "ok" : "FAILED");
	snprintf(s2, sizeof(s2), "%d / %s", b->cma_in, b->cma_alloc ? "ok" : "FAILED");
	row("pinned pages in CMA / CMA allocation", a->cma_in < 0 ? "n/a" : s1,
	    b->cma_in < 0 ? "n/a" : s2);
	snprintf(label, sizeof(label), "offline memory%d (pinned pages in it)", blk->nr);
	snprintf(s1, sizeof(s1), "%s (%d)", a->off, a->off_in);
	snprintf(s2, sizeof(s2), "%s (%d)", b->off, b->off_in);
	row(label, a->off_in < 0 ? "n/a" : s1, b->off_in < 0 ? "n/a" : s2);
	row("contents intact", a->contents ? "yes" : "NO", b->contents ? "yes" : "NO");
}

int main(void)
{
	struct result today, owned;
	struct zone_span zone;
	struct block blk = { .nr = -1 };
	int have_zone, have_block;

	setvbuf(stdout, NULL, _IOLBF, 0);
	gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (gup_fd < 0) {
		printf("cannot open /sys/kernel/debug/gup_test (%s): CONFIG_GUP_TEST missing?\n",
		       strerror(errno));
		return 4;
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0) {
		printf("cannot open /proc/self/pagemap: %s\n", strerror(errno));
		return 4;
	}
	block_pages = read_long(MEM_DIR "/block_size_bytes", 16) / PAGE;
	if ((long)block_pages <= 0)
		block_pages = (128UL << 20) / PAGE;
	cma_base = read_long(CMA_DIR "/base_pfn", 0);
	cma_count = read_long(CMA_DIR "/count", 0);
	if (cma_base < 0)
		cma_count = 0;
	have_zone = !find_compact_zone(&zone);
	have_block = !find_offline_block(&blk);

	printf("== pinpage demo: pages pinned long term, without and with an owner ==\n");
	printf("Each trigger gets a fresh 256-page buffer, steered to where it reaches.\n");
	if (!have_zone)
		printf("(no DMA32/Normal zone found: compaction is skipped)\n");
	if (cma_count <= 0)
		printf("(no CMA area in debugfs: the CMA trigger is skipped)\n");
	if (!have_block)
		printf("(no online Movable block without reserved pages: offlining is skipped)\n");

	printf("\nA. Pinned without an owner (PIN_LONGTERM_TEST_START, what Linux does today)\n");
	scenario(0, &today, &zone, &blk, have_zone, have_block);
	printf("\nB. Pinned by a pinpage owner with bounded isolation (PIN_OWNED_TEST_START)\n");
	scenario(1, &owned, &zone, &blk, have_zone, have_block);

	table(&today, &owned, &blk);
	return today.contents && owned.contents && owned.repointed ? 0 : 1;
}
