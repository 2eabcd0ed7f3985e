// SPDX-License-Identifier: GPL-2.0
/*
 * zsmalloc page migration cost, for stock and patched kernels alike (run by
 * groups/zsmalloc-cost.sh, "make bench-zsmalloc").  Stock kernels move
 * zsmalloc pages through zsmalloc's own movable_operations, patched ones
 * through pinpage; this program uses no pinpage interface, and only prints
 * pinpage's debugfs counters for the zsmalloc kind when they exist.
 *
 *   fill     a hot-added zram device (lzo) gets -s MiB (default 300) of
 *            O_DIRECT writes: one page in four compressible (not same-filled),
 *            three of four random.  Writes alternate between the CPUs, so
 *            that zsmalloc pages land in every node's ZONE_MOVABLE, which
 *            was emptied beforehand (every movable block offlined and
 *            onlined again: the "pre-clean").
 *   offline  -r rounds (default 3); each offlines every memory block of
 *            ZONE_MOVABLE in turn and onlines it again right away, so that
 *            the pages stay in ZONE_MOVABLE for the next block and round
 *            (offlining migrates to the other node).  Per block: time of the
 *            write of "offline" to its state file, pgmigrate_success delta,
 *            and the drop of the node's ZONE_MOVABLE nr_zspages (the
 *            zsmalloc pages that were in the block).  Cost per page is the
 *            offline time over pages migrated; "net" first takes off what
 *            offlining the same block costs when it holds nothing to move
 *            (measured right after the pre-clean).
 *   compact  -r rounds; each frees every sixth random page (zero-filled
 *            writes: zram keeps no zsmalloc object for them), which leaves
 *            holes between zsmalloc pages, then times one write to
 *            /proc/sys/vm/compact_memory: time over pgmigrate_success,
 *            scanning of every zone included.  A compaction before the
 *            first round (not counted) takes out what was fragmented before.
 *   verify   the whole device is read back and compared after each phase.
 *
 * Every figure counts every page migrated, zsmalloc's or not; the share of
 * zsmalloc pages is printed next to it.  Lines "zsmalloc_cost <key> <value>"
 * at the end are for the host; the exit status is nonzero when a step did
 * not run, a block could not be offlined or onlined, or data changed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define CHUNK_PAGES	64		/* pages per O_DIRECT read or write */
#define MAX_NODES	64
#define MAX_BLOCKS	1024
#define MAX_ROUNDS	15
#define OFFLINE_SECS	300		/* then the offline is interrupted */
#define SEED		0x7a736d616c6c6f63ULL
#define MEM		"/sys/devices/system/memory"
#define KINDS		"/sys/kernel/debug/pinpage/kinds"

enum { MIG_OK, MIG_FAIL, SCAN_MIGRATE, SCAN_FREE, ISOLATED, NR_VM };

static const char * const vm_names[NR_VM] = {
	"pgmigrate_success", "pgmigrate_fail", "compact_migrate_scanned",
	"compact_free_scanned", "compact_isolated",
};

struct vm {
	long v[NR_VM];
};

struct zones {
	long free[MAX_NODES], managed[MAX_NODES], zs[MAX_NODES];
	long zs_all;		/* nr_zspages of every zone */
};

struct kind {
	int found;
	long owners, pins, isolated, refused, migrated;
};

struct block {
	int id, node;
};

static struct block blocks[MAX_BLOCKS];
static int nr_blocks, zram_id = -1, zram_added, rounds = 3, punched_rounds;
static unsigned long nr_pages;
static double t_start;
static int have_kinds;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void phase(const char *fmt, ...)
{
	va_list ap;

	printf("# [%6.1fs] ", (now_us() - t_start) / 1e6);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* 0, or -errno of the open or the write (-EINTR: interrupted by the alarm). */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void vm_read(struct vm *s)
{
	char line[128], key[64];
	FILE *f = fopen("/proc/vmstat", "r");
	long v;
	int i;

	memset(s, 0, sizeof(*s));
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", key, &v) != 2)
			continue;
		for (i = 0; i < NR_VM; i++)
			if (!strcmp(key, vm_names[i]))
				s->v[i] = v;
	}
	if (f)
		fclose(f);
}

/* ZONE_MOVABLE per node and nr_zspages of every zone, per-CPU counts folded in. */
static void zones_read(struct zones *z)
{
	char line[256], zone[32];
	int node = -1, movable = 0;
	FILE *f;
	long v;

	write_file("/proc/sys/vm/stat_refresh", "1");
	memset(z, 0, sizeof(*z));
	f = fopen("/proc/zoneinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *t = line + strspn(line, " \t");

		if (sscanf(t, "Node %d, zone %31s", &node, zone) == 2) {
			movable = !strcmp(zone, "Movable") && node >= 0 && node < MAX_NODES;
			continue;
		}
		if (sscanf(t, "nr_zspages %ld", &v) == 1) {
			z->zs_all += v;
			if (movable)
				z->zs[node] = v;
		} else if (!movable) {
			continue;
		} else if (sscanf(t, "pages free %ld", &v) == 1) {
			z->free[node] = v;
		} else if (sscanf(t, "managed %ld", &v) == 1) {
			z->managed[node] = v;
		}
	}
	if (f)
		fclose(f);
}

static long movable_sum(const long *a)
{
	long s = 0;
	int n;

	for (n = 0; n < MAX_NODES; n++)
		s += a[n];
	return s;
}

static void zones_report(const char *when)
{
	struct zones z;
	int n;

	zones_read(&z);
	printf("# ZONE_MOVABLE %s:", when);
	for (n = 0; n < MAX_NODES; n++)
		if (z.managed[n])
			printf(" node%d %ld used (%ld zsmalloc) of %ld;", n,
			       z.managed[n] - z.free[n], z.zs[n], z.managed[n]);
	printf(" zsmalloc pages in all zones %ld\n", z.zs_all);
}

/* pinpage's debugfs line for the zsmalloc kind, when there is one. */
static void kind_read(struct kind *k, int print)
{
	char line[256], name[64];
	FILE *f = fopen(KINDS, "r");

	memset(k, 0, sizeof(*k));
	have_kinds = !!f;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld %ld %ld %ld %ld", name, &k->owners,
			   &k->pins, &k->isolated, &k->refused, &k->migrated) == 6 &&
		    !strcmp(name, "zsmalloc")) {
			k->found = 1;
			if (print)
				printf("# pinpage kinds: %s", line);
			break;
		}
	}
	if (f)
		fclose(f);
	if (print && !k->found)
		printf("# pinpage kinds: %s\n",
		       have_kinds ? "no zsmalloc line" : "not present (no pinpage)");
}

static void kind_delta(const char *what, const struct kind *a, const struct kind *b)
{
	if (a->found && b->found)
		printf("# pinpage zsmalloc kind during %s: %ld migrated, %ld refused\n",
		       what, b->migrated - a->migrated, b->refused - a->refused);
}

static void zram_mm_stat(const char *when, long *used_pages)
{
	unsigned long long orig, compr, used, limit, max, same, compacted, huge;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/sys/block/zram%d/mm_stat", zram_id);
	if (read_file(path, buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%llu %llu %llu %llu %llu %llu %llu %llu", &orig, &compr,
		   &used, &limit, &max, &same, &compacted, &huge) != 8) {
		printf("# zram%d mm_stat %s: unreadable\n", zram_id, when);
		return;
	}
	printf("# zram%d mm_stat %s: %llu pages stored, %llu bytes compressed, mem_used_total %llu pages, %llu same-filled, %llu huge, %llu compacted\n",
	       zram_id, when, orig / PAGE, compr, used / PAGE, same, huge, compacted);
	if (used_pages)
		*used_pages = used / PAGE;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int compressible(unsigned long i)
{
	return i % 4 == 0;
}

/* The compaction round that zero-fills random page @i, or -1. */
static int punch_round(unsigned long i)
{
	unsigned long k = i - i / 4 - 1;	/* i's number among random pages */

	if (compressible(i) || k % 2)
		return -1;
	return (k / 2) % rounds;
}

/* What page @i holds now. */
static void expect_page(unsigned long i, uint64_t *q)
{
	uint64_t s = SEED ^ (i * 0x2545f4914f6cdd1dULL);
	int k, r = punch_round(i);

	if (r >= 0 && r < punched_rounds) {
		memset(q, 0, PAGE);
		return;
	}
	for (k = 0; k < (int)(PAGE / 8); k++) {
		if (!compressible(i) || k % 4 == 0)
			q[k] = splitmix(&s);
		else
			q[k] = 0x2e2e2e2e2e2e2e2eULL ^ (i << 8);
	}
}

static void *page_buf(size_t size)
{
	void *p;

	if (posix_memalign(&p, PAGE, size)) {
		perror("posix_memalign");
		exit(1);
	}
	return p;
}

static int zram_open(unsigned long bytes)
{
	char path[96], buf[64];
	unsigned int maj, min;
	int fd = -1, i;

	if (read_file("/sys/class/zram-control/hot_add", buf, sizeof(buf)) > 0) {
		zram_id = atoi(buf);
		zram_added = 1;
	} else if (read_file("/sys/block/zram0/disksize", buf, sizeof(buf)) > 0 &&
		   atol(buf) == 0) {
		zram_id = 0;
	} else {
		printf("# no zram device to use (CONFIG_ZRAM?)\n");
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/block/zram%d/comp_algorithm", zram_id);
	if (write_file(path, "lzo"))
		printf("# zram%d: cannot select lzo, keeping the default\n", zram_id);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", zram_id);
	snprintf(buf, sizeof(buf), "%lu", bytes);
	if (write_file(path, buf)) {
		printf("# zram%d: cannot set disksize %s\n", zram_id, buf);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/zram%d", zram_id);
	for (i = 0; i < 50 && fd < 0; i++) {
		fd = open(path, O_RDWR | O_DIRECT);
		if (fd < 0)
			usleep(100000);
	}
	if (fd < 0) {
		/* No devtmpfs node: make one from the device's numbers. */
		snprintf(buf, sizeof(buf), "/sys/block/zram%d/dev", zram_id);
		snprintf(path, sizeof(path), "/tmp/zram%d", zram_id);
		if (read_file(buf, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%u:%u", &maj, &min) == 2 &&
		    !mknod(path, S_IFBLK | 0600, makedev(maj, min)))
			fd = open(path, O_RDWR | O_DIRECT);
	}
	if (fd < 0)
		perror("open zram");
	return fd;
}

static void zram_close(int fd)
{
	char path[64], buf[16];

	close(fd);
	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", zram_id);
	write_file(path, "1");
	if (zram_added) {
		snprintf(buf, sizeof(buf), "%d", zram_id);
		write_file("/sys/class/zram-control/hot_remove", buf);
	}
}

/* Write every page, each chunk from the next CPU (its node's zones first). */
static int zram_fill(int fd)
{
	uint64_t *buf = page_buf(CHUNK_PAGES * PAGE);
	cpu_set_t all, one;
	int cpus[CPU_SETSIZE], nr_cpus = 0, c, j, err = 0;
	unsigned long i, n;
	double t = now_us();

	sched_getaffinity(0, sizeof(all), &all);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all))
			cpus[nr_cpus++] = c;
	for (i = 0; i < nr_pages && !err; i += n) {
		n = nr_pages - i < CHUNK_PAGES ? nr_pages - i : CHUNK_PAGES;
		if (nr_cpus > 1) {
			CPU_ZERO(&one);
			CPU_SET(cpus[(i / CHUNK_PAGES) % nr_cpus], &one);
			sched_setaffinity(0, sizeof(one), &one);
		}
		for (j = 0; j < (int)n; j++)
			expect_page(i + j, buf + j * (PAGE / 8));
		if (pwrite(fd, buf, n * PAGE, i * PAGE) != (ssize_t)(n * PAGE)) {
			perror("zram write");
			err = -1;
		}
	}
	sched_setaffinity(0, sizeof(all), &all);
	t = (now_us() - t) / 1e6;
	printf("# wrote %lu pages (%lu MiB) in %.1f s, %.1f MiB/s, over %d CPUs\n",
	       nr_pages, nr_pages * PAGE >> 20, t, nr_pages * PAGE / 1048576.0 / t,
	       nr_cpus);
	free(buf);
	return err;
}

/* Number of pages that differ from what they should hold. */
static long zram_verify(int fd, const char *when)
{
	uint64_t *buf = page_buf(CHUNK_PAGES * PAGE), *want = page_buf(PAGE);
	unsigned long i, n;
	long bad = 0;
	int j;

	for (i = 0; i < nr_pages; i += n) {
		n = nr_pages - i < CHUNK_PAGES ? nr_pages - i : CHUNK_PAGES;
		if (pread(fd, buf, n * PAGE, i * PAGE) != (ssize_t)(n * PAGE)) {
			perror("zram read");
			bad = -1;
			break;
		}
		for (j = 0; j < (int)n; j++) {
			expect_page(i + j, want);
			if (!memcmp(buf + j * (PAGE / 8), want, PAGE))
				continue;
			if (bad++ < 5)
				printf("# page %lu (%s) differs\n", i + j,
				       compressible(i + j) ? "compressible" : "random");
		}
	}
	if (bad < 0)
		printf("# data intact %s: no (the device could not be read)\n", when);
	else
		printf("# data intact %s: %s (%ld of %lu pages differ)\n", when,
		       bad ? "no" : "yes", bad, nr_pages);
	free(buf);
	free(want);
	return bad;
}

static int block_state(int id, const char *state)
{
	char path[96];

	snprintf(path, sizeof(path), MEM "/memory%d/state", id);
	return write_file(path, state);
}

static int block_zone_is_movable(int id)
{
	char path[96], buf[64];

	snprintf(path, sizeof(path), MEM "/memory%d/valid_zones", id);
	return read_file(path, buf, sizeof(buf)) > 0 && !strcmp(buf, "Movable\n");
}

static void on_alarm(int sig)
{
}

/* Offline block @b: 0 or -errno; its time in *ms, the pages it moved in *moved. */
static int block_offline(struct block *b, double *ms, long *moved, long *zs_moved)
{
	struct zones z0, z1;
	struct vm v0, v1;
	double t;
	int err;

	zones_read(&z0);
	vm_read(&v0);
	alarm(OFFLINE_SECS);
	t = now_us();
	err = block_state(b->id, "offline");
	*ms = (now_us() - t) / 1e3;
	alarm(0);
	vm_read(&v1);
	zones_read(&z1);
	*moved = v1.v[MIG_OK] - v0.v[MIG_OK];
	*zs_moved = z0.zs[b->node] - z1.zs[b->node];
	if (err == -EINTR)
		printf("# memory%d: offline interrupted after %d s\n", b->id, OFFLINE_SECS);
	else if (err)
		printf("# memory%d: offline failed after %.0f ms: %s\n", b->id, *ms,
		       strerror(-err));
	return err;
}

static int block_online(struct block *b)
{
	int err = block_state(b->id, "online_movable");

	if (err)
		err = block_state(b->id, "online");
	if (err)
		printf("# memory%d: cannot online it again: %s\n", b->id, strerror(-err));
	else if (!block_zone_is_movable(b->id))
		printf("# memory%d: onlined outside ZONE_MOVABLE\n", b->id);
	return err;
}

static int cmp_block(const void *a, const void *b)
{
	return ((const struct block *)a)->id - ((const struct block *)b)->id;
}

/* Online blocks wholly in ZONE_MOVABLE, and their nodes. */
static void find_blocks(void)
{
	char path[300], buf[64];
	struct dirent *d, *e;
	DIR *dir = opendir(MEM), *sub;
	int id, spanning = 0;

	while (dir && (d = readdir(dir)) && nr_blocks < MAX_BLOCKS) {
		if (sscanf(d->d_name, "memory%d", &id) != 1)
			continue;
		snprintf(path, sizeof(path), MEM "/%s/state", d->d_name);
		if (read_file(path, buf, sizeof(buf)) < 0 || strcmp(buf, "online\n"))
			continue;
		snprintf(path, sizeof(path), MEM "/%s/valid_zones", d->d_name);
		if (read_file(path, buf, sizeof(buf)) < 0)
			continue;
		if (!strcmp(buf, "none\n"))
			spanning++;
		if (strcmp(buf, "Movable\n"))
			continue;
		blocks[nr_blocks].id = id;
		blocks[nr_blocks].node = 0;
		snprintf(path, sizeof(path), MEM "/%s", d->d_name);
		sub = opendir(path);
		while (sub && (e = readdir(sub)))
			if (sscanf(e->d_name, "node%d", &blocks[nr_blocks].node) == 1)
				break;
		if (sub)
			closedir(sub);
		if (blocks[nr_blocks].node < 0 || blocks[nr_blocks].node >= MAX_NODES)
			continue;
		nr_blocks++;
	}
	if (dir)
		closedir(dir);
	qsort(blocks, nr_blocks, sizeof(*blocks), cmp_block);
	if (read_file(MEM "/block_size_bytes", buf, sizeof(buf)) > 0)
		printf("# memory block size %lu MiB; %d blocks in ZONE_MOVABLE, %d spanning two zones (not offlinable)\n",
		       strtoul(buf, NULL, 16) >> 20, nr_blocks, spanning);
}

/*
 * Empty ZONE_MOVABLE: offline every block, then online them all (offlining
 * one block at a time would move its pages into the next).  Blocks that do
 * not go offline are left out of the measurement.  Then the cost of an
 * offline that has nothing to move: each block once more, in ms per block.
 */
static double preclean(void)
{
	int off[MAX_BLOCKS], i, n = 0, err = 0;
	double ms, sum = 0;
	long moved, zs, total = 0;

	for (i = 0; i < nr_blocks; i++) {
		off[i] = !block_offline(&blocks[i], &ms, &moved, &zs);
		total += moved;
	}
	for (i = 0; i < nr_blocks; i++) {
		if (off[i] && block_online(&blocks[i]))
			err = 1;
		if (off[i] && !err)
			blocks[n++] = blocks[i];
	}
	printf("# pre-clean: %ld pages migrated, %d of %d blocks offlined and onlined again\n",
	       total, n, nr_blocks);
	nr_blocks = err ? 0 : n;
	total = 0;
	for (i = 0; i < nr_blocks; i++) {
		if (block_offline(&blocks[i], &ms, &moved, &zs) ||
		    block_online(&blocks[i])) {
			nr_blocks = 0;
			break;
		}
		sum += ms;
		total += moved;
	}
	if (!nr_blocks)
		return -1;
	printf("# offline of a block with nothing to move: %.1f ms per block (%ld pages migrated meanwhile)\n",
	       sum / nr_blocks, total);
	return sum / nr_blocks;
}

static double median(double *a, int n)
{
	double t;
	int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && a[j - 1] > a[j]; j--) {
			t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	return n ? (n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2) : 0;
}

struct results {
	double empty_ms, off_us, off_net_us, compact_us;
	long off_moved, off_zs, off_failed, compact_moved, compact_scanned, compact_isolated;
	int off_rounds;
};

static int offline_rounds(struct results *res, double empty_ms)
{
	double us[MAX_ROUNDS], net[MAX_ROUNDS], ms, round_ms;
	long moved, zs, round_moved, round_zs;
	int r, i, err = 0, ok, counted = 0;

	for (r = 0; r < rounds; r++) {
		round_ms = 0;
		round_moved = 0;
		round_zs = 0;
		ok = 0;
		for (i = 0; i < nr_blocks; i++) {
			if (block_offline(&blocks[i], &ms, &moved, &zs)) {
				res->off_failed++;
				continue;
			}
			if (block_online(&blocks[i]))
				err = 1;
			printf("#   round %d memory%d (node %d): %ld pages migrated (%ld zsmalloc) in %.1f ms\n",
			       r + 1, blocks[i].id, blocks[i].node, moved, zs, ms);
			round_ms += ms;
			round_moved += moved;
			round_zs += zs;
			ok++;
		}
		/* A round whose blocks were emptied before has nothing to tell. */
		if (round_moved) {
			us[counted] = round_ms * 1e3 / round_moved;
			net[counted] = (round_ms - ok * empty_ms) * 1e3 / round_moved;
			printf("# offline round %d: %d blocks, %ld pages migrated (%ld zsmalloc, %.0f%%), %.1f ms: %.1f us per page, %.1f net of the empty-block cost\n",
			       r + 1, ok, round_moved, round_zs, 100.0 * round_zs / round_moved,
			       round_ms, us[counted], net[counted]);
			counted++;
		} else {
			printf("# offline round %d: %d blocks, nothing migrated (not counted)\n",
			       r + 1, ok);
		}
		res->off_moved += round_moved;
		res->off_zs += round_zs;
		zones_report("after this round");
	}
	res->off_us = median(us, counted);
	res->off_net_us = median(net, counted);
	res->off_rounds = counted;
	return err || res->off_failed;
}

static double compact(struct vm *d)
{
	struct vm v0, v1;
	double t;
	int i, err;

	vm_read(&v0);
	t = now_us();
	err = write_file("/proc/sys/vm/compact_memory", "1");
	t = now_us() - t;
	vm_read(&v1);
	if (err)
		printf("# compact_memory: %s\n", strerror(-err));
	for (i = 0; i < NR_VM; i++)
		d->v[i] = v1.v[i] - v0.v[i];
	return t;
}

static int compact_rounds(int fd, struct results *res)
{
	double us[MAX_ROUNDS], t;
	uint64_t *zero = page_buf(PAGE);
	unsigned long i;
	long holes;
	struct vm d;
	int r;

	memset(zero, 0, PAGE);
	t = compact(&d);
	printf("# compaction before the rounds (not counted): %ld pages migrated in %.1f ms\n",
	       d.v[MIG_OK], t / 1e3);
	for (r = 0; r < rounds; r++) {
		holes = 0;
		for (i = 0; i < nr_pages; i++) {
			if (punch_round(i) != r)
				continue;
			if (pwrite(fd, zero, PAGE, i * PAGE) != (ssize_t)PAGE) {
				perror("zram write");
				free(zero);
				return -1;
			}
			holes++;
		}
		punched_rounds = r + 1;
		t = compact(&d);
		us[r] = d.v[MIG_OK] ? t / d.v[MIG_OK] : 0;
		printf("# compaction round %d: %ld random pages zero-filled, then %ld pages migrated (%ld failed), %ld isolated, %ld scanned to migrate, %ld scanned for free pages, in %.1f ms: %.1f us per page, scanning included\n",
		       r + 1, holes, d.v[MIG_OK], d.v[MIG_FAIL], d.v[ISOLATED],
		       d.v[SCAN_MIGRATE], d.v[SCAN_FREE], t / 1e3, us[r]);
		res->compact_moved += d.v[MIG_OK];
		res->compact_scanned += d.v[SCAN_MIGRATE];
		res->compact_isolated += d.v[ISOLATED];
	}
	res->compact_us = median(us, rounds);
	free(zero);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct kind k0, k1, k2;
	struct results res = { 0 };
	unsigned long mib = 300;
	char proactive[32] = "";
	struct utsname u;
	long used = 0, bad, bad_offline;
	int fd, opt, failed = 0;
	struct zones z;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		if (opt == 's') {
			mib = strtoul(optarg, NULL, 0);
		} else if (opt == 'r') {
			rounds = atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [-s MiB of data] [-r rounds]\n", argv[0]);
			return 2;
		}
	}
	if (!mib || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "bad -s or -r (rounds 1 to %d)\n", MAX_ROUNDS);
		return 2;
	}
	nr_pages = mib << 20 >> 12;
	t_start = now_us();
	sigaction(SIGALRM, &sa, NULL);
	uname(&u);
	printf("# pinpage_zsmalloc_bench on %s: %lu MiB, %d rounds\n", u.release, mib, rounds);
	kind_read(&k0, 1);
	/* No proactive compaction moving pages while offlining is timed. */
	read_file("/proc/sys/vm/compaction_proactiveness", proactive, sizeof(proactive));
	write_file("/proc/sys/vm/compaction_proactiveness", "0");

	find_blocks();
	if (!nr_blocks) {
		printf("# no online block wholly in ZONE_MOVABLE (boot with movablecore=)\n");
		return 1;
	}
	phase("pre-clean of ZONE_MOVABLE");
	res.empty_ms = preclean();
	if (res.empty_ms < 0) {
		printf("# ZONE_MOVABLE could not be emptied\n");
		return 1;
	}
	zones_report("after the pre-clean");

	phase("fill");
	fd = zram_open(mib << 20 > 512UL << 20 ? mib << 20 : 512UL << 20);
	if (fd < 0 || zram_fill(fd))
		return 1;
	zram_mm_stat("after the fill", &used);
	zones_report("after the fill");
	zones_read(&z);
	kind_read(&k0, 1);

	phase("offline rounds");
	if (offline_rounds(&res, res.empty_ms))
		failed = 1;
	kind_read(&k1, 1);
	kind_delta("the offline rounds", &k0, &k1);
	bad_offline = zram_verify(fd, "after offlining");

	phase("compaction rounds");
	if (compact_rounds(fd, &res))
		failed = 1;
	kind_read(&k2, 1);
	kind_delta("the compaction rounds", &k1, &k2);
	zram_mm_stat("after compaction", NULL);
	zones_report("after compaction");

	phase("final read");
	bad = zram_verify(fd, "at the end");
	zram_close(fd);
	if (proactive[0])
		write_file("/proc/sys/vm/compaction_proactiveness", proactive);
	phase("done");

	printf("data intact: %s\n", bad || bad_offline ? "no" : "yes");
	printf("zsmalloc_cost kernel %s\n", u.release);
	printf("zsmalloc_cost pinpage_kind %s\n", k0.found ? "yes" : "no");
	printf("zsmalloc_cost zram_data_mib %lu\n", mib);
	printf("zsmalloc_cost zram_pages_used %ld\n", used);
	printf("zsmalloc_cost zspages_in_movable %ld\n", movable_sum(z.zs));
	printf("zsmalloc_cost zspages_total %ld\n", z.zs_all);
	printf("zsmalloc_cost movable_blocks %d\n", nr_blocks);
	printf("zsmalloc_cost rounds %d\n", rounds);
	printf("zsmalloc_cost offline_empty_ms_per_block %.1f\n", res.empty_ms);
	printf("zsmalloc_cost offline_rounds_counted %d\n", res.off_rounds);
	printf("zsmalloc_cost offline_us_per_page %.1f\n", res.off_us);
	printf("zsmalloc_cost offline_net_us_per_page %.1f\n", res.off_net_us);
	printf("zsmalloc_cost offline_pages_migrated %ld\n", res.off_moved);
	printf("zsmalloc_cost offline_zspages_moved %ld\n", res.off_zs);
	printf("zsmalloc_cost offline_failures %ld\n", res.off_failed);
	printf("zsmalloc_cost compact_us_per_page %.1f\n", res.compact_us);
	printf("zsmalloc_cost compact_pages_migrated %ld\n", res.compact_moved);
	printf("zsmalloc_cost compact_migrate_scanned %ld\n", res.compact_scanned);
	printf("zsmalloc_cost compact_isolated %ld\n", res.compact_isolated);
	if (k0.found && k2.found) {
		printf("zsmalloc_cost pinpage_offline_migrated %ld\n", k1.migrated - k0.migrated);
		printf("zsmalloc_cost pinpage_compact_migrated %ld\n", k2.migrated - k1.migrated);
		printf("zsmalloc_cost pinpage_refused %ld\n", k2.refused - k0.refused);
	} else {
		printf("zsmalloc_cost pinpage_offline_migrated n/a\n");
		printf("zsmalloc_cost pinpage_compact_migrated n/a\n");
		printf("zsmalloc_cost pinpage_refused n/a\n");
	}
	printf("zsmalloc_cost data_intact %s\n", bad || bad_offline ? "no" : "yes");
	return bad || bad_offline || failed ? 1 : 0;
}
