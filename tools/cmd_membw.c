/* cmd_membw.c - scarce membw: the machine's streaming read and copy bandwidth with 1..N
 * threads; the best read figure is cached (~/.cache/scarce/membw) as the "peak" that run,
 * bench and sweep quote "% of peak" against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/scarce.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce membw [-t N] [--size MB] [-r R]\n"
            "  -t N        measure with 1..N threads (default: all cores)\n"
            "  --size MB   buffer size (default: max(1024, 8 x last-level cache))\n"
            "  -r R        timed repetitions, the median is reported (default 5)\n"
            "Read = sum of the buffer, copy = memcpy of half of it onto the other half\n"
            "(read + write bytes). GB = 1e9 bytes. The best read figure is cached as the peak.\n");
}

int cmd_membw(int argc, char **argv) {
    long n_threads = sysconf(_SC_NPROCESSORS_ONLN), reps = 5, size_mb = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), EXIT_OK;
        if (!(v = cli_value("membw", argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-t")) { if (cli_int("membw", f, v, 1, 256, &n_threads)) return EXIT_USAGE; }
        else if (!strcmp(f, "--size")) { if (cli_int("membw", f, v, 1, 1 << 20, &size_mb)) return EXIT_USAGE; }
        else if (!strcmp(f, "-r")) { if (cli_int("membw", f, v, 1, 1000, &reps)) return EXIT_USAGE; }
        else return cli_error("membw", EXIT_USAGE, "unknown option %s (see scarce membw -h)", f);
    }
    scarce_machine mach;
    scarce_machine_info(&mach);
    const size_t llc = mach.llc_bytes;
    size_t bytes = (size_t)size_mb << 20;
    if (!bytes) bytes = 8 * llc > ((size_t)1 << 30) ? 8 * llc : (size_t)1 << 30;
    printf("cpu: %s, last-level cache %zu KiB, buffer %zu MiB, median of %ld\n", mach.cpu_name,
           llc >> 10, bytes >> 20, reps);
    if (llc && bytes < 8 * llc)
        fprintf(stderr, "scarce membw: warning: buffer < 8 x last-level cache: the cache inflates the figures\n");
    scarce_membw *r = calloc((size_t)n_threads, sizeof *r);
    char msg[512];
    if (!r || scarce_membw_measure((int)n_threads, bytes, (int)reps, r, msg, sizeof msg)) {
        free(r);
        return cli_error("membw", EXIT_RUNTIME, "%s", r ? msg : "out of memory");
    }
    printf("| threads | read GB/s | copy GB/s |\n|---:|---:|---:|\n");
    int best = 0;
    for (int t = 0; t < n_threads; t++) {
        printf("| %d | %.2f | %.2f |\n", r[t].n_threads, r[t].read_gb_s, r[t].copy_gb_s);
        if (r[t].read_gb_s > r[best].read_gb_s) best = t;
    }
    char path[512] = "?";
    if (llc && bytes < 8 * llc)
        printf("(not cached: the buffer is smaller than 8 x the last-level cache)\n");
    else if (scarce_membw_store_peak(r[best].read_gb_s, r[best].n_threads, path, sizeof path, msg,
                                     sizeof msg))
        fprintf(stderr, "scarce membw: %s\n", msg);
    else
        printf("peak read %.2f GB/s (%d threads) cached in %s\n", r[best].read_gb_s,
               r[best].n_threads, path);
    free(r);
    return EXIT_OK;
}
