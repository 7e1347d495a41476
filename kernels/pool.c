/* pool.c - the persistent thread pool (pool.h).
 *
 * A call is published in a slot: a copy of the task (and of its argument when the task gives
 * arg_bytes), the start of each piece, and one state word per piece (free, taken by thread t,
 * done by thread t). Threads claim pieces with a compare-and-swap on that word: an owner its
 * own share front to back, a thief the others' from the back. A worker enters a call by
 * naming its slot in in_slot and checking that the call is still open; the caller never
 * reuses a slot a worker is in, so a worker that resumes late (its core was taken mid-piece)
 * reads the task, the argument and the states of its own call, finds its piece taken back
 * (rescue, pool.h) and leaves. With n_threads slots and n_threads - 1 workers one slot is
 * always free.
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
/* Adapt: while shared is faster for a kind, one call of it in PROBE_SOLO_EVERY runs alone
 * (is it still?). Every PROBE_ROUND_EVERY calls, PROBE_ROUND_CALLS calls in a row are shared
 * whatever their kind (has the other core become free?); the first of them wakes the
 * workers and is not timed, or a worker asleep while calls ran alone would always come too
 * late to a single probe and sharing would never look faster again. Workers poll for calls
 * while one of the last SPIN_CALLS calls was shared, else they sleep at once. */
#define PROBE_SOLO_EVERY 64
#define PROBE_ROUND_EVERY 128
#define PROBE_ROUND_CALLS 8
#define SPIN_CALLS 8
/* Weight of one call's time in the running means (1/MEAN_CALLS), and the factor a single
 * call's time is clipped to around the mean: one call that waited for a preempted worker
 * (a time slice, ~1000x a call) moves the mean by 3/8, three in a row switch the mode. */
#define MEAN_CALLS 8
#define CLIP 4.0
/* Rescue: the caller takes a worker's piece back after waiting GRACE_PIECES times its own
 * mean seconds per piece of the call, plus GRACE_SECONDS (a running worker finishes a piece
 * within about one piece time; one whose core was taken is away for a time slice, ms). */
#define GRACE_PIECES 3.0
#define GRACE_SECONDS 5e-6
/* Pieces per call at most (slot memory); more items make larger pieces. */
#define MAX_PIECES 2048

/* A piece's state word: FREE, or TAKEN / DONE | the thread. */
#define FREE 0u
#define TAKEN 0x1000u
#define DONE 0x2000u
#define THREAD_MASK 0xfffu
/* pool.state: generation << 32 | slot << 1 | CLOSED */
#define CLOSED 1ull

typedef struct {
    pool_task task; /* its arg points at arg[] when the task's arg was copied */
    _Alignas(64) unsigned char arg[POOL_ARG_BYTES];
    uint32_t n_pieces;
    uint32_t first[257];            /* share k = pieces [first[k], first[k + 1]) */
    uint32_t start[MAX_PIECES + 1]; /* piece j = items [start[j], start[j + 1]) */
    _Atomic uint32_t state[MAX_PIECES];
    _Alignas(64) _Atomic int failed; /* a worker's fn returned -1 */
} slot;

typedef struct {
    _Alignas(64) _Atomic int in_slot; /* the slot this worker is in, -1: none */
} worker_seat;

typedef struct {
    struct thread_pool *pool;
    int index;
} worker_arg;

/* Running means of one kind of call: seconds per unit of work alone and shared (0: not
 * timed yet), and its calls so far. */
typedef struct {
    double solo, shared;
    uint32_t calls;
} kind_times;

struct thread_pool {
    int n_threads, n_started;
    pthread_t *threads;
    worker_arg *args;
    slot *slots;        /* n_threads */
    worker_seat *seats; /* [1, n_threads) */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Alignas(64) _Atomic uint32_t gen;
    _Atomic int sleepers, stop;
    _Alignas(64) _Atomic uint64_t state;
    _Atomic int worker_cpu; /* the CPU of the last worker to enter a call */
    _Atomic int spin;       /* 1: workers poll for the next call before they sleep */
    /* the caller's own fields */
    _Alignas(64) uint32_t last_gen;
    kind_times kinds[POOL_KINDS];
    unsigned since_round, round_left, shared_recent;
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

static int try_claim(slot *s, uint32_t j, int self) {
    uint32_t expect = FREE;
    return atomic_load_explicit(&s->state[j], memory_order_relaxed) == FREE &&
           atomic_compare_exchange_strong_explicit(&s->state[j], &expect, TAKEN | (uint32_t)self,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Computes piece j that thread self holds and marks it done, unless (a worker) the caller
 * took it back meanwhile. 1 when the result counts. */
static int compute(slot *s, uint32_t j, int self, int *rc) {
    const pool_task *t = &s->task;
    const int r = t->fn(t->arg, s->start[j], s->start[j + 1], self);
    if (self == 0) {
        atomic_store_explicit(&s->state[j], DONE, memory_order_release);
        *rc |= r;
        return 1;
    }
    if (r) atomic_store_explicit(&s->failed, 1, memory_order_relaxed); /* seen with DONE */
    uint32_t expect = TAKEN | (uint32_t)self;
    if (!atomic_compare_exchange_strong_explicit(&s->state[j], &expect, DONE | (uint32_t)self,
                                                 memory_order_release, memory_order_relaxed))
        return 0;
    *rc |= r;
    return 1;
}

/* Thread `self`'s part of the call: its own share front to back, then (steal) the others'
 * from their backs. Returns the pieces whose results count. */
static int work(thread_pool *p, slot *s, int self, int *rc) {
    const int n = p->n_threads;
    int done = 0;
    for (uint32_t j = s->first[self]; j < s->first[self + 1]; j++)
        if (try_claim(s, j, self)) done += compute(s, j, self, rc);
    for (int d = 1; d < n && s->task.steal; d++) {
        const int k = (self + d) % n;
        for (uint32_t j = s->first[k + 1]; j-- > s->first[k];)
            if (try_claim(s, j, self)) done += compute(s, j, self, rc);
    }
    return done;
}

/* The next generation after `seen` (or the stop request), polling (while calls are shared),
 * then sleeping. */
static uint32_t await_call(thread_pool *p, uint32_t seen) {
    const double deadline = now_seconds() + SPIN_SECONDS;
    for (unsigned i = 1; atomic_load_explicit(&p->spin, memory_order_relaxed); i++) {
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

/* The slot of generation g with worker `index` seated in it, or NULL when g is closed or
 * over. Seated first, checked after (both sequentially consistent): the caller, which closes
 * a call before it picks the next slot, either sees the seat or the worker sees the close. */
static slot *enter(thread_pool *p, int index, uint32_t g) {
    const uint64_t st = atomic_load(&p->state);
    if ((uint32_t)(st >> 32) != g || (st & CLOSED)) return NULL;
    const int si = (int)((st >> 1) & 0xffff);
    atomic_store(&p->seats[index].in_slot, si);
    if (atomic_load(&p->state) != st) {
        atomic_store(&p->seats[index].in_slot, -1);
        return NULL;
    }
    return &p->slots[si];
}

static void *worker_main(void *arg) {
    const worker_arg *w = arg;
    thread_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        seen = await_call(p, seen);
        if (atomic_load(&p->stop)) return NULL;
        slot *s = enter(p, w->index, seen);
        if (!s) continue;
        atomic_store_explicit(&p->worker_cpu, sched_getcpu(), memory_order_relaxed);
        int rc = 0;
        work(p, s, w->index, &rc);
        atomic_store_explicit(&p->seats[w->index].in_slot, -1, memory_order_release);
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
    atomic_init(&p->spin, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->slots = aligned_alloc(64, sizeof(slot) * (size_t)n_threads);
    p->seats = aligned_alloc(64, sizeof(worker_seat) * (size_t)n_threads);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->args = calloc((size_t)n_threads, sizeof *p->args);
    if (!p->slots || !p->seats || !p->threads || !p->args) goto oom;
    memset(p->slots, 0, sizeof(slot) * (size_t)n_threads);
    for (int i = 0; i < n_threads; i++) atomic_init(&p->seats[i].in_slot, -1);
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
    free(p->slots), free(p->seats), free(p->threads), free(p->args);
    free(p);
}

int pool_threads(const thread_pool *p) {
    return p->n_threads;
}

void pool_quiesce(thread_pool *p) {
    for (int w = 1; w < p->n_threads; w++)
        while (atomic_load(&p->seats[w].in_slot) >= 0) sched_yield(); /* it may be queued here */
}

pool_stats pool_get_stats(const thread_pool *p) {
    return p->stats;
}

static kind_times *kind_of(thread_pool *p, const pool_task *t) {
    return &p->kinds[t->kind >= 0 && t->kind < POOL_KINDS ? t->kind : 0];
}

/* 1 when this call is shared: always without adapt; else the faster way for its kind so
 * far, and now and then the other (PROBE_*). A kind's first call is shared, its second
 * alone. *timed: 0 for a call whose time says nothing (a probe round's first). */
static int share_call(thread_pool *p, const pool_task *t, int *timed) {
    *timed = 1;
    if (!t->adapt) return 1;
    kind_times *k = kind_of(p, t);
    k->calls++;
    if (p->round_left > 0) {
        p->round_left--;
        return 1;
    }
    if (++p->since_round >= PROBE_ROUND_EVERY) {
        p->since_round = 0, p->round_left = PROBE_ROUND_CALLS - 1, *timed = 0;
        return 1;
    }
    if (k->shared == 0) return 1;
    if (k->solo == 0) return 0;
    return k->shared <= k->solo && k->calls % PROBE_SOLO_EVERY != 0;
}

/* Workers poll for the next call while one of the last SPIN_CALLS was shared. */
static void set_spin(thread_pool *p, int shared) {
    p->shared_recent = shared ? SPIN_CALLS : p->shared_recent ? p->shared_recent - 1 : 0;
    const int spin = p->shared_recent > 0;
    if (atomic_load_explicit(&p->spin, memory_order_relaxed) != spin)
        atomic_store_explicit(&p->spin, spin, memory_order_relaxed);
}

/* Adds one call's seconds per unit of work to a running mean, clipped to CLIP x it. */
static void mean_add(double *mean, double x) {
    if (x < 1e-15) x = 1e-15;
    if (*mean == 0) {
        *mean = x;
        return;
    }
    if (x > CLIP * *mean) x = CLIP * *mean;
    if (x < *mean / CLIP) x = *mean / CLIP;
    *mean += (x - *mean) / MEAN_CALLS;
}

/* Times the call took per unit of work, into its kind's mean. */
static void record(thread_pool *p, const pool_task *t, int shared, double seconds) {
    if (!t->adapt) return;
    kind_times *k = kind_of(p, t);
    mean_add(shared ? &k->shared : &k->solo,
             seconds / (t->work > 0 ? t->work : (double)t->n_items));
}

/* A slot no worker is in (the previous call is closed: see enter()). */
static int free_slot(thread_pool *p) {
    for (int si = 0;; si = (si + 1) % p->n_threads) {
        int used = 0;
        for (int w = 1; w < p->n_threads && !used; w++)
            used = atomic_load(&p->seats[w].in_slot) == si;
        if (!used) return si;
    }
}

/* Lays t's shares out in pieces of slot s. */
static void cut_pieces(thread_pool *p, slot *s, const pool_task *t) {
    const int n = p->n_threads;
    int64_t piece = t->piece;
    if (t->n_items / piece + n > MAX_PIECES)
        piece = (t->n_items + MAX_PIECES - n - 1) / (MAX_PIECES - n);
    uint32_t np = 0;
    for (int k = 0; k < n; k++) {
        const int64_t a = t->bounds ? t->bounds[k] : t->n_items * k / n;
        const int64_t b = t->bounds ? t->bounds[k + 1] : t->n_items * (k + 1) / n;
        s->first[k] = np;
        for (int64_t i = a; i < b; i += piece) s->start[np++] = (uint32_t)i;
    }
    s->first[n] = np, s->start[np] = (uint32_t)t->n_items, s->n_pieces = np;
    for (uint32_t j = 0; j < np; j++)
        atomic_store_explicit(&s->state[j], FREE, memory_order_relaxed);
}

/* Publishes t as the next generation in a free slot and wakes sleeping workers. */
static slot *launch(thread_pool *p, const pool_task *t) {
    const int si = free_slot(p);
    slot *s = &p->slots[si];
    s->task = *t;
    if (t->commit) {
        memcpy(s->arg, t->arg, t->arg_bytes);
        s->task.arg = s->arg;
    }
    cut_pieces(p, s, t);
    atomic_store_explicit(&s->failed, 0, memory_order_relaxed);
    const uint32_t g = ++p->last_gen;
    atomic_store(&p->state, (uint64_t)g << 32 | (uint64_t)si << 1);
    atomic_store(&p->gen, g); /* sequentially consistent with the sleepers check below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    return s;
}

/* Ends the call: every piece done, by its holder or (rescue, after `grace` seconds of
 * waiting) by the caller; commits the workers' pieces; closes the call to late workers.
 * Returns how many threads' results were used, and counts the workers' items in stats. */
static int join(thread_pool *p, slot *s, double grace, int *rc) {
    const pool_task *t = &s->task;
    const int rescue = t->commit && t->steal;
    unsigned spins = 0;
    double deadline = 0;
    uint64_t used[4] = {0}; /* the threads whose results were used */
    int64_t caller_items = 0;
    for (uint32_t j = 0; j < s->n_pieces; j++) {
        int used_from = 0;
        for (;;) {
            const uint32_t st = atomic_load_explicit(&s->state[j], memory_order_acquire);
            const int holder = (int)(st & THREAD_MASK);
            if (st & DONE) {
                if (holder && t->commit) t->commit(t->arg, s->start[j], s->start[j + 1], holder);
                used_from = holder;
                break;
            }
            if (st == FREE && t->steal) { /* not after work(): it claimed every free piece */
                if (try_claim(s, j, 0)) compute(s, j, 0, rc);
                continue;
            }
            if (rescue && holder) {
                const double now = now_seconds();
                if (deadline == 0) deadline = now + grace;
                uint32_t expect = st;
                if (now > deadline &&
                    atomic_compare_exchange_strong_explicit(
                        &s->state[j], &expect, TAKEN, memory_order_acquire, memory_order_relaxed)) {
                    p->stats.rescued++;
                    compute(s, j, 0, rc);
                    break;
                }
            }
            relax(p, &spins);
        }
        used[used_from / 64] |= 1ull << (used_from % 64);
        if (!used_from) caller_items += s->start[j + 1] - s->start[j];
    }
    atomic_fetch_or(&p->state, CLOSED);
    p->stats.worker_items += (uint64_t)(t->n_items - caller_items);
    int threads = 0;
    for (int i = 0; i < 4; i++) threads += __builtin_popcountll(used[i]);
    return threads;
}

int pool_run(thread_pool *p, const pool_task *t) {
    const int n = p->n_threads;
    if (n == 1 || t->n_items <= t->piece || t->n_items >= (int64_t)1 << 32)
        return t->fn(t->arg, 0, t->n_items, 0) ? -1 : 1;
    p->stats.calls++;
    const double t0 = now_seconds();
    int timed;
    const int shared = share_call(p, t, &timed) && (!t->commit || t->arg_bytes <= POOL_ARG_BYTES);
    set_spin(p, shared);
    if (!shared) {
        p->stats.solo++;
        const int rc = t->fn(t->arg, 0, t->n_items, 0);
        record(p, t, 0, now_seconds() - t0);
        return rc ? -1 : 1;
    }
    slot *s = launch(p, t);
    int rc = 0;
    const int mine = work(p, s, 0, &rc);
    const double t1 = now_seconds();
    const int threads =
        join(p, s, GRACE_SECONDS + (mine ? GRACE_PIECES * (t1 - t0) / mine : 0), &rc);
    if (timed) record(p, t, 1, now_seconds() - t0);
    if (rc || atomic_load_explicit(&s->failed, memory_order_relaxed)) return -1;
    return threads;
}
