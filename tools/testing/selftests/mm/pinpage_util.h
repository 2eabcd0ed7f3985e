/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pinpage selftests that drive real users of pinpage
 * (pinpage_iouring.c, pinpage_aio.c): sysfs/procfs access, timing, vmstat
 * counters, compaction and memory block state, tmpfs files and zram
 * devices.  Static functions: include once per test program, after
 * <stdio.h>, <stdlib.h>, <string.h>, <fcntl.h>, <unistd.h>, <errno.h>,
 * <stdint.h>, <stdbool.h>, <time.h>, <sys/statfs.h> and <linux/magic.h>.
 */
#ifndef PINPAGE_UTIL_H
#define PINPAGE_UTIL_H

#define NODE_SYSFS	"/sys/devices/system/node"
#define MEMORY_SYSFS	"/sys/devices/system/memory"
#define COMPACT_ALL	"/proc/sys/vm/compact_memory"
#define ZRAM_CONTROL	"/sys/class/zram-control"
#define NSEC		1000000000ULL
#define KPF_RESERVED	32

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* Read @path into @buf, trailing blanks cut: its length, or -errno. */
static inline int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

/* Write @val to @path in one write(): 0, or -errno. */
static inline int write_str(const char *path, const char *val)
{
	ssize_t n, len = strlen(val);
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : (n == len ? 0 : -EIO);
}

static inline long long read_ll(const char *path)
{
	char buf[64];

	return read_str(path, buf, sizeof(buf)) > 0 ? strtoll(buf, NULL, 0) : -1;
}

/* A /proc/vmstat counter, or -1 (a kernel without pinpage has none). */
static inline long long vmstat_get(const char *key)
{
	long long val, ret = -1;
	char name[64];
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (ret < 0 && fscanf(f, "%63s %lld", name, &val) == 2)
		if (!strcmp(name, key))
			ret = val;
	fclose(f);
	return ret;
}

/* A 64-bit mixer (splitmix64's finaliser), for contents that say where they belong. */
static inline uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* One compaction pass: of @node on even passes, of all nodes on odd ones. */
static inline int compact_pass(int node, int pass)
{
	char path[64];

	snprintf(path, sizeof(path), NODE_SYSFS "/node%d/compact", node);
	if (pass & 1 || access(path, W_OK))
		snprintf(path, sizeof(path), COMPACT_ALL);
	return write_str(path, "1");
}

/* Pages per memory block, or 0. */
static inline unsigned long block_pages(void)
{
	char buf[64];

	if (read_str(MEMORY_SYSFS "/block_size_bytes", buf, sizeof(buf)) < 0)
		return 0;
	return strtoul(buf, NULL, 16) / sysconf(_SC_PAGESIZE);
}

/* Set memory block @block "online", "offline", ...: 0 or -errno. */
static inline int block_set(long block, const char *state)
{
	char path[128];

	snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%ld/state", block);
	return write_str(path, state);
}

/*
 * Does memory block @block (of @ppb pages) hold a reserved page, or one
 * whose flags cannot be read from /proc/kpageflags (open at @kpageflags_fd)?
 */
static inline bool block_has_reserved(int kpageflags_fd, long block, unsigned long ppb)
{
	uint64_t flags[4096];
	unsigned long pfn, n, i;

	for (pfn = block * ppb; pfn < (block + 1) * ppb; pfn += n) {
		n = (block + 1) * ppb - pfn;
		if (n > 4096)
			n = 4096;
		if (pread(kpageflags_fd, flags, n * 8, pfn * 8) != (ssize_t)(n * 8))
			return true;
		for (i = 0; i < n; i++)
			if (flags[i] & (1ULL << KPF_RESERVED))
				return true;
	}
	return false;
}

/* An unlinked file of @size bytes on tmpfs (/tmp or /dev/shm): its fd, or -errno. */
static inline int tmpfs_open(off_t size)
{
	static const char * const dirs[] = { "/tmp", "/dev/shm" };
	struct statfs sfs;
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fd = open(dirs[i], O_TMPFILE | O_RDWR, 0600);
		if (fd < 0)
			continue;
		if (!fstatfs(fd, &sfs) && sfs.f_type == TMPFS_MAGIC && !ftruncate(fd, size))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/*
 * A new zram device of 64 MiB (zram0 may be someone's swap), opened
 * O_DIRECT: its fd, or -errno.  Its number goes to @id as soon as it exists,
 * so that a caller can remove it even when a later step failed.
 */
static inline int zram_open(int *id)
{
	char path[64], buf[16];
	int ret, fd, i;

	ret = read_str(ZRAM_CONTROL "/hot_add", buf, sizeof(buf));
	if (ret <= 0)
		return ret ? ret : -EIO;
	*id = atoi(buf);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", *id);
	ret = write_str(path, "64M");
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/dev/zram%d", *id);
	for (i = 0; i < 100 && access(path, F_OK); i++)
		usleep(20000);		/* devtmpfs creates the node */
	fd = open(path, O_RDWR | O_DIRECT);
	return fd < 0 ? -errno : fd;
}

#endif /* PINPAGE_UTIL_H */
