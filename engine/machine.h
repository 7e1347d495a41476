/* machine.h - facts about the machine a run happens on: a monotonic clock, the size of
 * the last-level cache and the CPU's model name. Read from the OS on each call; nothing
 * is cached. */
#ifndef SCARCE_MACHINE_H
#define SCARCE_MACHINE_H

#include <stddef.h>

/* Seconds on CLOCK_MONOTONIC: only differences mean anything. */
double now_seconds(void);

/* Size of the last-level cache in bytes from /sys/devices/system/cpu/cpu0/cache (0 when
 * unknown). */
size_t llc_bytes(void);

/* "model name" of /proc/cpuinfo (or "unknown"), written to out. */
void cpu_model_name(char *out, size_t cap);

/* Physical cores among the CPUs this process may run on (sched_getaffinity): distinct
 * (package, core) pairs of their sysfs topology, so SMT siblings count once. Falls back to
 * the number of those CPUs when the topology cannot be read; at least 1. */
int cpu_physical_cores(void);

#endif
