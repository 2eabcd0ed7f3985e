// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage_iouring_bench: what making io_uring registered buffers pinpage owners
 * costs and what it buys.  Measures and prints, never judges a number: it exits
 * nonzero only when a step did not run (memory could not be placed, a
 * registration or an I/O failed, a data check found different bytes).
 *
 * With pinpage, every measurement runs twice, vm.pinpage_migrate=0 first, then
 * 1, each from a fresh state (buffers unregistered, memory unmapped, caches
 * dropped, memory compacted).  On a kernel without pinpage (no
 * /proc/sys/vm/pinpage_migrate) each runs once, labelled "stock".
 *
 *  a. THP share: 350 registered 4 KiB buffers, each in its own 2 MiB frame of
 *     the kernel zones, the rest of those frames free and every other page of
 *     memory held (mlocked, which compaction leaves alone with
 *     compact_unevictable_allowed=0), free 2 MiB blocks that owe nothing to
 *     the buffers taken beforehand; after compact_memory, the share of a
 *     500 MiB MADV_HUGEPAGE mapping that THPs back, and how many buffer
 *     pages moved.
 *  b. Registration time of 100 and 400 MiB (1 MiB iovecs, small pages) faulted
 *     in ZONE_MOVABLE or in a kernel zone, and how many pages were migrated
 *     out of ZONE_MOVABLE to pin them; each in a child process so that an OOM
 *     kill is reported, not fatal.
 *  c. READ_FIXED throughput without migration: 4 KiB reads, queue depth 16,
 *     64 buffers, from a tmpfs file and with O_DIRECT from a zram device.
 *  d. move_pages(2) of 64 buffers between nodes 0 and 1 for 5 s while another
 *     thread runs WRITE_FIXED/READ_FIXED on them and checks the data.
 *  e. move_pages(2) cost per page, 2048 pages: gup_test owner and io_uring
 *     buffers against unpinned pages.
 *
 * Output: "# " lines as it goes, then a table, one row per figure:
 * "<id> <what> <value per pass>"; values never contain blanks ("-": none).
 * Absolute times under QEMU TCG mean little; compare within a row or column.
 *
 * Usage: pinpage_iouring_bench [-n ios] [letters]    (default: -n 200000 abcde)
 * Needs root, two NUMA nodes and movablecore= (see groups/bench.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <liburing.h>
#include <numa.h>
#include <numaif.h>
#include "mm/gup_test.h"

#define PG		4096UL
#define MIB		(1UL << 20)
#define FRAME_SHIFT	9		/* 2 MiB frames of 4 KiB pages */
#define FRAME		(PG << FRAME_SHIFT)
#define RING_DEPTH	64
#define SWITCH_PATH	"/proc/sys/vm/pinpage_migrate"
#define UNEVICTABLE_PATH "/proc/sys/vm/compact_unevictable_allowed"
#define THP_PATH	"/sys/kernel/mm/transparent_hugepage"
#define CHECK_FILE	"/tmp/pinpage_bench.check"
#define DATA_FILE	"/tmp/pinpage_bench.data"

static bool have_pinpage;	/* the kernel has vm.pinpage_migrate */
static int nr_passes;		/* 2 with pinpage (switch 0, then 1), 1 on stock */
static int pagemap_fd = -1;
static bool failed;		/* a step did not run: exit 1 */
static long c_ios = 200000;

/* --- the table --- */

static const struct {
	const char *id, *what;
} row_names[] = {
	{ "a1", "a. THP share of a 500 MiB MADV_HUGEPAGE mapping, %" },
	{ "a2", "a. buffer pages that changed PFN, of those registered" },
	{ "a3", "a. free 2 MiB blocks after compact_memory" },
	{ "a4", "a. kernel-zone 2 MiB frames held full, without a buffer" },
	{ "b1", "b. register 100 MiB from a kernel zone, ms per MiB" },
	{ "b2", "b. register 100 MiB from ZONE_MOVABLE, ms per MiB" },
	{ "b3", "b. 100 MiB: ZONE_MOVABLE / kernel zone" },
	{ "b4", "b. register 400 MiB from a kernel zone, ms per MiB" },
	{ "b5", "b. register 400 MiB from ZONE_MOVABLE, ms per MiB" },
	{ "b6", "b. 400 MiB: ZONE_MOVABLE / kernel zone" },
	{ "b7", "b. unregister 400 MiB (kernel zone), ms per MiB" },
	{ "b8", "b. pages migrated registering 400 MiB of ZONE_MOVABLE, of 102400" },
	{ "c1", "c. READ_FIXED 4 KiB, tmpfs, QD 16: I/Os per second" },
	{ "c2", "c. tmpfs: migrate=1 / migrate=0" },
	{ "c3", "c. READ_FIXED 4 KiB, O_DIRECT zram, QD 16: I/Os per second" },
	{ "c4", "c. zram: migrate=1 / migrate=0" },
	{ "d1", "d. pages moved per second, 64 buffers under I/O" },
	{ "d2", "d. page moves that did not happen, of those asked" },
	{ "d3", "d. isolate refusals (pinpage_isolate_refused delta)" },
	{ "d4", "d. fixed-buffer I/Os per second during the moves" },
	{ "d5", "d. rounds of 64 writes + 64 reads whose data checked out" },
	{ "e1", "e. move_pages, 2048 unpinned pages: us per page" },
	{ "e2", "e. move_pages, 2048 pages of a gup_test owner: us per page" },
	{ "e3", "e. gup_test owner / unpinned" },
	{ "e4", "e. move_pages, 64 io_uring buffers of 32 pages: us per page" },
	{ "e5", "e. io_uring buffers / unpinned" },
	{ "e6", "e. pages moved per call, of 2048: unpinned" },
	{ "e7", "e. pages moved per call, of 2048: gup_test owner" },
	{ "e8", "e. pages moved per call, of 2048: io_uring buffers" },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_ROWS		ARRAY_SIZE(row_names)
#define VAL_LEN		24

static char row_val[NR_ROWS][2][VAL_LEN];

static const char *pass_name(int pass)
{
	if (!have_pinpage)
		return "stock";
	return pass ? "migrate=1" : "migrate=0";
}

/* Set row @id's value for @pass; blanks become '_' so that a value is one word. */
static void put(const char *id, int pass, const char *fmt, ...)
{
	unsigned int i;
	va_list ap;
	char *p;

	for (i = 0; i < NR_ROWS; i++) {
		if (strcmp(row_names[i].id, id))
			continue;
		va_start(ap, fmt);
		vsnprintf(row_val[i][pass], VAL_LEN, fmt, ap);
		va_end(ap);
		for (p = row_val[i][pass]; *p; p++)
			if (*p == ' ' || *p == '\t')
				*p = '_';
		return;
	}
}

static void print_table(void)
{
	unsigned int i;
	int pass;

	printf("\n%-3s %-62s", "id", "measurement");
	for (pass = 0; pass < nr_passes; pass++)
		printf(" %12s", pass_name(pass));
	printf("\n");
	for (i = 0; i < NR_ROWS; i++) {
		printf("%-3s %-62s", row_names[i].id, row_names[i].what);
		for (pass = 0; pass < nr_passes; pass++)
			printf(" %12s", row_val[i][pass][0] ? row_val[i][pass] : "-");
		printf("\n");
	}
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* A step that did not run: say so, and exit 1 in the end. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("# FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed = true;
}

static const char *errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}

/* --- small helpers --- */

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

/* A /proc/vmstat counter, or -1 if the kernel has none by that name. */
static long long vmstat(const char *key)
{
	char line[128], k[64];
	long long v, ret = -1;
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* A /proc/meminfo value in KiB ("MemFree:"), or 0. */
static long meminfo_kb(const char *key)
{
	char line[128];
	long kb = 0;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			kb = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Between passes: nothing of the last one left in the caches or the layout. */
static void fresh_state(void)
{
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	write_file("/proc/sys/vm/compact_memory", "1");
}

static int set_pass(int pass)
{
	int ret;

	if (!have_pinpage)
		return 0;
	ret = write_file(SWITCH_PATH, pass ? "1" : "0");
	if (ret)
		fail("cannot write %d to %s: %s", pass, SWITCH_PATH, strerror(-ret));
	return ret;
}

/* The bracketed choice of a sysfs selection such as "always [madvise] never". */
static int read_choice(const char *path, char *out, size_t len)
{
	char buf[256], *l, *r;

	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r || (size_t)(r - l) >= len)
		return -1;
	memcpy(out, l + 1, r - l - 1);
	out[r - l - 1] = 0;
	return 0;
}

static cpu_set_t all_cpus;	/* the affinity we started with */

/* Run on @cpu if there is such a CPU (the VM has one per node). */
static void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (!CPU_ISSET(cpu, &all_cpus))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void unpin_cpu(void)
{
	pthread_setaffinity_np(pthread_self(), sizeof(all_cpus), &all_cpus);
}

/* --- patterns: one xorshift stream per seed --- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31)) | 1;
}

static void fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p, x = mix(seed);
	size_t i;

	for (i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static bool check(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	uint64_t x = mix(seed);
	size_t i;

	for (i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (w[i] != x)
			return false;
	}
	return true;
}

/* --- physical placement: pagemap and zones --- */

enum zkind { ZK_NONE, ZK_DMA, ZK_KERNEL, ZK_MOVABLE };

struct zone {
	int node;
	char name[16];
	unsigned long start, spanned, free, high;	/* pages */
};

#define MAX_ZONES	16
static struct zone zones[MAX_ZONES];
static int nr_zones;
static unsigned long max_pfn;

/* The populated zones of /proc/zoneinfo. */
static void read_zones(void)
{
	struct zone cur = { .node = -1 };
	char line[256], name[16];
	unsigned long val;
	int node;
	FILE *f;

	nr_zones = 0;
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && nr_zones < MAX_ZONES) {
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			cur = (struct zone){ .node = node };
			snprintf(cur.name, sizeof(cur.name), "%s", name);
		} else if (sscanf(line, " pages free %lu", &val) == 1) {
			cur.free = val;
		} else if (sscanf(line, " high %lu", &val) == 1) {
			cur.high = val;
		} else if (sscanf(line, " spanned %lu", &val) == 1) {
			cur.spanned = val;
		} else if (sscanf(line, " start_pfn: %lu", &val) == 1) {
			cur.start = val;
			if (cur.node >= 0 && cur.spanned) {
				zones[nr_zones++] = cur;
				if (val + cur.spanned > max_pfn)
					max_pfn = val + cur.spanned;
			}
		}
	}
	fclose(f);
}

/* Kernel zones are DMA32 and Normal: where unbounded long-term pins live. */
static enum zkind zone_kind(uint64_t pfn)
{
	int i;

	if (!pfn)
		return ZK_NONE;
	for (i = 0; i < nr_zones; i++) {
		if (pfn < zones[i].start || pfn >= zones[i].start + zones[i].spanned)
			continue;
		if (!strcmp(zones[i].name, "Movable"))
			return ZK_MOVABLE;
		if (!strcmp(zones[i].name, "DMA32") || !strcmp(zones[i].name, "Normal"))
			return ZK_KERNEL;
		return ZK_DMA;
	}
	return ZK_NONE;
}

/*
 * How low MemFree may go while we fault memory that cannot be reclaimed (no
 * swap): the zones' high watermarks and @extra_kb.  Below the min watermarks
 * (about 20 MiB per kernel zone in the 2 GiB guest) the OOM killer comes.
 */
static long free_floor_kb(long extra_kb)
{
	long kb = extra_kb;
	int i;

	for (i = 0; i < nr_zones; i++)
		kb += zones[i].high * (PG / 1024);
	return kb;
}

/* PFNs of the @n pages from @addr, 0 for a page not present.  0 or -errno. */
static int pfns_of(const void *addr, unsigned long n, uint64_t *pfn)
{
	off_t off = (uintptr_t)addr / PG * sizeof(uint64_t);
	size_t want = n * sizeof(uint64_t), done = 0;
	unsigned long i;
	ssize_t r;

	while (done < want) {
		r = pread(pagemap_fd, (char *)pfn + done, want - done, off + done);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += r;
	}
	for (i = 0; i < n; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ULL << 55) - 1) : 0;
	return 0;
}

static char *map_anon(size_t size, int advice)
{
	char *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (advice && madvise(p, size, advice)) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

/* Fault @p on @node only (set_mempolicy(MPOL_BIND)), with the pattern of @seed per @piece. */
static int fill_on_node(char *p, size_t size, size_t piece, uint64_t seed, int node)
{
	unsigned long mask = 1UL << node;
	size_t off;

	if (set_mempolicy(MPOL_BIND, &mask, sizeof(mask) * 8))
		return -errno;
	for (off = 0; off < size; off += piece)
		fill(p + off, piece, seed + off / piece);
	set_mempolicy(MPOL_DEFAULT, NULL, 0);
	return 0;
}

/* --- io_uring helpers --- */

/*
 * WRITE_FIXED (@write) or READ_FIXED of every buffer of @iov, buffer i at offset
 * i * its length in @fd, RING_DEPTH at a time; each must move its whole length.
 * 0 or -errno.
 */
static int rw_fixed_all(struct io_uring *ring, bool write, int fd,
			const struct iovec *iov, unsigned int nr)
{
	unsigned int i = 0, batch, j;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	off_t off;
	int ret, err = 0;

	while (i < nr) {
		batch = nr - i < RING_DEPTH ? nr - i : RING_DEPTH;
		for (j = 0; j < batch; j++) {
			sqe = io_uring_get_sqe(ring);
			if (!sqe)
				return -EBUSY;
			off = (off_t)(i + j) * iov[0].iov_len;
			if (write)
				io_uring_prep_write_fixed(sqe, fd, iov[i + j].iov_base,
							  iov[i + j].iov_len, off, i + j);
			else
				io_uring_prep_read_fixed(sqe, fd, iov[i + j].iov_base,
							 iov[i + j].iov_len, off, i + j);
			io_uring_sqe_set_data64(sqe, i + j);
		}
		ret = io_uring_submit_and_wait(ring, batch);
		if (ret < 0)
			return ret;
		if ((unsigned int)ret != batch)
			return -EIO;
		for (j = 0; j < batch; j++) {
			ret = io_uring_wait_cqe(ring, &cqe);
			if (ret)
				return ret;
			if (!err && cqe->res != (int)iov[cqe->user_data].iov_len)
				err = cqe->res < 0 ? cqe->res : -EIO;
			io_uring_cqe_seen(ring, cqe);
		}
		if (err)
			return err;
		i += batch;
	}
	return 0;
}

/*
 * What io_uring sees in its registered buffers: write each to a tmpfs file with
 * WRITE_FIXED and compare what landed there with buffer i's pattern @seed + i.
 * The number of buffers that differ, or -errno.
 */
static long check_fixed_view(struct io_uring *ring, const struct iovec *iov,
			     unsigned int nr, uint64_t seed)
{
	size_t len = iov[0].iov_len;
	unsigned int i;
	long bad = 0;
	char *tmp;
	int fd, ret;

	tmp = malloc(len);
	fd = open(CHECK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!tmp || fd < 0) {
		ret = -errno;
		free(tmp);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ret = rw_fixed_all(ring, true, fd, iov, nr);
	for (i = 0; !ret && i < nr; i++) {
		if (pread(fd, tmp, len, (off_t)i * len) != (ssize_t)len)
			ret = -EIO;
		else if (!check(tmp, len, seed + i))
			bad++;
	}
	close(fd);
	unlink(CHECK_FILE);
	free(tmp);
	return ret ? ret : bad;
}

/* --- a: THP share with scattered registered buffers --- */

#define A_BUFS		350
#define A_THP_SIZE	(500UL * MIB)
#define A_MARGIN_KB	(16L << 10)	/* fault until MemFree is this much above the floor */
#define A_SOAK_MAX	(512UL * MIB)

enum { FR_UNSEEN, FR_BUFFER, FR_HELD };

struct scatter {
	char *region;			/* every page faulted, now with holes */
	size_t region_size;
	char *buf;			/* the buffers, one page each */
	unsigned long nr;		/* buffers placed */
	unsigned long held;		/* kernel-zone frames kept full */
	char *soak[2];			/* THPs on the blocks that were free anyway */
	unsigned long soaked[2];
	uint64_t pfn[A_BUFS];
	struct iovec iov[A_BUFS];
};

/*
 * Free 2 MiB blocks that owe nothing to moving a buffer page would give THPs
 * all the same: the zones' reserve below their watermarks, which stays free
 * while we fault, and what compaction makes of memory that is neither pinned
 * nor mlocked (the rootfs, stacks).  Take them (@i: first or second time):
 * THP faults without compaction (defrag=never) until one falls back to a
 * small page, then mlock them.  0 or -1.
 */
static int a_soak(struct scatter *s, int i)
{
	long long fallback;
	char *p;
	size_t off;

	if (vmstat("thp_fault_fallback") < 0) {
		errno = ENOENT;
		return -1;
	}
	p = map_anon(A_SOAK_MAX + FRAME, 0);
	if (!p)
		return -1;
	s->soak[i] = p;
	if (write_file(THP_PATH "/defrag", "never"))
		return -1;
	off = -(uintptr_t)p & (FRAME - 1);
	if (madvise(p + off, A_SOAK_MAX, MADV_HUGEPAGE))
		return -1;
	for (; off + FRAME <= A_SOAK_MAX; off += FRAME) {
		fallback = vmstat("thp_fault_fallback");
		p[off] = 1;
		if (vmstat("thp_fault_fallback") != fallback)
			break;
		s->soaked[i]++;
	}
	/* No khugepaged collapse into the range, no compaction out of it. */
	if (madvise(p, A_SOAK_MAX + FRAME, MADV_NOHUGEPAGE) || mlock(p, off + PG) ||
	    write_file(THP_PATH "/defrag", "madvise"))
		return -1;
	return 0;
}

/* munmap pages [from, to) of @base. */
static void unmap_pages(char *base, unsigned long from, unsigned long to)
{
	if (to > from)
		munmap(base + from * PG, (to - from) * PG);
}

/*
 * Fault and mlock nearly all free memory, take the first page seen in each of
 * A_BUFS 2 MiB frames of the kernel zones as a buffer (mremap() keeps the
 * physical page) and free the rest of those frames.  Every other page stays
 * mapped and mlocked: with compact_unevictable_allowed=0 compaction leaves
 * them alone, so the only free memory is the buffers' frames (a_soak() takes
 * the free 2 MiB blocks left over) and the only way to a huge page is to move
 * a buffer page.  0 or -1.
 */
static int a_place(struct scatter *s, uint64_t seed)
{
	unsigned long npages, i, f, run;
	unsigned char *frame = NULL;
	uint64_t *pfn = NULL;
	size_t off, j;
	int ret = -1;

	s->region_size = (size_t)meminfo_kb("MemTotal:") * 1024 / FRAME * FRAME;
	s->region = map_anon(s->region_size, MADV_NOHUGEPAGE);
	s->buf = mmap(NULL, A_BUFS * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!s->region || s->buf == MAP_FAILED) {
		fail("a: mmap: %s", strerror(errno));
		return -1;
	}
	for (off = 0; off < s->region_size; off += FRAME) {
		if (meminfo_kb("MemFree:") < free_floor_kb(A_MARGIN_KB))
			break;
		for (j = 0; j < FRAME; j += PG)
			s->region[off + j] = 1;
	}
	npages = off / PG;
	if (mlock(s->region, off)) {
		fail("a: mlock of %zu MiB: %s", off >> 20, strerror(errno));
		return -1;
	}
	pfn = malloc(npages * sizeof(*pfn));
	frame = calloc((max_pfn >> FRAME_SHIFT) + 1, 1);
	if (!pfn || !frame || pfns_of(s->region, npages, pfn)) {
		fail("a: reading %lu PFNs from pagemap", npages);
		goto out;
	}
	for (i = 0; i < npages; i++) {
		if (zone_kind(pfn[i]) != ZK_KERNEL || pfn[i] >= max_pfn)
			continue;
		f = pfn[i] >> FRAME_SHIFT;
		if (frame[f] != FR_UNSEEN)
			continue;
		if (s->nr == A_BUFS) {
			frame[f] = FR_HELD;
			s->held++;
			continue;
		}
		if (mremap(s->region + i * PG, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			   s->buf + s->nr * PG) == MAP_FAILED) {
			fail("a: mremap: %s", strerror(errno));
			goto out;
		}
		frame[f] = FR_BUFFER;
		pfn[i] = 0;		/* moved out of the region */
		s->nr++;
	}
	/* Free the rest of the buffers' frames. */
	for (run = i = 0; i < npages; i++) {
		bool free_it = zone_kind(pfn[i]) == ZK_KERNEL && pfn[i] < max_pfn &&
			       frame[pfn[i] >> FRAME_SHIFT] == FR_BUFFER;

		if (!free_it) {
			unmap_pages(s->region, run, i);
			run = i + 1;
		}
	}
	unmap_pages(s->region, run, npages);
	if (s->nr && munlock(s->buf, s->nr * PG)) {
		fail("a: munlock: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < s->nr; i++) {
		fill(s->buf + i * PG, PG, seed + i);
		s->iov[i] = (struct iovec){ s->buf + i * PG, PG };
	}
	note("a: faulted %zu MiB, %lu buffers in distinct 2 MiB kernel-zone frames, %lu frames held full",
	     off >> 20, s->nr, s->held);
	if (s->nr < A_BUFS)
		note("a: only %lu kernel-zone frames had room (a larger guest or smaller movablecore gives %d)",
		     s->nr, A_BUFS);
	ret = s->nr ? 0 : -1;
	if (ret)
		fail("a: no page landed in a kernel zone");
out:
	free(pfn);
	free(frame);
	/* After the frees: the arrays were faulted late, in whole blocks. */
	if (!ret && a_soak(s, 0)) {
		fail("a: taking the free 2 MiB blocks left over: %s", strerror(errno));
		ret = -1;
	}
	return ret;
}

/* Free blocks of 2 MiB and more in the kernel zones (@movable: in ZONE_MOVABLE), in 2 MiB units. */
static long free_frames(bool movable)
{
	char line[512], zname[16], *p, *end;
	long n, total = 0;
	int node, used, order;
	FILE *f;

	f = fopen("/proc/buddyinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %15s%n", &node, zname, &used) != 2)
			continue;
		if (movable ? strcmp(zname, "Movable") :
			      strcmp(zname, "DMA32") && strcmp(zname, "Normal"))
			continue;
		for (p = line + used, order = 0;; order++, p = end) {
			n = strtol(p, &end, 10);
			if (end == p)
				break;
			if (order >= FRAME_SHIFT)
				total += n << (order - FRAME_SHIFT);
		}
	}
	fclose(f);
	return total;
}

/* THPs mapped at the 2 MiB frames of [@p, @p + @len) in kernel zones and in ZONE_MOVABLE. */
static void thps_by_zone(const char *p, size_t len, unsigned long *kernel, unsigned long *movable)
{
	uint64_t pfn, flags;
	size_t off;
	int fd;

	*kernel = *movable = 0;
	fd = open("/proc/kpageflags", O_RDONLY);
	for (off = 0; fd >= 0 && off < len; off += FRAME) {
		if (pfns_of(p + off, 1, &pfn) || !pfn ||
		    pread(fd, &flags, sizeof(flags), pfn * sizeof(flags)) != sizeof(flags))
			continue;
		if (!(flags & (1ULL << 22)))	/* KPF_THP */
			continue;
		if (zone_kind(pfn) == ZK_MOVABLE)
			(*movable)++;
		else
			(*kernel)++;
	}
	if (fd >= 0)
		close(fd);
}

/* AnonHugePages of the mappings within [@start, @start + @len), in KiB (/proc/self/smaps). */
static long anon_huge_kb(const void *start, size_t len)
{
	unsigned long lo = (uintptr_t)start, hi = lo + len, a, b;
	long kb, total = 0;
	bool in = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
			in = a >= lo && b <= hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

static void a_pass(int pass)
{
	uint64_t seed = 0xa000 + pass * 1000, now[A_BUFS];
	struct scatter s = { 0 };
	unsigned long i, moved = 0, thp_kernel, thp_movable;
	long pre_k, pre_m, free_k, free_m;
	char *map = NULL, *thp;
	bool ring_up = false;
	struct io_uring ring;
	double t0, t_compact, t_touch;
	long kb, bad;
	size_t off;
	int ret;

	if (a_place(&s, seed))
		goto out;
	ret = io_uring_queue_init(RING_DEPTH, &ring, 0);
	if (ret) {
		fail("a: io_uring_queue_init: %s", strerror(-ret));
		goto out;
	}
	ring_up = true;
	ret = io_uring_register_buffers(&ring, s.iov, s.nr);
	if (ret) {
		fail("a: registering %lu buffers: %s", s.nr, strerror(-ret));
		goto out;
	}
	if (pfns_of(s.buf, s.nr, s.pfn)) {
		fail("a: pagemap of the buffers");
		goto out;
	}
	/* What compaction gets without moving a buffer page is no gain of the switch. */
	if (set_pass(0))
		goto out;
	write_file("/proc/sys/vm/compact_memory", "1");
	if (a_soak(&s, 1)) {
		fail("a: taking the free 2 MiB blocks compaction made: %s", strerror(errno));
		goto out;
	}
	if (set_pass(pass))
		goto out;
	note("a (%s): %lu free 2 MiB blocks taken after placing the buffers, %lu after compacting with the buffers pinned",
	     pass_name(pass), s.soaked[0], s.soaked[1]);

	pre_k = free_frames(false);
	pre_m = free_frames(true);
	t0 = now_ns();
	write_file("/proc/sys/vm/compact_memory", "1");
	t_compact = now_ns() - t0;
	free_k = free_frames(false);
	free_m = free_frames(true);

	map = map_anon(A_THP_SIZE + FRAME, 0);
	if (!map) {
		fail("a: mmap of the THP range: %s", strerror(errno));
		goto out;
	}
	thp = (char *)(((uintptr_t)map + FRAME - 1) & ~(FRAME - 1));
	if (madvise(thp, A_THP_SIZE, MADV_HUGEPAGE)) {
		fail("a: MADV_HUGEPAGE: %s", strerror(errno));
		goto out;
	}
	t0 = now_ns();
	for (off = 0; off < A_THP_SIZE; off += PG)
		thp[off] = 1;
	t_touch = now_ns() - t0;
	kb = anon_huge_kb(thp, A_THP_SIZE);
	thps_by_zone(thp, A_THP_SIZE, &thp_kernel, &thp_movable);
	if (kb < 0 || pfns_of(s.buf, s.nr, now)) {
		fail("a: reading smaps or pagemap");
		goto out;
	}
	for (i = 0; i < s.nr; i++)
		moved += now[i] != s.pfn[i];

	/* Memory back before the checks: they write a file. */
	munmap(map, A_THP_SIZE + FRAME);
	map = NULL;
	munmap(s.region, s.region_size);
	s.region = NULL;
	for (i = 0; i < 2; i++) {
		if (s.soak[i])
			munmap(s.soak[i], A_SOAK_MAX + FRAME);
		s.soak[i] = NULL;
	}
	for (bad = 0, i = 0; i < s.nr; i++)
		bad += !check(s.buf + i * PG, PG, seed + i);
	if (bad)
		fail("a: %ld buffers lost their contents (user view)", bad);
	bad = check_fixed_view(&ring, s.iov, s.nr, seed);
	if (bad)
		fail("a: io_uring view of the buffers: %s", bad < 0 ? strerror(-bad) : "contents differ");

	put("a1", pass, "%.1f", 100.0 * kb / (A_THP_SIZE >> 10));
	put("a2", pass, "%lu/%lu", moved, s.nr);
	put("a3", pass, "%ld", free_k + free_m);
	put("a4", pass, "%lu", s.held);
	note("a (%s): free 2 MiB blocks in kernel zones / ZONE_MOVABLE: %ld / %ld before compact_memory, %ld / %ld after",
	     pass_name(pass), pre_k, pre_m, free_k, free_m);
	note("a (%s): THPs %ld of %lu MiB (%lu in kernel zones, %lu in ZONE_MOVABLE), %lu of %lu buffer pages moved",
	     pass_name(pass), kb >> 10, A_THP_SIZE >> 20, thp_kernel, thp_movable, moved, s.nr);
	note("a (%s): compact_memory %.0f ms, touching the mapping %.0f ms",
	     pass_name(pass), t_compact / 1e6, t_touch / 1e6);
out:
	if (map)
		munmap(map, A_THP_SIZE + FRAME);
	if (ring_up)
		io_uring_queue_exit(&ring);
	if (s.region)
		munmap(s.region, s.region_size);
	for (i = 0; i < 2; i++)
		if (s.soak[i])
			munmap(s.soak[i], A_SOAK_MAX + FRAME);
	if (s.buf && s.buf != MAP_FAILED)
		munmap(s.buf, A_BUFS * PG);
}

static void bench_a(void)
{
	char enabled[32] = "", defrag[32] = "", unevictable[16] = "";
	int pass;

	if (read_choice(THP_PATH "/enabled", enabled, sizeof(enabled)) ||
	    read_choice(THP_PATH "/defrag", defrag, sizeof(defrag)) ||
	    read_file(UNEVICTABLE_PATH, unevictable, sizeof(unevictable)) < 0) {
		fail("a: needs THP (%s) and %s", THP_PATH, UNEVICTABLE_PATH);
		return;
	}
	/* Huge pages only where asked for, and the fault compacts directly. */
	if (write_file(THP_PATH "/enabled", "madvise") || write_file(THP_PATH "/defrag", "madvise") ||
	    write_file(UNEVICTABLE_PATH, "0")) {
		fail("a: cannot set THP enabled/defrag to madvise or %s to 0", UNEVICTABLE_PATH);
	} else {
		for (pass = 0; pass < nr_passes; pass++) {
			if (set_pass(pass))
				break;
			a_pass(pass);
			fresh_state();
		}
	}
	write_file(THP_PATH "/enabled", enabled);
	write_file(THP_PATH "/defrag", defrag);
	write_file(UNEVICTABLE_PATH, unevictable);
}

/* --- b: registration time, ZONE_MOVABLE against a kernel zone --- */

#define B_MARGIN_KB	(32L << 10)
#define B_PAGES_PER_MIB	(MIB / PG)

struct b_out {
	unsigned long placed;		/* MiB faulted in the zone asked for */
	int ret;			/* io_uring_register_buffers() */
	double reg_ns, unreg_ns;
	unsigned long pages, moved, still_movable, bad;
};

static uint64_t b_tag(unsigned long page)
{
	return 0x6200000000000000ULL | page;
}

/*
 * In a child: fault 1 MiB chunks until @mib of them lie wholly in ZONE_MOVABLE
 * (@movable) or in kernel zones, unmap the others, and time the registration
 * of the chunks as @mib iovecs, then their unregistration.
 */
static void __attribute__((noreturn)) b_child(int wfd, unsigned long mib, bool movable)
{
	enum zkind want = movable ? ZK_MOVABLE : ZK_KERNEL;
	unsigned long nchunks, c, j, run, n;
	struct b_out out = { 0 };
	uint64_t *before, *after;
	struct io_uring ring;
	struct iovec *iov;
	unsigned char *keep;
	size_t size;
	double t0;
	char *map;
	bool ok;

	/* The parent's /proc/self/pagemap shows the parent's pages. */
	close(pagemap_fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	size = (size_t)meminfo_kb("MemTotal:") * 1024 / MIB * MIB;
	nchunks = size / MIB;
	map = map_anon(size, MADV_NOHUGEPAGE);
	iov = calloc(mib, sizeof(*iov));
	keep = calloc(nchunks, 1);
	before = calloc(mib * B_PAGES_PER_MIB, sizeof(*before));
	after = calloc(mib * B_PAGES_PER_MIB, sizeof(*after));
	if (!map || !iov || !keep || !before || !after) {
		out.ret = -ENOMEM;
		goto report;
	}
	for (c = 0; c < nchunks && out.placed < mib; c++) {
		char *p = map + c * MIB;
		uint64_t *pfn = before + out.placed * B_PAGES_PER_MIB;

		if (meminfo_kb("MemFree:") < free_floor_kb(B_MARGIN_KB))
			break;
		for (j = 0; j < B_PAGES_PER_MIB; j++)
			*(uint64_t *)(p + j * PG) = b_tag(out.placed * B_PAGES_PER_MIB + j);
		if (pfns_of(p, B_PAGES_PER_MIB, pfn))
			break;
		for (ok = true, j = 0; j < B_PAGES_PER_MIB; j++)
			ok = ok && zone_kind(pfn[j]) == want;
		if (!ok)
			continue;
		keep[c] = 1;
		iov[out.placed++] = (struct iovec){ p, MIB };
	}
	/* Only the chosen chunks stay. */
	for (run = c = 0; c < nchunks; c++) {
		if (keep[c]) {
			if (c > run)
				munmap(map + run * MIB, (c - run) * MIB);
			run = c + 1;
		}
	}
	if (nchunks > run)
		munmap(map + run * MIB, (nchunks - run) * MIB);
	if (out.placed < mib)
		goto report;

	n = mib * B_PAGES_PER_MIB;
	out.pages = n;
	out.ret = io_uring_queue_init(4, &ring, 0);
	if (out.ret)
		goto report;
	t0 = now_ns();
	out.ret = io_uring_register_buffers(&ring, iov, mib);
	out.reg_ns = now_ns() - t0;
	if (!out.ret) {
		for (c = 0; c < mib; c++)
			if (pfns_of(iov[c].iov_base, B_PAGES_PER_MIB, after + c * B_PAGES_PER_MIB))
				out.bad++;
		for (j = 0; j < n; j++) {
			out.moved += after[j] != before[j];
			out.still_movable += zone_kind(after[j]) == ZK_MOVABLE;
			if (*(uint64_t *)((char *)iov[j / B_PAGES_PER_MIB].iov_base +
					  j % B_PAGES_PER_MIB * PG) != b_tag(j))
				out.bad++;
		}
		t0 = now_ns();
		io_uring_unregister_buffers(&ring);
		out.unreg_ns = now_ns() - t0;
	}
	io_uring_queue_exit(&ring);
report:
	if (write(wfd, &out, sizeof(out)) != sizeof(out))
		_exit(2);
	_exit(0);
}

/*
 * One registration in a child.  Returns 0 with @out filled, 1 if the child was
 * killed by SIGKILL (the OOM killer, most likely; @why says so), -1 otherwise.
 */
static int b_run(unsigned long mib, bool movable, struct b_out *out, char *why, size_t len)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[0]);
		b_child(p[1], mib, movable);
	}
	close(p[1]);
	n = read(p[0], out, sizeof(*out));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status)) {
		snprintf(why, len, "killed:SIG%s", sigabbrev_np(WTERMSIG(status)));
		return WTERMSIG(status) == SIGKILL ? 1 : -1;
	}
	if (n != sizeof(*out) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, len, "no-result");
		return -1;
	}
	return 0;
}

static void b_pass(int pass)
{
	static const unsigned long sizes[2] = { 100, 400 };
	static const char * const ids[2][3] = { { "b1", "b2", "b3" }, { "b4", "b5", "b6" } };
	double per_mib[2];
	struct b_out out;
	char why[32];
	int s, m, ret;

	for (s = 0; s < 2; s++) {
		for (m = 0; m < 2; m++) {
			const char *where = m ? "ZONE_MOVABLE" : "a kernel zone";

			per_mib[m] = -1;
			ret = b_run(sizes[s], m, &out, why, sizeof(why));
			fresh_state();
			if (ret) {
				put(ids[s][m], pass, "%s", why);
				if (ret < 0)
					fail("b: the child registering %lu MiB from %s: %s",
					     sizes[s], where, why);
				else
					note("b (%s): %lu MiB from %s: the child was killed by SIGKILL (OOM killer?)",
					     pass_name(pass), sizes[s], where);
				continue;
			}
			if (out.placed < sizes[s]) {
				put(ids[s][m], pass, "no-room");
				fail("b: only %lu of %lu MiB could be faulted in %s",
				     out.placed, sizes[s], where);
				continue;
			}
			if (out.ret) {
				put(ids[s][m], pass, "%s", errname(-out.ret));
				note("b (%s): registering %lu MiB from %s failed: %s",
				     pass_name(pass), sizes[s], where, strerror(-out.ret));
				continue;
			}
			if (out.bad)
				fail("b: %lu pages of %lu MiB from %s lost their contents or PFN",
				     out.bad, sizes[s], where);
			per_mib[m] = out.reg_ns / 1e6 / sizes[s];
			put(ids[s][m], pass, "%.3f", per_mib[m]);
			if (s == 1 && !m)
				put("b7", pass, "%.3f", out.unreg_ns / 1e6 / sizes[s]);
			if (s == 1 && m)
				put("b8", pass, "%lu", out.moved);
			note("b (%s): %lu MiB from %s: registered in %.0f ms, unregistered in %.0f ms",
			     pass_name(pass), sizes[s], where, out.reg_ns / 1e6, out.unreg_ns / 1e6);
			note("b (%s): %lu MiB from %s: %lu of %lu pages migrated, %lu left in ZONE_MOVABLE",
			     pass_name(pass), sizes[s], where, out.moved, out.pages, out.still_movable);
		}
		if (per_mib[0] > 0 && per_mib[1] > 0)
			put(ids[s][2], pass, "%.2f", per_mib[1] / per_mib[0]);
	}
}

/* --- c: fixed-buffer read throughput, nothing migrating --- */

#define C_BUFS		64
#define C_DEPTH		16
#define C_BLOCKS	8192UL		/* 32 MiB of data */

static uint64_t c_tag(unsigned long blk)
{
	return 0x6300000000000000ULL | blk;
}

/* The file's data: a pattern per 4 KiB block, its tag in the first and last word. */
static int c_write_data(int fd)
{
	unsigned long blk, j;
	uint64_t *w;
	char *chunk;
	int ret = 0;

	chunk = aligned_alloc(PG, MIB);
	if (!chunk)
		return -ENOMEM;
	for (blk = 0; blk < C_BLOCKS && !ret; blk += B_PAGES_PER_MIB) {
		for (j = 0; j < B_PAGES_PER_MIB; j++) {
			w = (uint64_t *)(chunk + j * PG);
			fill(w, PG, blk + j);
			w[0] = c_tag(blk + j);
			w[PG / 8 - 1] = ~c_tag(blk + j);
		}
		if (pwrite(fd, chunk, MIB, blk * PG) != (ssize_t)MIB)
			ret = errno ? -errno : -EIO;
	}
	free(chunk);
	return ret;
}

/*
 * @nr READ_FIXED of 4 KiB from blocks of @fd in a scrambled order, C_DEPTH in
 * flight, the C_BUFS buffers taken in turn; each completion is checked.  I/Os
 * per second, or -1 (and why in @err, or mismatches in @bad).
 */
static double c_run(int fd, long nr, int *err, long *bad)
{
	unsigned long blk_of[C_BUFS], blk;
	unsigned int head, seen, b, q_head = 0, q_len = C_BUFS;
	unsigned int queue[C_BUFS];
	long submitted = 0, done = 0, inflight = 0;
	struct iovec iov[C_BUFS];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	double t0, t = 0;
	uint64_t *w;
	char *bufs;
	int ret;

	*bad = 0;
	*err = 0;
	bufs = map_anon(C_BUFS * PG, MADV_NOHUGEPAGE);
	if (!bufs) {
		*err = -errno;
		return -1;
	}
	memset(bufs, 0, C_BUFS * PG);
	for (b = 0; b < C_BUFS; b++) {
		iov[b] = (struct iovec){ bufs + b * PG, PG };
		queue[b] = b;
	}
	ret = io_uring_queue_init(2 * C_DEPTH, &ring, 0);
	if (ret) {
		*err = ret;
		munmap(bufs, C_BUFS * PG);
		return -1;
	}
	ret = io_uring_register_buffers(&ring, iov, C_BUFS);
	if (ret)
		goto out;

	t0 = now_ns();
	while (done < nr) {
		while (inflight < C_DEPTH && submitted < nr) {
			b = queue[q_head];
			q_head = (q_head + 1) % C_BUFS;
			q_len--;
			blk = (unsigned long)submitted * 2654435761UL % C_BLOCKS;
			blk_of[b] = blk;
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_read_fixed(sqe, fd, iov[b].iov_base, PG, blk * PG, b);
			io_uring_sqe_set_data64(sqe, b);
			submitted++;
			inflight++;
		}
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			goto out;
		seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			b = cqe->user_data;
			w = (uint64_t *)iov[b].iov_base;
			if (cqe->res != (int)PG || w[0] != c_tag(blk_of[b]) ||
			    w[PG / 8 - 1] != ~c_tag(blk_of[b]))
				(*bad)++;
			if (cqe->res < 0 && !*err)
				*err = cqe->res;
			queue[(q_head + q_len) % C_BUFS] = b;
			q_len++;
			inflight--;
			done++;
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
	t = now_ns() - t0;
	ret = 0;
out:
	if (ret && !*err)
		*err = ret;
	io_uring_queue_exit(&ring);
	munmap(bufs, C_BUFS * PG);
	return *err || *bad ? -1 : nr / (t / 1e9);
}

/* A new zram device of @bytes (zram0 is the group's swap, if any: left alone). */
static int zram_add(unsigned long bytes)
{
	char buf[32], path[64];
	int id;

	if (read_file("/sys/class/zram-control/hot_add", buf, sizeof(buf)) <= 0)
		return -1;
	id = atoi(buf);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	snprintf(buf, sizeof(buf), "%lu", bytes);
	if (write_file(path, buf)) {
		snprintf(buf, sizeof(buf), "%d", id);
		write_file("/sys/class/zram-control/hot_remove", buf);
		return -1;
	}
	return id;
}

static void zram_remove(int id)
{
	char buf[16], path[64];

	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", id);
	write_file(path, "1");
	snprintf(buf, sizeof(buf), "%d", id);
	write_file("/sys/class/zram-control/hot_remove", buf);
}

static void c_pass(int pass, double iops[2])
{
	const char *what[2] = { "tmpfs", "O_DIRECT zram" };
	char path[64];
	int k, fd, id = -1, err;
	long bad;

	for (k = 0; k < 2; k++) {
		iops[k] = -1;
		if (!k) {
			fd = open(DATA_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
		} else {
			id = zram_add(C_BLOCKS * PG);
			if (id < 0) {
				fail("c: no zram device (/sys/class/zram-control/hot_add)");
				continue;
			}
			snprintf(path, sizeof(path), "/dev/zram%d", id);
			fd = open(path, O_RDWR | O_DIRECT);
		}
		err = fd < 0 ? -errno : c_write_data(fd);
		if (err) {
			fail("c: preparing the %s data: %s", what[k], strerror(-err));
		} else {
			iops[k] = c_run(fd, c_ios, &err, &bad);
			if (iops[k] < 0)
				fail("c: %s: %s, %ld reads with wrong data", what[k],
				     err ? strerror(-err) : "no error", bad);
			else
				note("c (%s): %s: %ld READ_FIXED, %.0f per second, data checked",
				     pass_name(pass), what[k], c_ios, iops[k]);
		}
		if (fd >= 0)
			close(fd);
		if (!k)
			unlink(DATA_FILE);
		else if (id >= 0)
			zram_remove(id);
	}
	if (iops[0] > 0)
		put("c1", pass, "%.0f", iops[0]);
	if (iops[1] > 0)
		put("c3", pass, "%.0f", iops[1]);
}

static void bench_c(void)
{
	double iops[2][2] = { { -1, -1 }, { -1, -1 } };
	int pass;

	for (pass = 0; pass < nr_passes; pass++) {
		if (set_pass(pass))
			return;
		c_pass(pass, iops[pass]);
		fresh_state();
	}
	if (nr_passes == 2 && iops[0][0] > 0 && iops[1][0] > 0)
		put("c2", 1, "%.3f", iops[1][0] / iops[0][0]);
	if (nr_passes == 2 && iops[0][1] > 0 && iops[1][1] > 0)
		put("c4", 1, "%.3f", iops[1][1] / iops[0][1]);
}

/* --- d: pages moved under continuous fixed-buffer I/O --- */

#define D_BUFS		64
#define D_SECONDS	5

struct d_state {
	struct io_uring ring;
	struct iovec iov[D_BUFS];
	char *bufs;
	int fd;
	int stop;			/* __atomic */
	int err;
	long rounds, bad;
};

/* Write a new pattern to every buffer, read it back into the cleared buffers, compare. */
static void *d_io(void *arg)
{
	struct d_state *d = arg;
	uint64_t seed;
	unsigned int i;
	int ret;

	pin_cpu(0);
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		seed = 0xd000000 + d->rounds * D_BUFS;
		for (i = 0; i < D_BUFS; i++)
			fill(d->bufs + i * PG, PG, seed + i);
		ret = rw_fixed_all(&d->ring, true, d->fd, d->iov, D_BUFS);
		if (!ret) {
			memset(d->bufs, 0, D_BUFS * PG);
			ret = rw_fixed_all(&d->ring, false, d->fd, d->iov, D_BUFS);
		}
		if (ret) {
			d->err = ret;
			break;
		}
		for (i = 0; i < D_BUFS; i++)
			d->bad += !check(d->bufs + i * PG, PG, seed + i);
		if (d->bad)
			break;
		d->rounds++;
	}
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void d_pass(int pass)
{
	int nodes[D_BUFS], status[D_BUFS], where[D_BUFS], target = 1, ret;
	long long refused0, refused1, migrated0, migrated1;
	long moved = 0, missed = 0, asked = 0;
	struct d_state d = { .fd = -1 };
	bool ring_up = false, mover_failed = false;
	void *pages[D_BUFS];
	pthread_t io;
	unsigned int i;
	double t0, t;

	d.bufs = map_anon(D_BUFS * PG, MADV_NOHUGEPAGE);
	d.fd = open(DATA_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!d.bufs || d.fd < 0 || fill_on_node(d.bufs, D_BUFS * PG, PG, 0, 0)) {
		fail("d: setting up the buffers: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < D_BUFS; i++) {
		d.iov[i] = (struct iovec){ d.bufs + i * PG, PG };
		pages[i] = d.bufs + i * PG;
	}
	ret = io_uring_queue_init(RING_DEPTH, &d.ring, 0);
	if (!ret) {
		ring_up = true;
		ret = io_uring_register_buffers(&d.ring, d.iov, D_BUFS);
	}
	if (ret) {
		fail("d: registering %d buffers: %s", D_BUFS, strerror(-ret));
		goto out;
	}
	if (move_pages(0, D_BUFS, pages, NULL, where, 0)) {
		fail("d: move_pages (query): %s", strerror(errno));
		goto out;
	}

	for (i = 0; i < D_BUFS; i++)
		if (where[i] < 0) {
			fail("d: buffer page %u: %s", i, strerror(-where[i]));
			goto out;
		}
	refused0 = vmstat("pinpage_isolate_refused");
	migrated0 = vmstat("pinpage_migrated");
	ret = pthread_create(&io, NULL, d_io, &d);
	if (ret) {
		fail("d: pthread_create: %s", strerror(ret));
		goto out;
	}
	pin_cpu(1);
	t0 = now_ns();
	while (!__atomic_load_n(&d.stop, __ATOMIC_ACQUIRE) && now_ns() - t0 < D_SECONDS * 1e9) {
		for (i = 0; i < D_BUFS; i++)
			nodes[i] = target;
		if (move_pages(0, D_BUFS, pages, nodes, status, MPOL_MF_MOVE) < 0 ||
		    move_pages(0, D_BUFS, pages, NULL, status, 0) < 0) {
			fail("d: move_pages: %s", strerror(errno));
			mover_failed = true;
			break;
		}
		for (i = 0; i < D_BUFS; i++) {
			if (where[i] == target)
				continue;
			asked++;
			if (status[i] == target)
				moved++;
			else
				missed++;
			if (status[i] >= 0)
				where[i] = status[i];
		}
		target = !target;
	}
	__atomic_store_n(&d.stop, 1, __ATOMIC_RELEASE);
	pthread_join(io, NULL);
	t = now_ns() - t0;
	refused1 = vmstat("pinpage_isolate_refused");
	migrated1 = vmstat("pinpage_migrated");
	unpin_cpu();

	if (d.err)
		fail("d: fixed-buffer I/O failed: %s", strerror(-d.err));
	if (d.bad)
		fail("d: a READ_FIXED returned other data than WRITE_FIXED wrote (round %ld)",
		     d.rounds);
	if (!d.rounds)
		fail("d: no round of I/O completed");
	if (d.bad || d.err)
		put("d5", pass, "%ld/%ld", d.rounds, d.rounds + 1);
	if (mover_failed || d.bad || d.err || !d.rounds)
		goto out;
	put("d1", pass, "%.0f", moved / (t / 1e9));
	put("d2", pass, "%ld/%ld", missed, asked);
	if (refused0 >= 0 && refused1 >= 0)
		put("d3", pass, "%lld", refused1 - refused0);
	else
		put("d3", pass, "n/a");
	put("d4", pass, "%.0f", d.rounds * 2.0 * D_BUFS / (t / 1e9));
	put("d5", pass, "%ld/%ld", d.rounds, d.rounds);
	note("d (%s): %.1f s: %ld page moves of %ld asked, %ld rounds of I/O, data checked",
	     pass_name(pass), t / 1e9, moved, asked, d.rounds);
	if (migrated0 >= 0)
		note("d (%s): pinpage_migrated +%lld", pass_name(pass), migrated1 - migrated0);
out:
	if (ring_up)
		io_uring_queue_exit(&d.ring);
	if (d.fd >= 0)
		close(d.fd);
	unlink(DATA_FILE);
	if (d.bufs)
		munmap(d.bufs, D_BUFS * PG);
}

/* --- e: move_pages cost, owned pins against unpinned pages --- */

#define E_PAGES		2048
#define E_ROUNDS	9
#define E_IOU_BUFS	64
#define E_PIECE		(E_PAGES / E_IOU_BUFS * PG)
#define E_SIZE		(E_PAGES * PG)

struct e_res {
	double us_per_page;
	double moved_per_call;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Move all of @p to node 1 and back, E_ROUNDS times; the time per page is
 * the median round's, so that a round disturbed by something else in the
 * guest does not count.  0 or -errno.  Where the pages went is asked
 * afterwards (untimed): when a page of a batch fails to move, move_pages()
 * returns how many did not move and leaves the status of that batch
 * unwritten.
 */
static int e_move(char *p, struct e_res *r)
{
	static int nodes[E_PAGES], status[E_PAGES], where[E_PAGES];
	static void *pages[E_PAGES];
	double t[E_ROUNDS] = { 0 }, t0;
	long moved = 0;
	int round, node, i;

	for (i = 0; i < E_PAGES; i++) {
		pages[i] = p + i * PG;
		nodes[i] = 0;
	}
	/* Start on node 0 where possible; untimed. */
	if (move_pages(0, E_PAGES, pages, nodes, status, MPOL_MF_MOVE) < 0 ||
	    move_pages(0, E_PAGES, pages, NULL, where, 0))
		return -errno;
	for (round = 0; round < E_ROUNDS; round++) {
		for (node = 1; node >= 0; node--) {
			for (i = 0; i < E_PAGES; i++)
				nodes[i] = node;
			t0 = now_ns();
			if (move_pages(0, E_PAGES, pages, nodes, status, MPOL_MF_MOVE) < 0)
				return -errno;
			t[round] += now_ns() - t0;
			if (move_pages(0, E_PAGES, pages, NULL, status, 0) < 0)
				return -errno;
			for (i = 0; i < E_PAGES; i++) {
				if (status[i] == node && where[i] != node)
					moved++;
				if (status[i] >= 0)
					where[i] = status[i];
			}
		}
	}
	qsort(t, E_ROUNDS, sizeof(t[0]), cmp_double);
	r->us_per_page = t[E_ROUNDS / 2] / 1e3 / (2.0 * E_PAGES);
	r->moved_per_call = moved / (E_ROUNDS * 2.0);
	return 0;
}

/* 0 if the user view of @p still holds its E_PIECE patterns. */
static long e_check_user(const char *p, uint64_t seed)
{
	long bad = 0;
	int i;

	for (i = 0; i < E_IOU_BUFS; i++)
		bad += !check(p + i * E_PIECE, E_PIECE, seed + i);
	return bad;
}

static char *e_buffer(uint64_t seed)
{
	char *p = map_anon(E_SIZE, MADV_NOHUGEPAGE);

	if (p && fill_on_node(p, E_SIZE, E_PIECE, seed, 0)) {
		munmap(p, E_SIZE);
		return NULL;
	}
	return p;
}

static void e_put(const char *us_id, const char *moved_id, int pass, const struct e_res *r)
{
	put(us_id, pass, "%.2f", r->us_per_page);
	put(moved_id, pass, "%.0f", r->moved_per_call);
}

/* The gup_test owner's pins.  1 if this kernel has none (stock), 0, or -1. */
static int e_owned(int pass, const struct e_res *base)
{
	struct pin_owned_test o = { .size = E_SIZE, .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	uint64_t seed = 0xe100 + pass * 1000;
	char *p = NULL, *view = NULL;
	struct e_res r;
	int fd, ret = -1;
	long bad;

	fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (fd < 0) {
		if (!have_pinpage)
			return 1;
		fail("e: /sys/kernel/debug/gup_test: %s", strerror(errno));
		return -1;
	}
	p = e_buffer(seed);
	view = malloc(E_SIZE);
	if (!p || !view) {
		fail("e: setting up the owned buffer");
		goto out;
	}
	o.addr = (uintptr_t)p;
	if (ioctl(fd, PIN_OWNED_TEST_START, &o)) {
		if (!have_pinpage && errno == EINVAL) {
			ret = 1;
			goto out;
		}
		fail("e: PIN_OWNED_TEST_START: %s", strerror(errno));
		goto out;
	}
	ret = e_move(p, &r);
	if (ret) {
		fail("e: move_pages of the owned pages: %s", strerror(-ret));
	} else {
		e_put("e2", "e7", pass, &r);
		if (base->us_per_page > 0)
			put("e3", pass, "%.2f", r.us_per_page / base->us_per_page);
		if (have_pinpage && pass && !r.moved_per_call)
			fail("e: with the switch on, no owned page moved");
	}
	o.addr = (uintptr_t)view;
	if (ioctl(fd, PIN_OWNED_TEST_READ, &o) || memcmp(view, p, E_SIZE))
		fail("e: the owner's view of its pages differs from the user's");
	bad = e_check_user(p, seed);
	if (bad)
		fail("e: %ld owned pieces lost their contents", bad);
	o.addr = (uintptr_t)p;
	ioctl(fd, PIN_OWNED_TEST_STOP, &o);
out:
	close(fd);
	free(view);
	if (p)
		munmap(p, E_SIZE);
	return ret;
}

static void e_iouring(int pass, const struct e_res *base)
{
	uint64_t seed = 0xe200 + pass * 1000;
	struct iovec iov[E_IOU_BUFS];
	bool ring_up = false;
	struct io_uring ring;
	struct e_res r;
	long bad;
	char *p;
	int i, ret;

	p = e_buffer(seed);
	if (!p) {
		fail("e: setting up the io_uring buffers");
		return;
	}
	for (i = 0; i < E_IOU_BUFS; i++)
		iov[i] = (struct iovec){ p + i * E_PIECE, E_PIECE };
	ret = io_uring_queue_init(RING_DEPTH, &ring, 0);
	if (!ret) {
		ring_up = true;
		ret = io_uring_register_buffers(&ring, iov, E_IOU_BUFS);
	}
	if (ret) {
		fail("e: registering %d buffers: %s", E_IOU_BUFS, strerror(-ret));
		goto out;
	}
	ret = e_move(p, &r);
	if (ret) {
		fail("e: move_pages of the io_uring buffers: %s", strerror(-ret));
	} else {
		e_put("e4", "e8", pass, &r);
		if (base->us_per_page > 0)
			put("e5", pass, "%.2f", r.us_per_page / base->us_per_page);
		if (have_pinpage && pass && !r.moved_per_call)
			fail("e: with the switch on, no io_uring buffer page moved");
	}
	bad = e_check_user(p, seed);
	if (bad)
		fail("e: %ld io_uring buffers lost their contents (user view)", bad);
	bad = check_fixed_view(&ring, iov, E_IOU_BUFS, seed);
	if (bad)
		fail("e: io_uring view of the buffers: %s", bad < 0 ? strerror(-bad) : "contents differ");
out:
	if (ring_up)
		io_uring_queue_exit(&ring);
	munmap(p, E_SIZE);
}

static void e_pass(int pass)
{
	uint64_t seed = 0xe000 + pass * 1000;
	struct e_res base = { 0 };
	char *p;
	int ret;

	p = e_buffer(seed);
	if (!p) {
		fail("e: setting up the unpinned buffer");
		return;
	}
	ret = e_move(p, &base);
	if (ret)
		fail("e: move_pages of unpinned pages: %s", strerror(-ret));
	else if (!base.moved_per_call)
		fail("e: move_pages moved no unpinned page (two nodes with memory?)");
	else
		e_put("e1", "e6", pass, &base);
	if (e_check_user(p, seed))
		fail("e: unpinned pages lost their contents");
	munmap(p, E_SIZE);

	if (e_owned(pass, &base) == 1) {
		put("e2", pass, "n/a");
		put("e3", pass, "n/a");
		put("e7", pass, "n/a");
	}
	e_iouring(pass, &base);
	note("e (%s): done", pass_name(pass));
}

/* --- main --- */

static void run_passes(void (*fn)(int pass))
{
	int pass;

	for (pass = 0; pass < nr_passes; pass++) {
		if (set_pass(pass))
			return;
		fn(pass);
		fresh_state();
	}
}

static void print_setup(void)
{
	struct utsname u;
	int i;

	uname(&u);
	note("pinpage_iouring_bench on %s %s, %s", u.sysname, u.release,
	     have_pinpage ? "pinpage: switch off, then on" : "no pinpage (stock): one pass");
	for (i = 0; i < nr_zones; i++)
		note("node %d zone %-8s pfn %#9lx-%#9lx %5lu MiB, %5lu MiB free", zones[i].node,
		     zones[i].name, zones[i].start, zones[i].start + zones[i].spanned,
		     zones[i].spanned >> 8, zones[i].free >> 8);
}

int main(int argc, char **argv)
{
	const char *which = "abcde";
	char saved[16] = "";
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sched_getaffinity(0, sizeof(all_cpus), &all_cpus);
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		c_ios = opt == 'n' ? atol(optarg) : 0;
		if (c_ios <= 0) {
			fprintf(stderr, "usage: %s [-n ios] [abcde]\n", argv[0]);
			return 2;
		}
	}
	if (optind < argc)
		which = argv[optind];
	if (geteuid()) {
		note("pinpage_iouring_bench needs root");
		return 1;
	}
	have_pinpage = !access(SWITCH_PATH, F_OK);
	nr_passes = have_pinpage ? 2 : 1;
	if (have_pinpage && read_file(SWITCH_PATH, saved, sizeof(saved)) < 0) {
		note("cannot read %s", SWITCH_PATH);
		return 1;
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	read_zones();
	if (pagemap_fd < 0 || !nr_zones) {
		note("needs /proc/self/pagemap and /proc/zoneinfo");
		return 1;
	}
	print_setup();
	if (numa_available() < 0 || numa_max_node() < 1)
		note("only one NUMA node: d and e cannot move pages");

	if (strchr(which, 'a'))
		bench_a();
	if (strchr(which, 'b'))
		run_passes(b_pass);
	if (strchr(which, 'c'))
		bench_c();
	if (strchr(which, 'd'))
		run_passes(d_pass);
	if (strchr(which, 'e'))
		run_passes(e_pass);

	if (have_pinpage)
		write_file(SWITCH_PATH, saved);
	print_table();
	if (failed)
		note("some steps did not run (FAIL lines above)");
	return failed ? 1 : 0;
}
