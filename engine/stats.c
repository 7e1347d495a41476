/* stats.c - run counters: differences, the decode / batched split, per-token figures. */
#include "stats.h"

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
        .mm_work = after->mm_work - before->mm_work,
        .mm_thread_work = after->mm_thread_work - before->mm_thread_work,
        .decode = {after->decode.weight_bytes - before->decode.weight_bytes,
                   after->decode.kv_bytes - before->decode.kv_bytes,
                   after->decode.flops - before->decode.flops,
                   after->decode.tokens - before->decode.tokens,
                   after->decode.passes - before->decode.passes,
                   after->decode.t_forward - before->decode.t_forward,
                   after->decode.t_matmul - before->decode.t_matmul,
                   after->decode.t_attention - before->decode.t_attention,
                   after->decode.mm_work - before->decode.mm_work,
                   after->decode.mm_thread_work - before->decode.mm_thread_work},
    };
}

/* d += e, the decode counters */
static void add_decode(decode_counters *d, const decode_counters *e) {
    d->weight_bytes += e->weight_bytes, d->kv_bytes += e->kv_bytes, d->flops += e->flops;
    d->tokens += e->tokens, d->passes += e->passes, d->t_forward += e->t_forward;
    d->t_matmul += e->t_matmul, d->t_attention += e->t_attention;
    d->mm_work += e->mm_work, d->mm_thread_work += e->mm_thread_work;
}

run_stats stats_add(run_stats a, const run_stats *b) {
    a.weight_bytes += b->weight_bytes, a.kv_bytes += b->kv_bytes, a.flops += b->flops;
    a.tokens += b->tokens, a.passes += b->passes, a.t_forward += b->t_forward;
    a.t_matmul += b->t_matmul, a.t_attention += b->t_attention;
    a.mm_work += b->mm_work, a.mm_thread_work += b->mm_thread_work;
    add_decode(&a.decode, &b->decode);
    return a;
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
    d->mm_work += s->mm_work - before->mm_work;
    d->mm_thread_work += s->mm_thread_work - before->mm_thread_work;
}

run_stats stats_decode_part(const run_stats *s) {
    const decode_counters *d = &s->decode;
    return (run_stats){.weight_bytes = d->weight_bytes, .kv_bytes = d->kv_bytes,
                       .flops = d->flops, .tokens = d->tokens, .passes = d->passes,
                       .t_forward = d->t_forward, .t_matmul = d->t_matmul,
                       .t_attention = d->t_attention, .mm_work = d->mm_work,
                       .mm_thread_work = d->mm_thread_work};
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

double stats_mean_threads(const run_stats *phase) {
    return phase->mm_work > 0 ? phase->mm_thread_work / phase->mm_work : 0;
}
