/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pinpage selftests that drive real users of pinpage
 * (pinpage_iouring.c, pinpage_aio.c): sysfs/procfs access, timing, vmstat
 * counters, compaction and memory block state.  Static functions: include
 * once per test program, after <stdio.h>, <stdlib.h>, <string.h>,
 * <fcntl.h>, <unistd.h>, <errno.h>, <stdint.h> and <time.h>.
 */
#ifndef PINPAGE_UTIL_H
#define PINPAGE_UTIL_H

#define NODE_SYSFS	"/sys/devices/system/node"
#define MEMORY_SYSFS	"/sys/devices/system/memory"
#define COMPACT_ALL	"/proc/sys/vm/compact_memory"
#define NSEC		1000000000ULL

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

#endif /* PINPAGE_UTIL_H */
