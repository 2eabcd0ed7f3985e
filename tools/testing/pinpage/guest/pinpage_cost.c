// SPDX-License-Identifier: GPL-2.0
/*
 * Measure, not assert: the cost of a long-term pin and unpin with and without an
 * owner, with vm.pinpage_migrate on and off, and the memory the owner records take
 * per owned page (from /sys/kernel/debug/pinpage/stats), for physically dense
 * pages and for pages scattered one per 2 MiB.  Prints a small table; absolute
 * times under TCG mean little, so compare the columns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "mm/gup_test.h"

#define NPAGES	1024
#define ROUNDS	10
#define PAGE	4096UL

static int gup_fd;

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int set_switch(int on)
{
	int fd = open("/proc/sys/vm/pinpage_migrate", O_WRONLY);
	int r = fd >= 0 && write(fd, on ? "1" : "0", 1) == 1;

	if (fd >= 0)
		close(fd);
	return r;
}

/* Average microseconds per page for a pin + unpin of NPAGES pages. */
static double cycle(char *buf, int owned)
{
	struct pin_longterm_test p = { .addr = (unsigned long)buf, .size = NPAGES * PAGE,
				       .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	struct pin_owned_test o = { .addr = (unsigned long)buf, .size = NPAGES * PAGE,
				    .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	double t = now_us();
	int i;

	for (i = 0; i < ROUNDS; i++) {
		if (owned ? ioctl(gup_fd, PIN_OWNED_TEST_START, &o) :
			    ioctl(gup_fd, PIN_LONGTERM_TEST_START, &p)) {
			perror("pin");
			exit(1);
		}
		if (owned)
			ioctl(gup_fd, PIN_OWNED_TEST_STOP, &o);
		else
			ioctl(gup_fd, PIN_LONGTERM_TEST_STOP);
	}
	return (now_us() - t) / ROUNDS / NPAGES;
}

static long stat_value(const char *key)
{
	char line[128], k[64];
	long v, ret = -1;
	FILE *f = fopen("/sys/kernel/debug/pinpage/stats", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	if (f)
		fclose(f);
	return ret;
}

static uint64_t pfn_of(void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || pread(fd, &e, 8, (uintptr_t)addr / PAGE * 8) != 8)
		e = 0;
	if (fd >= 0)
		close(fd);
	return (e & (1ULL << 63)) ? e & ((1ULL << 55) - 1) : 0;
}

static void print_records(const char *what)
{
	long folios = stat_value("owned_folios"), bytes = stat_value("bytes");

	printf("# records for %ld owned pages, %s: %ld bytes (%.1f bytes per owned page;"
	       " %ld xarray leaves, %ld nodes)\n", folios, what, bytes,
	       folios > 0 ? (double)bytes / folios : 0.0,
	       stat_value("xarray_leaves"), stat_value("nodes"));
}

/*
 * Owned small pages in distinct 2 MiB frames of physical memory: fault a large
 * region, keep one page per frame, and gather them into one virtual range with
 * mremap(), which keeps the physical pages.
 */
static void scattered(void)
{
	size_t big = 256UL << 20, want = 64, got = 0;
	static unsigned char frame_used[1 << 20];	/* per 2 MiB frame of PFNs */
	char *src, *dst;
	uint64_t pfn;
	size_t off;

	src = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, want * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED || madvise(src, big, MADV_NOHUGEPAGE))
		return;
	memset(src, 2, big);
	for (off = 0; off < big && got < want; off += PAGE) {
		pfn = pfn_of(src + off);
		if (!pfn || (pfn >> 9) >= sizeof(frame_used) || frame_used[pfn >> 9])
			continue;
		if (mremap(src + off, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   dst + got * PAGE) == MAP_FAILED)
			break;
		frame_used[pfn >> 9] = 1;
		got++;
	}
	munmap(src, big);
	if (got == want) {
		struct pin_owned_test o = { .addr = (unsigned long)dst, .size = got * PAGE,
					    .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };

		if (!ioctl(gup_fd, PIN_OWNED_TEST_START, &o)) {
			print_records("one per 2 MiB frame");
			ioctl(gup_fd, PIN_OWNED_TEST_STOP, &o);
		}
	} else {
		printf("# one page per 2 MiB frame: found only %zu of %zu such pages\n", got, want);
	}
	munmap(dst, want * PAGE);
}

int main(void)
{
	struct pin_owned_test o = { .size = NPAGES * PAGE,
				    .flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE };
	char *buf;
	int on;

	gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (gup_fd < 0 || access("/proc/sys/vm/pinpage_migrate", W_OK)) {
		printf("# pinpage_cost: needs gup_test and CONFIG_PINPAGE; skipped\n");
		return 4;
	}
	buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || madvise(buf, NPAGES * PAGE, MADV_NOHUGEPAGE))
		return 1;
	memset(buf, 1, NPAGES * PAGE);
	cycle(buf, 0);	/* warm up: settle the pages where long-term pins want them */
	printf("# pin+unpin of %d small pages, %d rounds, us per page (TCG):\n", NPAGES, ROUNDS);
	printf("#   %-22s %10s %10s\n", "", "unowned", "owned");
	for (on = 1; on >= 0; on--) {
		set_switch(on);
		printf("#   %-22s %10.3f %10.3f\n", on ? "pinpage_migrate=1" : "pinpage_migrate=0",
		       cycle(buf, 0), cycle(buf, 1));
	}
	set_switch(1);
	o.addr = (unsigned long)buf;
	if (!ioctl(gup_fd, PIN_OWNED_TEST_START, &o)) {
		print_records("dense");
		ioctl(gup_fd, PIN_OWNED_TEST_STOP, &o);
	}
	scattered();
	return 0;
}
