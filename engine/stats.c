/* stats.c - clocks, per-token figures, and the machine facts they are compared to
 * (last-level cache size, CPU name, cached peak bandwidth). */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

run_stats stats_delta(const run_stats *after, const run_stats *before) {
    return (run_stats){
        .weight_bytes = after->weight_bytes - before->weight_bytes,
        .kv_bytes = after->kv_bytes - before->kv_bytes,
        .flops = after->flops - before->flops,
        .tokens = after->tokens - before->tokens,
        .passes = after->passes - before->passes,
        .t_forward = after->t_forward - before->t_forward,
        .t_matmul = after->t_matmul - before->t_matmul,
        .t_attention = after->t_attention - before->t_attention,
        .decode = {after->decode.weight_bytes - before->decode.weight_bytes,
                   after->decode.kv_bytes - before->decode.kv_bytes,
                   after->decode.flops - before->decode.flops,
                   after->decode.tokens - before->decode.tokens,
                   after->decode.passes - before->decode.passes,
                   after->decode.t_forward - before->decode.t_forward,
                   after->decode.t_matmul - before->decode.t_matmul,
                   after->decode.t_attention - before->decode.t_attention},
    };
}

void stats_count_decode(run_stats *s, const run_stats *before) {
    decode_counters *d = &s->decode;
    d->weight_bytes += s->weight_bytes - before->weight_bytes;
    d->kv_bytes += s->kv_bytes - before->kv_bytes;
    d->flops += s->flops - before->flops;
    d->tokens += s->tokens - before->tokens;
    d->passes += s->passes - before->passes;
    d->t_forward += s->t_forward - before->t_forward;
    d->t_matmul += s->t_matmul - before->t_matmul;
    d->t_attention += s->t_attention - before->t_attention;
}

run_stats stats_decode_part(const run_stats *s) {
    const decode_counters *d = &s->decode;
    return (run_stats){.weight_bytes = d->weight_bytes, .kv_bytes = d->kv_bytes,
                       .flops = d->flops, .tokens = d->tokens, .passes = d->passes,
                       .t_forward = d->t_forward, .t_matmul = d->t_matmul,
                       .t_attention = d->t_attention};
}

run_stats stats_batched_part(const run_stats *s) {
    const run_stats d = stats_decode_part(s);
    return stats_delta(s, &d);
}

phase_figures stats_figures(const run_stats *phase, double seconds) {
    phase_figures f = {.tokens = phase->tokens, .seconds = seconds};
    if (!phase->tokens) return f;
    const double n = (double)phase->tokens;
    f.tok_s = seconds > 0 ? n / seconds : 0;
    f.weight_bytes_per_token = phase->weight_bytes / n;
    f.kv_bytes_per_token = phase->kv_bytes / n;
    f.flops_per_token = phase->flops / n;
    const double bytes = f.weight_bytes_per_token + f.kv_bytes_per_token;
    f.achieved_gb_s = bytes * f.tok_s / 1e9;
    f.intensity = bytes > 0 ? f.flops_per_token / bytes : 0;
    return f;
}

/* "8192K" -> 8388608 */
static size_t parse_size(const char *text) {
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end == 'K') v <<= 10;
    else if (*end == 'M') v <<= 20;
    else if (*end == 'G') v <<= 30;
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
    if (membw_cache_path(path, sizeof path)) return scarce_fail(err, "membw cache: $HOME is not set");
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
    if (fclose(out) || rename(tmp, path)) {
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
