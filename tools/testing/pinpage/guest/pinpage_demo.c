// SPDX-License-Identifier: GPL-2.0
/*
 * The narrated demo scenario: what the kernel under test does with pages that are
 * pinned long term.  Pins go through the kernel's own GUP test device
 * (/sys/kernel/debug/gup_test, PIN_LONGTERM_TEST_*), migration is asked for through
 * move_pages(2), /proc/sys/vm/compact_memory, the CMA debugfs and memory offlining,
 * and every answer is counted from /proc/self/pagemap PFNs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#define NPAGES	256
#define PAGE	4096UL

static char *buf;
static uint64_t pfn[NPAGES];
static int gup_fd = -1;

static void read_pfns(uint64_t *out)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e;
	int i;

	for (i = 0; i < NPAGES; i++) {
		e = 0;
		if (fd < 0 || pread(fd, &e, 8, ((uintptr_t)buf / PAGE + i) * 8) != 8)
			e = 0;
		out[i] = (e & (1ULL << 63)) ? (e & ((1ULL << 55) - 1)) : 0;
	}
	if (fd >= 0)
		close(fd);
}

static int changed_pfns(void)
{
	uint64_t now[NPAGES];
	int i, n = 0;

	read_pfns(now);
	for (i = 0; i < NPAGES; i++) {
		n += now[i] != pfn[i];
		pfn[i] = now[i];
	}
	return n;
}

static int move_all(int node, int *busy)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES], i, moved = 0;

	for (i = 0; i < NPAGES; i++) {
		pages[i] = buf + i * PAGE;
		nodes[i] = node;
	}
	*busy = 0;
	if (syscall(SYS_move_pages, 0, NPAGES, pages, nodes, status, 0) < 0)
		return -errno;
	for (i = 0; i < NPAGES; i++) {
		if (status[i] == node)
			moved++;
		else
			(*busy)++;
	}
	return moved;
}

static int node_of_first(void)
{
	void *p = buf;
	int status = -1;

	syscall(SYS_move_pages, 0, 1, &p, NULL, &status, 0);
	return status;
}

static int contents_ok(void)
{
	int i;

	for (i = 0; i < NPAGES; i++)
		if (buf[i * PAGE] != (char)i || buf[i * PAGE + PAGE - 1] != (char)~i)
			return 0;
	return 1;
}

static int pinned_contents_ok(int owned)
{
	char *copy = malloc(NPAGES * PAGE);
	struct pin_owned_test o = { .addr = (uintptr_t)copy };
	uint64_t arg = (uintptr_t)copy;
	int ok;

	if (!copy)
		return 0;
	if (owned ? ioctl(gup_fd, PIN_OWNED_TEST_READ, &o) :
		    ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &arg))
		ok = 0;
	else
		ok = !memcmp(copy, buf, NPAGES * PAGE);
	free(copy);
	return ok;
}

/* Do the owner's pins point where the process's page tables do? */
static int owner_repointed(void)
{
	struct pin_owned_test o = { 0 };
	uint64_t theirs[NPAGES];
	int i;

	o.addr = (uintptr_t)theirs;
	if (ioctl(gup_fd, PIN_OWNED_TEST_PFNS, &o))
		return 0;
	for (i = 0; i < NPAGES; i++)
		if (theirs[i] != pfn[i])
			return 0;
	return 1;
}

static long write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	long r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val));
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

static long read_long(const char *path)
{
	char s[64] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, s, sizeof(s) - 1) < 0)
		s[0] = 0;
	close(fd);
	return strtol(s, NULL, 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static const char *try_offline(uint64_t p, char *block, size_t len)
{
	static char res[128];
	long bs;
	struct sigaction sa = { .sa_handler = on_alarm };
	char path[128];
	char s[32] = "";
	int fd;
	long r;

	fd = open("/sys/devices/system/memory/block_size_bytes", O_RDONLY);
	if (fd < 0 || read(fd, s, sizeof(s) - 1) <= 0)
		return "no memory hotplug in this kernel";
	close(fd);
	bs = strtol(s, NULL, 16);
	snprintf(block, len, "memory%lu", (unsigned long)(p * PAGE / bs));
	snprintf(path, sizeof(path), "/sys/devices/system/memory/%s/state", block);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: the write returns EINTR */
	alarm(10);
	r = write_file(path, "offline");
	alarm(0);
	if (!r) {
		write_file(path, "online_movable");
		return "offlined (and onlined again)";
	}
	snprintf(res, sizeof(res), "refused: %s%s", strerror((int)-r),
		 r == -EINTR ? " (still retrying after 10 s; stopped by a signal)" : "");
	return res;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

struct result {
	int pin_moved, mp_moved, compact_moved, in_cma, cma_ok, contents;
	const char *offline;
	double pin_us;
};

static int pin(int owned, double *us)
{
	struct pin_longterm_test p = { .addr = (uintptr_t)buf, .size = NPAGES * PAGE,
				       .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	struct pin_owned_test o = { .addr = (uintptr_t)buf, .size = NPAGES * PAGE,
				    .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE |
					     PIN_OWNED_TEST_FLAG_BOUNDED };
	double t = now_us();
	int r;

	r = owned ? ioctl(gup_fd, PIN_OWNED_TEST_START, &o) :
		    ioctl(gup_fd, PIN_LONGTERM_TEST_START, &p);
	*us = now_us() - t;
	return r;
}

static void unpin(int owned)
{
	struct pin_owned_test o = { 0 };

	if (owned)
		ioctl(gup_fd, PIN_OWNED_TEST_STOP, &o);
	else
		ioctl(gup_fd, PIN_LONGTERM_TEST_STOP);
}

static void scenario(int owned, struct result *r)
{
	struct pin_owned_test st = { 0 };
	long cma_base, cma_count;
	int i, home, other, busy;
	char block[64] = "", n[32];

	buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || madvise(buf, NPAGES * PAGE, MADV_NOHUGEPAGE)) {
		perror("mmap/madvise");
		exit(1);
	}
	for (i = 0; i < NPAGES; i++) {
		memset(buf + i * PAGE, (char)i, PAGE - 1);
		buf[i * PAGE + PAGE - 1] = (char)~i;
	}
	read_pfns(pfn);
	home = node_of_first();
	other = !home;
	printf("   %d pages (%lu KiB) of anonymous memory, filled, on node %d.\n",
	       NPAGES, NPAGES * PAGE / 1024, home);
	if (pin(owned, &r->pin_us)) {
		printf("   pinning failed: %s\n", strerror(errno));
		exit(1);
	}
	r->pin_moved = changed_pfns();
	printf("   pinned long term %s in %.0f us; %d pages were migrated at pin time.\n",
	       owned ? "by an owner with bounded isolation" : "without an owner",
	       r->pin_us, r->pin_moved);

	r->mp_moved = move_all(other, &busy);
	if (r->mp_moved < 0)
		r->mp_moved = 0;
	changed_pfns();
	printf("   move_pages(2) to node %d: %d moved, %d refused.\n", other, r->mp_moved, busy);

	write_file("/proc/sys/vm/compact_memory", "1");
	r->compact_moved = changed_pfns();
	printf("   full compaction: %d pages moved.\n", r->compact_moved);

	cma_base = read_long("/sys/kernel/debug/cma/reserved/base_pfn");
	cma_count = read_long("/sys/kernel/debug/cma/reserved/count");
	r->in_cma = 0;
	r->cma_ok = -1;
	for (i = 0; cma_count > 0 && i < NPAGES; i++)
		r->in_cma += pfn[i] >= (uint64_t)cma_base &&
			     pfn[i] < (uint64_t)(cma_base + cma_count);
	if (r->in_cma) {
		snprintf(n, sizeof(n), "%ld", cma_count);
		r->cma_ok = !write_file("/sys/kernel/debug/cma/reserved/alloc", n);
		if (r->cma_ok)
			write_file("/sys/kernel/debug/cma/reserved/free", n);
		changed_pfns();
	}
	printf("   CMA area: %d pinned pages inside it%s\n", r->in_cma,
	       !r->in_cma ? " (nothing to ask of it)." :
	       r->cma_ok ? "; allocating the whole area succeeded." :
	       "; allocating the whole area FAILED.");

	r->offline = try_offline(pfn[0], block, sizeof(block));
	changed_pfns();
	printf("   offlining %s (holds pinned page 0): %s\n", block, r->offline);

	r->contents = pinned_contents_ok(owned) && contents_ok();
	printf("   contents through the pin and through the mapping intact: %s.\n",
	       r->contents ? "yes" : "NO");
	if (owned) {
		ioctl(gup_fd, PIN_OWNED_TEST_STATUS, &st);
		printf("   the owner was asked %llu times to step aside, repointed %llu times,\n"
		       "   and its pins still match the page tables: %s.\n",
		       (unsigned long long)st.nr_isolate, (unsigned long long)st.nr_migrate,
		       owner_repointed() ? "yes" : "NO");
	}
	unpin(owned);
	munmap(buf, NPAGES * PAGE);
}

int main(void)
{
	struct result today, owned;

	setvbuf(stdout, NULL, _IOLBF, 0);
	gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (gup_fd < 0) {
		printf("cannot open /sys/kernel/debug/gup_test (%s): CONFIG_GUP_TEST missing?\n",
		       strerror(errno));
		return 4;
	}
	printf("== pinpage demo: pages pinned long term, without and with an owner ==\n\n");
	printf("A. A driver pins the pages without an owner (what Linux does today):\n");
	scenario(0, &today);
	printf("\nB. The same, pinned by a pinpage owner that can step aside:\n");
	scenario(1, &owned);
	printf("\n%-34s %12s %12s\n", "", "unowned pin", "owned pin");
	printf("%-34s %12d %12d\n", "pages migrated when pinning", today.pin_moved,
	       owned.pin_moved);
	printf("%-34s %12d %12d\n", "moved by move_pages(2), of 256", today.mp_moved,
	       owned.mp_moved);
	printf("%-34s %12d %12d\n", "moved by compaction", today.compact_moved,
	       owned.compact_moved);
	printf("%-34s %12d %12d\n", "pinned pages inside CMA", today.in_cma, owned.in_cma);
	printf("%-34s %12s %12s\n", "contents intact", today.contents ? "yes" : "NO",
	       owned.contents ? "yes" : "NO");
	printf("%-34s %12.0f %12.0f\n", "pin time (us, TCG)", today.pin_us, owned.pin_us);
	return today.contents && owned.contents ? 0 : 1;
}
