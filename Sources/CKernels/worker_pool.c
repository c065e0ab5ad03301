// The project's two-thread pool: the calling thread plus one persistent worker.
//
// Every parallel numeric loop of the project (the packed F32 GEMM, the int8
// products, attention, cross-entropy) runs through ck_parallel_for, so there is
// one extra thread and one waiting policy in the process. OpenBLAS is kept at
// one thread (ComputeThreads.set): its own pool busy-waits with sched_yield for
// ~2^28 cycles after every call, and on a 2-core machine those spinning
// threads and ours took the cores from each other (issue 17's profile: 30% of
// the int8 training step's samples in the kernel's sched_yield path).
//
// A job is `items` work items claimed in order from a shared counter, so a late
// or preempted thread only costs the item it is on. One caller at a time uses
// the worker; a concurrent (or nested) caller runs its items alone.

#define _GNU_SOURCE
#include "CKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    ck_item_fn fn;
    void *ctx;
    int items;
    unsigned seq;       // pool generation
    int caller_cpu;     // CPU the caller ran on when it published the job (-1: unknown)
    _Atomic int next;   // next work item
} pool_job_t;

static int g_spin_us = 100; // worker spin before sleeping

void ck_pool_set_spin(int spin_us) {
    if (spin_us > 0) g_spin_us = spin_us;
}

static pthread_mutex_t g_use = PTHREAD_MUTEX_INITIALIZER;   // one caller at a time
static pthread_mutex_t g_sleep_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_sleep_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_pool_ok = 0;
static _Atomic unsigned g_seq = 0;       // job generation published by the caller
static _Atomic unsigned g_done = 0;      // generation finished by the worker
static _Atomic int g_sleeping = 0;
static pool_job_t *_Atomic g_job = NULL;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Counters for ck_pool_stats (relaxed; diagnostics only).
static _Atomic long g_stat_calls, g_stat_joined, g_stat_items_worker, g_stat_busy, g_stat_moves;

void ck_pool_stats(long out[5]) {
    out[0] = atomic_load_explicit(&g_stat_calls, memory_order_relaxed);
    out[1] = atomic_load_explicit(&g_stat_joined, memory_order_relaxed);
    out[2] = atomic_load_explicit(&g_stat_items_worker, memory_order_relaxed);
    out[3] = atomic_load_explicit(&g_stat_busy, memory_order_relaxed);
    out[4] = atomic_load_explicit(&g_stat_moves, memory_order_relaxed);
}

static inline int current_cpu(void) {
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

#ifdef __linux__
static cpu_set_t g_allowed;     // the process's CPUs when the pool started
static int g_allowed_ok = 0;
#endif

// The worker must not share a CPU with the caller. The scheduler does not
// guarantee that: when another thread keeps the second CPU busy, a woken worker
// can land on the caller's CPU and stay there, and the two then time-slice one
// core. So if the worker finds itself on the caller's CPU, it restricts itself
// to the other CPUs (which moves it at once).
static void worker_avoid_cpu(int caller_cpu) {
#ifdef __linux__
    if (caller_cpu < 0 || !g_allowed_ok || current_cpu() != caller_cpu) return;
    cpu_set_t set = g_allowed;
    CPU_CLR(caller_cpu, &set);
    if (CPU_COUNT(&set) == 0) return;
    if (sched_setaffinity(0, sizeof set, &set) == 0)
        atomic_fetch_add_explicit(&g_stat_moves, 1, memory_order_relaxed);
#else
    (void)caller_cpu;
#endif
}

static int run_items(pool_job_t *jb) {
    int done = 0;
    for (;;) {
        const int t = atomic_fetch_add_explicit(&jb->next, 1, memory_order_relaxed);
        if (t >= jb->items) break;
        jb->fn(jb->ctx, t);
        ++done;
    }
    return done;
}

static void *worker_main(void *arg) {
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        // Wait for the next job: spin ~2 us, then keep polling but yield the CPU
        // to any runnable thread until g_spin_us has passed, then sleep on the
        // condition variable.
        unsigned s = atomic_load(&g_seq);
        if (s == seen) {
            const uint64_t t0 = now_ns();
            const uint64_t spin_ns = (uint64_t)g_spin_us * 1000ull;
            for (;;) {
                for (int i = 0; i < 64 && (s = atomic_load(&g_seq)) == seen; ++i) cpu_relax();
                if (s != seen) break;
                const uint64_t dt = now_ns() - t0;
                if (dt > spin_ns) break;
                if (dt > 2000) sched_yield();
            }
            if (s == seen) {
                pthread_mutex_lock(&g_sleep_mx);
                atomic_store(&g_sleeping, 1);
                while ((s = atomic_load(&g_seq)) == seen) pthread_cond_wait(&g_sleep_cv, &g_sleep_mx);
                atomic_store(&g_sleeping, 0);
                pthread_mutex_unlock(&g_sleep_mx);
            }
        }
        seen = s;
        // Claim the job; NULL means the caller already finished it alone.
        pool_job_t *jb = atomic_exchange(&g_job, (pool_job_t *)NULL);
        if (jb) {
            const unsigned js = jb->seq;
            worker_avoid_cpu(jb->caller_cpu);
            const int got = run_items(jb);
            atomic_fetch_add_explicit(&g_stat_joined, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&g_stat_items_worker, got, memory_order_relaxed);
            atomic_store(&g_done, js);
        }
    }
    return NULL;
}

static void pool_init(void) {
#ifdef __linux__
    CPU_ZERO(&g_allowed);
    g_allowed_ok = sched_getaffinity(0, sizeof g_allowed, &g_allowed) == 0 && CPU_COUNT(&g_allowed) > 1;
#endif
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    g_pool_ok = pthread_create(&t, &attr, worker_main, NULL) == 0;
    pthread_attr_destroy(&attr);
}

void ck_parallel_for(int items, int threads, ck_item_fn fn, void *ctx) {
    if (items <= 0) return;
    if (threads < 2 || items < 2) {
        for (int t = 0; t < items; ++t) fn(ctx, t);
        return;
    }
    pthread_once(&g_once, pool_init);
    atomic_fetch_add_explicit(&g_stat_calls, 1, memory_order_relaxed);
    if (!g_pool_ok || pthread_mutex_trylock(&g_use) != 0) {
        // Worker busy with another caller's job (or this is a nested call): run alone.
        atomic_fetch_add_explicit(&g_stat_busy, 1, memory_order_relaxed);
        for (int t = 0; t < items; ++t) fn(ctx, t);
        return;
    }
    pool_job_t jb = { .fn = fn, .ctx = ctx, .items = items };
    atomic_store_explicit(&jb.next, 0, memory_order_relaxed);
    const unsigned seq = atomic_load(&g_seq) + 1;
    jb.seq = seq;
    jb.caller_cpu = current_cpu();
    atomic_store(&g_job, &jb);
    atomic_store(&g_seq, seq);
    if (atomic_load(&g_sleeping)) {
        pthread_mutex_lock(&g_sleep_mx);
        pthread_cond_signal(&g_sleep_cv);
        pthread_mutex_unlock(&g_sleep_mx);
    }
    run_items(&jb);
    // All items are taken. If the worker never picked the job up (asleep or
    // preempted), withdraw it; otherwise wait for the item it is working on.
    if (atomic_exchange(&g_job, (pool_job_t *)NULL) == NULL) {
        int spins = 0;
        while (atomic_load(&g_done) != seq) {
            cpu_relax();
            if (++spins > 4096) sched_yield();
        }
    }
    pthread_mutex_unlock(&g_use);
}
