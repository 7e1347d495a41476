/* pool.c - the persistent thread pool (pool.h).
 *
 * One call: the caller publishes the task and its shares, bumps the generation counter
 * (waking sleepers if any), works, then closes the call and waits only for the workers that
 * entered it and still hold a piece. A worker enters a call with one compare-and-swap on
 * `state` (generation << 32 | CLOSED | busy count) that fails once the call is closed or a
 * newer one has started, so a late worker never touches a finished task.
 *
 * Why not OpenMP: a parallel region's join waits for every thread of the team, including one
 * the OS has not scheduled yet. On a 2-core machine with a busy second core that made -t 2
 * decode 3x slower than -t 1 (tinyllama q4_0: 4.8 vs 1.4 tok/s; AMD EPYC 2 cores, AVX2,
 * machine load ~10, scarce bench -n 64, noisy). */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds a worker polls for the next call before it sleeps: the calls of one token follow
 * each other within microseconds; between tokens (sampling, output) it may sleep. */
#define SPIN_SECONDS 200e-6
/* Pauses a waiting caller spins before it yields its core at each check, when the worker it
 * waits for last ran on the caller's core (queued behind it). Otherwise it keeps spinning:
 * a yield on a loaded machine hands the core to another process for a whole time slice. */
#define RELAX_SPINS 256
/* While recent calls lost, one call in PROBE_EVERY invites the workers again. */
#define PROBE_EVERY 16
/* Weight of one call's saving in the running mean (1/SCORE_CALLS). */
#define SCORE_CALLS 8

#define CLOSED (1ull << 16)
#define BUSY_MASK (CLOSED - 1)

typedef struct {
    _Alignas(64) _Atomic uint64_t range; /* front | back << 32 of the unclaimed items */
} share;

typedef struct {
    thread_pool *pool;
    int index;
} worker_arg;

struct thread_pool {
    int n_threads, n_started;
    pthread_t *threads;
    worker_arg *args;
    share *shares;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Alignas(64) _Atomic uint32_t gen;
    _Atomic int sleepers, stop;
    _Alignas(64) _Atomic uint64_t state;
    _Atomic int failed;
    _Atomic int worker_cpu; /* the CPU of the last worker to enter a call */
    _Atomic int helpers;    /* workers that computed items of the current call */
    const pool_task *task;  /* valid for workers that entered the current generation */
    /* the caller's own fields */
    _Alignas(64) uint32_t last_gen;
    double score; /* running mean of seconds the workers saved per call (< 0: they cost) */
    unsigned since_probe;
    pool_stats stats;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* One step of the caller's wait: spin, and let a worker queued on this core run. */
static void relax(thread_pool *p, unsigned *spins) {
    if (++*spins < RELAX_SPINS || sched_getcpu() != atomic_load(&p->worker_cpu))
        cpu_pause();
    else
        sched_yield();
}

static uint64_t pack_range(uint64_t front, uint64_t back) {
    return front | back << 32;
}

/* Claims up to `piece` items from the front (owner) or the back (thief) of sh; 0 when
 * none are left. */
static int claim(share *sh, int from_back, int64_t piece, int64_t *i0, int64_t *i1) {
    uint64_t old = atomic_load_explicit(&sh->range, memory_order_relaxed), want;
    do {
        uint64_t front = old & 0xffffffffu, back = old >> 32;
        if (front >= back) return 0;
        uint64_t take = back - front < (uint64_t)piece ? back - front : (uint64_t)piece;
        if (from_back)
            *i0 = (int64_t)(back - take), *i1 = (int64_t)back,
            want = pack_range(front, back - take);
        else
            *i0 = (int64_t)front, *i1 = (int64_t)(front + take),
            want = pack_range(front + take, back);
    } while (!atomic_compare_exchange_weak_explicit(&sh->range, &old, want, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

/* Thread `self`'s part of the task: its own share front to back, then (steal) the others'
 * from their backs. Returns the items it computed; *rc collects fn's failures. */
static int64_t work(thread_pool *p, const pool_task *t, int self, int *rc) {
    const int n = p->n_threads;
    int64_t done = 0, i0, i1;
    while (claim(&p->shares[self], 0, t->piece, &i0, &i1))
        *rc |= t->fn(t->arg, i0, i1, self), done += i1 - i0;
    for (int d = 1; d < n && t->steal; d++)
        while (claim(&p->shares[(self + d) % n], 1, t->piece, &i0, &i1))
            *rc |= t->fn(t->arg, i0, i1, self), done += i1 - i0;
    return done;
}

/* The next generation after `seen` (or the stop request), polling, then sleeping. */
static uint32_t await_call(thread_pool *p, uint32_t seen) {
    const double deadline = now_seconds() + SPIN_SECONDS;
    for (unsigned i = 1;; i++) {
        uint32_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        cpu_pause();
        if (i % 64 == 0) {
            if (now_seconds() > deadline) break;
            sched_yield(); /* the caller may be queued behind us on this core */
        }
    }
    uint32_t g;
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return g;
}

/* 1 when the worker joined generation g (it must leave()); 0 when g is closed or over. */
static int enter(thread_pool *p, uint32_t g) {
    uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
    do {
        if ((uint32_t)(s >> 32) != g || (s & CLOSED)) return 0;
    } while (!atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel,
                                                    memory_order_acquire));
    return 1;
}

static void *worker_main(void *arg) {
    const worker_arg *w = arg;
    thread_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        seen = await_call(p, seen);
        if (atomic_load(&p->stop)) return NULL;
        if (!enter(p, seen)) continue;
        atomic_store_explicit(&p->worker_cpu, sched_getcpu(), memory_order_relaxed);
        int rc = 0;
        if (work(p, p->task, w->index, &rc) > 0) atomic_fetch_add(&p->helpers, 1);
        if (rc) atomic_store(&p->failed, 1);
        atomic_fetch_sub_explicit(&p->state, 1, memory_order_release); /* leave */
    }
}

thread_pool *pool_new(int n_threads, char *msg) {
    if (n_threads < 1 || n_threads > 256) {
        snprintf(msg, 128, "thread pool: %d threads (1 to 256)", n_threads);
        return NULL;
    }
    thread_pool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p) goto oom;
    memset(p, 0, sizeof *p);
    p->n_threads = n_threads;
    atomic_init(&p->worker_cpu, -1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->shares = aligned_alloc(64, sizeof(share) * (size_t)n_threads);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->args = calloc((size_t)n_threads, sizeof *p->args);
    if (!p->shares || !p->threads || !p->args) goto oom;
    for (int i = 0; i < n_threads; i++) atomic_init(&p->shares[i].range, 0);
    for (int i = 1; i < n_threads; i++) {
        p->args[i] = (worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i])) {
            snprintf(msg, 128, "thread pool: cannot start thread %d of %d", i + 1, n_threads);
            pool_free(p);
            return NULL;
        }
        p->n_started = i;
    }
    return p;
oom:
    pool_free(p);
    snprintf(msg, 128, "thread pool: out of memory for %d threads", n_threads);
    return NULL;
}

void pool_free(thread_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i <= p->n_started; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->shares), free(p->threads), free(p->args);
    free(p);
}

int pool_threads(const thread_pool *p) {
    return p->n_threads;
}

pool_stats pool_get_stats(const thread_pool *p) {
    return p->stats;
}

/* 1 when this call invites the workers: always unless recent calls lost, then one in
 * PROBE_EVERY (so that a core that became free is used again). */
static int invite(thread_pool *p, const pool_task *t) {
    if (!t->adapt || p->score >= 0) return 1;
    if (++p->since_probe < PROBE_EVERY) return 0;
    p->since_probe = 0;
    return 1;
}

/* Publishes t as the next generation and wakes sleeping workers. */
static void launch(thread_pool *p, const pool_task *t) {
    const int n = p->n_threads;
    for (int k = 0; k < n; k++) {
        int64_t a = t->bounds ? t->bounds[k] : t->n_items * k / n;
        int64_t b = t->bounds ? t->bounds[k + 1] : t->n_items * (k + 1) / n;
        atomic_store_explicit(&p->shares[k].range, pack_range((uint64_t)a, (uint64_t)b),
                              memory_order_relaxed);
    }
    p->task = t;
    atomic_store_explicit(&p->failed, 0, memory_order_relaxed);
    atomic_store_explicit(&p->helpers, 0, memory_order_relaxed);
    const uint32_t g = ++p->last_gen;
    atomic_store_explicit(&p->state, (uint64_t)g << 32, memory_order_release);
    atomic_store(&p->gen, g); /* sequentially consistent with the sleepers check below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Ends the call: (no stealing) waits until every item is claimed, then closes the call to
 * late workers and waits for those inside to leave. */
static void join(thread_pool *p, const pool_task *t) {
    unsigned spins = 0;
    for (int k = 0; !t->steal && k < p->n_threads; k++) {
        for (;;) {
            uint64_t r = atomic_load_explicit(&p->shares[k].range, memory_order_relaxed);
            if ((r & 0xffffffffu) >= r >> 32) break;
            relax(p, &spins);
        }
    }
    uint64_t s = atomic_fetch_or_explicit(&p->state, CLOSED, memory_order_acq_rel);
    while (s & BUSY_MASK) {
        relax(p, &spins);
        s = atomic_load_explicit(&p->state, memory_order_acquire);
    }
}

/* The call's saving: the workers' items at the caller's rate, less the caller's wait. The
 * caller's rate beside a worker is lower than alone (they share the memory bus), which
 * overstates the saving up to 2x for bandwidth-bound decode: half of it is counted, so a
 * worker stays invited only where it clearly pays. */
static void score_call(thread_pool *p, int64_t n_items, int64_t mine, double t0, double t1,
                       double t2) {
    p->stats.worker_items += (uint64_t)(n_items - mine);
    if (mine <= 0) return;
    const double saved = 0.5 * (double)(n_items - mine) * (t1 - t0) / (double)mine - (t2 - t1);
    p->score += (saved - p->score) / SCORE_CALLS;
}

int pool_run(thread_pool *p, const pool_task *t) {
    const int n = p->n_threads;
    if (n == 1 || t->n_items <= t->piece || t->n_items >= (int64_t)1 << 32)
        return t->fn(t->arg, 0, t->n_items, 0) ? -1 : 1;
    p->stats.calls++;
    if (!invite(p, t)) {
        p->stats.solo++;
        return t->fn(t->arg, 0, t->n_items, 0) ? -1 : 1;
    }
    launch(p, t);
    int rc = 0;
    const double t0 = now_seconds();
    const int64_t mine = work(p, t, 0, &rc);
    const double t1 = now_seconds();
    join(p, t);
    score_call(p, t->n_items, mine, t0, t1, now_seconds());
    if (rc || atomic_load_explicit(&p->failed, memory_order_relaxed)) return -1;
    return (mine > 0) + atomic_load_explicit(&p->helpers, memory_order_relaxed);
}
