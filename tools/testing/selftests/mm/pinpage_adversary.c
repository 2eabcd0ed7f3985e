// SPDX-License-Identifier: GPL-2.0
/*
 * pinpage adversaries: a process that tries to keep a memory block in
 * ZONE_MOVABLE from going offline through the pins of a pinpage owner.
 *
 * ZONE_MOVABLE and CMA promise that whatever sits there can be moved out.
 * Upstream keeps that promise for FOLL_LONGTERM pins by migrating them out
 * before they are taken; pinpage lets a bounded owner keep its pins there.
 * Each case here sets up an owner with memory in a ZONE_MOVABLE block, then
 * does what a hostile (or merely unlucky) process can do to hold the owner's
 * ->isolate() off, and requires the block to go offline within 30 seconds,
 * as it does on the stock kernel, with the owner's data intact:
 *
 *  - aio_getevents_fault_stall: an AIO ring in the block while a thread sits
 *    in io_getevents() whose events buffer faults on a userfaultfd page that
 *    nobody serves (a stalled FUSE mapping does the same).
 *  - ring_memory_register_stall: IORING_SETUP_NO_MMAP ring memory (SQ/CQ
 *    rings and SQEs) faulted in the block while another thread is stuck in
 *    IORING_REGISTER_BUFFERS on such a page, holding the ring's uring_lock.
 *  - rings_share_one_thp: the SQ/CQ rings of two NO_MMAP rings carved out of
 *    one THP in the block, as liburing's io_uring_queue_init_mem() does: two
 *    owners that copy one folio.
 *  - iouring_buf_tmpfs_write_stall: a registered buffer faulted in the
 *    block while a WRITE_FIXED from it waits in io-wq for a tmpfs inode lock
 *    that another thread holds across a fault nobody serves.
 *  - bounded_owner_revoked: a gup_test owner that declares bounded isolation
 *    and then refuses every isolation: the block cannot go offline while it
 *    refuses, but after PINPAGE_BOUND_MS of refusals the VM revokes its
 *    privilege (vmstat pinpage_bound_revoked, debugfs), and its pins leave
 *    ZONE_MOVABLE at the next isolation it agrees to.
 *
 * Needs root, two NUMA nodes are not needed; a ZONE_MOVABLE memory block
 * (movablecore=), memory hotplug, userfaultfd and (for the last case)
 * gup_test's owned pins; skips without them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <linux/magic.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>

#include "../../../../mm/gup_test.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "../kselftest_harness.h"
#pragma GCC diagnostic pop
#include "pinpage_util.h"
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

#define OWNERS_PATH	"/sys/kernel/debug/pinpage/owners"
#define GUP_TEST_PATH	"/sys/kernel/debug/gup_test"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define OFFLINE_SECS	30	/* the stock kernel offlines these blocks at once */
#define BOUND_SECS	5	/* PINPAGE_BOUND_MS in include/linux/pinpage.h */
#define RING_ENTRIES	8
#define RING_MEM	(64UL << 10)	/* of each ring's SQ/CQ rings or SQEs */
#define THP_SIZE	(2UL << 20)
#define PIN_PAGES	64
#define MAX_BLOCKS	4096
#define MAXNODE		1024
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN(e)	((e) & ((1ULL << 55) - 1))
#define KPF_THP		22

static size_t psize;

struct zone_rec {
	int node;
	unsigned long start, spanned, free;
	bool movable;
};

struct adv {
	int pagemap_fd, kpageflags_fd, uffd;
	unsigned long ppb;		/* pages per memory block */
	long offline;			/* block to online again, or -1 */
	struct zone_rec z[64];
	int nz;
	int mnode;			/* the node of the ZONE_MOVABLE with most free */
	size_t span;			/* bytes faulted there to find a window */
	char thp_was[32];		/* THP "enabled" to restore, or "" */
	signed char good[MAX_BLOCKS];	/* block can go offline: 1, 0, or -1 unknown */
};

/* --- zones, nodes, pages --- */

static int read_zones(struct adv *a)
{
	struct zone_rec cur = { .node = -1 };
	char line[256], name[16];
	unsigned long v;
	int node;
	FILE *f = fopen("/proc/zoneinfo", "r");

	a->nz = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && a->nz < 64) {
		if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
			cur = (struct zone_rec){ .node = node };
			cur.movable = !strcmp(name, "Movable");
		} else if (sscanf(line, " pages free %lu", &v) == 1) {
			cur.free = v;
		} else if (sscanf(line, " spanned %lu", &v) == 1) {
			cur.spanned = v;
		} else if (sscanf(line, " start_pfn: %lu", &v) == 1) {
			cur.start = v;
			if (cur.node >= 0 && cur.spanned)
				a->z[a->nz++] = cur;
		}
	}
	fclose(f);
	return 0;
}

static bool pfn_movable(struct adv *a, uint64_t pfn)
{
	int i;

	for (i = 0; i < a->nz; i++)
		if (a->z[i].movable && pfn >= a->z[i].start &&
		    pfn < a->z[i].start + a->z[i].spanned)
			return true;
	return false;
}

static int bind_node(int node)
{
	unsigned long mask[MAXNODE / (8 * sizeof(unsigned long))] = { 0 };

	if (node < 0)
		return syscall(__NR_set_mempolicy, MPOL_DEFAULT, NULL, 0) ? -errno : 0;
	mask[node / (8 * sizeof(unsigned long))] = 1UL << (node % (8 * sizeof(unsigned long)));
	return syscall(__NR_set_mempolicy, MPOL_BIND, mask, MAXNODE) ? -errno : 0;
}

/* The PFN of the page at @addr, or 0 if it is not present. */
static uint64_t pfn_of(struct adv *a, const void *addr)
{
	uint64_t e;

	if (pread(a->pagemap_fd, &e, sizeof(e), (uintptr_t)addr / psize * sizeof(e)) != sizeof(e))
		return 0;
	return (e & PM_PRESENT) ? PM_PFN(e) : 0;
}

/* Pages of [@addr, +@n pages) in ZONE_MOVABLE. */
static unsigned long movable_pages(struct adv *a, const char *addr, unsigned long n)
{
	unsigned long i, nr = 0;

	for (i = 0; i < n; i++)
		nr += pfn_movable(a, pfn_of(a, addr + i * psize));
	return nr;
}

static bool pfn_thp(struct adv *a, uint64_t pfn)
{
	uint64_t flags;

	if (pread(a->kpageflags_fd, &flags, sizeof(flags), pfn * sizeof(flags)) != sizeof(flags))
		return false;
	return flags & (1ULL << KPF_THP);
}

/*
 * The online ZONE_MOVABLE block without reserved pages that holds @pfn, or -1
 * (the last block of a node often holds firmware's reserved pages).
 */
static long movable_block(struct adv *a, uint64_t pfn)
{
	char path[96], state[32];
	long b;

	if (!pfn || !pfn_movable(a, pfn))
		return -1;
	b = pfn / a->ppb;
	if (b >= MAX_BLOCKS)
		return -1;
	if (a->good[b] < 0) {
		snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/state", b);
		a->good[b] = read_str(path, state, sizeof(state)) > 0 && !strcmp(state, "online") &&
			     !block_has_reserved(a->kpageflags_fd, b, a->ppb);
	}
	return a->good[b] ? b : -1;
}

/*
 * Fault @span bytes at @p on the ZONE_MOVABLE node and note the offlinable
 * block of each page in @blk (-1 for none).
 */
static int fault_movable(struct adv *a, char *p, size_t span, long *blk)
{
	size_t i;

	if (bind_node(a->mnode))
		return -1;
	memset(p, 0, span);
	bind_node(-1);
	for (i = 0; i < span / psize; i++)
		blk[i] = movable_block(a, pfn_of(a, p + i * psize));
	return 0;
}

/*
 * @len bytes of zeroed anonymous memory faulted on the ZONE_MOVABLE node (a THP
 * with @thp), all in one memory block that can go offline, in *@block: the
 * first such window of a larger mapping.  NULL if none was found.
 */
static char *map_movable(struct adv *a, size_t len, bool thp, long *block)
{
	size_t span = a->span, n = span / psize, off, i, k;
	long *blk = calloc(n, sizeof(*blk));
	char *p = mmap(NULL, span + THP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*block = -1;
	if (p == MAP_FAILED || !blk)
		return NULL;
	p = (char *)(((uintptr_t)p + THP_SIZE - 1) & ~(THP_SIZE - 1));
	madvise(p, span, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (fault_movable(a, p, span, blk))
		return NULL;
	for (off = 0; off + len <= span; off += thp ? THP_SIZE : psize) {
		i = off / psize;
		if (blk[i] < 0 || (thp && !pfn_thp(a, pfn_of(a, p + off))))
			continue;
		for (k = 1; k < len / psize && blk[i + k] == blk[i]; k++)
			;
		if (k >= len / psize) {
			/* Give the rest back: the offline then has less to move. */
			madvise(p, off, MADV_DONTNEED);
			madvise(p + off + len, span - off - len, MADV_DONTNEED);
			*block = blk[i];
			free(blk);
			return p + off;
		}
	}
	free(blk);
	return NULL;
}

/*
 * Make the next @np page allocations of this task, pinned to one CPU, come
 * from an offlinable ZONE_MOVABLE block: fault memory there, give back what
 * lies elsewhere, then @np pages of the block, which go to the head of this
 * CPU's free list.  The caller allocates at once and then calls
 * steer_end().  Returns the block, or -1.
 */
static long steer_begin(struct adv *a, unsigned long np, cpu_set_t *saved, char **mem)
{
	size_t span = a->span, n = span / psize, i, from = 0, found = 0;
	long *blk = calloc(n, sizeof(*blk)), b = -1;
	cpu_set_t one;
	char *p;

	*mem = NULL;
	if (!blk || sched_getaffinity(0, sizeof(*saved), saved))
		return -1;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(blk);
		return -1;
	}
	*mem = p;
	madvise(p, span, MADV_NOHUGEPAGE);
	if (fault_movable(a, p, span, blk)) {
		free(blk);
		return -1;
	}
	for (i = 0; i < n && found < np; i++) {
		if (blk[i] < 0 || (b >= 0 && blk[i] != b))
			continue;
		b = blk[i];
		madvise(p + from * psize, (i - from) * psize, MADV_DONTNEED);
		from = i + 1;
		found++;
	}
	madvise(p + from * psize, (n - from) * psize, MADV_DONTNEED);
	if (found < np)
		b = -1;
	/* Last, the pages in the block: the allocator hands them out first. */
	for (i = 0; b >= 0 && i < n; i++)
		if (blk[i] == b)
			madvise(p + i * psize, psize, MADV_DONTNEED);
	free(blk);
	return b;
}

static void steer_end(struct adv *a, cpu_set_t *saved, char *mem)
{
	if (mem)
		munmap(mem, a->span);
	sched_setaffinity(0, sizeof(*saved), saved);
}

/*
 * Offline memory block @b, giving up after @secs: 0, -ETIMEDOUT, or the
 * errno of the write.  The write runs in a child, killed at the deadline
 * (offline_pages() stops on a fatal signal and leaves the block online).
 */
static int offline_within(struct adv *a, long b, int secs, double *took)
{
	uint64_t t0 = now_ns();
	int status, ret;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(-block_set(b, "offline"));
	while (!waitpid(pid, &status, WNOHANG)) {
		if (now_ns() - t0 > (uint64_t)secs * NSEC) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			*took = (now_ns() - t0) / 1e9;
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
	*took = (now_ns() - t0) / 1e9;
	ret = WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
	if (!ret)
		a->offline = b;
	return ret;
}

/* --- userfaultfd: a page nobody serves --- */

/* @len bytes registered for missing faults with a new userfaultfd: NULL or the memory. */
static char *uffd_area(struct adv *a, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Not UFFD_USER_MODE_ONLY: the faults to stall are the kernel's. */
	a->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (a->uffd < 0 || ioctl(a->uffd, UFFDIO_API, &api))
		return NULL;
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	if (ioctl(a->uffd, UFFDIO_REGISTER, &reg))
		return NULL;
	return p;
}

/* Wait up to @ms for a fault on the userfaultfd: 1 pending, 0 none. */
static int uffd_pending(struct adv *a, int ms)
{
	struct pollfd pfd = { .fd = a->uffd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/* Serve the faults on [@p, +@len) with zero pages, waking the waiters. */
static int uffd_serve(struct adv *a, char *p, size_t len)
{
	struct uffdio_zeropage z = { .range = { .start = (uintptr_t)p, .len = len } };

	return ioctl(a->uffd, UFFDIO_ZEROPAGE, &z) ? -errno : 0;
}

/* --- fixture --- */

FIXTURE(adv) {
	struct adv a;
};

FIXTURE_SETUP(adv)
{
	struct adv *a = &self->a;
	unsigned long best = 0;
	int i;

	a->pagemap_fd = -1;
	a->kpageflags_fd = -1;
	a->uffd = -1;
	a->offline = -1;
	a->mnode = -1;
	memset(a->good, -1, sizeof(a->good));
	if (geteuid())
		SKIP(return, "needs root");
	if (access(OWNERS_PATH, R_OK))
		SKIP(return, "no " OWNERS_PATH " (CONFIG_PINPAGE, debugfs)");
	psize = sysconf(_SC_PAGESIZE);
	a->ppb = block_pages();
	if (!a->ppb)
		SKIP(return, "no " MEMORY_SYSFS "/block_size_bytes (memory hotplug)");
	ASSERT_EQ(0, read_zones(a));
	for (i = 0; i < a->nz; i++) {
		if (a->z[i].movable && a->z[i].free > best) {
			best = a->z[i].free;
			a->mnode = a->z[i].node;
		}
	}
	if (best < (64UL << 20) / psize)
		SKIP(return, "no ZONE_MOVABLE with 64 MiB free (boot with movablecore=)");
	/*
	 * Fault three quarters of that zone's free memory when looking for
	 * pages in a block that can go offline: the allocator may hand out a
	 * whole block that cannot (firmware's reserved pages) first.
	 */
	a->span = (best * psize / 4 * 3) & ~(THP_SIZE - 1);
	a->pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, a->pagemap_fd);
	a->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	ASSERT_LE(0, a->kpageflags_fd);
}

FIXTURE_TEARDOWN(adv)
{
	struct adv *a = &self->a;

	if (a->offline >= 0 && block_set(a->offline, "online_movable"))
		TH_LOG("onlining memory%ld again failed", a->offline);
	if (a->thp_was[0] && write_str(THP_ENABLED, a->thp_was))
		TH_LOG("restoring " THP_ENABLED " failed");
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->kpageflags_fd >= 0)
		close(a->kpageflags_fd);
	if (a->pagemap_fd >= 0)
		close(a->pagemap_fd);
}

/* --- AIO --- */

struct getter {
	aio_context_t ctx;
	struct io_event *ev;
	long ret;
	int err;
};

static void *getter_fn(void *arg)
{
	struct getter *g = arg;

	g->ret = syscall(__NR_io_getevents, g->ctx, 1, 1, g->ev, NULL);
	g->err = g->ret < 0 ? errno : 0;
	return NULL;
}

TEST_F_TIMEOUT(adv, aio_getevents_fault_stall, 120)
{
	struct adv *a = &self->a;
	struct getter g = { 0 };
	struct iocb cb = { 0 }, *cbs[1] = { &cb };
	char path[] = "/tmp/pinpage_adv_XXXXXX", *buf, *ev, *mem;
	unsigned long i, np;
	cpu_set_t cpus;
	volatile char *ring;
	pthread_t t;
	double took;
	long b = -1;
	int fd, try, ret;

	ev = uffd_area(a, psize);
	if (!ev)
		SKIP(return, "userfaultfd without UFFD_USER_MODE_ONLY: %s", strerror(errno));
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	unlink(path);
	buf = aligned_alloc(psize, psize);
	ASSERT_NE(NULL, buf);
	memset(buf, 0xa5, psize);

	/* A ring whose header page lies in an offlinable ZONE_MOVABLE block. */
	for (try = 0; try < 5 && b < 0; try++) {
		if (g.ctx)
			syscall(__NR_io_destroy, g.ctx);
		g.ctx = 0;
		steer_begin(a, 8, &cpus, &mem);
		ASSERT_EQ(0, bind_node(a->mnode));
		ret = syscall(__NR_io_setup, 64, &g.ctx);
		bind_node(-1);
		steer_end(a, &cpus, mem);
		ASSERT_EQ(0, ret) TH_LOG("io_setup: %s", strerror(errno));
		ring = (volatile char *)g.ctx;
		np = (((unsigned int *)ring)[1] + 1) * sizeof(struct io_event) / psize;
		for (i = 0; i < np; i++)
			(void)ring[i * psize];
		b = movable_block(a, pfn_of(a, (void *)g.ctx));
	}
	if (b < 0)
		SKIP(return, "no AIO ring page in an offlinable ZONE_MOVABLE block");
	TH_LOG("AIO ring header at pfn %#llx, memory%ld",
	       (unsigned long long)pfn_of(a, (void *)g.ctx), b);

	/* One completed write: an event waits in the ring. */
	cb.aio_fildes = fd;
	cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = psize;
	cb.aio_data = 0x1234;
	ASSERT_EQ(1, syscall(__NR_io_submit, g.ctx, 1, cbs))
		TH_LOG("io_submit: %s", strerror(errno));

	/* A reader copies it out to a page that faults and is never served. */
	g.ev = (struct io_event *)ev;
	ASSERT_EQ(0, pthread_create(&t, NULL, getter_fn, &g));
	ASSERT_EQ(1, uffd_pending(a, 10000))
		TH_LOG("io_getevents() did not fault on its events buffer");

	ret = offline_within(a, b, OFFLINE_SECS, &took);
	TH_LOG("offline of memory%ld with io_getevents() stalled in a fault: %s after %.1f s", b,
	       ret ? strerror(-ret) : "done", took);

	/* Let the reader go: the event, exactly once, from the moved ring. */
	ASSERT_EQ(0, uffd_serve(a, ev, psize));
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("the block did not go offline within %d s", OFFLINE_SECS);
	ASSERT_EQ(1, g.ret) TH_LOG("io_getevents: %ld (%s)", g.ret, strerror(g.err));
	ASSERT_EQ(0x1234ULL, g.ev->data);
	ASSERT_EQ((long long)psize, g.ev->res);
	ASSERT_NE(b, (long)(pfn_of(a, (void *)g.ctx) / a->ppb));
	ASSERT_EQ(0, syscall(__NR_io_destroy, g.ctx));
	close(fd);
	free(buf);
}

/* --- io_uring NO_MMAP rings, driven by hand --- */

struct raw {
	int fd;
	char *rings;
	struct io_uring_sqe *sqes;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

static int raw_setup(struct raw *r, char *rings, char *sqes)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_NO_MMAP;
	p.sq_off.user_addr = (uintptr_t)sqes;
	p.cq_off.user_addr = (uintptr_t)rings;
	r->fd = syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
	if (r->fd < 0)
		return -errno;
	r->rings = rings;
	r->sqes = (struct io_uring_sqe *)sqes;
	r->sq_tail = (unsigned int *)(rings + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(rings + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(rings + p.sq_off.array);
	r->cq_head = (unsigned int *)(rings + p.cq_off.head);
	r->cq_tail = (unsigned int *)(rings + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(rings + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
	return 0;
}

/* Queue @sqe on @r and submit it without waiting: 0 or -errno. */
static int raw_push(struct raw *r, const struct io_uring_sqe *sqe)
{
	unsigned int tail = __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED);
	unsigned int idx = tail & *r->sq_mask;
	int ret;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	ret = syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0);
	if (ret != 1)
		return ret < 0 ? -errno : -EIO;
	return 0;
}

/* Wait for the next CQE of @r and consume it: its res in *@res, 0 or -errno. */
static int raw_reap(struct raw *r, uint64_t *data, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned int head;

	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) &&
	    syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -EIO;
	cqe = &r->cqes[head & *r->cq_mask];
	*data = cqe->user_data;
	*res = cqe->res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

/* One NOP through @r: 0 when its CQE came back with @data, else -errno or -EIO. */
static int raw_nop(struct raw *r, uint64_t data)
{
	struct io_uring_sqe sqe = { .opcode = IORING_OP_NOP, .user_data = data };
	uint64_t got;
	int ret, res;

	ret = raw_push(r, &sqe);
	if (!ret)
		ret = raw_reap(r, &got, &res);
	if (ret)
		return ret;
	return got == data && !res ? 0 : -EIO;
}

struct registrar {
	int fd;
	struct iovec iov;
	long ret;
	int err;
};

static void *registrar_fn(void *arg)
{
	struct registrar *rg = arg;

	rg->ret = syscall(__NR_io_uring_register, rg->fd, IORING_REGISTER_BUFFERS, &rg->iov, 1);
	rg->err = rg->ret < 0 ? errno : 0;
	return NULL;
}

TEST_F_TIMEOUT(adv, ring_memory_register_stall, 120)
{
	struct adv *a = &self->a;
	unsigned long npg = RING_MEM / psize;
	struct registrar rg = { 0 };
	struct raw r = { .fd = -1 };
	char *rings, *sqes, *stall;
	pthread_t t;
	double took;
	long b;
	int ret;

	stall = uffd_area(a, psize);
	if (!stall)
		SKIP(return, "userfaultfd without UFFD_USER_MODE_ONLY: %s", strerror(errno));
	rings = map_movable(a, 2 * RING_MEM, false, &b);
	if (!rings)
		SKIP(return, "no ring memory in an offlinable ZONE_MOVABLE block");
	sqes = rings + RING_MEM;
	TH_LOG("SQ/CQ ring memory faulted at pfn %#llx, memory%ld",
	       (unsigned long long)pfn_of(a, rings), b);

	ret = raw_setup(&r, rings, sqes);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup(IORING_SETUP_NO_MMAP): %s", strerror(-ret));
	ASSERT_EQ(0, raw_nop(&r, 1));
	TH_LOG("after setup: %lu of %lu ring pages and %lu of %lu SQE pages in ZONE_MOVABLE",
	       movable_pages(a, rings, npg), npg, movable_pages(a, sqes, npg), npg);

	/* A registration that faults, and holds uring_lock, for as long as we like. */
	rg.fd = r.fd;
	rg.iov.iov_base = stall;
	rg.iov.iov_len = psize;
	ASSERT_EQ(0, pthread_create(&t, NULL, registrar_fn, &rg));
	ASSERT_EQ(1, uffd_pending(a, 10000))
		TH_LOG("IORING_REGISTER_BUFFERS did not fault on the buffer");

	ret = offline_within(a, b, OFFLINE_SECS, &took);
	TH_LOG("offline of memory%ld with a registration stalled in a fault: %s after %.1f s", b,
	       ret ? strerror(-ret) : "done", took);
	ASSERT_EQ(0, uffd_serve(a, stall, psize));
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret) TH_LOG("the block did not go offline within %d s", OFFLINE_SECS);
	ASSERT_EQ(0, rg.ret) TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(rg.err));
	ASSERT_EQ(0, syscall(__NR_io_uring_register, r.fd, IORING_UNREGISTER_BUFFERS, NULL, 0));
	ASSERT_EQ(0, raw_nop(&r, 2)) TH_LOG("the ring works after the offline");
	close(r.fd);
}

TEST_F_TIMEOUT(adv, rings_share_one_thp, 120)
{
	struct adv *a = &self->a;
	struct raw r1 = { .fd = -1 }, r2 = { .fd = -1 };
	char *thp, *sqes;
	uint64_t pfn;
	double took;
	long b;
	int ret;

	if (read_str(THP_ENABLED, a->thp_was, sizeof(a->thp_was)) <= 0)
		SKIP(return, "no " THP_ENABLED);
	if (strstr(a->thp_was, "[never]")) {
		ASSERT_EQ(0, write_str(THP_ENABLED, "madvise"));
		snprintf(a->thp_was, sizeof(a->thp_was), "never");
	} else {
		a->thp_was[0] = '\0';
	}
	thp = map_movable(a, THP_SIZE, true, &b);
	if (!thp)
		SKIP(return, "no THP in an offlinable ZONE_MOVABLE block");
	sqes = thp + 4 * RING_MEM;
	pfn = pfn_of(a, thp);
	TH_LOG("THP at pfn %#llx, memory%ld", (unsigned long long)pfn, b);

	/* Both rings' SQ/CQ memory in the one THP, as io_uring_queue_init_mem() carves it. */
	ret = raw_setup(&r1, thp, sqes);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup #1: %s", strerror(-ret));
	ret = raw_setup(&r2, thp + RING_MEM, sqes + RING_MEM);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup #2: %s", strerror(-ret));
	ASSERT_EQ(0, raw_nop(&r1, 1));
	ASSERT_EQ(0, raw_nop(&r2, 1));

	ret = offline_within(a, b, OFFLINE_SECS, &took);
	TH_LOG("offline of memory%ld with two rings in one THP: %s after %.1f s", b,
	       ret ? strerror(-ret) : "done", took);
	ASSERT_EQ(0, ret) TH_LOG("the block did not go offline within %d s", OFFLINE_SECS);
	ASSERT_EQ(0, raw_nop(&r1, 2));
	ASSERT_EQ(0, raw_nop(&r2, 2));
	close(r1.fd);
	close(r2.fd);
}

/* --- io_uring registered buffers --- */

struct writer {
	int fd;
	const char *src;
	ssize_t ret;
	int err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	w->ret = pwrite(w->fd, w->src, psize, 0);
	w->err = w->ret < 0 ? errno : 0;
	return NULL;
}

/*
 * A registered buffer whose page was faulted in the block, and a
 * WRITE_FIXED from it to a tmpfs file whose inode lock another thread holds
 * across a fault that nobody serves (write() takes the lock, then faults on
 * its source): the request sits in io-wq, in flight on the buffer, for as
 * long as the process likes.  Tmpfs writes once counted as "bounded" use
 * that kept the buffer in ZONE_MOVABLE.
 */
TEST_F_TIMEOUT(adv, iouring_buf_tmpfs_write_stall, 120)
{
	struct adv *a = &self->a;
	struct io_uring_sqe sqe = { 0 };
	struct raw r = { .fd = -1 };
	struct writer w = { .fd = -1 };
	char *stall, *buf, *rings, *back;
	struct iovec iov;
	uint64_t data = 0;
	unsigned long i;
	int res = 0, ret, reap;
	pthread_t t;
	double took;
	long b;

	stall = uffd_area(a, psize);
	if (!stall)
		SKIP(return, "userfaultfd without UFFD_USER_MODE_ONLY: %s", strerror(errno));
	buf = map_movable(a, psize, false, &b);
	if (!buf)
		SKIP(return, "no page in an offlinable ZONE_MOVABLE block");
	for (i = 0; i < psize; i++)
		buf[i] = (char)(i * 7 + 3);
	TH_LOG("buffer faulted at pfn %#llx, memory%ld", (unsigned long long)pfn_of(a, buf), b);
	rings = mmap(NULL, 2 * RING_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		     0);
	ASSERT_NE(MAP_FAILED, rings);
	ret = raw_setup(&r, rings, rings + RING_MEM);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_setup(IORING_SETUP_NO_MMAP): %s", strerror(-ret));
	iov = (struct iovec){ buf, psize };
	ASSERT_EQ(0, syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	TH_LOG("after registration: the buffer at pfn %#llx (%s ZONE_MOVABLE)",
	       (unsigned long long)pfn_of(a, buf), movable_pages(a, buf, 1) ? "in" : "out of");

	w.fd = memfd_create("pinpage_adversary", MFD_CLOEXEC);
	ASSERT_LE(0, w.fd) TH_LOG("memfd_create: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(w.fd, 2 * psize));
	w.src = stall;
	ASSERT_EQ(0, pthread_create(&t, NULL, writer_fn, &w));
	ASSERT_EQ(1, uffd_pending(a, 10000)) TH_LOG("write() did not fault on its source");

	sqe.opcode = IORING_OP_WRITE_FIXED;
	sqe.fd = w.fd;
	sqe.addr = (uintptr_t)buf;
	sqe.len = psize;
	sqe.off = psize;
	sqe.buf_index = 0;
	sqe.user_data = 7;
	ret = raw_push(&r, &sqe);
	ASSERT_EQ(0, ret) TH_LOG("submitting WRITE_FIXED: %s", strerror(-ret));
	usleep(300000);
	ASSERT_EQ(*r.cq_head, __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE))
		TH_LOG("WRITE_FIXED did not wait for the inode lock");

	ret = offline_within(a, b, OFFLINE_SECS, &took);
	TH_LOG("offline of memory%ld with WRITE_FIXED waiting for a stalled inode lock: %s after %.1f s",
	       b, ret ? strerror(-ret) : "done", took);
	ASSERT_EQ(0, uffd_serve(a, stall, psize));
	pthread_join(t, NULL);
	reap = raw_reap(&r, &data, &res);
	ASSERT_EQ(0, ret) TH_LOG("the block did not go offline within %d s", OFFLINE_SECS);
	ASSERT_EQ(0, reap) TH_LOG("waiting for WRITE_FIXED: %s", strerror(-reap));
	ASSERT_EQ((ssize_t)psize, w.ret) TH_LOG("write(): %s", strerror(w.err));
	ASSERT_EQ(7ULL, data);
	ASSERT_EQ((int)psize, res) TH_LOG("WRITE_FIXED: %s", strerror(-res));
	back = malloc(psize);
	ASSERT_NE(NULL, back);
	ASSERT_EQ((ssize_t)psize, pread(w.fd, back, psize, psize));
	for (i = 0; i < psize; i++)
		ASSERT_EQ((char)(i * 7 + 3), back[i]) TH_LOG("WRITE_FIXED wrote other data at %lu", i);
	ASSERT_EQ(0, memcmp(back, buf, psize)) TH_LOG("the buffer lost its data");
	ASSERT_EQ(0UL, movable_pages(a, buf, 1)) TH_LOG("the registered buffer is in ZONE_MOVABLE");
	free(back);
	close(w.fd);
	close(r.fd);
	munmap(rings, 2 * RING_MEM);
}

/* --- the VM checks the promise: a bounded owner that refuses loses it --- */

static long owners_bounded(const char *kind, int *bounded)
{
	char line[256], k[64];
	int bnd, n = 0;
	FILE *f = fopen(OWNERS_PATH, "r");

	*bounded = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%*s %63s %d", k, &bnd) != 2 || strcmp(k, kind))
			continue;
		n++;
		*bounded += bnd;
	}
	fclose(f);
	return n;
}

TEST_F_TIMEOUT(adv, bounded_owner_revoked, 180)
{
	struct adv *a = &self->a;
	struct pin_owned_test args = { .owner = 0 };
	uint64_t pfns[PIN_PAGES];
	long long revoked0, revoked1;
	char *buf, *copy;
	int gup_fd, bounded, i, ret;
	double took;
	long b;

	gup_fd = open(GUP_TEST_PATH, O_RDWR);
	if (gup_fd < 0)
		SKIP(return, GUP_TEST_PATH ": %s (CONFIG_GUP_TEST)", strerror(errno));
	buf = map_movable(a, PIN_PAGES * psize, false, &b);
	if (!buf)
		SKIP(return, "no buffer in an offlinable ZONE_MOVABLE block");
	copy = malloc(PIN_PAGES * psize);
	ASSERT_NE(NULL, copy);
	for (i = 0; i < PIN_PAGES; i++)
		memset(buf + i * psize, i + 1, psize);

	args.addr = (uintptr_t)buf;
	args.size = PIN_PAGES * psize;
	args.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_OWNED_TEST_FLAG_BOUNDED;
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_START, &args))
		TH_LOG("PIN_OWNED_TEST_START: %s", strerror(errno));
	ASSERT_EQ(1, owners_bounded("gup_test_bounded", &bounded));
	ASSERT_EQ(1, bounded);
	ASSERT_EQ((unsigned long)PIN_PAGES, movable_pages(a, buf, PIN_PAGES))
		TH_LOG("a bounded owner's pins stay in ZONE_MOVABLE");

	/* It refuses every isolation: the offline waits, and the VM notices. */
	args.flags = PIN_OWNED_TEST_FLAG_REFUSE;
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_CONFIG, &args));
	revoked0 = vmstat_get("pinpage_bound_revoked");
	ASSERT_LE(0, revoked0) TH_LOG("no pinpage_bound_revoked in /proc/vmstat");
	ret = offline_within(a, b, BOUND_SECS + 10, &took);
	TH_LOG("offline of memory%ld while the owner refuses: %s after %.1f s", b,
	       ret ? strerror(-ret) : "done", took);
	ASSERT_EQ(-ETIMEDOUT, ret);
	revoked1 = vmstat_get("pinpage_bound_revoked");
	ASSERT_EQ(revoked0 + 1, revoked1) TH_LOG("pinpage_bound_revoked did not count the owner");
	ASSERT_EQ(1, owners_bounded("gup_test_bounded", &bounded));
	ASSERT_EQ(0, bounded) TH_LOG("the owner still counts as bounded in " OWNERS_PATH);

	/* It agrees again: the block goes offline, and the pins leave ZONE_MOVABLE. */
	args.flags = 0;
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_CONFIG, &args));
	ret = offline_within(a, b, OFFLINE_SECS, &took);
	TH_LOG("offline of memory%ld once the owner agrees: %s after %.1f s", b,
	       ret ? strerror(-ret) : "done", took);
	ASSERT_EQ(0, ret);
	args.addr = (uintptr_t)pfns;
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_PFNS, &args));
	for (i = 0; i < PIN_PAGES && !pfn_movable(a, pfns[i]); i++)
		;
	ASSERT_EQ(PIN_PAGES, i)
		TH_LOG("page %d of a revoked owner moved to pfn %#llx in ZONE_MOVABLE", i,
		       (unsigned long long)pfns[i % PIN_PAGES]);
	args.addr = (uintptr_t)copy;
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_READ, &args));
	for (i = 0; i < PIN_PAGES; i++)
		ASSERT_EQ(i + 1, copy[i * psize + psize - 1])
			TH_LOG("page %d lost its contents", i);
	ASSERT_EQ(0, ioctl(gup_fd, PIN_OWNED_TEST_STOP, &args));
	close(gup_fd);
	free(copy);
}

TEST_HARNESS_MAIN
