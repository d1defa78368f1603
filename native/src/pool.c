// The crypto worker pool (pool.h). One job at a time: the JS thread publishes it under the
// mutex with a new generation number and wakes the workers; everyone, the JS thread included,
// takes chunks of CHUNK items from an atomic cursor; the JS thread then closes the job and
// waits until every worker that joined it has left. A worker that wakes after the job closed
// finds nothing to do, so a slow wake-up never delays a batch beyond what the JS thread would
// have taken alone, and nothing is queued: the pool holds at most the one job being run.
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

// CHUNK packets are a few microseconds of ChaCha20-Poly1305 at 1420 bytes: small enough to
// balance a batch of a few dozen packets, large enough that the cursor is not contended.
#define CHUNK 4u

struct wn_pool {
  pthread_mutex_t mu;
  pthread_cond_t wake; // a new job or stop
  pthread_cond_t done; // active fell to 0
  pthread_t threads[WN_POOL_MAX_WORKERS];
  int workers;
  bool stop;
  uint64_t gen;
  // The current job; open is false once the JS thread stopped accepting helpers.
  bool open;
  int active;
  wn_pool_fn fn;
  void *arg;
  uint32_t count;
  _Atomic uint32_t next;
  _Atomic uint64_t jobs;
  _Atomic uint64_t worker_items;
};

// take works chunks until the cursor passes count; returns the items this thread worked.
static uint32_t take(wn_pool *p, wn_pool_fn fn, void *arg, uint32_t count, wn_cipher *cipher) {
  uint32_t worked = 0;
  for (;;) {
    uint32_t begin = atomic_fetch_add_explicit(&p->next, CHUNK, memory_order_relaxed);
    if (begin >= count) return worked;
    uint32_t end = count - begin < CHUNK ? count : begin + CHUNK;
    fn(arg, begin, end, cipher);
    worked += end - begin;
  }
}

static void *worker(void *data) {
  wn_pool *p = data;
  wn_cipher *cipher = wn_cipher_new();
  pthread_mutex_lock(&p->mu);
  uint64_t seen = p->gen;
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    // Without contexts of its own the worker never joins; the JS thread does the work.
    if (!p->open || cipher == NULL) continue;
    p->active++;
    wn_pool_fn fn = p->fn;
    void *arg = p->arg;
    uint32_t count = p->count;
    pthread_mutex_unlock(&p->mu);
    uint32_t worked = take(p, fn, arg, count, cipher);
    atomic_fetch_add_explicit(&p->worker_items, worked, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    if (--p->active == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  wn_cipher_free(cipher);
  return NULL;
}

wn_pool *wn_pool_new(int workers) {
  if (workers < 1 || workers > WN_POOL_MAX_WORKERS) return NULL;
  wn_pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int i = 0; i < workers; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
      wn_pool_free(p);
      return NULL;
    }
    p->workers++;
  }
  return p;
}

void wn_pool_free(wn_pool *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->workers; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int wn_pool_workers(const wn_pool *p) { return p == NULL ? 0 : p->workers; }

void wn_pool_run(wn_pool *p, wn_pool_fn fn, void *arg, uint32_t count, wn_cipher *caller) {
  if (p == NULL || count <= CHUNK) {
    if (count > 0) fn(arg, 0, count, caller);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->count = count;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->open = true;
  p->gen++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  atomic_fetch_add_explicit(&p->jobs, 1, memory_order_relaxed);
  take(p, fn, arg, count, caller);
  // The mutex orders the workers' writes to the packets before the return to JS.
  pthread_mutex_lock(&p->mu);
  p->open = false;
  while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void wn_pool_stats(const wn_pool *p, uint64_t *jobs, uint64_t *worker_items) {
  *jobs = p == NULL ? 0 : atomic_load(&p->jobs);
  *worker_items = p == NULL ? 0 : atomic_load(&p->worker_items);
}
