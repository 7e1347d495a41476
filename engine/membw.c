/* membw.c - streaming memory bandwidth: the speed limit of token generation, and the
 * per-CPU cache of its peak.
 *
 * Read: every thread sums its contiguous slice of a buffer much larger than the last-level
 * cache with independent accumulators (so the loop is bound by loads, not by the latency of
 * one add chain); copy: memcpy of one half of the buffer onto the other. Pages are touched
 * first by the thread that later reads them (first-touch placement). */
#include "membw.h"

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "machine.h"

/* Portable read: four uint64 accumulators; gcc -O3 vectorises this integer reduction. */
static uint64_t read_sum_generic(const uint64_t *p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}

#if defined(__x86_64__)
/* AVX2 read: four 256-bit accumulators, 128 bytes per iteration. */
__attribute__((target("avx2"))) static uint64_t read_sum_avx2(const uint64_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, a0);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + read_sum_generic(p + i, n - i);
}
#endif

static uint64_t read_sum(const uint64_t *p, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return read_sum_avx2(p, n);
#endif
    return read_sum_generic(p, n);
}

/* [begin, end) of thread t's slice of n items split over n_threads */
static void slice(size_t n, int t, int n_threads, size_t *begin, size_t *end) {
    *begin = n * (size_t)t / (size_t)n_threads;
    *end = n * (size_t)(t + 1) / (size_t)n_threads;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile uint64_t sink; /* keeps the sums alive */

/* Seconds of one read (copy = 0) or copy (copy = 1) sweep with n_threads threads. */
static double timed_sweep(uint64_t *buf, size_t words, int n_threads, int copy) {
    double t0 = 0, t1 = 0;
    uint64_t total = 0;
    const size_t half = words / 2;
#pragma omp parallel num_threads(n_threads) reduction(+ : total)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t b, e;
#pragma omp barrier
#pragma omp master
        t0 = now_seconds();
#pragma omp barrier
        if (copy) {
            slice(half, t, nt, &b, &e);
            memcpy(buf + half + b, buf + b, (e - b) * sizeof *buf);
        } else {
            slice(words, t, nt, &b, &e);
            total += read_sum(buf + b, e - b);
        }
#pragma omp barrier
#pragma omp master
        t1 = now_seconds();
    }
    sink += total;
    return t1 - t0;
}

/* Median GB/s of reps sweeps after one warm-up. */
static double median_gb_s(uint64_t *buf, size_t words, int n_threads, int copy, int reps,
                          double *times) {
    const double bytes = (double)(copy ? (words / 2) * 2 : words) * sizeof *buf;
    timed_sweep(buf, words, n_threads, copy);
    for (int r = 0; r < reps; r++) times[r] = timed_sweep(buf, words, n_threads, copy);
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    const double median = times[reps / 2];
    return median > 0 ? bytes / median / 1e9 : 0;
}

int membw_measure(int max_threads, size_t bytes, int reps, membw_result *out,
                  scarce_error *err) {
    if (max_threads < 1 || reps < 1 || bytes < 4096)
        return scarce_fail(err, "membw: need threads >= 1, reps >= 1, size >= 4 KiB");
    const size_t words = bytes / sizeof(uint64_t);
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, words * sizeof *buf))
        return scarce_fail(err, "membw: cannot allocate %zu MB", bytes >> 20);
    madvise(buf, words * sizeof *buf, MADV_HUGEPAGE); /* fewer TLB misses; a hint only */
    double *times = malloc((size_t)reps * sizeof *times);
    if (!times) {
        free(buf);
        return scarce_fail(err, "membw: out of memory");
    }
#pragma omp parallel num_threads(max_threads)
    { /* first touch by the thread whose read slice this is */
        size_t b, e;
        slice(words, omp_get_thread_num(), omp_get_num_threads(), &b, &e);
        for (size_t i = b; i < e; i++) buf[i] = i;
    }
    for (int t = 1; t <= max_threads; t++) {
        out[t - 1].n_threads = t;
        out[t - 1].read_gb_s = median_gb_s(buf, words, t, 0, reps, times);
        out[t - 1].copy_gb_s = median_gb_s(buf, words, t, 1, reps, times);
    }
    free(times);
    free(buf);
    return 0;
}

/* ---- the cache file ----------------------------------------------------------------- */

int membw_cache_path(char *out, size_t cap) {
    const char *home = getenv("HOME");
    if (!home || !*home) return -1;
    snprintf(out, cap, "%s/.cache/scarce/membw", home);
    return 0;
}

/* The cached line of this CPU: 0 with *gbs and *threads, -1 when absent. */
static int cache_lookup(double *gbs, int *threads) {
    char path[512], cpu[256], line[512];
    if (membw_cache_path(path, sizeof path)) return -1;
    cpu_model_name(cpu, sizeof cpu);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int found = -1;
    while (found && fgets(line, sizeof line, f)) {
        double g;
        int t, name_at = 0;
        line[strcspn(line, "\r\n")] = 0;
        if (sscanf(line, "%lf %d %n", &g, &t, &name_at) >= 2 && name_at &&
            !strcmp(line + name_at, cpu) && g > 0) {
            *gbs = g, *threads = t, found = 0;
        }
    }
    fclose(f);
    return found;
}

int membw_cache_store(double read_gb_s, int n_threads, scarce_error *err) {
    char path[512], tmp[560], cpu[256], line[512];
    if (membw_cache_path(path, sizeof path))
        return scarce_fail(err, "membw cache: $HOME is not set");
    cpu_model_name(cpu, sizeof cpu);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) /* mkdir -p of the file's directory */
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out) return scarce_fail(err, "membw cache %s: cannot write", tmp);
    FILE *in = fopen(path, "r");
    while (in && fgets(line, sizeof line, in)) { /* keep the other CPUs' lines */
        int name_at = 0;
        double g;
        int t;
        char copy[512];
        snprintf(copy, sizeof copy, "%s", line);
        copy[strcspn(copy, "\r\n")] = 0;
        if (sscanf(copy, "%lf %d %n", &g, &t, &name_at) >= 2 && name_at &&
            strcmp(copy + name_at, cpu))
            fprintf(out, "%s\n", copy);
    }
    if (in) fclose(in);
    fprintf(out, "%.3f %d %s\n", read_gb_s, n_threads, cpu);
    /* fsync before rename: a crash leaves the old file or the new one, never a torn one */
    const int synced = fflush(out) == 0 && fsync(fileno(out)) == 0;
    if (fclose(out) || !synced || rename(tmp, path)) {
        unlink(tmp);
        return scarce_fail(err, "membw cache %s: cannot replace", path);
    }
    return 0;
}

int membw_peak(double *gbs, int measure_if_missing) {
    int threads;
    if (!cache_lookup(gbs, &threads)) return 0;
    if (!measure_if_missing) return -1;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    int max_threads = n > 0 && n < 256 ? (int)n : 1;
    membw_result *r = calloc((size_t)max_threads, sizeof *r);
    size_t bytes = (size_t)1 << 30;
    if (bytes < 8 * llc_bytes()) bytes = 8 * llc_bytes();
    scarce_error err;
    if (!r || membw_measure(max_threads, bytes, 5, r, &err)) {
        free(r);
        return -1;
    }
    int best = 0;
    for (int t = 1; t < max_threads; t++)
        if (r[t].read_gb_s > r[best].read_gb_s) best = t;
    *gbs = r[best].read_gb_s;
    membw_cache_store(*gbs, r[best].n_threads, &err);
    free(r);
    return 0;
}
