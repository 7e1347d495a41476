/* pool.h - a persistent thread pool for the per-token parallel work (matmul rows, attention
 * heads): workers created once, woken per call, and a caller that never waits for a worker
 * that has not started, nor (tasks with a commit function) for long on one that stopped.
 *
 * A call splits items [0, n_items) into one contiguous share per thread. Each thread claims
 * its own share from the front, piece by piece; a thread with nothing left takes pieces from
 * the back of the others' shares. The calling thread is thread 0 and works too. A worker that
 * has not woken up by the time every piece is claimed does nothing for that call, so a
 * worker whose core is busy with another process costs at most the piece it holds.
 *
 * A task with a commit function bounds even that: its workers compute into memory of their
 * own, and once nothing is left to claim the caller waits for a piece a worker holds only
 * for a grace period (a few times its own time per piece); then it computes the piece itself
 * and the worker's result, whenever it comes, is dropped. The caller commits (copies into
 * place) each piece a worker finished. Such a task's arg is copied (arg_bytes) so that a
 * worker that resumes after the call returned reads valid memory; fn must then touch nothing
 * but the copy, memory that outlives the call, and thread `thread`'s own memory.
 *
 * Workers spin briefly on a generation counter (calls of one token follow each other within
 * microseconds), then sleep on a condition variable; while calls run on the caller alone they
 * sleep at once (a spinning worker takes CPU time from whatever shares its core). With adapt
 * on, the pool times every call per unit of work, shared and alone, in a running mean per
 * kind of call (a matvec of a given size, a batch, attention), and runs each call the way
 * that is faster for its kind; now and then a call runs the other way, and every so often a
 * short round of calls is shared whatever their kind, so that a core that became busy or
 * free is noticed (pool.c).
 *
 * A pool belongs to one owner (a model's kernel context) and is driven by one thread at a
 * time; two pools in one process are independent. */
#ifndef SCARCE_POOL_H
#define SCARCE_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct thread_pool thread_pool;

/* Computes items [i0, i1) on thread `thread` (0 = the caller, 1.. = workers: an index for
 * per-thread scratch). 0, or -1 on failure (pool_run then returns -1). */
typedef int (*pool_fn)(void *arg, int64_t i0, int64_t i1, int thread);
/* Puts the result of items [i0, i1), computed by worker `thread` (>= 1), in place. */
typedef void (*pool_commit_fn)(const void *arg, int64_t i0, int64_t i1, int thread);

typedef struct {
    pool_fn fn;
    void *arg;
    int64_t n_items;
    /* pool_threads() + 1 share boundaries (bounds[0] = 0, last = n_items), or NULL for
     * equal shares */
    const int64_t *bounds;
    int64_t piece; /* items per claim (>= 1) */
    int steal;     /* 0: every share is done by its owner, the caller waits (A/B only) */
    int adapt;     /* 1: the pool may run this call on the caller alone (see above) */
    int kind;      /* 0 .. POOL_KINDS - 1: calls of one kind are timed together (adapt) */
    double work;   /* the call's work in any unit fixed per kind (0: n_items) */
    /* NULL: workers write in place and the caller waits for them. Else (with steal) the
     * rescue above; arg_bytes (<= POOL_ARG_BYTES) of arg are copied for fn and commit. */
    pool_commit_fn commit;
    size_t arg_bytes;
} pool_task;

#define POOL_ARG_BYTES                                                                             \
    12288 /* matmul.c: 64 jobs of 136 bytes (with the LUT prep pointer) and a header */

#define POOL_KINDS 32

/* A pool of n_threads (the caller + n_threads - 1 workers, 1 .. 256). NULL when threads or
 * memory cannot be had (msg, 128 bytes, says which). */
thread_pool *pool_new(int n_threads, char *msg);
/* Stops and joins the workers. NULL: nothing. */
void pool_free(thread_pool *p);
int pool_threads(const thread_pool *p);
/* Returns once no worker is inside a call any more (one still finishing a piece taken back
 * from it): memory the calls read may be freed after this. */
void pool_quiesce(thread_pool *p);
/* Runs the task to completion. The number of threads that computed items of it (1 when the
 * call ran on the caller alone), or -1 when a call of fn returned -1. */
int pool_run(thread_pool *p, const pool_task *task);

/* What the pool decided so far (tests, reports). */
typedef struct {
    uint64_t calls;        /* pool_run calls with more than one thread and more than one piece */
    uint64_t solo;         /* of those, run on the caller alone: faster for their kind */
    uint64_t worker_items; /* items computed by workers (their results used) */
    uint64_t rescued;      /* pieces the caller took back from a worker after the grace */
} pool_stats;
pool_stats pool_get_stats(const thread_pool *p);

#endif
