/* test_pool.c - the persistent thread pool (kernels/pool.h) and the forward pass on it.
 *
 * - Every item is computed exactly once, for any item count, thread count, piece size,
 *   share boundaries, with and without stealing, after the workers went to sleep, and
 *   with two pools driven at once from two threads (two models in one process).
 * - A failing item makes pool_run fail.
 * - With adapt on, workers that only make the caller wait stop being invited (the calls
 *   still compute every item); with adapt off they are always invited.
 * - A model gives the same logits, bit for bit, on 1 and 2 threads (prefill, and decode at
 *   positions where attention runs on the pool too), with stealing on and off. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "../kernels/pool.h"
#include "shared_data.h"
#include "test.h"

#define MAX_ITEMS 100003

typedef struct {
    _Atomic int *count; /* times each item was computed */
    int64_t fail_item;  /* -1, or the item whose piece fails */
    int slow_workers;   /* workers sleep 2 ms per piece */
} count_arg;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int count_items(void *arg, int64_t i0, int64_t i1, int thread) {
    count_arg *c = arg;
    int rc = 0;
    if (c->slow_workers && thread != 0) sleep_us(2000);
    for (int64_t i = i0; i < i1; i++) {
        atomic_fetch_add_explicit(&c->count[i], 1, memory_order_relaxed);
        if (i == c->fail_item) rc = -1;
    }
    return rc;
}

/* Runs the task over n items and checks each was computed once; 1 when so. */
static int run_once_each(thread_pool *p, pool_task *t, count_arg *c, int64_t n) {
    for (int64_t i = 0; i < n; i++) atomic_store(&c->count[i], 0);
    t->fn = count_items, t->arg = c, t->n_items = n;
    int rc = pool_run(p, t), ok = rc >= 1 && rc <= pool_threads(p);
    for (int64_t i = 0; i < n && ok; i++) ok = atomic_load(&c->count[i]) == 1;
    CHECK_MSG(ok,
              "%d threads, %lld items, piece %lld, steal %d, bounds %s: rc %d or an item "
              "not computed exactly once",
              pool_threads(p), (long long)n, (long long)t->piece, t->steal,
              t->bounds ? "given" : "equal", rc);
    return ok;
}

TEST(pool_computes_every_item_once) {
    count_arg c = {.count = calloc(MAX_ITEMS, sizeof(_Atomic int)), .fail_item = -1};
    REQUIRE(c.count != NULL);
    const int64_t sizes[] = {1, 2, 7, 64, 1000, MAX_ITEMS};
    const int64_t pieces[] = {1, 3, 64};
    char msg[128];
    for (int nth = 1; nth <= 4; nth++) {
        thread_pool *p = pool_new(nth, msg);
        REQUIRE(p != NULL && pool_threads(p) == nth);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++)
                for (int steal = 0; steal <= 1; steal++) {
                    pool_task t = {.piece = pieces[k], .steal = steal, .adapt = 1};
                    run_once_each(p, &t, &c, sizes[s]);
                    /* uneven boundaries: the last thread owns most, the first none */
                    int64_t bounds[5] = {0};
                    for (int i = 1; i <= nth; i++)
                        bounds[i] = sizes[s] * (i == nth ? 4 : i - 1) / 4;
                    t.bounds = bounds;
                    run_once_each(p, &t, &c, sizes[s]);
                }
        /* after the workers stopped spinning and sleep */
        sleep_us(5000);
        pool_task t = {.piece = 1, .steal = 1};
        run_once_each(p, &t, &c, 1000);
        pool_free(p);
    }
    CHECK(pool_new(0, msg) == NULL && strstr(msg, "threads"));
    free(c.count);
}

TEST(pool_reports_a_failing_item) {
    count_arg c = {.count = calloc(1000, sizeof(_Atomic int))};
    char msg[128];
    thread_pool *p = pool_new(2, msg);
    REQUIRE(p != NULL && c.count != NULL);
    for (int64_t bad = 0; bad < 1000; bad += 333) {
        c.fail_item = bad;
        pool_task t = {.fn = count_items, .arg = &c, .n_items = 1000, .piece = 4, .steal = 1};
        CHECK_MSG(pool_run(p, &t) == -1, "item %lld failed, pool_run did not", (long long)bad);
    }
    pool_free(p);
    free(c.count);
}

/* One caller thread driving its own pool. */
typedef struct {
    thread_pool *pool;
    count_arg c;
    int ok;
} driver;

static void *drive(void *arg) {
    driver *d = arg;
    d->ok = 1;
    for (int rep = 0; rep < 200 && d->ok; rep++) {
        for (int i = 0; i < 5000; i++) atomic_store(&d->c.count[i], 0);
        pool_task t = {
            .fn = count_items, .arg = &d->c, .n_items = 5000, .piece = 16, .steal = 1, .adapt = 1};
        d->ok = pool_run(d->pool, &t) >= 1;
        for (int i = 0; i < 5000 && d->ok; i++) d->ok = atomic_load(&d->c.count[i]) == 1;
    }
    return NULL;
}

TEST(pool_two_pools_in_one_process) {
    char msg[128];
    driver d[2] = {{.c.fail_item = -1}, {.c.fail_item = -1}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        d[k].pool = pool_new(2, msg);
        d[k].c.count = calloc(5000, sizeof(_Atomic int));
        REQUIRE(d[k].pool != NULL && d[k].c.count != NULL);
    }
    for (int k = 0; k < 2; k++) REQUIRE(pthread_create(&th[k], NULL, drive, &d[k]) == 0);
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 2; k++) {
        CHECK_MSG(d[k].ok, "pool %d: an item not computed exactly once", k);
        pool_free(d[k].pool), free(d[k].c.count);
    }
}

/* Workers that sleep 2 ms per piece while the caller's items take ~nothing: every call in
 * which one takes a piece makes the caller wait for it. */
static pool_stats run_slow_workers(int adapt) {
    count_arg c = {.count = calloc(4096, sizeof(_Atomic int)), .fail_item = -1, .slow_workers = 1};
    char msg[128];
    thread_pool *p = pool_new(2, msg);
    pool_stats st = {0};
    if (!p || !c.count) return st;
    for (int call = 0; call < 100; call++) {
        pool_task t = {.piece = 1, .steal = 1, .adapt = adapt};
        if (!run_once_each(p, &t, &c, 4096)) break;
    }
    st = pool_get_stats(p);
    pool_free(p);
    free(c.count);
    return st;
}

TEST(pool_stops_inviting_workers_that_lose) {
    pool_stats on = run_slow_workers(1), off = run_slow_workers(0);
    CHECK_EQ_INT(on.calls, 100);
    CHECK_MSG(on.solo >= 50, "adapt on: %llu of 100 calls on the caller alone (want most)",
              (unsigned long long)on.solo);
    CHECK_EQ_INT(off.solo, 0);
}

/* ---- rescue: the caller takes back pieces a worker holds too long ---- */

typedef struct {
    _Atomic int *placed; /* times each item's result reached its place */
    int *own;            /* [2][n]: each worker's own results (thread 1 only here) */
    int64_t n;
    int slow_workers; /* workers sleep 3 ms per piece */
} rescue_arg;

static int rescue_items(void *arg, int64_t i0, int64_t i1, int thread) {
    const rescue_arg *r = arg;
    if (r->slow_workers && thread != 0) sleep_us(3000);
    for (int64_t i = i0; i < i1; i++) {
        if (thread == 0)
            atomic_fetch_add_explicit(&r->placed[i], 1, memory_order_relaxed);
        else
            r->own[i] = 1;
    }
    return 0;
}

static void rescue_commit(const void *arg, int64_t i0, int64_t i1, int thread) {
    const rescue_arg *r = arg;
    for (int64_t i = i0; i < i1; i++) {
        if (r->own[i] == 1) atomic_fetch_add_explicit(&r->placed[i], 1, memory_order_relaxed);
        r->own[i] = 0;
    }
}

/* Calls of n items whose workers write their own memory: every item reaches its place once.
 * slow: workers hold each piece 3 ms; the caller must take pieces back, not wait. */
static pool_stats run_rescue(int slow, int calls) {
    const int64_t n = 4096;
    rescue_arg r = {.placed = calloc(n, sizeof(_Atomic int)),
                    .own = calloc(n, sizeof(int)),
                    .n = n,
                    .slow_workers = slow};
    char msg[128];
    thread_pool *p = pool_new(2, msg);
    pool_stats st = {0};
    if (!p || !r.placed || !r.own) return st;
    for (int call = 0; call < calls; call++) {
        for (int64_t i = 0; i < n; i++) atomic_store(&r.placed[i], 0);
        pool_task t = {.fn = rescue_items,
                       .arg = &r,
                       .n_items = n,
                       .piece = 64,
                       .steal = 1,
                       .commit = rescue_commit,
                       .arg_bytes = sizeof r};
        const int rc = pool_run(p, &t);
        int ok = rc >= 1;
        for (int64_t i = 0; i < n && ok; i++) ok = atomic_load(&r.placed[i]) == 1;
        CHECK_MSG(ok, "call %d (slow workers %d): rc %d or an item not placed exactly once", call,
                  slow, rc);
        if (!ok || (slow && pool_get_stats(p).rescued >= 3)) break;
    }
    st = pool_get_stats(p);
    pool_free(p); /* joins a worker still asleep in a piece taken back from it */
    free(r.placed), free(r.own);
    return st;
}

TEST(pool_rescues_pieces_from_a_stopped_worker) {
    /* adapt off: every call shared; the worker holds a piece 3 ms each time it enters one
     * (until 3 pieces were taken back from it, or 2000 calls) */
    pool_stats slow = run_rescue(1, 2000);
    CHECK_MSG(slow.rescued >= 3, "a worker held pieces 3 ms in %llu calls, %llu taken back",
              (unsigned long long)slow.calls, (unsigned long long)slow.rescued);
    pool_stats quick = run_rescue(0, 300);
    CHECK_EQ_INT(quick.calls, 300);
}

/* ---- a model on 1 and 2 threads ---- */

#define PROMPT 150 /* past 113 positions SmolLM2's attention is worth the pool */
#define STEPS 6

/* Logits of a PROMPT-token prefill and STEPS greedy decode steps with the given kernel
 * threads and stealing; malloc'd (STEPS + 1) x *n_vocab, NULL on failure. */
static float *model_logits(const char *path, int threads, int steal, int *n_vocab_out) {
    scarce_error err = {0};
    model_options o = model_options_default();
    o.kernels.threads = threads, o.kernels.steal = steal;
    o.kernels.adapt_threads = 0; /* so that 2 threads really split every call */
    model *m = model_load(path, &o, &err);
    if (!m) return NULL;
    session s;
    const int n_vocab = *n_vocab_out = m->cfg.n_vocab;
    float *all = NULL;
    if (session_init(&s, m, PROMPT + STEPS + 1, &err) == 0) {
        all = malloc(sizeof(float) * (STEPS + 1) * n_vocab);
        int prompt[PROMPT];
        for (int j = 0; j < PROMPT; j++) prompt[j] = 1 + j * 37 % (n_vocab - 1);
        const float *l = forward(&s, prompt, PROMPT, 0, &err);
        for (int i = 0; l && all && i <= STEPS; i++) {
            memcpy(all + (size_t)i * n_vocab, l, sizeof(float) * n_vocab);
            int tok = 0;
            for (int v = 1; v < n_vocab; v++) tok = l[v] > l[tok] ? v : tok;
            l = i < STEPS ? forward(&s, &tok, 1, 0, &err) : l;
        }
        if (!l) free(all), all = NULL;
        session_free(&s);
    }
    model_free(m);
    return all;
}

TEST(pool_model_two_threads_same_bits_as_one) {
    const char *found = real_model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!found) SKIP("SmolLM2-135M-Instruct.Q4_1.gguf not fetched (models/fetch.sh smollm2-135m)");
    char path[1024];
    snprintf(path, sizeof path, "%s", found);
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int n_vocab = 0;
    float *one = model_logits(path, 1, 1, &n_vocab), *two = model_logits(path, 2, 1, &n_vocab);
    float *fixed = model_logits(path, 2, 0, &n_vocab);
    REQUIRE(one && two && fixed);
    const size_t bytes = sizeof(float) * (STEPS + 1) * n_vocab;
    CHECK_MSG(memcmp(one, two, bytes) == 0, "2 threads (stealing) differ from 1");
    CHECK_MSG(memcmp(one, fixed, bytes) == 0, "2 threads (static shares) differ from 1");
    free(one), free(two), free(fixed);
}
