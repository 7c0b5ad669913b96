/* hashpool: see hashpool.h. */
#include "hashpool.h"
#include "threadname.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS_MAX 8
/* Refusals held at once; beyond that they are sent at once. */
#define HOLDS_MAX 1024

struct job {
    struct req *r;
    void (*work)(struct req *r);
    struct job *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;
    struct job *head, *tail;
    unsigned queued, queue_max, nthreads;
    bool running, stop;
    pthread_t threads[THREADS_MAX];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

static void *pool_main(void *unused)
{
    (void)unused;
    thread_name("wd-hash");
    /* Linux: nice is per thread. Ingest keeps the CPU first. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        log_debug("hashpool: cannot lower the thread's priority");
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        struct job *j;
        while (!pool.head && !pool.stop)
            pthread_cond_wait(&pool.work, &pool.mu);
        j = pool.head;
        if (!j)
            break;
        pool.head = j->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.mu);
        j->work(j->r);
        /* The mutex inside MHD_resume_connection orders the job's stores
         * before the worker thread that runs cont() reads them. */
        MHD_resume_connection(j->r->conn);
        free(j);
        pthread_mutex_lock(&pool.mu);
        pool.queued--;
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* --- held refusals ------------------------------------------------------------- */

struct hold {
    struct req *r;
    int64_t due_ms;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hold h[HOLDS_MAX];
    unsigned n;
    bool running;
    pthread_t thread;
} holds = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Resumes every hold that is due (all of them when stopping). */
static void *holds_main(void *unused)
{
    (void)unused;
    thread_name("wd-hash-holds");
    pthread_mutex_lock(&holds.mu);
    for (;;) {
        int64_t now = mono_ms(), next = now + 1000;
        struct timespec until;
        for (unsigned i = 0; i < holds.n;) {
            if (!holds.running || holds.h[i].due_ms <= now) {
                struct req *r = holds.h[i].r;
                holds.h[i] = holds.h[--holds.n];
                pthread_mutex_unlock(&holds.mu);
                MHD_resume_connection(r->conn);
                pthread_mutex_lock(&holds.mu);
                continue;
            }
            if (holds.h[i].due_ms < next)
                next = holds.h[i].due_ms;
            i++;
        }
        if (!holds.running)
            break;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (next - now) / 1000;
        until.tv_nsec += (long)((next - now) % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&holds.cv, &holds.mu, &until);
    }
    pthread_mutex_unlock(&holds.mu);
    return NULL;
}

static int holds_start(void)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&holds.cv, &ca);
    pthread_condattr_destroy(&ca);
    holds.running = true;
    if (pthread_create(&holds.thread, NULL, holds_main, NULL) != 0) {
        holds.running = false;
        return -1;
    }
    return 0;
}

static void holds_stop(void)
{
    bool was;

    pthread_mutex_lock(&holds.mu);
    was = holds.running;
    holds.running = false;
    pthread_cond_broadcast(&holds.cv);
    pthread_mutex_unlock(&holds.mu);
    if (was) {
        pthread_join(holds.thread, NULL);
        pthread_cond_destroy(&holds.cv);
    }
}

bool hashpool_hold(struct req *r, int64_t ms, enum MHD_Result (*cont)(struct req *r))
{
    pthread_mutex_lock(&holds.mu);
    if (!holds.running || holds.n == HOLDS_MAX) {
        pthread_mutex_unlock(&holds.mu);
        return false;
    }
    r->on_resume = cont;
    r->suspended = true;
    /* Under the lock: the thread cannot resume it before it is suspended. */
    MHD_suspend_connection(r->conn);
    holds.h[holds.n++] = (struct hold){r, mono_ms() + ms};
    pthread_cond_signal(&holds.cv);
    pthread_mutex_unlock(&holds.mu);
    return true;
}

int hashpool_start(unsigned threads, unsigned queue_max)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (threads == 0)
        threads = cores > 2 ? (unsigned)(cores / 2) : 1;
    if (threads > THREADS_MAX)
        threads = THREADS_MAX;
    pthread_mutex_lock(&pool.mu);
    pool.queue_max = queue_max ? queue_max : threads * 16;
    pool.stop = false;
    pool.nthreads = 0;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool.threads[i], NULL, pool_main, NULL) != 0)
            break;
        pool.nthreads++;
    }
    pool.running = pool.nthreads > 0;
    pthread_mutex_unlock(&pool.mu);
    if (!pool.running || holds_start() != 0) {
        log_error("cannot start the password-hashing threads");
        hashpool_stop();
        return -1;
    }
    return 0;
}

void hashpool_stop(void)
{
    unsigned n;

    pthread_mutex_lock(&pool.mu);
    n = pool.running ? pool.nthreads : 0;
    pool.stop = true;
    pool.running = false;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    for (unsigned i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
    holds_stop(); /* sends every held refusal */
}

bool hashpool_submit(struct req *r, void (*work)(struct req *r),
                     enum MHD_Result (*cont)(struct req *r))
{
    struct job *j = malloc(sizeof *j);

    if (!j)
        return false;
    pthread_mutex_lock(&pool.mu);
    if (!pool.running || pool.queued >= pool.queue_max) {
        pthread_mutex_unlock(&pool.mu);
        free(j);
        return false;
    }
    pool.queued++; /* the place is ours; the job joins the queue below */
    pthread_mutex_unlock(&pool.mu);

    *j = (struct job){.r = r, .work = work};
    r->on_resume = cont;
    r->suspended = true;
    /* Suspended before any pool thread can see the job and resume it. */
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&pool.mu);
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    return true;
}
