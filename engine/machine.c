/* machine.c - the clock, the last-level cache size and the CPU name, from the OS. */
#include "machine.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "8192K" -> 8388608 */
static size_t parse_size(const char *text) {
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end == 'K')
        v <<= 10;
    else if (*end == 'M')
        v <<= 20;
    else if (*end == 'G')
        v <<= 30;
    return (size_t)v;
}

size_t llc_bytes(void) {
    size_t best = 0;
    for (int i = 0; i < 16; i++) {
        char path[96], line[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(line, sizeof line, f)) {
            size_t size = parse_size(line); /* the last level is the largest */
            if (size > best) best = size;
        }
        fclose(f);
    }
    return best;
}

void cpu_model_name(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        snprintf(out, cap, "%s", colon);
        out[strcspn(out, "\r\n")] = 0;
        break;
    }
    fclose(f);
}

/* The integer in a sysfs file, or -1. */
static long read_long(const char *path) {
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f && fscanf(f, "%ld", &v) != 1) v = -1;
    if (f) fclose(f);
    return v;
}

int cpu_physical_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set)) return 1;
    const int n_cpus = CPU_COUNT(&set);
    /* (package << 32 | core) of each allowed CPU; SMT siblings share one */
    enum { MAX_CORES = 1024 };
    long long seen[MAX_CORES];
    int n_cores = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        long core = read_long(path);
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        long package = read_long(path);
        if (core < 0 || package < 0 || n_cores == MAX_CORES) return n_cpus > 0 ? n_cpus : 1;
        long long key = (long long)package << 32 | (long long)core;
        int known = 0;
        for (int i = 0; i < n_cores && !known; i++) known = seen[i] == key;
        if (!known) seen[n_cores++] = key;
    }
    return n_cores > 0 ? n_cores : (n_cpus > 0 ? n_cpus : 1);
}
