// SPDX-License-Identifier: GPL-2.0
/*
 * AIO ring page migration cost, for stock and patched kernels alike (run by
 * groups/aio-cost.sh, "make bench-aio"):
 *
 *   ring     move_pages(2) of one context's ring pages between two nodes,
 *            back and forth: ns per page moved.  Stock kernels move them
 *            through aio_migrate_folio(), patched ones through pinpage.
 *   anon     the same for anonymous pages, first with no AIO context alive,
 *            then with one: patched kernels look every migrated folio up
 *            while an owner that records references exists.
 *
 * Prints one "# <name>: ..." line per measurement; asserts nothing on time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define ROUNDS		40
#define RING_EVENTS	16000	/* 126 ring pages */
#define ANON_PAGES	126

static volatile char sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Move @n pages at @base to the other node @rounds times; ns per page moved. */
static double move_cost(char *base, int n, int rounds, long *moved)
{
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes)), *status = calloc(n, sizeof(*status));
	uint64_t t0, ns = 0;
	int r, i;

	*moved = 0;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			pages[i] = base + i * PAGE;
			nodes[i] = (r + 1) & 1;
			status[i] = -1000;
		}
		t0 = now_ns();
		if (syscall(__NR_move_pages, 0, n, pages, nodes, status,
			    MPOL_MF_MOVE) < 0)
			perror("move_pages");
		ns += now_ns() - t0;
		for (i = 0; i < n; i++)
			*moved += status[i] == nodes[i];
	}
	free(pages);
	free(nodes);
	free(status);
	return *moved ? (double)ns / *moved : 0;
}

static char *anon_pages(int n)
{
	char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, n * PAGE, MADV_NOHUGEPAGE);
	memset(p, 0x5a, n * PAGE);
	return p;
}

int main(void)
{
	aio_context_t ctx;
	long moved;
	double ns;
	char *anon;
	int n, it, i;

	if (numa_available() < 0 || numa_max_node() < 1) {
		printf("# pinpage_aio_bench: needs two NUMA nodes\n");
		return 4;
	}
	anon = anon_pages(ANON_PAGES);
	n = (int)(((RING_EVENTS + 2) * sizeof(struct io_event) + 32 + PAGE - 1) / PAGE);
	for (it = 0; it < 3; it++) {
		/* No AIO context: the reference-owner gate is off (after 1 s). */
		sleep(2);
		ns = move_cost(anon, ANON_PAGES, ROUNDS, &moved);
		printf("# anon_no_aio: %ld pages moved, %.0f ns/page\n", moved, ns);

		ctx = 0;
		if (syscall(__NR_io_setup, RING_EVENTS, &ctx)) {
			perror("io_setup");
			return 1;
		}
		/* Map the ring pages as a reader of the ring does. */
		for (i = 0; i < n; i++)
			sink += ((volatile char *)ctx)[i * PAGE];
		ns = move_cost((char *)ctx, n, ROUNDS, &moved);
		printf("# ring: %d ring pages, %ld pages moved, %.0f ns/page\n",
		       n, moved, ns);
		ns = move_cost(anon, ANON_PAGES, ROUNDS, &moved);
		printf("# anon_with_aio: %ld pages moved, %.0f ns/page\n", moved, ns);
		syscall(__NR_io_destroy, ctx);
	}
	return 0;
}
