/* hashpool: see hashpool.h. */
#include "hashpool.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS_MAX 8

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

int hashpool_start(unsigned threads, unsigned queue_max)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (threads == 0)
        threads = cores > 2 ? (unsigned)(cores / 2) : 1;
    if (threads > THREADS_MAX)
        threads = THREADS_MAX;
    pthread_mutex_lock(&pool.mu);
    pool.queue_max = queue_max ? queue_max : threads * 4;
    pool.stop = false;
    pool.nthreads = 0;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool.threads[i], NULL, pool_main, NULL) != 0)
            break;
        pool.nthreads++;
    }
    pool.running = pool.nthreads > 0;
    pthread_mutex_unlock(&pool.mu);
    if (!pool.running)
        log_error("cannot start the password-hashing threads");
    return pool.running ? 0 : -1;
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
